"""Browser fixtures: the real app on a free port, Chromium driven by Playwright, and the CDN.

The app runs on a fresh SQLite database, or on a throw-away PostgreSQL database when
SERATUS_TEST_DATABASE_URL is set (tests/databases.py), migrated with `seratus migrate` and
loaded with `seratus demo`.

The pages load htmx and SortableJS from cdn.jsdelivr.net with `integrity` and `crossorigin`.
These machines have no internet, so the browser context answers exactly those URLs with the
files from the same npm package versions (`npm pack` once into .cache/npm-assets/): the
browser still checks the SRI hashes, so a wrong pin fails the page.

Without /usr/bin/chromium or Playwright the tests skip; with SERATUS_REQUIRE_BROWSER=1 (CI)
they fail instead.
"""

import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.templating import CDN_ASSETS
from tests.databases import empty_database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
NPM_CACHE = ROOT / ".cache" / "npm-assets"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "banyuasin-100"
AXE_VERSION = "4.14.1"
# package@version -> the file inside the package that the CDN URL serves
NPM_FILES = {
    CDN_ASSETS["htmx"].url: ("htmx.org", "2.0.11", "dist/htmx.min.js"),
    CDN_ASSETS["sortable"].url: ("sortablejs", "1.15.7", "Sortable.min.js"),
}
AXE = ("axe-core", AXE_VERSION, "axe.min.js")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Request,
        Response,
        Route,
        sync_playwright,
    )

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PLAYWRIGHT = False


def _browser_missing() -> str | None:
    if not HAVE_PLAYWRIGHT:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    if shutil.which("npm") is None:
        return "npm is missing (needed to fetch htmx, SortableJS and axe-core)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    browser_items = [item for item in items if here in Path(str(item.path)).parents]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    reason = _browser_missing()
    if reason is None or not browser_items:
        return
    message = (
        f"browser tests need Chromium, Playwright and npm: {reason}. Enable them with "
        "`apt-get install chromium` and `pip install -e '.[dev]'`."
    )
    if os.environ.get("SERATUS_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"SERATUS_REQUIRE_BROWSER=1 but {message}")
    for item in browser_items:
        item.add_marker(pytest.mark.skip(reason=message))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# --- assets -------------------------------------------------------------------------------


def _npm_file(package: str, version: str, inner: str) -> Path:
    """The file from the npm package, fetched with `npm pack` once and kept in the cache."""
    target = NPM_CACHE / f"{package}@{version}" / inner
    if target.exists():
        return target
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--silent"],
        cwd=NPM_CACHE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    tarball = NPM_CACHE / f"{package}-{version}.tgz"
    if result.returncode != 0 or not tarball.exists():
        pytest.fail(f"npm pack {package}@{version} failed: {result.stderr.strip()}")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/{inner}")
        if member is None:
            pytest.fail(f"{inner} is not in {tarball.name}")
        data = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    tarball.unlink()
    return target


@pytest.fixture(scope="session")
def cdn_files() -> dict[str, bytes]:
    """The exact CDN URLs of CDN_ASSETS, mapped to the npm files' bytes."""
    assert set(NPM_FILES) == {asset.url for asset in CDN_ASSETS.values()}
    return {url: _npm_file(*spec).read_bytes() for url, spec in NPM_FILES.items()}


@pytest.fixture(scope="session")
def axe_path() -> Path:
    return _npm_file(*AXE)


# --- the app ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def app_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live app's own empty database: a SQLite file, or a throw-away PostgreSQL
    database when SERATUS_TEST_DATABASE_URL is set."""
    with empty_database(tmp_path_factory.mktemp("app-db"), "browser") as url:
        yield url


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory, app_database_url: str) -> Iterator[str]:
    """The real app (migrated, demo data) served by uvicorn on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("app")
    port = _free_port()
    env = {
        **os.environ,
        "SERATUS_DATABASE_URL": app_database_url,
        "SERATUS_HOST": "127.0.0.1",
        "SERATUS_PORT": str(port),
        "SERATUS_LOG_LEVEL": "warning",
        "SERATUS_DATA_DIR": str(folder / "data"),
    }
    cli = [sys.executable, "-m", "app"]
    for command in (["migrate"], ["demo", "--password", PASSWORD]):
        subprocess.run([*cli, *command], env=env, check=True, capture_output=True, timeout=120)
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([*cli, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {(folder / 'server.log').read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    """Console errors, failed requests and HTTP errors a page ran into.

    A test that provokes an error on purpose (a refused move answers 403 or 422) declares it
    with `expect(status)`; anything else fails the test at teardown."""

    problems: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)

    def expect(self, status: int) -> None:
        self.expected_statuses.add(status)

    def on_console(self, message: "ConsoleMessage") -> None:
        if message.type != "error":
            return
        text = message.text
        # The browser's own line for a refused request, and htmx's ("Response Status Error
        # Code 403 from …") when htmx sent it.
        if any(
            f"status of {status}" in text or f"Error Code {status} from" in text
            for status in self.expected_statuses
        ):
            return
        self.problems.append(f"console error: {text}")

    def on_request_failed(self, request: "Request") -> None:
        failure = request.failure or ""
        # A full page load cancels the fetches of the page it leaves (the board's poll).
        if "ERR_ABORTED" in failure:
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({failure})")

    def on_response(self, response: "Response") -> None:
        if response.status >= 400 and response.status not in self.expected_statuses:
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )


def _new_context(
    browser: "Browser", base_url: str, cdn_files: dict[str, bytes], **options: Any
) -> "BrowserContext":
    """A context answering the CDN URLs; `options` (viewport, has_touch, …) go to Playwright."""
    ctx = browser.new_context(
        base_url=base_url, locale="id-ID", timezone_id="Asia/Jakarta", **options
    )
    ctx.set_default_timeout(10_000)

    def answer_cdn(route: "Route") -> None:
        body = cdn_files.get(route.request.url)
        if body is None:
            route.abort()
            return
        # The CORS header lets the crossorigin="anonymous" tag run its integrity check.
        route.fulfill(
            status=200,
            body=body,
            headers={
                "content-type": "application/javascript; charset=utf-8",
                "access-control-allow-origin": "*",
            },
        )

    ctx.route("https://cdn.jsdelivr.net/**", answer_cdn)
    return ctx


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


def watch(page: "Page", problems: PageProblems) -> "Page":
    """Record the page's console errors, failed requests and HTTP errors in `problems`."""
    page.on("console", problems.on_console)
    page.on("pageerror", lambda error: problems.problems.append(f"page error: {error}"))
    page.on("requestfailed", problems.on_request_failed)
    page.on("response", problems.on_response)
    return page


def _screenshot(request: pytest.FixtureRequest, page: "Page", name: str) -> None:
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    except Exception as exc:  # the page may be gone; the test's own failure matters more
        print(f"screenshot failed: {exc}")


@pytest.fixture
def new_page(
    request: pytest.FixtureRequest,
    browser: "Browser",
    base_url: str,
    cdn_files: dict[str, bytes],
    problems: PageProblems,
) -> Iterator[Callable[..., "Page"]]:
    """Opens a page in a context of its own (its own login); every page is watched, and
    problems on any of them fail the test at teardown (with a screenshot on failure).
    Keyword arguments (viewport=…, has_touch=True) are options of the new context."""
    opened: list[tuple[BrowserContext, Page]] = []

    def open_page(**options: Any) -> "Page":
        ctx = _new_context(browser, base_url, cdn_files, **options)
        tab = watch(ctx.new_page(), problems)
        opened.append((ctx, tab))
        return tab

    yield open_page
    test_name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    for number, (ctx, tab) in enumerate(opened, start=1):
        _screenshot(request, tab, test_name if number == 1 else f"{test_name}-{number}")
        ctx.close()
    if problems.problems:
        pytest.fail("the pages ran into problems:\n" + "\n".join(problems.problems))


@pytest.fixture
def page(new_page: Callable[..., "Page"]) -> "Page":
    """A page whose console errors, failed requests and HTTP errors fail the test."""
    return new_page()


def login(page: "Page", username: str, password: str = PASSWORD) -> None:
    """Log in through the form; ends on the page the app sends the user to."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"login as {username} failed"
