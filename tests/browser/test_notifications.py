"""The bell and the inbox in a real browser: the team rejects a PUTR task; the head of PUTR,
on a phone (390×844, touch), sees the count in the header, opens the inbox and the task from
it; the profile's notification settings refuse a bad number next to the field. Screenshots
go to test-artifacts/screenshots/."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, PageProblems, login
from tests.browser.test_more_scenarios import move_on_board
from tests.browser.test_scenarios import create_putr_task, new_title

NewPage = Callable[..., Page]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


def _bell_count(page: Page) -> int:
    bell = page.locator("#bell .bell-count")
    if bell.count() == 0:
        return 0
    return int(bell.get_attribute("data-count") or "0")


def test_a_rejection_rings_the_bell_of_the_lead_unit(new_page: NewPage) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    team = new_page(viewport=DESKTOP)
    title = new_title()
    task_id = create_putr_task(team, title)

    head = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    login(head, "kadis.putr")
    head.goto("/board")
    before = _bell_count(head)
    assert before >= 1  # the new task itself was announced to the unit
    move_on_board(head, task_id, "review", note="Berita acara diserahkan langsung.")

    team.goto(f"/tasks/{task_id}")
    team.fill("#reject-note", "Foto sebelum dan sesudah belum dilampirkan.")
    with team.expect_response(re.compile(rf"/tasks/{task_id}/reject")) as answer:
        team.get_by_role("button", name="Tolak & kembalikan").click()
    assert answer.value.status == 200

    head.goto("/board")
    expect(head.locator("#bell .bell-count")).to_have_attribute("data-count", str(before + 1))
    bell = head.locator("#bell")
    expect(bell).to_be_visible()
    box = bell.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] < 120  # in the header, on the first screen
    head.screenshot(path=str(SCREENSHOTS / "notifications-bell-phone.png"))

    bell.tap()
    head.wait_for_url("**/inbox")
    entry = (
        head.locator(".inbox-entry.is-unread")
        .filter(has_text=title)
        .filter(has_text="menolak hasil")
    )
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Foto sebelum dan sesudah belum dilampirkan.")
    head.screenshot(path=str(SCREENSHOTS / "notifications-inbox-phone.png"), full_page=True)

    entry.locator("button.inbox-link").tap()
    head.wait_for_url(f"**/tasks/{task_id}")
    expect(head.locator("#bell .bell-count")).to_have_attribute("data-count", str(before))
    head.screenshot(path=str(SCREENSHOTS / "notifications-task-from-inbox-phone.png"))

    head.goto("/inbox")
    head.get_by_role("button", name="Tandai semua dibaca").tap()
    head.wait_for_url("**/inbox")
    expect(head.locator("#bell .bell-count")).to_have_count(0)
    expect(head.locator(".inbox-entry.is-unread")).to_have_count(0)


def test_profile_notification_settings_on_a_phone(
    new_page: NewPage, problems: PageProblems
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems.expect(422)  # the refused number, on purpose
    page = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    login(page, "camat.rantaubayur")
    page.goto("/profile")
    expect(page.locator("#pemberitahuan-title")).to_have_text("Pemberitahuan")
    expect(page.locator("#f-email")).to_have_value("camat.rantaubayur@banyuasin.example")
    page.screenshot(path=str(SCREENSHOTS / "profile-channels-phone.png"), full_page=True)

    page.fill("#f-whatsapp", "12345")
    page.check("#f-webhook_on")
    page.get_by_role("button", name="Simpan pengaturan").tap()
    error = page.locator("#f-whatsapp-error")
    expect(error).to_contain_text("Nomor WhatsApp tidak valid")
    expect(page.locator("#f-whatsapp")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SCREENSHOTS / "profile-channels-error-phone.png"), full_page=True)

    page.fill("#f-whatsapp", "0812-3456-7890")
    page.get_by_role("button", name="Simpan pengaturan").tap()
    expect(page.locator(".flash-ok")).to_have_text("Pengaturan pemberitahuan disimpan.")
    expect(page.locator("#f-whatsapp")).to_have_value("+6281234567890")


def test_the_team_sees_failed_messages(new_page: NewPage) -> None:
    page = new_page(viewport=DESKTOP)
    login(page, "tim.transisi")
    page.goto("/admin/deliveries")
    expect(page.get_by_role("heading", name="Pesan yang gagal terkirim")).to_be_visible()
    page.goto("/inbox")
    page.screenshot(path=str(SCREENSHOTS / "notifications-inbox-desktop.png"))
