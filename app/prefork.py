"""The server for several workers: a pre-fork Gunicorn master with uvicorn workers.

Gunicorn's master imports the app once (`preload_app`), moves it out of the cyclic
collector's reach and forks the workers (`SeratusWorker`, uvicorn's Gunicorn worker): each
starts with the master's memory, shared copy-on-write, instead of importing the app itself.
The collector must not touch those objects (it writes into every object it scans, which
would copy the page into the worker), hence gc.freeze() in the master before any fork.

Nothing that holds a connection, a thread or a lock may cross the fork: the master opens no
database connection (the lifespan's migration check runs in each worker), creates no thread
(Gunicorn's control socket, a thread of the master, is off), and each worker drops the pool
it inherited and opens its own connections.

`seratus serve --workers N` (app.cli) runs it as `python -m app.prefork HOST PORT WORKERS
LOG_LEVEL`: a fresh interpreter, so the master holds the app and Gunicorn, not the command
line's own modules, and starts with the server's malloc settings (app.cli.SERVER_ENVIRONMENT).

What the workers would each make for themselves on their first requests is made in the
master before the fork (`warm_up`): every template compiled, the Indonesian dates' locale
data, the modules a worker imports as it starts. Under bench/load.py (1,000 tasks, 2
workers) the server's PSS was 212-217 MiB with it, 219 and 223 MiB without.
"""

import gc
import importlib
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.workers.base import Worker
from uvicorn_worker import UvicornWorker

WORKER_CLASS = "app.prefork.SeratusWorker"
# uvicorn's own default (Gunicorn's is 2 s): a browser's next request often comes later.
KEEPALIVE_SECONDS = 5
ACCESS_LOG_LEVELS = frozenset({"trace", "debug", "info"})
# What a uvicorn worker imports as it starts (its event loop, HTTP parser and lifespan, and
# the thread pool of the app's endpoints), for `uvicorn_worker` 0.4 with uvicorn 0.3x-0.5x.
# A name missing in another version is skipped: the worker then imports its own.
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


class SeratusWorker(UvicornWorker):
    """uvicorn's Gunicorn worker without WebSocket support: the app has no WebSocket route,
    and uvicorn's "auto" would import a WebSocket library into every worker."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {**UvicornWorker.CONFIG_KWARGS, "ws": "none"}


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
    warm_up()
    gc.collect()
    gc.freeze()
    return app


def warm_up() -> None:
    """Make in the master what each worker would otherwise make on its own (its memory is
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
