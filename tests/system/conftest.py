"""System tests: the real app (`seratus serve`, one or more processes) over HTTP on loopback,
on SQLite always and on PostgreSQL when SERATUS_TEST_DATABASE_URL names a server (a
throw-away database is created next to it and dropped afterwards).

They take longer than the unit tests, carry the `system` marker (`-m "not system"` leaves them
out while iterating) and run in the default `pytest` run.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import schema
from app.db import make_engine
from bench.live import BACKENDS, throwaway_database
from tests import factories

POSTGRES_ENV = "SERATUS_TEST_DATABASE_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.system)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgresql" and not os.environ.get(POSTGRES_ENV):
        pytest.skip(f"{POSTGRES_ENV} is not set: the PostgreSQL half of this test is left out")
    return name


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database on `backend`, migrated to head (as `seratus migrate` leaves it)."""
    with throwaway_database(
        backend, folder=tmp_path / "db", server_url=os.environ.get(POSTGRES_ENV)
    ) as url:
        schema.upgrade(url)
        yield url


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2, max_overflow=2)
    yield engine
    engine.dispose()


@pytest.fixture
def live_world(db_engine: Engine) -> factories.World:
    """The factories' world (plan, units, programs, a user of every role) in the database."""
    with Session(db_engine, expire_on_commit=False) as session:
        return factories.make_world(session)
