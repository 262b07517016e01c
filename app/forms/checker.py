"""Field checks for the forms typed as plain strings: each check parses one field and notes
one Indonesian message per wrong field, so a form reports every wrong field at once."""

import re
from datetime import date
from typing import TypeVar

from app import text_input
from app.forms.errors import FormErrors
from app.models import DayMode, ExecutivePosition, HolidayKind, ProgramKind, Role, UnitKind
from app.timefmt import parse_typed_date

# Form fields are capped well above any real value; the checks give the precise limits.
RAW_MAX = 1000
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
NUMBER_RE = re.compile(r"^[0-9]{1,9}$")
# Plans and holidays outside these years are typing mistakes, not plans.
YEAR_MIN, YEAR_MAX = 2000, 2100
REQUIRED = "Wajib diisi."

E = TypeVar("E", UnitKind, ProgramKind, DayMode, HolidayKind, Role, ExecutivePosition)
T = TypeVar("T")


class Checker:
    """Collects one message per field while parsing a form."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def done(self) -> None:
        if self.errors:
            raise FormErrors(self.errors)

    def checked(self, value: T | None) -> T:
        """A value parsed by this checker, read after `done()`. The parsers return None only
        with a failure, and `done()` raises on any, so a None here is a bug in the caller."""
        if value is None or self.errors:
            raise RuntimeError("a checked value was read before done() or after a failure")
        return value

    def text(self, raw: str, *, field: str, max_length: int, required: bool = True) -> str:
        try:
            raw = text_input.clean_text(raw, multiline=False)
        except text_input.TextRefused as exc:
            self.fail(field, exc.message)
            return ""
        value = " ".join(raw.split())
        if required and not value:
            self.fail(field, REQUIRED)
        elif len(value) > max_length:
            self.fail(field, f"Terlalu panjang (maks. {max_length} karakter).")
        return value

    def code(self, raw: str, *, field: str = "code") -> str:
        try:
            raw = text_input.clean_text(raw, multiline=False)
        except text_input.TextRefused as exc:
            self.fail(field, exc.message)
            return ""
        value = raw.strip().upper()
        if not value:
            self.fail(field, REQUIRED)
        elif not CODE_RE.match(value):
            self.fail(
                field,
                "Kode 2–32 karakter: huruf, angka, titik, garis bawah atau tanda hubung "
                "(tanpa spasi).",
            )
        return value

    def number(self, raw: str, *, field: str, low: int, high: int) -> int | None:
        value = raw.strip()
        if not value:
            self.fail(field, REQUIRED)
            return None
        if not NUMBER_RE.match(value) or not low <= int(value) <= high:
            self.fail(field, f"Isi bilangan bulat {low}–{high}.")
            return None
        return int(value)

    def choice(self, raw: str, *, field: str, enum: type[E]) -> E | None:
        try:
            return enum(raw.strip())
        except ValueError:
            self.fail(field, "Pilih salah satu pilihan yang tersedia.")
            return None

    def day(self, raw: str, *, field: str) -> date | None:
        value = raw.strip()
        if not value:
            self.fail(field, REQUIRED)
            return None
        try:
            parsed = parse_typed_date(value)
        except ValueError:
            self.fail(field, "Tanggal tidak valid; gunakan format HH/BB/TTTT, misalnya 15/12/2026.")
            return None
        if not YEAR_MIN <= parsed.year <= YEAR_MAX:
            self.fail(field, f"Tahun harus antara {YEAR_MIN} dan {YEAR_MAX}.")
            return None
        return parsed
