"""The board on a phone (390 × 844, touch): tabs with counts, the header and filters folded
behind "Filter", the first card on the first screen, the column in view kept across a poll that
changes other columns, and a search that says where its matches are (or that there are none).

These read the board's markup by ids and data attributes that the board's own scripts also
rely on (#board-columns, .board, #col-<status>, #col-head-<status>[data-count], .card), so a
rewrite of the cards or of the poll that loses the column in view fails here."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, login
from tests.browser.test_phone_field_work import team_creates_putr_task
from tests.browser.test_scenarios import new_title

NewPage = Callable[..., Page]
PHONE = {"width": 390, "height": 844}
STATUSES = ["todo", "in_progress", "blocked", "review", "done"]
POLL_WAIT_MS = 25_000  # the board polls every ~10 s


def phone(new_page: NewPage) -> Page:
    return new_page(viewport=PHONE, has_touch=True, is_mobile=True)


def column_in_view(page: Page) -> str:
    """The status of the column whose left edge sits at the board's left edge."""
    found: str = page.evaluate(
        """() => {
          const board = document.querySelector('#board-columns .board');
          const left = board.getBoundingClientRect().left;
          let best = null, distance = Infinity;
          for (const c of board.querySelectorAll('.column')) {
            const d = Math.abs(c.getBoundingClientRect().left - left);
            if (d < distance) { distance = d; best = c.dataset.status; }
          }
          return distance < 4 ? best : 'between:' + best;
        }"""
    )
    return found


def test_phone_board_has_tabs_folded_filters_and_the_first_card_on_screen(
    new_page: NewPage,
) -> None:
    page = phone(new_page)
    login(page, "kadis.putr")
    page.goto("/board")
    tabs = page.locator(".column-tab")
    expect(tabs).to_have_count(5)
    for status in STATUSES:
        tab = page.locator(f'.column-tab[data-status="{status}"]')
        expect(tab).to_be_visible()
        count = page.locator(f"#col-head-{status}").get_attribute("data-count")
        expect(tab.locator(".tab-count")).to_have_text(count or "")
    expect(page.locator('.column-tab[data-status="todo"]')).to_have_attribute(
        "aria-current", "true"
    )

    # The header and filters are folded; the first card is on the first screen.
    toggle = page.locator(".filter-toggle")
    expect(toggle).to_be_visible()
    expect(page.locator("#board-filters")).to_be_hidden()
    first_card = page.locator("#board-columns .column").first.locator(".card").first
    expect(first_card).to_be_visible()
    box = first_card.bounding_box()
    assert box is not None
    assert box["y"] + 60 <= PHONE["height"], f"first card starts at {box['y']:.0f} px"
    assert page.evaluate("window.scrollY") == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "board-tabs-phone.png"))

    # "Filter" opens the filters; it names how many are active.
    toggle.tap()
    expect(page.locator("#board-filters")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.tap()
    expect(page.locator("#board-filters")).to_be_hidden()

    # A tab brings its column into view and becomes the current one.
    page.locator('.column-tab[data-status="blocked"]').tap()
    expect(page.locator('.column-tab[data-status="blocked"]')).to_have_attribute(
        "aria-current", "true"
    )
    page.wait_for_function(
        "() => Math.abs(document.getElementById('col-blocked').getBoundingClientRect().left"
        " - document.querySelector('#board-columns .board').getBoundingClientRect().left) < 4"
    )
    assert column_in_view(page) == "blocked"


def test_the_poll_keeps_the_column_in_view_when_another_column_changes(
    new_page: NewPage,
) -> None:
    team = new_page()
    task_id = team_creates_putr_task(team, new_title(), due_on_day_one=False)

    page = phone(new_page)
    login(page, "kadis.putr")
    page.goto("/board")
    expect(page.locator(f"#cards-todo #task-{task_id}")).to_be_attached()
    page.locator('.column-tab[data-status="review"]').tap()
    page.wait_for_function(
        "() => Math.abs(document.getElementById('col-review').getBoundingClientRect().left"
        " - document.querySelector('#board-columns .board').getBoundingClientRect().left) < 4"
    )
    assert column_in_view(page) == "review"

    # Another user moves the card from Belum Dimulai to Sedang Berjalan.
    team.goto(f"/tasks/{task_id}")
    team.select_option("#move-status", "in_progress")
    with team.expect_response(re.compile(rf"/tasks/{task_id}/move")):
        team.get_by_role("button", name="Ubah status").click()

    # The phone's poll brings the change (a full answer, not a 304) …
    with page.expect_response(
        lambda r: "/board/columns" in r.url and r.status == 200, timeout=POLL_WAIT_MS
    ):
        pass
    expect(page.locator(f"#cards-in_progress #task-{task_id}")).to_be_attached()
    # … and the user still looks at Menunggu Verifikasi.
    assert column_in_view(page) == "review"
    expect(page.locator('.column-tab[data-status="review"]')).to_have_attribute(
        "aria-current", "true"
    )
    in_progress = page.locator("#col-head-in_progress").get_attribute("data-count")
    expect(page.locator('.column-tab[data-status="in_progress"] .tab-count')).to_have_text(
        in_progress or ""
    )


def test_a_search_says_how_many_matches_each_column_has_or_that_there_are_none(
    new_page: NewPage,
) -> None:
    team = new_page()
    title = new_title()
    task_id = team_creates_putr_task(team, title, due_on_day_one=False)
    team.goto(f"/tasks/{task_id}")
    team.select_option("#move-status", "blocked")
    team.fill("#move-blocked-reason", "Menunggu lahan.")
    with team.expect_response(re.compile(rf"/tasks/{task_id}/move")):
        team.get_by_role("button", name="Ubah status").click()

    page = phone(new_page)
    login(page, "kadis.putr")
    page.goto("/board")
    page.locator(".filter-toggle").tap()
    page.fill("#filter-q", title)
    with page.expect_response(re.compile(r"/board\?")):
        page.locator("#filter-q").dispatch_event("change")  # the form answers each change
    expect(page.locator("#board-filters")).to_be_hidden()  # folded again over the answer
    summary = page.locator(".search-summary")
    expect(summary).to_contain_text(f"1 hasil untuk «{title}»")
    expect(summary).to_contain_text("Terkendala 1")
    expect(page.locator('.column-tab[data-status="blocked"] .tab-count')).to_have_text("1")
    expect(page.locator('.column-tab[data-status="todo"] .tab-count')).to_have_text("0")
    # The match sits off the first screen's column: its link in the summary brings it.
    page.locator('.search-hit[data-status="blocked"]').tap()
    expect(page.locator(f"#cards-blocked #task-{task_id}")).to_be_in_viewport()

    page.locator(".filter-toggle").tap()
    page.fill("#filter-q", "zzz-tidak-ada")
    with page.expect_response(re.compile(r"/board\?")):
        page.locator("#filter-q").dispatch_event("change")
    expect(page.locator(".search-none")).to_contain_text("Tidak ada hasil untuk «zzz-tidak-ada»")
