"""Typed factories for tests: plans, units, programs, users, tasks, and logged-in clients."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.forms.units import UnitInput, parse_unit
from app.models import (
    DayMode,
    Plan,
    Program,
    ProgramKind,
    Role,
    Task,
    TaskCreate,
    TaskMove,
    TaskStatus,
    Unit,
    UnitKind,
    User,
)
from app.services import accounts, tasks, units
from app.timefmt import WIB

PASSWORD = "kata-sandi-uji-123"
REVIEW_NOTE = "Bukti dukung diserahkan langsung ke Tim Transisi."


def make_plan(
    session: Session,
    *,
    start_date: date | None = None,
    length_days: int = 100,
    day_mode: DayMode = DayMode.calendar,
    is_current: bool = True,
) -> Plan:
    plan = Plan(
        name="Program 100 Hari Kerja",
        start_date=start_date or (datetime.now(WIB).date() - timedelta(days=44)),
        length_days=length_days,
        day_mode=day_mode,
        is_current=is_current,
    )
    session.add(plan)
    session.commit()
    return plan


def make_unit(
    session: Session, *, code: str, name: str | None = None, kind: UnitKind = UnitKind.agency
) -> Unit:
    unit = Unit(
        code=code,
        name=name or f"Dinas {code}",
        short_name=name or code,
        kind=kind,
        head_title="Camat" if kind == UnitKind.district else "Kepala Dinas",
        region_code="16.07.11" if kind == UnitKind.district else None,
    )
    session.add(unit)
    session.commit()
    return unit


def rename_unit(session: Session, *, actor: User, unit: Unit, short_name: str) -> None:
    """Give `unit` a new short name through the admin service, as /admin/units does."""
    data = UnitInput.of(unit).model_copy(update={"short_name": short_name})
    units.update_unit(session, actor=actor, unit_id=unit.pk, data=parse_unit(data))
    session.commit()


def make_program(
    session: Session, *, code: str, kind: ProgramKind = ProgramKind.priority
) -> Program:
    program = Program(code=code, kind=kind, short_name=code.title(), name=f"Program {code}")
    session.add(program)
    session.commit()
    return program


def make_user(session: Session, *, username: str, role: Role, unit: Unit | None = None) -> User:
    return accounts.create_user(
        session,
        actor=None,
        username=username,
        full_name=username.replace(".", " ").title(),
        role=role,
        password=PASSWORD,
        unit_id=unit.id if unit else None,
    )


def make_task(
    session: Session,
    *,
    actor: User,
    plan: Plan,
    lead: Unit,
    title: str = "Pembangunan jembatan",
    status: TaskStatus = TaskStatus.todo,
    **fields: Any,
) -> Task:
    data = TaskCreate(title=title, lead_unit_id=lead.pk, **fields)
    task = tasks.create_task(session, actor=actor, plan_id=plan.pk, data=data)
    path = {
        TaskStatus.todo: [],
        TaskStatus.in_progress: [TaskStatus.in_progress],
        TaskStatus.blocked: [TaskStatus.blocked],
        TaskStatus.review: [TaskStatus.in_progress, TaskStatus.review],
        TaskStatus.done: [TaskStatus.in_progress, TaskStatus.review, TaskStatus.done],
    }[status]
    for step in path:
        task = tasks.move_task(
            session,
            actor=actor,
            task_id=task.pk,
            move=TaskMove(
                version=task.version,
                status=step,
                blocked_reason="Menunggu pembebasan lahan" if step == TaskStatus.blocked else "",
                # Sending for verification needs evidence or a note explaining its absence.
                note=REVIEW_NOTE if step == TaskStatus.review else "",
            ),
        )
    return task


@dataclass
class World:
    plan: Plan
    putr: Unit
    dinkes: Unit
    district: Unit
    membangun: Program
    sehat: Program
    team: User
    putr_head: User
    dinkes_head: User
    executive: User


def make_world(session: Session) -> World:
    plan = make_plan(session)
    putr = make_unit(session, code="PUTR", name="Dinas PUTR")
    dinkes = make_unit(session, code="DINKES", name="Dinkes")
    district = make_unit(
        session, code="KEC-RANTAU-BAYUR", name="Rantau Bayur", kind=UnitKind.district
    )
    return World(
        plan=plan,
        putr=putr,
        dinkes=dinkes,
        district=district,
        membangun=make_program(session, code="MEMBANGUN"),
        sehat=make_program(session, code="SEHAT"),
        team=make_user(session, username="tim.transisi", role=Role.team),
        putr_head=make_user(session, username="kadis.putr", role=Role.unit, unit=putr),
        dinkes_head=make_user(session, username="kadis.dinkes", role=Role.unit, unit=dinkes),
        executive=make_user(session, username="bupati", role=Role.executive),
    )


_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def login(client: TestClient, user: User) -> str:
    """Log `client` in as `user` through the login form; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    board = client.get("/board")
    found = _CSRF_META.search(board.text)
    assert found is not None, board.text[:500]
    return found.group(1)


def api_token(client: TestClient, user: User) -> dict[str, str]:
    """Bearer headers for `user` from POST /api/v1/auth/token."""
    response = client.post(
        "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
