"""Import and export benchmark: a plan of N tasks (default 2,000, the row limit) built from
the demo catalogue, imported from .xlsx and .csv (reading, dry run, apply, re-import), then
exported. Prints seconds and SQL statements per step. Not a test: it asserts nothing.

    python bench/transfer.py
    python bench/transfer.py --rows 500
"""

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import SQLModel

from app.db import make_engine, open_session
from app.models import Role
from app.services import reference, task_export, task_import
from app.services.spreadsheet import Limits, read_upload
from bench.board import StatementCounter
from tests import factories
from tests.spreadsheets import csv_text, plan_rows, xlsx_bytes


def _step(label: str, counter: StatementCounter, work: Callable[[], Any]) -> Any:
    counter.count = 0
    started = time.perf_counter()
    result = work()
    print(f"  {label:<34} {time.perf_counter() - started:7.2f} s {counter.count:6d} statements")
    return result


def bench(fmt: str, rows: int, limits: Limits) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        SQLModel.metadata.create_all(engine)
        counter = StatementCounter(engine)
        with open_session(engine) as session:
            reference.load_reference(session)
            plan = factories.make_plan(session)
            team = factories.make_user(session, username="tim.transisi", role=Role.team)
            table_rows = plan_rows(plan.start_date, rows)
            data = (
                xlsx_bytes(table_rows)
                if fmt == "xlsx"
                else csv_text(table_rows).encode("utf-8-sig")
            )
            print(f"{fmt}: {rows} rows, {len(data) / 1024:.0f} KiB")
            name = f"rencana.{fmt}"
            sheet = _step("read", counter, lambda: read_upload(data, name, limits=limits))

            def run(service: Any) -> Any:
                return service(session, actor=team, plan_id=plan.id, sheet=sheet, filename=name)

            _step("dry run", counter, lambda: run(task_import.plan_import))
            _step("apply (all created)", counter, lambda: run(task_import.apply_import))
            _step("re-import (all unchanged)", counter, lambda: run(task_import.apply_import))
            table = _step(
                "export: load",
                counter,
                lambda: task_export.task_table(session, plan=plan, with_history=True),
            )
            _step("export: write .xlsx", counter, lambda: task_export.table_xlsx(session, table))
            _step("export: write .csv", counter, lambda: task_export.table_csv(table))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    limits = Limits(max_bytes=50 * 1024 * 1024, max_rows=args.rows, max_unzipped_bytes=10**9)
    for fmt in ("xlsx", "csv"):
        bench(fmt, args.rows, limits)


if __name__ == "__main__":
    main()
