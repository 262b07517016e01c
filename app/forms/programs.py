"""The program form as typed, with its public title and text for /publik."""

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX
from app.models import Program


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
