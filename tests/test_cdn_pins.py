"""Every external script in the templates is a pinned CDN asset with an integrity hash."""

import re
from pathlib import Path

from app.config import BASE_DIR
from app.templating import CDN_ASSETS

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
SRC = re.compile(r"""\bsrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
# package@X.Y.Z with nothing range-like after it (no @latest, @2, @^2.0.0, @2.x)
EXACT_VERSION = re.compile(r"@\d+\.\d+\.\d+/")
ASSET_EXPR = re.compile(r"\{\{\s*cdn\.(\w+)\.url\s*\}\}")


def script_problems(html: str) -> list[str]:
    """What is wrong with the external <script> tags in a template's source."""
    problems = []
    for tag in SCRIPT_TAG.findall(html):
        match = SRC.search(tag)
        if match is None:
            continue
        src = match.group(1)
        asset = ASSET_EXPR.fullmatch(src)
        if asset is not None:
            if asset.group(1) not in CDN_ASSETS:
                problems.append(f"unknown CDN asset {asset.group(1)!r}: {tag}")
                continue
            url = CDN_ASSETS[asset.group(1)].url
            if f"cdn.{asset.group(1)}.integrity" not in tag:
                problems.append(f"integrity is not the pinned hash: {tag}")
        elif src.startswith(("http:", "https:", "//")):
            url = src
            problems.append(f"external script not in CDN_ASSETS: {tag}")
        else:
            continue  # our own /static files
        if not EXACT_VERSION.search(url):
            problems.append(f"not pinned to an exact version: {url}")
        if "crossorigin" not in tag:
            problems.append(f"no crossorigin: {tag}")
        if "integrity" not in tag:
            problems.append(f"no integrity: {tag}")
    return problems


def test_cdn_assets_are_pinned_with_sha384() -> None:
    assert CDN_ASSETS
    for asset in CDN_ASSETS.values():
        assert asset.url.startswith("https://cdn.jsdelivr.net/npm/")
        assert EXACT_VERSION.search(asset.url), asset.url
        assert re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", asset.integrity), asset.integrity


def test_templates_load_only_pinned_cdn_scripts() -> None:
    templates = sorted(Path(BASE_DIR / "templates").rglob("*.html"))
    assert templates
    problems = [
        f"{path.name}: {p}" for path in templates for p in script_problems(path.read_text())
    ]
    assert problems == []
    used = "".join(path.read_text() for path in templates)
    assert all(f"cdn.{name}.url" in used for name in CDN_ASSETS)


def test_checker_refuses_unpinned_urls() -> None:
    good = (
        '<script src="{{ cdn.htmx.url }}" integrity="{{ cdn.htmx.integrity }}" '
        'crossorigin="anonymous" defer></script><script src="/static/app.js"></script>'
    )
    assert script_problems(good) == []
    for bad in (
        '<script src="https://cdn.jsdelivr.net/npm/htmx.org@latest/dist/htmx.min.js"'
        ' integrity="sha384-x" crossorigin="anonymous"></script>',
        '<script src="https://unpkg.com/htmx.org@2/dist/htmx.min.js"></script>',
        '<script src="https://cdn.jsdelivr.net/npm/sortablejs@^1.15.0/Sortable.min.js"></script>',
        '<script src="{{ cdn.htmx.url }}" defer></script>',
        '<script src="{{ cdn.jquery.url }}" integrity="x" crossorigin></script>',
    ):
        assert script_problems(bad), bad
