"""The board's column figures (services.board.column_counts): a unit's view counts them in two
parts (the cards the unit leads, the cards it only supports), which must add up to what the
filter's own "lead or supporting" chooses, and must be read along the unit's cards, not its
whole columns."""

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models import BOARD_STATUSES, Task, TaskStatus, TaskSupportingUnit
from app.services import board as board_service
from app.services import plans
from app.services.board import ColumnStat
from app.services.filters import TaskFilter
from app.services.lateness import Lateness
from tests.factories import World, make_plan, make_task


def _lateness(session: Session, world: World) -> Lateness:
    return Lateness.now(plans.plan_calendar(session, world.plan))


def _counted_one_by_one(
    session: Session, world: World, filters: TaskFilter, statuses: tuple[TaskStatus, ...]
) -> dict[TaskStatus, ColumnStat]:
    """The figures of the tasks the filter's own conditions choose, added up in Python."""
    conditions = filters.conditions(lateness=_lateness(session, world))
    rows = session.exec(
        select(Task.status, Task.weight, Task.change_seq, Task.updated_at).where(
            Task.plan_id == world.plan.id, col(Task.status).in_(statuses), *conditions
        )
    ).all()
    figures: dict[TaskStatus, dict[str, Any]] = {
        s: {"count": 0, "weight": 0, "last_change": 0, "writes": []} for s in statuses
    }
    for status, weight, change_seq, updated_at in rows:
        column = figures[TaskStatus(status)]
        column["count"] += 1
        column["weight"] += weight
        column["last_change"] = max(column["last_change"], change_seq)
        column["writes"].append(updated_at)
    return {
        s: ColumnStat(f["count"], f["weight"], f["last_change"], max(f["writes"], default=None))
        for s, f in figures.items()
    }


@pytest.fixture
def unit_cards(session: Session, world: World) -> dict[str, Task]:
    """Cards Dinkes leads, supports, or both (a supporting row an import might leave; the
    forms never do), cards of others, a cancelled one and one of another plan."""

    def task(title: str, **fields: Any) -> Task:
        fields.setdefault("lead", world.dinkes)
        return make_task(session, actor=world.team, plan=world.plan, title=title, **fields)

    cards = {
        "led": task("Posyandu", weight=3, program_ids=[world.sehat.id]),
        "led_review": task("Puskesmas", weight=2, status=TaskStatus.review),
        "led_district": task("Pustu", district_id=world.district.id, needs_decision=True),
        "supported": task(
            "Drainase",
            lead=world.putr,
            supporting_unit_ids=[world.dinkes.id],
            weight=5,
            program_ids=[world.sehat.id],
        ),
        "supported_progress": task(
            "Air bersih",
            lead=world.putr,
            supporting_unit_ids=[world.dinkes.id],
            status=TaskStatus.in_progress,
            district_id=world.district.id,
        ),
        "both": task("Sanitasi", weight=4, status=TaskStatus.in_progress),
        "other": task("Jalan poros", lead=world.putr, weight=5),
        "other_blocked": task("Jembatan", lead=world.putr, status=TaskStatus.blocked),
    }
    session.add(TaskSupportingUnit(task_id=cards["both"].pk, unit_id=world.dinkes.pk))
    session.commit()
    other_plan = make_plan(session, is_current=False)
    make_task(session, actor=world.team, plan=other_plan, lead=world.dinkes, title="Lain")
    return cards


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"needs_decision": True},
        {"q": "pus"},
        {"district": True},
        {"program": True},
    ],
)
@pytest.mark.parametrize("statuses", [BOARD_STATUSES, (TaskStatus.todo, TaskStatus.in_progress)])
def test_a_units_figures_equal_counting_what_its_filter_chooses(
    session: Session,
    world: World,
    unit_cards: dict[str, Task],
    extra: dict[str, Any],
    statuses: tuple[TaskStatus, ...],
) -> None:
    filters = TaskFilter(
        unit_id=world.dinkes.id,
        needs_decision=extra.get("needs_decision", False),
        q=extra.get("q", ""),
        district_id=world.district.id if extra.get("district") else None,
        program_id=world.sehat.id if extra.get("program") else None,
    )

    counted = board_service.column_counts(
        session,
        plan_id=world.plan.pk,
        filters=filters,
        lateness=_lateness(session, world),
        statuses=statuses,
    )

    assert counted == _counted_one_by_one(session, world, filters, statuses)


def test_a_units_figures_count_a_card_it_leads_and_supports_once(
    session: Session, world: World, unit_cards: dict[str, Task]
) -> None:
    counted = board_service.column_counts(
        session,
        plan_id=world.plan.pk,
        filters=TaskFilter(unit_id=world.dinkes.id),
        lateness=_lateness(session, world),
    )

    # Belum Dimulai: led, led_district, supported; Sedang Berjalan: supported_progress, both.
    assert (counted[TaskStatus.todo].count, counted[TaskStatus.todo].weight) == (3, 3 + 1 + 5)
    assert counted[TaskStatus.in_progress].count == 2
    assert counted[TaskStatus.review].count == 1
    assert counted[TaskStatus.blocked] == ColumnStat()
    both = unit_cards["both"]
    session.refresh(both)
    assert counted[TaskStatus.in_progress].last_change >= both.change_seq
    assert isinstance(counted[TaskStatus.in_progress].last_write, datetime)


def test_a_units_figures_are_read_along_its_cards_not_its_columns(
    engine: Engine,
    session: Session,
    world: World,
    unit_cards: dict[str, Task],
    sent: list[tuple[str, Any]],
) -> None:
    """SQLite, without ANALYZE statistics, reads the cards the unit leads from
    ix_task_unit_columns and the ones it supports by id: no step walks a column's cards (the
    cost then follows the unit's cards, not the plan's size)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan checked is SQLite's")
    lateness = _lateness(session, world)
    for filters in (
        TaskFilter(unit_id=world.dinkes.id),
        TaskFilter(unit_id=world.dinkes.id, q="pus"),
    ):
        sent.clear()
        board_service.column_counts(
            session, plan_id=world.plan.pk, filters=filters, lateness=lateness
        )
        [(statement, parameters)] = [(s, p) for s, p in sent if "count(*)" in s]
        with engine.connect() as conn:
            plan = [
                row[3]
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            ]

        task_steps = [
            step for step in plan if step.split(" ")[:2] in (["SEARCH", "task"], ["SCAN", "task"])
        ]
        assert any("ix_task_unit_columns (plan_id=? AND lead_unit_id=?" in s for s in task_steps)
        assert all(
            "ix_task_unit_columns" in step or "INTEGER PRIMARY KEY" in step for step in task_steps
        ), plan
        assert any(step.startswith("SCAN supported") for step in plan), plan


def test_a_unit_view_and_the_whole_board_add_up(
    session: Session, world: World, unit_cards: dict[str, Task]
) -> None:
    """The unfiltered figures are still the plan's (the unit's two parts are only for a
    unit's view)."""
    lateness = _lateness(session, world)
    everything = board_service.column_counts(
        session, plan_id=world.plan.pk, filters=TaskFilter(), lateness=lateness
    )

    assert everything == _counted_one_by_one(session, world, TaskFilter(), BOARD_STATUSES)
    assert sum(stat.count for stat in everything.values()) == 8
    assert (
        session.exec(
            select(sa.func.count()).select_from(Task).where(Task.plan_id == world.plan.id)
        ).one()
        == 8
    )
