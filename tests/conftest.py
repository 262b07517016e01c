"""Fixtures: a fresh database per test, the app on it, and a logged-in client helper.

SQLite by default: a new file per test. With SERATUS_TEST_DATABASE_URL set (see
tests/databases.py) the same tests run on PostgreSQL: one throw-away database per session
with the schema created once, emptied before each test (the app commits, so a rolled-back
outer transaction cannot isolate tests).
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel

from app.config import Settings
from app.db import make_engine, open_session
from app.main import create_app
from app.services import accounts
from tests import factories
from tests.databases import empty_database, postgres_server, throwaway_database


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its minimum cost: a test world hashes several passwords and logs in, which
    at production cost takes most of a second. test_accounts checks the production hasher."""
    monkeypatch.setattr(
        accounts,
        "password_hash",
        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)),
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The session's throw-away PostgreSQL database, with the schema (PostgreSQL runs only)."""
    server = postgres_server()
    assert server is not None, "postgres_url is only used when SERATUS_TEST_DATABASE_URL is set"
    with throwaway_database(server) as url:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        yield url


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if postgres_server() is not None:
        url: str = request.getfixturevalue("postgres_url")
        return url
    return f"sqlite:///{tmp_path / 'test.db'}"


def _empty_postgres(engine: Engine) -> None:
    """Every table emptied and every id sequence restarted, in one statement."""
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()"
        ).scalars()
        names = ", ".join(tables)
        if names:
            # A connection a previous test leaked would block TRUNCATE: fail, do not hang.
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    if engine.dialect.name == "postgresql":
        _empty_postgres(engine)
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
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, require_migrated=False)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as client:
        yield client


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
