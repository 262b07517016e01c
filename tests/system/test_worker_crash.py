"""The delivery worker as a real process (`seratus worker`) against a real SMTP server:
killed with SIGKILL in the middle of a run, then started again, it delivers every message,
and nothing twice except what was in flight at the kill, which arrives again with the same
idempotency key (at least once)."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.config import BASE_DIR
from app.models import Channel, Delivery, DeliveryStatus, NoticeKind, NotificationSettings
from tests import factories
from tests.channel_servers import smtp_sink

MESSAGES = 40
BATCH = 5
LEASE_SECONDS = 2


def _outbox(engine: Engine, world: factories.World) -> None:
    with Session(engine, expire_on_commit=False) as session:
        session.add(
            NotificationSettings(
                user_id=world.putr_head.pk,
                email="kadis.putr@banyuasin.example",
                email_on=True,
            )
        )
        now = datetime.now(UTC)
        for number in range(MESSAGES):
            session.add(
                Delivery(
                    user_id=world.putr_head.pk,
                    channel=Channel.email,
                    kind=NoticeKind.comment,
                    idempotency_key=f"bulk-{number:02d}:email",
                    subject=f"Pesan {number}",
                    body_text="Isi pesan",
                    next_attempt_at=now,
                )
            )
        session.commit()


def _worker(database_url: str, port: int, log: Path, *, once: bool) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SERATUS_")},
        "SERATUS_DATABASE_URL": database_url,
        "SERATUS_SMTP_HOST": "127.0.0.1",
        "SERATUS_SMTP_PORT": str(port),
        "SERATUS_WORKER_BATCH_SIZE": str(BATCH),
        "SERATUS_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        "SERATUS_WORKER_INTERVAL_SECONDS": "0.2",
    }
    command = [sys.executable, "-m", "app", "worker", *(["--once"] if once else [])]
    return subprocess.Popen(
        command, cwd=BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def test_a_worker_killed_mid_run_then_restarted_delivers_everything(
    database_url: str, db_engine: Engine, live_world: factories.World, tmp_path: Path
) -> None:
    _outbox(db_engine, live_world)
    with smtp_sink(delay=0.1) as sink:
        first = _worker(database_url, sink.port, tmp_path / "first.log", once=False)
        try:
            deadline = time.monotonic() + 120
            while len(sink.idempotency_keys()) < 10 and time.monotonic() < deadline:
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                time.sleep(0.02)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        before_restart = len([k for k in sink.idempotency_keys() if k.startswith("bulk-")])
        assert 10 <= before_restart < MESSAGES

        # The killed worker's claims lapse after the lease; a new worker takes them over.
        time.sleep(LEASE_SECONDS + 0.5)
        second = _worker(database_url, sink.port, tmp_path / "second.log", once=True)
        assert second.wait(180) == 0, (tmp_path / "second.log").read_text()
        keys = Counter(k for k in sink.idempotency_keys() if k.startswith("bulk-"))

    assert set(keys) == {f"bulk-{n:02d}:email" for n in range(MESSAGES)}
    # Only what was in flight at the kill (at most one claimed batch) arrived twice.
    twice = [k for k, n in keys.items() if n > 1]
    assert all(n <= 2 for n in keys.values())
    assert len(twice) <= BATCH
    with Session(db_engine) as session:
        statuses = session.exec(select(Delivery.status)).all()
    assert statuses == [DeliveryStatus.sent] * MESSAGES
