"""The one reading of the task filters in a page's URL (app.routes.task_filters), shared by
the board, the dashboard and their exports."""

from app.models import ProgramKind
from app.routes import task_filters
from app.routes.task_filters import FilterQuery
from app.services.filters import Q_MAX, TaskFilter


def filter_query(**params: str) -> FilterQuery:
    """What the dependency reads from a query string with these parameters."""
    return task_filters.read_filters(params)


def test_every_filter_is_read_and_written_back_the_same() -> None:
    asked = filter_query(
        unit="3",
        program="5",
        district="7",
        kind="movement",
        overdue="ya",
        needs_decision="1",
        q=" jalan ",
    )
    assert asked.filters == TaskFilter(
        unit_id=3,
        program_id=5,
        district_id=7,
        program_kind=ProgramKind.movement,
        overdue=True,
        needs_decision=True,
        q="jalan",
    )
    assert (asked.ignored, asked.given) == ({}, True)
    assert asked.filters.query_params() == {
        "unit": "3",
        "program": "5",
        "district": "7",
        "kind": "movement",
        "overdue": "1",
        "needs_decision": "1",
        "q": "jalan",
    }


def test_a_malformed_value_is_dropped_and_named() -> None:
    asked = filter_query(unit="abc", program="0", district="99999999999", kind="x", overdue="?")
    assert asked.filters == TaskFilter()
    assert asked.ignored == {
        "kind": "jenis program",
        "unit": "perangkat daerah / kecamatan",
        "program": "program",
        "district": "kecamatan",
        "overdue": "terlambat",
    }
    long = filter_query(q="a" * (Q_MAX + 20))
    assert long.filters.q == "a" * Q_MAX
    assert long.ignored == {"q": f"kata kunci dipotong menjadi {Q_MAX} karakter"}


def test_nothing_asked_and_an_empty_filter_differ() -> None:
    """A unit user's bare /board means "my unit"; `?unit=` means every unit."""
    assert filter_query().given is False
    assert filter_query(unit="").given is True
    assert filter_query(unit="").filters == TaskFilter()


def test_the_charts_keep_only_the_filters_that_choose_tasks() -> None:
    scope = filter_query(unit="3", kind="priority", overdue="1", q="x", program="abc").scope()
    assert scope.filters == TaskFilter(unit_id=3, program_kind=ProgramKind.priority)
    assert scope.ignored == {"program": "program"}
