"""The administration services (app.services.admin, units, programs, plans.settings, holidays)
called directly: the team-only check on every public function, and the
rules the forms rely on. The pages themselves are tested in test_admin.py."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.errors import Forbidden, NotFound, RuleViolation
from app.forms.errors import FormErrors
from app.forms.holidays import HolidayInput, parse_holiday
from app.forms.plans import PlanInput, parse_plan
from app.forms.programs import ProgramInput, parse_program
from app.forms.units import UnitInput, parse_unit
from app.forms.users import UserInput, parse_user
from app.models import (
    DayMode,
    Holiday,
    HolidayKind,
    Plan,
    Program,
    ProgramKind,
    Role,
    Row,
    TaskStatus,
    Unit,
    UnitKind,
    User,
)
from app.permissions import READ_ONLY_MESSAGE, TEAM_ONLY_MESSAGE
from app.services import accounts, admin, holidays, programs, rows, tasks, units
from app.services.plans import settings as plan_settings
from tests.factories import World, make_plan, make_program, make_task, make_unit

ADMIN_TABLES: tuple[type[Row], ...] = (Unit, Program, User, Plan, Holiday)
STRONG = "sandi-yang-cukup-panjang"


def snapshot(session: Session) -> dict[str, list[dict[str, Any]]]:
    session.rollback()
    session.expire_all()
    return {
        model.__table__.name: [
            row.model_dump() for row in session.exec(select(model).order_by(model.id_column()))
        ]
        for model in ADMIN_TABLES
    }


def errors_of(call: Callable[[], object]) -> dict[str, str]:
    with pytest.raises(FormErrors) as caught:
        call()
    return caught.value.errors


def unit_input(**overrides: str) -> UnitInput:
    data = {
        "kind": "agency",
        "code": "DISDIK",
        "name": "Dinas Pendidikan",
        "short_name": "Disdik",
        "head_title": "Kepala Dinas",
    }
    data.update(overrides)
    return UnitInput(**data)


def plan_input(**overrides: str) -> PlanInput:
    data = {
        "name": "Tahun Pertama",
        "start_date": "2025-06-02",
        "length_days": "365",
        "day_mode": "calendar",
        "timezone": "Asia/Jakarta",
    }
    data.update(overrides)
    return PlanInput(**data)


def user_input(**overrides: Any) -> UserInput:
    data: dict[str, Any] = {
        "username": "operator.putr",
        "full_name": "Operator PUTR",
        "role": "unit",
        "unit_id": "",
        "is_active": True,
        "password": STRONG,
        "password_repeat": STRONG,
    }
    data.update(overrides)
    return UserInput(**data)


def create_user(session: Session, *, actor: User, data: UserInput) -> User:
    """The new-user form as the page submits it: parsed, then app.services.accounts."""
    try:
        parsed = parse_user(data, password_required=True)
        return accounts.create_user(
            session,
            actor=actor,
            username=parsed.username,
            full_name=parsed.full_name,
            role=parsed.role,
            password=parsed.password,
            unit_id=parsed.unit_id,
            position=parsed.position,
        )
    except RuleViolation as exc:
        raise FormErrors.of(exc) from exc


def update_user(session: Session, *, actor: User, user_id: int, data: UserInput) -> User:
    """The edit-user form as the page submits it."""
    try:
        parsed = parse_user(data, password_required=False)
        return accounts.update_user(
            session,
            actor=actor,
            user_id=user_id,
            full_name=parsed.full_name,
            role=parsed.role,
            unit_id=parsed.unit_id,
            is_active=parsed.is_active,
            new_password=parsed.password,
            position=parsed.position,
        )
    except RuleViolation as exc:
        raise FormErrors.of(exc) from exc


def add_holiday(session: Session, day: date, name: str = "Libur") -> Holiday:
    holiday = Holiday(holiday_date=day, name=name, kind=HolidayKind.libur)
    session.add(holiday)
    session.commit()
    return holiday


# --- the team-only check -------------------------------------------------------------------


def _calls(session: Session, world: World) -> dict[str, Callable[[User], object]]:
    """Every public service of the administration modules, called with input the team may send."""
    holiday = add_holiday(session, date(2025, 3, 31), "Idul Fitri")
    unit_id, program_id, plan_id = world.putr.pk, world.sehat.pk, world.plan.pk
    user_id, holiday_id = world.dinkes_head.pk, holiday.pk
    return {
        "overview": lambda a: admin.overview(session, actor=a),
        "list_units": lambda a: units.list_units(session, actor=a),
        "get_unit": lambda a: units.get_unit(session, actor=a, unit_id=unit_id),
        "blank_unit": lambda a: units.blank_unit(actor=a),
        "create_unit": lambda a: units.create_unit(session, actor=a, data=parse_unit(unit_input())),
        "update_unit": lambda a: units.update_unit(
            session,
            actor=a,
            unit_id=unit_id,
            data=parse_unit(unit_input(code="PUTR", name="Dinas PUPR")),
        ),
        "set_unit_active": lambda a: units.set_unit_active(
            session,
            actor=a,
            unit_id=unit_id,
            active=False,
        ),
        "list_programs": lambda a: programs.list_programs(session, actor=a),
        "get_program": lambda a: programs.get_program(session, actor=a, program_id=program_id),
        "blank_program": lambda a: programs.blank_program(actor=a),
        "create_program": lambda a: programs.create_program(
            session,
            actor=a,
            data=parse_program(
                ProgramInput(kind="movement", code="GORONG", short_name="Gorong", name="G")
            ),
        ),
        "update_program": lambda a: programs.update_program(
            session,
            actor=a,
            program_id=program_id,
            data=parse_program(
                ProgramInput(kind="priority", code="SEHAT", short_name="Sehat", name="Baru")
            ),
        ),
        "set_program_active": lambda a: programs.set_program_active(
            session,
            actor=a,
            program_id=program_id,
            active=False,
        ),
        "user_listing": lambda a: accounts.user_listing(session, actor=a),
        "user_form_view": lambda a: accounts.user_form_view(session, actor=a, user_id=user_id),
        "create_user": lambda a: create_user(
            session, actor=a, data=user_input(unit_id=str(world.dinkes.id))
        ),
        "update_user": lambda a: update_user(
            session,
            actor=a,
            user_id=user_id,
            data=user_input(unit_id=str(world.dinkes.id), password="", password_repeat=""),
        ),
        "plan_view": lambda a: plan_settings.plan_view(session, actor=a),
        "blank_plan": lambda a: plan_settings.blank_plan(actor=a),
        "create_plan": lambda a: plan_settings.create_plan(
            session, actor=a, data=parse_plan(plan_input())
        ),
        "update_plan": lambda a: plan_settings.update_plan(
            session,
            actor=a,
            plan_id=plan_id,
            data=parse_plan(plan_input(name="Diubah")),
        ),
        "set_current_plan": lambda a: plan_settings.set_current_plan(
            session,
            actor=a,
            plan_id=plan_id,
        ),
        "blank_holiday": lambda a: holidays.blank_holiday(actor=a),
        "list_holidays": lambda a: holidays.list_holidays(session, actor=a),
        "get_holiday": lambda a: holidays.get_holiday(session, actor=a, holiday_id=holiday_id),
        "create_holiday": lambda a: holidays.create_holiday(
            session,
            actor=a,
            data=parse_holiday(
                HolidayInput(holiday_date="2025-11-03", name="Hari Jadi Kabupaten", kind="libur")
            ),
        ),
        "update_holiday": lambda a: holidays.update_holiday(
            session,
            actor=a,
            holiday_id=holiday_id,
            data=parse_holiday(
                HolidayInput(holiday_date="2025-11-04", name="Hari libur daerah", kind="libur")
            ),
        ),
        "delete_holiday": lambda a: holidays.delete_holiday(
            session,
            actor=a,
            holiday_id=holiday_id,
        ),
    }


# The team's administration services.
TEAM_MODULES = (admin, units, programs, plan_settings, holidays)


def test_every_public_service_is_listed() -> None:
    """A new public function of the administration services must join the permission tests
    below."""
    public = {
        name
        for module in TEAM_MODULES
        for name, value in vars(module).items()
        if callable(value)
        and not name.startswith("_")
        and getattr(value, "__module__", "") == module.__name__
        and not isinstance(value, type)
    }
    assert public | set(ACCOUNT_PAGES) == set(PUBLIC_SERVICES)


# What app.services.accounts serves the team's user pages (it also serves login and the
# command line, which are not team-only).
ACCOUNT_PAGES = ("user_listing", "user_form_view", "create_user", "update_user")


PUBLIC_SERVICES = (
    "overview",
    "list_units",
    "get_unit",
    "blank_unit",
    "create_unit",
    "update_unit",
    "set_unit_active",
    "list_programs",
    "get_program",
    "blank_program",
    "create_program",
    "update_program",
    "set_program_active",
    "user_listing",
    "user_form_view",
    "create_user",
    "update_user",
    "plan_view",
    "blank_plan",
    "create_plan",
    "update_plan",
    "set_current_plan",
    "blank_holiday",
    "list_holidays",
    "get_holiday",
    "create_holiday",
    "update_holiday",
    "delete_holiday",
)


@pytest.mark.parametrize(
    ("who", "message"),
    [("putr_head", TEAM_ONLY_MESSAGE), ("executive", READ_ONLY_MESSAGE)],
    ids=["unit", "executive"],
)
def test_only_the_team_may_call_the_admin_services(
    session: Session, world: World, who: str, message: str
) -> None:
    calls = _calls(session, world)
    assert set(calls) == set(PUBLIC_SERVICES)
    actor: User = getattr(world, who)
    before = snapshot(session)

    for name, call in calls.items():
        with pytest.raises(Forbidden) as refused:
            call(actor)

        assert refused.value.message == message, name
        assert snapshot(session) == before, name


def test_the_team_may_call_every_admin_service(session: Session, world: World) -> None:
    """The control for the refusals above: the same calls go through for the team."""
    calls = _calls(session, world)

    for name, call in calls.items():
        assert call(world.team) is not None, name

    session.expire_all()
    assert session.exec(select(Unit).where(Unit.code == "DISDIK")).one()
    assert session.exec(select(Holiday).where(Holiday.name == "Hari Jadi Kabupaten")).one()


# --- FormErrors ------------------------------------------------------------------------------


def test_form_errors_of_a_single_violation() -> None:
    named = FormErrors.of(RuleViolation("Kata sandi minimal 10 karakter.", field="password"))
    unnamed = FormErrors.of(RuleViolation("Tidak dapat disimpan."))
    several = FormErrors({"name": "Wajib diisi.", "code": "Wajib diisi."})

    assert named.errors == {"password": "Kata sandi minimal 10 karakter."}
    assert (named.field, named.message) == ("password", "Kata sandi minimal 10 karakter.")
    assert unnamed.errors == {"_form": "Tidak dapat disimpan."}
    assert FormErrors.of(several) is several
    assert (several.field, several.status_code) == ("name", 422)


# --- units -----------------------------------------------------------------------------------


def test_create_unit_normalises_what_was_typed(session: Session, world: World) -> None:
    unit = units.create_unit(
        session,
        actor=world.team,
        data=parse_unit(unit_input(code=" disdik ", name=" Dinas  Pendidikan ", head_name="  ")),
    )

    session.expire_all()
    stored = session.get(Unit, unit.id)
    assert stored is not None
    assert (stored.code, stored.name, stored.head_name, stored.region_code) == (
        "DISDIK",
        "Dinas Pendidikan",
        "",
        None,
    )
    assert (stored.kind, stored.is_active) == (UnitKind.agency, True)


def test_unit_rules_report_every_wrong_field_at_once(session: Session, world: World) -> None:
    """The form reports every wrong field at once; the rules that read the database (a code
    already taken) are the service's, on a form that parsed."""
    before = snapshot(session)

    errors = errors_of(
        lambda: parse_unit(unit_input(kind="district", code="dinkes", name="", short_name="x" * 61))
    )
    taken = errors_of(
        lambda: units.create_unit(
            session,
            actor=world.team,
            data=parse_unit(unit_input(kind="district", code="dinkes", region_code="16.07.99")),
        )
    )

    assert errors == {
        "name": "Wajib diisi.",
        "short_name": "Terlalu panjang (maks. 60 karakter).",
        "region_code": "Kecamatan wajib memiliki kode wilayah Kemendagri (16.07.xx).",
    }
    assert taken == {"code": "Kode DINKES sudah dipakai unit lain."}
    assert snapshot(session) == before


def test_a_district_holding_tasks_cannot_become_an_agency(session: Session, world: World) -> None:
    for _ in range(2):
        make_task(
            session,
            actor=world.team,
            plan=world.plan,
            lead=world.putr,
            district_id=world.district.id,
        )
    before = snapshot(session)
    as_agency = unit_input(code="KEC-RANTAU-BAYUR", name="Rantau Bayur", short_name="RB")

    errors = errors_of(
        lambda: units.update_unit(
            session,
            actor=world.team,
            unit_id=world.district.pk,
            data=parse_unit(as_agency),
        )
    )

    assert errors == {"kind": "2 tugas berlokasi di kecamatan ini; jenisnya tidak dapat diubah."}
    assert snapshot(session) == before


def test_an_unused_district_may_become_an_agency_and_back(session: Session, world: World) -> None:
    agency = units.update_unit(
        session,
        actor=world.team,
        unit_id=world.district.pk,
        data=parse_unit(unit_input(code="KEC-RANTAU-BAYUR", name="Rantau Bayur", short_name="RB")),
    )
    assert (agency.kind, agency.region_code) == (UnitKind.agency, None)

    district = units.update_unit(
        session,
        actor=world.team,
        unit_id=world.district.pk,
        data=parse_unit(
            unit_input(
                kind="district",
                code="KEC-RANTAU-BAYUR",
                name="Rantau Bayur",
                short_name="RB",
                region_code="16.07.11",
            )
        ),
    )
    assert (district.kind, district.region_code) == (UnitKind.district, "16.07.11")


def test_region_codes_name_one_district(session: Session, world: World) -> None:
    errors = errors_of(
        lambda: units.create_unit(
            session,
            actor=world.team,
            data=parse_unit(
                unit_input(
                    kind="district", code="KEC-BARU", name="Kecamatan Baru", region_code="16.07.11"
                )
            ),
        )
    )

    assert errors == {"region_code": "Kode wilayah 16.07.11 sudah dipakai Rantau Bayur."}


def test_list_units_orders_and_filters(session: Session, world: World) -> None:
    second = make_unit(session, code="KEC-A", name="Air Kumbang", kind=UnitKind.district)
    second.region_code = "16.07.01"
    session.add(second)
    session.commit()

    everything = units.list_units(session, actor=world.team)
    districts = units.list_units(session, actor=world.team, kind=UnitKind.district)

    # Agencies by name ("Dinas PUTR" before "Dinkes"), then districts by Kemendagri code.
    assert [u.code for u in everything] == ["PUTR", "DINKES", "KEC-A", "KEC-RANTAU-BAYUR"]
    assert [u.code for u in districts] == ["KEC-A", "KEC-RANTAU-BAYUR"]


def test_a_lost_race_for_a_code_becomes_a_field_error(session: Session, world: World) -> None:
    """The unique constraint is the last word when two saves pass the check together."""
    before = snapshot(session)
    session.add(Unit(code="PUTR", name="Ganda", short_name="Ganda", kind=UnitKind.agency))

    with pytest.raises(FormErrors) as caught:
        rows.commit_unique(session, field="code", message="Kode ini sudah dipakai unit lain.")

    assert caught.value.errors == {"code": "Kode ini sudah dipakai unit lain."}
    assert snapshot(session) == before  # rolled back, and the session is usable again


@pytest.mark.parametrize("unit_id", [0, -1, 2_147_483_648, 10**20])
def test_ids_out_of_range_are_not_found(session: Session, world: World, unit_id: int) -> None:
    with pytest.raises(NotFound, match="tidak ditemukan"):
        units.get_unit(session, actor=world.team, unit_id=unit_id)
    with pytest.raises(NotFound, match="tidak ditemukan"):
        accounts.user_form_view(session, actor=world.team, user_id=unit_id)
    with pytest.raises(NotFound, match=r"Rencana kerja tidak ditemukan\."):
        plan_settings.plan_view(session, actor=world.team, plan_id=unit_id)


# --- programs --------------------------------------------------------------------------------


def test_new_programs_go_last_among_their_kind(session: Session, world: World) -> None:
    world.sehat.sort_order = 7
    session.add(world.sehat)
    session.commit()

    first_movement = programs.create_program(
        session,
        actor=world.team,
        data=parse_program(
            ProgramInput(kind="movement", code="simanis", short_name="SiManis", name="S")
        ),
    )
    next_priority = programs.create_program(
        session,
        actor=world.team,
        data=parse_program(
            ProgramInput(kind="priority", code="CERDAS", short_name="Cerdas", name="C")
        ),
    )
    placed = programs.create_program(
        session,
        actor=world.team,
        data=parse_program(
            ProgramInput(
                kind="pro_people", code="BANTUAN", short_name="Bantuan", name="B", sort_order="3"
            )
        ),
    )

    assert (first_movement.code, first_movement.sort_order) == ("SIMANIS", 1)
    assert next_priority.sort_order == 8
    assert placed.sort_order == 3
    groups = programs.list_programs(session, actor=world.team)
    assert [kind for kind, _ in groups] == list(ProgramKind)
    assert [p.code for p in groups[0][1]] == ["MEMBANGUN", "SEHAT", "CERDAS"]


def test_program_code_taken_by_another(session: Session, world: World) -> None:
    before = snapshot(session)

    errors = errors_of(
        lambda: programs.update_program(
            session,
            actor=world.team,
            program_id=world.sehat.pk,
            data=parse_program(
                ProgramInput(kind="priority", code="membangun", short_name="S", name="S")
            ),
        )
    )

    assert errors == {"code": "Kode MEMBANGUN sudah dipakai program lain."}
    assert snapshot(session) == before


# --- users -----------------------------------------------------------------------------------


def test_create_user_checks_the_passwords_first(session: Session, world: World) -> None:
    before = snapshot(session)

    mismatch = errors_of(
        lambda: create_user(
            session, actor=world.team, data=user_input(password_repeat="lain-sekali-ya")
        )
    )
    weak = errors_of(
        lambda: create_user(
            session,
            actor=world.team,
            data=user_input(
                unit_id=str(world.putr.id), password="pendek", password_repeat="pendek"
            ),
        )
    )
    no_unit = errors_of(lambda: create_user(session, actor=world.team, data=user_input()))

    assert mismatch == {"password_repeat": "Kedua kata sandi tidak sama."}
    assert weak == {"password": "Kata sandi minimal 10 karakter."}
    assert no_unit == {
        "unit_id": "Pengguna perangkat daerah/kecamatan harus terhubung ke satu unit."
    }
    assert snapshot(session) == before


def test_create_user_ignores_the_unit_of_other_roles(session: Session, world: World) -> None:
    created = create_user(
        session,
        actor=world.team,
        data=user_input(username="sekda", role="executive", unit_id=str(world.putr.id)),
    )

    assert (created.role, created.unit_id) == (Role.executive, None)
    assert accounts.password_hash.verify(STRONG, created.password_hash)


def test_nobody_demotes_or_deactivates_themselves(session: Session, world: World) -> None:
    before = snapshot(session)
    message = "Anda tidak dapat menonaktifkan atau menurunkan peran akun Anda sendiri."

    for change in ({"role": "executive"}, {"is_active": False}):
        fields: dict[str, Any] = {"role": "team", "password": "", "password_repeat": ""}
        data = user_input(**{**fields, **change})
        with pytest.raises(FormErrors) as caught:
            update_user(
                session,
                actor=world.team,
                user_id=world.team.pk,
                data=data,
            )
        assert caught.value.errors == {"role": message}, change
    assert snapshot(session) == before


def test_a_unit_user_may_stay_in_a_unit_that_became_inactive(
    session: Session, world: World
) -> None:
    idle = make_unit(session, code="DISHUB")
    world.putr.is_active = False
    idle.is_active = False
    session.add_all([world.putr, idle])
    session.commit()

    kept = update_user(
        session,
        actor=world.team,
        user_id=world.putr_head.pk,
        data=user_input(
            full_name="Kadis PUTR", unit_id=str(world.putr.id), password="", password_repeat=""
        ),
    )
    assert (kept.full_name, kept.unit_id) == ("Kadis PUTR", world.putr.id)

    errors = errors_of(
        lambda: update_user(
            session,
            actor=world.team,
            user_id=world.putr_head.pk,
            data=user_input(unit_id=str(idle.id), password="", password_repeat=""),
        )
    )
    assert errors == {"unit_id": "Dinas DISHUB sudah nonaktif; pilih unit yang aktif."}


def test_a_new_user_cannot_join_an_inactive_unit(session: Session, world: World) -> None:
    """The rule is the service's, so the command line holds to it as the page does."""
    world.putr.is_active = False
    session.add(world.putr)
    session.commit()
    before = snapshot(session)

    with pytest.raises(RuleViolation) as caught:
        accounts.create_user(
            session,
            actor=None,
            username="operator.putr",
            full_name="Operator PUTR",
            role=Role.unit,
            password=STRONG,
            unit_id=world.putr.pk,
        )

    assert (caught.value.field, caught.value.message) == (
        "unit_id",
        "Dinas PUTR sudah nonaktif; pilih unit yang aktif.",
    )
    assert snapshot(session) == before


def test_user_form_view_offers_active_units_and_the_users_own(
    session: Session, world: World
) -> None:
    world.putr.is_active = False
    session.add(world.putr)
    session.commit()

    own = accounts.user_form_view(session, actor=world.team, user_id=world.putr_head.id)
    new = accounts.user_form_view(session, actor=world.team)

    assert world.putr.id in {u.id for u in own.units}
    assert world.putr.id not in {u.id for u in new.units}
    assert (new.user, new.form.role, new.form.is_active) == (None, "unit", True)
    assert own.form.unit_id == str(world.putr.id)
    # A form sent back never carries the passwords.
    typed = accounts.user_form_view(
        session, actor=world.team, form=user_input(password="rahasia-sekali")
    )
    assert (typed.form.password, typed.form.password_repeat) == ("", "")


# --- plans -----------------------------------------------------------------------------------


def test_the_first_plan_becomes_current_on_its_own(session: Session, world: World) -> None:
    session.delete(world.plan)
    session.commit()

    first = plan_settings.create_plan(session, actor=world.team, data=parse_plan(plan_input()))
    second = plan_settings.create_plan(
        session, actor=world.team, data=parse_plan(plan_input(name="Tahun Kedua"))
    )
    third = plan_settings.create_plan(
        session,
        actor=world.team,
        data=parse_plan(plan_input(name="Tahun Ketiga", make_current="on")),
    )

    session.expire_all()
    current = session.exec(select(Plan.id).where(col(Plan.is_current))).all()
    assert current == [third.id]
    assert first.id != second.id


def test_plan_settings_are_parsed(session: Session, world: World) -> None:
    plan = plan_settings.update_plan(
        session,
        actor=world.team,
        plan_id=world.plan.pk,
        data=parse_plan(
            plan_input(
                name="  Program  100 Hari ",
                start_date="2025-02-20",
                length_days=" 100 ",
                day_mode="working",
                timezone=" Asia/Makassar ",
                baseline_at="2025-02-20T08:00",
            )
        ),
    )

    assert (plan.name, plan.start_date, plan.length_days) == (
        "Program 100 Hari",
        date(2025, 2, 20),
        100,
    )
    assert (plan.day_mode, plan.timezone) == (DayMode.working, "Asia/Makassar")
    # The baseline is typed in WIB whatever the plan's zone, and stored in UTC.
    assert plan.baseline_at == datetime(2025, 2, 20, 1, 0, tzinfo=UTC)
    assert PlanInput.of(plan).baseline_at == "2025-02-20T08:00"


def test_plan_rules_report_every_wrong_field(session: Session, world: World) -> None:
    before = snapshot(session)

    errors = errors_of(
        lambda: plan_settings.update_plan(
            session,
            actor=world.team,
            plan_id=world.plan.pk,
            data=parse_plan(
                PlanInput(
                    name="",
                    start_date="2025-02-29",
                    length_days="0",
                    day_mode="",
                    timezone="WIB",
                    baseline_at="2025-02-20 25:00",
                )
            ),
        )
    )

    assert errors == {
        "name": "Wajib diisi.",
        "start_date": "Tanggal tidak valid; gunakan format HH/BB/TTTT, misalnya 15/12/2026.",
        "length_days": "Isi bilangan bulat 1–2000.",
        "day_mode": "Pilih salah satu pilihan yang tersedia.",
        "timezone": "Pilih zona waktu: WIB, WITA atau WIT.",
        "baseline_at": "Waktu tidak valid; isi tanggal dan jam (WIB).",
    }
    assert snapshot(session) == before


def test_an_empty_plan_form_is_not_filled_with_defaults(session: Session, world: World) -> None:
    """Browsers send cleared fields as empty strings; they must not become 100 days, WIB or
    calendar days behind the user's back."""
    errors = errors_of(
        lambda: plan_settings.create_plan(
            session, actor=world.team, data=parse_plan(PlanInput(name="Rencana"))
        )
    )

    assert errors == {
        "start_date": "Wajib diisi.",
        "length_days": "Wajib diisi.",
        "day_mode": "Pilih salah satu pilihan yang tersedia.",
        "timezone": "Pilih zona waktu: WIB, WITA atau WIT.",
    }
    blank = plan_settings.blank_plan(actor=world.team)
    assert (blank.length_days, blank.day_mode, blank.timezone) == (
        "100",
        "calendar",
        "Asia/Jakarta",
    )


def test_working_day_plan_view_skips_weekends_and_holidays(session: Session, world: World) -> None:
    add_holiday(session, date(2025, 3, 5))  # a Wednesday
    plan = plan_settings.update_plan(
        session,
        actor=world.team,
        plan_id=world.plan.pk,
        data=parse_plan(plan_input(start_date="2025-03-03", length_days="5", day_mode="working")),
    )

    view = plan_settings.plan_view(session, actor=world.team, plan_id=plan.id)

    assert (view.start_date, view.end_date) == (date(2025, 3, 3), date(2025, 3, 10))


def test_plan_view_lists_open_tasks_due_outside_the_plan(session: Session, world: World) -> None:
    start = world.plan.start_date
    outside = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, due_date=start + timedelta(60)
    )
    also_outside = make_task(
        session,
        actor=world.team,
        plan=world.plan,
        lead=world.putr,
        status=TaskStatus.done,
        due_date=start + timedelta(90),
    )
    cancelled = make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, due_date=start + timedelta(70)
    )
    tasks.cancel_task(
        session,
        actor=world.team,
        task_id=cancelled.pk,
        version=cancelled.version,
        note="Ganda",
    )
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr, due_date=start)
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    plan_settings.update_plan(
        session,
        actor=world.team,
        plan_id=world.plan.pk,
        data=parse_plan(plan_input(start_date=start.isoformat(), length_days="30")),
    )

    view = plan_settings.plan_view(session, actor=world.team)

    assert view.plan is not None
    assert view.plan.id == world.plan.id
    assert view.due_outside == [outside.code, also_outside.code]
    assert view.task_count == 4
    assert view.end_date == start + timedelta(days=29)


def test_plan_view_without_plans(session: Session, world: World) -> None:
    session.delete(world.plan)
    session.commit()

    view = plan_settings.plan_view(session, actor=world.team)

    assert (view.plan, view.plans, view.task_count, view.due_outside) == (None, [], 0, [])


def test_set_current_plan_leaves_exactly_one(session: Session, world: World) -> None:
    other = make_plan(session, start_date=date(2026, 1, 5), is_current=False)

    plan_settings.set_current_plan(session, actor=world.team, plan_id=other.pk)
    plan_settings.set_current_plan(session, actor=world.team, plan_id=other.pk)

    session.expire_all()
    assert session.exec(select(Plan.id).where(col(Plan.is_current))).all() == [other.id]


# --- holidays --------------------------------------------------------------------------------


def test_holiday_dates_are_unique(session: Session, world: World) -> None:
    first = add_holiday(session, date(2025, 3, 31), "Idul Fitri")
    second = add_holiday(session, date(2025, 4, 1), "Idul Fitri hari kedua")
    before = snapshot(session)

    errors = errors_of(
        lambda: holidays.update_holiday(
            session,
            actor=world.team,
            holiday_id=second.pk,
            data=parse_holiday(HolidayInput(holiday_date="2025-03-31", name="Geser", kind="libur")),
        )
    )
    assert errors == {"holiday_date": "Tanggal 31 Mar 2025 sudah tercatat."}
    assert snapshot(session) == before

    kept = holidays.update_holiday(
        session,
        actor=world.team,
        holiday_id=first.pk,
        data=parse_holiday(
            HolidayInput(holiday_date="2025-03-31", name="Idul Fitri 1446 H", kind="cuti_bersama")
        ),
    )
    assert (kept.name, kept.kind) == ("Idul Fitri 1446 H", HolidayKind.cuti_bersama)


def test_delete_holiday(session: Session, world: World) -> None:
    holiday = add_holiday(session, date(2025, 3, 31))
    holiday_id = holiday.pk

    holidays.delete_holiday(session, actor=world.team, holiday_id=holiday_id)

    assert session.get(Holiday, holiday_id) is None
    with pytest.raises(NotFound, match=rf"Hari libur #{holiday_id} tidak ditemukan\."):
        holidays.delete_holiday(session, actor=world.team, holiday_id=holiday_id)


def test_list_holidays_in_date_order(session: Session, world: World) -> None:
    add_holiday(session, date(2025, 8, 17), "Kemerdekaan")
    add_holiday(session, date(2025, 3, 31), "Idul Fitri")

    listed = holidays.list_holidays(session, actor=world.team)

    assert [h.name for h in listed] == ["Idul Fitri", "Kemerdekaan"]


# --- overview --------------------------------------------------------------------------------


def test_overview_counts(session: Session, world: World) -> None:
    world.dinkes.is_active = False
    world.executive.is_active = False
    gema = make_program(session, code="GEMA", kind=ProgramKind.movement)
    gema.is_active = False
    session.add_all([world.dinkes, world.executive, gema])
    session.commit()
    add_holiday(session, date(2025, 3, 31))
    make_plan(session, is_current=False)

    seen = admin.overview(session, actor=world.team)

    assert (seen.agencies, seen.districts, seen.inactive_units) == (1, 1, 1)
    assert (seen.programs, seen.users, seen.inactive_users) == (2, 3, 1)
    assert (seen.holidays, seen.plans) == (1, 2)
    assert seen.current_plan is not None
    assert seen.current_plan.id == world.plan.id
