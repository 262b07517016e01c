"""The RAG rule (DESIGN §3 "RAG"): a group of tasks (the plan, a program, a unit, a district)
is judged against its OWN plan — the share of its work due by now — never a straight line.

Thresholds live here and only here; the README's "Dashboard and RAG" section documents them.

- Grey ("Tanpa tugas"): no task in scope.
- Red ("Merah"), when any of:
  - late work: at least RED_LATE_SHARE (a quarter) of the tasks whose due date has passed are
    late (not done, not sent for verification in time);
  - a task has been blocked (Terkendala) for RED_BLOCKED_DAYS (7) days or more;
  - the group is RED_LAG (20 percentage points) or more behind its own plan: the share of
    its tasks due before today minus the share delivered (Selesai, or waiting for
    verification: that time is the team's).
- Amber ("Kuning"): any late task or any blocked task short of those thresholds.
- Green ("Hijau"): otherwise; also, always, a group with nothing due yet and nothing late or
  blocked ("belum jatuh tempo").

Thresholds include their boundary (exactly a quarter late is Red). Every colour comes with its
reason in words, as the dashboard and the API show it.
"""

from dataclasses import dataclass

from app.models import Rag
from app.services.labels import RAG_LABELS

RED_LATE_SHARE = 0.25
RED_BLOCKED_DAYS = 7
RED_LAG = 0.20
# Floating-point slack, so that a share exactly on a threshold counts as reaching it.
EPSILON = 1e-9


RAG_ORDER = {Rag.red: 0, Rag.amber: 1, Rag.green: 2, Rag.grey: 3}


@dataclass(frozen=True)
class GroupStats:
    """What the rule reads of a group's tasks in scope (not cancelled), as of today."""

    total: int = 0
    done: int = 0
    weight: int = 0
    done_weight: int = 0
    planned: int = 0  # due on or before today (no due date: the plan's last day)
    planned_weight: int = 0
    due: int = 0  # due date passed (before the late cutoff), whatever the status
    due_delivered: int = 0  # of those, Selesai or in Menunggu Verifikasi
    delivered: int = 0  # Selesai or in Menunggu Verifikasi, due or not
    late: int = 0
    blocked: int = 0
    review: int = 0
    needs_decision: int = 0  # open tasks flagged for the Bupati's decision
    exceptions: int = 0  # open tasks that are late, blocked or need a decision
    most_days_late: int = 0
    longest_blocked_days: int = 0

    @property
    def open(self) -> int:
        return self.total - self.done

    @property
    def done_share(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def done_pct(self) -> float | None:
        return 100 * self.done / self.total if self.total else None

    @property
    def done_weight_pct(self) -> float | None:
        return 100 * self.done_weight / self.weight if self.weight else None

    @property
    def planned_share(self) -> float:
        """Rencana today: the share of the group's tasks due on or before today."""
        return self.planned / self.total if self.total else 0.0

    @property
    def planned_pct(self) -> float | None:
        return 100 * self.planned_share if self.total else None

    @property
    def lag(self) -> float:
        """How far behind its own plan (share points, > 0 behind): the share due before today
        less the share delivered (early deliveries count in the group's favour)."""
        if not self.total:
            return 0.0
        return (self.due - self.delivered) / self.total

    @property
    def late_share(self) -> float:
        return self.late / self.due if self.due else 0.0


@dataclass(frozen=True)
class Judgement:
    rag: Rag
    reason: str

    @property
    def label(self) -> str:
        return RAG_LABELS[self.rag]


def _pct(share: float) -> str:
    return f"{round(100 * share)} %"


def _problems(stats: GroupStats) -> list[str]:
    parts = []
    if stats.late:
        parts.append(
            f"{stats.late} dari {stats.due} tugas yang jatuh tempo belum selesai"
            f" (terlama {stats.most_days_late} hari)"
        )
    if stats.blocked:
        parts.append(f"{stats.blocked} terkendala, terlama sejak {stats.longest_blocked_days} hari")
    if stats.lag >= RED_LAG - EPSILON:
        parts.append(
            f"tertinggal {round(100 * stats.lag)} poin dari rencananya sendiri"
            f" (jatuh tempo {_pct(stats.due / stats.total)},"
            f" terealisasi {_pct(stats.delivered / stats.total)})"
        )
    return parts


def judge(stats: GroupStats) -> Judgement:
    """The colour of a group and its reason in words (see the module's docstring)."""
    if stats.total == 0:
        return Judgement(Rag.grey, "Tidak ada tugas")
    red = (
        (stats.late and stats.late_share >= RED_LATE_SHARE - EPSILON)
        or (stats.blocked and stats.longest_blocked_days >= RED_BLOCKED_DAYS)
        or stats.lag >= RED_LAG - EPSILON
    )
    problems = _problems(stats)
    if red:
        return Judgement(Rag.red, _sentence(problems))
    if problems:
        return Judgement(Rag.amber, _sentence(problems))
    if stats.done == stats.total:
        return Judgement(Rag.green, f"Semua {stats.total} tugas selesai")
    if stats.planned == 0:
        return Judgement(Rag.green, "Belum ada tugas yang jatuh tempo; tidak ada yang terkendala")
    return Judgement(
        Rag.green,
        f"Sesuai rencana: selesai {_pct(stats.done_share)}, rencana hari ini"
        f" {_pct(stats.planned_share)}",
    )


def _sentence(parts: list[str]) -> str:
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]
