"""The public data for journalists: a JSON feed and a CSV of the published programs and tasks,
under the open licence the pages state (LICENCE). Built from the same `PublicSite` as the
pages, so the feeds carry exactly what the pages show."""

from typing import Any

from app.services.labels import STATUS_LABELS
from app.services.public_site import PUBLIC_LABELS, PublicSite
from app.services.spreadsheet import write_csv

LICENCE_NAME = "Creative Commons Atribusi 4.0 Internasional (CC BY 4.0)"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.id"

CSV_COLUMNS = (
    "Program",
    "Nama Resmi Program",
    "Label Program",
    "Kegiatan",
    "Status Kegiatan",
    "Kecamatan",
    "Tenggat",
)


def site_feed(site: PublicSite) -> dict[str, Any]:
    """The JSON feed (`/publik/data.json`)."""
    return {
        "plan": {
            "name": site.plan_name,
            "start_date": site.start_date.isoformat(),
            "end_date": site.end_date.isoformat(),
            "length_days": site.length_days,
            "today": site.today.isoformat(),
            "day_label": site.day_label,
        },
        "headline": {
            "tasks": site.headline.total,
            "tasks_done": site.headline.done,
            "done_pct": round(site.done_pct, 1),
            "planned_pct": round(site.expected_pct, 1),
            "programs_by_label": {label.value: n for label, _, n in site.label_counts},
        },
        "programs": [
            {
                "id": p.id,
                "kind": p.kind.value,
                "title": p.title,
                "official_name": p.official_name,
                "description": p.description,
                "label": p.label.value,
                "label_text": PUBLIC_LABELS[p.label],
                "tasks": p.stats.total,
                "tasks_done": p.stats.done,
                "done_pct": round(p.done_pct, 1),
                "last_update": p.last_update.isoformat() if p.last_update else None,
                "published_tasks": [
                    {
                        "id": t.id,
                        "title": t.title,
                        "status": t.status.value,
                        "status_text": STATUS_LABELS[t.status],
                        "district": t.district_name or None,
                        "due_date": t.due_date.isoformat() if t.due_date else None,
                    }
                    for t in p.tasks
                ],
            }
            for p in site.programs
        ],
        "licence": {"name": LICENCE_NAME, "url": LICENCE_URL},
    }


def site_csv(site: PublicSite) -> bytes:
    """One row per published task and program (a task in two programs has two rows); a
    program with no published task has one row of its own. Same CSV dialect as the exports
    (UTF-8 with a BOM, formula-like text neutralised)."""
    rows: list[list[Any]] = []
    for program in site.programs:
        head = [program.title, program.official_name, program.label_text]
        if not program.tasks:
            rows.append([*head, "", "", "", None])
        for task in program.tasks:
            rows.append([*head, task.title, task.status_label, task.district_name, task.due_date])
    return write_csv(CSV_COLUMNS, rows)
