"""The Bupati's first screen, in real Chromium: the three answers (how much is done against the
plan, what is in trouble, who is behind) without scrolling on a 390×844 phone and on a desktop,
the figures leading to their lists, and the printed pack (letterhead, at most two A4 pages)."""

import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, login

NewPage = Callable[..., Page]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
ANSWERS = (".answer-progress", ".answer-attention", ".answer-laggards")


def _first_screen(page: Page, viewport: dict[str, int], name: str) -> None:
    login(page, "bupati")
    page.goto("/dashboard")
    page.wait_for_load_state("load")
    assert page.evaluate("window.scrollY") == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
    for selector in ANSWERS:
        box = page.locator(selector).bounding_box()
        assert box is not None, selector
        bottom = box["y"] + box["height"]
        assert bottom <= viewport["height"], f"{selector} ends at {bottom}px, below the fold"
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= viewport["width"], selector
    # Every answer says something: a figure, a reason, items or "nothing".
    expect(page.locator(".answer-progress .rag-reason")).not_to_be_empty()
    expect(page.locator(".answer-attention li").first).to_be_visible()
    expect(page.locator(".answer-laggards li").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_phone_first_screen_answers_the_three_questions(new_page: NewPage) -> None:
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    _first_screen(page, PHONE, "dashboard-phone-first-screen.png")
    # Tables are cards on a phone: nothing important scrolls sideways.
    for heading in ("programs-h", "unit-h", "exceptions-h"):
        table = page.locator(f"section[aria-labelledby='{heading}'] table")
        width = table.evaluate("el => el.scrollWidth")
        assert width <= PHONE["width"], f"{heading} table is {width}px wide"


def test_desktop_first_screen_answers_the_three_questions(new_page: NewPage) -> None:
    page = new_page(viewport=DESKTOP)
    _first_screen(page, DESKTOP, "dashboard-desktop-first-screen.png")


# The labels of a chart that show less than they should: cut off by the drawing's edge (an SVG
# clips what lies outside its box unless its overflow is visible), or reaching past its figure
# (into what is around it).
_CUT_LABELS = """svg => {
  const visible = getComputedStyle(svg).overflow === "visible";
  const clip = (visible ? svg.closest("figure") : svg).getBoundingClientRect();
  return [...svg.querySelectorAll("text")].filter(text => {
    const r = text.getBoundingClientRect();
    return r.width > 0 && (r.left < clip.left - 0.5 || r.right > clip.right + 0.5
      || r.top < clip.top - 0.5 || r.bottom > clip.bottom + 0.5);
  }).map(text => text.textContent);
}"""


@pytest.mark.parametrize("chart", ["curve", "burndown"])
@pytest.mark.parametrize("on_phone", [True, False], ids=["phone", "desktop"])
def test_chart_labels_are_whole(new_page: NewPage, chart: str, on_phone: bool) -> None:
    # A phone draws the labels larger than the drawing's own scale, so the first and last
    # ones reach past its edges: "100 %" lost its "1", the last date its last letters.
    viewport = PHONE if on_phone else DESKTOP
    page = new_page(viewport=viewport, has_touch=on_phone, is_mobile=on_phone)
    login(page, "bupati")
    page.goto(f"/dashboard?chart={chart}")
    svg = page.locator(".dash-burndown svg.chart-svg")
    expect(svg).to_have_count(1)
    assert svg.locator("text").count() > 10
    assert svg.evaluate(_CUT_LABELS) == []


@pytest.mark.parametrize("figure", ["late", "blocked", "decision", "review"])
def test_each_figure_leads_to_its_list(new_page: NewPage, figure: str) -> None:
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    login(page, "bupati")
    page.goto("/dashboard")
    tile = page.locator(f'a[data-figure="{figure}"]')
    number = int(tile.locator("strong").inner_text().replace(".", ""))

    tile.tap()

    page.wait_for_url(re.compile(rf"/dashboard/tasks\?show={figure}$"))
    expect(page.locator("h1")).to_contain_text(f"({number})")
    rows = page.locator("table.task-list tbody tr")
    assert rows.count() == number
    if figure == "late" and number:
        expect(rows.first.locator(".late")).to_contain_text("Terlambat")


def _png(path: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + b"\x1f\x5f\x8f" * 40 for _ in range(40))
    body = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 40, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    path.write_bytes(body)
    return path


def test_print_pack_has_the_letterhead_and_fits_two_pages(
    new_page: NewPage, tmp_path: Path
) -> None:
    team = new_page(viewport=DESKTOP)
    login(team, "tim.transisi")
    team.goto("/admin/plan")
    team.fill("#f-organisation_name", "Pemerintah Kabupaten Banyuasin")
    team.set_input_files("#f-logo", str(_png(tmp_path / "logo.png")))
    team.get_by_role("button", name="Simpan kop surat").click()
    expect(team.locator(".flash, .toast").first).to_contain_text("Kop surat untuk cetak disimpan")

    page = new_page(viewport=DESKTOP)
    login(page, "bupati")
    page.goto("/dashboard")
    expect(page.get_by_role("button", name="Cetak")).to_be_visible()
    page.emulate_media(media="print")
    letterhead = page.locator(".letterhead")
    expect(letterhead).to_be_visible()
    expect(letterhead).to_contain_text("Pemerintah Kabupaten Banyuasin")
    expect(letterhead).to_contain_text("Dicetak")
    expect(letterhead).to_contain_text("WIB")
    expect(page.locator(".letterhead-logo")).to_be_visible()
    assert page.locator(".letterhead-logo").evaluate("img => img.naturalWidth") == 40
    for selector in ANSWERS:
        expect(page.locator(selector)).to_be_visible()
    # The print stylesheet's own page size, margins and page numbers (@page margin boxes).
    pdf = page.pdf(print_background=True, prefer_css_page_size=True)
    target = SCREENSHOTS / "dashboard-print-letterhead.pdf"
    target.write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert 1 <= pages <= 2, f"the pack prints on {pages} A4 pages"
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Pemerintah Kabupaten Banyuasin" in text
        assert f"Halaman 1 dari {pages}" in text
