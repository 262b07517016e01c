"""The zygote of the pre-fork server (app.prefork): a short-lived process that loads the app
once, forks the workers from it and exits.

The workers start with the zygote's memory, shared copy-on-write. A long-lived parent holding
that memory would keep its own copy of every page a worker writes to (CPython writes
reference counts into whatever it touches, so that is a third of the app) for nothing: the
zygote leaves, and the supervisor, which never loads the app, adopts the workers. Under
bench/load.py (2 workers, 1,000 tasks, SQLite) the server's PSS was 176-181 MiB this way,
209-215 MiB with a Gunicorn master holding the app, 235-236 MiB with each worker loading it.

The collector must not touch the shared objects (it writes into every object it scans), hence
gc.freeze() before the fork. Nothing that holds a connection, a thread or a lock may cross the
fork: creating the app opens no database connection (the lifespan's migration check runs in
each worker), starts no thread, and each worker drops the pool it inherited.

Run by the supervisor as `python -m app.zygote LISTEN_FD REPORT_FD WORKERS LOG_LEVEL`.
"""

import gc
import importlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from datetime import date
from typing import Any

from app.prefork import (
    ACCESS_LOG_LEVELS,
    HEARTBEAT,
    HEARTBEAT_SECONDS,
    KEEPALIVE_SECONDS,
    STARTED,
    WORKER_NAME,
    ZYGOTE_NAME,
    name_process,
    report,
)

# What a uvicorn worker imports as it starts (its event loop, HTTP parser and lifespan, and
# the thread pool of the app's endpoints), for uvicorn 0.3x-0.5x. A name missing in another
# version is skipped: the worker then imports its own.
WORKER_MODULES = (
    "uvloop",
    "httptools",
    "uvicorn.loops.auto",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
    "anyio._backends._asyncio",
    "concurrent.futures.thread",
)
# How long a worker asked to stop waits for its requests in flight before cancelling them
# (the supervisor kills what is still running a little later: app.prefork.STOP_SECONDS).
GRACEFUL_SECONDS = 20


def load_app() -> Any:
    """The app, created here, its objects frozen for the workers to share."""
    from app.main import create_app

    app = create_app()
    warm_up()
    gc.collect()
    gc.freeze()
    return app


def warm_up() -> None:
    """Make before the fork what each worker would otherwise make on its own (its memory is
    then shared): the compiled templates (Jinja compiles a template on first use), the
    locale data behind '20 Feb 2025' (Babel loads it on first use) and WORKER_MODULES."""
    from app.templating import templates
    from app.timefmt import format_long_date

    for name in templates.env.list_templates():
        templates.env.get_template(name)
    format_long_date(date(2025, 2, 20))
    for module in WORKER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue


def own_database_connections(app: Any) -> None:
    """A forked worker must not use connections it inherited (two processes on one socket or
    SQLite handle). The pool is replaced without closing them (SQLAlchemy's
    `dispose(close=False)`), which would close them for the zygote too."""
    app.state.engine.dispose(close=False)


def serve(app: Any, listener: socket.socket, report_fd: int, log_level: str) -> None:
    """Run one worker: uvicorn on the shared listening socket, telling the supervisor it is
    alive every HEARTBEAT_SECONDS, and stopping when the supervisor is gone."""
    import uvicorn

    own_database_connections(app)
    # uvicorn re-raises the signal that stopped it once it has shut down; ignored, the
    # worker then ends with status 0, which the supervisor reads as a clean stop.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    server: uvicorn.Server

    async def heartbeat() -> None:
        if not report(report_fd, HEARTBEAT, os.getpid()):
            server.should_exit = True  # the supervisor has gone: nobody would restart us

    config = uvicorn.Config(
        app,
        ws="none",  # no WebSocket route; "auto" would import a WebSocket library
        log_level=log_level,
        access_log=log_level in ACCESS_LOG_LEVELS,
        timeout_keep_alive=KEEPALIVE_SECONDS,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        callback_notify=heartbeat,
        timeout_notify=HEARTBEAT_SECONDS,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])


def fork_workers(
    app: Any, listener: socket.socket, report_fd: int, *, workers: int, log_level: str
) -> None:
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            name_process(WORKER_NAME)
            # A forked child never returns into the zygote's code, whatever happens.
            status = 0
            try:
                serve(app, listener, report_fd, log_level)
            except SystemExit as stop:  # uvicorn's, when the app did not start
                status = stop.code if isinstance(stop.code, int) else 1
            except BaseException:
                traceback.print_exc()
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
        report(report_fd, STARTED, pid)


def main(argv: Sequence[str]) -> None:
    listen_fd, report_fd, workers, log_level = argv
    name_process(ZYGOTE_NAME)
    listener = socket.socket(fileno=int(listen_fd))
    app = load_app()
    fork_workers(app, listener, int(report_fd), workers=int(workers), log_level=log_level)
    # Leave without tearing the app down: freeing it would write into the pages the workers
    # share, and there is nothing to close (no connection, no thread).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
