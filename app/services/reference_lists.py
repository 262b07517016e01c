"""Small read-only lists of reference data for pickers and filters (units, programs)."""

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from sqlmodel import Session, col, select

from app.models import Plan, Program, ProgramKind, Unit, UnitKind
from app.services.filters import TaskFilter
from app.sorting import text_order

T = TypeVar("T")


@dataclass(frozen=True)
class Choice:
    """A unit or program as a filter offers it: plain values, so a list of them can be kept
    between requests."""

    id: int
    short_name: str


@dataclass(frozen=True)
class FilterOptions:
    """The choices of the task filters: units by kind and programs grouped by kind."""

    agencies: tuple[Choice, ...] = ()
    districts: tuple[Choice, ...] = ()
    programs: tuple[tuple[ProgramKind, tuple[Choice, ...]], ...] = ()

    @property
    def unit_ids(self) -> set[int]:
        return {u.id for u in (*self.agencies, *self.districts)}

    @property
    def district_ids(self) -> set[int]:
        return {u.id for u in self.districts}

    @property
    def program_ids(self) -> set[int]:
        return {p.id for _, group in self.programs for p in group}

    def drop_unknown(
        self, filters: TaskFilter, *, keep_unit_id: int | None = None
    ) -> tuple[TaskFilter, list[str]]:
        """Ids that name no active unit, program or district are ignored, like malformed
        ones: the filters kept, and the Indonesian names of those ignored. `keep_unit_id`
        (a unit user's own unit) is kept even when inactive."""
        ignored: list[str] = []
        unit_id = filters.unit_id
        if unit_id and unit_id != keep_unit_id and unit_id not in self.unit_ids:
            filters = replace(filters, unit_id=None)
            ignored.append("perangkat daerah / kecamatan")
        if filters.program_id and filters.program_id not in self.program_ids:
            filters = replace(filters, program_id=None)
            ignored.append("program")
        if filters.district_id and filters.district_id not in self.district_ids:
            filters = replace(filters, district_id=None)
            ignored.append("kecamatan")
        return filters, ignored


def options_from(units: Sequence[Unit], programs: Sequence[Program]) -> FilterOptions:
    """The filter choices among `units` and `programs` (each already in display order): the
    active ones, agencies then districts, programs grouped by kind."""
    active_programs = [p for p in programs if p.is_active]
    # Kinds in the order the administration presents them (the enum's order).
    grouped = [
        (kind, tuple(Choice(p.pk, p.short_name) for p in active_programs if p.kind == kind))
        for kind in ProgramKind
    ]

    def units_of(kind: UnitKind) -> tuple[Choice, ...]:
        return tuple(Choice(u.pk, u.short_name) for u in units if u.is_active and u.kind == kind)

    return FilterOptions(
        agencies=units_of(UnitKind.agency),
        districts=units_of(UnitKind.district),
        programs=tuple((kind, group) for kind, group in grouped if group),
    )


class KeptUnderReference(Generic[T]):
    """One value derived from units and programs, kept under the plans' reference stamp it
    was read at, and read again only when that stamp moves: every change to a unit or program
    moves it (publishing.touch_public). The key is read from the database with the plan, so
    no process keeps a value stale; the database's address, the plan's identity and the
    stamp's time keep two databases with the same numbers apart. One entry: all plans share
    units and programs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[Hashable, T] = {}

    def get(self, session: Session, plan: Plan, read: Callable[[], T]) -> T:
        key = (
            str(session.connection().engine.url),
            plan.id,
            plan.created_at,
            plan.public_revision,
            plan.public_changed_at,
        )
        with self._lock:
            found = self._kept.get(key)
        if found is None:
            found = read()
            with self._lock:
                self._kept.clear()
                self._kept[key] = found
        return found

    def forget(self) -> None:
        with self._lock:
            self._kept.clear()


_kept_options: KeptUnderReference[FilterOptions] = KeptUnderReference()


def filter_options(session: Session, plan: Plan) -> FilterOptions:
    """`read_filter_options`, kept under the plans' reference stamp (KeptUnderReference)."""
    return _kept_options.get(session, plan, lambda: read_filter_options(session))


def forget_filter_options() -> None:
    """Drop the kept options (tests that run many databases in one process)."""
    _kept_options.forget()


def read_filter_options(session: Session) -> FilterOptions:
    """Active units (agencies, then districts) and active programs by kind, in two queries."""
    units = session.exec(
        select(Unit)
        .where(col(Unit.is_active))
        .order_by(text_order(col(Unit.short_name)), col(Unit.id))
    ).all()
    programs = session.exec(
        select(Program)
        .where(col(Program.is_active))
        .order_by(col(Program.sort_order), col(Program.id))
    ).all()
    return options_from(units, programs)
