"""`Facts.grouped` counts each distinct task shape once (services.task_facts): its figures
must be exactly those of `Facts.stats` over each group's tasks, whatever the mix."""

import random
from datetime import date, timedelta

from app.models import TaskStatus
from app.services.task_facts import Facts, Tally, TaskFact

TODAY = date(2026, 3, 20)


def _random_facts(seed: int, count: int) -> Facts:
    rng = random.Random(seed)
    statuses = list(TaskStatus)
    tasks = []
    for task_id in range(1, count + 1):
        status = rng.choice(statuses)
        due = None if rng.random() < 0.2 else TODAY + timedelta(days=rng.randint(-30, 30))
        late = rng.choice([0, 0, 0, rng.randint(1, 40)])
        units = tuple(rng.sample(range(1, 9), rng.randint(1, 3)))
        tasks.append(
            TaskFact(
                id=task_id,
                status=status,
                due_date=due,
                weight=rng.randint(1, 5),
                needs_decision=rng.random() < 0.1,
                lead_unit_id=units[0],
                district_id=rng.choice([None, 20, 21, 22]),
                status_since=None,
                days_late=late,
                status_days=rng.randint(0, 20),
                programs=tuple(rng.sample(range(30, 36), rng.randint(0, 2))),
                units=units,
            )
        )
    return Facts(
        today=TODAY,
        cutoff=TODAY - timedelta(days=1),
        end_date=TODAY + timedelta(days=60),
        tasks=tasks,
    )


def _naive(facts: Facts) -> tuple[object, ...]:
    programs: dict[int, list[TaskFact]] = {}
    units: dict[int, list[TaskFact]] = {}
    districts: dict[int, list[TaskFact]] = {}
    for t in facts.tasks:
        for pid in t.programs:
            programs.setdefault(pid, []).append(t)
        for uid in t.units:
            units.setdefault(uid, []).append(t)
        if t.district_id is not None:
            districts.setdefault(t.district_id, []).append(t)
    return (
        facts.stats(),
        {k: facts.stats(v) for k, v in programs.items()},
        {k: facts.stats(v) for k, v in units.items()},
        {k: facts.stats(v) for k, v in districts.items()},
    )


def test_grouped_equals_the_figures_of_each_group_summed_task_by_task() -> None:
    for seed, count in ((1, 0), (2, 1), (3, 40), (4, 700)):
        facts = _random_facts(seed, count)
        grouped = facts.grouped()
        assert (grouped.plan, grouped.programs, grouped.units, grouped.districts) == _naive(
            facts
        ), seed


def test_a_group_of_one_task_keeps_its_longest_waits() -> None:
    facts = _random_facts(5, 1)
    (only,) = facts.tasks
    facts = Facts(
        today=TODAY,
        cutoff=TODAY,
        end_date=TODAY,
        tasks=[only._replace(status=TaskStatus.blocked, days_late=9, status_days=4)],
    )
    stats = facts.grouped().plan
    assert (stats.total, stats.blocked, stats.most_days_late, stats.longest_blocked_days) == (
        1,
        1,
        9,
        4,
    )


def test_a_tally_written_task_by_task_equals_the_figures_summed_afresh() -> None:
    """Tasks moved, re-judged, regrouped, added and removed one write at a time (kept_facts'
    way): the running figures stay those of summing each group again, longest waits too
    (which a leaving task may lower)."""
    rng = random.Random(7)
    judge = _random_facts(8, 0)
    pool = _random_facts(9, 300).tasks
    current = {t.id: t for t in pool[:150]}
    tally = Tally(judge)
    tally.put(current.items())
    for step in range(400):
        task_id = rng.choice(list(current)) if current and rng.random() < 0.8 else None
        if task_id is not None and rng.random() < 0.15:
            del current[task_id]
            written: list[tuple[int, TaskFact | None]] = [(task_id, None)]
        else:
            shape = rng.choice(pool)
            task_id = task_id or rng.randint(1000, 2000)
            current[task_id] = shape._replace(id=task_id)
            written = [(task_id, current[task_id])]
        tally.put(written)
        if step % 20 == 0 or step == 399:
            fresh = Facts(
                today=judge.today,
                cutoff=judge.cutoff,
                end_date=judge.end_date,
                tasks=list(current.values()),
            )
            got = tally.grouped()
            assert (got.plan, got.programs, got.units, got.districts) == _naive(fresh), step
