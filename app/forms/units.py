"""The unit form (an agency or a kecamatan) as typed."""

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX
from app.models import Unit


class UnitInput(BaseModel):
    """The unit form as typed.

    Every field of the `*Input` models defaults to "": FastAPI treats an empty form field as
    absent and substitutes the default, so any other default would silently replace a value
    the user cleared (a cleared plan length would become 100). The blank forms set their
    initial values explicitly (`blank_unit`, `blank_plan`, …)."""

    kind: str = Field(default="", max_length=RAW_MAX)
    code: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    short_name: str = Field(default="", max_length=RAW_MAX)
    head_title: str = Field(default="", max_length=RAW_MAX)
    head_name: str = Field(default="", max_length=RAW_MAX)
    region_code: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, unit: Unit) -> "UnitInput":
        return cls(
            kind=unit.kind.value,
            code=unit.code,
            name=unit.name,
            short_name=unit.short_name,
            head_title=unit.head_title,
            head_name=unit.head_name,
            region_code=unit.region_code or "",
        )
