"""Many clients at once on two worker processes, on each database: no 5xx, no lost update.

8 API clients (team and unit users) move, edit and report on the same six tasks through
`seratus serve --workers 2`. Every answer is 2xx, 403, 404 or 409; every acknowledged change
is in the database as its own event with the version it was answered with; versions run
without gaps; each column's positions are 1..n; the history replays to every task's status.
"""

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from app.models import TaskStatus
from bench.live import LiveServer
from tests import factories
from tests.system.stress import Client, Tally, check_outcome, run_clients, versions_before
from tests.system.web import token_headers

CLIENTS = 8
OPERATIONS = 40


def make_shared_tasks(engine: Engine, world: factories.World) -> list[int]:
    """Six tasks, three per unit, spread over the columns."""
    with Session(engine, expire_on_commit=False) as session:
        spread = [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.review]
        return [
            factories.make_task(
                session,
                actor=world.team,
                plan=world.plan,
                lead=lead,
                title=f"Tugas bersama {i}",
                status=spread[i % 3],
            ).pk
            for i, lead in enumerate([world.putr, world.dinkes] * 3)
        ]


def test_concurrent_moves_and_edits_lose_nothing(
    database_url: str, db_engine: Engine, live_world: factories.World, tmp_path: Path
) -> None:
    task_ids = make_shared_tasks(db_engine, live_world)
    before = versions_before(db_engine, task_ids)
    tally = Tally()
    with LiveServer(database_url, log_path=tmp_path / "server.log", workers=2) as server:
        # The master and both workers run with the server's malloc settings
        # (app.cli.SERVER_ENVIRONMENT, set by exec_prefork_server).
        processes = server.pids()
        assert len(processes) >= 3
        for pid in processes:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            assert b"MALLOC_ARENA_MAX=2" in environ, pid
            assert b"MALLOC_MMAP_THRESHOLD_=131072" in environ, pid
        users = ["tim.transisi"] * 4 + ["kadis.putr", "kadis.putr", "kadis.dinkes", "bupati"]
        clients = [
            Client(
                name=f"c{i}",
                base_url=server.url,
                headers=token_headers(server.url, username),
                task_ids=task_ids,
                tally=tally,
                seed=i,
            )
            for i, username in enumerate(users[:CLIENTS])
        ]
        run_clients(clients, OPERATIONS)
        log = server.log_text()
    assert not tally.unexpected, tally.unexpected[:5]
    assert "Traceback" not in log, log[-3000:]
    # The run really raced (stale versions) and really refused (unit and executive users).
    statuses = dict(tally.statuses)
    assert statuses.get(409, 0) > 0, statuses
    assert statuses.get(403, 0) > 0, statuses
    assert {a.kind for a in tally.acks} == {"move", "edit", "progress"}, statuses
    check_outcome(db_engine, plan_id=live_world.plan.pk, before=before, acks=tally.acks)
