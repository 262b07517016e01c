"""`seratus backup PATH`: a consistent copy of the SQLite database while the app runs.

SQLite's online backup API copies the database page by page inside one read transaction, so
the copy is the database as of one instant even while the app keeps writing (in WAL mode
readers do not block writers). The copy is checked and then renamed into place, so PATH is
either absent or a complete database. PostgreSQL is backed up with its own tools (pg_dump).
"""

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PG_DUMP_HINT = (
    "use PostgreSQL's own tools: pg_dump --format=custom --file=seratus.dump "
    '"$DATABASE" (restore with pg_restore --clean --if-exists --dbname="$DATABASE" '
    "seratus.dump); see README, Backups"
)


class BackupRefused(Exception):
    """The backup cannot be made; the message says why and what to do instead."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    target: Path
    size_bytes: int


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(f"`seratus backup` copies SQLite databases only; {PG_DUMP_HINT}.")
    if url.database in (None, "", ":memory:"):
        raise BackupRefused("an in-memory SQLite database has nothing to back up.")
    path = Path(url.database).expanduser()
    if not path.is_file():
        raise BackupRefused(f"there is no database file at {path}.")
    return path


def backup_sqlite(database_url: str, target: Path) -> BackupResult:
    """Copy the live database at `database_url` to `target` (which must not exist yet)."""
    source = sqlite_path(database_url)
    target = target.expanduser()
    if target.exists():
        raise BackupRefused(f"{target} exists already; choose a new file name.")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist.")
    if target.resolve() == source.resolve():
        raise BackupRefused("the backup must go to another file than the database itself.")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(partial)
            try:
                # All pages in one step: a write by the app between steps would restart the copy.
                src.backup(dst, pages=-1)
                # A standalone file: no -wal beside it is needed to open it.
                dst.execute("PRAGMA journal_mode=DELETE")
                problems = dst.execute("PRAGMA integrity_check").fetchall()
                if problems != [("ok",)]:
                    raise BackupRefused(f"the copy failed its integrity check: {problems[:3]}")
            finally:
                dst.close()
        finally:
            src.close()
        partial.rename(target)
    except sqlite3.Error as exc:
        raise BackupRefused(f"the copy failed: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(source=source, target=target, size_bytes=target.stat().st_size)


def restore_instructions(result: BackupResult) -> str:
    return (
        "To restore: stop the app, move the database and any "
        f"{result.source.name}-wal and {result.source.name}-shm beside it out of the way, "
        f"copy {result.target} to {result.source}, then start the app."
    )
