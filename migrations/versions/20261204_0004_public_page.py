"""public promise page: the plan's switch and change stamp, published programs, tasks and
evidence

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Existing rows get the defaults (nothing published); the models keep no server defaults,
# so they are dropped again once the columns are filled.
_DEFAULTED = {
    "plan": ["public_enabled", "public_revision"],
    "program": ["is_public", "public_title", "public_description"],
    "task": ["is_public"],
    "evidence": ["is_public"],
}


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("public_revision", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("public_changed_at", app.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("public_title", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "public_description", sa.String(length=1000), nullable=False, server_default=""
            )
        )
    for table in ("task", "evidence"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("is_public", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    for table, names in _DEFAULTED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in names:
                batch_op.alter_column(name, server_default=None)


def downgrade() -> None:
    for table in ("evidence", "task"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("is_public")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("public_description")
        batch_op.drop_column("public_title")
        batch_op.drop_column("is_public")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("public_changed_at")
        batch_op.drop_column("public_revision")
        batch_op.drop_column("public_enabled")
