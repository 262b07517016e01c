"""A per-address rate limit on the public pages (/publik), kept in each app process.

In the process, not in the database: the public pages must stay cheap under a whole regency's
traffic (a cached page is one read and a 304), and a database write per anonymous request
would turn every page view into a write transaction competing with the officials' own work —
on SQLite a single writer at a time. The price is that each process counts on its own, so
with W workers an address may make up to W × the limit before every process refuses it; the
limit is a guard against one address hammering the site, not an exact quota (a reverse proxy
or CDN in front holds most traffic anyway). Behind a proxy, run uvicorn with
`--proxy-headers --forwarded-allow-ips=<proxy>` so the address is the visitor's.

Fixed one-minute windows per address; answers 429 with `Retry-After` (seconds to the end of
the window). Addresses of past windows are forgotten, so memory stays bounded by the number
of addresses seen within a minute.
"""

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/publik"
WINDOW_SECONDS = 60
MESSAGE = (
    b'<!doctype html><html lang="id"><head><meta charset="utf-8">'
    b"<title>Terlalu banyak permintaan</title></head><body><main>"
    b"<h1>Terlalu banyak permintaan</h1>"
    b"<p>Anda membuka halaman ini terlalu sering dalam waktu singkat. "
    b"Silakan coba lagi sebentar lagi.</p></main></body></html>"
)


class PublicRateLimit:
    """At most `limit` requests per address per minute on public paths (0: no limit)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, clock: Callable[[], float] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.clock = clock or time.monotonic
        self.window = -1
        self.counts: dict[str, int] = {}

    def _over(self, address: str) -> int:
        """Seconds to wait when `address` is over the limit, else 0 (and counts it)."""
        now = self.clock()
        window = int(now // WINDOW_SECONDS)
        if window != self.window:
            self.window = window
            self.counts = {}
        count = self.counts.get(address, 0) + 1
        self.counts[address] = count
        if count <= self.limit:
            return 0
        return max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if self.limit > 0 and (path == PREFIX or path.startswith(PREFIX + "/")):
            client = scope.get("client")
            wait = self._over(client[0] if client else "")
            if wait:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 429,
                        "headers": [
                            (b"content-type", b"text/html; charset=utf-8"),
                            (b"retry-after", str(wait).encode()),
                            (b"cache-control", b"no-store"),
                            (b"content-length", str(len(MESSAGE)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": MESSAGE})
                return
        await self.app(scope, receive, send)


class PublicServerTiming:
    """`Server-Timing: app;dur=<ms>` on public answers: the time the app spent from receiving
    the request to starting the answer, so bench/public.py (or a browser's network panel) can
    tell server time from time on the wire."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={elapsed:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)
