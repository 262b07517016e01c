"""One way to show a changed task field (app.services.labels): the task's history and the
conflict view of a stale edit read the same change alike."""

from app.forms.tasks import (
    FormOptions,
    ProgramGroup,
    TaskFormValues,
    differing_fields,
)
from app.models import Program, ProgramKind, Unit, UnitKind
from app.services.labels import EMPTY, FIELD_LABELS, ValueWords

PUTR = Unit(id=3, code="PUTR", name="Dinas PUTR", short_name="PUTR", kind=UnitKind.agency)
DISTRICT = Unit(id=7, code="KEC", name="Rantau Bayur", short_name="RB", kind=UnitKind.district)
SEHAT = Program(id=5, code="SEHAT", kind=ProgramKind.priority, short_name="Sehat", name="S")
OPTIONS = FormOptions(
    agencies=[PUTR],
    districts=[DISTRICT],
    program_groups=[ProgramGroup(ProgramKind.priority, [SEHAT])],
)
HISTORY = ValueWords({3: "Dinas PUTR", 7: "Rantau Bayur"}, {5: "Sehat"}, text_max=90)


def test_history_and_conflict_view_show_a_change_alike() -> None:
    long_text = "kata " * 40
    mine = TaskFormValues(
        lead_unit_id="3",
        program_ids=["5"],
        district_id="",
        due_date="15/12/2026",
        needs_decision=True,
        description=long_text,
    )
    current = TaskFormValues(
        lead_unit_id="",
        program_ids=[],
        district_id="7",
        due_date="",
        needs_decision=False,
        description="",
    )

    rows = {row.label: (row.mine, row.current) for row in differing_fields(mine, current, OPTIONS)}

    # The history records the same change as [current, mine], in stored shapes.
    recorded: dict[str, tuple[object, object]] = {
        "lead_unit_id": (3, None),
        "program_ids": ([5], []),
        "district_id": (None, 7),
        "due_date": ("2026-12-15", None),
        "needs_decision": (True, False),
    }
    for name, (new, old) in recorded.items():
        assert rows[FIELD_LABELS[name]] == (HISTORY.show(name, new), HISTORY.show(name, old))
    assert rows["Tenggat"] == ("15 Des 2026", EMPTY)
    assert rows["Penanggung jawab"] == ("Dinas PUTR", EMPTY)
    # The conflict view keeps the user's unsent text whole; the history cuts a long one.
    assert rows["Uraian"] == (long_text.strip(), EMPTY)
    assert HISTORY.show("description", long_text).endswith("…")


def test_an_unknown_id_and_an_unparsed_date_are_shown_as_they_are() -> None:
    words = ValueWords()
    assert words.show("lead_unit_id", 99) == "unit #99"
    assert words.show("program_ids", [99]) == "program #99"
    assert words.show("due_date", "besok") == "besok"
    assert words.show("status", "review") == "Menunggu Verifikasi"
    assert words.show("progress_pct", 40) == "40%"
