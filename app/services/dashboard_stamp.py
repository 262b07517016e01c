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
from sqlmodel import Session

from app.db import core_reader
from app.models import Plan, TaskEvent, User

# Built once and run on the connection (app.db.core_reader): read on every dashboard view,
# where the ORM's execution layer cost more than SQLite's answer.
_EVENTS = TaskEvent.__table__
_LAST_EVENT = (
    sa.select(_EVENTS.c.id, _EVENTS.c.at)
    .where(_EVENTS.c.plan_id == sa.bindparam("plan_id"))
    .order_by(_EVENTS.c.id.desc())
    .limit(1)
)
_USERS = User.__table__
_PEOPLE = sa.select(_USERS.c.id, _USERS.c.full_name, _USERS.c.position, _USERS.c.unit_id).order_by(
    _USERS.c.id
)


def dashboard_stamp(session: Session, plan: Plan) -> tuple[Hashable, ...]:
    """A value that changes whenever anything the dashboard shows of `plan` may have. The
    times (microseconds) keep two databases with the same ids apart, as a restored backup."""
    connection = core_reader(session)
    last_event = connection.execute(_LAST_EVENT, {"plan_id": plan.id}).first()
    people = connection.execute(_PEOPLE).all()
    # The plan's whole row (its settings, baseline, change numbers and public stamp) is
    # already loaded: any change to it counts.
    settings = tuple(getattr(plan, column.name) for column in sa.inspect(Plan).columns)
    return (
        settings,
        tuple(last_event) if last_event is not None else None,
        tuple(tuple(person) for person in people),
    )
