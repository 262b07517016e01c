"""The test fixtures themselves: every test starts on an empty database with the schema and
ids from 1, on SQLite (a new file) as on PostgreSQL (one database emptied before each test)."""

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from tests import factories


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
        }


# Run twice: the second run sees what the first one committed unless the fixtures empty it.
@pytest.mark.parametrize("run", [1, 2])
def test_each_test_starts_empty_with_ids_from_one(
    engine: Engine, session: Session, run: int
) -> None:
    assert set(_row_counts(engine).values()) == {0}

    world = factories.make_world(session)
    task = factories.make_task(session, actor=world.team, plan=world.plan, lead=world.putr)

    assert (world.plan.id, world.team.id, task.id) == (1, 1, 1)
    assert task.code == "T-001"
    counts = _row_counts(engine)
    assert counts["task"] == 1
    assert counts["task_event"] >= 1
