"""directive follow-ups and decisions (event kinds), executives' positions, the printed pack's
letterhead, and when a task was sent to Menunggu Verifikasi (task.review_since_date)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0008"
down_revision: str | None = "0007"
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
    "imported",
    "escalated",
)
_NEW_KINDS = ("follow_up", "decision")


def _allow_kinds(kinds: tuple[str, ...]) -> None:
    # As 0002: replace the CHECK constraint (on SQLite batch mode copies the table).
    name = op.f("ck_task_event_kind")
    with op.batch_alter_table("task_event", schema=None) as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, sa.column("kind").in_(kinds))


def upgrade() -> None:
    _allow_kinds((*_KINDS, *_NEW_KINDS))
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("organisation_name", sa.String(length=120), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("logo_type", sa.String(length=40), nullable=False, server_default="")
        )
    # The defaults only filled the existing rows; the app always writes both columns.
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.alter_column("organisation_name", server_default=None)
        batch_op.alter_column("logo_type", server_default=None)
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("position", sa.String(length=40), nullable=False, server_default="")
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("position", server_default=None)
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_since_date", sa.Date(), nullable=True))
    _backfill_review_since()
    op.create_table(
        "plan_logo",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_logo_plan_id_plan")),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_logo")),
    )


def _backfill_review_since() -> None:
    """Tasks waiting in Menunggu Verifikasi: the plan-local date of their last move into it."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT t.id, p.timezone, MAX(e.at) FROM task t JOIN plan p ON p.id = t.plan_id "
            "JOIN task_event e ON e.task_id = t.id AND e.to_status = 'review' "
            "WHERE t.status = 'review' GROUP BY t.id, p.timezone"
        )
    ).all()
    for task_id, timezone, at in rows:
        if at is None:
            continue
        instant = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        local = instant.astimezone(ZoneInfo(timezone or "Asia/Jakarta")).date()
        bind.execute(
            sa.text("UPDATE task SET review_since_date = :d WHERE id = :id"),
            {"d": local, "id": task_id},
        )


def downgrade() -> None:
    op.drop_table("plan_logo")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("review_since_date")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("position")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("logo_type")
        batch_op.drop_column("organisation_name")
    # Follow-ups and decisions become plain notes: the history keeps them in a kind 0003 knows.
    op.execute("UPDATE task_event SET kind = 'comment' WHERE kind IN ('follow_up', 'decision')")
    _allow_kinds(_KINDS)
