"""holidays from the `holidays` package (source, loaded years); one-time passwords

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_year",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("loaded_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_holiday_year")),
    )
    # The server defaults fill the existing rows; the models set the values from then on.
    with op.batch_alter_table("holiday") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=20), nullable=False, server_default="team")
        )
    with op.batch_alter_table("holiday") as batch:
        batch.alter_column("source", server_default=None)
    with op.batch_alter_table("user") as batch:
        batch.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("user") as batch:
        batch.alter_column("must_change_password", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("holiday") as batch:
        batch.drop_column("source")
    op.drop_table("holiday_year")
