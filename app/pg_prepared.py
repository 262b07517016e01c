"""PostgreSQL keeps its prepared statements across requests: a transaction that wrote
nothing ends with COMMIT rather than ROLLBACK.

psycopg prepares a query on the server once a connection has run it five times, so later
runs skip parsing and planning: most of a small query's cost in PostgreSQL. But psycopg
forgets every prepared statement on each ROLLBACK (a rolled-back transaction might have
dropped what they refer to), and every read request ends in one when its session closes,
so under load nothing was ever prepared: every query was parsed and planned afresh. For a
transaction that only read, COMMIT and ROLLBACK end it the same way.
"""

from contextlib import suppress
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

# Set on a pooled connection's info when its transaction runs anything but a SELECT.
_WROTE = "seratus_wrote"


def keep_prepared_statements(engine: Engine) -> None:
    """End `engine`'s read-only transactions with COMMIT, and the others as before."""
    # Imported here, for a PostgreSQL engine only: psycopg and libpq would add several MiB
    # to every process of a server on SQLite.
    import psycopg
    from psycopg import pq

    @event.listens_for(engine, "before_cursor_execute")
    def _note_write(
        conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
    ) -> None:
        # Anything else (a write, a SAVEPOINT, a WITH …) ends with a real ROLLBACK.
        if not statement.startswith("SELECT"):
            conn.info[_WROTE] = True

    @event.listens_for(engine, "commit")
    def _forget_write(conn: Connection) -> None:
        conn.info.pop(_WROTE, None)

    @event.listens_for(engine, "rollback")
    def _commit_a_read(conn: Connection) -> None:
        # Runs just before SQLAlchemy's ROLLBACK, which then finds no transaction open and
        # sends nothing (nor makes psycopg forget).
        if conn.info.pop(_WROTE, False) or conn.invalidated or conn.closed:
            return
        raw = conn.connection.dbapi_connection
        if raw is None or raw.info.transaction_status != pq.TransactionStatus.INTRANS:
            return  # idle, or a failed transaction: only ROLLBACK ends that
        # A broken connection: the ROLLBACK that follows meets it as it would have.
        with suppress(psycopg.Error):
            raw.commit()
