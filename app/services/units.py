"""The team's units: agencies (OPD) and districts (kecamatan). Units are never deleted:
tasks refer to them; a unit is deactivated instead."""

from sqlmodel import Session, col, func, select

from app import permissions
from app.forms.checker import Checker
from app.forms.units import UnitData, UnitInput
from app.models import Task, Unit, UnitKind, User
from app.services.publishing import touch_public
from app.services.rows import commit_unique, get_row
from app.sorting import text_order


def list_units(session: Session, *, actor: User, kind: UnitKind | None = None) -> list[Unit]:
    """Agencies, then districts in Kemendagri code order; optionally only one kind."""
    permissions.ensure_team(actor)
    query = select(Unit)
    if kind is not None:
        query = query.where(Unit.kind == kind)
    return list(
        session.exec(
            query.order_by(
                col(Unit.kind),
                text_order(col(Unit.region_code)),
                text_order(col(Unit.name)),
                col(Unit.id),
            )
        ).all()
    )


def get_unit(session: Session, *, actor: User, unit_id: int) -> Unit:
    permissions.ensure_team(actor)
    return get_row(session, Unit, unit_id, f"Unit #{unit_id} tidak ditemukan.")


def blank_unit(*, actor: User) -> UnitInput:
    """The empty form for a new unit."""
    permissions.ensure_team(actor)
    return UnitInput(kind=UnitKind.agency.value)


def _apply_unit(session: Session, data: UnitData, *, unit: Unit | None) -> Unit:
    """The unit with the parsed values applied (not added to the session), after the rules
    that read the database: codes are unique, a kecamatan holding tasks stays one."""
    check = Checker()
    taken = session.exec(select(Unit.id).where(Unit.code == data.code)).first()
    if taken is not None and (unit is None or taken != unit.id):
        check.fail("code", f"Kode {data.code} sudah dipakai unit lain.")
    if data.kind == UnitKind.district:
        # One Kemendagri code names one kecamatan; a second one is a typing mistake.
        same_code = select(Unit.name).where(Unit.region_code == data.region_code)
        if unit is not None:
            same_code = same_code.where(col(Unit.id) != unit.id)
        holder = session.exec(same_code).first()
        if holder is not None:
            check.fail("region_code", f"Kode wilayah {data.region_code} sudah dipakai {holder}.")
    if unit is not None and unit.kind == UnitKind.district and data.kind == UnitKind.agency:
        located = session.exec(
            select(func.count()).select_from(Task).where(Task.district_id == unit.id)
        ).one()
        if located:
            check.fail(
                "kind",
                f"{located} tugas berlokasi di kecamatan ini; jenisnya tidak dapat diubah.",
            )
    check.done()
    target = unit or Unit(
        code=data.code, name=data.name, short_name=data.short_name, kind=data.kind
    )
    target.kind = data.kind
    target.code = data.code
    target.name = data.name
    target.short_name = data.short_name
    target.head_title = data.head_title
    target.head_name = data.head_name
    target.region_code = data.region_code
    return target


def create_unit(session: Session, *, actor: User, data: UnitData) -> Unit:
    """A new agency or district."""
    permissions.ensure_team(actor)
    unit = _apply_unit(session, data, unit=None)
    session.add(unit)
    touch_public(session)  # district names show on the public page
    commit_unique(session, field="code", message="Kode ini sudah dipakai unit lain.")
    return unit


def update_unit(session: Session, *, actor: User, unit_id: int, data: UnitData) -> Unit:
    """Edit a unit's code, names and head (officials rotate)."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    _apply_unit(session, data, unit=unit)
    session.add(unit)
    touch_public(session)  # district names show on the public page
    commit_unique(session, field="code", message="Kode ini sudah dipakai unit lain.")
    return unit


def set_unit_active(session: Session, *, actor: User, unit_id: int, active: bool) -> Unit:
    """Deactivate (or reactivate) a unit. Units are never deleted: tasks refer to them."""
    unit = get_unit(session, actor=actor, unit_id=unit_id)
    unit.is_active = active
    session.add(unit)
    touch_public(session)
    session.commit()
    return unit
