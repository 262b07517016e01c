"""Two app processes on one database behave as one app: nothing lives in process memory.

A browser session started on one process is valid on the other, its CSRF token is accepted
there, the board's change stamp comes from the database (a move through one process turns the
other's conditional poll from 304 into 200 with the moved card), API tokens work anywhere,
and the login throttle counts failures made on either.
"""

from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from app.models import TaskStatus
from bench.live import LiveServer
from tests import factories
from tests.system.web import csrf_of, token_headers, web_login

HTMX = {"HX-Request": "true"}


def _card(fragment: str, task_id: int) -> str:
    start = fragment.index(f'id="task-{task_id}"')
    return fragment[start : fragment.index(">", start)]


def test_two_processes_share_sessions_csrf_tokens_and_the_board_stamp(
    database_url: str, db_engine: Engine, live_world: factories.World, tmp_path: Path
) -> None:
    with Session(db_engine, expire_on_commit=False) as session:
        task = factories.make_task(
            session, actor=live_world.team, plan=live_world.plan, lead=live_world.putr
        )
    with (
        LiveServer(database_url, log_path=tmp_path / "a.log") as a,
        LiveServer(database_url, log_path=tmp_path / "b.log") as b,
        httpx.Client(base_url=a.url, timeout=30) as on_a,
        httpx.Client(base_url=b.url, timeout=30) as on_b,
    ):
        assert a.pids()[0] != b.pids()[0]
        csrf = web_login(on_a, "kadis.putr")
        # The same browser (its cookie) on the other process: logged in, same session.
        on_b.cookies = on_a.cookies
        assert csrf_of(on_b.get("/board", follow_redirects=False)) == csrf

        # The board poll on A, and its 304 while nothing changes.
        first = on_a.get("/board/columns", headers=HTMX)
        assert first.status_code == 200
        etag = first.headers["ETag"]
        assert 'data-status="todo"' in _card(first.text, task.pk)
        assert (
            on_a.get("/board/columns", headers={**HTMX, "If-None-Match": etag}).status_code == 304
        )

        # B refuses a forged token and accepts the one A issued.
        move = {"status": TaskStatus.in_progress.value, "version": "1"}
        forged = on_b.post(
            f"/board/tasks/{task.id}/move", data={**move, "csrf_token": "x" * 43}, headers=HTMX
        )
        assert forged.status_code == 403
        moved = on_b.post(
            f"/board/tasks/{task.id}/move", data={**move, "csrf_token": csrf}, headers=HTMX
        )
        assert moved.status_code == 200, moved.text[:500]

        # A's next poll with the old ETag is no longer a 304: the stamp is in the database.
        polled = on_a.get("/board/columns", headers={**HTMX, "If-None-Match": etag})
        assert polled.status_code == 200
        assert polled.headers["ETag"] != etag
        card = _card(polled.text, task.pk)
        assert 'data-status="in_progress"' in card
        assert 'data-version="2"' in card

        # Logging out on B ends the session on A too.
        assert on_b.post("/logout", data={"csrf_token": csrf}).status_code == 303
        assert on_a.get("/board", follow_redirects=False).status_code == 303


def test_api_tokens_and_the_login_throttle_hold_across_processes(
    database_url: str, live_world: factories.World, tmp_path: Path
) -> None:
    with (
        LiveServer(database_url, log_path=tmp_path / "a.log") as a,
        LiveServer(database_url, log_path=tmp_path / "b.log") as b,
    ):
        headers = token_headers(a.url, "tim.transisi")
        me = httpx.get(f"{b.url}/api/v1/me", headers=headers, timeout=30)
        assert me.status_code == 200
        assert me.json()["username"] == "tim.transisi"

        # Five failures (the default limit), alternating between the processes, lock the
        # account on both: the counter is on the user's row, not in a process.
        for attempt in range(5):
            server = (a, b)[attempt % 2]
            wrong = httpx.post(
                f"{server.url}/api/v1/auth/token",
                data={"username": "kadis.dinkes", "password": "salah-sekali-123"},
                timeout=30,
            )
            assert wrong.status_code == 401
        for server in (a, b):
            locked = httpx.post(
                f"{server.url}/api/v1/auth/token",
                data={"username": "kadis.dinkes", "password": factories.PASSWORD},
                timeout=30,
            )
            assert locked.status_code == 401
            assert "Terlalu banyak percobaan" in locked.json()["detail"]
