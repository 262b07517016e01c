"""The `seratus` command line: up, migrate, demo, create-user, serve, worker, digest, backup.

Every command works on `SERATUS_DATABASE_URL` (default: SQLite under ./data/). Errors are
printed as one sentence on stderr with exit status 2; nothing half-done is left behind.
"""

import argparse
import getpass
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from app.backup import BackupRefused, backup_sqlite, restore_instructions
from app.config import Settings, get_settings
from app.db import make_engine, open_session
from app.errors import DomainError
from app.models import Role
from app.schema import DatabaseNotMigrated, ensure_migrated, upgrade
from app.services import accounts, demo
from app.services.reference import get_unit_by_code


class CommandError(Exception):
    """A failure the operator can fix; printed without a traceback."""


def _load_settings() -> Settings:
    """The settings, or one sentence naming the variable that is wrong (not a traceback)."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        prefix = str(Settings.model_config.get("env_prefix", ""))
        problems = "; ".join(
            f"{prefix}{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise CommandError(f"invalid setting ({problems}).") from exc
    try:
        make_url(settings.database_url)
    except ArgumentError as exc:
        raise CommandError(
            "SERATUS_DATABASE_URL is not a database URL (e.g. sqlite:///data/seratus.db or "
            "postgresql+psycopg://user:password@host/seratus)."
        ) from exc
    return settings


def _ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder (./data/ on a fresh clone)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(
                f"cannot create the folder {folder} for the SQLite database: {exc.strerror}."
            ) from exc


def _migrated_engine(settings: Settings) -> Engine:
    _ensure_sqlite_directory(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        ensure_migrated(engine)
    except DatabaseNotMigrated as exc:
        engine.dispose()
        raise CommandError(str(exc)) from exc
    return engine


def _safe_url(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


# --- commands --------------------------------------------------------------------------


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> None:
    _ensure_sqlite_directory(settings.database_url)
    upgrade(settings.database_url)
    print(f"Database at {_safe_url(settings.database_url)} is at the latest revision.")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    engine = _migrated_engine(settings)
    try:
        with open_session(engine, write=True) as session:
            summary = demo.load_demo(
                session, start_date=args.start_date, password=args.password or demo.DEMO_PASSWORD
            )
            _print_demo(summary)
    finally:
        engine.dispose()


def _print_demo(summary: demo.DemoSummary) -> None:
    plan = summary.plan
    state = "created" if summary.plan_created else "already present"
    print(f"Plan: {plan.name} ({state}), day 1 = {plan.start_date:%d %b %Y}")
    print(
        f"Reference data: {summary.reference.created} rows added "
        f"({summary.reference.agencies} agencies, {summary.reference.districts} kecamatan, "
        f"{summary.reference.programs} programs, {summary.reference.holidays} holidays)"
    )
    if summary.tasks_created:
        print(f"Tasks: {summary.tasks_created} created with {summary.events_created} events")
    else:
        print(f"Tasks: {summary.tasks_present} already present, none added")
    print()
    print("Demo logins (demo data only; never use these accounts in production):")
    featured = [login for login in summary.logins if login.featured]
    others = [login for login in summary.logins if not login.featured]
    width = max(len(login.username) for login in summary.logins)
    for login in featured:
        unit = f" — {login.unit_name}" if login.unit_name not in login.full_name else ""
        print(f"  {login.username:<{width}}  {login.role.value:<9}  {login.full_name}{unit}")
    if others:
        print(f"  and {len(others)} more unit accounts:")
        print("    " + ", ".join(login.username for login in others))
    if summary.users_created:
        print(f"Password for the {len(summary.users_created)} new accounts: {summary.password}")
    if summary.users_present:
        print(
            f"{len(summary.users_present)} accounts existed already and keep their password "
            f"(the demo password is {demo.DEMO_PASSWORD} unless it was changed)."
        )


def cmd_create_user(settings: Settings, args: argparse.Namespace) -> None:
    password = _read_password(from_stdin=args.password_stdin)
    engine = _migrated_engine(settings)
    try:
        with open_session(engine, write=True) as session:
            unit_id = None
            if args.unit:
                unit_id = get_unit_by_code(session, code=args.unit).id
            user = accounts.create_user(
                session,
                actor=None,
                username=args.username,
                full_name=args.full_name,
                role=Role(args.role),
                password=password,
                unit_id=unit_id,
            )
            print(f"Created {user.role.value} account '{user.username}' ({user.full_name}).")
    finally:
        engine.dispose()


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for the password: use --password-stdin.")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        raise CommandError("The two passwords differ; nothing was created.")
    return first


def cmd_backup(settings: Settings, args: argparse.Namespace) -> None:
    try:
        result = backup_sqlite(settings.database_url, Path(args.path))
    except BackupRefused as exc:
        raise CommandError(str(exc)) from exc
    print(
        f"Backed up {result.source} to {result.target} "
        f"({result.size_bytes / 1_048_576:.1f} MiB, integrity checked)."
    )
    print(restore_instructions(result))
    # Evidence files are not in the database; the backup is only whole with them.
    print(
        f"Evidence files are not in the database: also copy {settings.evidence_dir} "
        "(after this backup, so every file it refers to is there)."
    )


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from app.worker import run_worker

    engine = _migrated_engine(settings)
    stop = threading.Event()
    # SIGTERM (docker stop, systemd) ends the loop after the message being sent.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        if not args.once:
            print("Seratus worker: notifications, Laporan Pagi, escalation (Ctrl+C stops it)")
        totals = run_worker(engine, settings=settings, once=args.once, stop=stop)
    except KeyboardInterrupt:
        return
    finally:
        engine.dispose()
    for line in totals.routines:
        print(line)
    print(f"Sent {totals.sent}, to retry {totals.retried}, failed {totals.failed}.")


def cmd_digest(settings: Settings, args: argparse.Namespace) -> None:
    from app.services import digest
    from app.services.escalation import working_calendar
    from app.services.plans import current_plan

    if not args.dry_run:
        raise CommandError(
            "the worker sends the Laporan Pagi each working day; use --dry-run to print one."
        )
    engine = _migrated_engine(settings)
    try:
        with open_session(engine) as session:
            user = accounts.get_user_by_username(session, username=args.user)
            plan = current_plan(session)
            now = datetime.now(UTC)
            if args.date is not None:
                # The digest time of that day, in the plan's timezone.
                at = datetime.combine(args.date, digest.digest_time(settings))
                now = at.replace(tzinfo=ZoneInfo(plan.timezone)).astimezone(UTC)
            built = digest.build_digest(session, user=user, plan=plan, now=now)
            print(f"Subject: {built.subject}")
            print(f"To: {user.full_name} ({user.username})")
            calendar = working_calendar(session, plan)
            if not calendar.is_working_day(built.day):
                print("(not a working day: no Laporan Pagi is sent on this date)")
            elif not built.has_items:
                print("(nothing to act on: no Laporan Pagi is sent to this user on this date)")
            print()
            print(digest.digest_text(built, base_url=settings.base_url.rstrip("/")), end="")
    finally:
        engine.dispose()


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    _migrated_engine(settings).dispose()
    _serve(settings, args, prefork=True)


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    cmd_migrate(settings, args)
    cmd_demo(settings, args)
    host = args.host or settings.host
    port = args.port or settings.port
    print()
    print(f"Seratus is starting at http://{host}:{port}  (Ctrl+C stops it)")
    with _background_worker(settings):
        _serve(settings, args)


# How long `seratus up` waits, once the server has stopped, for the worker's round to end.
WORKER_STOP_SECONDS = 10


@contextmanager
def _background_worker(settings: Settings) -> Iterator[None]:
    """`seratus up` works from one command: a worker runs in a thread of this process while
    the server runs, and is stopped with it (a round in progress finishes first)."""
    from app.worker import run_worker

    engine = make_engine(settings.database_url)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(engine,),
        kwargs={"settings": settings, "stop": stop},
        name="seratus-worker",
        daemon=True,
    )
    thread.start()
    channels = [
        name
        for name, on in (
            ("email", settings.smtp_host),
            ("Telegram", settings.telegram_bot_token),
            ("webhook", settings.webhook_url),
        )
        if on
    ]
    print(
        "Worker running in the background (channels: "
        + (", ".join(channels) if channels else "none configured; the inbox still works")
        + ")."
    )
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=WORKER_STOP_SECONDS)
        engine.dispose()


def _serve(settings: Settings, args: argparse.Namespace, *, prefork: bool = False) -> None:
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    # (Not for `up`: its background worker thread lives in this process, and forking a
    # process that runs threads can copy a lock in a held state.)
    if workers > 1 and prefork and sys.platform == "linux":
        # A pre-fork server (app.prefork): a zygote loads the app once and forks the
        # workers, which share that memory; elsewhere uvicorn starts each worker afresh.
        exec_prefork_server([host, str(port), str(workers), settings.log_level])
        return
    import uvicorn  # imported here: the other commands do not need a server

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
    )


# glibc gives threads that allocate their own malloc arenas (up to eight per core) and a
# worker's thread pool runs up to 40 threads, so freed memory stays spread over many arenas.
# Two arenas took the whole server's peak PSS under bench/load.py (2 workers, 1,000 tasks)
# from 332 to 285 MiB at the same throughput. A fixed mmap threshold: glibc otherwise raises
# it up to 32 MB after freeing a large block (an argon2 hash frees 64 MB, at import already),
# and blocks of up to that size then stay in the heap after use instead of going back to the
# system; it took that peak PSS from about 267 to 255 MiB with the pre-fork server. Both must
# be set before the interpreter starts.
SERVER_ENVIRONMENT = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072"}


def server_environment(base: Mapping[str, str]) -> dict[str, str]:
    """The supervisor's and its workers' environment: SERVER_ENVIRONMENT, unless the
    operator set those variables already."""
    return {**SERVER_ENVIRONMENT, **base}


def exec_prefork_server(arguments: list[str]) -> None:
    """Replace this process by `python -m app.prefork ARGUMENTS` (same pid, so a process
    manager or a process group still reaches the server); the workers it forks inherit its
    environment."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "app.prefork", *arguments]
    os.execve(sys.executable, argv, server_environment(os.environ))  # noqa: S606


# --- parsing ---------------------------------------------------------------------------


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (SERATUS_HOST)")
    parser.add_argument("--port", type=int, help="port (SERATUS_PORT)")
    parser.add_argument("--workers", type=int, help="worker processes (SERATUS_WORKERS)")


def _demo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start-date",
        type=_iso_date,
        help="day 1 of the demo plan (default: placed so that today is day 45)",
    )
    parser.add_argument("--password", help="password for new demo accounts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seratus", description="Seratus: the first-100-days work plan tracker."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="migrate, load the demo data, print logins, serve")
    _demo_options(up)
    _serve_options(up)
    up.set_defaults(handler=cmd_up)

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest schema")
    migrate.set_defaults(handler=cmd_migrate)

    demo_cmd = commands.add_parser("demo", help="load reference data, demo plan and users")
    _demo_options(demo_cmd)
    demo_cmd.set_defaults(handler=cmd_demo)

    create = commands.add_parser("create-user", help="create a real account")
    create.add_argument("username")
    create.add_argument("--full-name", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--unit", help="unit code (required for role unit), e.g. PUTR")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=cmd_create_user)

    backup = commands.add_parser(
        "backup", help="copy the running SQLite database to PATH (PostgreSQL: pg_dump)"
    )
    backup.add_argument("path", metavar="PATH", help="the new file (must not exist)")
    backup.set_defaults(handler=cmd_backup)

    worker = commands.add_parser(
        "worker", help="send notifications; run the Laporan Pagi and the escalation ladder"
    )
    worker.add_argument(
        "--once", action="store_true", help="run the routines and send what is due, then exit"
    )
    worker.set_defaults(handler=cmd_worker)

    digest_cmd = commands.add_parser("digest", help="the Laporan Pagi (morning digest)")
    digest_cmd.add_argument(
        "--dry-run", action="store_true", help="print what the user would get; send nothing"
    )
    digest_cmd.add_argument("--user", required=True, metavar="NAME", help="username")
    digest_cmd.add_argument("--date", type=_iso_date, help="the morning to show (default: now)")
    digest_cmd.set_defaults(handler=cmd_digest)

    serve = commands.add_parser("serve", help="serve the app (the database must be migrated)")
    _serve_options(serve)
    serve.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _load_settings()
        try:
            args.handler(settings, args)
        except OperationalError as exc:
            # Unreachable server, unreadable file, wrong credentials: say so in one line.
            reason = (str(exc.orig).strip().splitlines() or ["no details"])[0]
            raise CommandError(
                f"cannot use the database at {_safe_url(settings.database_url)}: {reason}"
            ) from exc
    except (CommandError, DomainError) as exc:
        message = exc.message if isinstance(exc, DomainError) else str(exc)
        print(f"seratus {args.command}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
