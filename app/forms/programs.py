"""The program form as typed, with its public title and text for /publik."""

from dataclasses import dataclass

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX, Checker
from app.models import PUBLIC_TEXT_MAX, SHORT_MAX, Program, ProgramKind

SORT_ORDER_MAX = 9999


class ProgramInput(BaseModel):
    """The program form as typed."""

    kind: str = Field(default="", max_length=RAW_MAX)
    code: str = Field(default="", max_length=RAW_MAX)
    short_name: str = Field(default="", max_length=RAW_MAX)
    name: str = Field(default="", max_length=RAW_MAX)
    sort_order: str = Field(default="", max_length=RAW_MAX)
    # The public page (/publik): published or not, under which title and text.
    is_public: bool = False
    public_title: str = Field(default="", max_length=RAW_MAX)
    public_description: str = Field(default="", max_length=4 * RAW_MAX)

    @classmethod
    def of(cls, program: Program) -> "ProgramInput":
        return cls(
            kind=program.kind.value,
            code=program.code,
            short_name=program.short_name,
            name=program.name,
            sort_order=str(program.sort_order),
            is_public=program.is_public,
            public_title=program.public_title,
            public_description=program.public_description,
        )


@dataclass(frozen=True)
class ProgramData:
    """The program form, parsed: what app.services.programs takes."""

    kind: ProgramKind
    code: str
    short_name: str
    name: str
    # None: keep the current place, or come last among the programs of its kind.
    sort_order: int | None
    is_public: bool
    public_title: str
    public_description: str


def parse_program(data: ProgramInput) -> ProgramData:
    """Every field checked at once; FormErrors names each wrong one."""
    check = Checker()
    kind = check.choice(data.kind, field="kind", enum=ProgramKind)
    code = check.code(data.code)
    short_name = check.text(data.short_name, field="short_name", max_length=60)
    name = check.text(data.name, field="name", max_length=SHORT_MAX)
    # A published program needs its public title; the text is optional.
    public_title = check.text(
        data.public_title, field="public_title", max_length=SHORT_MAX, required=data.is_public
    )
    public_description = check.text(
        data.public_description,
        field="public_description",
        max_length=PUBLIC_TEXT_MAX,
        required=False,
    )
    sort_order: int | None = None
    if data.sort_order.strip():
        sort_order = check.number(data.sort_order, field="sort_order", low=0, high=SORT_ORDER_MAX)
    check.done()
    return ProgramData(
        kind=check.checked(kind),
        code=code,
        short_name=short_name,
        name=name,
        sort_order=sort_order,
        is_public=data.is_public,
        public_title=public_title,
        public_description=public_description,
    )
