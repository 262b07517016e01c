"""the plan's directives and follow-ups read from an index: task_event (plan_id, kind)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 07:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_task_event_plan_id_kind", "task_event", ["plan_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_task_event_plan_id_kind", table_name="task_event")
