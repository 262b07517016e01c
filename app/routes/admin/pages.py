"""What every administration page shares: the success notices, the redirect after a save,
and the page that re-renders a refused form with a message next to each field."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.errors import RuleViolation
from app.forms.errors import FormErrors
from app.htmx import is_htmx, trigger
from app.templating import render

# Success messages by key: the redirect names a key, never the text itself.
NOTICES = {
    "unit-created": "Unit baru ditambahkan.",
    "unit-saved": "Perubahan unit disimpan.",
    "unit-deactivated": "Unit dinonaktifkan.",
    "unit-activated": "Unit diaktifkan kembali.",
    "program-created": "Program baru ditambahkan.",
    "program-saved": "Perubahan program disimpan.",
    "program-deactivated": "Program dinonaktifkan.",
    "program-activated": "Program diaktifkan kembali.",
    "user-created": "Pengguna baru ditambahkan.",
    "user-saved": "Perubahan pengguna disimpan.",
    "plan-created": "Rencana kerja baru dibuat.",
    "plan-saved": "Pengaturan rencana kerja disimpan.",
    "plan-current": "Rencana kerja aktif telah diganti.",
    "letterhead-saved": "Kop surat untuk cetak disimpan.",
    "holiday-created": "Hari libur ditambahkan.",
    "holiday-saved": "Perubahan hari libur disimpan.",
    "holiday-deleted": "Hari libur dihapus.",
}


def done(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?ok={notice}", status_code=303)


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    ok: str = "",
    error: RuleViolation | None = None,
) -> HTMLResponse:
    """A full admin page; with `error` it is the form again, 422, messages by field."""
    context = {
        "notice": NOTICES.get(ok),
        "errors": FormErrors.of(error).errors if error is not None else {},
        **context,
    }
    return render(request, name, context, status_code=422 if error is not None else 200)


def row_or_redirect(
    request: Request, template: str, context: dict[str, Any], *, url: str, notice: str
) -> Response:
    """htmx swaps the changed table row in place; without JS the list is loaded again."""
    if not is_htmx(request):
        return done(url, notice)
    response = render(request, template, context)
    trigger(response, "toast", message=NOTICES[notice], kind="ok")
    return response
