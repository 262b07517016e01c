"""Cards rendered once and reused (app/card_html.py): a card is rendered again when its
version, the viewer's permission class, the plan day or the card markup changes, and only
then; what it shows never depends on who asked first."""

import re
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app import card_html
from app.card_html import card_cache
from app.html_cache import HtmlCache
from app.models import ProgressUpdate, Role, Task
from app.services import tasks
from app.services.calendar import PlanCalendar
from tests.factories import World, login, make_task, make_user, rename_unit

CARD = re.compile(r'<article class="card.*?</article>', re.S)


def _cards(html: str) -> dict[str, str]:
    """Each card's HTML by its element id."""
    found: dict[str, str] = {}
    for card in CARD.findall(html):
        ident = re.search(r'id="(task-\d+)"', card)
        assert ident is not None
        found[ident.group(1)] = card
    return found


def _board(client: TestClient) -> dict[str, str]:
    response = client.get("/board", params={"all": "1"})
    assert response.status_code == 200
    return _cards(response.text)


@pytest.fixture
def three(session: Session, world: World) -> list[Task]:
    return [
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jalan"),
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title="Jembatan"),
        make_task(session, actor=world.team, plan=world.plan, lead=world.dinkes, title="Posyandu"),
    ]


def test_cards_render_once_for_every_viewer_of_a_class(
    client: TestClient, session: Session, world: World, three: list[Task]
) -> None:
    login(client, world.team)
    first = _board(client)
    assert len(first) == 3
    assert card_cache.renders == 3
    again = _board(client)
    assert card_cache.renders == 3
    assert again == first
    # Another member of the team: same permission class, same cards, nothing rendered.
    other = make_user(session, username="tim.dua", role=Role.team)
    login(client, other)
    assert _board(client) == first
    assert card_cache.renders == 3
    # Nothing of the viewer's session is inside a card.
    assert not any("csrf" in html for html in first.values())


def test_a_new_version_renders_that_card_only(
    client: TestClient, session: Session, world: World, three: list[Task]
) -> None:
    login(client, world.team)
    before = _board(client)
    task = three[0]
    tasks.update_progress(
        session,
        actor=world.team,
        task_id=task.pk,
        data=ProgressUpdate(version=task.version, progress_pct=60),
    )
    after = _board(client)
    assert card_cache.renders == 4
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {f"task-{task.id}"}
    assert "60%" in after[f"task-{task.id}"]


def test_another_permission_class_gets_its_own_cards(
    client: TestClient, session: Session, world: World, three: list[Task]
) -> None:
    login(client, world.team)
    team_cards = _board(client)
    login(client, world.putr_head)  # may move the two PUTR tasks (not into Selesai), not the third
    before = card_cache.renders
    head_cards = _board(client)
    assert card_cache.renders == before + 3
    posyandu = f"task-{three[2].id}"
    assert "data-targets" not in head_cards[posyandu]
    assert 'data-targets="' in team_cards[posyandu]
    # Another user of the same unit is the same class: nothing new.
    second = make_user(session, username="operator.putr", role=Role.unit, unit=world.putr)
    login(client, second)
    before = card_cache.renders
    assert _board(client) == head_cards
    assert card_cache.renders == before


def test_a_new_plan_day_renders_every_card(
    client: TestClient, world: World, three: list[Task], monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, world.team)
    _board(client)
    assert card_cache.renders == 3
    real_today = PlanCalendar.today

    def tomorrow(self: PlanCalendar, now: datetime | None = None) -> date:
        return real_today(self, now) + timedelta(days=1)

    monkeypatch.setattr(PlanCalendar, "today", tomorrow)
    _board(client)
    assert card_cache.renders == 6
    _board(client)
    assert card_cache.renders == 6


def test_a_renamed_unit_renders_its_cards_again(
    client: TestClient, session: Session, world: World, three: list[Task]
) -> None:
    """Names on a card (unit, district, programs) change through admin without a task event:
    the plans' reference revision, in every card's stamp, moves instead."""
    login(client, world.team)
    first = _board(client)
    assert card_cache.renders == 3
    putr = world.putr
    rename_unit(session, actor=world.team, unit=putr, short_name="Dinas PU Baru")
    again = _board(client)
    assert card_cache.renders == 6
    jalan = f"task-{three[0].id}"
    assert "Dinas PU Baru" in again[jalan]
    assert "Dinas PU Baru" not in first[jalan]
    _board(client)
    assert card_cache.renders == 6


def test_new_card_markup_renders_every_card(
    client: TestClient, world: World, three: list[Task], monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, world.team)
    _board(client)
    monkeypatch.setattr(card_html, "markup_version", lambda *_args: "a-new-deploy")
    _board(client)
    assert card_cache.renders == 6


def test_the_cache_is_bounded() -> None:
    cache = HtmlCache(max_entries=2)
    for key in ("a", "b", "c"):
        cache.get_or_render(key, lambda: "<p>x</p>")
    assert len(cache) == 2
    cache.get_or_render("a", lambda: "<p>again</p>")
    assert cache.renders == 4  # "a" was the oldest and had been dropped


def test_a_batch_lookup_answers_in_order_and_keeps_what_it_found() -> None:
    cache = HtmlCache(max_entries=2)
    cache.get_or_render("a", lambda: "<p>a</p>")
    cache.get_or_render("b", lambda: "<p>b</p>")
    assert cache.get_many(["b", "x", "a"]) == ["<p>b</p>", None, "<p>a</p>"]
    assert cache.hits == 2
    # "a" was asked for last, so "b" is now the oldest and the one a new entry pushes out.
    cache.get_or_render("c", lambda: "<p>c</p>")
    assert cache.get_many(["a", "b"]) == ["<p>a</p>", None]


def test_card_html_is_small(client: TestClient, session: Session, world: World) -> None:
    for i in range(20):
        make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title=f"Pekerjaan nomor {i} untuk jalan dan jembatan desa",
            district_id=world.district.id,
            program_ids=[world.membangun.id, world.sehat.id],
            due_date=world.plan.start_date + timedelta(days=30),
        )
    login(client, world.team)
    cards = _board(client)
    average = sum(len(html.encode()) for html in cards.values()) / len(cards)
    assert average <= 1024, average


def test_a_view_keeps_only_its_latest_entry() -> None:
    # Keys (view, stamp): a view's newer stamp makes its older entry dead weight.
    cache = HtmlCache(max_entries=10, one_per_view=True)
    cache.get_or_render(("board", 1), lambda: "<p>board at 1</p>")
    cache.get_or_render(("dashboard", 1), lambda: "<p>dashboard at 1</p>")
    cache.get_or_render(("board", 2), lambda: "<p>board at 2</p>")
    assert len(cache) == 2
    assert cache.get(("board", 1)) is None
    assert cache.get(("board", 2)) == "<p>board at 2</p>"
    assert cache.get(("dashboard", 1)) == "<p>dashboard at 1</p>"


def test_a_view_forgets_a_key_the_bound_pushed_out() -> None:
    cache = HtmlCache(max_entries=1, one_per_view=True)
    cache.get_or_render(("a", 1), lambda: "<p>a</p>")
    cache.get_or_render(("b", 1), lambda: "<p>b</p>")  # pushes ("a", 1) out
    cache.get_or_render(("a", 2), lambda: "<p>a again</p>")  # pushes ("b", 1) out
    assert len(cache) == 1
    assert cache.get(("a", 2)) == "<p>a again</p>"
    cache.get_or_render(("b", 2), lambda: "<p>b again</p>")
    assert [cache.get(("a", 2)), cache.get(("b", 2))] == [None, "<p>b again</p>"]
