"""Reading an import's cells: text (formulas refused), dates, weights and statuses, and
unit, program and district names matched by code or name with suggestions for typos.

Every function raises `CellError` with the Indonesian message for the cell's problem; the
import (app.services.task_import) puts it after "Baris N, kolom X: ".
"""

import difflib
from collections.abc import Iterable
from datetime import date, datetime

from app import text_input
from app.models import SHORT_MAX, TEXT_MAX, TITLE_MAX, TaskStatus, Unit, UnitKind
from app.services import reference
from app.services.labels import STATUS_LABELS
from app.services.spreadsheet import FORMULA_PREFIXES, NEUTRAL_PREFIX, Cell, Formula
from app.timefmt import format_day_date

CODE_MAX = 20
# Statuses a spreadsheet may set; Terkendala and Dibatalkan need a reason, given on the board.
IMPORT_STATUSES = (TaskStatus.todo, TaskStatus.in_progress, TaskStatus.review, TaskStatus.done)
TEXT_LIMITS = {
    "code": CODE_MAX,
    "title": TITLE_MAX,
    "description": TEXT_MAX,
    "village": SHORT_MAX,
    "target": SHORT_MAX,
}


# --- names -------------------------------------------------------------------------------


def name_key(text: str) -> str:
    return " ".join(text.lower().split())


def district_key(key: str) -> str:
    bare = reference.DISTRICT_PREFIX.sub("", key)
    return reference.DISTRICT_ALIASES.get(bare, bare)


class Names:
    """Units or programs by code, name or short name, case- and space-insensitively; a
    district also by its bare name, Kemendagri code and known variant spellings."""

    def __init__(self, entries: Iterable[tuple[int, str, Iterable[str]]]) -> None:
        self.display: dict[int, str] = {}
        self.index: dict[str, set[int]] = {}
        for item_id, display, keys in entries:
            self.display[item_id] = display
            for raw in keys:
                if raw:
                    self.index.setdefault(name_key(raw), set()).add(item_id)

    def find(self, text: str) -> int | str:
        """The id, or the message saying why `text` names nothing (with a suggestion)."""
        key = name_key(text)
        found = self.index.get(key) or self.index.get(district_key(key))
        if found and len(found) == 1:
            return next(iter(found))
        if found:
            names = ", ".join(sorted(f"'{self.display[i]}'" for i in found))
            return f"'{text}' cocok dengan lebih dari satu ({names}); tuliskan kodenya."
        close = difflib.get_close_matches(key, list(self.index), n=1, cutoff=0.6)
        if close:
            suggestion = self.display[min(self.index[close[0]])]
            return f"'{text}' tidak dikenal — maksud Anda '{suggestion}'?"
        return f"'{text}' tidak dikenal."


def unit_keys(unit: Unit) -> list[str]:
    keys = [unit.code, unit.name, unit.short_name]
    if unit.kind == UnitKind.district:
        keys += [unit.region_code or "", district_key(name_key(unit.name))]
    return keys


# --- cells -------------------------------------------------------------------------------


class CellError(Exception):
    pass


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value).replace(".", ",")


def cell_text(cell: Cell, key: str) -> str:
    """A cell as text; formulas and formula-like text are refused (see README: an apostrophe
    in front, as the export writes it, marks such text as plain and is removed)."""
    if isinstance(cell, Formula):
        raise CellError(
            f"berisi rumus ({cell.text[:40]}); impor hanya menerima nilai. Salin lalu tempel "
            "sebagai nilai."
        )
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        text = cell.date().isoformat() if cell.time() == datetime.min.time() else str(cell)
    elif isinstance(cell, date):
        text = cell.isoformat()
    elif isinstance(cell, (int, float)):
        text = _number_text(cell)
    else:
        try:
            # Pasted line breaks become line breaks; other controls are refused (README).
            text = text_input.cell_text(cell).strip()
        except text_input.TextRefused as exc:
            raise CellError(
                f"berisi karakter yang tidak diizinkan ({text_input.describe(exc.char)}); "
                "hapus karakter itu lalu impor lagi."
            ) from None
        if text.startswith(NEUTRAL_PREFIX) and text[1:2] in FORMULA_PREFIXES:
            text = text[1:]
        elif text.startswith(FORMULA_PREFIXES):
            raise CellError(
                f"diawali '{text[0]}' sehingga dapat dijalankan sebagai rumus oleh program "
                "lembar kerja. Bila memang teks, awali dengan tanda petik (')."
            )
    limit = TEXT_LIMITS.get(key)
    if limit is not None and len(text) > limit:
        raise CellError(f"terlalu panjang ({len(text)} karakter; paling banyak {limit}).")
    if len(text) > TEXT_MAX:
        raise CellError(f"terlalu panjang ({len(text)} karakter; paling banyak {TEXT_MAX}).")
    return text


DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y")


def cell_date(cell: Cell, start: date, end: date) -> date | None:
    """A due date inside the plan (`start`–`end`), or None for an empty cell."""
    value: date | None
    if isinstance(cell, datetime):
        value = cell.date()
    elif isinstance(cell, date):
        value = cell
    elif isinstance(cell, (int, float)) and not isinstance(cell, bool) and 20000 < cell < 80000:
        # A date cell whose format was lost: Excel's day number.
        from openpyxl.utils.datetime import from_excel  # only for serial-number dates

        converted = from_excel(cell)
        value = converted.date() if isinstance(converted, datetime) else None
    else:
        text = cell_text(cell, "due_date")
        if not text:
            return None
        value = _parse_date(text)
        if value is None:
            raise CellError(
                f"'{text}' bukan tanggal. Gunakan 2025-03-15, 15/03/2025 atau sel tanggal Excel."
            )
    if value is None:
        raise CellError("bukan tanggal. Gunakan 2025-03-15, 15/03/2025 atau sel tanggal Excel.")
    if not start <= value <= end:
        raise CellError(
            f"{format_day_date(value)} di luar masa rencana "
            f"({format_day_date(start)} – {format_day_date(end)})."
        )
    return value


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def cell_weight(cell: Cell) -> int:
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        number: float = cell
    else:
        text = cell_text(cell, "weight") if not isinstance(cell, str) else cell.strip()
        if not text:
            return 1
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise CellError(f"'{text}' bukan bilangan bulat 1–100.") from None
    if not float(number).is_integer() or not 1 <= number <= 100:
        raise CellError(f"'{_number_text(number)}' bukan bilangan bulat 1–100.")
    return int(number)


def cell_status(cell: Cell) -> TaskStatus | None:
    text = cell_text(cell, "status")
    if not text:
        return None
    wanted = name_key(text)
    for status in TaskStatus:
        if wanted in (status.value, name_key(STATUS_LABELS[status])):
            return status
    labels = ", ".join(STATUS_LABELS[s] for s in IMPORT_STATUSES)
    close = difflib.get_close_matches(
        wanted, [name_key(STATUS_LABELS[s]) for s in IMPORT_STATUSES], n=1
    )
    hint = ""
    if close:
        hint = next(
            f" Maksud Anda '{STATUS_LABELS[s]}'?"
            for s in IMPORT_STATUSES
            if name_key(STATUS_LABELS[s]) == close[0]
        )
    raise CellError(f"'{text}' bukan status yang dikenal ({labels}).{hint}")


def needs_reason(status: TaskStatus | None) -> str:
    label = STATUS_LABELS[status] if status is not None else ""
    if status == TaskStatus.cancelled:
        return f"status {label} memerlukan alasan; batalkan tugas lewat halaman tugasnya."
    return f"status {label} memerlukan alasan kendala; pindahkan tugas lewat papan."


def find_one(names: Names, text: str) -> int:
    found = names.find(text)
    if isinstance(found, str):
        raise CellError(found)
    return found


def find_many(names: Names, text: str) -> list[int]:
    """Names separated by ";" — or by "," where that is how a part reads (some agency names
    contain commas, so "," is tried only when the part as a whole names nothing)."""
    ids: list[int] = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        found = names.find(part)
        if isinstance(found, str) and "," in part:
            pieces = [names.find(p.strip()) for p in part.split(",") if p.strip()]
            if all(isinstance(p, int) for p in pieces):
                ids.extend(p for p in pieces if isinstance(p, int))
                continue
        if isinstance(found, str):
            raise CellError(found)
        ids.append(found)
    return sorted(dict.fromkeys(ids))
