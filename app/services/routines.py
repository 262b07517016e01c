"""The worker's routines, each one step the worker calls every round."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import open_session
from app.errors import NotFound
from app.models import Plan
from app.services import curve, escalation
from app.services.digest import run_digest_if_due
from app.services.plans import current_plan

__all__ = ["run_digest_if_due", "run_escalations", "write_curve_checkpoints"]

T = TypeVar("T")


def run_escalations(engine: Engine, *, settings: Settings, now: datetime) -> str | None:
    """Fire the rungs of the escalation ladder that are due (once per task and episode)."""
    fired = _on_current_plan(
        engine, lambda session, plan: escalation.escalate(session, plan=plan, now=now)
    )
    if not fired:
        return None
    return f"Eskalasi: {len(fired)} tangga baru ({', '.join(sorted({f.rung for f in fired}))})"


def write_curve_checkpoints(engine: Engine, *, settings: Settings, now: datetime) -> str | None:
    """Store the current plan's Kurva S replay when the stored one is out of date
    (app.services.curve.write_checkpoints), so a newly started app process does not replay the
    plan's whole history for its first dashboard."""
    written = _on_current_plan(
        engine, lambda session, plan: curve.write_checkpoints(session, plan=plan, now=now)
    )
    if not written:
        return None
    return f"Kurva S disimpan ({', '.join(written)})"


def _on_current_plan(engine: Engine, step: Callable[[Session, Plan], T]) -> T | None:
    """`step` on the current plan in one write transaction; None when there is no plan yet."""
    with open_session(engine, write=True) as session:
        try:
            plan = current_plan(session)
        except NotFound:
            return None
        result = step(session, plan)
        session.commit()
    return result
