"""Alembic from code: upgrade to head, and refuse to serve an unmigrated database."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.config import BASE_DIR

MIGRATE_COMMAND = "seratus migrate"
# The PostgreSQL advisory lock migrations/env.py holds while migrating.
MIGRATION_LOCK_KEY = 0x5E7A7115


class DatabaseNotMigrated(RuntimeError):
    pass


def alembic_config(database_url: str) -> Config:
    config = Config(str(BASE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BASE_DIR / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def ensure_migrated(engine: Engine) -> None:
    """Raise DatabaseNotMigrated, naming the command to run, unless the schema is at head."""
    url = engine.url.render_as_string(hide_password=False)
    head = head_revision(url)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        state = "empty (no tables)" if current is None else f"at revision {current}"
        raise DatabaseNotMigrated(
            f"The database at {engine.url.render_as_string(hide_password=True)} is {state}; "
            f"the code needs revision {head}. Run `{MIGRATE_COMMAND}` "
            "(or `alembic upgrade head`) first."
        )
