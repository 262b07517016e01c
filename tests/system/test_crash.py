"""A crash in the middle of a write load loses nothing acknowledged and corrupts nothing.

Six API clients write through `seratus serve --workers 2`; once enough changes are
acknowledged, the server and its workers are SIGKILLed while requests are in flight. After a
restart on the same database: SQLite's integrity and foreign-key checks pass, every change
acknowledged before the kill is there with its version, each column is numbered 1..n, the
history replays to every task's status, and the app takes writes again.
"""

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy import Engine

from bench.live import LiveServer
from tests import factories
from tests.system.stress import ALLOWED, Client, Tally, check_outcome, versions_before
from tests.system.test_concurrency import make_shared_tasks
from tests.system.web import token_headers

ACKNOWLEDGED_BEFORE_KILL = 40


def _sqlite_checks(database_url: str) -> None:
    path = sa.make_url(database_url).database
    assert path
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_sigkill_during_writes_loses_no_acknowledged_change(
    backend: str,
    database_url: str,
    db_engine: Engine,
    live_world: factories.World,
    tmp_path: Path,
) -> None:
    task_ids = make_shared_tasks(db_engine, live_world)
    before = versions_before(db_engine, task_ids)
    tally = Tally()
    stop = threading.Event()
    server = LiveServer(database_url, log_path=tmp_path / "server.log", workers=2).start()
    try:
        users = ["tim.transisi"] * 4 + ["kadis.putr", "kadis.dinkes"]
        clients = [
            Client(
                name=f"c{i}",
                base_url=server.url,
                headers=token_headers(server.url, username),
                task_ids=task_ids,
                tally=tally,
                seed=100 + i,
            )
            for i, username in enumerate(users)
        ]
        threads = [threading.Thread(target=c.run_until, args=(stop,)) for c in clients]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 300
        while len(tally.acks) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.05)
        with tally.lock:
            acknowledged = list(tally.acks)  # answered before the kill
        server.kill()
    finally:
        stop.set()
        server.stop()
    for thread in threads:
        thread.join(timeout=120)
    assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL, dict(tally.statuses)
    # Requests were cut off by the kill (status 0); none was answered with a 5xx.
    assert tally.statuses.get(0, 0) > 0, dict(tally.statuses)
    assert set(tally.statuses) <= ALLOWED | {0}, dict(tally.statuses)

    if backend == "sqlite":
        _sqlite_checks(database_url)
    check_outcome(
        db_engine,
        plan_id=live_world.plan.pk,
        before=before,
        acks=tally.acks,
        all_answered=False,
    )
    assert set(acknowledged) <= set(tally.acks)

    with LiveServer(database_url, log_path=tmp_path / "restart.log", workers=2) as restarted:
        headers = token_headers(restarted.url, "tim.transisi")
        task = httpx.get(
            f"{restarted.url}/api/v1/tasks/{task_ids[0]}", headers=headers, timeout=30
        ).json()
        edited = httpx.patch(
            f"{restarted.url}/api/v1/tasks/{task_ids[0]}",
            headers=headers,
            json={"version": task["version"], "title": "Setelah pemulihan"},
            timeout=30,
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["version"] == task["version"] + 1
    if backend == "sqlite":
        _sqlite_checks(database_url)
