"""Builders for import tests: workbooks and CSV files in the template's columns, and a
realistic 150-task plan made from the demo catalogue (app/reference/demo_tasks.csv)."""

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from openpyxl import Workbook, load_workbook

from app.services.reference import districts, read_csv
from app.services.spreadsheet import TASK_COLUMNS

HEADERS = [c.header for c in TASK_COLUMNS]


def xlsx_bytes(rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Tugas"
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_text(
    rows: Sequence[Sequence[Any]], headers: Sequence[str] = HEADERS, sep: str = ","
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def row(**values: Any) -> list[Any]:
    """A row in the template's columns from keyword values (keys as TASK_COLUMNS)."""
    keys = [c.key for c in TASK_COLUMNS]
    unknown = set(values) - set(keys)
    assert not unknown, unknown
    return [values.get(k) for k in keys]


def plan_rows(start: date, count: int = 150) -> list[list[Any]]:
    """`count` tasks as a transition team would write them: names rather than codes where
    the team would, supporting units and programs separated by semicolons."""
    names = dict(districts())
    by_name = {n: n for n in names.values()}
    catalogue = read_csv("demo_tasks.csv")
    rows: list[list[Any]] = []
    index = 0
    while len(rows) < count:
        spec = catalogue[index % len(catalogue)]
        cycle = index // len(catalogue)
        suffix = f" – tahap {cycle + 1}" if cycle else ""
        district = by_name.get(spec["district"], "")
        supporting = [district if s == "CAMAT" else s for s in spec["supporting"].split() if s]
        supporting = [s for s in supporting if s]
        due_day = int(spec["due_day"] or 100)
        rows.append(
            row(
                title=spec["title"] + suffix,
                description=spec["description"],
                # The camat leads some tasks: the kecamatan is named as the unit.
                lead_unit=district if spec["lead"] == "CAMAT" else spec["lead"],
                supporting_units="; ".join(supporting),
                programs="; ".join(spec["programs"].split()),
                district=district,
                village=spec["village"] if district else "",
                due_date=start + timedelta(days=min(due_day, 100) - 1),
                weight=int(spec["weight"] or 1),
                target=spec["target"],
                status="Belum Dimulai",
            )
        )
        index += 1
    return rows


def read_sheet(data: bytes, name: str = "Tugas") -> list[list[Any]]:
    book = load_workbook(io.BytesIO(data))
    return [list(r) for r in book[name].iter_rows(values_only=True)]
