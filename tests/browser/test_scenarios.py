"""End-to-end scenarios in Chromium against the real app with demo data.

Each test stands alone: it creates the task it moves (through the team's form) or only reads
demo tasks, so the order the tests run in does not matter."""

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PageProblems, login

NewPage = Callable[..., Page]
PUTR_NAME = "Dinas Pekerjaan Umum dan Penataan Ruang"
NOT_YOUR_UNIT = "menjadi tanggung jawab perangkat daerah lain"


def create_putr_task(page: Page, title: str) -> int:
    """The team member's form: a task for Dinas PUTR under Banyuasin Membangun."""
    login(page, "tim.transisi")
    page.goto("/tasks/new")
    page.fill("#f-title", title)
    page.select_option("#f-lead-unit-id", label=PUTR_NAME)
    page.get_by_label("Banyuasin Membangun", exact=True).check()
    page.get_by_role("button", name="Simpan tugas").click()
    page.wait_for_url(re.compile(r"/tasks/\d+"))
    match = re.search(r"/tasks/(\d+)", page.url)
    assert match is not None
    return int(match.group(1))


def new_title() -> str:
    return f"Uji peramban {uuid.uuid4().hex[:8]}"


def tab_to(page: Page, target: Locator, most: int = 3) -> None:
    """Press Tab until `target` has the focus (at most `most` times), as a keyboard user would."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    expect(target).to_be_focused()


def live_region(page: Page) -> Locator:
    """Where the board announces a move's result to screen readers (and shows it as a toast)."""
    region = page.locator("#toasts")
    expect(region).to_have_attribute("aria-live", "polite")
    expect(region).to_have_attribute("role", "status")
    return region


def drag(page: Page, card_selector: str, list_selector: str) -> None:
    """Drag a card onto a column's list with the mouse, in small steps (SortableJS)."""
    page.locator(card_selector).scroll_into_view_if_needed()
    # SortableJS ignores a press on a card still sliding into place (its `animated` timer,
    # 150 ms): a card just put back by a cancelled drop must settle first, as a hand would.
    page.wait_for_function(
        "selector => !document.querySelector(selector).closest('.card').animated",
        arg=card_selector,
    )
    page.locator(card_selector).drag_to(
        page.locator(list_selector), target_position={"x": 40, "y": 8}
    )


def test_team_creates_task_for_putr(new_page: NewPage) -> None:
    page = new_page()
    title = new_title()
    task_id = create_putr_task(page, title)
    page.goto("/board?q=" + title.replace(" ", "+"))
    card = page.locator(f"#cards-todo #task-{task_id}")
    expect(card).to_be_visible()
    expect(card).to_contain_text(title)
    expect(card).to_contain_text("Banyuasin Membangun")
    expect(page.locator("#col-title-todo")).to_contain_text("Belum Dimulai")


def test_putr_head_moves_task_with_keyboard_only(new_page: NewPage) -> None:
    task_id = create_putr_task(new_page(), new_title())
    page = new_page()
    login(page, "kadis.putr")
    page.goto("/board")
    opener = page.locator(f"#task-{task_id} .move-open")
    opener.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("#move-dialog")
    expect(dialog).to_have_attribute("open", "")
    expect(page.locator("#move-status")).to_be_focused()
    page.keyboard.type("Sedang")
    expect(page.locator("#move-status")).to_have_value("in_progress")
    page.keyboard.press("Tab")
    expect(dialog.locator("button[type=submit]")).to_be_focused()
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    expect(dialog).not_to_have_attribute("open", "")
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible()
    expect(page.locator(f"#task-{task_id} h3 a")).to_be_focused()
    expect(live_region(page)).to_contain_text("diubah ke Sedang Berjalan")
    page.reload()
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible()

    # On to Menunggu Verifikasi, still by keyboard: with no evidence yet, a note is asked for.
    page.locator(f"#task-{task_id} .move-open").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#move-status")).to_be_focused()
    page.keyboard.type("Menunggu")
    expect(page.locator("#move-status")).to_have_value("review")
    note = page.locator("#move-dialog .move-extra:not([hidden]) textarea")
    expect(note).to_be_visible()
    expect(page.locator("#move-hint-evidence")).to_be_visible()
    tab_to(page, note)  # past the "Lampirkan bukti dukung" link
    page.keyboard.type("Berita acara serah terima masih di kantor camat.")
    tab_to(page, dialog.locator("button[type=submit]"))
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    expect(page.locator(f"#cards-review #task-{task_id}")).to_be_visible()
    expect(live_region(page)).to_contain_text("dikirim untuk diverifikasi")
    page.reload()
    expect(page.locator(f"#cards-review #task-{task_id}")).to_be_visible()


def test_putr_head_drags_task_and_it_stays(new_page: NewPage) -> None:
    task_id = create_putr_task(new_page(), new_title())
    page = new_page()
    login(page, "kadis.putr")
    page.goto("/board")
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        drag(page, f"#task-{task_id} .card-top", "#cards-in_progress")
    assert answer.value.status == 200
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible()
    expect(live_region(page)).to_contain_text("diubah ke Sedang Berjalan")
    page.reload()
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible()
    expect(page.locator(f"#cards-todo #task-{task_id}")).to_have_count(0)


def test_drag_from_far_down_a_long_column(new_page: NewPage) -> None:
    """A card below the fold: the user scrolls to it and drops it beside itself in the next
    column, far below that column's top, as a hand on a phone or a mouse would."""
    page = new_page(viewport={"width": 1280, "height": 560})
    login(page, "kadis.putr")
    page.goto("/board")
    card_id, status = page.evaluate(
        """() => {
          const movable = '.card[data-targets]';
          const cards = [...document.querySelectorAll(
            `#cards-todo ${movable}, #cards-in_progress ${movable}`)];
          cards.sort((a, b) => b.getBoundingClientRect().top - a.getBoundingClientRect().top);
          return [cards[0].id, cards[0].dataset.status];
        }"""
    )
    card = page.locator(f"#{card_id}")
    assert card.bounding_box()["y"] > 560, "the card should start below the fold"  # type: ignore[index]
    target = "in_progress" if status == "todo" else "todo"
    card.locator(".card-top").scroll_into_view_if_needed()
    source = card.locator(".card-top").bounding_box()
    column = page.locator(f"#cards-{target}").bounding_box()
    assert source is not None
    assert column is not None
    # The drop point: the next column, at the card's own height (clamped into that list).
    drop_y = min(source["y"] + source["height"] / 2, column["y"] + column["height"] - 4)
    drop_x = column["x"] + column["width"] / 2
    with page.expect_response(re.compile(r"/board/tasks/\d+/move")) as answer:
        page.mouse.move(source["x"] + 30, source["y"] + source["height"] / 2)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(
                source["x"] + 30 + (drop_x - source["x"] - 30) * step / 10,
                source["y"]
                + source["height"] / 2
                + (drop_y - source["y"] - source["height"] / 2) * step / 10,
            )
        page.mouse.up()
    assert answer.value.status == 200
    expect(page.locator(f"#cards-{target} #{card_id}")).to_be_visible()
    expect(live_region(page)).to_contain_text(re.compile(r"diubah ke|dikirim untuk diverifikasi"))
    page.reload()
    expect(page.locator(f"#cards-{target} #{card_id}")).to_be_visible()


def test_putr_head_cannot_move_another_agencys_card(page: Page, problems: PageProblems) -> None:
    login(page, "kadis.putr")
    # A tall window: the demo plan's cards fall where its dates put them (it is placed so
    # that today is day 45), and the card and the drop target must both be in view.
    page.set_viewport_size({"width": 1280, "height": 1600})
    page.goto("/board")
    # Another agency's card (PUTR only supports it), the highest on the page.
    card_id, status = page.evaluate(
        """() => {
          const cards = [...document.querySelectorAll('.card:not([data-targets])')].filter(
            (c) => c.querySelector(".fact-lead dd").textContent.trim() !== "Dinas PUTR");
          cards.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
          return [cards[0].id, cards[0].dataset.status];
        }"""
    )
    expect(page.locator(f"#{card_id} .move-open")).to_have_count(0)
    expect(page.locator(f"#{card_id} select")).to_have_count(0)
    target = "todo" if status != "todo" else "in_progress"
    problems.expect(403)
    with page.expect_response(re.compile(r"/board/tasks/\d+/move")) as answer:
        drag(page, f"#{card_id} .card-top", f"#cards-{target}")
    assert answer.value.status == 403
    expect(live_region(page)).to_contain_text(NOT_YOUR_UNIT)
    expect(page.locator(f"#cards-{status} #{card_id}")).to_be_visible()
    page.reload()
    expect(page.locator(f"#cards-{status} #{card_id}")).to_be_visible()


def test_blocked_needs_a_reason(new_page: NewPage, problems: PageProblems) -> None:
    task_id = create_putr_task(new_page(), new_title())
    page = new_page()
    # Focus belongs to the front page; the team's page opened first must not keep it.
    page.bring_to_front()
    login(page, "kadis.putr")
    page.goto("/board")
    # The move dialog: Terkendala asks for the reason, and an empty one is not sent.
    dialog = page.locator("#move-dialog")
    page.locator(f"#task-{task_id} .move-open").click()
    page.select_option("#move-status", "blocked")
    reason = page.locator("#move-reason")
    expect(reason).to_be_visible()
    dialog.locator("button[type=submit]").click()
    assert reason.evaluate("field => field.validity.valueMissing") is True
    dialog.locator("[data-close]").click()  # Batal
    expect(dialog).not_to_have_attribute("open", "")
    expect(page.locator(f"#cards-todo #task-{task_id}")).to_be_visible()

    # A drop on Terkendala asks for the reason first; cancelling puts the card back.
    drag(page, f"#task-{task_id} .card-top", "#cards-blocked")
    expect(dialog).to_have_attribute("open", "")
    expect(page.locator("#move-status")).to_have_value("blocked")
    expect(reason).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"#cards-todo #task-{task_id}")).to_be_visible()

    drag(page, f"#task-{task_id} .card-top", "#cards-blocked")
    expect(reason).to_be_focused()
    reason.fill("Menunggu pembebasan lahan")
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        dialog.locator("button[type=submit]").click()
    assert answer.value.status == 200
    card = page.locator(f"#cards-blocked #task-{task_id}")
    expect(card).to_contain_text("Menunggu pembebasan lahan")
    page.reload()
    expect(page.locator(f"#cards-blocked #task-{task_id}")).to_be_visible()


SERIOUS = ("serious", "critical")


def axe_violations(page: Page, axe_path: Path) -> list[str]:
    page.add_script_tag(path=str(axe_path))
    result = page.evaluate("async () => await window.axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + json.dumps([node["target"] for node in v["nodes"]][:5])
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("path", ["/login", "/board", "/tasks/1", "/dashboard"])
def test_no_serious_accessibility_violations(page: Page, axe_path: Path, path: str) -> None:
    if path != "/login":
        login(page, "tim.transisi")
    page.goto(path)
    page.wait_for_load_state("load")
    assert axe_violations(page, axe_path) == []
