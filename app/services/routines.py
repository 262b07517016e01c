"""The worker's daily routines, each one step the worker calls every round."""

from datetime import datetime

from sqlalchemy import Engine

from app.config import Settings
from app.db import open_session
from app.errors import NotFound
from app.services import escalation
from app.services.digest import run_digest_if_due
from app.services.plans import current_plan

__all__ = ["run_digest_if_due", "run_escalations"]


def run_escalations(engine: Engine, *, settings: Settings, now: datetime) -> str | None:
    """Fire the rungs of the escalation ladder that are due (once per task and episode)."""
    with open_session(engine, write=True) as session:
        try:
            plan = current_plan(session)
        except NotFound:
            return None
        fired = escalation.escalate(session, plan=plan, now=now)
        session.commit()
    if not fired:
        return None
    return f"Eskalasi: {len(fired)} tangga baru ({', '.join(sorted({f.rung for f in fired}))})"
