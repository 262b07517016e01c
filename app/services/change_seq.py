"""Change numbers for the board's stamps: every task write takes the plan's next number.

A board view's change stamp is, per column, (number of cards, highest change number) under
the view's filters: a card that changes, arrives or moves within the column raises the
highest number, one that leaves lowers the count. So a poll answers 304 exactly when nothing
the viewer sees changed, and a changed poll re-sends only the columns whose pair moved.
"""

import sqlalchemy as sa
from sqlmodel import Session

from app.models import Plan, Task

# Built once (every task write runs it); on the connection, since no ORM object needs
# synchronising: a Plan a session holds keeps its change number until it is read again.
_NEXT_NUMBER = (
    sa.update(Plan.__table__)
    .where(Plan.__table__.c.id == sa.bindparam("plan_id"))
    .values(change_seq=Plan.__table__.c.change_seq + 1)
    .returning(Plan.__table__.c.change_seq)
)


def touch(session: Session, task: Task) -> None:
    """Give `task` the plan's next change number (one UPDATE on the plan's row, which the
    write already holds: task writes of a plan are serialised, see plans.lock_plan_for_writes)."""
    number = session.connection().execute(_NEXT_NUMBER, {"plan_id": task.plan_id}).scalar_one()
    task.change_seq = int(number)
