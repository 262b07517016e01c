"""Alembic from code: upgrade to head, and refuse to serve an unmigrated database.

A web worker only checks the revision: it compares the database's `alembic_version` with
`SCHEMA_REVISION`, the head of `migrations/` this code was written for (a test keeps the two
equal), so that it never imports Alembic (~10 MB per worker) just to read one row.
"""

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Engine

from app.config import BASE_DIR

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATE_COMMAND = "seratus migrate"
# The PostgreSQL advisory lock migrations/env.py holds while migrating.
MIGRATION_LOCK_KEY = 0x5E7A7115
# The newest migration's revision: update it with every new migration (tests/test_migrations.py
# fails until it equals the head of migrations/).
SCHEMA_REVISION = "0012"


class DatabaseNotMigrated(RuntimeError):
    pass


def alembic_config(database_url: str) -> "Config":
    from alembic.config import Config

    config = Config(str(BASE_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BASE_DIR / "migrations"))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def head_revision(database_url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated), as Alembic records it."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    return found[0] if len(found) == 1 else None


def ensure_migrated(engine: Engine) -> None:
    """Raise DatabaseNotMigrated, naming the command to run, unless the schema is at head."""
    current = current_revision(engine)
    if current != SCHEMA_REVISION:
        state = "empty (no tables)" if current is None else f"at revision {current}"
        raise DatabaseNotMigrated(
            f"The database at {engine.url.render_as_string(hide_password=True)} is {state}; "
            f"the code needs revision {SCHEMA_REVISION}. Run `{MIGRATE_COMMAND}` "
            "(or `alembic upgrade head`) first."
        )
