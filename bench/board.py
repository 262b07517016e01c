"""Board benchmark: render the board, show every card, poll, move a card (UI and API).

Builds a fresh SQLite plan with N tasks (default 1,000 and 5,000) and a realistic event
history, then prints p50/p95 server time per request (from the request reaching the ASGI app
to its last body byte; the in-process client's own overhead is shown apart as the round trip),
bytes on the wire (gzip, as a browser asks) and SQL statements per request. In the same run it
times a bare route of the same app stack rendering a small Jinja page (~1.2 KB) and prints
every figure also as a ratio to it, so runs on a busy shared machine stay comparable. Not a
test: it prints figures and asserts nothing about time.

    python bench/board.py                 # N = 1000 and 5000
    python bench/board.py --sizes 200 --repeat 10
"""

import argparse
import html
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert
from sqlmodel import Session, SQLModel, select

from app.config import Settings
from app.db import make_engine, open_session
from app.main import create_app
from app.models import (
    BOARD_STATUSES,
    Plan,
    Program,
    ProgramKind,
    Role,
    Task,
    TaskEvent,
    TaskProgram,
    TaskStatus,
    Unit,
    UnitKind,
)
from app.services import accounts
from app.templating import env as templating_env

PASSWORD = "bench-password-123"


class StatementCounter:
    """Counts SQL statements sent to the database (executemany counts once). Transaction
    control (BEGIN) is not a query; it is counted apart and shown as "+N BEGIN"."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.begins = 0
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("BEGIN"):
            self.begins += 1
        else:
            self.count += 1

    @contextmanager
    def measure(self) -> Iterator[list[int]]:
        """Yields a list that receives [queries, BEGINs] of the block."""
        box: list[int] = []
        start, begins = self.count, self.begins
        yield box
        box += [self.count - start, self.begins - begins]


def build_plan(engine: Engine, n_tasks: int, seed: int = 7) -> dict[str, Any]:
    """A current plan with `n_tasks` tasks spread over columns and ~5 events per task."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with open_session(engine) as session:
        plan = Plan(
            name="Bench plan",
            start_date=(now - timedelta(days=44)).date(),
            is_current=True,
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
        programs = [
            Program(code=f"P{i}", kind=ProgramKind.priority, short_name=f"Prog {i}", name="P")
            for i in range(24)
        ]
        session.add(plan)
        session.add_all(units)
        session.add_all(programs)
        session.commit()
        team = accounts.create_user(
            session,
            actor=None,
            username="tim",
            full_name="Tim",
            role=Role.team,
            password=PASSWORD,
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
        weights = [0.25, 0.3, 0.1, 0.1, 0.25]
        positions = dict.fromkeys(BOARD_STATUSES, 0)
        task_rows: list[dict[str, Any]] = []
        for i in range(n_tasks):
            status = rng.choices(BOARD_STATUSES, weights)[0]
            positions[status] += 1
            lead = units[0] if i % 10 == 0 else rng.choice(units)
            task_rows.append(
                {
                    "id": i + 1,
                    "plan_id": plan.id,
                    "code": f"T-{i + 1:04d}",
                    "title": f"Pekerjaan nomor {i + 1} untuk jalan dan jembatan desa",
                    "description": "Uraian pekerjaan " * 5,
                    "lead_unit_id": lead.id,
                    "district_id": units[30 + i % 21].id,
                    "village": "Desa Lebung",
                    "status": status,
                    "position": positions[status],
                    "weight": rng.randint(1, 5),
                    "due_date": plan.start_date + timedelta(days=rng.randint(10, 99)),
                    "target": "250 KK",
                    "realisation": "",
                    "progress_pct": 100 if status == TaskStatus.done else rng.randint(0, 90),
                    "blocked_reason": "Menunggu lahan" if status == TaskStatus.blocked else "",
                    "needs_decision": i % 17 == 0,
                    "version": 5,
                    "created_at": now - timedelta(days=44),
                    "updated_at": now - timedelta(days=1),
                    "done_at": now if status == TaskStatus.done else None,
                }
            )
        session.execute(insert(Task), task_rows)
        session.execute(
            insert(TaskProgram),
            [
                {"task_id": t["id"], "program_id": programs[index].id}
                for t in task_rows
                for index in {t["id"] % 24, (t["id"] * 7 + 3) % 24}
            ],
        )
        events: list[dict[str, Any]] = []
        for t in task_rows:
            for k in range(5):
                events.append(
                    {
                        "plan_id": plan.id,
                        "task_id": t["id"],
                        "actor_id": team.id,
                        "at": now - timedelta(days=44 - k * 8),
                        "kind": "created" if k == 0 else "progress",
                        "from_status": None,
                        "to_status": "todo" if k == 0 else None,
                        "changes": {},
                        "note": "",
                    }
                )
        session.execute(insert(TaskEvent), events)
        session.commit()
        movable = session.exec(
            select(Task.id).where(Task.lead_unit_id == units[0].id).limit(1)
        ).one()
        return {"team": team.username, "head": head.username, "task_id": movable}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/board").text)
    assert found is not None
    return found.group(1)


class ServerTimer:
    """ASGI wrapper: milliseconds from the request reaching the app to its last body byte,
    as wall time and as the CPU time the process used meanwhile (the client waits then, so
    that is the server's work, and it stays comparable on a machine busy with other work)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_ms = 0.0
        self.last_cpu_ms = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        cpu_start = time.process_time()

        async def timed_send(message: Any) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.last_ms = (time.perf_counter() - start) * 1000
                self.last_cpu_ms = (time.process_time() - cpu_start) * 1000

        await self.app(scope, receive, timed_send)


@dataclass
class Timings:
    server: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)
    statements: list[tuple[int, int]] = field(default_factory=list)


def timed(
    counter: StatementCounter,
    timer: ServerTimer,
    repeat: int,
    call: Callable[[], Any],
    prepare: Callable[[], Any] | None = None,
) -> tuple[Timings, Any]:
    """`call` `repeat` times; `prepare`, if given, runs before each call, unmeasured."""
    timings = Timings()
    last: Any = None
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        with counter.measure() as box:
            start = time.perf_counter()
            last = call()
            timings.round_trip.append((time.perf_counter() - start) * 1000)
        timings.server.append(timer.last_ms)
        timings.cpu.append(timer.last_cpu_ms)
        timings.statements.append((box[0], box[1]))
    return timings, last


def report(label: str, timings: Timings, extra: str = "", *, bare: "Timings | None" = None) -> None:
    queries = sorted({q for q, _ in timings.statements})
    begins = max(b for _, b in timings.statements)
    spread = f"{queries[0]}" if len(queries) == 1 else f"{queries[0]}–{queries[-1]}"
    server = timings.server
    median = statistics.median(server)
    cpu = statistics.median(timings.cpu)
    if bare:
        ratio = (
            f" ({median / statistics.median(bare.server):5.1f}× bare; CPU {cpu:6.1f} ms = "
            f"{cpu / max(statistics.median(bare.cpu), 0.001):5.1f}× bare)"
        )
    else:
        ratio = f" (CPU {cpu:6.1f} ms)"
    print(
        f"  {label:<24} server p50 {median:6.1f} ms{ratio}  p95 {percentile(server, 95):6.1f} ms"
        f"   SQL/request {spread} (+{begins} BEGIN){extra}"
    )


# The bare route: the same app and middleware, no database, a small Jinja page (~1.2 KB).
BARE_TEMPLATE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>{{ title }}</h1><ul>
{% for item in items %}<li class="item"><a href="/tasks/{{ item.id }}">{{ item.name }}</a>
 <span class="muted">{{ item.note }}</span></li>
{% endfor %}</ul></main></body></html>
"""
BARE_ITEMS = [
    {"id": i, "name": f"Tugas nomor {i}", "note": "Sedang berjalan <dicek>"} for i in range(14)
]


def add_bare_route(app: Any) -> None:
    template = templating_env.from_string(BARE_TEMPLATE)

    def bare() -> HTMLResponse:
        return HTMLResponse(template.render(title="Halaman uji", items=BARE_ITEMS))

    app.add_api_route("/bench/bare", bare, methods=["GET"], include_in_schema=False)


_MORE = re.compile(r'<a [^>]*class="more[^"]*"[^>]*>')
_HREF = re.compile(r'href="([^"]+)"')
_CARD = re.compile(r'<article class="card.*?</article>', re.S)


def more_links(text: str) -> list[str]:
    links = []
    for tag in _MORE.findall(text):
        found = _HREF.search(tag)
        if found:
            links.append(html.unescape(found.group(1)))
    return links


def wire_bytes(client: TestClient, url: str, headers: dict[str, str]) -> int:
    """Bytes of the body as sent (gzip when the app compresses; httpx asks for it)."""
    with client.stream("GET", url, headers=headers) as response:
        return sum(len(part) for part in response.iter_raw())


def run(n_tasks: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        started = time.perf_counter()
        info = build_plan(engine, n_tasks)
        print(
            f"\nN = {n_tasks} tasks, {n_tasks * 5} events "
            f"(built in {time.perf_counter() - started:.1f} s; load average "
            f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
        )
        app = create_app(Settings(database_url=url, require_migrated=False), engine)
        add_bare_route(app)
        counter = StatementCounter(engine)
        timer = ServerTimer(app)
        figures: dict[str, float] = {}
        htmx = {"HX-Request": "true"}
        with TestClient(timer) as client:
            login(client, info["team"])
            client.get("/bench/bare")
            bare_timings, response = timed(
                counter, timer, repeat, lambda: client.get("/bench/bare")
            )
            bare_ms = statistics.median(bare_timings.server)
            figures["bare"] = bare_ms
            report("bare route (1.2 KB)", bare_timings, f"   {len(response.content)} B")

            # The first board after start renders every card (nothing cached yet).
            with counter.measure():
                client.get("/board")
            cold_ms = timer.last_ms
            timings, response = timed(counter, timer, repeat, lambda: client.get("/board"))
            assert response.status_code == 200
            page = response.text
            cards = _CARD.findall(page)
            card_bytes = sum(len(c.encode()) for c in cards) / max(1, len(cards))
            gz = wire_bytes(client, "/board", {})
            figures["board"] = statistics.median(timings.server)
            figures["board_kb_wire"] = gz / 1024
            report(
                "board first paint",
                timings,
                f"   HTML {len(response.content) / 1024:.0f} KB, on the wire {gz / 1024:.1f} KB;"
                f" {len(cards)} cards, {card_bytes:.0f} B each; first after start {cold_ms:.1f} ms",
                bare=bare_timings,
            )

            def every_card() -> Any:
                """The page, then every lazy column page until no "more" link is left."""
                total = cpu = 0.0
                requests = 0
                shown = 0
                pending = [client.get("/board")]
                total += timer.last_ms
                cpu += timer.last_cpu_ms
                requests += 1
                while pending:
                    text = pending.pop().text
                    shown += len(_CARD.findall(text))
                    for link in more_links(text):
                        pending.append(client.get(link, headers=htmx))
                        total += timer.last_ms
                        cpu += timer.last_cpu_ms
                        requests += 1
                return total, cpu, requests, shown

            totals: list[float] = []
            cpus: list[float] = []
            for _ in range(max(3, repeat // 5)):
                total, cpu, requests, shown = every_card()
                totals.append(total)
                cpus.append(cpu)
            every_ms = statistics.median(totals)
            every_cpu = statistics.median(cpus)
            bare_cpu = max(statistics.median(bare_timings.cpu), 0.001)
            figures["every_card"] = every_ms
            print(
                f"  {'every card visible':<24} server sum p50 {every_ms:6.1f} ms "
                f"({every_ms / bare_ms:5.1f}× bare; CPU {every_cpu:6.1f} ms = "
                f"{every_cpu / bare_cpu:5.1f}× bare)   {requests} requests, {shown} cards shown"
            )

            column_url = "/board/column/todo?offset=0&limit=100"
            timings, response = timed(
                counter, timer, repeat, lambda: client.get(column_url, headers=htmx)
            )
            shown = len(_CARD.findall(response.text))
            figures["column_page"] = statistics.median(timings.server)
            report(f"column page ({shown} cards)", timings, bare=bare_timings)

            timings, response = timed(
                counter, timer, repeat, lambda: client.get("/board/columns", headers=htmx)
            )
            etag = response.headers.get("etag", "")
            report("board refresh (200)", timings, bare=bare_timings)
            timings, response = timed(
                counter,
                timer,
                repeat,
                lambda: client.get("/board/columns", headers={**htmx, "If-None-Match": etag}),
            )
            figures["poll_304"] = statistics.median(timings.server)
            report(f"board refresh ({response.status_code})", timings, bare=bare_timings)

            csrf = login(client, info["head"])
            task_id = info["task_id"]
            with Session(engine) as session:
                moving = session.get(Task, task_id)
                assert moving is not None
                version, current = moving.version, TaskStatus(moving.status)
            # Every move changes the column (a move into the same column is only a reorder).
            # Into Menunggu Verifikasi the head writes the note that stands in for evidence.
            cycle = [TaskStatus.todo, TaskStatus.in_progress, TaskStatus.review]
            note = "Bukti dukung diserahkan langsung ke Tim Transisi."
            cycle = [s for s in cycle if s != current] + [current]
            state = {"version": version, "i": 0}

            def ui_move() -> Any:
                status = cycle[state["i"] % 3]
                state["i"] += 1
                response = client.post(
                    f"/board/tasks/{task_id}/move",
                    data={"status": status.value, "version": str(state["version"]), "note": note},
                    headers={**htmx, "X-CSRF-Token": csrf},
                )
                found = re.search(r'data-version="(\d+)"', response.text)
                assert found is not None, response.text[:300]
                state["version"] = int(found.group(1))
                return response

            timings, response = timed(counter, timer, repeat, ui_move)
            assert response.status_code == 200, response.text[:300]
            figures["move_ui"] = statistics.median(timings.server)
            report("move (UI, htmx)", timings, bare=bare_timings)

            token = client.post(
                "/api/v1/auth/token", data={"username": info["head"], "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            def api_move() -> Any:
                status = cycle[state["i"] % 3]
                state["i"] += 1
                response = client.post(
                    f"/api/v1/tasks/{task_id}/move",
                    json={"status": status.value, "version": state["version"], "note": note},
                    headers=headers,
                )
                assert response.status_code == 200, response.text[:300]
                state["version"] = response.json()["version"]
                return response

            timings, response = timed(counter, timer, repeat, api_move)
            assert response.status_code == 200, response.text[:300]
            report("move (API)", timings, bare=bare_timings)
        engine.dispose()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()
    print("Seratus board benchmark (SQLite, one process, in-process ASGI client)")
    results = {n: run(n, args.repeat) for n in args.sizes}
    if 1000 in results and 5000 in results:
        growth = results[5000]["board"] / results[1000]["board"]
        print(f"\nfirst paint at 5,000 tasks = {growth:.2f}× the figure at 1,000")


if __name__ == "__main__":
    main()
