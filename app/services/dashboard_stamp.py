"""What the dashboard's plan-wide picture depends on besides the date and the filters.

The page is a function of the plan's events, its settings and reference data (units,
programs, holidays), and the people named on it (actors, directive authors and their
offices). Every task write records an event; every change to reference data moves the
plans' `public_revision` (app.services.publishing.touch_public), which is on the plan's row
with its settings; people are read whole, since the user table has no change stamp and is
small. Two small queries, whatever the number of tasks.
"""

from collections.abc import Hashable

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Plan, TaskEvent, User


def dashboard_stamp(session: Session, plan: Plan) -> tuple[Hashable, ...]:
    """A value that changes whenever anything the dashboard shows of `plan` may have. The
    times (microseconds) keep two databases with the same ids apart, as a restored backup."""
    last_event = session.exec(
        select(TaskEvent.id, TaskEvent.at)
        .where(TaskEvent.plan_id == plan.id)
        .order_by(col(TaskEvent.id).desc())
        .limit(1)
    ).first()
    people = session.exec(
        select(User.id, User.full_name, User.position, User.unit_id).order_by(col(User.id))
    ).all()
    # The plan's whole row (its settings, baseline, change numbers and public stamp) is
    # already loaded: any change to it counts.
    settings = tuple(getattr(plan, column.name) for column in sa.inspect(Plan).columns)
    return (
        settings,
        tuple(last_event) if last_event is not None else None,
        tuple(tuple(person) for person in people),
    )
