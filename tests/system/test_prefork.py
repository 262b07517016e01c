"""`seratus serve --workers 2` is a pre-fork server: the supervisor imports the app and forks
the workers (which share its memory copy-on-write), each worker opens its own database
connections, and a SIGTERM to the supervisor alone stops them all, as `docker stop` does.
"""

import os
import signal
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.live import LiveServer

WORKERS = 2
# A pydantic-core extension module: the app (FastAPI, the models) maps it, the server alone
# (Gunicorn, uvicorn) does not.
APP_LIBRARY = "_pydantic_core"
# How many requests over fresh connections may go by before every worker has served one.
MAX_REQUESTS = 200


def _command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


def _parent(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1])


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


def test_workers_are_forked_from_a_supervisor_that_loaded_the_app(
    database_url: str, tmp_path: Path
) -> None:
    with LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS) as server:
        supervisor, *workers = server.pids()
        assert len(workers) == WORKERS
        # Forked, not spawned: a worker runs the supervisor's own command line (a spawned
        # one would be a fresh interpreter started by multiprocessing).
        for worker in workers:
            assert _parent(worker) == supervisor
            assert _command_line(worker) == _command_line(supervisor)
        assert b"app.prefork" in _command_line(supervisor)
        assert APP_LIBRARY in Path(f"/proc/{supervisor}/maps").read_text()

        # Every worker answers from a connection of its own; the supervisor holds none.
        with_connections: dict[int, set[str]] = {}
        for _ in range(MAX_REQUESTS):
            with httpx.Client(base_url=server.url, timeout=30) as client:
                assert client.get("/healthz").status_code == 200
            with_connections = {
                pid: handles for pid in workers if (handles := database_handles(pid, database_url))
            }
            if len(with_connections) == WORKERS:
                break
        assert sorted(with_connections) == sorted(workers)
        assert database_handles(supervisor, database_url) == set()
        assert "Traceback" not in server.log_text()


def test_sigterm_to_the_supervisor_stops_every_worker(database_url: str, tmp_path: Path) -> None:
    server = LiveServer(database_url, log_path=tmp_path / "server.log", workers=WORKERS)
    with server:
        assert server.process is not None
        supervisor, *workers = server.pids()
        os.kill(supervisor, signal.SIGTERM)  # the supervisor alone, as docker stop does
        assert server.process.wait(timeout=60) == 0
        assert all(_gone(pid) for pid in workers)
    assert "Traceback" not in server.log_text()
