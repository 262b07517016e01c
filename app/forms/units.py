"""The unit form (an agency or a kecamatan) as typed."""

import re
from dataclasses import dataclass

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX, Checker
from app.models import SHORT_MAX, Unit, UnitKind

REGION_CODE_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


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


@dataclass(frozen=True)
class UnitData:
    """The unit form, parsed: what app.services.units takes."""

    kind: UnitKind
    code: str
    name: str
    short_name: str
    head_title: str
    head_name: str
    region_code: str | None


def parse_unit(data: UnitInput) -> UnitData:
    """Every field checked at once; FormErrors names each wrong one."""
    check = Checker()
    kind = check.choice(data.kind, field="kind", enum=UnitKind)
    code = check.code(data.code)
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    short_name = check.text(data.short_name, field="short_name", max_length=60)
    head_title = check.text(data.head_title, field="head_title", max_length=60, required=False)
    head_name = check.text(data.head_name, field="head_name", max_length=SHORT_MAX, required=False)
    region_code = data.region_code.strip()
    if kind == UnitKind.district and not REGION_CODE_RE.match(region_code):
        check.fail("region_code", "Kecamatan wajib memiliki kode wilayah Kemendagri (16.07.xx).")
    elif kind == UnitKind.agency and region_code:
        check.fail("region_code", "Kode wilayah hanya diisi untuk kecamatan.")
    check.done()
    return UnitData(
        kind=check.checked(kind),
        code=code,
        name=name,
        short_name=short_name,
        head_title=head_title,
        head_name=head_name,
        region_code=region_code or None,
    )
