"""The public promise page in Chromium: a citizen on a phone (390×844, touch) and on a desktop
follows the promises without logging in and without JavaScript; axe-core finds no serious or
critical violation on any public page; the team publishes a photo that then shows, stripped.
"""

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, login
from tests.browser.test_scenarios import axe_violations
from tests.public_world import gps_photo

NewPage = Callable[..., Page]
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def feed(base_url: str) -> dict[str, object]:
    data: dict[str, object] = httpx.get(f"{base_url}/publik/data.json", timeout=10).json()
    return data


def public_pages(base_url: str) -> list[str]:
    data = feed(base_url)
    programs: list[dict[str, object]] = data["programs"]  # type: ignore[assignment]
    first = programs[0]["id"]
    page = httpx.get(f"{base_url}/publik/kecamatan", timeout=10).text
    district = page.split('href="/publik/kecamatan/', 1)[1].split('"', 1)[0]
    return [
        "/publik",
        f"/publik/program/{first}",
        "/publik/kecamatan",
        f"/publik/kecamatan/{district}",
        "/publik/cara-kami-menilai",
    ]


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.mark.parametrize(("size", "options"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_every_public_page_passes_axe(
    new_page: NewPage, base_url: str, axe_path: Path, size: str, options: dict[str, object]
) -> None:
    page = new_page(java_script_enabled=True, **options)
    for path in public_pages(base_url):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_load_state("load")
        assert axe_violations(page, axe_path) == [], path
        name = path.strip("/").replace("/", "-")
        shot(page, f"public-{size}-{name}")


def test_a_citizen_follows_a_promise_on_a_phone_without_javascript(
    new_page: NewPage, base_url: str
) -> None:
    page = new_page(java_script_enabled=False, **PHONE)
    page.goto("/publik")
    expect(page.locator("h1")).to_contain_text("Hari ke-")
    expect(page.locator(".pub-counts")).to_be_visible()
    # The headline and its figures fit the first screen of a phone.
    box = page.locator(".pub-counts").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 844
    card = page.locator(".pub-card").first
    title = card.locator("h3").inner_text()
    card.locator("h3 a").tap()
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".pub-label").first).to_be_visible()
    shot(page, "public-phone-citizen-program")
    page.get_by_role("link", name="Apa arti").tap()
    expect(page).to_have_url(re.compile(r"/publik/cara-kami-menilai#label-[a-z_]+$"))
    expect(page.locator("h2", has_text="Arti setiap label")).to_be_visible()
    page.get_by_role("link", name="Kecamatan").first.tap()
    expect(page.locator("h1")).to_have_text("Kegiatan per kecamatan")
    # Share preview tags point at a real PNG.
    page.goto("/publik")
    image = page.locator('meta[property="og:image"]').get_attribute("content")
    assert image is not None
    answer = httpx.get(image, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"


def test_the_team_publishes_a_photo_and_a_citizen_sees_it(
    new_page: NewPage, base_url: str, tmp_path: Path
) -> None:
    programs: list[dict[str, object]] = feed(base_url)["programs"]  # type: ignore[assignment]
    found = [
        (program["id"], task)
        for program in programs
        for task in program["published_tasks"]  # type: ignore[attr-defined]
        if task["status"] == "done"
    ]
    assert found, "the demo publishes tasks in Selesai"
    program_id, task = found[0]
    photo = tmp_path / "hasil.jpg"
    photo.write_bytes(gps_photo(width=1200, height=900))

    team = new_page(**DESKTOP)
    login(team, "tim.transisi")
    team.goto(f"/admin/programs/{program_id}/edit")
    expect(team.get_by_label("Tampilkan program ini sebagai janji")).to_be_checked()
    expect(team.get_by_label("Judul publik")).not_to_have_value("")
    team.locator("fieldset", has_text="Halaman publik").scroll_into_view_if_needed()
    shot(team, "public-team-program-form")
    team.goto(f"/tasks/{task['id']}")
    expect(team.locator(".badge-public").first).to_have_text("Tampil di halaman publik")
    team.set_input_files("#evidence-file", str(photo))
    team.fill("#evidence-caption", "Foto hasil pekerjaan")
    team.get_by_role("button", name="Lampirkan").click()
    expect(team.locator(".flash-ok")).to_contain_text("Bukti dukung dilampirkan.")
    team.locator(".evidence-item").last.get_by_role("button", name="Tandai publik").click()
    expect(team.locator(".flash-ok")).to_contain_text("Foto ditandai publik")
    marked = team.locator(".evidence-item").last
    expect(marked.locator(".badge-public")).to_be_visible()
    marked.scroll_into_view_if_needed()
    shot(team, "public-team-marks-photo")

    citizen = new_page(java_script_enabled=False, **PHONE)
    citizen.goto(f"/publik/program/{program_id}")
    image = citizen.locator(".pub-photos img").last
    image.scroll_into_view_if_needed()
    expect(image).to_have_attribute("alt", f"Foto hasil kegiatan: {task['title']}")
    citizen.wait_for_function(
        "() => [...document.querySelectorAll('.pub-photos img')].every("
        "i => i.complete && i.naturalWidth > 0)"
    )
    shot(citizen, "public-phone-photo")
    served = httpx.get(f"{base_url}{image.get_attribute('src')}", timeout=10).content
    assert b"Exif" not in served
    assert b"GPS" not in served
