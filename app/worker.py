"""`seratus worker`: sends the outbox, and runs the routines (the Laporan Pagi, the escalation
ladder, and the Kurva S checkpoint a new app process starts from). Any number may run at once;
the database decides who does what."""

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Engine

from app.config import Settings
from app.db import utcnow
from app.services import delivery, routines

log = logging.getLogger("seratus.worker")

# Routines (digest, escalation) are looked at this often; sending runs every round.
ROUTINE_EVERY_SECONDS = 60.0


@dataclass
class WorkerTotals:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    routines: list[str] = field(default_factory=list)


def run_routines(engine: Engine, *, settings: Settings, now: datetime | None = None) -> list[str]:
    """The routines, each guarded so one failing cannot stop the worker from sending. Returns
    a line per routine that did something."""
    done: list[str] = []
    for name, step in (
        ("digest", routines.run_digest_if_due),
        ("escalation", routines.run_escalations),
        ("curve checkpoint", routines.write_curve_checkpoints),
    ):
        try:
            line = step(engine, settings=settings, now=now or utcnow())
        except Exception:
            log.exception("routine %s failed; it is tried again next round", name)
            continue
        if line:
            done.append(line)
            log.info("%s", line)
    return done


def run_worker(
    engine: Engine,
    *,
    settings: Settings,
    once: bool = False,
    stop: threading.Event | None = None,
) -> WorkerTotals:
    """Deliver and run the routines until `stop` is set; with `once`, run the routines once
    and deliver whatever is due, then return."""
    stop = stop or threading.Event()
    totals = WorkerTotals()
    timeout = httpx.Timeout(settings.smtp_timeout_seconds)
    with httpx.Client(timeout=timeout) as client:
        last_routines = 0.0
        while not stop.is_set():
            now_mono = time.monotonic()
            if once or now_mono - last_routines >= ROUTINE_EVERY_SECONDS:
                totals.routines.extend(run_routines(engine, settings=settings))
                last_routines = now_mono
            while not stop.is_set():
                try:
                    result = delivery.deliver_due(engine, settings=settings, client=client)
                except Exception:
                    # A database that restarts or drops a connection must not end the
                    # worker (and every notification with it): the claims are leases, so
                    # nothing is lost; the next round tries again.
                    log.exception("delivery round failed; it is tried again next round")
                    break
                totals.sent += result.sent
                totals.retried += result.retried
                totals.failed += result.failed
                if result.claimed < settings.worker_batch_size:
                    break
            if once:
                break
            stop.wait(settings.worker_interval_seconds)
    return totals
