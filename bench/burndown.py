"""Burndown benchmark: the series, the JSON API, the CSV download and (if present) the dashboard.

Builds a fresh SQLite plan with N tasks and 10·N events (default N = 5,000 and 25,000) whose
history looks like a plan in flight on day 45: tasks drafted before day 1 and some added
later, moves through the columns, blocks, rejections, verifications, cancellations and
restores, weight edits, progress reports and notes. Prints p50/p95 time and SQL statements
per call of `burndown_series`, and per request (server time and the in-process client's
round trip, as bench/board.py) of the JSON API, the CSV download and, when the route
exists, the dashboard: cold (nothing kept), after a change (one progress report since the
last view), repeated (the same plan state) and cold with the worker's Kurva S checkpoint (a
new process; 1..repeat progress reports since the checkpoint). Not a test: it prints
figures and asserts nothing about time.

    python bench/burndown.py                       # N = 5000 and 25000
    python bench/burndown.py --sizes 2000 --repeat 3
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlmodel import SQLModel, col, select

from app.config import Settings
from app.dashboard_html import fragment_cache
from app.db import make_engine, open_session
from app.main import create_app
from app.models import (
    BOARD_STATUSES,
    EventKind,
    Plan,
    Program,
    ProgramKind,
    ProgressUpdate,
    Role,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    TaskSupportingUnit,
    Unit,
    UnitKind,
    User,
)
from app.routes.dashboard import body_cache
from app.services import accounts, chart, curve, task_facts, tasks
from app.services import dashboard as dashboard_service
from app.services.burndown import burndown_series
from app.services.filters import TaskFilter
from app.timefmt import WIB
from bench.board import (
    PASSWORD,
    ServerTimer,
    StatementCounter,
    login,
    percentile,
    report,
    timed,
)

EVENTS_PER_TASK = 10
TODAY_DAY = 45

# Where a status move goes next from each status (weights).
NEXT_STATUS: dict[TaskStatus, tuple[tuple[TaskStatus, ...], tuple[float, ...]]] = {
    TaskStatus.todo: ((TaskStatus.in_progress, TaskStatus.blocked), (0.9, 0.1)),
    TaskStatus.in_progress: ((TaskStatus.review, TaskStatus.blocked), (0.7, 0.3)),
    TaskStatus.blocked: ((TaskStatus.in_progress,), (1.0,)),
    TaskStatus.review: ((TaskStatus.done, TaskStatus.in_progress), (0.75, 0.25)),
    TaskStatus.done: ((TaskStatus.in_progress,), (1.0,)),
}


def _history(
    rng: random.Random, *, created: datetime, now: datetime, weight: int
) -> tuple[list[dict[str, Any]], TaskStatus, int]:
    """EVENTS_PER_TASK event rows (without ids) for one task, its final status and weight."""
    span = (now - created).total_seconds()
    instants = sorted(created + timedelta(seconds=rng.uniform(1, span)) for _ in range(9))
    rows: list[dict[str, Any]] = [
        {
            "at": created,
            "kind": EventKind.created,
            "from_status": None,
            "to_status": TaskStatus.todo,
            "changes": {"title": [None, "Pekerjaan"], "weight": [None, weight]},
        }
    ]
    status = TaskStatus.todo
    for at in instants:
        roll = rng.random()
        kind: EventKind = EventKind.comment
        to_status: TaskStatus | None = None
        changes: dict[str, list[Any]] = {}
        if status == TaskStatus.cancelled:
            if roll < 0.15:
                kind, to_status = EventKind.moved, TaskStatus.todo
        elif roll < 0.01:
            kind, to_status = EventKind.cancelled, TaskStatus.cancelled
        elif roll < 0.45:
            # A verified task is reopened only now and then; otherwise it just gets notes.
            if status != TaskStatus.done or roll < 0.03:
                targets, weights = NEXT_STATUS[status]
                to_status = rng.choices(targets, weights)[0]
                kind = EventKind.moved
                if to_status == TaskStatus.done:
                    kind = EventKind.verified
                elif status == TaskStatus.review:
                    kind = EventKind.rejected
        elif roll < 0.455:
            new_weight = rng.choice([w for w in range(1, 6) if w != weight])
            kind, changes = EventKind.edited, {"weight": [weight, new_weight]}
            weight = new_weight
        elif roll < 0.75:
            kind, changes = EventKind.progress, {"progress_pct": [10, 20]}
        if to_status is not None:
            changes = {"status": [status.value, to_status.value]}
        rows.append(
            {
                "at": at,
                "kind": kind,
                "from_status": status if to_status is not None else None,
                "to_status": to_status,
                "changes": changes,
            }
        )
        status = to_status or status
    return rows, status, weight


def build_plan(engine: Engine, n_tasks: int, seed: int = 11) -> dict[str, Any]:
    """A current plan on day 45 with `n_tasks` tasks and EVENTS_PER_TASK events each."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.astimezone(WIB).date()
    start = today - timedelta(days=TODAY_DAY - 1)
    day_one = datetime.combine(start, datetime.min.time(), tzinfo=WIB).astimezone(UTC)
    with open_session(engine) as session:
        plan = Plan(
            name="Bench plan",
            start_date=start,
            is_current=True,
            baseline_at=day_one,
            next_task_number=n_tasks + 1,
        )
        units = [
            Unit(code=f"U{i:02d}", name=f"Dinas {i}", short_name=f"Dinas {i}", kind=UnitKind.agency)
            for i in range(30)
        ] + [
            Unit(
                code=f"16.07.{i:02d}",
                name=f"Kecamatan {i}",
                short_name=f"Kec {i}",
                kind=UnitKind.district,
            )
            for i in range(1, 22)
        ]
        kinds = (
            [ProgramKind.priority] * 7 + [ProgramKind.movement] * 12 + [ProgramKind.pro_people] * 5
        )
        programs = [
            Program(code=f"P{i}", kind=kind, short_name=f"Prog {i}", name="P", sort_order=i)
            for i, kind in enumerate(kinds)
        ]
        session.add(plan)
        session.add_all(units)
        session.add_all(programs)
        session.commit()
        team = accounts.create_user(
            session, actor=None, username="tim", full_name="Tim", role=Role.team, password=PASSWORD
        )
        head = accounts.create_user(
            session,
            actor=None,
            username="kadis",
            full_name="Kadis",
            role=Role.unit,
            password=PASSWORD,
            unit_id=units[0].id,
        )
        positions = dict.fromkeys(BOARD_STATUSES, 0)
        task_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        for i in range(n_tasks):
            if rng.random() < 0.85:
                created = day_one - timedelta(seconds=rng.uniform(60, 7 * 86400))
            else:
                created = day_one + timedelta(
                    seconds=rng.uniform(0, (now - day_one).total_seconds() - 3600)
                )
            history, status, weight = _history(
                rng, created=created, now=now, weight=rng.randint(1, 5)
            )
            position = 0
            if status in positions:
                positions[status] += 1
                position = positions[status]
            task_id = i + 1
            task_rows.append(
                {
                    "id": task_id,
                    "plan_id": plan.id,
                    "code": f"T-{task_id:05d}",
                    "title": f"Pekerjaan nomor {task_id}",
                    "lead_unit_id": units[i % 30].id,
                    "district_id": units[30 + i % 21].id,
                    "status": status,
                    "position": position,
                    "weight": weight,
                    "version": EVENTS_PER_TASK,
                    "created_at": created,
                    "updated_at": history[-1]["at"],
                    "done_at": history[-1]["at"] if status == TaskStatus.done else None,
                }
            )
            for row in history:
                row.update(plan_id=plan.id, task_id=task_id, actor_id=team.id, note="")
            event_rows.extend(history)
        # Core inserts of the tables (one executemany each), not the ORM's bulk path.
        session.execute(insert(Task.__table__), task_rows)
        session.execute(
            insert(TaskProgram.__table__),
            [
                {"task_id": t["id"], "program_id": programs[index].id}
                for t in task_rows
                for index in {t["id"] % 24, (t["id"] * 7 + 3) % 24}
            ],
        )
        session.execute(
            insert(TaskSupportingUnit.__table__),
            [
                {"task_id": t["id"], "unit_id": units[(t["id"] + 1) % 30].id}
                for t in task_rows
                if t["id"] % 3 == 0
            ],
        )
        session.execute(insert(TaskEvent.__table__), event_rows)
        session.commit()
        return {
            "plan": plan,
            "team": team.username,
            "head": head.username,
            "unit_id": units[0].id,
            "program_id": programs[0].id,
            "events": len(event_rows),
            "status_events": sum(1 for e in event_rows if e["to_status"] is not None),
        }


def report_progress(engine: Engine, *, plan_id: int, team: str) -> None:
    """A progress report on one open task through the service, as the task page sends it."""
    with open_session(engine) as session:
        actor = session.exec(select(User).where(User.username == team)).one()
        task = session.exec(
            select(Task)
            .where(Task.plan_id == plan_id, Task.status == TaskStatus.in_progress)
            .order_by(col(Task.id))
            .limit(1)
        ).one()
        data = ProgressUpdate(version=task.version, progress_pct=(task.progress_pct + 7) % 101)
        tasks.update_progress(session, actor=actor, task_id=task.pk, data=data)


def timed_call(
    counter: StatementCounter, repeat: int, call: Callable[[], Any]
) -> tuple[list[float], list[int], Any]:
    """Times a direct service call (after one unmeasured warm-up)."""
    call()
    times: list[float] = []
    statements: list[int] = []
    last: Any = None
    for _ in range(repeat):
        with counter.measure() as box:
            start = time.perf_counter()
            last = call()
            times.append((time.perf_counter() - start) * 1000)
        statements.append(box[0])
    return times, statements, last


def report_call(label: str, times: list[float], statements: list[int], extra: str = "") -> None:
    low, high = min(statements), max(statements)
    spread = f"{low}" if low == high else f"{low}–{high}"
    print(
        f"  {label:<22} p50 {statistics.median(times):6.1f} ms"
        f"   p95 {percentile(times, 95):6.1f} ms   SQL/call {spread}{extra}"
    )


def run(n_tasks: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        started = time.perf_counter()
        info = build_plan(engine, n_tasks)
        print(
            f"\nN = {n_tasks} tasks, {info['events']} events ({info['status_events']} change a "
            f"status; built in {time.perf_counter() - started:.1f} s)"
        )
        counter = StatementCounter(engine)
        plan = info["plan"]
        cases: list[tuple[str, TaskFilter, Any]] = [
            ("series count", TaskFilter(), "count"),
            ("series weight", TaskFilter(), "weight"),
            ("series count, 1 unit", TaskFilter(unit_id=info["unit_id"]), "count"),
            ("series weight, 1 kind", TaskFilter(program_kind=ProgramKind.movement), "weight"),
        ]
        for label, filters, measure in cases:
            with open_session(engine) as session:

                def series(filters: TaskFilter = filters, measure: Any = measure) -> Any:
                    return burndown_series(session, plan=plan, filters=filters, measure=measure)

                times, stmts, result = timed_call(counter, repeat, series)
            point = result.today_point
            report_call(
                label,
                times,
                stmts,
                f"   today: scope {point.scope:.0f}, remaining {point.remaining:.0f}; "
                f"{result.forecast.label}",
            )

        app = create_app(Settings(database_url=url, require_migrated=False), engine)
        timer = ServerTimer(app)
        with TestClient(timer) as client:
            token = client.post(
                "/api/v1/auth/token", data={"username": info["head"], "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for label, path in (
                ("API count", "/api/v1/burndown"),
                ("API weight", "/api/v1/burndown?measure=weight"),
            ):
                client.get(path, headers=headers)  # warm-up

                def api(path: str = path) -> Any:
                    return client.get(path, headers=headers)

                timings, response = timed(counter, timer, repeat, api)
                assert response.status_code == 200, response.text[:300]
                report(label, timings, f"   JSON {len(response.content) / 1024:.0f} KB")

            login(client, info["team"])
            client.get("/burndown.csv")  # warm-up
            timings, response = timed(counter, timer, repeat, lambda: client.get("/burndown.csv"))
            assert response.status_code == 200, response.text[:300]
            report("CSV", timings)
            if client.get("/dashboard").status_code == 404:
                print("  dashboard              (GET /dashboard answers 404: skipped)")
            else:
                # Cold: nothing kept (a new process, or the first view of a day); after a
                # change: one progress report since the last view, so the page is built
                # again and the kept Kurva S replays one event; repeated: the same plan
                # state again (app.routes.dashboard.body_cache and app.services.curve keep
                # them). Cold forgets the rows kept by content too (app.dashboard_html).
                def forget() -> None:
                    body_cache.clear()
                    fragment_cache.clear()
                    curve.forget_live_curves()
                    chart.forget_kept_curve_charts()
                    task_facts.forget_kept_facts()
                    dashboard_service.forget_kept_reference()

                def change() -> None:
                    report_progress(engine, plan_id=plan.pk, team=info["team"])

                def checkpoint() -> None:
                    # What `seratus worker` does every round once its checkpoint is old.
                    with open_session(engine, write=True) as session:
                        curve.write_checkpoints(session, plan=plan, now=datetime.now(UTC))
                        session.commit()

                def change_then_forget() -> None:
                    change()
                    forget()

                def measure(label: str, prepare: Callable[[], None] | None) -> None:
                    timings, response = timed(
                        counter, timer, repeat, lambda: client.get("/dashboard"), prepare
                    )
                    assert response.status_code == 200, response.text[:300]
                    report(label, timings, f"   HTML {len(response.content) / 1024:.0f} KB")

                measure("dashboard, cold", forget)
                measure("dashboard, after a change", change)
                measure("dashboard, repeated", None)
                # A process started after the worker's last checkpoint: it replays the events
                # since (here one more before each view) on top of the stored replay.
                checkpoint()
                measure("dashboard, cold, checkpoint", change_then_forget)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 25000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print("Seratus burndown benchmark (SQLite, one process, in-process ASGI client)")
    for n in args.sizes:
        run(n, args.repeat)


if __name__ == "__main__":
    main()
