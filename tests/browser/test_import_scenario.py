"""The team imports a plan spreadsheet in the browser: the board's menu, the preview, the
apply, and the new task on the board; the import page has no serious accessibility issue."""

import io
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook
from playwright.sync_api import FilePayload, Page, expect

from app.services.spreadsheet import TASK_COLUMNS
from tests.browser.conftest import login
from tests.browser.test_scenarios import axe_violations

NewPage = Callable[[], Page]


def _workbook(title: str) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tugas"
    sheet.append([c.header for c in TASK_COLUMNS])
    sheet.append(
        ["", title, "Dari rapat sinkronisasi", "Dinas PUTR", "Kec. Air Saleh", "Membangun"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_team_imports_a_plan_from_the_board_menu(new_page: NewPage, axe_path: Path) -> None:
    page = new_page()
    title = f"Impor peramban {uuid.uuid4().hex[:8]}"
    login(page, "tim.transisi")
    page.goto("/board")
    menu = page.locator("details.export-menu")
    # The menu opens on its button and closes on Escape or a click elsewhere.
    page.get_by_text("Unduh / impor").click()
    expect(menu).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    page.get_by_text("Unduh / impor").click()
    page.locator("h1").click()
    expect(menu).not_to_have_attribute("open", "")
    page.get_by_text("Unduh / impor").click()
    page.get_by_role("link", name="Impor tugas dari Excel/CSV…").click()
    page.wait_for_url(re.compile(r"/tasks/import$"))
    assert axe_violations(page, axe_path) == []
    page.set_input_files(
        "#import-file",
        files=FilePayload(
            name="rencana.xlsx",
            mimeType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            buffer=_workbook(title),
        ),
    )
    page.get_by_role("button", name="Pratinjau").click()
    expect(page.get_by_role("heading", name="Pratinjau: rencana.xlsx")).to_be_visible()
    expect(page.get_by_text("Akan dibuat (1)")).to_be_visible()
    page.get_by_role("button", name="Terapkan impor").click()
    expect(page.get_by_text("Impor selesai.")).to_be_visible()
    page.get_by_role("link", name="Lihat papan").click()
    page.goto("/board?q=" + title.replace(" ", "+"))
    card = page.locator("#cards-todo .card", has_text=title)
    expect(card).to_be_visible()
    expect(card).to_contain_text("Banyuasin Membangun")
