"""The holiday form as typed."""

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX, Checker
from app.models import SHORT_MAX, Holiday, HolidayKind


class HolidayInput(BaseModel):
    """The holiday form as typed."""

    holiday_date: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    kind: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, holiday: Holiday) -> "HolidayInput":
        return cls(
            holiday_date=holiday.holiday_date.isoformat(),
            name=holiday.name,
            kind=holiday.kind.value,
        )


@dataclass(frozen=True)
class HolidayData:
    """The holiday form, parsed: what app.services.holidays takes."""

    holiday_date: date
    name: str
    kind: HolidayKind


def parse_holiday(data: HolidayInput) -> HolidayData:
    """Every field checked at once; FormErrors names each wrong one."""
    check = Checker()
    day = check.day(data.holiday_date, field="holiday_date")
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    kind = check.choice(data.kind, field="kind", enum=HolidayKind)
    check.done()
    return HolidayData(holiday_date=check.checked(day), name=name, kind=check.checked(kind))
