"""The holiday form as typed."""

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX
from app.models import Holiday


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
