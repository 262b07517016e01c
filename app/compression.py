"""Compressed answers from the app itself (DESIGN §5), so the embedded default needs no proxy.

Text answers (HTML, JSON, CSV, SVG, CSS, JavaScript) are gzipped at a cheap level when the
client accepts gzip: the board at 1,000 tasks goes from ~130 KB to ~15 KB, which is what an
official on a weak mobile signal waits for. Already-compressed files (photos, xlsx, PDF) and
small answers pass through untouched. Every compressible answer says `Vary: Accept-Encoding`
whether or not this client got it compressed, so no shared cache hands gzip to a client that
cannot read it (or the reverse).
"""

import threading
import zlib
from collections import OrderedDict
from typing import Protocol

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Level 5 is within a few per cent of level 9's size on the board at a third of its time.
GZIP_LEVEL = 5
# Below this a gzip header and a round of deflate cost more than the bytes they save.
MIN_SIZE = 512
COMPRESSIBLE_TYPES = frozenset(
    {
        "text/html",
        "text/plain",
        "text/css",
        "text/csv",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/problem+json",
        "application/xml",
        "image/svg+xml",
    }
)


def gzip_deflater(level: int) -> "_Deflater":
    """A deflater that writes the gzip format (header and trailer), as Content-Encoding: gzip
    needs."""
    return zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)


# Whole bodies at least this large are looked up in the memo before being compressed.
MEMO_MIN_SIZE = 16 * 1024
MEMO_ENTRIES = 16


class GzipMemo:
    """Gzipped copies of the last few large bodies, under the bodies themselves. Kept board
    regions, column pages and their polls go out again and again as the same bytes, and
    looking 200 KB up (one hash, one compare) costs a tenth of deflating it. Keyed by the
    content, so an entry can never be sent for another body."""

    def __init__(self, level: int, entries: int = MEMO_ENTRIES) -> None:
        self.level = level
        self.entries = entries
        self._kept: OrderedDict[bytes, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def compress(self, body: bytes) -> bytes:
        with self._lock:
            found = self._kept.get(body)
            if found is not None:
                self._kept.move_to_end(body)
                return found
        deflater = gzip_deflater(self.level)
        compressed = deflater.compress(body) + deflater.flush()
        with self._lock:
            self._kept[body] = compressed
            while len(self._kept) > self.entries:
                self._kept.popitem(last=False)
        return compressed

    def __len__(self) -> int:
        return len(self._kept)


class _Deflater(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def is_compressible(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type in COMPRESSIBLE_TYPES


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when `Accept-Encoding` names gzip (or `*`) without `q=0`."""
    for item in (accept_encoding or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        quality = params.strip().lower().removeprefix("q=")
        try:
            return not params.strip() or float(quality) > 0
        except ValueError:
            return False
    return False


def _add_vary(headers: MutableHeaders) -> None:
    vary = headers.get("vary")
    if vary is None:
        headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in {v.strip().lower() for v in vary.split(",")}:
        headers["Vary"] = f"{vary}, Accept-Encoding"


class Compression:
    """ASGI middleware: gzip for compressible answers, streamed answers included."""

    def __init__(self, app: ASGIApp, *, level: int = GZIP_LEVEL, min_size: int = MIN_SIZE) -> None:
        self.app = app
        self.level = level
        self.min_size = min_size
        self.memo = GzipMemo(level)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = scope["method"] != "HEAD" and accepts_gzip(
            Headers(scope=scope).get("accept-encoding")
        )
        responder = _Responder(send, wanted, self.level, self.min_size, self.memo)
        await self.app(scope, receive, responder)


class _Responder:
    """Holds the response start until the first body part shows whether to compress."""

    def __init__(self, send: Send, wanted: bool, level: int, min_size: int, memo: GzipMemo) -> None:
        self.send = send
        self.wanted = wanted
        self.level = level
        self.min_size = min_size
        self.memo = memo
        self.start: Message | None = None
        self.compressor: _Deflater | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._on_start(message)
        elif message["type"] != "http.response.body":
            await self.send(message)
        elif self.start is not None:
            await self._first_part(self.start, message)
        elif self.compressor is not None:
            await self._next_part(self.compressor, message)
        else:
            await self.send(message)

    def _on_start(self, message: Message) -> None:
        headers = MutableHeaders(raw=[(bytes(k), bytes(v)) for k, v in message["headers"]])
        compressible = is_compressible(headers.get("content-type"))
        if compressible:
            _add_vary(headers)
        status = message["status"]
        # Nothing to do for a body that is not text, already encoded, partial or absent.
        if (
            not self.wanted
            or not compressible
            or "content-encoding" in headers
            or "content-range" in headers
            or status in (204, 304)
            or status < 200
        ):
            self.min_size = -1  # marks "pass through"
        self.start = {**message, "headers": headers.raw}

    async def _first_part(self, start: Message, message: Message) -> None:
        self.start = None
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.min_size < 0 or (not more and len(body) < self.min_size):
            await self.send(start)
            await self.send(message)
            return
        headers = MutableHeaders(raw=start["headers"])
        headers["Content-Encoding"] = "gzip"
        # The ETag stays as the app set it, so a 304 (never compressed) repeats it exactly:
        # it names the content, and Vary keeps the two encodings apart in any cache; byte
        # ranges, where a strong validator would name bytes, are never compressed.
        if not more and len(body) >= MEMO_MIN_SIZE:
            compressed = self.memo.compress(body)
            headers["Content-Length"] = str(len(compressed))
        else:
            self.compressor = gzip_deflater(self.level)
            compressed = self.compressor.compress(body)
            if more:
                del headers["content-length"]
            else:
                compressed += self.compressor.flush()
                headers["Content-Length"] = str(len(compressed))
        await self.send(start)
        await self.send({"type": "http.response.body", "body": compressed, "more_body": more})

    async def _next_part(self, compressor: _Deflater, message: Message) -> None:
        more = bool(message.get("more_body", False))
        compressed = compressor.compress(message.get("body", b""))
        if not more:
            compressed += compressor.flush()
        await self.send({"type": "http.response.body", "body": compressed, "more_body": more})
