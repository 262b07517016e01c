""" "Sejak rapat terakhir" and the directives' read side: what changed from a date, read from
the events, and open vs answered directives labelled by their author's office."""

from datetime import date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import EventKind, ExecutivePosition, Plan, TaskEvent, TaskStatus
from app.services.directives import directive_label, open_directive_task_ids, plan_directives
from app.services.plans import plan_calendar
from app.services.stocktake import stocktake
from app.timefmt import WIB
from tests.factories import World, login
from tests.test_burndown import Scripted, created, done, small_plan, to, wib

START = date(2025, 2, 20)


def _event(session: Session, plan: Plan, task_id: int, at: datetime, **fields: Any) -> TaskEvent:
    event = TaskEvent(plan_id=plan.pk, task_id=task_id, at=at, **fields)
    session.add(event)
    session.commit()
    return event


def test_what_changed_since_a_date(session: Session, world: World) -> None:
    plan = small_plan(session, length=30)
    s = Scripted(session, plan, world.team, world.putr)
    old = wib(-2, "09:00")
    a = s.task(
        "verified", [created(old), to(wib(5, "09:00"), TaskStatus.review), done(wib(9, "10:00"))]
    )
    b = s.task("blocked", [created(old), to(wib(9, "11:00"), TaskStatus.blocked)])
    c = s.task("added", [created(wib(9, "12:00"))])
    d = s.task(
        "cancelled",
        [created(old), (wib(10, "09:00"), EventKind.cancelled, TaskStatus.cancelled, {})],
    )
    e = s.task(
        "slipped",
        [
            created(old),
            (wib(9, "13:00"), EventKind.edited, None, {"due_date": ["2025-03-01", "2025-03-10"]}),
        ],
    )
    s.task("before", [created(old), done(wib(3, "10:00"))])  # verified before the meeting
    assert all(t.id for t in (a, b, c, d, e))

    report = stocktake(session, plan=plan, since=START + timedelta(days=7), now=wib(11, "12:00"))

    assert [x.task_title for x in report.verified.items] == ["Tugas verified"]
    assert [x.task_title for x in report.blocked.items] == ["Tugas blocked"]
    assert [x.task_title for x in report.added.items] == ["Tugas added"]
    assert [x.task_title for x in report.removed.items] == ["Tugas cancelled"]
    assert [x.task_title for x in report.slipped.items] == ["Tugas slipped"]
    assert report.slipped.items[0].detail == "1 Mar 2025 → 10 Mar 2025"


def test_directives_open_and_answered_with_their_labels(session: Session, world: World) -> None:
    plan = small_plan(session, length=30)
    world.executive.position = ExecutivePosition.bupati.value
    session.add(world.executive)
    session.commit()
    s = Scripted(session, plan, world.team, world.putr)
    one = s.task("one", [created(wib(-2, "09:00"))])
    two = s.task("two", [created(wib(-2, "09:00"))])
    given = _event(
        session,
        plan,
        one.id or 0,
        wib(2, "10:00"),
        kind=EventKind.directive,
        actor_id=world.executive.id,
        note="Segera",
    )
    _event(
        session,
        plan,
        two.id or 0,
        wib(3, "10:00"),
        kind=EventKind.directive,
        actor_id=world.team.id,
        note="Catat",
    )
    _event(
        session,
        plan,
        one.id or 0,
        wib(5, "10:00"),
        kind=EventKind.follow_up,
        actor_id=world.putr_head.id,
        changes={"directive_id": [None, given.id]},
        note="Sudah",
    )
    calendar = plan_calendar(session, plan)

    summary = plan_directives(
        session, plan=plan, calendar=calendar, today=START + timedelta(days=9)
    )

    assert [d.task_title for d in summary.open] == ["Tugas two"]
    assert summary.open[0].label == "Arahan Pimpinan"  # recorded by the team
    assert summary.open[0].age_days == 7
    answered = summary.answered[0]
    assert (answered.label, answered.age_days) == ("Arahan Bupati", 3)
    assert answered.follow_up is not None
    assert answered.follow_up.note == "Sudah"
    assert open_directive_task_ids(session, plan_id=plan.id or 0) == {two.id}
    assert directive_label("wakil_bupati") == "Arahan Wakil Bupati"
    assert directive_label("sekretaris_daerah") == "Arahan Sekretaris Daerah"


def test_since_page_prints_and_survives_bad_dates(client: TestClient, world: World) -> None:
    login(client, world.executive)

    page = client.get("/dashboard/since")
    bad = client.get("/dashboard/since", params={"since": "<script>"})

    assert page.status_code == 200
    assert "Sejak rapat terakhir" in page.text
    assert "data-print" in page.text
    assert bad.status_code == 200
    assert "Tanggal tidak dikenali" in bad.text
    assert "<script>" not in bad.text
    today = datetime.now(WIB).date()
    week = (today - timedelta(days=7)).isoformat()
    assert f'value="{week}"' in page.text
