"""The plan settings form as typed, with the escalation ladder and the public page switch."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import available_timezones

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX, YEAR_MAX, YEAR_MIN, Checker
from app.models import SHORT_MAX, DayMode, Plan
from app.timefmt import WIB

PLAN_LENGTH_MAX = 2000

ESCALATION_FIELDS = (
    "escalate_blocked_team_days",
    "escalate_blocked_executive_days",
    "escalate_review_team_days",
    "escalate_directive_unit_days",
    "escalate_directive_author_days",
)
ESCALATION_DAYS_MAX = 60


class PlanInput(BaseModel):
    """The plan form as typed; `baseline_at` is a WIB date-time ("2025-02-20T08:00")."""

    name: str = Field(default="", max_length=RAW_MAX)
    start_date: str = Field(default="", max_length=RAW_MAX)
    length_days: str = Field(default="", max_length=RAW_MAX)
    day_mode: str = Field(default="", max_length=RAW_MAX)
    timezone: str = Field(default="", max_length=RAW_MAX)
    baseline_at: str = Field(default="", max_length=RAW_MAX)
    make_current: bool = False
    # The escalation ladder, in working days (app.services.escalation).
    escalate_blocked_team_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_blocked_executive_days: str = Field(default="5", max_length=RAW_MAX)
    escalate_review_team_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_directive_unit_days: str = Field(default="2", max_length=RAW_MAX)
    escalate_directive_author_days: str = Field(default="5", max_length=RAW_MAX)
    # The public promise page (/publik) of this plan, while it is the current one.
    public_enabled: bool = False

    @classmethod
    def of(cls, plan: Plan) -> "PlanInput":
        baseline = ""
        if plan.baseline_at is not None:
            baseline = plan.baseline_at.astimezone(WIB).strftime("%Y-%m-%dT%H:%M")
        return cls(
            name=plan.name,
            start_date=plan.start_date.isoformat(),
            length_days=str(plan.length_days),
            day_mode=plan.day_mode.value,
            timezone=plan.timezone,
            baseline_at=baseline,
            make_current=plan.is_current,
            **{name: str(getattr(plan, name)) for name in ESCALATION_FIELDS},
            public_enabled=plan.public_enabled,
        )


@dataclass(frozen=True)
class PlanData:
    """The plan form, parsed: what app.services.plans.settings takes."""

    name: str
    start_date: date
    length_days: int
    day_mode: DayMode
    timezone: str
    baseline_at: datetime | None
    make_current: bool
    # The escalation ladder: field name → working days.
    ladder: dict[str, int]
    public_enabled: bool


@lru_cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _parse_baseline(check: Checker, raw: str) -> datetime | None:
    value = raw.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        check.fail("baseline_at", "Waktu tidak valid; isi tanggal dan jam (WIB).")
        return None
    if not YEAR_MIN <= parsed.year <= YEAR_MAX:
        check.fail("baseline_at", f"Tahun harus antara {YEAR_MIN} dan {YEAR_MAX}.")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=WIB)
    return parsed.astimezone(UTC)


def parse_plan(data: PlanInput) -> PlanData:
    """Every field checked at once; FormErrors names each wrong one."""
    check = Checker()
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    start = check.day(data.start_date, field="start_date")
    length = check.number(data.length_days, field="length_days", low=1, high=PLAN_LENGTH_MAX)
    mode = check.choice(data.day_mode, field="day_mode", enum=DayMode)
    timezone = data.timezone.strip()
    if timezone not in _timezones():
        check.fail("timezone", "Pilih zona waktu: WIB, WITA atau WIT.")
    baseline = _parse_baseline(check, data.baseline_at)
    ladder = {
        name: check.number(getattr(data, name), field=name, low=1, high=ESCALATION_DAYS_MAX)
        for name in ESCALATION_FIELDS
    }
    for lower, upper in (
        ("escalate_blocked_team_days", "escalate_blocked_executive_days"),
        ("escalate_directive_unit_days", "escalate_directive_author_days"),
    ):
        low, high = ladder[lower], ladder[upper]
        if low is not None and high is not None and high <= low:
            check.fail(upper, f"Harus lebih dari {low} hari kerja (anak tangga sebelumnya).")
    check.done()
    return PlanData(
        name=name,
        start_date=check.checked(start),
        length_days=check.checked(length),
        day_mode=check.checked(mode),
        timezone=timezone,
        baseline_at=baseline,
        make_current=data.make_current,
        ladder={field: days for field, days in ladder.items() if days is not None},
        public_enabled=data.public_enabled,
    )
