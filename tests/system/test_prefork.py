"""`seratus serve --workers 2` is a pre-fork server: a zygote loads the app, forks the workers
(which share its memory copy-on-write) and leaves them to a supervisor that never loads the app;
each worker opens its own database connections; a worker that dies or hangs is replaced; a
SIGTERM to the supervisor alone stops them all, as `docker stop` does; workers without a
supervisor stop by themselves; an app that cannot start stops the server.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from app import prefork
from bench.live import ROOT, LiveServer, app_env, free_port

WORKERS = 2
# A pydantic-core extension module: the app (FastAPI, the models) maps it, the supervisor
# (the standard library only) does not.
APP_LIBRARY = "_pydantic_core"
# How many requests over fresh connections may go by before every worker has served one.
MAX_REQUESTS = 200
# Pages a worker shares, written before the fork, with the other (a worker that loaded the app
# itself would share next to none): about 68 MiB each, idle, at the time of writing.
MIN_SHARED_DIRTY_KIB = 16 * 1024
# The worker timeout of the test of a stuck worker (30 s in service).
STUCK_TIMEOUT_SECONDS = 10


def _command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _socket_inodes_to(pid: int, port: int) -> set[str]:
    """Inodes of the TCP sockets that `pid`'s network namespace has open to `port`."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port:
                inodes.add(fields[9])
    return inodes


def database_handles(pid: int, database_url: str) -> set[str]:
    """What `pid` holds open on the database: the SQLite file, or sockets to PostgreSQL."""
    url = make_url(database_url)
    targets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            targets.add(os.readlink(fd))
        except OSError:
            continue
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        return {target for target in targets if target == str(Path(url.database).resolve())}
    inodes = _socket_inodes_to(pid, url.port or 5432)
    return {target for target in targets if target.removeprefix("socket:[")[:-1] in inodes}


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


def _children(pid: int) -> list[int]:
    return [child for child in prefork.children(pid) if not _gone(child)]


def _adopted_workers(
    supervisor: int, *, other_than: frozenset[int] = frozenset(), timeout: float = 60
) -> list[int]:
    """The supervisor's workers once it has adopted all of them (their zygote has left)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = _children(supervisor)
        if (
            len(workers) == WORKERS
            and not other_than & set(workers)
            and all(_name(pid) == "seratus-worker" for pid in workers)
        ):
            return sorted(workers)
        assert time.monotonic() < deadline, f"workers of {supervisor}: {workers}"
        time.sleep(0.1)


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _shared_dirty_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Shared_Dirty:"):
            return int(line.split()[1])
    raise AssertionError("no Shared_Dirty")


def _every_worker_answers(url: str, workers: list[int], database_url: str) -> None:
    """Requests over fresh connections until each worker has opened its own connection."""
    with_connections: dict[int, set[str]] = {}
    for _ in range(MAX_REQUESTS):
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/healthz").status_code == 200
        with_connections = {
            pid: handles for pid in workers if (handles := database_handles(pid, database_url))
        }
        if len(with_connections) == len(workers):
            break
    assert sorted(with_connections) == sorted(workers)


def _wait_gone(pids: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(_gone(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if not _gone(pid)]
        time.sleep(0.1)


def test_workers_are_forked_from_a_zygote_and_kept_by_a_supervisor_without_the_app(
    database_url: str, tmp_path: Path
) -> None:
    with LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS) as server:
        assert server.process is not None
        supervisor = server.process.pid
        workers = _adopted_workers(supervisor)
        assert b"app.prefork" in _command_line(supervisor)
        assert _name(supervisor) == "seratus"
        assert APP_LIBRARY not in Path(f"/proc/{supervisor}/maps").read_text()
        for worker in workers:
            assert APP_LIBRARY in Path(f"/proc/{worker}/maps").read_text()
            # Forked from one loaded app, not each started afresh: they share its pages.
            assert _shared_dirty_kib(worker) > MIN_SHARED_DIRTY_KIB

        # Every worker answers from a connection of its own; the supervisor holds none.
        _every_worker_answers(server.url, workers, database_url)
        assert database_handles(supervisor, database_url) == set()
        assert "Traceback" not in server.log_text()


def test_sigterm_to_the_supervisor_stops_every_worker(database_url: str, tmp_path: Path) -> None:
    server = LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS)
    with server:
        assert server.process is not None
        supervisor = server.process.pid
        workers = _adopted_workers(supervisor)
        os.kill(supervisor, signal.SIGTERM)  # the supervisor alone, as docker stop does
        assert server.process.wait(timeout=60) == 0
        assert all(_gone(pid) for pid in workers)
    assert "Traceback" not in server.log_text()


def test_ctrl_c_stops_every_worker(database_url: str, tmp_path: Path) -> None:
    """A terminal's Ctrl+C signals the whole process group: the workers get SIGINT from it and
    SIGTERM from the supervisor, and still finish cleanly (not uvicorn's forced quit)."""
    server = LiveServer(
        database_url, log_path=tmp_path / "server.log", workers=WORKERS, SERATUS_LOG_LEVEL="info"
    )
    with server:
        assert server.process is not None
        workers = _adopted_workers(server.process.pid)
        os.killpg(server.process.pid, signal.SIGINT)
        assert server.process.wait(timeout=60) == 0
        _wait_gone(workers)
    log = server.log_text()
    assert "Traceback" not in log
    assert log.count("Application shutdown complete.") == WORKERS  # not forced to quit


def test_a_worker_that_dies_is_replaced(database_url: str, tmp_path: Path) -> None:
    with LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS) as server:
        assert server.process is not None
        supervisor = server.process.pid
        dead, alive = _adopted_workers(supervisor)
        # Both have served: one that ends before it served stops the server instead.
        _every_worker_answers(server.url, [dead, alive], database_url)
        os.kill(dead, signal.SIGKILL)

        workers = _adopted_workers(supervisor, other_than=frozenset({dead}))
        assert alive in workers
        _every_worker_answers(server.url, workers, database_url)
        assert f"Worker {dead} ended" in server.log_text()


def test_workers_stop_by_themselves_when_the_supervisor_is_gone(
    database_url: str, tmp_path: Path
) -> None:
    with LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS) as server:
        assert server.process is not None
        workers = _adopted_workers(server.process.pid)
        server.process.kill()
        server.process.wait(timeout=30)

        _wait_gone(workers)  # within a heartbeat or two, not left serving unsupervised


@contextmanager
def _supervisor(
    database_url: str, log_path: Path, *arguments: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`python -m app.prefork` itself, for what `seratus serve` does not set (the worker
    timeout), or a database it would refuse before starting the server."""
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.prefork",
                "127.0.0.1",
                str(port),
                str(WORKERS),
                "info",
                *arguments,
            ],
            env=app_env(database_url),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_a_worker_that_stops_reporting_is_killed_and_replaced(
    database_url: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "supervisor.log"
    # Long enough for a new worker to boot and for a busy one's heartbeat (every ~2 s).
    with _supervisor(database_url, log_path, str(STUCK_TIMEOUT_SECONDS)) as (process, url):
        stuck, alive = _adopted_workers(process.pid)
        # Both have served: one that ends before it served stops the server instead.
        _every_worker_answers(url, [stuck, alive], database_url)
        os.kill(stuck, signal.SIGSTOP)  # as a worker whose event loop never comes back

        workers = _adopted_workers(process.pid, other_than=frozenset({stuck}))
        assert alive in workers
        assert _gone(stuck)
        _every_worker_answers(url, workers, database_url)
        assert (
            f"Worker {stuck} has not reported for {STUCK_TIMEOUT_SECONDS} s: killing it"
            in log_path.read_text()
        )


def test_an_app_that_cannot_start_stops_the_server(tmp_path: Path) -> None:
    """Not restarted for ever: the supervisor ends with the boot failure's status."""
    empty = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    log_path = tmp_path / "supervisor.log"
    with _supervisor(empty, log_path) as (process, _url):
        assert process.wait(timeout=60) == 3
        assert not _children(process.pid)
    log = log_path.read_text()
    assert "DatabaseNotMigrated" in log
    assert "ended before it served (status 3): stopping" in log
