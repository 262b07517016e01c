"""`Row.pk`: the typed id of a persisted row, and a clear error for a row never written."""

import pytest
from sqlmodel import Session, SQLModel
from sqlmodel.main import default_registry

from app.models import Row, TableModel, Unit, UnitKind, UnsavedRowError


def _unit() -> Unit:
    return Unit(code="DINKES", name="Dinas Kesehatan", short_name="Dinkes", kind=UnitKind.agency)


def test_pk_is_the_id_once_the_row_is_flushed(session: Session) -> None:
    unit = _unit()
    session.add(unit)
    session.flush()
    assert unit.id is not None
    assert unit.pk == unit.id
    assert session.get(Unit, unit.pk) is unit


def test_pk_of_an_unsaved_row_names_the_table() -> None:
    unit = _unit()
    with pytest.raises(UnsavedRowError, match="Unit has no id yet"):
        _ = unit.pk


def test_every_table_has_a_typed_base() -> None:
    # A new table must derive from Row (integer id) or TableModel (other keys), so `pk` and
    # the typed `__table__` are there for every table.
    for table in SQLModel.metadata.sorted_tables:
        models = [m.class_ for m in default_registry.mappers if m.local_table is table]
        assert len(models) == 1, table.name
        model = models[0]
        assert issubclass(model, TableModel), table.name
        assert issubclass(model, Row) == ("id" in table.c), table.name
