"""The user form as typed, and its parse into the typed choices app.services.accounts takes.

Passwords are never sent back to the browser."""

from dataclasses import dataclass

from pydantic import BaseModel, Field

from app.forms.checker import RAW_MAX, REQUIRED, Checker
from app.models import ID_MAX, ExecutivePosition, Role, User

POSITION_NOT_EXECUTIVE = (
    "Jabatan hanya untuk peran Pimpinan; kosongkan jabatan atau pilih peran Pimpinan."
)


class UserInput(BaseModel):
    """The user form as typed."""

    username: str = Field(default="", max_length=RAW_MAX)
    full_name: str = Field(default="", max_length=RAW_MAX)
    role: str = Field(default="", max_length=RAW_MAX)
    unit_id: str = Field(default="", max_length=RAW_MAX)
    # An executive's office (ExecutivePosition value), "" for none.
    position: str = Field(default="", max_length=RAW_MAX)
    is_active: bool = False
    password: str = Field(default="", max_length=RAW_MAX)
    password_repeat: str = Field(default="", max_length=RAW_MAX)

    @classmethod
    def of(cls, user: User) -> "UserInput":
        return cls(
            username=user.username,
            full_name=user.full_name,
            role=user.role.value,
            unit_id=str(user.unit_id or ""),
            position=user.position,
            is_active=user.is_active,
        )

    def without_passwords(self) -> "UserInput":
        return self.model_copy(update={"password": "", "password_repeat": ""})


@dataclass(frozen=True)
class UserData:
    """The user form, parsed. Username, name and password rules are the service's
    (app.services.accounts), shared with the command line."""

    username: str
    full_name: str
    role: Role
    unit_id: int | None
    position: ExecutivePosition | None
    is_active: bool
    password: str


def parse_user(data: UserInput, *, password_required: bool) -> UserData:
    """Role, unit and office from the form; the two passwords must match."""
    check = Checker()
    role = check.choice(data.role, field="role", enum=Role)
    unit_id: int | None = None
    # A unit chosen earlier and left selected does not matter once the role is not `unit`.
    if role == Role.unit and data.unit_id.strip():
        unit_id = check.number(data.unit_id, field="unit_id", low=1, high=ID_MAX)
    # An office, unlike a unit, is refused on another role rather than dropped: it puts
    # directives in that office's name, so a mismatch most likely means the wrong role.
    position: ExecutivePosition | None = None
    if data.position.strip():
        position = check.choice(data.position, field="position", enum=ExecutivePosition)
        if position is not None and role is not None and role != Role.executive:
            check.fail("position", POSITION_NOT_EXECUTIVE)
    if password_required and not data.password:
        check.fail("password", REQUIRED)
    elif data.password != data.password_repeat:
        check.fail("password_repeat", "Kedua kata sandi tidak sama.")
    check.done()
    return UserData(
        username=data.username,
        full_name=data.full_name,
        role=check.checked(role),
        unit_id=unit_id,
        position=position,
        is_active=data.is_active,
        password=data.password,
    )
