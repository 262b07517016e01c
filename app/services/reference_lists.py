"""Small read-only lists of reference data for pickers and filters (units, programs)."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlmodel import Session, col, select

from app.models import Program, ProgramKind, Unit, UnitKind
from app.services.filters import TaskFilter
from app.sorting import text_order


@dataclass
class FilterOptions:
    """The choices of the task filters: units by kind and programs grouped by kind."""

    agencies: list[Unit] = field(default_factory=list)
    districts: list[Unit] = field(default_factory=list)
    programs: list[tuple[ProgramKind, list[Program]]] = field(default_factory=list)

    @property
    def unit_ids(self) -> set[int]:
        return {u.pk for u in (*self.agencies, *self.districts)}

    @property
    def district_ids(self) -> set[int]:
        return {u.pk for u in self.districts}

    @property
    def program_ids(self) -> set[int]:
        return {p.pk for _, group in self.programs for p in group}

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
    grouped = [(kind, [p for p in active_programs if p.kind == kind]) for kind in ProgramKind]
    return FilterOptions(
        agencies=[u for u in units if u.is_active and u.kind == UnitKind.agency],
        districts=[u for u in units if u.is_active and u.kind == UnitKind.district],
        programs=[(kind, group) for kind, group in grouped if group],
    )


def filter_options(session: Session) -> FilterOptions:
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
