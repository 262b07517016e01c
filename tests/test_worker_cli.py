"""`seratus worker --once` and `seratus digest --dry-run` on a migrated database."""

from collections.abc import Callable, Iterator

import pytest
from sqlmodel import select

from app import cli
from app.config import get_settings
from app.db import make_engine, open_session
from app.models import Delivery, DeliveryStatus, NotificationSettings, TaskStatus
from app.services import tasks
from tests import factories
from tests.channel_servers import SmtpSink, smtp_sink
from tests.test_cli import _use_database


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as server:
        yield server


@pytest.fixture
def world_url(
    new_database: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[tuple[str, factories.World]]:
    url = new_database("worker")
    _use_database(monkeypatch, url)
    assert cli.main(["migrate"]) == 0
    engine = make_engine(url)
    with open_session(engine) as session:
        world = factories.make_world(session)
    engine.dispose()
    capsys.readouterr()
    yield url, world
    get_settings.cache_clear()


def test_worker_once_sends_what_is_due_and_exits(
    world_url: tuple[str, factories.World],
    sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, world = world_url
    engine = make_engine(url)
    with open_session(engine) as session:
        task = factories.make_task(
            session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.review
        )
        session.add(
            NotificationSettings(
                user_id=world.putr_head.pk,
                email="kadis.putr@banyuasin.example",
                email_on=True,
                quiet_hours_on=False,
            )
        )
        session.commit()
        tasks.reject_task(
            session,
            actor=world.team,
            task_id=task.pk,
            version=task.version,
            note="Foto belum ada",
        )
    monkeypatch.setenv("SERATUS_SMTP_HOST", sink.host)
    monkeypatch.setenv("SERATUS_SMTP_PORT", str(sink.port))
    get_settings.cache_clear()
    assert cli.main(["worker", "--once"]) == 0
    out = capsys.readouterr().out
    assert "Sent 1, to retry 0, failed 0." in out
    assert [m["To"] for m in sink.messages] == ["Kadis Putr <kadis.putr@banyuasin.example>"]
    with open_session(engine) as session:
        assert session.exec(select(Delivery.status)).all() == [DeliveryStatus.sent]
    engine.dispose()


def test_digest_dry_run_prints_the_plain_text(
    world_url: tuple[str, factories.World], capsys: pytest.CaptureFixture[str]
) -> None:
    url, world = world_url
    engine = make_engine(url)
    with open_session(engine) as session:
        factories.make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            title="Jalan poros desa",
            status=TaskStatus.blocked,
        )
    engine.dispose()
    # A Thursday: a working day.
    assert cli.main(["digest", "--dry-run", "--user", "kadis.putr", "--date", "2026-12-03"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Subject: [Seratus] Laporan Pagi 3 Des 2026\nTo: Kadis Putr (kadis.putr)")
    assert "Terkendala (1)\n- T-001 Jalan poros desa — terkendala" in out
    assert "http://127.0.0.1:8000/tasks/1" in out
    # A Sunday says so.
    assert cli.main(["digest", "--dry-run", "--user", "kadis.putr", "--date", "2026-12-06"]) == 0
    assert "not a working day" in capsys.readouterr().out


def test_digest_refuses_an_unknown_user_and_a_missing_dry_run(
    world_url: tuple[str, factories.World], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["digest", "--dry-run", "--user", "tidak.ada"]) == 2
    assert "Pengguna 'tidak.ada' tidak ditemukan." in capsys.readouterr().err
    assert cli.main(["digest", "--user", "kadis.putr"]) == 2
    assert "--dry-run" in capsys.readouterr().err


def test_compose_runs_one_notification_worker_with_the_apps_settings() -> None:
    import yaml

    from app.config import BASE_DIR

    services = yaml.safe_load((BASE_DIR / "compose.yaml").read_text())["services"]
    worker = services["worker"]
    assert worker["command"] == ["seratus", "worker"]
    assert worker["environment"] == services["app1"]["environment"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["healthcheck"] == {"disable": True}
    assert "SERATUS_SMTP_HOST" in worker["environment"]
    assert worker["environment"]["SERATUS_BASE_URL"].startswith("https://")
