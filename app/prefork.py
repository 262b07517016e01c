"""The server for several workers: a pre-fork Gunicorn master with uvicorn workers.

Gunicorn's master imports the app once (`preload_app`), moves it out of the cyclic
collector's reach and forks the workers (`uvicorn_worker.UvicornWorker`): each starts with
the master's memory, shared copy-on-write, instead of importing the app itself. The collector
must not touch those objects (it writes into every object it scans, which would copy the page
into the worker), hence gc.freeze() in the master before any fork.

Nothing that holds a connection, a thread or a lock may cross the fork: the master opens no
database connection (the lifespan's migration check runs in each worker), creates no thread
(Gunicorn's control socket, a thread of the master, is off), and each worker drops the pool
it inherited and opens its own connections.

`seratus serve --workers N` (app.cli) runs it as `python -m app.prefork HOST PORT WORKERS
LOG_LEVEL`: a fresh interpreter, so the master holds the app and Gunicorn, not the command
line's own modules, and starts with the server's malloc settings (app.cli.SERVER_ENVIRONMENT).
"""

import gc
import sys
from collections.abc import Sequence
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker

WORKER_CLASS = "uvicorn_worker.UvicornWorker"
# uvicorn's own default (Gunicorn's is 2 s): a browser's next request often comes later.
KEEPALIVE_SECONDS = 5
ACCESS_LOG_LEVELS = frozenset({"trace", "debug", "info"})


class PreforkServer(BaseApplication):
    """Gunicorn with these settings, serving app.main.create_app() loaded in the master."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return load_app()


def load_app() -> Any:
    """The app, created in the master, its objects frozen for the workers to share."""
    from app.main import create_app

    app = create_app()
    gc.collect()
    gc.freeze()
    return app


def own_database_connections(_server: Arbiter, worker: Worker) -> None:
    """Gunicorn's post_fork hook: a worker must not use connections it inherited (two
    processes on one socket or SQLite handle). The pool is replaced without closing them
    (SQLAlchemy's `dispose(close=False)`), which would close them for the master too."""
    worker.app.wsgi().state.engine.dispose(close=False)


def server_options(*, host: str, port: int, workers: int, log_level: str) -> dict[str, Any]:
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": WORKER_CLASS,
        "preload_app": True,
        "post_fork": own_database_connections,
        "loglevel": log_level,
        # One line per request, as uvicorn logs them, only at info level and below.
        "accesslog": "-" if log_level in ACCESS_LOG_LEVELS else None,
        "keepalive": KEEPALIVE_SECONDS,
        # A socket file under $HOME served by a thread of the master: neither is wanted.
        "control_socket_disable": True,
    }


def main(argv: Sequence[str]) -> None:
    host, port, workers, log_level = argv
    options = server_options(host=host, port=int(port), workers=int(workers), log_level=log_level)
    PreforkServer(options).run()


if __name__ == "__main__":
    main(sys.argv[1:])
