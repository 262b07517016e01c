"""PostgreSQL keeps its prepared statements across read transactions (app.pg_prepared), and a
transaction that wrote, or failed, still ends in a real ROLLBACK; on SQLite, psycopg is not
even imported."""

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, select

from app.db import open_session
from app.models import Unit, UnitKind
from tests import factories
from tests.databases import on_postgres

needs_postgres = pytest.mark.skipif(not on_postgres(), reason="PostgreSQL only")

QUERY = "SELECT count(*) FROM unit WHERE code = :code"


def _prepared(session: Session) -> list[str]:
    """The statements this session's connection has prepared on the server."""
    return list(
        session.connection()
        .exec_driver_sql("SELECT statement FROM pg_prepared_statements")
        .scalars()
    )


def _unit(code: str) -> Unit:
    return Unit(code=code, name=f"Dinas {code}", short_name=code, kind=UnitKind.agency)


@needs_postgres
def test_a_query_read_in_many_requests_is_prepared_once(engine: Engine) -> None:
    engine.pool.dispose()
    for _ in range(6):  # psycopg prepares on a connection's fifth run of a query
        with open_session(engine) as session:
            session.execute(sa.text(QUERY), {"code": "X"}).one()
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedin() == 1  # one connection served every request
    with open_session(engine) as session:
        session.execute(sa.text(QUERY), {"code": "X"}).one()
        prepared = _prepared(session)
    assert any("FROM unit WHERE code" in statement for statement in prepared), prepared


@needs_postgres
def test_a_write_that_is_not_committed_is_rolled_back(engine: Engine) -> None:
    with open_session(engine, write=True) as session:
        factories.make_unit(session, code="KEEP")
        session.add(_unit("DROP"))
        session.flush()
        # Closed without a commit: the unit written since the last commit must go.
    with open_session(engine) as session:
        codes = set(session.exec(select(Unit.code)).all())
    assert codes == {"KEEP"}


@needs_postgres
def test_a_savepoint_in_a_read_is_rolled_back_whole(engine: Engine) -> None:
    with open_session(engine) as session:
        session.exec(select(Unit)).all()
        with session.begin_nested():
            session.add(_unit("NESTED"))
        # The savepoint was released into the outer transaction; closing rolls both back.
    with open_session(engine) as session:
        assert session.exec(select(Unit.code)).all() == []


@needs_postgres
def test_a_failed_read_is_rolled_back_and_the_connection_serves_again(engine: Engine) -> None:
    engine.pool.dispose()
    with open_session(engine) as session, pytest.raises(sa.exc.DataError):
        session.execute(sa.text("SELECT 1 / 0")).one()
    with open_session(engine) as session:
        assert session.execute(sa.text("SELECT 2")).scalar_one() == 2
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedin() == 1


def test_an_app_on_sqlite_does_not_load_psycopg(tmp_path: Path) -> None:
    """psycopg and libpq would cost every process of a SQLite server several MiB."""
    script = (
        "import sys\n"
        "from app.config import Settings\n"
        "from app.main import create_app\n"
        f"create_app(Settings(database_url='sqlite:///{tmp_path / 'x.db'}'))\n"
        "print(sorted(name for name in sys.modules if name.startswith('psycopg')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]", found.stdout
