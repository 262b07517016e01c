"""The pre-fork server's settings and hooks (app.prefork); tests/system/test_prefork.py runs
it for real."""

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import QueuePool, text
from uvicorn_worker import UvicornWorker

from app import prefork
from app.config import Settings
from app.db import make_engine
from app.main import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector


def test_the_app_is_preloaded_in_the_master_and_served_by_uvicorn_workers() -> None:
    any_address = "0.0.0.0"  # noqa: S104
    options = prefork.server_options(host=any_address, port=8000, workers=2, log_level="info")

    assert options["preload_app"] is True
    assert options["worker_class"] == "app.prefork.SeratusWorker"
    assert options["workers"] == 2
    assert options["bind"] == [f"{any_address}:8000"]
    assert options["post_fork"] is prefork.own_database_connections
    # No control socket: it is a thread of the master (forking beside a thread is unsafe)
    # and a file under $HOME shared by every server on the machine.
    assert options["control_socket_disable"] is True


def test_an_ipv6_address_is_bracketed() -> None:
    options = prefork.server_options(host="::1", port=8001, workers=2, log_level="info")
    assert options["bind"] == ["[::1]:8001"]


@pytest.mark.parametrize(("level", "access_log"), [("info", "-"), ("warning", None)])
def test_requests_are_logged_at_info_level_only(level: str, access_log: str | None) -> None:
    options = prefork.server_options(host="127.0.0.1", port=8000, workers=2, log_level=level)
    assert options["loglevel"] == level
    assert options["accesslog"] == access_log


def test_gunicorn_accepts_every_option(monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[bool] = []
    monkeypatch.setattr(prefork, "load_app", lambda: loaded.append(True))
    options = prefork.server_options(host="127.0.0.1", port=8000, workers=3, log_level="warning")

    server = prefork.PreforkServer(options)

    assert server.cfg.workers == 3
    assert server.cfg.preload_app is True
    assert server.cfg.worker_class_str == prefork.WORKER_CLASS
    assert server.cfg.worker_class is prefork.SeratusWorker
    assert loaded == []  # the app is loaded when the master starts, not before


def test_workers_are_uvicorns_without_websockets() -> None:
    assert issubclass(prefork.SeratusWorker, UvicornWorker)
    assert prefork.SeratusWorker.CONFIG_KWARGS == {"loop": "auto", "http": "auto", "ws": "none"}


def test_the_master_makes_what_every_worker_would_make_on_first_use() -> None:
    """Compiled templates, the locale data of Indonesian dates and the server's modules are
    made in the master, before it forks (run in a new interpreter: nothing made yet)."""
    script = """
import sys
from babel import localedata
from app import prefork
from app.templating import templates

assert not templates.env.cache and "id" not in localedata._cache
assert "uvicorn.lifespan.on" not in sys.modules
prefork.warm_up()
compiled = {name for _loader, name in templates.env.cache.keys()}
assert compiled == set(templates.env.list_templates()), compiled
assert "id" in localedata._cache
missing = [m for m in prefork.WORKER_MODULES if m not in sys.modules]
assert not missing, missing
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_master_freezes_the_loaded_app(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0

    app = prefork.load_app()

    assert app.state.engine is not None
    assert gc.get_freeze_count() > 0


def test_creating_the_app_starts_no_thread_and_opens_no_connection(tmp_path: Path) -> None:
    """The master forks the workers from the created app: a thread (or a lock one holds) or
    a connection in it would be copied into every worker."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", require_migrated=False)
    before = set(threading.enumerate())

    app = create_app(settings)

    assert set(threading.enumerate()) == before
    assert app.state.engine.pool.checkedin() == 0
    app.state.engine.dispose()


def test_a_forked_worker_drops_the_inherited_pool_without_closing_its_connections(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        inherited = connection.connection.dbapi_connection
    assert inherited is not None
    old_pool = engine.pool
    assert isinstance(old_pool, QueuePool)
    app: Any = SimpleNamespace(state=SimpleNamespace(engine=engine))
    worker: Any = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))

    prefork.own_database_connections(SimpleNamespace(), worker)

    assert engine.pool is not old_pool
    assert old_pool.checkedin() == 1  # left alone: still the master's
    assert inherited.execute("SELECT 1").fetchone() == (1,)  # not closed
    with engine.connect() as connection:  # the worker's own
        assert connection.connection.dbapi_connection is not inherited
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    old_pool.dispose()
    engine.dispose()
