"""Replicas that start together each run `seratus migrate` (the image's default command): on
PostgreSQL a migration waits for an advisory lock, so one migrates at a time and the others
then find the schema at head."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from app import schema
from app.schema import MIGRATION_LOCK_KEY
from bench.live import ROOT, app_env, throwaway_database
from tests.system.conftest import POSTGRES_ENV

WAITING = sa.text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND NOT granted"
)


def _migrate(url: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "-m", "app", "migrate"],
        env=app_env(url),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_migrations_queue_on_an_advisory_lock(tmp_path: Path) -> None:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.skip(f"{POSTGRES_ENV} is not set (concurrent migrations matter on PostgreSQL)")
    with throwaway_database("postgresql", folder=tmp_path, server_url=server) as url:
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        try:
            # Another replica is migrating: it holds the lock in its transaction.
            with engine.connect() as holder, engine.connect() as watcher:
                holder.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                replicas = [_migrate(url), _migrate(url)]
                deadline = time.monotonic() + 120
                while watcher.execute(WAITING, {"key": MIGRATION_LOCK_KEY}).scalar_one() < 2:
                    assert all(r.poll() is None for r in replicas), "a migration did not wait"
                    assert time.monotonic() < deadline, "the migrations never asked for the lock"
                    time.sleep(0.1)
                    watcher.rollback()  # a fresh snapshot of pg_locks
                holder.rollback()  # releases the lock: both go on, one after the other
            outcomes = [
                (r.wait(timeout=300), r.stderr.read() if r.stderr else "") for r in replicas
            ]
            for replica in replicas:
                if replica.stderr:
                    replica.stderr.close()
            assert [code for code, _ in outcomes] == [0, 0], outcomes
            with engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
            assert current == schema.head_revision(url)
        finally:
            engine.dispose()
