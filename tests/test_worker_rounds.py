"""The worker loop outlives a failed round: a database that restarts or drops a connection
must not stop notifications until the app is restarted."""

import threading
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from app import worker
from app.config import Settings
from app.services import delivery


def test_a_failed_delivery_round_is_tried_again(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    rounds: list[int] = []

    def flaky(*_args: Any, **_kwargs: Any) -> delivery.RoundResult:
        rounds.append(1)
        if len(rounds) == 1:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        stop.set()
        return delivery.RoundResult(claimed=1, sent=1)

    monkeypatch.setattr(delivery, "deliver_due", flaky)
    monkeypatch.setattr(worker, "run_routines", lambda *_a, **_k: [])
    quick = settings.model_copy(update={"worker_interval_seconds": 0.01})
    totals = worker.run_worker(engine, settings=quick, stop=stop)
    assert len(rounds) == 2
    assert totals.sent == 1
