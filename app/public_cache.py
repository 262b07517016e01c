"""Conditional requests for the public page (/publik): the validators of an answer (ETag,
Last-Modified, Cache-Control) from the plan's change stamp, and an ASGI layer that answers a
revalidation with 304 before routing.

A returning visitor, a CDN or the reverse proxy revalidates with If-None-Match (or
If-Modified-Since) once max-age has passed. Answering that in front of the router costs one
indexed query and no session, no dependency injection and no page build, which is what lets a
small server absorb a regency's traffic. Anything else (a first visit, a stale copy, the page
switched off) goes on to the routes in app.routes.public, which use the same validators.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from app.services.public_site import PublicStamp, read_stamp

PREFIX = "/publik"
# Bump when the public pages' markup changes, so caches holding an old ETag fetch the new one.
MARKUP_VERSION = 2
# Seconds a browser, proxy or CDN may reuse a page before asking again (then a cheap 304).
MAX_AGE = 60
# Photos and previews change less often than a page's figures.
IMAGE_MAX_AGE = 3600
IMAGE_SUFFIXES = (".jpg", ".png")


def is_public_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def max_age_of(path: str) -> int:
    return IMAGE_MAX_AGE if path.endswith(IMAGE_SUFFIXES) else MAX_AGE


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime
    headers: dict[str, str]

    @classmethod
    def of(cls, stamp: PublicStamp, path: str, *, today: date | None = None) -> "Validators":
        """The validators of the answer at `path` for this stamp (and the plan's today)."""
        today = today or stamp.today()
        etag = '"' + stamp.key(today, MARKUP_VERSION, path) + '"'
        # The page also changes when the plan's day turns (day count, lateness, labels).
        day_start = datetime.combine(today, time(0), tzinfo=_zone(stamp.timezone))
        changed = max(filter(None, (stamp.changed_at, day_start)))
        last_modified = changed.astimezone(UTC).replace(microsecond=0)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(last_modified, usegmt=True),
            "Cache-Control": f"public, max-age={max_age_of(path)}",
            "X-Content-Type-Options": "nosniff",
        }
        return cls(etag=etag, last_modified=last_modified, headers=headers)

    def fresh(self, if_none_match: str | None, if_modified_since: str | None) -> bool:
        """The client's copy is current (If-None-Match wins over If-Modified-Since)."""
        if if_none_match is not None:
            tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
            return self.etag in tags or "*" in tags
        if not if_modified_since:
            return False
        try:
            client_time = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        return client_time.tzinfo is not None and self.last_modified <= client_time


def _stamp_of(engine: Engine) -> PublicStamp | None:
    with engine.connect() as connection:
        return read_stamp(connection)


class PublicRevalidation:
    """Answers a GET revalidation of a public path with 304 when the client's copy is current;
    passes every other request on."""

    def __init__(self, app: ASGIApp, *, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and is_public_path(scope["path"])
        ):
            headers = Headers(scope=scope)
            if_none_match = headers.get("if-none-match")
            if_modified_since = headers.get("if-modified-since")
            if if_none_match is not None or if_modified_since:
                stamp = await anyio.to_thread.run_sync(_stamp_of, self.engine)
                if stamp is not None:
                    validators = Validators.of(stamp, scope["path"])
                    if validators.fresh(if_none_match, if_modified_since):
                        await send(
                            {
                                "type": "http.response.start",
                                "status": 304,
                                "headers": [
                                    (k.lower().encode(), v.encode())
                                    for k, v in validators.headers.items()
                                ],
                            }
                        )
                        await send({"type": "http.response.body", "body": b""})
                        return
        await self.app(scope, receive, send)
