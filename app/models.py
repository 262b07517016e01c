"""All tables, their enums and the API schemas (Base / table / Create / Update / Public)."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import sqlalchemy as sa
from annotated_types import Ge, Le
from pydantic import Field as PydanticField
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow
from app.text_input import MultiLineText, SingleLineText

# Stable constraint names, so migrations can name what they alter on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TITLE_MAX = 200
TEXT_MAX = 5000
SHORT_MAX = 120
NOTE_MAX = 2000
CAPTION_MAX = 200
URL_MAX = 2000
FILENAME_MAX = 120
PUBLIC_TEXT_MAX = 1000
# Ids and versions in requests stay within a 32-bit column, so an absurd id is a 422 or a
# 404, never a database overflow.
ID_MAX = 2**31 - 1
RowId = Annotated[int, Ge(1), Le(ID_MAX)]


class Role(StrEnum):
    team = "team"
    unit = "unit"
    executive = "executive"


class UnitKind(StrEnum):
    agency = "agency"
    district = "district"


class ProgramKind(StrEnum):
    priority = "priority"
    movement = "movement"
    pro_people = "pro_people"


class TaskStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    blocked = "blocked"
    review = "review"
    done = "done"
    cancelled = "cancelled"


BOARD_STATUSES: tuple[TaskStatus, ...] = (
    TaskStatus.todo,
    TaskStatus.in_progress,
    TaskStatus.blocked,
    TaskStatus.review,
    TaskStatus.done,
)


class EventKind(StrEnum):
    created = "created"
    moved = "moved"
    edited = "edited"
    assigned = "assigned"
    progress = "progress"
    comment = "comment"
    directive = "directive"
    evidence = "evidence"
    verified = "verified"
    rejected = "rejected"
    cancelled = "cancelled"
    # Created or updated from a spreadsheet; the note names the file. A creation has no
    # `from_status` and enters `to_status`; an update changing the status carries both.
    imported = "imported"
    # A follow-up (tindak lanjut) answering a directive: `changes` {"directive_id": [None, id]}
    # names the directive event it answers, `note` says what was done.
    follow_up = "follow_up"
    # An executive's decision settling "perlu keputusan": `changes`
    # {"needs_decision": [True, False]}, `note` is the decision.
    decision = "decision"

    # A rung of the escalation ladder fired (by the worker, no actor); `changes` names the
    # rung: {"escalation": [null, "blocked_team"]}. It does not bump the task's version.
    escalated = "escalated"


class ExecutivePosition(StrEnum):
    bupati = "bupati"
    wakil_bupati = "wakil_bupati"
    sekretaris_daerah = "sekretaris_daerah"


class EvidenceKind(StrEnum):
    file = "file"
    link = "link"


class DayMode(StrEnum):
    calendar = "calendar"
    working = "working"


class HolidayKind(StrEnum):
    libur = "libur"
    cuti_bersama = "cuti_bersama"


class Rag(StrEnum):
    """A group's colour under the RAG rule (app.services.rag); computed, never stored."""

    green = "green"
    amber = "amber"
    red = "red"
    grey = "grey"


class SessionKind(StrEnum):
    web = "web"
    api = "api"


# --- table bases ---------------------------------------------------------------------------


class UnsavedRowError(RuntimeError):
    """A row's id was asked for before the row was written (added and flushed)."""


class TableModel(SQLModel):
    """Base of every table: gives `__table__` (the Core table) a type for mypy."""

    if TYPE_CHECKING:
        # Set by SQLModel on every table class; declared here only because SQLModel does not.
        __table__: ClassVar[sa.Table]


class Row(TableModel):
    """Base of every table with an integer surrogate key.

    `id` is `int | None` because a new row has none until it is flushed. Code that holds a
    persisted row reads `pk` instead: typed `int`, and a clear error (not a None passed on
    into a query or a foreign key) if the row was never written.
    """

    if TYPE_CHECKING:
        id: int | None

    @property
    def pk(self) -> int:
        if self.id is None:
            raise UnsavedRowError(
                f"{type(self).__name__} has no id yet: add it to the session and flush first"
            )
        return self.id

    @classmethod
    def id_column(cls) -> sa.ColumnElement[int]:
        """The id column typed `int` for select(): a stored row always has an id, while
        `Model.id` is typed like the attribute (`int | None`)."""
        return cls.__table__.c.id


def _enum(enum: type[StrEnum], column: str) -> sa.Enum:
    # VARCHAR + CHECK rather than a native PostgreSQL enum: adding a value stays a cheap migration.
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        # Names the CHECK constraint: one per column, even where two columns share an enum.
        name=column,
    )


# --- plan and calendar -----------------------------------------------------------------


class Plan(Row, table=True):
    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=SHORT_MAX)
    start_date: date
    length_days: int = Field(default=100)
    day_mode: DayMode = Field(default=DayMode.calendar, sa_type=_enum(DayMode, "day_mode"))
    timezone: str = Field(default="Asia/Jakarta", max_length=64)
    baseline_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    is_current: bool = Field(default=False)
    # Next number for task codes (T-001 …) handed out in this plan.
    next_task_number: int = Field(default=1)
    # Counts the plan's task writes; each written task keeps the value it got (task.change_seq),
    # so a board view's change stamp is its columns' (count, highest change_seq).
    change_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Escalation ladder thresholds, in working days (DESIGN §7; README, "Escalation").
    escalate_blocked_team_days: int = Field(default=2, sa_column_kwargs={"server_default": "2"})
    escalate_blocked_executive_days: int = Field(
        default=5, sa_column_kwargs={"server_default": "5"}
    )
    escalate_directive_unit_days: int = Field(default=2, sa_column_kwargs={"server_default": "2"})
    escalate_directive_author_days: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    escalate_review_team_days: int = Field(default=2, sa_column_kwargs={"server_default": "2"})
    # The public promise page (/publik) is off until the team turns it on.
    public_enabled: bool = Field(default=False)
    # Bumped, with the time, by every change that shows on the public pages without writing a
    # task event (publishing, program and district names); with the plan's latest event id it
    # is the public pages' change stamp (ETag / Last-Modified).
    public_revision: int = Field(default=0)
    public_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The printed pack's letterhead: the organisation's name, and the logo's media type when
    # a logo is set (its bytes live in `plan_logo`, read only to serve the image).
    organisation_name: str = Field(default="", max_length=SHORT_MAX)
    logo_type: str = Field(default="", max_length=40)


class PlanLogo(TableModel, table=True):
    """The letterhead logo of a plan (a small PNG or JPEG, checked by content)."""

    __tablename__ = "plan_logo"

    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    content: bytes = Field(sa_type=sa.LargeBinary)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CurveCheckpoint(TableModel, table=True):
    """The plan-wide Kurva S replayed up to an event, written by the worker now and then
    (app.services.curve): a process that keeps no replay yet starts from here and replays
    only the events recorded since, instead of the plan's whole history."""

    __tablename__ = "curve_checkpoint"

    plan_id: int = Field(foreign_key="plan.id", primary_key=True)
    measure: str = Field(primary_key=True, max_length=10)  # "count" or "weight"
    # The date frame the sums are laid out on (the plan's dates, calendar and creation): a
    # checkpoint of another frame is not used.
    frame_key: str = Field(max_length=64)
    last_event_id: int
    payload: str = Field(sa_type=sa.Text)  # JSON: the per-date sums and each task's state
    written_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Holiday(Row, table=True):
    __tablename__ = "holiday"

    id: int | None = Field(default=None, primary_key=True)
    holiday_date: date = Field(unique=True)
    name: str = Field(max_length=SHORT_MAX)
    kind: HolidayKind = Field(default=HolidayKind.libur, sa_type=_enum(HolidayKind, "kind"))
    # "national" rows come from the `holidays` package; "team" rows are added by the team
    # (regional days such as the regency's anniversary).
    source: str = Field(default="team", max_length=20)


class HolidayYear(TableModel, table=True):
    """A year whose national holidays were loaded from the `holidays` package once.

    Loading never repeats for a recorded year, so a national day the team removed stays removed.
    """

    __tablename__ = "holiday_year"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- organisation ----------------------------------------------------------------------


class Unit(Row, table=True):
    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=SHORT_MAX)
    short_name: str = Field(max_length=60)
    kind: UnitKind = Field(sa_type=_enum(UnitKind, "kind"))
    head_title: str = Field(default="", max_length=60)
    head_name: str = Field(default="", max_length=SHORT_MAX)
    # Kemendagri region code (16.07.xx) for districts.
    region_code: str | None = Field(default=None, max_length=20)
    is_active: bool = Field(default=True)


class Program(Row, table=True):
    __tablename__ = "program"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    kind: ProgramKind = Field(sa_type=_enum(ProgramKind, "kind"))
    short_name: str = Field(max_length=60)
    name: str = Field(max_length=SHORT_MAX)
    sort_order: int = Field(default=0)
    is_active: bool = Field(default=True)
    # A published program is a promise on the public page, under its public title and text.
    is_public: bool = Field(default=False)
    public_title: str = Field(default="", max_length=SHORT_MAX)
    public_description: str = Field(default="", max_length=PUBLIC_TEXT_MAX)


# --- tasks -----------------------------------------------------------------------------


class TaskSupportingUnit(TableModel, table=True):
    __tablename__ = "task_supporting_unit"

    task_id: int = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    unit_id: int = Field(foreign_key="unit.id", primary_key=True, index=True)


class TaskProgram(TableModel, table=True):
    __tablename__ = "task_program"

    task_id: int = Field(foreign_key="task.id", primary_key=True, ondelete="CASCADE")
    program_id: int = Field(foreign_key="program.id", primary_key=True, index=True)


class Task(Row, table=True):
    __tablename__ = "task"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "code", name="uq_task_plan_id_code"),
        sa.Index("ix_task_board", "plan_id", "status", "position"),
        # Covers the board's column counts (services.board.column_counts): every board view
        # and every poll whose plan moved reads them, and the plan's rows stay untouched.
        sa.Index("ix_task_columns", "plan_id", "status", "weight", "change_seq", "updated_at"),
        # The same for a unit's view (every unit user's default board): the cards it leads,
        # without reading the rest of their columns.
        sa.Index(
            "ix_task_unit_columns",
            "plan_id",
            "lead_unit_id",
            "status",
            "weight",
            "change_seq",
            "updated_at",
        ),
        sa.CheckConstraint("weight >= 1", name="weight_positive"),
        sa.CheckConstraint("progress_pct BETWEEN 0 AND 100", name="progress_range"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id")
    code: str = Field(max_length=20)
    title: str = Field(max_length=TITLE_MAX)
    description: str = Field(default="", max_length=TEXT_MAX)
    lead_unit_id: int = Field(foreign_key="unit.id", index=True)
    district_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    village: str = Field(default="", max_length=SHORT_MAX)
    status: TaskStatus = Field(default=TaskStatus.todo, sa_type=_enum(TaskStatus, "status"))
    position: int = Field(default=1)
    weight: int = Field(default=1)
    due_date: date | None = None
    target: str = Field(default="", max_length=SHORT_MAX)
    realisation: str = Field(default="", max_length=SHORT_MAX)
    progress_pct: int = Field(default=0)
    blocked_reason: str = Field(default="", max_length=NOTE_MAX)
    needs_decision: bool = Field(default=False)
    version: int = Field(default=1)
    # The plan's change_seq at this task's last write, reorders included (see Plan).
    change_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The plan-local date the task was last sent to Menunggu Verifikasi (set on every move into
    # it): sent on or before its due date, it is not late while it waits (services.lateness).
    review_since_date: date | None = None
    # Listed by title and status on the public page of its published programs.
    is_public: bool = Field(default=False)


class TaskEvent(Row, table=True):
    """Append-only history: one row per change of a task, never updated or deleted."""

    __tablename__ = "task_event"
    __table_args__ = (
        sa.Index("ix_task_event_plan_id_id", "plan_id", "id"),
        # "When did this person last record anything in the plan": one seek per user.
        sa.Index("ix_task_event_actor_id_plan_id_at", "actor_id", "plan_id", "at"),
        # The plan's directives and follow-ups (the dashboard's, on every build): a few rows
        # among all of the plan's events.
        sa.Index("ix_task_event_plan_id_kind", "plan_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Denormalised from the task so plan-wide feeds, the burndown and change stamps need no join.
    plan_id: int = Field(foreign_key="plan.id")
    task_id: int = Field(foreign_key="task.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: EventKind = Field(sa_type=_enum(EventKind, "kind"))
    from_status: TaskStatus | None = Field(default=None, sa_type=_enum(TaskStatus, "from_status"))
    to_status: TaskStatus | None = Field(default=None, sa_type=_enum(TaskStatus, "to_status"))
    # {"field": [old, new], …} for the fields this change touched.
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    note: str = Field(default="", max_length=NOTE_MAX)


class Evidence(Row, table=True):
    """A piece of evidence (bukti dukung) on a task: an uploaded file or a link. Removal is a
    soft delete (`removed_at`, `removed_by`), so the history keeps who showed what, and when.
    Files are stored once per content under the data directory, named by their SHA-256."""

    __tablename__ = "evidence"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: EvidenceKind = Field(sa_type=_enum(EvidenceKind, "kind"))
    caption: str = Field(max_length=CAPTION_MAX)
    # Links only: the http(s) address.
    url: str = Field(default="", max_length=URL_MAX)
    # Files only: the sanitised original name, the type detected from the content, the size.
    filename: str = Field(default="", max_length=FILENAME_MAX)
    content_type: str = Field(default="", max_length=100)
    size_bytes: int = Field(default=0)
    sha256: str = Field(default="", max_length=64, index=True)
    uploaded_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_by: int | None = Field(default=None, foreign_key="user.id")
    # Marked by the team: shown on the public page (a photo, once its task is Selesai).
    is_public: bool = Field(default=False)


# --- people ----------------------------------------------------------------------------


class User(Row, table=True):
    __tablename__ = "user"
    __table_args__ = (
        sa.CheckConstraint("(role = 'unit') = (unit_id IS NOT NULL)", name="unit_role_has_unit"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    full_name: str = Field(max_length=SHORT_MAX)
    role: Role = Field(sa_type=_enum(Role, "role"))
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    # An executive's office (ExecutivePosition): labels their directives ("Arahan Bupati").
    position: str = Field(default="", max_length=40)
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set when the team resets the password to a one-time password: the next login must
    # choose a new one before anything else.
    must_change_password: bool = Field(default=False)


class LoginSession(Row, table=True):
    """A browser session or an API token; only the SHA-256 of the secret is stored."""

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    kind: SessionKind = Field(default=SessionKind.web, sa_type=_enum(SessionKind, "kind"))
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    user_agent: str = Field(default="", max_length=255)


# --- notifications ---------------------------------------------------------------------


class Channel(StrEnum):
    email = "email"
    telegram = "telegram"
    webhook = "webhook"


class NoticeKind(StrEnum):
    """What a user is told about; each user picks the kinds their channels carry."""

    assigned = "assigned"
    rejected = "rejected"
    verified = "verified"
    directive = "directive"
    follow_up = "follow_up"
    review = "review"
    blocked = "blocked"
    decision = "decision"
    decided = "decided"
    comment = "comment"
    escalation = "escalation"
    digest = "digest"


class DeliveryStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


# Quiet hours by default: 21:00–06:00 in the plan's timezone (minutes after midnight).
QUIET_START_DEFAULT = 21 * 60
QUIET_END_DEFAULT = 6 * 60


class NotificationSettings(TableModel, table=True):
    """A user's contact channels and what they want on them (one row per user, created on
    first use; no row means email/WhatsApp unknown and every channel off)."""

    __tablename__ = "notification_settings"

    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    email: str = Field(default="", max_length=254)
    whatsapp: str = Field(default="", max_length=20)
    telegram_chat_id: str | None = Field(default=None, max_length=32, unique=True)
    email_on: bool = Field(default=False)
    telegram_on: bool = Field(default=False)
    webhook_on: bool = Field(default=False)
    # Kinds the user does not want on their channels (the inbox always has everything).
    muted_kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    quiet_hours_on: bool = Field(default=True)
    quiet_start_minute: int = Field(default=QUIET_START_DEFAULT)
    quiet_end_minute: int = Field(default=QUIET_END_DEFAULT)
    # Telegram linking: SHA-256 of the one-time code and its expiry.
    telegram_code_hash: str | None = Field(default=None, max_length=64, unique=True)
    telegram_code_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A button that needs words next ("Terkendala" needs a reason): the next text message
    # from the chat completes it, checked against this version.
    pending_action: str = Field(default="", max_length=20)
    pending_task_id: int | None = Field(default=None)
    pending_version: int | None = Field(default=None)


class Notification(Row, table=True):
    """An entry of a user's in-app inbox (the bell)."""

    __tablename__ = "notification"
    __table_args__ = (sa.Index("ix_notification_user_id_read_at", "user_id", "read_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", ondelete="CASCADE")
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    event_id: int | None = Field(default=None, foreign_key="task_event.id", index=True)
    kind: NoticeKind = Field(sa_type=_enum(NoticeKind, "kind"))
    text: str = Field(max_length=NOTE_MAX)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(Row, table=True):
    """The outbox: one message for one user on one channel, written in the transaction of
    what caused it and sent by the worker (at least once; `idempotency_key` goes with it)."""

    __tablename__ = "delivery"
    __table_args__ = (sa.Index("ix_delivery_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    channel: Channel = Field(sa_type=_enum(Channel, "channel"))
    kind: NoticeKind = Field(sa_type=_enum(NoticeKind, "kind"))
    idempotency_key: str = Field(max_length=120, unique=True)
    notification_id: int | None = Field(default=None, foreign_key="notification.id")
    task_id: int | None = Field(default=None, foreign_key="task.id", index=True)
    # The task's version when written: Telegram buttons act only on that version.
    task_version: int | None = Field(default=None)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_type=sa.Text)
    body_html: str = Field(default="", sa_type=sa.Text)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending, sa_type=_enum(DeliveryStatus, "status")
    )
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A worker's claim: others leave the row alone until then (a killed worker's claim lapses).
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str = Field(default="", max_length=NOTE_MAX)
    # The channel's id for the sent message (Telegram message_id), to map replies back.
    external_id: str = Field(default="", max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoutineRun(Row, table=True):
    """A daily routine done for a date (the Laporan Pagi): the unique key makes it once."""

    __tablename__ = "routine_run"
    __table_args__ = (sa.UniqueConstraint("name", "run_date", name="uq_routine_run_name_date"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40)
    run_date: date
    finished_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    messages: int = Field(default=0)


class Escalation(Row, table=True):
    """A rung of the ladder fired for a task in one episode (the event that started it)."""

    __tablename__ = "escalation"
    __table_args__ = (
        sa.UniqueConstraint(
            "task_id", "rung", "episode_event_id", name="uq_escalation_task_rung_episode"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    rung: str = Field(max_length=40)
    episode_event_id: int = Field(foreign_key="task_event.id")
    event_id: int | None = Field(default=None, foreign_key="task_event.id")
    fired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TelegramUpdate(TableModel, table=True):
    """Telegram updates already handled: a replayed update_id changes nothing."""

    __tablename__ = "telegram_update"

    update_id: int = Field(
        primary_key=True, sa_type=sa.BigInteger, sa_column_kwargs={"autoincrement": False}
    )
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- API schemas -----------------------------------------------------------------------


class UnitPublic(SQLModel):
    id: int
    code: str
    name: str
    short_name: str
    kind: UnitKind
    head_title: str
    head_name: str
    region_code: str | None
    is_active: bool


class ProgramPublic(SQLModel):
    id: int
    code: str
    kind: ProgramKind
    short_name: str
    name: str
    is_active: bool


class PlanPublic(SQLModel):
    id: int
    name: str
    start_date: date
    length_days: int
    end_date: date
    day_mode: DayMode
    timezone: str
    baseline_at: datetime | None
    is_current: bool
    today_day: int = Field(description="Plan day of today (0 or less: before day 1).")
    today_label: str


class UserPublic(SQLModel):
    id: int
    username: str
    full_name: str
    role: Role
    unit_id: int | None
    is_active: bool


class TaskFields(SQLModel):
    """Fields the team sets when creating or editing a task."""

    title: SingleLineText = Field(min_length=3, max_length=TITLE_MAX)
    description: MultiLineText = Field(default="", max_length=TEXT_MAX)
    lead_unit_id: RowId
    supporting_unit_ids: list[RowId] = Field(default_factory=list, max_length=40)
    program_ids: list[RowId] = Field(default_factory=list, max_length=24)
    district_id: RowId | None = None
    village: SingleLineText = Field(default="", max_length=SHORT_MAX)
    due_date: date | None = None
    weight: int = Field(default=1, ge=1, le=100)
    target: SingleLineText = Field(default="", max_length=SHORT_MAX)
    needs_decision: bool = False


class TaskCreate(TaskFields):
    pass


NOT_NULL = "May not be null: leave the field out to keep its value."


def _not_nullable(schema: dict[str, Any]) -> None:
    """The field's schema without the `null` its Python type (`X | None`, for "not given")
    would offer: the API refuses an explicit null for it."""
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if options:
        schema.update(options[0])
    if "default" in schema and schema["default"] is None:
        del schema["default"]


class TaskUpdate(SQLModel):
    """A partial edit: only the fields given change. `version` is the one the client saw.

    `null` means what the schema says: it clears an optional field (`description`,
    `village`, `target` become empty, `supporting_unit_ids` and `program_ids` empty lists,
    `district_id` and `due_date` unset). Fields that cannot be empty (`title`,
    `lead_unit_id`, `weight`, `needs_decision`) do not offer `null`, and refuse it (422).
    """

    version: int = Field(ge=1, le=ID_MAX)
    title: SingleLineText | None = PydanticField(
        default=None, min_length=3, max_length=TITLE_MAX, json_schema_extra=_not_nullable
    )
    description: MultiLineText | None = Field(default=None, max_length=TEXT_MAX)
    lead_unit_id: RowId | None = PydanticField(default=None, json_schema_extra=_not_nullable)
    supporting_unit_ids: list[RowId] | None = Field(default=None, max_length=40)
    program_ids: list[RowId] | None = Field(default=None, max_length=24)
    district_id: RowId | None = None
    village: SingleLineText | None = Field(default=None, max_length=SHORT_MAX)
    due_date: date | None = None
    weight: int | None = PydanticField(default=None, ge=1, le=100, json_schema_extra=_not_nullable)
    target: SingleLineText | None = Field(default=None, max_length=SHORT_MAX)
    needs_decision: bool | None = PydanticField(default=None, json_schema_extra=_not_nullable)

    @field_validator("title", "lead_unit_id", "weight", "needs_decision")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Runs only for a value the client sent: an explicit null.
        if value is None:
            raise ValueError(NOT_NULL)
        return value

    @field_validator("description", "village", "target")
    @classmethod
    def _null_clears_text(cls, value: str | None) -> str:
        return "" if value is None else value

    @field_validator("supporting_unit_ids", "program_ids")
    @classmethod
    def _null_clears_list(cls, value: list[int] | None) -> list[int]:
        return [] if value is None else value


class ProgressUpdate(SQLModel):
    version: int = Field(ge=1, le=ID_MAX)
    progress_pct: int = Field(ge=0, le=100)
    realisation: SingleLineText = Field(default="", max_length=SHORT_MAX)
    note: MultiLineText = Field(default="", max_length=NOTE_MAX)


class TaskMove(SQLModel):
    version: int = Field(ge=1, le=ID_MAX)
    status: TaskStatus
    # Place the task right after this card of the target column; None puts it on top.
    after_id: RowId | None = None
    # Required when moving into `blocked`.
    blocked_reason: MultiLineText = Field(default="", max_length=NOTE_MAX)
    note: MultiLineText = Field(default="", max_length=NOTE_MAX)


class NoteCreate(SQLModel):
    note: MultiLineText = Field(min_length=1, max_length=NOTE_MAX)


class VersionedNote(SQLModel):
    version: int = Field(ge=1, le=ID_MAX)
    note: MultiLineText = Field(default="", max_length=NOTE_MAX)


class TaskPublic(SQLModel):
    id: int
    plan_id: int
    code: str
    title: str
    description: str
    lead_unit_id: int
    supporting_unit_ids: list[int]
    program_ids: list[int]
    district_id: int | None
    village: str
    status: TaskStatus
    position: int
    weight: int
    due_date: date | None
    target: str
    realisation: str
    progress_pct: int
    blocked_reason: str
    needs_decision: bool
    version: int
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class TaskEventPublic(SQLModel):
    id: int
    task_id: int
    actor_id: int | None
    actor_name: str | None
    at: datetime
    kind: EventKind
    from_status: TaskStatus | None
    to_status: TaskStatus | None
    changes: dict[str, Any]
    note: str


class EvidencePublic(SQLModel):
    id: int
    task_id: int
    kind: EvidenceKind
    caption: str
    url: str = Field(description="The link (kind `link`); empty for files.")
    filename: str = Field(description="The sanitised original name (kind `file`).")
    content_type: str = Field(description="Detected from the content, not from the name.")
    size_bytes: int
    sha256: str
    uploaded_by: int
    uploader_name: str | None
    created_at: datetime
    removed_at: datetime | None
    removed_by: int | None
    download_url: str | None = Field(description="API address of the file (kind `file`).")


class TaskPage(SQLModel):
    items: list[TaskPublic]
    total: int
    limit: int
    offset: int
