"""Text sorted the same on every database: by code point, as SQLite sorts by default.

PostgreSQL sorts text by the database's collation, so on an en_US.UTF-8 database "Dinas
Pariwisata" comes before "Dinas PUTR" and on SQLite after it. Sort keys on text columns go
through `text_order`, which adds COLLATE "C" (code point order) on PostgreSQL.
"""

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String


class CodePointOrder(FunctionElement[str]):
    """A text column compared by code point: `text_order(col(Unit.name))`."""

    type = String()
    inherit_cache = True


@compiles(CodePointOrder)
def _as_is(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(CodePointOrder, "postgresql")
def _collate_c(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


def text_order(column: Any) -> CodePointOrder:
    return CodePointOrder(column)
