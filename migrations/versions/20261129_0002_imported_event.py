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


def _kind(*values: str) -> sa.Enum:
    return sa.Enum(*values, name="kind", native_enum=False, create_constraint=True, length=20)


def _set_kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # The kinds are a VARCHAR with a CHECK constraint (ck_task_event_kind): replace the
    # constraint. On SQLite batch mode copies the table with the new constraint.
    with op.batch_alter_table("task_event", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_task_event_kind"), type_="check")
        batch_op.alter_column(
            "kind", existing_type=_kind(*old), type_=_kind(*new), existing_nullable=False
        )


def upgrade() -> None:
    _set_kinds(_KINDS, (*_KINDS, "imported"))


def downgrade() -> None:
    # Imported events become plain edits: the history keeps them, in a kind 0001 knows.
    op.execute("UPDATE task_event SET kind = 'edited' WHERE kind = 'imported'")
    _set_kinds((*_KINDS, "imported"), _KINDS)
