"""Reference data shipped with the project: agencies, kecamatan, programs, desa.

`load_reference` only adds rows that are missing (matched by code): once loaded,
units and programs belong to the team, who edit names and heads in the app.
"""

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, select

from app.errors import RuleViolation
from app.models import Program, ProgramKind, Unit, UnitKind

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"

# Kemendagri spells "Air Salek"; local media write "Air Saleh". Keys and values are normalised.
DISTRICT_ALIASES = {
    "air saleh": "air salek",
    "banyuasin 1": "banyuasin i",
    "banyuasin 2": "banyuasin ii",
    "banyuasin 3": "banyuasin iii",
}
DISTRICT_PREFIX = re.compile(r"^(kecamatan|kec\.?)\s+")


@dataclass(frozen=True)
class ReferenceCounts:
    """Rows created by one `load_reference` call (0 everywhere when all were present)."""

    agencies: int = 0
    districts: int = 0
    programs: int = 0
    holidays: int = 0

    @property
    def created(self) -> int:
        return self.agencies + self.districts + self.programs + self.holidays


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a reference file as dicts (values stripped)."""
    with (REFERENCE_DIR / name).open(encoding="utf-8", newline="") as handle:
        return [
            {key: (value or "").strip() for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


@lru_cache
def districts() -> tuple[tuple[str, str], ...]:
    """(Kemendagri code, name) of every kecamatan, in code order."""
    return tuple((row["kode"], row["nama_kecamatan"]) for row in read_csv("kecamatan.csv"))


def district_unit(code: str, name: str) -> Unit:
    """How a kecamatan becomes a unit: led by its camat, coded by Kemendagri."""
    return Unit(
        code=code,
        region_code=code,
        name=f"Kecamatan {name}",
        short_name=name,
        head_title="Camat",
        kind=UnitKind.district,
    )


def load_reference(session: Session) -> ReferenceCounts:
    """Add the agencies, kecamatan and programs that are not in the database yet (holidays
    come from `holiday_source`, for the years of each plan). Existing rows are left exactly
    as the team edited them. Commits."""
    unit_codes = set(session.exec(select(Unit.code)).all())
    agencies = 0
    for row in read_csv("perangkat_daerah.csv"):
        if row["code"] not in unit_codes:
            session.add(
                Unit(
                    code=row["code"],
                    name=row["name"],
                    short_name=row["short_name"],
                    head_title=row["head_title"],
                    kind=UnitKind.agency,
                )
            )
            agencies += 1
    district_count = 0
    for code, name in districts():
        if code not in unit_codes:
            session.add(district_unit(code, name))
            district_count += 1

    program_codes = set(session.exec(select(Program.code)).all())
    programs = 0
    for order, row in enumerate(read_csv("programs.csv"), start=1):
        if row["code"] not in program_codes:
            session.add(
                Program(
                    code=row["code"],
                    kind=ProgramKind(row["kind"]),
                    short_name=row["short_name"],
                    name=row["name"],
                    sort_order=order,
                )
            )
            programs += 1

    session.commit()
    return ReferenceCounts(agencies=agencies, districts=district_count, programs=programs)


def get_unit_by_code(session: Session, *, code: str) -> Unit:
    """The unit with this code (e.g. "PUTR" or "16.07.11"); RuleViolation when unknown."""
    unit = session.exec(select(Unit).where(Unit.code == code.strip())).first()
    if unit is None:
        raise RuleViolation(f"Unit dengan kode '{code}' tidak dikenal.", field="unit_id")
    return unit


# --- desa / kelurahan ------------------------------------------------------------------


@lru_cache
def _villages_by_district() -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {code: [] for code, _ in districts()}
    for row in read_csv("desa_kelurahan.csv"):
        grouped.setdefault(row["kode_kecamatan"], []).append(row["nama"])
    return {code: tuple(sorted(names)) for code, names in grouped.items()}


def villages(district_code: str) -> list[str]:
    """Desa and kelurahan of one kecamatan (by Kemendagri code), sorted by name."""
    return list(_villages_by_district().get(district_code, ()))


def all_villages() -> dict[str, list[str]]:
    """{kecamatan code: [desa/kelurahan names]} for every kecamatan."""
    return {code: list(names) for code, names in _villages_by_district().items()}


# --- matching names --------------------------------------------------------------------


def _normalise(name: str) -> str:
    return " ".join(name.lower().split())


def match_district(name: str) -> str | None:
    """The Kemendagri code of the kecamatan called `name`, or None.

    Case and spacing do not matter, a leading "Kecamatan"/"Kec." is ignored, known variant
    spellings are accepted ("Air Saleh") and so is the code itself ("16.07.14").
    """
    wanted = DISTRICT_PREFIX.sub("", _normalise(name))
    wanted = DISTRICT_ALIASES.get(wanted, wanted)
    for code, district_name in districts():
        if wanted in (code, _normalise(district_name)):
            return code
    return None
