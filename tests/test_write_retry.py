"""retry_write: a write that lost a race runs again from a fresh transaction; when that keeps
happening, or SQLite stays locked, the client gets Busy (409), never a 500."""

import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from app import db
from app.errors import Busy
from app.models import User
from tests.factories import World, login


class FakeDriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _failure(message: str, sqlstate: str | None = None) -> OperationalError:
    return OperationalError("UPDATE task …", {}, FakeDriverError(message, sqlstate))


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.db.time.sleep", lambda _seconds: None)


def _flaky(failures: list[Exception]) -> tuple[Any, list[bool]]:
    calls: list[bool] = []

    @db.retry_write
    def write(session: Session, *, value: int) -> int:
        calls.append(bool(session.info.get("seratus_retrying")))
        if failures:
            raise failures.pop(0)
        return value

    return write, calls


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_serialization_failures_and_deadlocks_are_retried(session: Session, sqlstate: str) -> None:
    write, calls = _flaky([_failure("could not serialize", sqlstate)] * 2)
    assert write(session, value=7) == 7
    assert calls == [True, True, True]
    assert "seratus_retrying" not in session.info


def test_a_race_lost_every_time_becomes_busy(session: Session) -> None:
    write, calls = _flaky([_failure("deadlock detected", "40P01")] * (db.WRITE_ATTEMPTS + 1))
    with pytest.raises(Busy) as caught:
        write(session, value=1)
    assert caught.value.status_code == 409
    assert len(calls) == db.WRITE_ATTEMPTS


def test_sqlite_locked_is_busy_at_once(session: Session) -> None:
    write, calls = _flaky([_failure("database is locked")])
    with pytest.raises(Busy):
        write(session, value=1)
    assert len(calls) == 1


def test_other_database_errors_pass_through(session: Session) -> None:
    duplicate = IntegrityError("INSERT …", {}, FakeDriverError("duplicate key", "23505"))
    write, calls = _flaky([duplicate])
    with pytest.raises(IntegrityError):
        write(session, value=1)
    assert len(calls) == 1


def test_nested_writes_retry_as_one_transaction(session: Session) -> None:
    inner_calls: list[int] = []
    failures = [_failure("could not serialize", "40001")]

    @db.retry_write
    def inner(session: Session) -> None:
        inner_calls.append(1)
        if failures:
            raise failures.pop(0)

    @db.retry_write
    def outer(session: Session) -> str:
        inner(session)
        return "done"

    assert outer(session) == "done"
    assert len(inner_calls) == 2


def test_the_app_answers_409_for_a_busy_database_outside_the_services(client: Any) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/api/v1/_busy")
    def busy() -> None:
        raise _failure("deadlock detected", "40P01")

    client.app.include_router(router)
    response = client.get("/api/v1/_busy")
    assert response.status_code == 409
    assert response.json()["detail"] == db.BUSY_MESSAGE


def test_sqlite_holds_the_write_lock_only_for_the_write(engine: Engine, world: World) -> None:
    """The write's transaction begins IMMEDIATE; what the request reads after the commit does
    not keep other writers waiting; the next write takes the lock again."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    seen: list[bool] = []

    @db.retry_write
    def write(session: Session) -> None:
        seen.append(bool(session.get_bind().get_execution_options().get(db.IMMEDIATE)))
        session.exec(select(User.id)).first()
        session.commit()

    with db.open_session(engine, write=True) as session:
        write(session)
        session.exec(select(User.id)).first()  # the answer's reads, in a new transaction
        other = sqlite3.connect(engine.url.database or "", timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # would fail with "database is locked"
            other.execute("ROLLBACK")
        finally:
            other.close()
        session.rollback()
        write(session)
    assert seen == [True, True]


def _sqlite_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    return db.make_engine(str(engine.url))


def _hold_write_lock(engine: Engine) -> sqlite3.Connection:
    other = sqlite3.connect(engine.url.database or "", timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_polls_for_the_lock_another_process_holds(engine: Engine, world: World) -> None:
    """BEGIN IMMEDIATE is tried again every millisecond or two (not in SQLite's busy handler,
    whose pauses grow to 100 ms), begins once the lock is free, and the connection keeps its
    busy timeout for everything else."""
    engine = _sqlite_engine(engine)
    begins: list[str] = []
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(begins.append))
    other = _hold_write_lock(engine)
    tries = 0

    def release_after_a_few_tries(_seconds: float) -> None:
        nonlocal tries
        tries += 1
        if tries == 3:
            other.execute("ROLLBACK")

    with db.open_session(engine, write=True) as session:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("app.db.time.sleep", release_after_a_few_tries)
            assert session.exec(select(User.id)).first() is not None
        assert begins.count("BEGIN IMMEDIATE") == 4  # three locked, then begun
        timeout = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert timeout == db.SQLITE_BUSY_TIMEOUT_MS
    other.close()
    engine.dispose()


def test_a_lock_held_past_the_polling_is_busy(
    engine: Engine, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the polling, SQLite's own busy timeout; then "database is locked" as SQLAlchemy's
    error, which retry_write turns into Busy (409)."""
    monkeypatch.setattr(db, "WRITE_LOCK_POLL_SECONDS", 0)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 1)
    engine = _sqlite_engine(engine)
    other = _hold_write_lock(engine)

    @db.retry_write
    def write(session: Session) -> None:
        session.exec(select(User.id)).first()

    with db.open_session(engine, write=True) as session, pytest.raises(Busy):
        write(session)
    other.execute("ROLLBACK")
    other.close()
    engine.dispose()


def test_a_write_requests_login_is_read_without_the_write_lock(
    engine: Engine, world: World
) -> None:
    """read_before_writing: the reads inside take no write lock (another process's writer
    holds it meanwhile), end with their own transaction, and the session's next transaction
    takes the lock again (BEGIN IMMEDIATE)."""
    engine = _sqlite_engine(engine)
    with db.open_session(engine, write=True) as session:
        other = _hold_write_lock(engine)
        with db.read_before_writing(session):
            assert session.exec(select(User.id)).first() is not None
        assert not session.in_transaction()
        other.execute("ROLLBACK")
        other.close()
        assert session.exec(select(User.id)).first() is not None  # begins IMMEDIATE
        blocked = sqlite3.connect(engine.url.database or "", timeout=0)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                blocked.execute("BEGIN IMMEDIATE")
        finally:
            blocked.close()
        session.rollback()
    engine.dispose()


def test_reading_before_writing_changes_nothing_else(engine: Engine, world: World) -> None:
    """For a read request's session, or a transaction already begun (and on PostgreSQL,
    whose writers lock rows, not the database), the reads stay where they were."""
    with db.open_session(engine) as reader:
        with db.read_before_writing(reader):
            reader.exec(select(User.id)).first()
        assert reader.in_transaction()  # not ended: a read request reads in one transaction
        assert not reader.get_bind().get_execution_options().get(db.IMMEDIATE, False)
    with db.open_session(engine, write=True) as writer:
        writer.exec(select(User.id)).first()
        with db.read_before_writing(writer):
            writer.exec(select(User.id)).first()
        assert writer.in_transaction()  # not ended: it was begun before
        assert writer.get_bind().get_execution_options().get(db.IMMEDIATE, False)
        writer.rollback()


def test_a_form_post_signs_in_while_another_process_writes(
    engine: Engine, world: World, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write request reads its login while another writer holds SQLite's lock: only its
    write waits for the lock (here a CSRF refusal, which writes nothing, answers at once;
    were the login read under the lock, the lock's wait would end in 409 Busy)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(db, "WRITE_LOCK_POLL_SECONDS", 0)
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 1)
    login(client, world.team)
    other = _hold_write_lock(engine)
    try:
        response = client.post("/profile/password", data={"csrf_token": "wrong"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 403
