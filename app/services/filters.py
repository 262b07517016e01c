"""The task filters shared by the board, the task list API and the burndown."""

import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from app.models import (
    ID_MAX,
    Program,
    ProgramKind,
    Task,
    TaskProgram,
    TaskSupportingUnit,
)
from app.services.lateness import Lateness

Q_MAX = 100


def parse_filter_id(raw: str | None, label: str, ignored: list[str]) -> int | None:
    """An id from a filter's query parameter; anything that is not one (text, 0, beyond
    ID_MAX) is dropped, and its label noted in `ignored` so the page can say so."""
    value = (raw or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and 0 < int(value) <= ID_MAX:
        return int(value)
    ignored.append(label)
    return None


@dataclass(frozen=True)
class TaskFilter:
    unit_id: int | None = None
    program_id: int | None = None
    district_id: int | None = None
    # Linked to at least one program of this kind (query parameter `kind`).
    program_kind: ProgramKind | None = None
    overdue: bool = False
    needs_decision: bool = False
    q: str = ""

    def __post_init__(self) -> None:
        # Searched text is compared in NFC, as stored text is (app.text_input); what the
        # policy refuses never gets here (the request boundary answered 422).
        object.__setattr__(self, "q", unicodedata.normalize("NFC", self.q))

    @property
    def active(self) -> bool:
        return any(
            (
                self.unit_id,
                self.program_id,
                self.district_id,
                self.program_kind,
                self.overdue,
                self.needs_decision,
                self.q,
            )
        )

    def scope(self) -> "TaskFilter":
        """Only the filters that choose which tasks a chart counts (unit, program, district,
        program kind); the dashboard's charts and the burndown take no others."""
        return TaskFilter(
            unit_id=self.unit_id,
            program_id=self.program_id,
            district_id=self.district_id,
            program_kind=self.program_kind,
        )

    def query_params(self) -> dict[str, str]:
        """The filter as URL query parameters (only the ones set), for links and the URL bar."""
        params: dict[str, str] = {}
        if self.unit_id:
            params["unit"] = str(self.unit_id)
        if self.program_id:
            params["program"] = str(self.program_id)
        if self.district_id:
            params["district"] = str(self.district_id)
        if self.program_kind:
            params["kind"] = self.program_kind.value
        if self.overdue:
            params["overdue"] = "1"
        if self.needs_decision:
            params["needs_decision"] = "1"
        if self.q:
            params["q"] = self.q
        return params

    def conditions(self, *, lateness: Lateness) -> list[Any]:
        """SQL conditions on `task` for this filter; "overdue" is `lateness`'s rule."""
        conds: list[Any] = []
        if self.unit_id:
            supporting = select(TaskSupportingUnit.task_id).where(
                TaskSupportingUnit.unit_id == self.unit_id
            )
            conds.append(
                sa.or_(col(Task.lead_unit_id) == self.unit_id, col(Task.id).in_(supporting))
            )
        if self.program_id:
            conds.append(
                col(Task.id).in_(
                    select(TaskProgram.task_id).where(TaskProgram.program_id == self.program_id)
                )
            )
        if self.district_id:
            conds.append(Task.district_id == self.district_id)
        if self.program_kind:
            conds.append(
                col(Task.id).in_(
                    select(TaskProgram.task_id)
                    .join(Program, col(Program.id) == TaskProgram.program_id)
                    .where(Program.kind == self.program_kind)
                )
            )
        if self.overdue:
            conds.append(lateness.condition())
        if self.needs_decision:
            conds.append(col(Task.needs_decision).is_(True))
        if self.q:
            escaped = self.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            needle = f"%{escaped}%"
            conds.append(
                sa.or_(
                    *(
                        sa.func.lower(column).like(needle, escape="\\")
                        for column in (Task.code, Task.title, Task.description, Task.village)
                    )
                )
            )
        return conds
