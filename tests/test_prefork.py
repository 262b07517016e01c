"""The pre-fork server's parts (app.prefork, the supervisor; app.zygote, which loads the app and
forks the workers); tests/system/test_prefork.py runs it for real."""

import gc
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import QueuePool, text

from app import prefork, zygote
from app.config import Settings
from app.db import make_engine
from app.main import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector


def test_the_supervisor_imports_nothing_but_the_standard_library() -> None:
    """It never loads the app: the zygote does, and leaves (app.zygote)."""
    script = """
import sys
before = set(sys.modules)
import app.prefork
loaded = {name.split(".")[0] for name in set(sys.modules) - before}
outside = sorted(loaded - set(sys.stdlib_module_names) - {"app"})
assert not outside, outside
assert not [name for name in sys.modules if name.startswith("app.") and name != "app.prefork"]
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_reports_are_read_whole_however_the_pipe_splits_them() -> None:
    read_end, write_end = os.pipe()
    try:
        assert prefork.report(write_end, prefork.STARTED, 41)
        assert prefork.report(write_end, prefork.HEARTBEAT, 2**31 + 7)
        sent = os.read(read_end, 100)
    finally:
        os.close(read_end)
        os.close(write_end)

    assert prefork.parse_reports(sent) == (
        [(prefork.STARTED, 41), (prefork.HEARTBEAT, 2**31 + 7)],
        b"",
    )
    messages, rest = prefork.parse_reports(sent[:7])
    assert messages == [(prefork.STARTED, 41)]
    assert prefork.parse_reports(rest + sent[7:]) == ([(prefork.HEARTBEAT, 2**31 + 7)], b"")


def test_a_report_tells_whether_the_supervisor_is_still_there() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    try:
        while True:  # fill the pipe: a busy supervisor is not a gone one
            try:
                os.write(write_end, b"x" * 4096)
            except BlockingIOError:
                break
        assert prefork.report(write_end, prefork.HEARTBEAT, os.getpid()) is True
        os.close(read_end)
        assert prefork.report(write_end, prefork.HEARTBEAT, os.getpid()) is False
    finally:
        os.close(write_end)


def test_the_supervisor_lists_its_own_children_only() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in prefork.children(os.getpid())  # beside any other of pytest's
        assert prefork.children(child.pid) == []
    finally:
        child.kill()
        child.wait()


def test_the_zygote_makes_what_every_worker_would_make_on_first_use() -> None:
    """Compiled templates, the locale data of Indonesian dates and the server's modules are
    made in the zygote, before it forks (run in a new interpreter: nothing made yet)."""
    script = """
import sys
from babel import localedata
from app import zygote
from app.templating import templates

assert not templates.env.cache and "id" not in localedata._cache
assert "uvicorn.lifespan.on" not in sys.modules
zygote.warm_up()
compiled = {name for _loader, name in templates.env.cache.keys()}
assert compiled == set(templates.env.list_templates()), compiled
assert "id" in localedata._cache
missing = [m for m in zygote.WORKER_MODULES if m not in sys.modules]
assert not missing, missing
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_zygote_freezes_the_loaded_app(unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0

    app = zygote.load_app()

    assert app.state.engine is not None
    assert gc.get_freeze_count() > 0


def test_creating_the_app_starts_no_thread_and_opens_no_connection(tmp_path: Path) -> None:
    """The zygote forks the workers from the created app: a thread (or a lock one holds) or
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

    zygote.own_database_connections(app)

    assert engine.pool is not old_pool
    assert old_pool.checkedin() == 1  # left alone: still the zygote's
    assert inherited.execute("SELECT 1").fetchone() == (1,)  # not closed
    with engine.connect() as connection:  # the worker's own
        assert connection.connection.dbapi_connection is not inherited
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    old_pool.dispose()
    engine.dispose()
