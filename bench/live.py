"""The real app as the operator runs it: `seratus serve` in its own process group on a free
loopback port, on a throw-away database. Used by bench/load.py and the system tests
(tests/system/).

A throw-away PostgreSQL database is created next to the server URL given (any database on
it, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) and dropped WITH (FORCE)
afterwards; a SQLite one is a file in a folder of the caller's.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import sqlalchemy as sa

from app import prefork

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")


class ServerFailed(RuntimeError):
    pass


@contextmanager
def throwaway_database(
    backend: str, *, folder: Path, server_url: str | None, tag: str = "sys"
) -> Iterator[str]:
    """The URL of a fresh, empty database on `backend`, removed afterwards."""
    if backend == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'seratus.db'}"
        return
    if not server_url:
        raise ValueError("a PostgreSQL server URL is needed")
    admin_url = sa.make_url(server_url)
    name = f"seratus_{tag}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `seratus` command on `database_url`."""
    return {
        **os.environ,
        "SERATUS_DATABASE_URL": database_url,
        "SERATUS_LOG_LEVEL": "warning",
        **extra,
    }


def seratus(
    database_url: str, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `seratus ARGS` (as `python -m app`) on `database_url`; raises when it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=app_env(database_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise ServerFailed(f"seratus {' '.join(args)} failed: {result.stderr.strip()}")
    return result


class LiveServer:
    """`seratus serve --workers N` on 127.0.0.1 in a process group of its own, so stopping or
    killing it reaches the server (with several workers, the supervisor) and every worker."""

    def __init__(self, database_url: str, *, log_path: Path, workers: int = 1, **env: str) -> None:
        self.database_url = database_url
        self.workers = workers
        self.log_path = log_path
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60) -> "LiveServer":
        command = [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=app_env(self.database_url, **self.env),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        # Every worker must answer: a few healthy answers in a row over fresh connections.
        healthy = 0
        while healthy < 2 * self.workers:
            try:
                ok = httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                ok = False
            healthy = healthy + 1 if ok else 0
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerFailed(f"the app did not start: {self.log_text()[-3000:]}")
            if not ok:
                time.sleep(0.1)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pids(self) -> list[int]:
        """The server's process and its workers (its children, forked or spawned)."""
        if self.process is None or self.process.poll() is not None:
            return []
        pid = self.process.pid
        return [pid, *sorted(prefork.children(pid))]

    def peak_rss_mib(self) -> dict[str, float]:
        """Peak resident memory (VmHWM) of each of the server's processes, in MiB, by role:
        the server (or, with several workers, the supervisor), each worker, and the helper
        process multiprocessing starts to track shared resources."""
        peaks: dict[str, float] = {}
        for index, pid in enumerate(self.pids()):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if index == 0:
                role = "server" if self.workers == 1 else "supervisor"
            elif b"resource_tracker" in command:
                role = "resource tracker"
            else:
                role = "worker"
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[f"{role} {pid}"] = int(line.split()[1]) / 1024
        return peaks

    def _signal_group(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """SIGKILL the server and its workers at once, as a crash would."""
        self._signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), or SIGKILL after 15 s."""
        if self.process is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        # Workers left behind by a supervisor that died first.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- logging in over HTTP, as a browser does -------------------------------------------

_LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def csrf_of(page: httpx.Response) -> str:
    """The session's CSRF token, from a page's <meta name="csrf-token">."""
    found = _CSRF_META.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


def web_login(client: httpx.Client, username: str, password: str) -> str:
    """Log `client` in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    token = _LOGIN_CSRF.search(page.text)
    assert token is not None, page.text[:500]
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    assert response.status_code == 303, response.text[:500]
    return csrf_of(client.get("/board"))
