"""The task filters a page's URL carries (`unit`, `program`, `district`, `kind`, `overdue`,
`needs_decision`, `q`), read once for the board, the dashboard and their exports.

Pages read them leniently (`filter_query`): a malformed value is dropped and named in
`ignored` so the page can say so, never a 422 or a 500. The JSON API and the burndown CSV,
whose URLs are built by the dashboard or a script, read the same parameters strictly
(`api_task_filter`, `api_scope_filter`): typed, described in OpenAPI, 422 naming a bad one.

These dependencies, like every one that only reads the request, are `async def`: FastAPI runs
a plain `def` dependency in the thread pool, and that hop costs more than the parsing (a board
poll used to make seven of them).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Query, Request

from app.models import ID_MAX, ProgramKind
from app.services.filters import Q_MAX, TaskFilter, parse_filter_id

TRUE_VALUES = frozenset({"1", "true", "on", "ya"})
FALSE_VALUES = frozenset({"", "0", "false", "off", "tidak"})
# The filters' query parameters, in filter_query's order.
FILTER_PARAMS = ("unit", "program", "district", "kind", "overdue", "needs_decision", "q")
# The parameters that choose a chart's tasks (TaskFilter.scope).
SCOPE_PARAMS = ("unit", "program", "district", "kind")


@dataclass(frozen=True)
class FilterQuery:
    """The filters as asked for, normalised; what had to be dropped, by parameter."""

    filters: TaskFilter
    # Parameter → what the page says it ignored ("program", "kata kunci dipotong …").
    ignored: dict[str, str] = field(default_factory=dict)
    # Whether the URL named any filter at all (even an empty one).
    given: bool = False

    def scope(self) -> "FilterQuery":
        """Only the filters that choose a chart's tasks, and what was ignored of those."""
        return FilterQuery(
            filters=self.filters.scope(),
            ignored={k: v for k, v in self.ignored.items() if k in SCOPE_PARAMS},
            given=self.given,
        )


def _flag(raw: str | None, name: str, label: str, ignored: dict[str, str]) -> bool:
    value = (raw or "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value not in FALSE_VALUES:
        ignored[name] = label
    return False


def _id(raw: str | None, name: str, label: str, ignored: dict[str, str]) -> int | None:
    dropped: list[str] = []
    value = parse_filter_id(raw, label, dropped)
    if dropped:
        ignored[name] = label
    return value


async def filter_query(request: Request) -> FilterQuery:
    """The page's filters, read from the query string itself rather than as seven declared
    parameters: every board page, poll and dashboard asks, and FastAPI's validation of seven
    plain-text parameters was about a twentieth of a 304 poll."""
    return read_filters(request.query_params)


def read_filters(params: Mapping[str, str]) -> FilterQuery:
    """Read the filters leniently: a malformed value is ignored (and said so), never a 500."""
    unit, program, district, kind, overdue, needs_decision, q = (
        params.get(name) for name in FILTER_PARAMS
    )
    ignored: dict[str, str] = {}
    kind_value = (kind or "").strip()
    program_kind = ProgramKind(kind_value) if kind_value in ProgramKind.__members__ else None
    if kind_value and program_kind is None:
        ignored["kind"] = "jenis program"
    text = (q or "").strip()
    if len(text) > Q_MAX:
        text = text[:Q_MAX].strip()
        ignored["q"] = f"kata kunci dipotong menjadi {Q_MAX} karakter"
    filters = TaskFilter(
        unit_id=_id(unit, "unit", "perangkat daerah / kecamatan", ignored),
        program_id=_id(program, "program", "program", ignored),
        district_id=_id(district, "district", "kecamatan", ignored),
        program_kind=program_kind,
        overdue=_flag(overdue, "overdue", "terlambat", ignored),
        needs_decision=_flag(needs_decision, "needs_decision", "perlu keputusan", ignored),
        q=text,
    )
    given = any(v is not None for v in (unit, program, district, kind, overdue, needs_decision, q))
    return FilterQuery(filters=filters, ignored=ignored, given=given)


FilterQueryDep = Annotated[FilterQuery, Depends(filter_query)]


# --- the API's strict parameters -------------------------------------------------------------

UnitParam = Annotated[
    int | None, Query(ge=1, le=ID_MAX, description="Led or supported by this unit.")
]
ProgramParam = Annotated[int | None, Query(ge=1, le=ID_MAX, description="Linked to this program.")]
DistrictParam = Annotated[
    int | None, Query(ge=1, le=ID_MAX, description="Located in this district.")
]
KindParam = Annotated[ProgramKind | None, Query(description="Linked to a program of this kind.")]


async def api_task_filter(
    unit: UnitParam = None,
    program: ProgramParam = None,
    district: DistrictParam = None,
    overdue: Annotated[bool, Query(description="Past its due date and not done.")] = False,
    needs_decision: Annotated[
        bool, Query(description="Escalated for the Bupati's decision.")
    ] = False,
    q: Annotated[
        str, Query(max_length=Q_MAX, description="Text in code, title, description or village.")
    ] = "",
) -> TaskFilter:
    """The task list's filters (GET /api/v1/tasks)."""
    return TaskFilter(
        unit_id=unit,
        program_id=program,
        district_id=district,
        overdue=overdue,
        needs_decision=needs_decision,
        q=q.strip(),
    )


async def api_scope_filter(
    unit: UnitParam = None,
    program: ProgramParam = None,
    kind: KindParam = None,
    district: DistrictParam = None,
) -> TaskFilter:
    """The charts' filters (burndown, Kurva S, dashboard): only those that choose tasks."""
    return TaskFilter(unit_id=unit, program_id=program, program_kind=kind, district_id=district)


ApiTaskFilterDep = Annotated[TaskFilter, Depends(api_task_filter)]
ApiScopeFilterDep = Annotated[TaskFilter, Depends(api_scope_filter)]
