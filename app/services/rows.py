"""Loading one row by id for an administration page, and saving under a unique constraint."""

from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from app.errors import NotFound
from app.forms.errors import FormErrors
from app.models import ID_MAX

M = TypeVar("M", bound=SQLModel)


def bounded_id(value: int) -> bool:
    """Ids beyond a 32-bit INTEGER cannot exist; looking them up would overflow the driver."""
    return 0 < value <= ID_MAX


def get_row(session: Session, model: type[M], item_id: int, message: str) -> M:
    """The row, or NotFound with `message`."""
    item = session.get(model, item_id) if bounded_id(item_id) else None
    if item is None:
        raise NotFound(message)
    return item


def commit_unique(session: Session, *, field: str, message: str) -> None:
    """Commit; a unique constraint lost to a concurrent save becomes a field error."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise FormErrors({field: message}) from exc
