"""Two app processes, each with its own card cache (app/card_html.py), on one database: a
card changed through one process is never served stale by the other, because every cache key
is made of what the card was read with from the database."""

import re
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from bench.live import LiveServer
from tests import factories
from tests.system.web import csrf_of, web_login

HTMX = {"HX-Request": "true"}


def _card(html: str, task_id: int) -> str:
    found = re.search(rf'<article class="card[^>]*id="task-{task_id}".*?</article>', html, re.S)
    assert found is not None, html[:500]
    return found.group(0)


def test_no_process_serves_a_stale_card_after_a_change_through_the_other(
    database_url: str, db_engine: Engine, live_world: factories.World, tmp_path: Path
) -> None:
    with Session(db_engine, expire_on_commit=False) as session:
        task = factories.make_task(
            session, actor=live_world.team, plan=live_world.plan, lead=live_world.putr
        )
    task_id = task.id
    assert task_id is not None
    with (
        LiveServer(database_url, log_path=tmp_path / "a.log") as a,
        LiveServer(database_url, log_path=tmp_path / "b.log") as b,
        httpx.Client(base_url=a.url, timeout=30) as on_a,
        httpx.Client(base_url=b.url, timeout=30) as on_b,
    ):
        csrf = web_login(on_a, "kadis.putr")
        on_b.cookies = on_a.cookies
        # Both processes render (and keep) the card as it is.
        for client in (on_a, on_b):
            card = _card(client.get("/board").text, task_id)
            assert 'data-status="todo"' in card
            assert 'data-version="1"' in card

        # A move through B: A's next board, page or poll, shows the moved card.
        moved = on_b.post(
            f"/board/tasks/{task_id}/move",
            data={"status": "in_progress", "version": "1", "csrf_token": csrf},
            headers=HTMX,
        )
        assert moved.status_code == 200, moved.text[:500]
        for answer in (on_a.get("/board"), on_a.get("/board/columns", headers=HTMX)):
            card = _card(answer.text, task_id)
            assert 'data-status="in_progress"' in card
            assert 'data-version="2"' in card

        # Progress reported through A: B's board shows it, although B had the card cached.
        board_b = on_b.get("/board")
        assert "0%</p>" in _card(board_b.text, task_id)
        saved = on_a.post(
            f"/tasks/{task_id}/progress",
            data={"csrf_token": csrf_of(board_b), "version": "2", "progress_pct": "70"},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text[:500]
        card = _card(on_b.get("/board").text, task_id)
        assert 'value="70"' in card
        assert 'data-version="3"' in card
