"""`seratus backup`: refusals (PostgreSQL, existing target, missing database) and a copy."""

import sqlite3
from pathlib import Path

import pytest

from app import cli, schema
from app.config import get_settings


def _run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> int:
    monkeypatch.setenv("SERATUS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return cli.main(list(args))
    finally:
        get_settings.cache_clear()


def test_postgresql_is_refused_with_the_pg_dump_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = "postgresql+psycopg://seratus:rahasia@db.internal/seratus"
    assert _run(monkeypatch, url, "backup", str(tmp_path / "x.db")) == 2
    err = capsys.readouterr().err
    assert "SQLite databases only" in err
    assert "pg_dump --format=custom" in err
    assert "pg_restore" in err
    assert "rahasia" not in err
    assert not (tmp_path / "x.db").exists()


def test_an_existing_target_or_a_missing_database_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert _run(monkeypatch, missing, "backup", str(tmp_path / "copy.db")) == 2
    assert "no database file" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()

    url = f"sqlite:///{tmp_path / 'live.db'}"
    schema.upgrade(url)
    existing = tmp_path / "copy.db"
    existing.write_text("keep me")
    assert _run(monkeypatch, url, "backup", str(existing)) == 2
    assert "exists already" in capsys.readouterr().err
    assert existing.read_text() == "keep me"


def test_backup_copies_the_database_and_says_how_to_restore(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    schema.upgrade(url)
    target = tmp_path / "copy.db"
    assert _run(monkeypatch, url, "backup", str(target)) == 0
    out = capsys.readouterr().out
    assert f"to {target}" in out
    assert "To restore: stop the app" in out
    assert f"also copy {tmp_path / 'evidence'}" in out  # the data directory beside the file
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"task", "task_event", "alembic_version"} <= tables
