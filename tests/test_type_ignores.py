"""`type: ignore` in app/ only where it cannot be avoided, and then with its reason.

Ids are typed through `Row.pk` (app/models.py), so an id is never a reason; a new ignore must
carry a short comment saying why, e.g. `# type: ignore[misc]  # the stub lacks X`.
"""

import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
IGNORE = re.compile(r"#\s*type:\s*ignore(?:\[[^\]]*\])?(?P<rest>.*)$")


def unexplained_ignores(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = IGNORE.search(line)
            if match is not None and not match.group("rest").strip().startswith("#"):
                found.append(f"{path.relative_to(root.parent)}:{number}")
    return found


def test_every_type_ignore_in_app_says_why() -> None:
    assert unexplained_ignores(APP) == []


def test_the_check_sees_a_bare_ignore_and_accepts_an_explained_one(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "a.py").write_text(
        "x: int = None  # type: ignore[assignment]\n"
        "y: int = None  # type: ignore[assignment]  # the row under test is broken\n",
        encoding="utf-8",
    )
    assert unexplained_ignores(package) == ["app/a.py:1"]
