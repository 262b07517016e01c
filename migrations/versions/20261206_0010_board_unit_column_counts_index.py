"""board column counts of a unit's view read from an index: task (plan_id, lead_unit_id,
status, weight, change_seq, updated_at) covers the counts of the cards a unit leads

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_task_unit_columns",
        "task",
        ["plan_id", "lead_unit_id", "status", "weight", "change_seq", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_task_unit_columns", table_name="task")
