"""notifications: inbox, outbox (deliveries), settings per user, digest runs, escalation
rungs, Telegram updates; escalation thresholds on the plan; the `escalated` event kind

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 21:33:27.010985
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0006"
down_revision: str | None = "0005"
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
)


def _allow_kinds(kinds: tuple[str, ...]) -> None:
    # As in 0002: replace the CHECK constraint on task_event.kind (SQLite: batch copy).
    name = op.f("ck_task_event_kind")
    with op.batch_alter_table("task_event", schema=None) as batch_op:
        batch_op.drop_constraint(name, type_="check")
        batch_op.create_check_constraint(name, sa.column("kind").in_(kinds))


def upgrade() -> None:
    _allow_kinds((*_KINDS, "escalated"))
    op.create_table(
        "routine_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("finished_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routine_run")),
        sa.UniqueConstraint("name", "run_date", name="uq_routine_run_name_date"),
    )
    op.create_table(
        "telegram_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("received_at", app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_telegram_update")),
    )
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("whatsapp", sa.String(length=20), nullable=False),
        sa.Column("telegram_chat_id", sa.String(length=32), nullable=True),
        sa.Column("email_on", sa.Boolean(), nullable=False),
        sa.Column("telegram_on", sa.Boolean(), nullable=False),
        sa.Column("webhook_on", sa.Boolean(), nullable=False),
        sa.Column("muted_kinds", sa.JSON(), nullable=False),
        sa.Column("quiet_hours_on", sa.Boolean(), nullable=False),
        sa.Column("quiet_start_minute", sa.Integer(), nullable=False),
        sa.Column("quiet_end_minute", sa.Integer(), nullable=False),
        sa.Column("telegram_code_hash", sa.String(length=64), nullable=True),
        sa.Column("telegram_code_expires_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("pending_action", sa.String(length=20), nullable=False),
        sa.Column("pending_task_id", sa.Integer(), nullable=True),
        sa.Column("pending_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_notification_settings_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
        sa.UniqueConstraint(
            "telegram_chat_id", name=op.f("uq_notification_settings_telegram_chat_id")
        ),
        sa.UniqueConstraint(
            "telegram_code_hash", name=op.f("uq_notification_settings_telegram_code_hash")
        ),
    )
    op.create_table(
        "escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("rung", sa.String(length=40), nullable=False),
        sa.Column("episode_event_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("fired_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_event_id"],
            ["task_event.id"],
            name=op.f("fk_escalation_episode_event_id_task_event"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["task_event.id"], name=op.f("fk_escalation_event_id_task_event")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_escalation_task_id_task")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalation")),
        sa.UniqueConstraint(
            "task_id", "rung", "episode_event_id", name="uq_escalation_task_rung_episode"
        ),
    )
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_task_id"), ["task_id"], unique=False)

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "assigned",
                "rejected",
                "verified",
                "directive",
                "follow_up",
                "review",
                "blocked",
                "decision",
                "decided",
                "comment",
                "escalation",
                "digest",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("read_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["task_event.id"], name=op.f("fk_notification_event_id_task_event")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_notification_task_id_task")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_notification_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "ix_notification_user_id_read_at", ["user_id", "read_at"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "telegram",
                "webhook",
                name="channel",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "assigned",
                "rejected",
                "verified",
                "directive",
                "follow_up",
                "review",
                "blocked",
                "decision",
                "decided",
                "comment",
                "escalation",
                "digest",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("task_version", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("claimed_until", app.db.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_delivery_notification_id_notification"),
        ),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_delivery_task_id_task")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_delivery_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_delivery_idempotency_key")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "escalate_blocked_team_days", sa.Integer(), nullable=False, server_default="2"
            )
        )
        batch_op.add_column(
            sa.Column(
                "escalate_blocked_executive_days", sa.Integer(), nullable=False, server_default="5"
            )
        )
        batch_op.add_column(
            sa.Column(
                "escalate_directive_unit_days", sa.Integer(), nullable=False, server_default="2"
            )
        )
        batch_op.add_column(
            sa.Column(
                "escalate_directive_author_days", sa.Integer(), nullable=False, server_default="5"
            )
        )
        batch_op.add_column(
            sa.Column("escalate_review_team_days", sa.Integer(), nullable=False, server_default="2")
        )


def downgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("escalate_review_team_days")
        batch_op.drop_column("escalate_directive_author_days")
        batch_op.drop_column("escalate_directive_unit_days")
        batch_op.drop_column("escalate_blocked_executive_days")
        batch_op.drop_column("escalate_blocked_team_days")

    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_user_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_task_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_external_id"))
        batch_op.drop_index("ix_delivery_due")

    op.drop_table("delivery")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_id_read_at")
        batch_op.drop_index(batch_op.f("ix_notification_task_id"))
        batch_op.drop_index(batch_op.f("ix_notification_event_id"))

    op.drop_table("notification")
    with op.batch_alter_table("escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_task_id"))

    op.drop_table("escalation")
    op.drop_table("notification_settings")
    op.drop_table("telegram_update")
    op.drop_table("routine_run")
    # Escalation events carry no change of the task and have no kind 0005 knows: dropped.
    op.execute("DELETE FROM task_event WHERE kind = 'escalated'")
    _allow_kinds(_KINDS)
