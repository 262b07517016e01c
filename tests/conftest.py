"""Fixtures: a fresh database per test, the app on it, and a logged-in client helper."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from app.config import Settings
from app.db import make_engine, open_session
from app.main import create_app
from app.services import accounts
from tests import factories


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id at its minimum cost: a test world hashes several passwords and logs in, which
    at production cost takes most of a second. test_accounts checks the production hasher."""
    monkeypatch.setattr(
        accounts,
        "password_hash",
        PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),)),
    )


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with open_session(engine) as session:
        yield session


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, require_migrated=False)


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def world(session: Session) -> factories.World:
    """A plan in flight with two agencies, a district, programs and a user of every role."""
    return factories.make_world(session)
