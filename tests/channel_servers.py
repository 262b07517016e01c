"""Real local servers for the channels: an SMTP server (aiosmtpd) and a small HTTP server
standing in for the Telegram Bot API and a WhatsApp gateway's webhook. Started by the tests."""

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class SmtpSink:
    """Collects every message the SMTP server accepts."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    # Seconds to wait before accepting each message (a slow server), and replies to refuse.
    delay: float = 0.0
    refuse: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 Coba lagi nanti"
            content = envelope.content or b""
            raw = content if isinstance(content, bytes) else content.encode()
            parsed = message_from_bytes(raw, policy=policy.default)
            self.messages.append(parsed)
        return "250 OK"

    def idempotency_keys(self) -> list[str]:
        with self.lock:
            return [str(m["Idempotency-Key"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_sink(**options: Any) -> Iterator[SmtpSink]:
    sink = SmtpSink(**options)
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeHttp:
    """Records every POST; answers from `statuses` (then 200) with a Telegram-like body."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Received) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append(request)
            status = self.statuses.pop(0) if self.statuses else 200
            number = len(self.requests)
        if status != 200:
            return status, json.dumps({"ok": False, "description": "Gangguan"}).encode()
        return 200, json.dumps({"ok": True, "result": {"message_id": 1000 + number}}).encode()

    def posted(self, suffix: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.endswith(suffix)]


@contextmanager
def fake_http() -> Iterator[FakeHttp]:
    fake = FakeHttp()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status, answer = fake.answer(
                Received(path=self.path, headers=dict(self.headers.items()), body=body)
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
