"""`seratus backup` copies the live SQLite database while the app is writing to it: the copy
passes the integrity checks, holds every change acknowledged before the backup began, and
its history replays."""

import sqlite3
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from app import schema
from app.db import make_engine
from bench.live import LiveServer, seratus, throwaway_database
from tests import factories
from tests.system.stress import Client, Tally, check_outcome, versions_before
from tests.system.test_concurrency import make_shared_tasks
from tests.system.web import token_headers


def test_backup_during_writes_is_a_consistent_copy(tmp_path: Path) -> None:
    with throwaway_database("sqlite", folder=tmp_path / "db", server_url=None) as url:
        schema.upgrade(url)
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            world = factories.make_world(session)
        task_ids = make_shared_tasks(engine, world)
        before = versions_before(engine, task_ids)
        engine.dispose()
        tally = Tally()
        stop = threading.Event()
        target = tmp_path / "backups" / "seratus-backup.db"
        target.parent.mkdir()
        with LiveServer(url, log_path=tmp_path / "server.log", workers=2) as server:
            clients = [
                Client(
                    name=f"c{i}",
                    base_url=server.url,
                    headers=token_headers(server.url, "tim.transisi"),
                    task_ids=task_ids,
                    tally=tally,
                    seed=200 + i,
                )
                for i in range(4)
            ]
            threads = [threading.Thread(target=c.run_until, args=(stop,)) for c in clients]
            for thread in threads:
                thread.start()
            try:
                while len(tally.acks) < 20 and not tally.unexpected:
                    time.sleep(0.05)
                with tally.lock:
                    before_backup = list(tally.acks)
                result = seratus(url, "backup", str(target))
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=120)
        assert not tally.unexpected, tally.unexpected[:5]
        assert "To restore: stop the app" in result.stdout
        assert str(target) in result.stdout
        assert not list(target.parent.glob(".*partial"))

    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    copy = make_engine(f"sqlite:///{target}")
    try:
        check_outcome(
            copy,
            plan_id=world.plan.pk,
            before=before,
            acks=before_backup,
            all_answered=False,
        )
        with copy.connect() as conn:
            events = conn.execute(sa.text("SELECT count(*) FROM task_event")).scalar_one()
        assert events >= len(before_backup)
    finally:
        copy.dispose()
