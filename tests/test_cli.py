"""The `seratus` command line, run through `app.cli.main` on a throw-away database of the
backend under test (a SQLite file, or PostgreSQL with SERATUS_TEST_DATABASE_URL); what is
about SQLite files (creating their folder) runs on SQLite always.

An operator's mistake (unmigrated database, bad account details, bad settings) ends with one
sentence on stderr and exit status 2, never a traceback, and leaves nothing half-written.
"""

import io
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, select

from app import cli, schema
from app.config import BASE_DIR, Settings, get_settings
from app.db import make_engine, open_session
from app.models import Role, Task, Unit, User
from app.services import accounts, demo
from app.services.reference import load_reference
from tests.databases import on_postgres, postgres_server

PASSWORD = "kata-sandi-operator"


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """SERATUS_DATABASE_URL = `url` and no other SERATUS_ setting."""
    for name in [n for n in os.environ if n.upper().startswith("SERATUS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SERATUS_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def cli_url(new_database: Callable[[str], str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """SERATUS_DATABASE_URL names an empty database (no schema) of the backend under test."""
    url = new_database("cli")
    _use_database(monkeypatch, url)
    yield url
    # monkeypatch restores the environment after this; nothing reads settings in between.
    get_settings.cache_clear()


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """SERATUS_DATABASE_URL names a SQLite file in a folder that does not exist yet."""
    path = tmp_path / "data" / "nested" / "seratus.db"
    _use_database(monkeypatch, f"sqlite:///{path}")
    yield path
    get_settings.cache_clear()


@pytest.fixture
def migrated(cli_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["migrate"]) == 0
    capsys.readouterr()
    return cli_url


@pytest.fixture
def with_units(migrated: str) -> str:
    """A migrated database with the reference units (PUTR, kecamatan …) and no users."""
    engine = make_engine(migrated)
    with open_session(engine, write=True) as session:
        load_reference(session)
    engine.dispose()
    return migrated


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        pytest.fail("uvicorn.run must not be called")

    monkeypatch.setattr(uvicorn, "run", refuse)


@pytest.fixture
def server_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import uvicorn

    calls: list[dict[str, Any]] = []

    def record(app: str, **options: Any) -> None:
        calls.append({"app": app, **options})

    monkeypatch.setattr(uvicorn, "run", record)
    return calls


def table_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def users(url: str) -> dict[str, User]:
    engine = make_engine(url)
    try:
        with open_session(engine) as session:
            return {u.username: u for u in session.exec(select(User)).all()}
    finally:
        engine.dispose()


def login(url: str, username: str, password: str) -> User:
    engine = make_engine(url)
    try:
        with open_session(engine) as session:
            return accounts.authenticate(
                session,
                username=username,
                password=password,
                settings=Settings(database_url=str(engine.url)),
            )
    finally:
        engine.dispose()


def create_user(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = PASSWORD) -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return cli.main(["create-user", *args, "--password-stdin"])


def assert_one_line_error(err: str, command: str) -> None:
    assert err.startswith(f"seratus {command}: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err


# --- migrate ---------------------------------------------------------------------------


def test_migrate_creates_the_sqlite_folder_and_file(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not db_file.parent.exists()

    assert cli.main(["migrate"]) == 0

    assert db_file.is_file()
    assert "latest revision" in capsys.readouterr().out


def test_migrate_creates_the_schema_and_can_run_again(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0

    assert "latest revision" in capsys.readouterr().out
    engine = make_engine(cli_url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
        assert revision == schema.head_revision(str(engine.url))
        assert set(SQLModel.metadata.tables) <= set(sa.inspect(engine).get_table_names())
        schema.ensure_migrated(engine)
    finally:
        engine.dispose()
    # Again: nothing to do, still fine.
    assert cli.main(["migrate"]) == 0


# --- demo ------------------------------------------------------------------------------


def test_demo_on_an_unmigrated_database_says_to_migrate(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "demo")
    assert "`seratus migrate`" in err
    engine = make_engine(cli_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_demo_prints_the_logins_and_loading_twice_duplicates_nothing(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    for username in ("tim.transisi", "bupati", "wabup", "sekda", "kadis.putr", "kadis.dinkes"):
        assert f"  {username} " in out, username
    assert "camat." in out
    assert demo.DEMO_PASSWORD in out
    assert "created" in out
    counts = table_counts(migrated)
    assert 140 <= counts["task"] <= 160
    assert counts["user"] == len(users(migrated))
    assert login(migrated, "kadis.putr", demo.DEMO_PASSWORD).role == Role.unit

    assert cli.main(["demo"]) == 0

    out, err = capsys.readouterr()
    assert err == ""
    assert "already present" in out
    assert "none added" in out
    assert "tim.transisi" in out
    assert table_counts(migrated) == counts


def test_demo_with_a_start_date_and_password(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--start-date", "2025-02-20", "--password", PASSWORD]) == 0

    out = capsys.readouterr().out
    assert "day 1 = 20 Feb 2025" in out
    assert PASSWORD in out
    assert login(migrated, "bupati", PASSWORD).role == Role.executive


def test_demo_with_a_short_password_writes_nothing(
    migrated: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--password", "pendek"]) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "demo")
    assert "Kata sandi minimal" in err
    counts = table_counts(migrated)
    assert (counts["unit"], counts["user"], counts["task"], counts["plan"]) == (0, 0, 0, 0)


def test_a_bad_start_date_is_a_usage_error(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["demo", "--start-date", "20-02-2025"])
    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


# --- create-user -----------------------------------------------------------------------


def test_create_user_makes_an_account_that_can_log_in(
    with_units: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        create_user(monkeypatch, "Sekda.Banyuasin", "--full-name", "Sekda", "--role", "team") == 0
    )
    assert (
        create_user(
            monkeypatch,
            "op.putr",
            "--full-name",
            " Operator PUTR ",
            "--role",
            "unit",
            "--unit",
            "PUTR",
        )
        == 0
    )

    out, err = capsys.readouterr()
    assert err == ""
    assert "sekda.banyuasin" in out
    assert "op.putr" in out
    accounts_by_name = users(with_units)
    assert set(accounts_by_name) == {"sekda.banyuasin", "op.putr"}
    team = login(with_units, "sekda.banyuasin", PASSWORD)
    assert (team.role, team.unit_id) == (Role.team, None)
    operator = login(with_units, "op.putr", PASSWORD)
    assert operator.role == Role.unit
    assert operator.full_name == "Operator PUTR"
    engine = make_engine(with_units)
    try:
        with open_session(engine) as session:
            unit = session.get(Unit, operator.unit_id)
            assert unit is not None
            assert unit.code == "PUTR"
    finally:
        engine.dispose()


def test_create_user_for_a_kecamatan_by_its_code(
    with_units: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("camat.airsalek", "--full-name", "Camat Air Salek", "--role", "unit")
    assert create_user(monkeypatch, *args, "--unit", "16.07.14") == 0
    assert login(with_units, "camat.airsalek", PASSWORD).unit_id is not None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (
            ("tim.transisi", "--full-name", "Lain", "--role", "team"),
            PASSWORD,
            "Nama pengguna 'tim.transisi' sudah dipakai",
        ),
        (
            ("op.baru", "--full-name", "Operator", "--role", "unit"),
            PASSWORD,
            "harus terhubung ke satu unit",
        ),
        (
            ("op.baru", "--full-name", "Operator", "--role", "unit", "--unit", "NOPE"),
            PASSWORD,
            "Unit dengan kode 'NOPE' tidak dikenal",
        ),
        (
            ("op.baru", "--full-name", "Operator", "--role", "team"),
            "pendek",
            "Kata sandi minimal 10 karakter",
        ),
        (
            ("op.baru", "--full-name", "Operator", "--role", "team"),
            "",
            "Kata sandi minimal 10 karakter",
        ),
        (
            ("op.baru", "--full-name", "Operator", "--role", "executive", "--unit", "PUTR"),
            PASSWORD,
            "Hanya pengguna perangkat daerah",
        ),
        (
            ("Op Baru!", "--full-name", "Operator", "--role", "team"),
            PASSWORD,
            "Nama pengguna 3–60 karakter",
        ),
        (
            ("op.baru", "--full-name", "   ", "--role", "team"),
            PASSWORD,
            "Nama lengkap wajib diisi",
        ),
    ],
)
def test_create_user_refuses_bad_accounts_and_creates_nothing(
    with_units: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    password: str,
    message: str,
) -> None:
    team = ("tim.transisi", "--full-name", "Tim Transisi", "--role", "team")
    assert create_user(monkeypatch, *team) == 0
    capsys.readouterr()
    before = users(with_units)

    assert create_user(monkeypatch, *args, password=password) == 2

    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, "create-user")
    assert message in err
    after = users(with_units)
    assert set(after) == set(before) == {"tim.transisi"}
    assert after["tim.transisi"].full_name == "Tim Transisi"
    assert after["tim.transisi"].password_hash == before["tim.transisi"].password_hash


def test_create_user_without_a_terminal_asks_for_password_stdin(
    with_units: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))

    assert cli.main(["create-user", "op.baru", "--full-name", "Operator", "--role", "team"]) == 2

    err = capsys.readouterr().err
    assert_one_line_error(err, "create-user")
    assert "--password-stdin" in err
    assert users(with_units) == {}


def test_create_user_on_an_unmigrated_database_says_to_migrate(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create_user(monkeypatch, "op.baru", "--full-name", "Operator", "--role", "team") == 2
    err = capsys.readouterr().err
    assert_one_line_error(err, "create-user")
    assert "seratus migrate" in err


# --- serve and up ----------------------------------------------------------------------


@pytest.mark.usefixtures("no_server")
def test_serve_refuses_an_unmigrated_database(
    cli_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve"]) == 2

    err = capsys.readouterr().err
    assert_one_line_error(err, "serve")
    assert "`seratus migrate`" in err


def test_serve_runs_the_app_factory_with_the_options(
    migrated: str, server_calls: list[dict[str, Any]]
) -> None:
    assert cli.main(["serve", "--port", "8123", "--host", "0.0.0.0"]) == 0  # noqa: S104

    assert server_calls == [
        {
            "app": "app.main:create_app",
            "factory": True,
            "host": "0.0.0.0",  # noqa: S104
            "port": 8123,
            "workers": 1,
            "log_level": "info",
        }
    ]


def test_serve_takes_its_defaults_from_the_settings(
    migrated: str, monkeypatch: pytest.MonkeyPatch, server_calls: list[dict[str, Any]]
) -> None:
    monkeypatch.setenv("SERATUS_PORT", "9001")
    get_settings.cache_clear()

    assert cli.main(["serve"]) == 0

    assert len(server_calls) == 1
    assert (server_calls[0]["host"], server_calls[0]["port"], server_calls[0]["workers"]) == (
        "127.0.0.1",
        9001,
        1,
    )


def test_serve_with_workers_hands_over_to_the_prefork_server(
    migrated: str, monkeypatch: pytest.MonkeyPatch, server_calls: list[dict[str, Any]]
) -> None:
    """Several workers: this process (which imported the command line's modules too) becomes
    a fresh `python -m app.prefork`, the supervisor of workers forked from one loaded app."""
    monkeypatch.setenv("SERATUS_WORKERS", "3")
    get_settings.cache_clear()
    handed: list[list[str]] = []
    monkeypatch.setattr(cli, "exec_prefork_server", handed.append)

    assert cli.main(["serve", "--port", "9002"]) == 0

    assert server_calls == []
    assert handed == [["127.0.0.1", "9002", "3", "info"]]


def test_serve_with_workers_off_linux_leaves_them_to_uvicorn(
    migrated: str, monkeypatch: pytest.MonkeyPatch, server_calls: list[dict[str, Any]]
) -> None:
    """The supervisor adopts its workers through a Linux-only call (a child subreaper)."""
    monkeypatch.setenv("SERATUS_WORKERS", "3")
    monkeypatch.setattr(sys, "platform", "darwin")
    get_settings.cache_clear()
    handed: list[list[str]] = []
    monkeypatch.setattr(cli, "exec_prefork_server", handed.append)

    assert cli.main(["serve", "--port", "9003"]) == 0

    assert handed == []
    assert [(call["port"], call["workers"]) for call in server_calls] == [(9003, 3)]


def test_the_server_runs_with_its_malloc_settings_unless_the_operator_says_otherwise() -> None:
    assert cli.server_environment({"PATH": "/bin"}) == {
        "PATH": "/bin",
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_MMAP_THRESHOLD_": "131072",
    }
    assert cli.server_environment({"MALLOC_ARENA_MAX": "4"})["MALLOC_ARENA_MAX"] == "4"


def test_up_migrates_loads_the_demo_and_serves(
    cli_url: str, server_calls: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["up", "--port", "8124"]) == 0

    out = capsys.readouterr().out
    assert "latest revision" in out
    assert "tim.transisi" in out
    assert demo.DEMO_PASSWORD in out
    assert "http://127.0.0.1:8124" in out
    assert len(server_calls) == 1
    # The background worker stops with the server: no thread outlives the command (one did,
    # and its exception reports, formatted while other tests ran, broke them).
    assert not [t for t in threading.enumerate() if t.name == "seratus-worker" and t.is_alive()]
    engine = make_engine(cli_url)
    try:
        with open_session(engine) as session:
            assert session.exec(select(Task)).first() is not None
    finally:
        engine.dispose()


# --- settings and database errors ------------------------------------------------------


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SERATUS_PORT", "delapan-ribu", "SERATUS_PORT"),
        ("SERATUS_DATABASE_URL", "bukan url", "SERATUS_DATABASE_URL is not a database URL"),
    ],
)
@pytest.mark.parametrize("command", ["migrate", "demo", "serve"])
def test_bad_settings_are_named_without_a_traceback(
    cli_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()

    assert cli.main([command]) == 2

    err = capsys.readouterr().err
    assert_one_line_error(err, command)
    assert message in err


def test_a_database_that_cannot_be_opened_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A folder where the database file should be: SQLite cannot open it.
    monkeypatch.setenv("SERATUS_DATABASE_URL", f"sqlite:///{tmp_path}")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert_one_line_error(err, "migrate")
    assert "cannot use the database" in err


@pytest.mark.skipif(
    not on_postgres(), reason="needs a PostgreSQL server (SERATUS_TEST_DATABASE_URL)"
)
@pytest.mark.parametrize("command", ["migrate", "demo"])
def test_a_missing_postgresql_database_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    server = postgres_server()
    assert server is not None
    name = f"seratus_missing_{uuid.uuid4().hex[:12]}"
    missing = sa.make_url(server).set(database=name)
    _use_database(monkeypatch, missing.render_as_string(hide_password=False))
    try:
        assert cli.main([command]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert_one_line_error(err, command)
    assert "cannot use the database" in err
    assert name in err


def test_a_file_in_the_way_of_the_database_folder_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").write_text("not a folder")
    monkeypatch.setenv("SERATUS_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'seratus.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert_one_line_error(err, "migrate")
    assert "cannot create the folder" in err


# --- the entry point -------------------------------------------------------------------


def test_python_dash_m_app_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "--help"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "", "SERATUS_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: seratus")
    for command in ("up", "migrate", "demo", "create-user", "serve"):
        assert command in result.stdout
    assert not (tmp_path / "x.db").exists()


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err
