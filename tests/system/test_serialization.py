"""Real serialization failures are retried: concurrent moves in REPEATABLE READ transactions.

Under PostgreSQL's REPEATABLE READ (a server or role may default to it) a writer whose
snapshot predates a concurrent commit fails with a serialization failure when it renumbers the
column; the services run it again from a fresh transaction. Every call ends as a move or a
domain answer (a stale version), never a database error, and nothing is lost. On SQLite the
writers queue (BEGIN IMMEDIATE) and the same run needs no retry.
"""

import logging
import random
import threading

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.db import open_session
from app.errors import DomainError
from app.models import BOARD_STATUSES, TaskMove, TaskStatus
from app.services import task_reads, tasks
from tests import factories
from tests.system.stress import Ack, check_outcome, versions_before

THREADS = 6
MOVES = 12


def test_moves_that_lose_a_serialization_race_are_run_again(
    backend: str,
    db_engine: Engine,
    live_world: factories.World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Session(db_engine, expire_on_commit=False) as session:
        task_ids = [
            factories.make_task(
                session, actor=live_world.team, plan=live_world.plan, lead=live_world.putr
            ).pk
            for _ in range(THREADS)
        ]
    before = versions_before(db_engine, task_ids)
    engine = (
        db_engine.execution_options(isolation_level="REPEATABLE READ")
        if backend == "postgresql"
        else db_engine
    )
    acks: list[Ack] = []
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def mover(index: int) -> None:
        rng = random.Random(index)
        task_id = task_ids[index]  # each its own task: the races are over the shared columns
        try:
            start.wait()
            for step in range(MOVES):
                with open_session(engine, write=True) as session:
                    task = task_reads.get_task(session, task_id=task_id)
                    target = rng.choice([s for s in BOARD_STATUSES if s != task.status])
                    marker = f"m{index}-{step}"
                    try:
                        moved = tasks.move_task(
                            session,
                            actor=session.merge(live_world.team, load=True),
                            task_id=task_id,
                            move=TaskMove(
                                version=task.version,
                                status=target,
                                blocked_reason="Kendala" if target == TaskStatus.blocked else "",
                                note=marker,
                            ),
                        )
                    except DomainError:
                        continue
                    acks.append(Ack(task_id, moved.version, marker, "move"))
        except BaseException as exc:
            failures.append(exc)

    with caplog.at_level(logging.INFO, logger="seratus.db"):
        threads = [threading.Thread(target=mover, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    assert not failures, failures[:3]
    retried = [r for r in caplog.records if "retried after a concurrent write" in r.message]
    if backend == "postgresql":
        assert retried, "no serialization failure happened: the test raced nothing"
    else:
        assert not retried
    check_outcome(db_engine, plan_id=live_world.plan.pk, before=before, acks=acks)
