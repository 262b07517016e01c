"""Lists sorted by text come out in the same order on every database: by code point, as on
SQLite, even on a PostgreSQL database whose locale sorts otherwise (app/sorting.py)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from app.db import make_engine, open_session
from app.models import Role, UnitKind
from app.services import accounts, reference_lists, task_queries
from tests import factories
from tests.databases import postgres_server, throwaway_database

# Acronyms next to words: an en-US collation puts "Dinas Pariwisata" before "Dinas PUTR".
AGENCIES = ["Dinas Pariwisata", "BAPPEDA", "Dinas PUTR", "Badan Keuangan Daerah", "DPMD"]
USERNAMES = ["op.putr", "op_dinkes", "op-bappeda", "opbpbd"]


@pytest.fixture(params=["backend under test", "PostgreSQL with an en-US collation"])
def sorting_engine(
    request: pytest.FixtureRequest, tmp_path: Path, engine: Engine
) -> Iterator[Engine]:
    if request.param == "backend under test":
        yield engine
        return
    server = postgres_server()
    if server is None:
        pytest.skip("needs a PostgreSQL server (SERATUS_TEST_DATABASE_URL)")
    icu = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    with throwaway_database(server, prefix="seratus_icu", options=icu) as url:
        icu_engine = make_engine(url)
        SQLModel.metadata.create_all(icu_engine)
        yield icu_engine
        icu_engine.dispose()


@pytest.fixture
def sorting_session(sorting_engine: Engine) -> Iterator[Session]:
    with open_session(sorting_engine) as session:
        for number, name in enumerate(AGENCIES):
            factories.make_unit(session, code=f"U{number}", name=name)
        team = factories.make_user(session, username="tim.transisi", role=Role.team)
        for username in USERNAMES:
            factories.make_user(session, username=username, role=Role.team)
        session.info["team"] = team
        yield session


def test_units_sort_by_code_point(sorting_session: Session) -> None:
    units = task_queries.list_units(sorting_session, kind=UnitKind.agency)

    assert [u.name for u in units] == sorted(AGENCIES)
    assert sorted(AGENCIES)[3:] == ["Dinas PUTR", "Dinas Pariwisata"]


def test_filter_choices_sort_by_code_point(sorting_session: Session) -> None:
    options = reference_lists.read_filter_options(sorting_session)

    assert [u.short_name for u in options.agencies] == sorted(AGENCIES)


def test_users_sort_by_code_point(sorting_session: Session) -> None:
    users = accounts.list_users(sorting_session, actor=sorting_session.info["team"])

    assert [u.username for u in users] == sorted([*USERNAMES, "tim.transisi"])
