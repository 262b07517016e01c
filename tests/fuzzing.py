"""Shared parts of the fuzzers (tests/test_fuzz_api.py, tests/test_fuzz_pages.py): hostile
values, the "nothing changed" fingerprint, a seeded world with an id for every path
parameter, and the request counts the run reports at its end."""

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.models import (
    Evidence,
    EvidenceKind,
    Holiday,
    Plan,
    Program,
    Task,
    TaskEvent,
    TaskStatus,
    Unit,
    User,
)
from tests.factories import World, make_task

# Requests made by each fuzzer, printed by tests/conftest.py's terminal summary.
REQUEST_COUNTS: Counter[str] = Counter()
# Path parameters the seed has no real value for (printed with the counts).
UNSEEDED: set[str] = set()

# Bounded, derandomised runs: the same examples on every run and database (a failure
# reproduces), no example database, no shrinking time spent beyond the generation phase.
FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

HOSTILE_TEXT = [
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m",
    "\x7f\x85\x9f",
    "\ud800",
    "x\udfffy",
    "\ufffe\uffff",
    "\u202egnp.exe",
    "\u2066\u2067\u2069",
    "e\u0301\u200b\ufeff",
    "\U0001f600" * 3,
    "A" * 100_000,
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "%00",
    "",
    " ",
]
HOSTILE_NUMBERS = [
    "99999999999999999999",
    str(2**63),
    str(2**31),
    "-1",
    "0",
    "1.0",
    "1e3",
    "NaN",
    "\u0663",
    "0x10",
]
HOSTILE = HOSTILE_TEXT + HOSTILE_NUMBERS


def hostile_values() -> st.SearchStrategy[Any]:
    """A hostile value: one of the fixed classes, or generated text with controls, or a
    number far out of range, or a value of the wrong type."""
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(alphabet=st.characters(codec=None), max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
    )


class Unchanged:
    """Tracks the fingerprint across a run: after a refused (4xx) request it must be what it
    was; after any other answer it is taken again (one read per request)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.state = fingerprint(engine)

    def after(self, status: int, what: str) -> None:
        now = fingerprint(self.engine)
        if 400 <= status < 500:
            assert now == self.state, f"{what} answered {status} but changed data"
        self.state = now


def fingerprint(engine: Engine) -> tuple[Any, ...]:
    """What a refused request must leave alone: every task's version, the history and the
    evidence, and the reference rows (units, programs, users, plans, holidays)."""
    with Session(engine) as fresh:
        counts = tuple(
            fresh.exec(select(func.count()).select_from(model)).one()
            for model in (TaskEvent, Evidence, Unit, Program, User, Plan, Holiday)
        )
        versions = tuple(fresh.exec(select(Task.id, Task.version).order_by(col(Task.id))).all())
        active = tuple(fresh.exec(select(User.id, User.is_active).order_by(col(User.id))).all())
        return versions, counts, active


@dataclass(frozen=True)
class Seeded:
    """Real ids for every path parameter a route may take (the fuzzers also send bad ones)."""

    ids: dict[str, str]

    def value(self, name: str) -> str:
        if name == "status":
            return "todo"
        if name not in self.ids:
            # A route added later with a parameter not seeded here is fuzzed all the same
            # (its id mostly names nothing); the summary lists it, so it is not silent.
            UNSEEDED.add(name)
            return "1"
        return self.ids[name]


def seed(session: Session, world: World) -> Seeded:
    task = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        description="Uraian awal",
        supporting_unit_ids=[world.dinkes.id],
        program_ids=[world.sehat.id],
        district_id=world.district.id,
    )
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review)
    make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, status=TaskStatus.done)
    evidence = Evidence(
        task_id=task.pk,
        kind=EvidenceKind.link,
        caption="Foto lokasi",
        url="https://banyuasin.example/bukti",
        uploaded_by=world.putr_head.pk,
    )
    holiday = Holiday(holiday_date=world.plan.start_date + timedelta(days=3), name="Libur daerah")
    session.add_all([evidence, holiday])
    session.commit()
    ids = {
        "task_id": task.id,
        "evidence_id": evidence.id,
        "unit_id": world.putr.id,
        "program_id": world.sehat.id,
        "district_id": world.district.id,
        "user_id": world.putr_head.id,
        "plan_id": world.plan.id,
        "holiday_id": holiday.id,
    }
    return Seeded({name: str(value) for name, value in ids.items()})
