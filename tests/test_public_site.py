"""The public promise page (/publik): the publish gate, the label rule, the dashboard's
numbers, conditional requests, the preview image, photos without metadata, feeds, the rate
limit, and no session lookup."""

import asyncio
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from app.models import Rag
from app.public_rate_limit import PublicRateLimit
from app.services import dashboard, public_site, publishing
from app.services.filters import TaskFilter
from app.services.public_site import PublicLabel, public_label
from app.services.rag import GroupStats
from tests import factories
from tests.factories import World
from tests.public_world import (
    GPS_IFD,
    PHOTO_SECRET,
    PublicWorld,
    make_public_world,
    verify,
)


@pytest.fixture
def pw(session: Session, world: World, settings: Settings) -> PublicWorld:
    return make_public_world(session, world, settings)


def public_paths(pw: PublicWorld) -> list[str]:
    """Every public address of the world (pages, feeds, images)."""
    district = pw.world.district.id
    return [
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
    ]


# --- the publish gate ------------------------------------------------------------------


def test_every_public_path_is_404_until_the_team_turns_the_page_on(
    client: TestClient, session: Session, pw: PublicWorld
) -> None:
    paths = public_paths(pw)
    for path in paths:
        assert client.get(path).status_code == 200, path
    pw.world.plan.public_enabled = False
    session.add(pw.world.plan)
    session.commit()
    for path in paths:
        response = client.get(path)
        assert response.status_code == 404, path
        if path.endswith((".png", ".jpg", ".json", ".csv")):
            continue
        assert "Halaman tidak ditemukan" in response.text


def test_only_published_programs_tasks_and_photos_appear(
    client: TestClient, session: Session, pw: PublicWorld
) -> None:
    home = client.get("/publik").text
    assert "Jalan dan jembatan yang layak" in home
    assert "Informasi publik yang terbuka" in home
    assert "RAHASIA" not in home
    assert "Program RAHASIA" not in home
    program = client.get(f"/publik/program/{pw.published.id}").text
    for task in (pw.done, pw.running, pw.review):
        assert task.title in program
    assert pw.unlisted.title not in program
    assert pw.secret.title not in program
    # The figures count every task of the program; the page says some are not itemised.
    assert "1 dari 4" in program
    assert "1 kegiatan tidak dirinci" in program
    assert f"/publik/foto/{pw.photo.id}.jpg" in program
    assert client.get(f"/publik/program/{pw.hidden.id}").status_code == 404
    # A published program whose tasks are not published shows its figures only.
    bare = client.get(f"/publik/program/{pw.bare.id}").text
    assert "Rincian kegiatan program ini belum dipublikasikan" in bare
    assert "Kegiatan keterbukaan" not in bare


def test_a_photo_shows_only_while_its_task_is_selesai_and_it_is_marked(
    client: TestClient, session: Session, pw: PublicWorld
) -> None:
    path = f"/publik/foto/{pw.photo.id}.jpg"
    assert client.get(path).status_code == 200
    publishing.set_evidence_public(
        session,
        actor=pw.world.team,
        task_id=pw.done.id or 0,
        evidence_id=pw.photo.id or 0,
        public=False,
    )
    assert client.get(path).status_code == 404
    publishing.set_evidence_public(
        session,
        actor=pw.world.team,
        task_id=pw.done.id or 0,
        evidence_id=pw.photo.id or 0,
        public=True,
    )
    assert client.get(path).status_code == 200
    # Unlisting its task hides the photo too.
    publishing.set_task_public(session, actor=pw.world.team, task_id=pw.done.id or 0, public=False)
    assert client.get(path).status_code == 404


def test_unknown_and_malformed_public_paths_answer_without_a_stack(
    client: TestClient, pw: PublicWorld
) -> None:
    for path, status in (
        ("/publik/tidak-ada", 404),
        ("/publik/program/999999", 404),
        # app.path_ids: what cannot be an id is not found, like an id that does not exist.
        ("/publik/program/0", 404),
        ("/publik/program/99999999999999999999", 404),
        ("/publik/program/abc", 404),
        ("/publik/program/1.0", 404),
        ("/publik/kecamatan/-1", 404),
        ("/publik/foto/abc.jpg", 404),
        (f"/publik/foto/{pw.photo.id}.png", 404),
        (f"/publik/program/{pw.published.id}/../../admin", 404),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert "Traceback" not in response.text
        assert "Janji 100 Hari" in response.text
    # No public form writes anything.
    assert client.post("/publik").status_code == 405


# --- the label rule --------------------------------------------------------------------


def stats(total: int, done: int) -> GroupStats:
    return GroupStats(total=total, done=done)


@pytest.mark.parametrize(
    ("total", "done", "started", "rag", "ended", "label"),
    [
        # no tasks at all
        (0, 0, 0, Rag.grey, False, PublicLabel.not_started),
        (0, 0, 0, Rag.grey, True, PublicLabel.not_started),
        # every task Selesai: Tercapai, before or after day 100, whatever the colour
        (3, 3, 3, Rag.green, False, PublicLabel.met),
        (3, 3, 3, Rag.green, True, PublicLabel.met),
        # after the last day, anything short of all: Tidak tercapai
        (3, 2, 3, Rag.green, True, PublicLabel.missed),
        (3, 0, 0, Rag.red, True, PublicLabel.missed),
        # Red on the dashboard: Tersendat, even when nothing has started yet
        (4, 1, 2, Rag.red, False, PublicLabel.stalled),
        (4, 0, 0, Rag.red, False, PublicLabel.stalled),
        # nothing started and not Red: Belum dimulai
        (4, 0, 0, Rag.green, False, PublicLabel.not_started),
        (4, 0, 0, Rag.amber, False, PublicLabel.not_started),
        # started, not Red: Berjalan (Amber included)
        (4, 0, 1, Rag.green, False, PublicLabel.running),
        (4, 2, 3, Rag.amber, False, PublicLabel.running),
        (4, 3, 4, Rag.green, False, PublicLabel.running),
    ],
)
def test_label_rule_table(
    total: int, done: int, started: int, rag: Rag, ended: bool, label: PublicLabel
) -> None:
    assert public_label(stats(total, done), started=started, rag=rag, plan_ended=ended) == label


def test_after_day_100_open_programs_are_not_met(session: Session, pw: PublicWorld) -> None:
    plan = pw.world.plan
    plan.start_date = plan.start_date - timedelta(days=200)
    session.add(plan)
    session.commit()
    site = public_site.build_site(session, plan=plan)
    assert site.plan_ended
    assert {p.title: p.label for p in site.programs} == {
        "Jalan dan jembatan yang layak": PublicLabel.missed,
        "Informasi publik yang terbuka": PublicLabel.missed,
    }


def test_the_headline_and_programs_are_the_dashboards_numbers(
    session: Session, pw: PublicWorld
) -> None:
    plan = pw.world.plan
    site = public_site.build_site(session, plan=plan)
    board = dashboard.build_dashboard(
        session, plan=plan, filters=TaskFilter(), reference_data=dashboard.reference(session)
    )
    assert site.headline == board.headline.stats
    assert site.expected_pct == pytest.approx(board.headline.planned_pct or 0.0)
    rows = {row.id: row for _, rows in board.programs for row in rows}
    for program in site.programs:
        assert program.stats == rows[program.id].stats
    membangun = site.program(pw.published.id or 0)
    assert (membangun.stats.total, membangun.stats.done) == (4, 1)


# --- conditional requests --------------------------------------------------------------


def test_304_while_unchanged_and_200_after_a_verification(
    client: TestClient, session: Session, pw: PublicWorld
) -> None:
    first = client.get("/publik")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert "last-modified" in first.headers
    again = client.get("/publik", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    since = client.get("/publik", headers={"If-Modified-Since": first.headers["last-modified"]})
    assert since.status_code == 304
    for garbage in ("kemarin", "Mon, 99 Foo 2025 25:61:61 GMT", ""):
        assert client.get("/publik", headers={"If-Modified-Since": garbage}).status_code == 200

    verify(session, pw.world, pw.review)

    changed = client.get("/publik", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert "2 dari 6" in changed.text  # two of the plan's six tasks done now


def test_publishing_changes_move_the_etag(
    client: TestClient, session: Session, pw: PublicWorld
) -> None:
    etag = client.get("/publik").headers["etag"]
    pw.hidden.is_public = True
    pw.hidden.public_title = "Janji baru"
    session.add(pw.hidden)
    publishing.touch_public(session)
    session.commit()
    answer = client.get("/publik", headers={"If-None-Match": etag})
    assert answer.status_code == 200
    assert "Janji baru" in answer.text


def test_pages_stay_under_50_kb(client: TestClient, pw: PublicWorld) -> None:
    for path in public_paths(pw):
        if path.endswith((".png", ".jpg", ".csv", ".json")):
            continue
        assert len(client.get(path).content) < 50_000, path


# --- no session lookup -----------------------------------------------------------------


def test_public_pages_never_look_up_a_session(
    client: TestClient, pw: PublicWorld, statements: list[str]
) -> None:
    factories.login(client, pw.world.team)
    statements.clear()
    for path in public_paths(pw):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "set-cookie" not in response.headers
    assert not [s for s in statements if "login_session" in s or '"user"' in s]


def test_an_unchanged_page_costs_one_query(
    client: TestClient, pw: PublicWorld, statements: list[str]
) -> None:
    etag = client.get("/publik").headers["etag"]
    statements.clear()
    assert client.get("/publik", headers={"If-None-Match": etag}).status_code == 304
    assert len(statements) == 1


# --- share preview ---------------------------------------------------------------------


def test_pages_carry_open_graph_and_twitter_cards(client: TestClient, pw: PublicWorld) -> None:
    page = client.get(f"/publik/program/{pw.published.id}").text
    for tag in (
        'property="og:title" content="Jalan dan jembatan yang layak"',
        'property="og:image" content="http://testserver/publik/program/',
        'name="twitter:card" content="summary_large_image"',
        'property="og:image:width" content="1200"',
    ):
        assert tag in page


def test_the_preview_image_is_drawn_once_per_content(
    client: TestClient, session: Session, pw: PublicWorld, settings: Settings
) -> None:
    folder = settings.resolved_data_dir / "public" / "og"
    response = client.get("/publik/pratinjau.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert (image.format, image.size) == ("PNG", (1200, 630))
    files = sorted(folder.rglob("*.png"))
    assert len(files) == 1
    made_at = files[0].stat().st_mtime_ns
    assert client.get("/publik/pratinjau.png").content == response.content
    assert files[0].stat().st_mtime_ns == made_at  # served from the file, not drawn again

    verify(session, pw.world, pw.review)  # the headline figures change
    changed = client.get("/publik/pratinjau.png")
    assert changed.content != response.content
    assert len(list(folder.rglob("*.png"))) == 2


# --- photos without metadata -----------------------------------------------------------


def test_public_photos_carry_no_exif_or_gps(
    client: TestClient, pw: PublicWorld, settings: Settings
) -> None:
    original = next((settings.evidence_dir).rglob(pw.photo.sha256))
    with Image.open(original) as source:
        assert source.getexif().get_ifd(GPS_IFD)  # the fixture really has a position
    response = client.get(f"/publik/foto/{pw.photo.id}.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    data = response.content
    assert b"Exif" not in data
    assert b"GPS" not in data
    assert b"http://ns.adobe.com/xap" not in data
    assert PHOTO_SECRET.encode() not in data
    assert b"PhoneMaker" not in data
    with Image.open(io.BytesIO(data)) as photo:
        assert len(photo.getexif()) == 0
        assert not photo.getexif().get_ifd(GPS_IFD)
        assert "exif" not in photo.info
        assert "icc_profile" not in photo.info
        assert max(photo.size) == 960  # resized from 1600×1200


# --- feeds -----------------------------------------------------------------------------


def test_json_and_csv_feeds_carry_the_published_data_under_a_licence(
    client: TestClient, pw: PublicWorld
) -> None:
    feed = client.get("/publik/data.json").json()
    assert feed["licence"]["name"].startswith("Creative Commons")
    titles = {p["title"] for p in feed["programs"]}
    assert titles == {"Jalan dan jembatan yang layak", "Informasi publik yang terbuka"}
    tasks = {t["title"] for p in feed["programs"] for t in p["published_tasks"]}
    assert tasks == {pw.done.title, pw.running.title, pw.review.title}
    rows = list(csv.DictReader(io.StringIO(client.get("/publik/data.csv").text.lstrip("\ufeff"))))
    assert {r["Kegiatan"] for r in rows} == tasks | {""}
    assert "lisensi" in client.get("/publik").text


# --- the rate limit --------------------------------------------------------------------


def test_public_paths_are_rate_limited_per_address(
    settings: Settings,
    engine: Engine,
    session: Session,
    pw: PublicWorld,
) -> None:
    app = create_app(settings.model_copy(update={"public_rate_limit": 3}), engine)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # builds the middleware stack
        layer: Any = app.middleware_stack
        while not isinstance(layer, PublicRateLimit):
            layer = layer.app
        layer.clock = lambda: 30.0  # one window for the whole test, however slow the database
        for _ in range(3):
            assert client.get("/publik").status_code == 200
        refused = client.get("/publik/kecamatan")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "Terlalu banyak permintaan" in refused.text
        # Other pages and other addresses are not affected.
        assert client.get("/healthz").status_code == 200
    with TestClient(app, client=("203.0.113.9", 50000)) as other:
        assert other.get("/publik").status_code == 200


def test_the_rate_limit_window_resets() -> None:
    # In a thread of its own: the browser tests' Playwright may hold this thread's loop.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _window_resets()).result()


async def _window_resets() -> None:
    now = [120.0]
    passed: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        passed.append(str(scope["path"]))

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    limit = PublicRateLimit(app, limit=2, clock=lambda: now[0])  # type: ignore[arg-type]
    scope = {"type": "http", "path": "/publik", "client": ("198.51.100.1", 1)}
    for _ in range(3):
        await limit(scope, None, send)  # type: ignore[arg-type]
    assert len(passed) == 2
    assert sent[0]["status"] == 429
    assert dict(sent[0]["headers"])[b"retry-after"] == b"60"  # type: ignore[call-overload]
    now[0] = 150.5
    await limit(scope, None, send)  # type: ignore[arg-type]
    assert dict(sent[-2]["headers"])[b"retry-after"] == b"30"  # type: ignore[call-overload]
    now[0] = 180.0  # a new window
    await limit(scope, None, send)  # type: ignore[arg-type]
    assert len(passed) == 3
