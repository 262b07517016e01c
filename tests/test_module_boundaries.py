"""No module reaches into another module's private names (`_name`): what two modules share
gets a public home (STYLE habit 15)."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("app", "bench", "migrations")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str, *, filename: str = "<source>") -> list[str]:
    """`from x import _y`, and `x._y` where `x` is a module imported here."""
    tree = ast.parse(source, filename)
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{filename}:{node.lineno} imports {node.module}.{alias.name}")
                else:
                    # `from app.services import tasks`: `tasks` may be a module.
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            # The standard library's own underscored API (os._exit) is documented, public.
            and node.value.id not in sys.stdlib_module_names
        ):
            found.append(f"{filename}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_the_check_finds_private_imports() -> None:
    assert private_uses("from app.services.tasks import _record, get_task\n")
    assert private_uses("from app.services import tasks\ntasks._renumber(1)\n")
    assert not private_uses("from app.services import tasks\ntasks.move_task(1)\n")
    assert not private_uses("class A:\n    def f(self):\n        return self._x\n")
    assert not private_uses("import os\nos._exit(0)\n")
    assert private_uses("import bench.live\nbench._x()\n")


def test_no_module_imports_another_modules_private_name() -> None:
    offenders: list[str] = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            offenders += private_uses(path.read_text(), filename=str(path.relative_to(ROOT)))
    assert offenders == []
