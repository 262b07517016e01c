"""The plan settings form as typed, with the escalation ladder and the public page switch."""

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX
from app.models import Plan
from app.timefmt import WIB

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
