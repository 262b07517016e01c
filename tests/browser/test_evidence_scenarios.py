"""Evidence in the browser: an agency head attaches a photo and sends the task for
verification; a drop on Menunggu Verifikasi without evidence asks for the note."""

import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import PageProblems, login
from tests.browser.test_scenarios import create_putr_task, drag, new_title

NewPage = Callable[..., Page]


def tiny_png(width: int = 8, height: int = 6) -> bytes:
    """A real (decodable) PNG: a small green rectangle."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\xa0\x40" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_agency_head_attaches_a_photo_and_sends_the_task_for_verification(
    new_page: NewPage, tmp_path: Path
) -> None:
    title = new_title()
    task_id = create_putr_task(new_page(), title)
    photo = tmp_path / "jembatan selesai.png"
    photo.write_bytes(tiny_png())

    head = new_page()
    login(head, "kadis.putr")
    head.goto(f"/tasks/{task_id}")
    head.set_input_files("#evidence-file", str(photo))
    head.fill("#evidence-caption", "Foto jembatan setelah selesai")
    with head.expect_response(re.compile(rf"/tasks/{task_id}/evidence$")) as answer:
        head.get_by_role("button", name="Lampirkan").click()
    assert answer.value.status == 200
    expect(head.locator(".flash-ok")).to_contain_text("Bukti dukung dilampirkan.")
    thumbnail = head.locator(".evidence-thumb img")
    expect(thumbnail).to_have_attribute("alt", "Foto jembatan setelah selesai")
    thumbnail.scroll_into_view_if_needed()
    head.wait_for_function(
        "() => { const i = document.querySelector('.evidence-thumb img');"
        " return i && i.complete && i.naturalWidth === 8; }"
    )
    expect(head.locator(".history")).to_contain_text("melampirkan bukti dukung (berkas)")

    # With evidence attached, a drop on Menunggu Verifikasi goes straight through.
    head.goto("/board?q=" + title.replace(" ", "+"))
    expect(head.locator(f"#task-{task_id} .card-evidence")).to_have_text("1 bukti dukung")
    with head.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as moved:
        drag(head, f"#task-{task_id} .card-top", "#cards-review")
    assert moved.value.status == 200
    expect(head.locator(f"#cards-review #task-{task_id}")).to_be_visible()

    # The team sees the photo next to the verify button.
    team = new_page()
    login(team, "tim.transisi")
    team.goto(f"/tasks/{task_id}")
    review = team.locator("#form-verify")
    expect(review).to_contain_text("Foto jembatan setelah selesai")
    expect(review).to_contain_text("gambar PNG")


def test_review_without_evidence_asks_for_a_note(new_page: NewPage, problems: PageProblems) -> None:
    task_id = create_putr_task(new_page(), new_title())
    page = new_page()
    login(page, "kadis.putr")
    page.goto("/board")
    # No evidence yet: the drop asks for the note first (nothing is sent without it).
    drag(page, f"#task-{task_id} .card-top", "#cards-review")
    expect(page.locator("#move-dialog")).to_have_attribute("open", "")
    expect(page.locator("#move-status")).to_have_value("review")
    note = page.locator("#move-note")
    expect(note).to_be_focused()
    expect(page.locator("#move-hint-evidence")).to_contain_text("Lampirkan bukti dukung")

    # An empty note is not sent; a note is.
    page.locator("#move-dialog button[type=submit]").click()
    assert note.evaluate("field => field.validity.valueMissing") is True
    note.fill("Berita acara bermeterai diserahkan langsung ke sekretariat.")
    with page.expect_response(re.compile(rf"/board/tasks/{task_id}/move")) as sent:
        page.locator("#move-dialog button[type=submit]").click()
    assert sent.value.status == 200
    expect(page.locator(f"#cards-review #task-{task_id}")).to_be_visible()
