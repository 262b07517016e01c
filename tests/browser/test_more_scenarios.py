"""More end-to-end scenarios: verification, the executive's read-only view, live refresh
between two users, a stale edit, the phone layout, the screenshots the suite produces and the
dashboard printed to PDF.

Like test_scenarios.py, each test creates the task it changes (through the team's form) or
only reads, so the order the tests run in does not matter."""

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, PageProblems, login
from tests.browser.test_scenarios import create_putr_task, new_title

NewPage = Callable[..., Page]
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def done_count(page: Page) -> int:
    """How many tasks are Selesai: the list behind the dashboard's "selesai" figure."""
    page.goto("/dashboard")
    page.locator('a[data-figure="done"]').click()
    page.wait_for_url(re.compile(r"/dashboard/tasks\?show=done"))
    match = re.search(r"\(([\d.]+)\)", page.locator("h1").inner_text())
    assert match is not None
    return int(match.group(1).replace(".", ""))


def move_on_board(page: Page, task_id: int, status: str, note: str = "") -> None:
    """Move a card with its "Ubah status…" control (the page shows the board)."""
    page.locator(f"#task-{task_id} .move-open").click()
    expect(page.locator("#move-dialog")).to_have_attribute("open", "")
    page.select_option("#move-status", status)
    if note:
        page.fill("#move-note", note)
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        page.locator("#move-dialog button[type=submit]").click()
    assert answer.value.status == 200
    expect(page.locator("#move-dialog")).not_to_have_attribute("open", "")
    expect(page.locator(f"#cards-{status} #task-{task_id}")).to_be_visible()


def test_team_verifies_task_and_dashboard_counts_it(new_page: NewPage) -> None:
    team = new_page()
    title = new_title()
    task_id = create_putr_task(team, title)
    before = done_count(team)

    head = new_page()
    login(head, "kadis.putr")
    head.goto("/board")
    # No evidence attached: sending for verification needs a note saying why.
    move_on_board(head, task_id, "review", note="Berita acara diserahkan langsung.")

    team.goto(f"/tasks/{task_id}")
    team.fill("#verify-note", "Hasil sesuai target.")
    with team.expect_response(re.compile(rf"/tasks/{task_id}/verify")) as answer:
        team.get_by_role("button", name="Verifikasi & tandai Selesai").click()
    assert answer.value.status == 200
    expect(team.locator("#form-verify")).to_have_count(0)

    team.goto("/board?q=" + title.replace(" ", "+"))
    expect(team.locator(f"#cards-done #task-{task_id}")).to_be_visible()
    expect(team.locator(f"#cards-review #task-{task_id}")).to_have_count(0)
    assert done_count(team) == before + 1


def test_executive_only_reads_and_leaves_directives(page: Page) -> None:
    login(page, "bupati")
    page.goto("/board")
    expect(page.locator("#board-columns .card").first).to_be_visible()
    expect(page.locator("#board-columns .move-open")).to_have_count(0)
    expect(page.locator("#move-dialog")).to_have_count(0)
    expect(page.locator("#board-columns form")).to_have_count(0)
    expect(page.locator("#board-columns .card[data-targets]")).to_have_count(0)
    # The only POST form on the board is logging out (the filters are a GET form).
    expect(page.locator("form[method=post]:not([action='/logout'])")).to_have_count(0)

    href = page.locator("#board-columns .card > h3 a").first.get_attribute("href")
    assert href is not None
    assert re.fullmatch(r"/tasks/\d+", href)
    page.goto(href)
    directive = page.locator("#form-directive form")
    expect(directive).to_be_visible()
    expect(directive).to_have_attribute("action", f"{href}/directives")
    forms = page.locator("main form")
    expect(forms).to_have_count(1)
    expect(page.locator("form[method=post]:not([action='/logout'])")).to_have_count(1)
    expect(page.locator(f"a[href='{href}/edit']")).to_have_count(0)
    for gone in ("#form-progress", "#form-move", "#form-verify", "#form-cancel", "#form-comment"):
        expect(page.locator(gone)).to_have_count(0)

    response = page.goto("/dashboard")
    assert response is not None
    assert response.status == 200
    expect(page.locator(".answer-progress")).to_be_visible()


def test_move_by_one_user_appears_on_anothers_board(new_page: NewPage) -> None:
    team = new_page()
    title = new_title()
    task_id = create_putr_task(team, title)
    query = "/board?q=" + title.replace(" ", "+")
    team.goto(query)
    expect(team.locator(f"#cards-todo #task-{task_id}")).to_be_visible()

    head = new_page()
    login(head, "kadis.putr")
    head.goto(query)
    move_on_board(head, task_id, "in_progress")

    # No reload: the team's board polls (ETag / 304) and picks the move up.
    expect(team.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible(timeout=20_000)
    expect(team.locator(f"#cards-todo #task-{task_id}")).to_have_count(0)


def test_a_poll_that_finds_nothing_new_keeps_the_plans_newest_tag(new_page: NewPage) -> None:
    """A change the viewer does not see answers 304, and board.js keeps the 304's tag (it
    names the plan's new change number), so the next poll is answered without counting."""
    head = new_page()
    login(head, "kadis.dinkes")  # the board opens on Dinas Kesehatan's tasks
    head.goto("/board")
    region = head.locator("#board-columns")
    before = region.get_attribute("data-etag") or ""
    create_putr_task(new_page(), new_title())  # another unit's task: not on this board

    with head.expect_response(
        lambda r: "/board/columns" in r.url and r.status == 304 and r.headers["etag"] != before,
        timeout=25_000,
    ) as answer:
        pass
    after = answer.value.headers["etag"]
    # Same view and the same column stamps; only the plan's change number moved.
    assert after.split(".")[0] == before.split(".")[0]
    assert after.split(".")[2:] == before.split(".")[2:]
    expect(region).to_have_attribute("data-etag", after)


def test_stale_edit_shows_conflict_and_current_state(
    new_page: NewPage, problems: PageProblems
) -> None:
    first = new_page()
    title = new_title()
    task_id = create_putr_task(first, title)
    second = new_page()
    login(second, "tim.transisi")
    first.goto(f"/tasks/{task_id}/edit")
    second.goto(f"/tasks/{task_id}/edit")

    saved_title = f"{title} (tab pertama)"
    first.fill("#f-title", saved_title)
    first.get_by_role("button", name="Simpan perubahan").click()
    first.wait_for_url(re.compile(rf"/tasks/{task_id}(\?.*)?$"))
    expect(first.locator("h1, .task-title").first).to_contain_text(saved_title)

    mine = f"{title} (tab kedua)"
    second.fill("#f-title", mine)
    problems.expect(409)
    with second.expect_response(re.compile(rf"/tasks/{task_id}/edit")) as answer:
        second.get_by_role("button", name="Simpan perubahan").click()
    assert answer.value.status == 409
    conflict = second.locator(".conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text("telah diubah")
    # The current state (the first tab's title) next to the user's unsaved one.
    expect(conflict.locator(".conflict-table")).to_contain_text(saved_title)
    expect(conflict.locator(".conflict-table")).to_contain_text(mine)
    expect(second.locator("#f-title")).to_have_value(mine)


def test_phone_board_scrolls_and_moves_by_tap(new_page: NewPage) -> None:
    task_id = create_putr_task(new_page(), new_title())
    phone = new_page(viewport=PHONE, has_touch=True, is_mobile=True)
    login(phone, "kadis.putr")
    phone.goto("/board")
    board = phone.locator("#board-columns .board")
    expect(board).to_be_visible()
    width, visible = board.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert width > visible, f"the columns do not scroll sideways ({width} ≤ {visible})"
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    phone.locator(f"#task-{task_id} .move-open").tap()
    expect(phone.locator("#move-dialog")).to_have_attribute("open", "")
    expect(phone.locator("#move-dialog-title")).to_contain_text("Ubah status T-")
    phone.select_option("#move-status", "in_progress")
    with phone.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as answer:
        phone.locator("#move-dialog button[type=submit]").tap()
    assert answer.value.status == 200
    expect(phone.locator(f"#cards-in_progress #task-{task_id}")).to_be_visible()


SHOTS = [
    (f"{page}-{size}.png", path, viewport)
    for page, path in (("board", "/board"), ("dashboard", "/dashboard"))
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE))
]


def test_suite_writes_board_and_dashboard_screenshots(new_page: NewPage) -> None:
    """Screenshots for people to look at, in test-artifacts/screenshots/ (see README)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages: dict[str, Page] = {}
    for name, path, viewport in SHOTS:
        size = "phone" if viewport is PHONE else "desktop"
        if size not in pages:
            pages[size] = new_page(viewport=viewport, is_mobile=viewport is PHONE)
            login(pages[size], "tim.transisi")
        shot = pages[size]
        target = SCREENSHOTS / name
        target.unlink(missing_ok=True)
        shot.goto(path)
        shot.wait_for_load_state("load")
        shot.evaluate("document.fonts.ready")
        shot.screenshot(path=str(target), full_page=True)
    for name, _, _ in SHOTS:
        target = SCREENSHOTS / name
        assert target.exists(), name
        assert target.stat().st_size > 20_000, f"{name} is only {target.stat().st_size} bytes"


def test_dashboard_prints_to_a4_pdf(page: Page) -> None:
    """The weekly stocktake pack: two A4 pages at most, with the chart and tables in it."""
    login(page, "bupati")
    page.goto("/dashboard")
    page.wait_for_load_state("load")
    page.emulate_media(media="print")
    # What the pack must carry, as the print stylesheet lays it out.
    expect(page.locator(".print-header")).to_be_visible()
    expect(page.locator(".chart-svg")).to_be_visible()
    expect(page.locator(".answer-attention li").first).to_be_visible()
    for heading in ("programs-h", "unit-h"):
        section = page.locator(f"section[aria-labelledby='{heading}']")
        expect(section.locator("table")).to_be_visible()
        assert section.locator("tbody tr:visible").count() >= 2, heading
    expect(page.locator(".dash-filters")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-")
    (SCREENSHOTS / "dashboard-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert 1 <= pages <= 2, f"the dashboard prints on {pages} A4 pages"
