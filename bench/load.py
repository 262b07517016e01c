"""Load benchmark: the real server under concurrent browser-like clients.

For each database (SQLite, and PostgreSQL when a server URL is given) and each number of
worker processes, it creates a throw-away database, migrates it, loads the demo plan
(`seratus demo`, ~150 tasks with history), starts `seratus serve --workers N` and runs C
closed-loop clients (each sends its next request when the previous one is answered, no think
time) for T seconds. Each client is a logged-in user's browser session: by default
(`--viewers mixed`) one in eight is the transition team (whose board shows the whole plan) and
the others are unit users (agency heads, camat), each on their unit's board, as they are in
use; `--viewers team` makes every client a team member. Each does a realistic mix: 80 % reads
— the board page, the board's conditional poll (If-None-Match, a 304 when nothing it shows
changed), the dashboard — and 20 % writes — moving a card it may move (the htmx form, to a
column the card offers) and reporting progress. A stale version answers 409, which is counted
apart from errors.

Clients ask for gzip, as browsers do. `--tasks N` tops the demo plan up to N tasks (e.g. 1000)
with bulk-inserted tasks and history, to load a plan of realistic size.

It prints requests/s, p50/p95/p99 latency per kind of request, errors, the peak resident
memory (VmHWM) of each server process, the peak proportional set size (PSS, sampled) of the
whole server, and the CPU time the server, the load generator and (a local PostgreSQL) the
database used, per run and per request, with the rate the cores would carry at that cost.
The clients run in several processes (`--procs`) of threads on plain http.client to keep the
generator cheap; on a small machine it shares the cores with the server (and `--pin` keeps
it on the last core), so the figures are a floor, not the server's ceiling. It asserts
nothing about time, but exits non-zero when any request failed (a 5xx, no answer).

    python bench/load.py                                  # C=16, T=20 s, 1 and 2 workers
    python bench/load.py --clients 4 --duration 3         # smoke run
    python bench/load.py --tasks 1000 --pin --workers 2   # a plan of 1,000 tasks
    python bench/load.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

import argparse
import gzip
import http.client
import multiprocessing
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa
from sqlmodel import col, select

from app.db import make_engine, open_session
from app.models import Role, Task, TaskEvent, Unit, UnitKind, User
from app.services import plans
from bench.live import BACKENDS, LiveServer, seratus, throwaway_database, web_login

PASSWORD = "banyuasin-100"
USERNAME = "tim.transisi"
# Share of each kind of request: 80 % reads, 20 % writes.
MIX: dict[str, float] = {
    "poll": 0.35,
    "board": 0.25,
    "dashboard": 0.20,
    "move": 0.12,
    "progress": 0.08,
}
KINDS = list(MIX)
# 200 pages and fragments, 304 an unchanged poll, 303 a saved form, 409 a stale version: any
# other answer (or none, counted as 0) is an error.
ANSWERED = frozenset({200, 303, 304, 409})
OPEN = ("todo", "in_progress", "blocked", "review")
# A card, and the columns its viewer may move it into (none: not the viewer's to move).
_CARD = re.compile(
    r'<article[^>]*\sid="task-(\d+)"[^>]*\sdata-version="(\d+)" data-status="(\w+)"([^>]*)>'
)
_TARGETS = re.compile(r'data-targets="([\w ]*)"')


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: list[str] = field(default_factory=list)
    generator_cpu_s: float = 0.0

    def merge(self, other: dict[str, Any]) -> None:
        for kind, values in other["latencies"].items():
            self.latencies[kind].extend(values)
        for kind, counts in other["statuses"].items():
            for status, count in counts.items():
                self.statuses[kind][status] += count
        self.errors.extend(other["errors"])
        self.generator_cpu_s += float(other.get("cpu_s", 0.0))

    @property
    def requests(self) -> int:
        """Requests answered (any status); those with no answer are counted apart."""
        return sum(len(values) for values in self.latencies.values())


def login(base_url: str, username: str) -> tuple[str, str]:
    """A fresh browser session of `username`: (session cookie, CSRF token)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        csrf = web_login(client, username, PASSWORD)
        return client.cookies["seratus_session"], csrf


class BrowserClient:
    """One closed-loop browser session over a keep-alive http.client connection."""

    def __init__(self, port: int, cookie: str, csrf: str, seed: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = f"seratus_session={cookie}"
        self.csrf = csrf
        self.rng = random.Random(seed)
        self.etag = ""
        # id -> (version, status, the columns this viewer may move it into)
        self.cards: dict[int, tuple[int, str, list[str]]] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        sent = {"Cookie": self.cookie, "Accept-Encoding": "gzip", **(headers or {})}
        data = None
        if body is not None:
            data = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=data, headers=sent)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            raise
        if response.getheader("Content-Encoding") == "gzip":
            payload = gzip.decompress(payload)
        if response.status in (200, 304) and method == "GET" and path.startswith("/board"):
            # As board.js does: a 304's tag may name the plan's newer change number.
            self.etag = response.getheader("ETag", self.etag)
        return response.status, payload

    def learn(self, html: bytes) -> None:
        for task_id, version, status, rest in _CARD.findall(html.decode(errors="replace")):
            targets = _TARGETS.search(rest)
            if targets and (movable := targets.group(1).split()):
                self.cards[int(task_id)] = (int(version), status, movable)
            else:
                self.cards.pop(int(task_id), None)

    def one(self, kind: str) -> int:
        if kind == "board":
            status, body = self.request("GET", "/board")
            self.learn(body)
            return status
        if kind == "poll":
            headers = {"HX-Request": "true"}
            if self.etag:
                headers["If-None-Match"] = self.etag
            status, body = self.request("GET", "/board/columns", headers=headers)
            self.learn(body)
            return status
        if kind == "dashboard":
            return self.request("GET", "/dashboard")[0]
        movable = [(tid, v, s, t) for tid, (v, s, t) in self.cards.items() if s in OPEN]
        if not movable:
            status, body = self.request("GET", "/board")
            self.learn(body)
            return status
        task_id, version, current, targets = self.rng.choice(movable)
        if kind == "move":
            target = self.rng.choice([s for s in targets if s in OPEN] or targets)
            form = {
                "csrf_token": self.csrf,
                "status": target,
                "version": str(version),
                "blocked_reason": "Menunggu anggaran" if target == "blocked" else "",
                "note": "Dipindahkan saat uji beban",
            }
            status, body = self.request(
                "POST", f"/board/tasks/{task_id}/move", body=form, headers={"HX-Request": "true"}
            )
            if status == 200:
                self.learn(body)
            elif status == 409:
                self.cards.pop(task_id, None)  # learnt again from the next board read
            return status
        form = {
            "csrf_token": self.csrf,
            "version": str(version),
            "progress_pct": str(self.rng.randrange(101)),
            "realisation": f"{self.rng.randrange(40)} KK",
            "note": "Laporan uji beban",
        }
        status, _ = self.request("POST", f"/tasks/{task_id}/progress", body=form)
        if status == 303:
            self.cards[task_id] = (version + 1, current, targets)
        else:
            self.cards.pop(task_id, None)
        return status


def _client_thread(
    port: int, session: tuple[str, str], seed: int, until: float, out: Result, lock: threading.Lock
) -> None:
    client = BrowserClient(port, *session, seed=seed)
    local = Result()
    kinds = KINDS
    weights = [MIX[k] for k in kinds]
    # Every failure is counted where it happened: a client thread must never die silently
    # (its requests would vanish from the figures with no error shown).
    try:
        try:
            client.one("board")
        except Exception as exc:  # a generator counts; it does not judge
            local.errors.append(f"warm-up: {exc!r}")
        while time.monotonic() < until:
            kind = client.rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                status = client.one(kind)
            except Exception as exc:  # as above
                local.statuses[kind][0] += 1
                local.errors.append(f"{kind}: {exc!r}")
                continue
            local.latencies[kind].append((time.perf_counter() - started) * 1000)
            local.statuses[kind][status] += 1
    finally:
        with lock:
            out.merge(_plain(local))


def _plain(result: Result) -> dict[str, Any]:
    return {
        "latencies": {k: list(v) for k, v in result.latencies.items()},
        "statuses": {k: dict(v) for k, v in result.statuses.items()},
        "errors": list(result.errors[:20]),
    }


def _generator_process(
    port: int,
    sessions: list[tuple[str, str]],
    seed: int,
    start_at: float,
    duration: float,
    queue: "multiprocessing.Queue[dict[str, Any]]",
    pin: int | None = None,
) -> None:
    """One load process: a thread per client, all starting at the same wall-clock instant."""
    if pin is not None:
        os.sched_setaffinity(0, {pin})
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    until = time.monotonic() + duration
    out = Result()
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_client_thread, args=(port, session, seed * 1000 + i, until, out, lock)
        )
        for i, session in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = _plain(out)
    usage = os.times()
    result["cpu_s"] = usage.user + usage.system
    queue.put(result)


def log_in(server: LiveServer, *, users: list[str], clients: int) -> list[tuple[str, str]]:
    """One browser session per client, logged in one after the other."""
    return [login(server.url, users[i % len(users)]) for i in range(clients)]


def run_load(
    server: LiveServer,
    *,
    sessions: list[tuple[str, str]],
    clients: int,
    duration: float,
    procs: int,
    pin: bool = False,
) -> Result:
    last_core = max(os.sched_getaffinity(0))
    procs = max(1, min(procs, clients))
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[dict[str, Any]] = context.Queue()
    start_at = time.time() + 2.0  # time for the spawned processes to import
    workers = [
        context.Process(
            target=_generator_process,
            args=(
                server.port,
                sessions[i::procs],
                i,
                start_at,
                duration,
                queue,
                last_core if pin else None,
            ),
        )
        for i in range(procs)
    ]
    for worker in workers:
        worker.start()
    result = Result()
    for _ in workers:
        result.merge(queue.get(timeout=duration + 300))
    for worker in workers:
        worker.join()
    return result


def _percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(title: str, result: Result, duration: float, peaks: dict[str, float]) -> int:
    """Print the table; returns the number of errors (answers other than 200/303/304/409)."""
    print(f"\n== {title}")
    print(
        f"{'kind':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'409':>5} {'errors':>6}  statuses"
    )
    every: list[float] = []
    total_errors = 0
    for kind in [*KINDS, "all"]:
        if kind == "all":
            values = every
            statuses: dict[int, int] = defaultdict(int)
            for counts in result.statuses.values():
                for status, count in counts.items():
                    statuses[status] += count
        else:
            values = result.latencies.get(kind, [])
            statuses = result.statuses.get(kind, {})
            every.extend(values)
        conflicts = statuses.get(409, 0)
        errors = sum(c for s, c in statuses.items() if s not in ANSWERED)
        if kind != "all":
            total_errors += errors
        if not values:
            print(f"{kind:<10} {0:>8}")
            continue
        shown = " ".join(f"{s}:{c}" for s, c in sorted(statuses.items()))
        print(
            f"{kind:<10} {len(values):>8} {len(values) / duration:>7.1f} "
            f"{_percentile(values, 50):>7.1f} {_percentile(values, 95):>7.1f} "
            f"{_percentile(values, 99):>7.1f} {conflicts:>5} {errors:>6}  {shown}"
        )
    if peaks:
        print("peak RSS: " + ", ".join(f"{name}: {mib:.0f} MiB" for name, mib in peaks.items()))
    if result.errors:
        print(f"errors ({total_errors}), first: {result.errors[:3]}")
    return total_errors


def bench_one(
    backend: str,
    workers: int,
    *,
    args: argparse.Namespace,
    folder: Path,
) -> int:
    tag = f"{backend}-{workers}w"
    with throwaway_database(
        backend, folder=folder / tag, server_url=args.pg_url, tag="load"
    ) as url:
        seratus(url, "migrate")
        seratus(url, "demo", "--password", PASSWORD)
        total = top_up(url, args.tasks) if args.tasks else None
        analyse(url)
        server = LiveServer(url, log_path=folder / f"{tag}.log", workers=workers)
        with server:
            sampler = PssSampler(server)
            load_before = os.getloadavg()[0]
            with sampler:
                sampler.phase = "logins"
                users = client_users(url, args.viewers, args.clients)
                sessions = log_in(server, users=users, clients=args.clients)
                sampler.phase = "load"
                cpu_before = server_cpu_s(server)  # the load's, not the logins' hashes
                db_cpu_before = database_cpu_s()
                result = run_load(
                    server,
                    sessions=sessions,
                    clients=args.clients,
                    duration=args.duration,
                    procs=args.procs,
                    pin=args.pin,
                )
            server_cpu = server_cpu_s(server) - cpu_before
            db_cpu = database_cpu_s() - db_cpu_before
            peaks = server.peak_rss_mib()
        title = (
            f"{backend}, {workers} worker{'s' if workers > 1 else ''}, {args.clients} clients, "
            f"{args.duration:g} s (load from {min(args.procs, args.clients)} processes"
            f"{', pinned to one core' if args.pin else ''}); "
            f"plan of {total or 'the demo'} tasks; viewers: {args.viewers}; "
            f"load average {load_before:.2f} before"
        )
        errors = report(title, result, args.duration, peaks)
        busy = server_cpu + result.generator_cpu_s
        print(
            f"peak PSS of the whole server: {sampler.peak_mib:.0f} MiB (under the load "
            f"{sampler.peaks['load']:.0f} MiB, during the logins before it "
            f"{sampler.peaks['logins']:.0f} MiB); CPU used: server "
            f"{server_cpu:.1f} s, load generator {result.generator_cpu_s:.1f} s "
            f"({100 * result.generator_cpu_s / busy if busy else 0:.0f} % of the two)"
            + (f", PostgreSQL {db_cpu:.1f} s" if backend == "postgresql" else "")
        )
        own_db_cpu = db_cpu if backend == "postgresql" else 0.0  # not the SQLite run's
        print(cpu_budget(result.requests, server_cpu, own_db_cpu, result.generator_cpu_s))
        return errors


def cpu_budget(requests: int, server_s: float, database_s: float, generator_s: float) -> str:
    """CPU a request cost each part (over the whole run, so a short run overstates it), and
    the rate the machine's cores would carry at those costs with nothing else running: when
    the cores are what limits the figure, the two rates are close."""
    if not requests:
        return "CPU per request: no requests answered"
    parts = {"server": server_s, "PostgreSQL": database_s, "load generator": generator_s}
    costs = {name: 1000 * seconds / requests for name, seconds in parts.items() if seconds > 0}
    total = sum(costs.values())
    cores = os.cpu_count() or 1
    shown = ", ".join(f"{name} {ms:.2f} ms" for name, ms in costs.items())
    return (
        f"CPU per request: {shown} (all {total:.2f} ms); {cores} cores at that cost would "
        f"carry about {1000 * cores / total:.0f} req/s"
    )


def client_users(url: str, viewers: str, clients: int) -> list[str]:
    """Whom each client logs in as: the team, or (mixed) the team for one client in eight
    and the demo's unit users, in turn, for the others."""
    if viewers == "team":
        return [USERNAME]
    engine = make_engine(url)
    try:
        with open_session(engine) as session:
            units = session.exec(
                select(User.username)
                .where(User.role == Role.unit, col(User.is_active))
                .order_by(col(User.username))
            ).all()
    finally:
        engine.dispose()
    return [USERNAME if i % 8 == 0 else units[i % len(units)] for i in range(clients)]


class PssSampler:
    """Samples the PSS (each process's share of the memory it maps) of all of the server's
    processes every 0.2 s; PSS adds up across processes, unlike RSS. The peak is kept per
    phase (`phase`): the clients' logins apart from the load, since each login's argon2id
    hash holds 64 MiB while it runs."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.phase = "load"
        self.peaks: dict[str, float] = defaultdict(float)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        total_kib = 0
        for pid in self.server.pids():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            for line in rollup.splitlines():
                if line.startswith("Pss:"):
                    total_kib += int(line.split()[1])
        return total_kib / 1024

    @property
    def peak_mib(self) -> float:
        return max(self.peaks.values(), default=0.0)

    def _record(self) -> None:
        phase = self.phase
        self.peaks[phase] = max(self.peaks[phase], self._sample())

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._record()

    def __enter__(self) -> "PssSampler":
        self._record()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def server_cpu_s(server: LiveServer) -> float:
    """CPU seconds (user + system) the server's processes have used so far."""
    return _cpu_s(server.pids())


def database_cpu_s() -> float:
    """CPU seconds the machine's PostgreSQL processes have used so far, ended ones included
    (the postmaster's reaped children): on these two cores the database competes with the app."""
    pids = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _comm(entry) == "postgres"
    ]
    return _cpu_s(pids, children=True)


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def _cpu_s(pids: list[int], *, children: bool = False) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    used = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += int(fields[11]) + int(fields[12])  # utime, stime
        if children:
            used += int(fields[13]) + int(fields[14])  # cutime, cstime: reaped children
    return used / ticks


def analyse(database_url: str) -> None:
    """PostgreSQL's statistics of the freshly loaded tables, as a database in service has
    them (autovacuum analyses a table within a minute or so of a bulk load). Without them it
    plans the dashboard's reads for near-empty tables: its activity list took 5 ms instead of
    0.1 ms a build, its board counts 0.7 ms instead of 0.3."""
    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
                db.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()


def top_up(database_url: str, n_tasks: int) -> int:
    """Bulk-insert tasks (each with a "created" event) into the current plan until it holds
    `n_tasks`, spread over the columns like a plan in flight. Returns the plan's task count."""
    engine = make_engine(database_url)
    rng = random.Random(16)
    try:
        with open_session(engine) as session:
            plan = plans.current_plan(session)
            units = session.exec(select(Unit).where(Unit.kind == UnitKind.agency)).all()
            actor = session.exec(select(User).where(User.username == USERNAME)).one()
            have = session.exec(
                select(sa.func.count()).select_from(Task).where(Task.plan_id == plan.id)
            ).one()
            tops = dict(
                session.exec(
                    select(Task.status, sa.func.max(Task.position))
                    .where(Task.plan_id == plan.id)
                    .group_by(col(Task.status))
                ).all()
            )
            number = plan.next_task_number
            rows = []
            for i in range(max(0, n_tasks - have)):
                status = rng.choices((*OPEN, "done"), [0.25, 0.3, 0.1, 0.1, 0.25])[0]
                tops[status] = (tops.get(status) or 0) + 1
                rows.append(
                    {
                        "plan_id": plan.id,
                        "code": f"T-{number + i:04d}",
                        "title": f"Pekerjaan tambahan nomor {number + i} untuk jalan desa",
                        "lead_unit_id": rng.choice(units).id,
                        "status": status,
                        "position": tops[status],
                        "weight": rng.randint(1, 5),
                        "due_date": plan.start_date + timedelta(days=rng.randint(10, 99)),
                        "progress_pct": 100 if status == "done" else rng.randint(0, 90),
                        "blocked_reason": "Menunggu anggaran" if status == "blocked" else "",
                    }
                )
            if rows:
                ids = session.execute(sa.insert(Task).returning(col(Task.id)), rows).scalars().all()
                session.execute(
                    sa.insert(TaskEvent),
                    [
                        {
                            "plan_id": plan.id,
                            "task_id": task_id,
                            "actor_id": actor.id,
                            "kind": "created",
                            "to_status": "todo",
                            "changes": {},
                            "note": "",
                        }
                        for task_id in ids
                    ],
                )
                plan.next_task_number = number + len(rows)
                session.add(plan)
                session.commit()
        return int(have) + len(rows)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", "-C", type=int, default=16, help="concurrent clients")
    parser.add_argument("--duration", "-T", type=float, default=20, help="seconds per run")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--databases", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("SERATUS_BENCH_DATABASE_URL")
        or os.environ.get("SERATUS_TEST_DATABASE_URL"),
        help="PostgreSQL server for a throw-away database (default: SERATUS_BENCH_DATABASE_URL "
        "or SERATUS_TEST_DATABASE_URL)",
    )
    parser.add_argument("--procs", type=int, default=2, help="load generator processes")
    parser.add_argument(
        "--tasks", type=int, default=0, help="top the demo plan up to this many tasks"
    )
    parser.add_argument(
        "--pin", action="store_true", help="keep the load generator on the last CPU core"
    )
    parser.add_argument(
        "--viewers",
        choices=("mixed", "team"),
        default="mixed",
        help="mixed: one client in eight is the team, the others unit users on their unit's "
        "board; team: every client is the team, on the whole plan's board",
    )
    args = parser.parse_args()
    print(
        f"Load: {args.clients} clients for {args.duration:g} s; mix "
        + ", ".join(f"{k} {v:.0%}" for k, v in MIX.items())
        + f"; {os.cpu_count()} CPUs (shared by the server and the load generator)"
    )
    errors = 0
    with tempfile.TemporaryDirectory(prefix="seratus-load-") as tmp:
        for backend in args.databases:
            if backend == "postgresql" and not args.pg_url:
                print("\n== postgresql: skipped (no --pg-url or SERATUS_TEST_DATABASE_URL)")
                continue
            for workers in args.workers:
                errors += bench_one(backend, workers, args=args, folder=Path(tmp))
    if errors:
        # Speed is only reported; a wrong answer (a 5xx, a refused request) fails the run.
        sys.exit(f"{errors} requests failed")


if __name__ == "__main__":
    main()
