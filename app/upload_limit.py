"""A hard cap on the request body of upload routes, enforced while the body is received.

The services check an evidence file's size while copying it, and refuse it with a message
next to the form field; this cap stops a far larger (or endless, chunked) body before the
form parser spools it to disk. It raises inside the app, so the app's error handlers answer
(413 as JSON for the API, as a page or an htmx message otherwise).
"""

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class UploadTooLarge(HTTPException):
    """413 whose `detail` is written by the app (not user input), shown on pages too."""

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


class UploadLimit:
    def __init__(
        self, app: ASGIApp, *, path: re.Pattern[str], max_bytes: int, message: str
    ) -> None:
        self.app = app
        self.path = path
        self.max_bytes = max_bytes
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not self.path.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited() -> Message:
            nonlocal received
            if declared is not None and declared > self.max_bytes:
                raise UploadTooLarge(self.message)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise UploadTooLarge(self.message)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
