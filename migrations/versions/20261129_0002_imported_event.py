"""imported task event kind

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = (
    "created",
    "moved",
    "edited",
    "assigned",
    "progress",
    "comment",
    "directive",
    "evidence",
    "verified",
    "rejected",
    "cancelled",
)


def _allow_kinds(kinds: tuple[str, ...]) -> None:
    # The kinds are a VARCHAR(20) with a CHECK constraint (ck_task_event_kind): replace the
    # constraint. On SQLite batch mode copies the table with the new constraint.
    name = op.f("ck_task_event_kind")
    with op.batch_alter_table("task_event", schema=None) as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, sa.column("kind").in_(kinds))


def upgrade() -> None:
    _allow_kinds((*_KINDS, "imported"))


def downgrade() -> None:
    # Imported events become plain edits: the history keeps them, in a kind 0001 knows.
    op.execute("UPDATE task_event SET kind = 'edited' WHERE kind = 'imported'")
    _allow_kinds(_KINDS)
