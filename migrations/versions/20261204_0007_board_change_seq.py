"""board change stamps: plan.change_seq counts task writes, task.change_seq keeps the last

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan") as batch:
        batch.add_column(sa.Column("change_seq", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("change_seq", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_column("change_seq")
    with op.batch_alter_table("plan") as batch:
        batch.drop_column("change_seq")
