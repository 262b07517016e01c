"""A web worker imports only what serving pages needs: every library pulled in at import
costs its memory in each worker (with several workers the master imports the app once and
forks them, but a worker copies the pages of whatever it touches). Alembic (the revision
check reads one row instead), openpyxl (import and export) and httpx (the notification
worker's channels) are imported where they are used.
(Pillow stays: the task and public pages make thumbnails and previews while serving.)"""

import subprocess
import sys

LAZY = ("alembic", "openpyxl", "httpx")


def test_importing_the_app_leaves_the_heavy_libraries_out() -> None:
    code = (
        "import sys, app.main\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
