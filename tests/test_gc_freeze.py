"""The served app moves its start-up objects out of the cyclic collector's reach
(Settings.gc_freeze, on by default; the tests switch it off in tests/conftest.py)."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector


def test_freezing_is_the_served_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERATUS_GC_FREEZE", raising=False)
    assert Settings().gc_freeze is True


@pytest.mark.parametrize("freeze", [True, False])
def test_start_up_freezes_only_when_asked(unfrozen: None, tmp_path: Path, freeze: bool) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", require_migrated=False, gc_freeze=freeze
    )
    with TestClient(create_app(settings)):
        assert (gc.get_freeze_count() > 0) is freeze
