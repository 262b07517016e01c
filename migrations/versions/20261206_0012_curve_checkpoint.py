"""curve_checkpoint: the plan-wide Kurva S replayed up to an event, for a new process to start
from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "curve_checkpoint",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=10), nullable=False),
        sa.Column("frame_key", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("written_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.PrimaryKeyConstraint("plan_id", "measure"),
    )


def downgrade() -> None:
    op.drop_table("curve_checkpoint")
