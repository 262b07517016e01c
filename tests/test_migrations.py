"""Migrations: an empty database upgrades to head, matches the models exactly, downgrades to
nothing; and the app refuses to start on a database that is not at head.

SQLite always; PostgreSQL too when SERATUS_TEST_DATABASE_URL names a server (a throw-away
database is created next to the one named there, and dropped afterwards), e.g.
SERATUS_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table on SQLModel.metadata)
from app import schema
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from tests.databases import POSTGRES_ENV, postgres_server, throwaway_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = postgres_server()
    if server is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    with throwaway_database(server, prefix="seratus_migration") as url:
        yield url


@pytest.fixture
def migrated_engine(empty_url: str) -> Iterator[Engine]:
    schema.upgrade(empty_url)
    engine = make_engine(empty_url)
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_an_empty_database_upgrades_to_head(migrated_engine: Engine, empty_url: str) -> None:
    assert _current_revision(migrated_engine) == schema.head_revision(empty_url)
    assert _tables(migrated_engine) == {*SQLModel.metadata.tables, "alembic_version"}


def test_the_code_names_the_head_of_its_migrations(migrated_engine: Engine, empty_url: str) -> None:
    """A web worker checks the database against SCHEMA_REVISION without Alembic: a new
    migration must move it, and the worker's own reading must agree with Alembic's."""
    assert schema.head_revision(empty_url) == schema.SCHEMA_REVISION
    assert schema.current_revision(migrated_engine) == _current_revision(migrated_engine)


def test_the_migrations_match_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []


def test_the_drift_check_sees_a_column_the_migrations_lack(migrated_engine: Engine) -> None:
    """Guards the test above: a model change without a migration must show up."""
    changed = sa.MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["task"].append_column(sa.Column("budget", sa.Integer(), nullable=True))
    with migrated_engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), changed)

    assert [d[0] for d in differences] == ["add_column"]


def _constraints(engine: Engine, schema_name: str | None = None) -> dict[str, dict[str, Any]]:
    """What autogenerate does not compare: CHECK constraints, and the names of unique
    constraints, foreign keys and indexes."""
    inspector = sa.inspect(engine)
    result: dict[str, dict[str, Any]] = {}
    for table in SQLModel.metadata.tables:
        checks = inspector.get_check_constraints(table, schema=schema_name)
        uniques = inspector.get_unique_constraints(table, schema=schema_name)
        foreign_keys = inspector.get_foreign_keys(table, schema=schema_name)
        indexes = inspector.get_indexes(table, schema=schema_name)
        result[table] = {
            # Name and the values it allows (the SQL text itself differs by how it was made).
            "checks": sorted(
                (c["name"] or "", tuple(sorted(re.findall(r"'([^']*)'", c["sqltext"]))))
                for c in checks
            ),
            "uniques": sorted(c["name"] or "" for c in uniques),
            "foreign_keys": sorted(
                (c["name"] or "", tuple(c["constrained_columns"]), c["referred_table"])
                for c in foreign_keys
            ),
            "indexes": sorted(
                (i["name"] or "", tuple(str(c) for c in i["column_names"]), bool(i["unique"]))
                for i in indexes
            ),
        }
    return result


def test_migrated_constraints_equal_the_models_constraints(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    # The reference: the same models created directly on a database of the same kind.
    if migrated_engine.dialect.name == "sqlite":
        reference = make_engine(f"sqlite:///{tmp_path / 'create_all.db'}")
        SQLModel.metadata.create_all(reference)
        try:
            assert _constraints(migrated_engine) == _constraints(reference)
        finally:
            reference.dispose()
        return
    # On PostgreSQL: a schema of its own in the same throw-away database.
    with migrated_engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA reference")
    SQLModel.metadata.create_all(
        migrated_engine.execution_options(schema_translate_map={None: "reference"})
    )
    assert _constraints(migrated_engine) == _constraints(migrated_engine, "reference")


def test_downgrade_to_base_leaves_only_the_version_table(
    migrated_engine: Engine, empty_url: str
) -> None:
    schema.downgrade(empty_url, "base")

    assert _tables(migrated_engine) == {"alembic_version"}
    assert _current_revision(migrated_engine) is None
    # And back up again: the downgrade left nothing in the way.
    schema.upgrade(empty_url)
    assert _current_revision(migrated_engine) == schema.head_revision(empty_url)


# --- the app refuses an unmigrated database --------------------------------------------


def test_the_app_refuses_to_start_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unmigrated.db'}"
    app = create_app(Settings(database_url=url, require_migrated=True))

    with pytest.raises(schema.DatabaseNotMigrated) as info, TestClient(app):
        pass

    assert "seratus migrate" in str(info.value)
    assert "empty" in str(info.value)


def test_the_app_refuses_a_database_at_another_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'older'")
    app = create_app(Settings(database_url=url, require_migrated=True), engine)

    with pytest.raises(schema.DatabaseNotMigrated) as info, TestClient(app):
        pass

    engine.dispose()
    assert "older" in str(info.value)
    assert "seratus migrate" in str(info.value)


def test_the_app_starts_on_a_migrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ready.db'}"
    schema.upgrade(url)
    app = create_app(Settings(database_url=url, require_migrated=True))

    with TestClient(app) as client:
        response = client.get("/healthz")

    app.state.engine.dispose()
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
