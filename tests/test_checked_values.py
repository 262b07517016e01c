"""`Checker.checked`: a parsed value is read as its type after `done()`, never as a None."""

import pytest

from app.forms.checker import Checker
from app.forms.errors import FormErrors
from app.models import UnitKind


def test_a_value_that_passed_is_returned_typed() -> None:
    check = Checker()
    kind = check.choice("district", field="kind", enum=UnitKind)
    length = check.number("100", field="length_days", low=1, high=365)
    check.done()
    assert check.checked(kind) is UnitKind.district
    assert check.checked(length) == 100


def test_a_failed_value_never_gets_past_done() -> None:
    check = Checker()
    kind = check.choice("planet", field="kind", enum=UnitKind)
    assert kind is None
    with pytest.raises(FormErrors):
        check.done()
    # Reading it anyway (a caller that forgot done()) is a bug, said loudly.
    with pytest.raises(RuntimeError, match="before done"):
        check.checked(kind)
