"""Concurrent API clients for the system tests: each thread moves, edits and reports on a
small set of shared tasks, tags every change with a unique marker, and records what the
server answered. `check_outcome` then proves from the database that nothing was lost."""

import random
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models import BOARD_STATUSES, EventKind, Task, TaskEvent, TaskStatus
from app.services import positions as positions_service
from tests.test_event_replay import assert_history_replays

ALLOWED = frozenset({200, 201, 403, 404, 409})
OPEN = frozenset(s for s in BOARD_STATUSES if s != TaskStatus.done)


@dataclass(frozen=True)
class Ack:
    """A change the server acknowledged (2xx): the task's version afterwards, and its marker."""

    task_id: int
    version: int
    marker: str
    kind: str


@dataclass
class Tally:
    acks: list[Ack] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, *, status: int, ack: Ack | None = None, problem: str = "") -> None:
        with self.lock:
            self.statuses[status] += 1
            if ack is not None:
                self.acks.append(ack)
            if problem:
                self.unexpected.append(problem)


@dataclass
class Known:
    version: int
    status: TaskStatus


class Client:
    """One API user working on `task_ids` with a seeded random sequence of operations."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        headers: dict[str, str],
        task_ids: list[int],
        tally: Tally,
        seed: int,
    ) -> None:
        self.name = name
        self.http = httpx.Client(base_url=f"{base_url}/api/v1", headers=headers, timeout=60)
        self.task_ids = task_ids
        self.tally = tally
        self.rng = random.Random(seed)
        self.known: dict[int, Known] = {}
        self.count = 0

    def _remember(self, body: dict[str, Any] | None) -> None:
        if body and "id" in body:
            self.known[body["id"]] = Known(body["version"], TaskStatus(body["status"]))

    def refresh(self) -> None:
        try:
            response = self.http.get("/tasks", params={"limit": 500})
        except httpx.HTTPError as exc:
            self.tally.add(status=0, problem=f"list: {exc!r}")
            return
        self.tally.add(status=response.status_code)
        if response.status_code == 200:
            for task in response.json()["items"]:
                self._remember(task)

    def _marker(self) -> str:
        self.count += 1
        return f"{self.name}-{self.count}"

    def step(self) -> None:
        task_id = self.rng.choice(self.task_ids)
        if task_id not in self.known:
            self.refresh()
            if task_id not in self.known:
                return
        known = self.known[task_id]
        roll = self.rng.random()
        marker = self._marker()
        if roll < 0.1:
            self.refresh()
            return
        if roll < 0.6:
            targets = sorted(set(BOARD_STATUSES) - {known.status}, key=lambda s: s.value)
            status = self.rng.choice(targets)
            others = [t for t in self.task_ids if t != task_id]
            after = self.rng.choice([None, *others])
            kind, method, path = "move", "POST", f"/tasks/{task_id}/move"
            body: dict[str, Any] = {
                "version": known.version,
                "status": status.value,
                "after_id": after,
                "blocked_reason": f"Kendala {marker}" if status == TaskStatus.blocked else "",
                "note": marker,
            }
        elif roll < 0.8 or known.status not in OPEN:
            kind, method, path = "edit", "PATCH", f"/tasks/{task_id}"
            body = {"version": known.version, "title": f"Tugas {marker}"}
        else:
            kind, method, path = "progress", "POST", f"/tasks/{task_id}/progress"
            body = {
                "version": known.version,
                "progress_pct": self.rng.randrange(101),
                "realisation": f"{self.rng.randrange(50)} KK",
                "note": marker,
            }
        try:
            response = self.http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.tally.add(status=0, problem=f"{kind} {task_id}: {exc!r}")
            return
        answer = response.json() if response.content else {}
        if response.status_code not in ALLOWED:
            self.tally.add(
                status=response.status_code,
                problem=f"{kind} {task_id} -> {response.status_code}: {response.text[:300]}",
            )
            return
        ack = None
        if response.is_success:
            tag = body["title"] if kind == "edit" else marker
            ack = Ack(task_id=task_id, version=answer["version"], marker=tag, kind=kind)
            self._remember(answer)
        elif response.status_code == 409:
            self._remember(answer.get("current"))
        self.tally.add(status=response.status_code, ack=ack)

    def run_until(self, stop: threading.Event) -> None:
        """Work until `stop` is set (the crash test kills the server meanwhile)."""
        try:
            while not stop.is_set():
                self.step()
        except Exception as exc:
            self.tally.add(status=-1, problem=f"{self.name}: {exc!r}")
        finally:
            self.http.close()

    def run(self, operations: int, start: threading.Barrier) -> None:
        try:
            start.wait()
            for _ in range(operations):
                self.step()
        except Exception as exc:  # a crash of the client itself must fail the test, not hang it
            self.tally.add(status=-1, problem=f"{self.name}: {exc!r}")
        finally:
            self.http.close()


def run_clients(clients: list[Client], operations: int) -> None:
    start = threading.Barrier(len(clients))
    threads = [
        threading.Thread(target=c.run, args=(operations, start), name=c.name) for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)
        assert not thread.is_alive(), f"{thread.name} did not finish"


def versions_before(engine: Engine, task_ids: list[int]) -> dict[int, int]:
    with Session(engine) as session:
        rows = session.exec(select(Task.id, Task.version).where(col(Task.id).in_(task_ids))).all()
    return {tid: version for tid, version in rows if tid is not None}


def check_outcome(
    engine: Engine,
    *,
    plan_id: int,
    before: dict[int, int],
    acks: list[Ack],
    all_answered: bool = True,
) -> None:
    """Every acknowledged change is in the database as its own event with the version it was
    answered with, each column is numbered 1..n, and the history replays to every task's
    state. With `all_answered` (no request was cut off) the acknowledged versions also run
    without gaps up to each task's version; after a crash, changes committed whose answer never
    arrived may fill the gaps."""
    with Session(engine) as session:
        tasks = {t.id: t for t in session.exec(select(Task).where(Task.plan_id == plan_id))}
        events: dict[int, list[TaskEvent]] = defaultdict(list)
        for event in session.exec(
            select(TaskEvent).where(TaskEvent.plan_id == plan_id).order_by(col(TaskEvent.id))
        ):
            events[event.task_id].append(event)

    by_task: dict[int, list[Ack]] = defaultdict(list)
    for ack in acks:
        by_task[ack.task_id].append(ack)
    for task_id, start_version in before.items():
        task = tasks[task_id]
        acked = sorted(a.version for a in by_task[task_id])
        # No two writers got the same version, none is missing, and the last one is the task's.
        expected = list(range(start_version + 1, task.version + 1))
        if all_answered:
            assert acked == expected, (task.code, acked)
        else:
            assert len(set(acked)) == len(acked), (task.code, acked)
            assert set(acked) <= set(expected), (task.code, acked, task.version)
        changes = [e for e in events[task_id] if e.kind != EventKind.created]
        assert len(changes) == task.version - 1, task.code
        for ack in by_task[task_id]:
            event = changes[ack.version - 2]
            title = (event.changes.get("title") or [None, None])[1]
            assert ack.marker in (event.note, title), (
                task.code,
                ack,
                event.kind,
                event.note,
            )

    # Stored positions are sparse (app.services.positions): within a column they must be
    # distinct, so the order is exact, and readers must see each column as 1..n.
    positions: dict[TaskStatus, list[int]] = defaultdict(list)
    for task in tasks.values():
        if task.status in BOARD_STATUSES:
            positions[TaskStatus(task.status)].append(task.position)
    for status, found in positions.items():
        assert len(set(found)) == len(found), (status, sorted(found))
    with Session(engine) as session:
        on_board = list(
            session.exec(
                select(Task).where(Task.plan_id == plan_id, col(Task.status).in_(BOARD_STATUSES))
            )
        )
        seen = positions_service.ranks(session, on_board)
    status_of = {task.id: TaskStatus(task.status) for task in on_board}
    ranks: dict[TaskStatus, list[int]] = defaultdict(list)
    for task_id, rank in seen.items():
        ranks[status_of[task_id]].append(rank)
    for status, found in ranks.items():
        assert sorted(found) == list(range(1, len(found) + 1)), (status, sorted(found))

    assert_history_replays(engine, plan_id)
