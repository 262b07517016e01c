"""The task pages' forms: raw form strings → TaskCreate / TaskUpdate / ProgressUpdate / …,
with one Indonesian message per offending field, and the choices the forms offer.

Parsing never touches the database; `form_options` reads the units and programs (two
queries). Values are kept as the user typed them so a rejected form re-renders unchanged.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.forms.errors import FORM_KEY, FormErrors
from app.models import (
    ID_MAX,
    NOTE_MAX,
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    NoteCreate,
    Program,
    ProgramKind,
    ProgressUpdate,
    Task,
    TaskCreate,
    TaskMove,
    TaskStatus,
    TaskUpdate,
    Unit,
    UnitKind,
    VersionedNote,
)
from app.services import reference
from app.services.labels import FIELD_LABELS, ValueWords
from app.sorting import text_order
from app.timefmt import parse_typed_date

# A rejected form echoes what was typed; beyond this it is noise, not a draft worth keeping.
KEEP_MAX = TEXT_MAX * 2


FIELD_LIMITS = {
    "title": TITLE_MAX,
    "description": TEXT_MAX,
    "village": SHORT_MAX,
    "target": SHORT_MAX,
    "realisation": SHORT_MAX,
    "note": NOTE_MAX,
    "blocked_reason": NOTE_MAX,
}

VERSION_MESSAGE = (
    "Formulir tidak lengkap: versi tugas tidak terbaca. Muat ulang halaman lalu coba lagi."
)
DATE_MESSAGE = "Tanggal tidak valid. Gunakan format HH/BB/TTTT, misalnya 15/12/2026."
CHOICE_MESSAGE = "Pilihan tidak dikenal."


class FormLike(Protocol):
    """What the parsers need from Starlette's FormData (and what tests can fake with a dict)."""

    def getlist(self, key: Any) -> list[Any]: ...


# --- raw values --------------------------------------------------------------------------


def _text(form: FormLike, name: str) -> str:
    for value in form.getlist(name):
        if isinstance(value, str):
            return value[:KEEP_MAX]
    return ""


def text_field(form: FormLike, name: str) -> str:
    """A text field as typed (cut at KEEP_MAX, past any length the services accept)."""
    return _text(form, name)


def _texts(form: FormLike, name: str) -> list[str]:
    return [v[:32] for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def kept_input(form: FormLike, *names: str) -> dict[str, str]:
    """The named fields as typed, to put back into a form that must be shown again."""
    return {name: _text(form, name) for name in names}


@dataclass
class TaskFormValues:
    """The task form as strings: what the user typed, or the task's current values."""

    title: str = ""
    description: str = ""
    lead_unit_id: str = ""
    supporting_unit_ids: list[str] = field(default_factory=list)
    program_ids: list[str] = field(default_factory=list)
    district_id: str = ""
    village: str = ""
    due_date: str = ""
    weight: str = "1"
    target: str = ""
    needs_decision: bool = False
    version: str = ""

    @classmethod
    def from_form(cls, form: FormLike) -> "TaskFormValues":
        return cls(
            title=_text(form, "title"),
            description=_text(form, "description"),
            lead_unit_id=_text(form, "lead_unit_id").strip(),
            supporting_unit_ids=_texts(form, "supporting_unit_ids"),
            program_ids=_texts(form, "program_ids"),
            district_id=_text(form, "district_id").strip(),
            village=_text(form, "village"),
            due_date=_text(form, "due_date").strip(),
            weight=_text(form, "weight").strip(),
            target=_text(form, "target"),
            # A checkbox sends its value only when ticked.
            needs_decision=bool(form.getlist("needs_decision")),
            version=_text(form, "version").strip(),
        )

    @classmethod
    def from_task(
        cls, task: Task, *, supporting_unit_ids: Sequence[int], program_ids: Sequence[int]
    ) -> "TaskFormValues":
        return cls(
            title=task.title,
            description=task.description,
            lead_unit_id=str(task.lead_unit_id),
            supporting_unit_ids=[str(u) for u in sorted(supporting_unit_ids)],
            program_ids=[str(p) for p in sorted(program_ids)],
            district_id="" if task.district_id is None else str(task.district_id),
            village=task.village,
            due_date="" if task.due_date is None else task.due_date.isoformat(),
            weight=str(task.weight),
            target=task.target,
            needs_decision=task.needs_decision,
            version=str(task.version),
        )


# --- messages ----------------------------------------------------------------------------


def _message(error: Mapping[str, Any], field_name: str) -> str:
    """One Indonesian sentence for one pydantic error."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "string_too_short":
        if not given:
            return "Wajib diisi."
        return f"Terlalu pendek: paling sedikit {ctx.get('min_length')} karakter."
    if kind == "string_too_long":
        length = len(given) if isinstance(given, str) else 0
        return (
            f"Terlalu panjang: paling banyak {_thousands(ctx.get('max_length'))} karakter "
            f"(sekarang {_thousands(length)})."
        )
    if kind == "too_long":
        return f"Terlalu banyak pilihan: paling banyak {ctx.get('max_length')}."
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "Harus berupa bilangan bulat."
    if kind == "greater_than_equal":
        return f"Paling kecil {ctx.get('ge')}."
    if kind == "less_than_equal":
        return f"Paling besar {ctx.get('le')}."
    if kind.startswith("date_"):
        return DATE_MESSAGE
    if kind == "missing":
        return "Wajib diisi."
    if kind in ("enum", "literal_error"):
        return CHOICE_MESSAGE
    return "Isian tidak valid."


def _typed_date(raw: str) -> str | None:
    """ISO for the model when the text is a date in either accepted form; otherwise the text
    itself, so the model's check names the field with DATE_MESSAGE."""
    if not raw:
        return None
    try:
        return parse_typed_date(raw).isoformat()
    except ValueError:
        return raw


def _thousands(value: Any) -> str:
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


def validation_messages(exc: ValidationError) -> dict[str, str]:
    """{field: message} for the first error of each field of a pydantic ValidationError."""
    messages: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or (FORM_KEY,)
        name = str(loc[0])
        if name not in messages:
            messages[name] = _message(error, name)
    return messages


def _version_field(form: FormLike) -> int | None:
    """The version the client saw, or None when it is missing or garbled."""
    return _parse_id(_text(form, "version").strip())


def _parse_id(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= ID_MAX else None


def _validate(schema: Any, payload: dict[str, Any], errors: dict[str, str]) -> Any:
    """`schema.model_validate(payload)`, with its messages added to `errors` (first wins)."""
    try:
        result = schema.model_validate(payload)
    except ValidationError as exc:
        for name, message in validation_messages(exc).items():
            errors.setdefault(name, message)
        raise FormErrors(errors) from None
    if errors:
        raise FormErrors(errors)
    return result


# --- the task form -----------------------------------------------------------------------


def _task_payload(values: TaskFormValues, errors: dict[str, str]) -> dict[str, Any]:
    """The typed payload common to create and edit; reference and required errors go to
    `errors` (the service still checks that the ids exist)."""
    if not values.title.strip():
        errors["title"] = "Judul wajib diisi."
    lead = _parse_id(values.lead_unit_id)
    if not values.lead_unit_id:
        errors["lead_unit_id"] = "Pilih penanggung jawab."
    elif lead is None:
        errors["lead_unit_id"] = CHOICE_MESSAGE
    district = _parse_id(values.district_id)
    if values.district_id and district is None:
        errors["district_id"] = CHOICE_MESSAGE
    supporting = [_parse_id(v) for v in values.supporting_unit_ids]
    if None in supporting:
        errors["supporting_unit_ids"] = CHOICE_MESSAGE
    programs = [_parse_id(v) for v in values.program_ids]
    if None in programs:
        errors["program_ids"] = CHOICE_MESSAGE
    if not values.weight:
        errors["weight"] = "Wajib diisi: bilangan bulat, paling kecil 1."
    # Where an id is unusable its error is already recorded; a placeholder keeps the rest of
    # the payload checkable (list lengths included) so every field gets its message at once.
    return {
        "title": values.title,
        "description": values.description,
        "lead_unit_id": lead or 0,
        "supporting_unit_ids": [i or 0 for i in supporting],
        "program_ids": [i or 0 for i in programs],
        "district_id": district,
        "village": values.village,
        "due_date": _typed_date(values.due_date),
        "weight": values.weight or 1,
        "target": values.target,
        "needs_decision": values.needs_decision,
    }


def task_create(values: TaskFormValues) -> TaskCreate:
    """The new-task form as a TaskCreate, or FormErrors with a message per field."""
    errors: dict[str, str] = {}
    payload = _task_payload(values, errors)
    result: TaskCreate = _validate(TaskCreate, payload, errors)
    return result


def task_update(values: TaskFormValues) -> TaskUpdate:
    """The edit form as a TaskUpdate carrying every field (the service records what changed)."""
    errors: dict[str, str] = {}
    version = _parse_id(values.version)
    if version is None:
        errors[FORM_KEY] = VERSION_MESSAGE
    payload = _task_payload(values, errors)
    payload["version"] = version or 1
    # Title and text fields: strip here, TaskUpdate does not.
    for name in ("title", "description", "village", "target"):
        payload[name] = payload[name].strip()
    result: TaskUpdate = _validate(TaskUpdate, payload, errors)
    return result


# --- the detail page's action forms ------------------------------------------------------


def progress_update(form: FormLike) -> ProgressUpdate:
    errors: dict[str, str] = {}
    version = _version_field(form)
    if version is None:
        errors[FORM_KEY] = VERSION_MESSAGE
    raw_pct = _text(form, "progress_pct").strip().removesuffix("%").strip()
    if not raw_pct:
        errors["progress_pct"] = "Isi capaian dalam persen, 0 sampai 100."
    payload = {
        "version": version or 1,
        "progress_pct": raw_pct or 0,
        "realisation": _text(form, "realisation"),
        "note": _text(form, "note"),
    }
    result: ProgressUpdate = _validate(ProgressUpdate, payload, errors)
    return result


def task_move(form: FormLike) -> TaskMove:
    errors: dict[str, str] = {}
    version = _version_field(form)
    if version is None:
        errors[FORM_KEY] = VERSION_MESSAGE
    status = _text(form, "status").strip()
    if not status:
        errors["status"] = "Pilih status tujuan."
    elif status not in {s.value for s in TaskStatus} or status == TaskStatus.cancelled:
        errors["status"] = CHOICE_MESSAGE
    # The card a drop lands after (the board); none puts it on top of the column.
    raw_after = _text(form, "after_id").strip()
    after_id = _parse_id(raw_after) if raw_after else None
    if raw_after and after_id is None:
        errors["after_id"] = CHOICE_MESSAGE
    payload = {
        "version": version or 1,
        "status": status if "status" not in errors else TaskStatus.todo,
        "after_id": after_id,
        "blocked_reason": _text(form, "blocked_reason"),
        "note": _text(form, "note"),
    }
    result: TaskMove = _validate(TaskMove, payload, errors)
    return result


def note_text(form: FormLike) -> str:
    """A note or directive: 1 to NOTE_MAX characters after trimming."""
    errors: dict[str, str] = {}
    raw = _text(form, "note").strip()
    if not raw:
        raise FormErrors({"note": "Catatan tidak boleh kosong."})
    result: NoteCreate = _validate(NoteCreate, {"note": raw}, errors)
    return result.note


def confirm_incomplete_review(form: FormLike, *, progress_pct: int, status: str) -> None:
    """Sending a task under 100 % for verification needs the sender's confirmation."""
    if status != TaskStatus.review.value or progress_pct >= 100:
        return
    if _text(form, "confirm_incomplete") != "1":
        raise FormErrors(
            {
                "confirm_incomplete": (
                    f"Capaian tugas ini baru {progress_pct} %. Centang konfirmasi bila tugas "
                    "memang sudah selesai dan siap diverifikasi, atau perbarui capaian lebih dulu."
                )
            }
        )


def versioned_note(form: FormLike) -> VersionedNote:
    """Verify, reject, cancel: the version seen and an optional note (the service says when
    a note is required)."""
    errors: dict[str, str] = {}
    version = _version_field(form)
    if version is None:
        errors[FORM_KEY] = VERSION_MESSAGE
    payload = {"version": version or 1, "note": _text(form, "note").strip()}
    result: VersionedNote = _validate(VersionedNote, payload, errors)
    return result


def version_only(form: FormLike) -> int:
    version = _version_field(form)
    if version is None:
        raise FormErrors({FORM_KEY: VERSION_MESSAGE})
    return version


# --- choices -----------------------------------------------------------------------------


@dataclass
class ProgramGroup:
    kind: ProgramKind
    programs: list[Program]


@dataclass
class VillageOption:
    name: str
    district_name: str


@dataclass
class FormOptions:
    agencies: list[Unit]
    districts: list[Unit]
    program_groups: list[ProgramGroup]
    villages: list[VillageOption] = field(default_factory=list)

    @property
    def unit_names(self) -> dict[int, str]:
        return {u.pk: u.name for u in (*self.agencies, *self.districts)}


def form_options(
    session: Session, *, keep_unit_ids: Sequence[int] = (), district_id: int | None = None
) -> FormOptions:
    """Active units and programs for the task form (two queries), and desa/kelurahan
    suggestions (of `district_id` when it is a known kecamatan, else of all of them).
    Inactive units are offered only when in `keep_unit_ids`, so editing a task never
    silently drops one it has."""
    keep = set(keep_unit_ids)
    units = [
        u
        for u in session.exec(
            select(Unit).order_by(col(Unit.kind), text_order(col(Unit.name)), col(Unit.id))
        ).all()
        if u.is_active or u.id in keep
    ]
    programs = session.exec(
        select(Program)
        .where(col(Program.is_active))
        .order_by(col(Program.sort_order), col(Program.id))
    ).all()
    groups = [
        ProgramGroup(kind=kind, programs=[p for p in programs if p.kind == kind])
        for kind in ProgramKind
    ]
    districts = [u for u in units if u.kind == UnitKind.district]
    return FormOptions(
        agencies=[u for u in units if u.kind == UnitKind.agency],
        districts=districts,
        program_groups=[g for g in groups if g.programs],
        villages=_village_options(districts, district_id),
    )


def _village_options(districts: Sequence[Unit], district_id: int | None) -> list[VillageOption]:
    names = dict(reference.districts())
    chosen = next((d for d in districts if d.id == district_id and d.region_code), None)
    by_district = reference.all_villages()
    if chosen is not None and chosen.region_code in by_district:
        by_district = {chosen.region_code: by_district[chosen.region_code]}
    return [
        VillageOption(name=village, district_name=names.get(code, code))
        for code, villages in by_district.items()
        for village in villages
    ]


# --- a stale edit --------------------------------------------------------------------------


@dataclass
class ConflictRow:
    label: str
    mine: str
    current: str


def differing_fields(
    mine: TaskFormValues, current: TaskFormValues, options: FormOptions
) -> list[ConflictRow]:
    """The fields where the user's unsent edit and the task as it is now differ, shown as the
    task's history shows a change (app.services.labels), texts whole."""
    words = ValueWords(
        unit_names=options.unit_names,
        program_names={p.pk: p.short_name for g in options.program_groups for p in g.programs},
    )
    rows = []
    for name in CONFLICT_FIELDS:
        mine_value, current_value = getattr(mine, name), getattr(current, name)
        if isinstance(mine_value, list):
            same = sorted(mine_value) == sorted(current_value)
        elif isinstance(mine_value, str):
            same = mine_value.strip() == str(current_value).strip()
        else:
            same = mine_value == current_value
        if not same:
            rows.append(
                ConflictRow(
                    FIELD_LABELS[name],
                    words.show(name, _as_recorded(name, mine_value)),
                    words.show(name, _as_recorded(name, current_value)),
                )
            )
    return rows


def _as_recorded(name: str, raw: Any) -> Any:
    """A form field's text in the shape the history records it: ids as ints, the due date as
    ISO; what does not parse stays as typed."""
    if name in ("lead_unit_id", "district_id"):
        parsed = _parse_id(raw)
        return parsed if parsed is not None else raw.strip()
    if name in ("supporting_unit_ids", "program_ids"):
        return [parsed if (parsed := _parse_id(v)) is not None else v for v in raw]
    if name == "due_date" and raw:
        try:
            return parse_typed_date(raw).isoformat()
        except ValueError:
            return raw
    return raw.strip() if isinstance(raw, str) else raw


# The fields a stale edit compares (those of the task form).
CONFLICT_FIELDS = (
    "title",
    "description",
    "lead_unit_id",
    "supporting_unit_ids",
    "program_ids",
    "district_id",
    "village",
    "due_date",
    "weight",
    "target",
    "needs_decision",
)
