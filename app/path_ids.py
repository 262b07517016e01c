"""One bounded type for every id in a path (`{task_id}`, `{evidence_id}`, `{unit_id}` …), on
pages and in the API alike.

An id is 1 to 10 ASCII digits whose value fits the 32-bit columns (1 … ID_MAX). Anything
else in its place — `0`, `-1`, `1.0`, `1e3`, `٣`, 2^63, twenty nines — names no row, so it
answers **404** like an id that does not exist (app.main turns a failed path parameter into
a 404), and never reaches the database. Import the alias for the id a route takes; a test
walks the route table and fails on any `*_id` path parameter declared otherwise.
"""

import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from app.models import ID_MAX

_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)
ERROR_TYPE = "path_id"


def _digits_only(value: Any) -> Any:
    # Pydantic's lax int would take "1.0" and other spellings; an id is digits only. Starlette's
    # `{x:int}` convertor hands over an int already; the bounds below still apply to it.
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise PydanticCustomError(ERROR_TYPE, "Not an id: 1 to 10 digits expected.")
    return value


_ID = BeforeValidator(_digits_only)


def _path(description: str) -> Any:
    return Path(ge=1, le=ID_MAX, description=description)


TaskId = Annotated[int, _ID, _path("The task's id.")]
EvidenceId = Annotated[int, _ID, _path("The evidence item's id.")]
UnitId = Annotated[int, _ID, _path("The unit's id.")]
ProgramId = Annotated[int, _ID, _path("The program's id.")]
DistrictId = Annotated[int, _ID, _path("The district's (kecamatan's) unit id.")]
UserId = Annotated[int, _ID, _path("The user's id.")]
PlanId = Annotated[int, _ID, _path("The plan's id.")]
HolidayId = Annotated[int, _ID, _path("The holiday's id.")]
NotificationId = Annotated[int, _ID, _path("The inbox notification's id.")]
DeliveryId = Annotated[int, _ID, _path("The delivery's id.")]

# How a 404 names what was asked for ("Unit #0 tidak ditemukan."), as the services do.
LABELS = {
    "task_id": "Tugas",
    "evidence_id": "Bukti dukung",
    "unit_id": "Unit",
    "program_id": "Program",
    "district_id": "Kecamatan",
    "user_id": "Pengguna",
    "holiday_id": "Hari libur",
    "notification_id": "Notifikasi",
    "delivery_id": "Pengiriman",
}
GENERIC_NOT_FOUND = "Halaman atau data yang Anda cari tidak ditemukan."


def not_found_message(field: str, value: Any) -> str:
    """The 404 message for a path id that cannot exist; a value that is not even a number
    is not repeated back."""
    if field == "plan_id":
        return "Rencana kerja tidak ditemukan."
    label = LABELS.get(field)
    shown = str(value)
    if label is None or not (shown.isascii() and shown.isdigit()):
        return GENERIC_NOT_FOUND
    return f"{label} #{shown[:24]} tidak ditemukan."
