"""Throw-away PostgreSQL databases for the tests.

SERATUS_TEST_DATABASE_URL names a PostgreSQL server and a database on it to connect to for
administration (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test). When it is set the
suite runs on PostgreSQL: every database the tests need is created next to that one with a
unique name and dropped afterwards; the named database itself is never written.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

POSTGRES_ENV = "SERATUS_TEST_DATABASE_URL"


def postgres_server() -> str | None:
    """The admin URL from SERATUS_TEST_DATABASE_URL, or None: the suite runs on SQLite."""
    return os.environ.get(POSTGRES_ENV) or None


def on_postgres() -> bool:
    return postgres_server() is not None


@contextmanager
def throwaway_database(
    server: str, prefix: str = "seratus_test", options: str = ""
) -> Iterator[str]:
    """A new empty database on `server` for the duration of the block; yields its URL.
    `options` are CREATE DATABASE options (e.g. another locale)."""
    admin_url = sa.make_url(server)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # CREATE/DROP DATABASE cannot run inside a transaction.
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" {options}')
        try:
            with admin.connect() as conn:
                # A test database need not survive a crash: its commits skip the wait for
                # the WAL flush (its own setting; the app's behaviour does not change).
                conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def empty_database(folder: Path, name: str = "extra") -> Iterator[str]:
    """An empty database on the backend under test, for tests that need one of their own
    (migrations, the command line, several demos side by side): a SQLite file `name`.db in
    `folder`, or a throw-away PostgreSQL database. Yields its URL."""
    server = postgres_server()
    if server is None:
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    with throwaway_database(server, prefix=f"seratus_{name}") as url:
        yield url
