"""board column counts read from an index: task (plan_id, status, weight, change_seq,
updated_at) covers the board's GROUP BY (count, weight sum, change stamp, latest write)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 01:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_task_columns",
        "task",
        ["plan_id", "status", "weight", "change_seq", "updated_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_task_columns", table_name="task")
