"""Nothing private on the public page: every text field of the data model that the public page
does not publish (`public_site.PUBLIC_FIELDS`) is filled with a distinctive marker, and no
public response — pages, feeds, images, previews, errors, 304s, 429s — may carry any of them.

The sweep goes over the tables as the models declare them, so a text field added later (a
phone number, a Telegram id) is covered without touching this test.
"""

import itertools
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from app.config import Settings
from app.main import create_app
from app.models import NotificationSettings, Role, TaskMove, TaskStatus, UnitKind, User
from app.services import public_site, tasks
from tests import factories
from tests.public_world import PHOTO_SECRET, PublicWorld, make_public_world

# Fields read to build the pages but never shown (what to show, where a file is): a marker
# there would break the page rather than test it.
USED_NOT_SHOWN = {
    "plan.timezone",
    "evidence.sha256",
    "evidence.content_type",
}
# Shown only for published rows: markers go into the rows that are not published.
SHOWN_WHEN_PUBLISHED = {
    "plan.name",
    "program.name",
    "program.public_title",
    "program.public_description",
    "task.title",
    "unit.name",
}


def _is_text(column: sa.Column[Any]) -> bool:
    kind: Any = column.type
    base = kind.impl if isinstance(kind, sa.types.TypeDecorator) else kind
    return isinstance(base, (sa.String, sa.Text, sa.JSON)) and not isinstance(base, sa.Enum)


def _text_columns() -> list[tuple[sa.Table, sa.Column[Any]]]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            name = f"{table.name}.{column.name}"
            if isinstance(column.type, sa.Enum) or name in USED_NOT_SHOWN:
                continue
            if name in public_site.PUBLIC_FIELDS or name in SHOWN_WHEN_PUBLISHED:
                continue
            if _is_text(column):
                found.append((table, column))
    return found


def seed_markers(session: Session, pw: PublicWorld) -> list[str]:
    """Every private text field of every row gets its own marker; returns them all."""
    counter = itertools.count(1)
    markers: list[str] = []

    def marker() -> str:
        value = f"ZQ{next(counter):04d}QZ"
        markers.append(value)
        return value

    w = pw.world
    # Private things people write, through the services: notes, directives, rejections,
    # blocked reasons.
    tasks.add_comment(session, actor=w.putr_head, task_id=pw.running.id or 0, note=marker())
    tasks.add_directive(session, actor=w.executive, task_id=pw.running.id or 0, note=marker())
    session.refresh(pw.review)
    tasks.reject_task(
        session, actor=w.team, task_id=pw.review.id or 0, version=pw.review.version, note=marker()
    )
    blocked = factories.make_task(
        session,
        actor=w.team,
        plan=w.plan,
        lead=w.putr,
        title="Normalisasi saluran",
        program_ids=[pw.published.id],
    )
    tasks.move_task(
        session,
        actor=w.team,
        task_id=blocked.id or 0,
        move=TaskMove(version=blocked.version, status=TaskStatus.blocked, blocked_reason=marker()),
    )
    # Contact channels (email, WhatsApp, Telegram chat id) for every user, for the sweep.
    for user in session.exec(select(User)).all():
        if session.get(NotificationSettings, user.id) is None:
            session.add(NotificationSettings(user_id=user.id or 0))
    session.commit()
    # Every other private text column, row by row, straight in the database.
    connection = session.connection()
    for table, column in _text_columns():
        keys = list(table.primary_key.columns)
        for row in connection.execute(sa.select(*keys)).all():
            value: Any = {"note": marker()} if isinstance(column.type, sa.JSON) else marker()
            condition = sa.and_(*(key == row[i] for i, key in enumerate(keys)))
            connection.execute(table.update().where(condition).values({column.name: value}))
    # Shown fields, on the rows that are not published.
    t = SQLModel.metadata.tables
    connection.execute(
        t["task"].update().where(~t["task"].c.is_public).values(title=sa.literal(marker()))
    )
    for field in ("name", "public_title", "public_description"):
        connection.execute(
            t["program"].update().where(~t["program"].c.is_public).values({field: marker()})
        )
    connection.execute(
        t["unit"].update().where(t["unit"].c.kind != UnitKind.district.value).values(name=marker())
    )
    session.commit()
    # A second, non-current plan: nothing of it is shown.
    other = factories.make_plan(session, is_current=False)
    other.name = marker()
    other.public_enabled = True
    session.add(other)
    session.commit()
    # The photo's own metadata carries a marker too.
    markers.append(PHOTO_SECRET)
    return markers


def test_no_public_response_contains_a_private_field(
    session: Session, world: factories.World, settings: Settings, engine: Engine
) -> None:
    pw = make_public_world(session, world, settings)
    # A user of every role, and a private field on each: seeded by the sweep below.
    factories.make_user(session, username="operator.dinkes", role=Role.unit, unit=world.dinkes)
    app = create_app(settings.model_copy(update={"public_rate_limit": 1000}), engine)
    bodies: dict[str, bytes] = {}
    with TestClient(app) as client:
        factories.login(client, world.team)  # a login session row, for the sweep to mark
        markers = seed_markers(session, pw)
        assert len(markers) > 80, "the sweep reached the model's text fields"
        district = world.district.id
        paths = [
            "/publik",
            "/publik/kecamatan",
            f"/publik/kecamatan/{district}",
            "/publik/cara-kami-menilai",
            f"/publik/program/{pw.published.id}",
            f"/publik/program/{pw.bare.id}",
            "/publik/data.json",
            "/publik/data.csv",
            "/publik/pratinjau.png",
            f"/publik/program/{pw.published.id}/pratinjau.png",
            f"/publik/kecamatan/{district}/pratinjau.png",
            f"/publik/foto/{pw.photo.id}.jpg",
            # errors
            f"/publik/program/{pw.hidden.id}",
            f"/publik/program/{pw.hidden.id}/pratinjau.png",
            f"/publik/kecamatan/{world.putr.id}",
            "/publik/foto/999.jpg",
            "/publik/program/abc",
            "/publik/tidak-ada",
        ]
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 404, 422), (path, response.status_code)
            bodies[path] = response.content + str(response.headers).encode()
        ok = client.get("/publik")
        not_modified = client.get("/publik", headers={"If-None-Match": ok.headers["etag"]})
        assert not_modified.status_code == 304
        bodies["304"] = not_modified.content + str(not_modified.headers).encode()
        bodies["405"] = client.post("/publik").content
        # The page shows what it should, so the sweep is not vacuous.
        assert pw.done.title.encode() in bodies[f"/publik/program/{pw.published.id}"]
        assert bodies[f"/publik/foto/{pw.photo.id}.jpg"].startswith(b"\xff\xd8")

    limited = create_app(settings.model_copy(update={"public_rate_limit": 1}), engine)
    with TestClient(limited) as client:
        client.get("/publik")
        # Windows are fixed minutes: two requests may straddle a boundary, a third cannot.
        answers = [client.get("/publik") for _ in range(2)]
        refused = next(answer for answer in answers if answer.status_code == 429)
        bodies["429"] = refused.content + str(refused.headers).encode()

    leaks = [
        (path, marker)
        for path, body in bodies.items()
        for marker in markers
        if marker.encode() in body
    ]
    assert leaks == []
