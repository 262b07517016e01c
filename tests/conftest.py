"""Fixtures: a fresh database per test, the app on it, and a logged-in client helper.

SQLite by default: a new file per test. With SERATUS_TEST_DATABASE_URL set (see
tests/databases.py) the same tests run on PostgreSQL: one throw-away database per session
with the schema created once, emptied before each test.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel

# Every app the tests start, and the live servers they spawn, keep the collector as it is
# (see Settings.gc_freeze); tests/test_gc_freeze.py checks the served default.
os.environ["SERATUS_GC_FREEZE"] = "false"

from app.card_html import card_cache
from app.config import Settings
from app.db import make_engine, open_session
from app.main import create_app
from app.routes.board import region_cache
from app.services import accounts
from app.services.dashboard import forget_kept_reference
from app.services.reference_lists import forget_filter_options
from app.services.task_facts import forget_kept_facts
from tests import factories
from tests.databases import empty_database, postgres_server, throwaway_database


@pytest.fixture(autouse=True)
def fresh_card_cache() -> None:
    """Each test starts with no kept cards, board regions, filter options, task facts or
    dashboard reference: one process runs many test databases, whose ids, versions and times
    may repeat (a server holds one database)."""
    card_cache.clear()
    region_cache.clear()
    forget_filter_options()
    forget_kept_facts()
    forget_kept_reference()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its minimum cost: a test world hashes several passwords and logs in, which
    at production cost takes most of a second. test_accounts checks the production hasher."""
    monkeypatch.setattr(
        accounts,
        "password_hash",
        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)),
    )


@dataclass(frozen=True)
class PostgresDatabase:
    url: str
    # Empties every table and restarts every id sequence, in one round trip.
    reset_sql: str


def _reset_sql(engine: Engine) -> str:
    """DELETE from every table, children first, then every sequence back to 1.

    Not TRUNCATE: on tables of a few rows DELETE costs ~2 ms where TRUNCATE, which swaps in
    new files for every table and index, costs ~50 ms, and this runs before every test."""
    with engine.connect() as conn:
        existing = set(
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
        )
        sequences = conn.exec_driver_sql(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
            "FROM pg_sequences WHERE schemaname = current_schema()"
        ).scalars()
        restarts = [f"SELECT setval('{name}', 1, false)" for name in sequences]
    assert existing <= set(SQLModel.metadata.tables), "a table the models do not know"
    deletes = [
        str(table.delete().compile(dialect=engine.dialect))
        for table in reversed(SQLModel.metadata.sorted_tables)
        if table.name in existing
    ]
    # A connection a previous test leaked would block the reset: fail, do not hang.
    return "; ".join(["SET LOCAL lock_timeout = '10s'", *deletes, *restarts])


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """The session's throw-away PostgreSQL database, with the schema (PostgreSQL runs only)."""
    server = postgres_server()
    assert server is not None, "only used when SERATUS_TEST_DATABASE_URL is set"
    with throwaway_database(server) as url:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        reset_sql = _reset_sql(engine)
        engine.dispose()
        yield PostgresDatabase(url, reset_sql)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if postgres_server() is not None:
        database: PostgresDatabase = request.getfixturevalue("postgres_database")
        return database.url
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[Engine]:
    """An engine on an empty database with the schema: a new SQLite file, or the session's
    PostgreSQL database emptied (the app commits, so a rolled-back outer transaction cannot
    isolate the tests)."""
    engine = make_engine(db_url)
    if engine.dialect.name == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("postgres_database")
        with engine.begin() as conn:
            conn.exec_driver_sql(database.reset_sql)
    else:
        SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """`new_database(name)` gives the URL of another empty database (no schema) on the
    backend under test; PostgreSQL ones are dropped after the test."""
    with ExitStack() as stack:

        def make(name: str) -> str:
            return stack.enter_context(empty_database(tmp_path, name))

        yield make


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with open_session(engine) as session:
        yield session


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    # Evidence files and import previews of this test only (on PostgreSQL the default would
    # be the checkout's ./data, shared by every test).
    return Settings(database_url=db_url, require_migrated=False, data_dir=tmp_path / "data")


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def sent(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on `engine`, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


# Transaction control is left out of statement counts: SQLite's BEGIN is a statement of its
# own (app/db.py), PostgreSQL's is implicit, and COMMIT is no statement on either.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` from now on (clear() to start again), without
    transaction control, so a count means the same on SQLite and PostgreSQL."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def world(session: Session) -> factories.World:
    """A plan in flight with two agencies, a district, programs and a user of every role."""
    return factories.make_world(session)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many requests the fuzzers made (issue 11), and any path parameter they had no
    real value for."""
    from tests.fuzzing import REQUEST_COUNTS, UNSEEDED

    for name, count in sorted(REQUEST_COUNTS.items()):
        terminalreporter.write_line(f"{name}: {count} requests")
    if UNSEEDED:
        terminalreporter.write_line(f"fuzzers: path parameters without a seeded id: {UNSEEDED}")
