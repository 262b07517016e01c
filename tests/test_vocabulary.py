"""One word per thing, as the office says it: no visible template string (nor a user-facing
message in the code) uses a term the product replaced (issue 15's table)."""

import ast
import re
from pathlib import Path

import pytest

from app.config import BASE_DIR

TEMPLATES = Path(BASE_DIR) / "templates"
APP = Path(BASE_DIR) / "app"

# Replaced term → what the product says instead (for the failure message).
REPLACED = {
    r"burndown": "Sisa pekerjaan menuju Hari ke-100 / grafik sisa pekerjaan",
    r"(?<!rencana )\bideal\b": "Rencana ideal",
    r"\blingkup\b(?! rencana)": "Jumlah tugas (chart) / tugas tambahan di luar rencana awal",
    r"\bperkiraan\b": "Proyeksi",
    r"seharusnya sisa": "seharusnya tersisa ±N tugas",
    r"tidak selesai dengan laju": "Dengan laju saat ini, tugas tidak selesai sampai Hari ke-N.",
    r"\bunit kerja\b": "Perangkat Daerah / Kecamatan",
    r"pilih kolom": "Pilih status…",
    r"\bpindahkan\b": "Ubah status",
    r"kolom bertanda": "Isian bertanda * wajib diisi",
    r"dipegang perangkat daerah": "menjadi tanggung jawab perangkat daerah lain",
    r"disetujui pada": "Tanggal penetapan rencana",
    r"tambahan lingkup": "tugas tambahan di luar rencana awal",
    r"tidak diperbarui": "Tidak melapor ≥ 7 hari",
    r"status tugas diperbarui": "Tugas dikirim untuk diverifikasi; … / Status tugas diubah.",
    r"tugas #": "Tugas tidak ditemukan.",
    r"tttt-bb-hh": "HH/BB/TTTT, misalnya 15/12/2026",
    r"\bsaring(an)?\b": "filter",
}
# Attributes whose values people read (or hear); all others are identifiers and URLs.
VISIBLE_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "hx-confirm", "data-confirm")

_COMMENT = re.compile(r"\{#.*?#\}|<!--.*?-->", re.S)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_STRING = re.compile(r"\"([^\"]*)\"|'([^']*)'")
_ATTRIBUTE = re.compile(r"\s([a-zA-Z:_-]+)=\"([^\"]*)\"")


def _literals(expression: str) -> str:
    """The string literals of a Jinja expression, less template paths and URLs."""
    found = [a or b for a, b in _STRING.findall(expression)]
    return " ".join(s for s in found if not s.endswith(".html") and not s.startswith("/"))


def visible_text(source: str) -> str:
    """What a template can show: its text, the readable attributes, and the string literals
    of its expressions (a dict of form titles, a default message)."""
    text = _COMMENT.sub(" ", source)
    text = _JINJA.sub(lambda m: " " + _literals(m.group(0)) + " ", text)

    readable: list[str] = []

    def attribute(match: re.Match[str]) -> str:
        if match.group(1) in VISIBLE_ATTRIBUTES:
            readable.append(match.group(2))
        return " "

    text = _ATTRIBUTE.sub(attribute, text)
    return " ".join([re.sub(r"<[^>]+>", " ", text), *readable])


def _python_messages(path: Path) -> str:
    """The string literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    parts = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]
    return "\n".join(parts)


def _offences(text: str) -> list[str]:
    found = []
    for pattern, better in REPLACED.items():
        for match in re.finditer(pattern, text, re.I):
            line = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
            found.append(f"{match.group(0)!r} (say: {better}) in …{line.strip()}…")
    return found


TEMPLATE_FILES = sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_shows_a_replaced_term(path: Path) -> None:
    assert _offences(visible_text(path.read_text(encoding="utf-8"))) == []


# Messages in code that reach the user (errors, toasts, chart sentences). Identifiers such as
# "burndown.csv" or a column key are not messages: only the phrases below are checked there.
CODE_PATTERNS = (
    r"seharusnya sisa",
    r"tidak selesai dengan laju",
    r"\bunit kerja\b",
    r"dipegang perangkat daerah",
    r"status tugas diperbarui",
    r"tugas #",
    r"tttt-bb-hh",
    r"\bsaring(an)?\b",
    r"pilih kolom",
)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in APP.rglob("*.py") if "reference" not in p.parts),
    ids=lambda p: str(p.relative_to(APP)),
)
def test_no_message_in_the_code_uses_a_replaced_term(path: Path) -> None:
    text = _python_messages(path)
    found = [m.group(0) for pattern in CODE_PATTERNS for m in re.finditer(pattern, text, re.I)]
    assert found == []


def test_the_check_sees_text_attributes_and_literals_but_not_identifiers() -> None:
    sample = (
        '{# Burndown: a comment #}<section id="burndown" class="dash-burndown">'
        '<a href="/burndown.csv" title="Data burndown">x</a>'
        '{% include "dashboard/_burndown.html" %}'
        '{% set titles = {"move": "Pindahkan"} %}<p>Unit kerja</p></section>'
    )
    text = visible_text(sample)

    assert "Data burndown" in text
    assert "Pindahkan" in text
    assert "Unit kerja" in text
    assert "dash-burndown" not in text
    assert "/burndown.csv" not in text
    assert "a comment" not in text
    assert len(_offences(text)) == 3
