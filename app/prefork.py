"""The server for several workers: a small supervisor, and workers forked from a zygote that
loaded the app once.

`seratus serve --workers N` (app.cli) runs `python -m app.prefork HOST PORT WORKERS
LOG_LEVEL`. This supervisor imports nothing but the standard library. It
- binds the listening socket;
- starts a zygote (`python -m app.zygote`), which loads the app, forks the workers (uvicorn on
  the shared socket) and exits. The workers keep its memory,
  shared copy-on-write; the supervisor, a child subreaper, adopts them. No long-lived process
  keeps a third copy of the pages the workers write to, as a pre-fork master holding the app
  would (app.zygote has the figures);
- starts another worker when one dies (through a new zygote), and kills a worker that has not
  reported for the worker timeout (its event loop is stuck);
- on SIGTERM (`docker stop`), SIGINT or SIGHUP, asks every worker to stop (they finish their
  requests first), kills what is left after STOP_SECONDS, and exits.
A worker that dies before it has served (the app cannot start: the database is not migrated, a
setting is wrong), or a zygote that could not load the app, stops the server with status
BOOT_FAILED instead of being restarted forever. A worker whose supervisor has gone stops by
itself: its next report finds nobody reading the pipe.

The workers report over one pipe: STARTED (from the zygote, once a worker is forked) and
HEARTBEAT (from each worker's event loop, every HEARTBEAT_SECONDS), each a 5-byte message,
which a pipe delivers whole. Linux only (PR_SET_CHILD_SUBREAPER); app.cli uses uvicorn's own
workers elsewhere.
"""

import ctypes
import logging
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("seratus.prefork")

ACCESS_LOG_LEVELS = frozenset({"trace", "debug", "info"})
# uvicorn's own default: a browser's next request often comes a few seconds later.
KEEPALIVE_SECONDS = 5
# uvicorn's event loop calls the heartbeat once more than this has gone by (it looks once a
# second), so a worker reports about every two seconds.
HEARTBEAT_SECONDS = 1
WORKER_TIMEOUT_SECONDS = 30
STOP_SECONDS = 30
# At most one restart this often, so a worker that keeps dying does not spin the machine.
RESTART_PAUSE_SECONDS = 1.0
BOOT_FAILED = 3
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)

STARTED = b"S"
HEARTBEAT = b"H"
_MESSAGE = struct.Struct("=cI")  # kind, pid
_PR_SET_NAME = 15
_PR_SET_CHILD_SUBREAPER = 36
SUPERVISOR_NAME = b"seratus"
ZYGOTE_NAME = b"seratus-zygote"
WORKER_NAME = b"seratus-worker"


def report(fd: int, kind: bytes, pid: int) -> bool:
    """Tell the supervisor `kind` about `pid`; False when the supervisor has gone."""
    try:
        os.write(fd, _MESSAGE.pack(kind, pid))
    except BlockingIOError:
        return True  # the pipe is full: the supervisor is busy, not gone
    except BrokenPipeError:
        return False
    return True


def parse_reports(buffer: bytes) -> tuple[list[tuple[bytes, int]], bytes]:
    """The whole messages in `buffer`, and what is left of a message still to come."""
    whole = len(buffer) - len(buffer) % _MESSAGE.size
    messages = [_MESSAGE.unpack_from(buffer, at) for at in range(0, whole, _MESSAGE.size)]
    return messages, buffer[whole:]


def become_subreaper() -> None:
    """Orphaned descendants (the workers, once their zygote has left) become our children."""
    _prctl(_PR_SET_CHILD_SUBREAPER, 1, "PR_SET_CHILD_SUBREAPER")


def name_process(name: bytes) -> None:
    """The name `ps`, `top` and /proc/PID/comm show (at most 15 bytes): the supervisor, a
    zygote and the workers all run the same interpreter, so their command lines alone do not
    tell them apart."""
    _prctl(_PR_SET_NAME, name[:15], "PR_SET_NAME")


def _prctl(option: int, argument: int | bytes, label: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, argument, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl({label}): {os.strerror(error)}")


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.set_inheritable(True)  # the zygote's, and through it the workers'
    return listener


@dataclass
class Worker:
    pid: int
    last_seen: float
    serving: bool = False  # it has reported from its event loop: the app started


class Supervisor:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        workers: int,
        log_level: str,
        worker_timeout: float = WORKER_TIMEOUT_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self.count = workers
        self.log_level = log_level
        self.worker_timeout = worker_timeout
        self.workers: dict[int, Worker] = {}
        self.zygotes: dict[int, int] = {}  # pid: how many workers it forks
        self.gone: set[int] = set()  # reaped before their STARTED was read
        self.partial_report = b""  # the start of a message the pipe has not delivered whole
        self.status = 0
        self.stop_requested = False
        self.stop_deadline: float | None = None
        self.last_start = -RESTART_PAUSE_SECONDS

    def run(self) -> int:
        name_process(SUPERVISOR_NAME)
        become_subreaper()
        self.listener = listen(self.host, self.port)
        self.reports, self.report_to = os.pipe()
        os.set_blocking(self.reports, False)
        os.set_blocking(self.report_to, False)
        os.set_inheritable(self.report_to, True)
        wake, wake_to = os.pipe()
        os.set_blocking(wake, False)
        os.set_blocking(wake_to, False)
        signal.set_wakeup_fd(wake_to, warn_on_full_buffer=False)
        for number in STOP_SIGNALS:
            signal.signal(number, self._on_stop_signal)
        signal.signal(signal.SIGCHLD, lambda _number, _frame: None)  # wakes the loop
        log.info(
            "Supervisor (pid %d) serving http://%s:%d with %d workers",
            os.getpid(),
            f"[{self.host}]" if ":" in self.host else self.host,
            self.port,
            self.count,
        )
        self._start_workers(self.count)
        while True:
            select.select([wake, self.reports], [], [], 1.0)
            _drain(wake)
            # Before reaping, a worker's last report (it served, then died); after, those a
            # zygote wrote before it exited.
            self._read_reports()
            has_children = self._reap()
            self._read_reports()
            if self.stop_requested:
                if not has_children:
                    break
                self._stop_children()
                continue
            self._kill_silent_workers()
            self._replace_missing_workers()
        log.info("Supervisor stopped")
        return self.status

    def _on_stop_signal(self, number: int, _frame: FrameType | None) -> None:
        self.stop_requested = True

    def _start_workers(self, count: int) -> None:
        """A zygote that forks `count` workers. It stays in our process group, as the workers
        do: whatever stops the whole group (a terminal's Ctrl+C, a process manager) reaches
        them too. uvicorn takes a second SIGINT as "quit at once", but the supervisor sends
        SIGTERM, after the terminal's SIGINT."""
        argv = [
            sys.executable,
            "-m",
            "app.zygote",
            str(self.listener.fileno()),
            str(self.report_to),
            str(count),
            self.log_level,
        ]
        pid = os.posix_spawn(sys.executable, argv, os.environ)
        self.zygotes[pid] = count
        self.last_start = time.monotonic()

    def _reap(self) -> bool:
        """Collect every child that has ended; False when no child is left."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            status = os.waitstatus_to_exitcode(wait_status)
            if pid in self.zygotes:
                del self.zygotes[pid]
                if status != 0 and not self.stop_requested:
                    log.error("The app could not be loaded (status %d): stopping", status)
                    self._fail()
                continue
            worker = self.workers.pop(pid, None)
            if worker is None:
                self.gone.add(pid)
            if self.stop_requested:
                continue
            if worker is None or not worker.serving:
                log.error("Worker %d ended before it served (status %d): stopping", pid, status)
                self._fail()
            else:
                log.warning("Worker %d ended (status %d): starting another", pid, status)

    def _read_reports(self) -> None:
        messages, self.partial_report = parse_reports(self.partial_report + _drain(self.reports))
        for kind, pid in messages:
            self._on_report(kind, pid)

    def _on_report(self, kind: bytes, pid: int) -> None:
        if pid in self.gone:
            return
        worker = self.workers.get(pid)
        if worker is None:
            worker = self.workers[pid] = Worker(pid=pid, last_seen=time.monotonic())
            log.info("Worker %d started", pid)
        if kind == HEARTBEAT:
            worker.last_seen = time.monotonic()
            worker.serving = True

    def _kill_silent_workers(self) -> None:
        now = time.monotonic()
        for worker in self.workers.values():
            if now - worker.last_seen > self.worker_timeout:
                log.error(
                    "Worker %d has not reported for %.0f s: killing it",
                    worker.pid,
                    self.worker_timeout,
                )
                _signal(worker.pid, signal.SIGKILL)
                worker.last_seen = now  # its end is reaped (and replaced) on a later round

    def _replace_missing_workers(self) -> None:
        missing = self.count - len(self.workers) - sum(self.zygotes.values())
        if missing > 0 and time.monotonic() - self.last_start >= RESTART_PAUSE_SECONDS:
            self._start_workers(missing)

    def _fail(self) -> None:
        self.status = BOOT_FAILED
        self.stop_requested = True

    def _stop_children(self) -> None:
        """SIGTERM, again on every round (uvicorn takes a second SIGTERM as the first, and a
        worker a zygote forked meanwhile gets it too), then SIGKILL after STOP_SECONDS."""
        if self.stop_deadline is None:
            self.stop_deadline = time.monotonic() + STOP_SECONDS
        late = time.monotonic() > self.stop_deadline
        self._signal_children(signal.SIGKILL if late else signal.SIGTERM)

    def _signal_children(self, number: int) -> None:
        """Every child: the workers, a zygote, and any worker a zygote forked but had no time
        to report (it was adopted all the same)."""
        for pid in children(os.getpid()):
            _signal(pid, number)


def children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it has ended meanwhile
        if int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _signal(pid: int, number: int) -> None:
    with suppress(ProcessLookupError):  # it has ended meanwhile
        os.kill(pid, number)


def _drain(fd: int) -> bytes:
    """Everything readable on the non-blocking `fd` now."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def main(argv: Sequence[str]) -> None:
    host, port, workers, log_level, *timeout = argv
    logging.basicConfig(
        level=log_level.upper() if log_level != "trace" else "DEBUG",
        format="%(levelname)s:     %(message)s",
        stream=sys.stderr,
    )
    supervisor = Supervisor(
        host=host,
        port=int(port),
        workers=int(workers),
        log_level=log_level,
        worker_timeout=float(timeout[0]) if timeout else WORKER_TIMEOUT_SECONDS,
    )
    sys.exit(supervisor.run())


if __name__ == "__main__":
    main(sys.argv[1:])
