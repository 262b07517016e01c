"""Delivery throughput: messages per second one worker sends to a local SMTP sink (aiosmtpd).

A throw-away database (SQLite, and PostgreSQL with --pg-url) gets N pending email deliveries
in its outbox; one worker (`app.worker.run_worker(once=True)`, the same loop `seratus
worker` runs) claims them in batches and sends each over SMTP to a sink on loopback, which
accepts every message. Prints messages/s per backend. Figures only; nothing is asserted.

    python bench/delivery.py --messages 500
    python bench/delivery.py --messages 500 --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import argparse
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as `python bench/delivery.py`: the repository root on the path, and not this folder,
# whose public.py would shadow the `public` module aiosmtpd imports.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import schema  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.models import Channel, Delivery, NoticeKind, NotificationSettings, Role, User  # noqa: E402
from app.worker import run_worker  # noqa: E402
from bench.live import throwaway_database  # noqa: E402


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fill(url: str, messages: int) -> None:
    engine = make_engine(url)
    with Session(engine) as session:
        user = User(
            username="kadis.bench", full_name="Kepala Bench", role=Role.executive, password_hash="x"
        )
        session.add(user)
        session.flush()
        session.add(
            NotificationSettings(
                user_id=user.pk,
                email="kadis.bench@banyuasin.example",
                email_on=True,
            )
        )
        now = datetime.now(UTC)
        body = "Tim Transisi menolak hasil T-001 «Pembangunan jembatan»: foto belum ada.\n" * 8
        for number in range(messages):
            session.add(
                Delivery(
                    user_id=user.pk,
                    channel=Channel.email,
                    kind=NoticeKind.rejected,
                    idempotency_key=f"bench-{number}:email",
                    subject=f"[Seratus] T-{number:03d}: Hasil ditolak",
                    body_text=body,
                    body_html=f"<p>{body}</p>",
                    next_attempt_at=now,
                )
            )
        session.commit()
    engine.dispose()


def run(backend: str, *, messages: int, batch: int, pg_url: str | None) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        throwaway_database(backend, folder=Path(folder), server_url=pg_url, tag="bench") as url,
    ):
        schema.upgrade(url)
        _fill(url, messages)
        sink = Sink()
        port = _free_port()
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = Settings(
                database_url=url,
                smtp_host="127.0.0.1",
                smtp_port=port,
                worker_batch_size=batch,
                require_migrated=False,
            )
            engine = make_engine(url)
            started = time.perf_counter()
            totals = run_worker(engine, settings=settings, once=True)
            elapsed = time.perf_counter() - started
            engine.dispose()
        finally:
            controller.stop()
        rate = totals.sent / elapsed if elapsed else 0.0
        print(
            f"{backend:<10} {totals.sent:>5} sent ({sink.count} received, {totals.failed} failed) "
            f"in {elapsed:6.2f} s  →  {rate:7.1f} messages/s  (batches of {batch}, one SMTP "
            "connection and one recording transaction per batch)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (any database on it)")
    args = parser.parse_args()
    print(f"Delivery benchmark: one worker, {args.messages} emails to a local aiosmtpd sink")
    run("sqlite", messages=args.messages, batch=args.batch, pg_url=None)
    if args.pg_url:
        run("postgresql", messages=args.messages, batch=args.batch, pg_url=args.pg_url)


if __name__ == "__main__":
    main()
