"""Small read-only lists of reference data for pickers and filters (units, programs)."""

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.models import Program, ProgramKind, Unit, UnitKind


@dataclass
class FilterOptions:
    """The choices of the task filters: units by kind and programs grouped by kind."""

    agencies: list[Unit] = field(default_factory=list)
    districts: list[Unit] = field(default_factory=list)
    programs: list[tuple[ProgramKind, list[Program]]] = field(default_factory=list)

    @property
    def unit_ids(self) -> set[int]:
        return {u.id for u in (*self.agencies, *self.districts) if u.id is not None}

    @property
    def district_ids(self) -> set[int]:
        return {u.id for u in self.districts if u.id is not None}

    @property
    def program_ids(self) -> set[int]:
        return {p.id for _, group in self.programs for p in group if p.id is not None}


def filter_options(session: Session) -> FilterOptions:
    """Active units (agencies, then districts) and active programs by kind, in two queries."""
    units = session.exec(
        select(Unit).where(col(Unit.is_active)).order_by(col(Unit.short_name), col(Unit.id))
    ).all()
    programs = session.exec(
        select(Program)
        .where(col(Program.is_active))
        .order_by(col(Program.sort_order), col(Program.id))
    ).all()
    # Kinds in the order the administration presents them (the enum's order).
    grouped = [(kind, [p for p in programs if p.kind == kind]) for kind in ProgramKind]
    return FilterOptions(
        agencies=[u for u in units if u.kind == UnitKind.agency],
        districts=[u for u in units if u.kind == UnitKind.district],
        programs=[(kind, group) for kind, group in grouped if group],
    )
