"""The board's one move dialog on a phone and on a desktop, a refused move that snaps back,
and the card's own move page without JavaScript: every way of moving reaches the same route."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, PageProblems, login
from tests.browser.test_scenarios import create_putr_task, drag, new_title

NewPage = Callable[..., Page]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}


def test_move_dialog_fits_a_phone_and_a_desktop(new_page: NewPage) -> None:
    task_id = create_putr_task(new_page(), new_title())
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, options in (
        ("phone", {"viewport": PHONE, "has_touch": True, "is_mobile": True}),
        ("desktop", {"viewport": DESKTOP}),
    ):
        page = new_page(**options)
        login(page, "kadis.putr")
        page.goto("/board")
        opener = page.locator(f"#task-{task_id} .move-open")
        if name == "phone":
            opener.tap()
        else:
            opener.click()
        dialog = page.locator("#move-dialog")
        expect(dialog).to_have_attribute("open", "")
        expect(page.locator("#move-dialog-title")).to_contain_text("Ubah status T-")
        # Only the columns this user may move the card into are offered.
        options_shown = page.locator("#move-status option:not([hidden])")
        expect(options_shown).to_have_text(
            ["Pilih status…", "Sedang Berjalan", "Terkendala", "Menunggu Verifikasi"]
        )
        page.select_option("#move-status", "review")
        expect(page.locator("#move-hint-evidence")).to_be_visible()
        box = dialog.bounding_box()
        assert box is not None
        width = options["viewport"]["width"]  # type: ignore[index]
        height = options["viewport"]["height"]  # type: ignore[index]
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= width, box
        assert box["y"] >= 0, box
        assert box["y"] + box["height"] <= height, box
        page.screenshot(path=str(SCREENSHOTS / f"move-dialog-{name}.png"))
        page.keyboard.press("Escape")
        expect(dialog).not_to_have_attribute("open", "")


def test_stale_drop_snaps_back_and_the_board_catches_up(
    new_page: NewPage, problems: PageProblems
) -> None:
    """Someone else moved the card meanwhile: the drop is refused (409), the card goes back
    and the board shows the card as it is now."""
    task_id = create_putr_task(new_page(), new_title())
    page = new_page()
    login(page, "kadis.putr")
    page.goto("/board")
    card = page.locator(f"#task-{task_id}")
    expect(card).to_have_attribute("data-version", "1")
    other = new_page()
    login(other, "tim.transisi")
    other.goto("/board")
    with other.expect_response(re.compile(rf"/board/tasks/{task_id}/move")):
        other.locator(f"#task-{task_id} .move-open").click()
        other.select_option("#move-status", "in_progress")
        other.locator("#move-dialog button[type=submit]").click()

    problems.expect(409)
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        drag(page, f"#task-{task_id} .card-top", "#cards-in_progress")
    assert answer.value.status == 409
    expect(page.locator("#toasts .toast-error")).to_contain_text("telah diubah oleh")
    # The board is fetched again at once: the card where the other user put it.
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_have_attribute(
        "data-version", "2"
    )


def test_without_javascript_the_card_has_its_own_move_page(
    new_page: NewPage, problems: PageProblems
) -> None:
    task_id = create_putr_task(new_page(), new_title())
    problems.expect(422)
    page = new_page(java_script_enabled=False, viewport=PHONE)
    login(page, "kadis.putr")
    page.goto("/board")
    page.locator(f"#task-{task_id} .move-open").click()
    page.wait_for_url(re.compile(rf"/board/tasks/{task_id}/move"))
    expect(page.locator("h1")).to_contain_text("Ubah status T-")
    # Terkendala without a reason: the same page again, the reason asked for beside the field.
    page.select_option("#move-status", "blocked")
    page.locator("form.move-form button[type=submit]").click()
    expect(page.locator("#move-error")).to_contain_text("Alasan kendala wajib diisi")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "move-page-nojs-phone.png"), full_page=True)
    page.fill("#move-reason", "Menunggu pembebasan lahan")
    page.locator("form.move-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/board"))
    expect(page.locator(f"#cards-blocked #task-{task_id}")).to_contain_text(
        "Menunggu pembebasan lahan"
    )
