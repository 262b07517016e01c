"""Engine factory, SQLite pragmas, the UTC column type, the session dependency, and retrying
a write transaction that lost a race with a concurrent one."""

import logging
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import wraps
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from app.errors import Busy
from app.pg_prepared import keep_prepared_statements

log = logging.getLogger("seratus.db")

# Write requests take SQLite's write lock when their transaction starts, so a request that
# read first never fails to upgrade its lock (SQLITE_BUSY) under concurrent writers.
IMMEDIATE = "seratus_begin_immediate"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    pool_timeout: float = 30,
) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGIN.

    Each process holds up to `pool_size + max_overflow` connections: by default 10 + 10 on
    PostgreSQL, and SQLAlchemy's 5 + 10 on a SQLite file."""
    sized = {
        name: value
        for name, value in (("pool_size", pool_size), ("max_overflow", max_overflow))
        if value is not None
    }
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_timeout=pool_timeout,
            **sized,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        **({"pool_size": 10, "max_overflow": 10} | sized),
    )
    keep_prepared_statements(engine)
    return engine


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling is unreliable).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's lower() folds ASCII letters only, PostgreSQL's every letter: text search
        # lower()s both sides, so SQLite gets Python's and finds "KAFÉ" for "kafé" too.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(IMMEDIATE, False):
            conn.exec_driver_sql("BEGIN")
        elif not _polled_write_lock(conn.connection.dbapi_connection):
            # Still locked after the polling: SQLite's own busy timeout, whose "database is
            # locked" reaches app.db.retry_write as SQLAlchemy's error (a 409).
            conn.exec_driver_sql("BEGIN IMMEDIATE")


# SQLite's busy handler sleeps longer the longer it has waited (1, 2, 5, 10, 15, 20, 25 …
# 100 ms a try), so a writer queued behind transactions of a few milliseconds often slept on
# long after the lock came free (moves' p99 370 ms under bench/load.py). BEGIN IMMEDIATE is
# tried again here every half to two milliseconds instead, for up to this long.
WRITE_LOCK_POLL_SECONDS = 5.0
_POLL_PAUSES = (0.0005, 0.001, 0.002)


def _polled_write_lock(dbapi_connection: Any) -> bool:
    """BEGIN IMMEDIATE on a raw sqlite3 connection, tried until it is not locked or the time is
    up; False when it did not begin (the caller's own BEGIN then waits, or raises)."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_LOCK_POLL_SECONDS
        pauses = iter(_POLL_PAUSES)
        pause = next(pauses)
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    return False
            time.sleep(pause)
            pause = next(pauses, pause)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def open_session(engine: Engine, *, write: bool = False) -> Session:
    bind = engine.execution_options(**{IMMEDIATE: True}) if write else engine
    return Session(bind, expire_on_commit=False)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. Opening one does no I/O, so it happens on the event loop rather
    than in a thread-pool hop of its own; closing it (a rollback on its connection) does, so
    that runs in the pool, shielded so that a client gone away cannot leave it open, unless
    the route already closed it in its own thread (app.auth.in_one_hop does)."""
    write = request.method not in ("GET", "HEAD", "OPTIONS")
    session = open_session(engine_of(request), write=write)
    if not write:
        request.state.read_session = session
    try:
        yield session
    finally:
        request.state.read_session = None
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close)
        else:
            session.close()  # holds no connection (a route closed it in its thread): no I/O


@contextmanager
def page_reader(request: Request) -> Iterator[Session]:
    """A session for a page's small reads of its own (the header's bell and unit): the
    request's read session while it is open, which saves opening a second one; otherwise
    (a write request, or an error page drawn after the request's session has closed) a short
    read-only session, so nothing reopens a transaction on a closed session."""
    session: Session | None = getattr(request.state, "read_session", None)
    if session is not None:
        yield session
        return
    with open_session(engine_of(request)) as own:
        yield own


SessionDep = Annotated[Session, Depends(get_session)]


def core_reader(session: Session) -> Connection:
    """The session's connection, for a hot read with a select built once (skipping the ORM's
    execution layer, which costs more than SQLite's answer), after writing what the session
    holds, as the ORM's own autoflush would (a check and nothing more when there is none)."""
    session.flush()
    return session.connection()


# --- concurrent writers ----------------------------------------------------------------

# PostgreSQL's serialization_failure and deadlock_detected: the transaction lost a race with a
# concurrent one, was rolled back by the server, and may simply run again.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
WRITE_ATTEMPTS = 5
BUSY_MESSAGE = (
    "Server sedang menyimpan perubahan lain pada data yang sama; perubahan Anda belum "
    "tersimpan. Silakan coba lagi."
)
_RETRYING = "seratus_retrying"

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(exc: BaseException) -> bool:
    """A serialization failure or deadlock: running the whole transaction again is safe."""
    return (
        isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in RETRYABLE_SQLSTATES
    )


def is_busy(exc: BaseException) -> bool:
    """A write that failed only because of concurrent ones: retryable, or SQLite's busy
    timeout (30 s of waiting already; not worth repeating inside the request)."""
    if is_retryable(exc):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def _switchable_sqlite_bind(session: Session) -> Engine | None:
    """The session's SQLite engine while no transaction is open (when whether the next one
    begins with the write lock can still be chosen); None otherwise."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or session.in_transaction() or not isinstance(bind, Engine):
        return None
    return bind


def _hold_sqlite_write_lock(session: Session, *, hold: bool) -> None:
    """On SQLite, the write's transaction takes the write lock when it begins (BEGIN
    IMMEDIATE); once the write has committed, what the request still reads to answer (a card,
    column counts) begins without it, so other processes' writers need not wait for that
    rendering. Switched only between transactions."""
    bind = _switchable_sqlite_bind(session)
    if bind is not None and bool(bind.get_execution_options().get(IMMEDIATE, False)) != hold:
        session.bind = bind.execution_options(**{IMMEDIATE: hold})


@contextmanager
def read_before_writing(session: Session) -> Iterator[None]:
    """What a write request reads before its write (who is signed in) is read without the
    write lock: a write request's session begins its transactions with SQLite's write lock
    (BEGIN IMMEDIATE), so the login's reads would otherwise hold every other writer back,
    under load for a thread-pool hop or more. Inside, the session reads in a transaction of
    its own, ended on the way out; its next one takes the lock as before. A no-op on
    PostgreSQL, for a read request's session, and inside a transaction already begun."""
    bind = _switchable_sqlite_bind(session)
    if bind is None or not bind.get_execution_options().get(IMMEDIATE, False):
        yield
        return
    _hold_sqlite_write_lock(session, hold=False)
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    else:
        session.commit()  # reads only: ends the snapshot (loaded objects stay as read)
    finally:
        _hold_sqlite_write_lock(session, hold=True)


def retry_write(
    fn: Callable[Concatenate[Session, P], R],
) -> Callable[Concatenate[Session, P], R]:
    """Run the write service `fn(session, ...)` again, from a fresh transaction, when the
    database rolls it back for a serialization failure or a deadlock (a few times, with a
    short random pause); when that persists, or SQLite stays locked, raise `Busy` (409)
    instead of a 500. Nested calls (verify_task → move_task) retry as one transaction."""

    @wraps(fn)
    def wrapper(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if session.info.get(_RETRYING):
            return fn(session, *args, **kwargs)
        session.info[_RETRYING] = True
        try:
            attempt = 1
            while True:
                try:
                    _hold_sqlite_write_lock(session, hold=True)
                    result = fn(session, *args, **kwargs)
                    _hold_sqlite_write_lock(session, hold=False)
                    return result
                except DBAPIError as exc:
                    if not is_busy(exc):
                        raise
                    session.rollback()
                    if not is_retryable(exc) or attempt >= WRITE_ATTEMPTS:
                        log.warning("%s gave up after %d attempts: %s", fn.__name__, attempt, exc)
                        raise Busy(BUSY_MESSAGE) from exc
                    log.info("%s retried after a concurrent write: %s", fn.__name__, exc.orig)
                    # Jittered, growing pause so the colliding transactions do not meet again.
                    time.sleep(random.uniform(0, 0.01 * 2**attempt))
                    attempt += 1
        finally:
            session.info.pop(_RETRYING, None)

    return wrapper
