"""The Jinja environment: filters for dates in WIB and percentages, and the CDN asset pins."""

import functools
import hashlib
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from app.card_html import card_html, cards_html
from app.config import BASE_DIR
from app.dashboard_html import fragment, fragments
from app.htmx import vary_on_htmx
from app.models import BOARD_STATUSES, Role, TaskStatus
from app.services.inbox import BELL_CAP
from app.services.labels import (
    POSITION_LABELS,
    PROGRAM_KIND_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    UNIT_KIND_LABELS,
)
from app.timefmt import format_day_date, format_long_date, format_wib_time


class CdnAsset:
    """A script pinned to an exact version, with the SRI hash computed from the npm file."""

    def __init__(self, url: str, integrity: str) -> None:
        self.url = url
        self.integrity = integrity


# sha384 of the files in the npm packages htmx.org@2.0.11 and sortablejs@1.15.7
# (`openssl dgst -sha384 -binary FILE | openssl base64 -A`).
CDN_ASSETS = {
    "htmx": CdnAsset(
        "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js",
        "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg",
    ),
    "sortable": CdnAsset(
        "https://cdn.jsdelivr.net/npm/sortablejs@1.15.7/Sortable.min.js",
        "sha384-DgmC6Xe2bSN2WjTDXzWYbUbxyhNP+NNkGDR/g78pCXV7E7rcVTGxVg0uIVCUUcBc",
    ),
}


def _day_date(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.date()
    return format_day_date(value)


def _wib(value: datetime | None) -> str:
    return "–" if value is None else format_wib_time(value)


def _long_date(value: date | None) -> str:
    return "–" if value is None else format_long_date(value)


def _percent(value: float | int | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}%".replace(".", ",")


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", ".")


STATIC_DIR = BASE_DIR / "app" / "static"


@functools.cache
def static_url(name: str) -> str:
    """`/static/NAME?v=<digest of its content>`: a release that changes a file changes its URL,
    so no browser runs an old board.js against new markup (StaticFiles sends no Cache-Control,
    and browsers keep such files for a while by their Last-Modified)."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


templates = Jinja2Templates(directory=str(BASE_DIR / "templates"))
env = templates.env
# Templates ship with the code (a deploy restarts the server, and the card cache keys on the
# card template's source as first read): no file-time check on every include of every page.
env.auto_reload = False
# Block tags leave no blank lines behind: a board carries a couple of hundred cards.
env.trim_blocks = True
env.lstrip_blocks = True
env.filters.update(
    day_date=_day_date, wib=_wib, long_date=_long_date, percent=_percent, thousands=_thousands
)
env.globals.update(
    cdn=CDN_ASSETS,
    static_url=static_url,
    STATUS_LABELS=STATUS_LABELS,
    TaskStatus=TaskStatus,
    ROLE_LABELS=ROLE_LABELS,
    POSITION_LABELS=POSITION_LABELS,
    PROGRAM_KIND_LABELS=PROGRAM_KIND_LABELS,
    UNIT_KIND_LABELS=UNIT_KIND_LABELS,
    Role=Role,
    card_html=card_html,
    cards_html=cards_html,
    fragment=fragment,
    fragments=fragments,
    BOARD_STATUSES=BOARD_STATUSES,
    BELL_CAP=BELL_CAP,
)


def _no_unit() -> None:
    return None


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page or fragment; the current user and CSRF token come from request.state."""
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        # The bell's count, read only when a full page shows the header (app.auth).
        "inbox_unread": getattr(request.state, "inbox_unread", None),
        # Call it (`user_unit()`) where the unit is shown: the query runs only then.
        "user_unit": getattr(request.state, "unit_loader", _no_unit),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers
    )
    vary_on_htmx(response)
    return response
