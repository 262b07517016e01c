"""The deployment files: compose.yaml (PostgreSQL, a one-shot migration, two app replicas and
Caddy in front), the Caddyfile and the Dockerfile, checked as data (no Docker engine here)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("app1", "app2")
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_postgresql_keeps_its_data_in_a_volume_and_reports_health(
    compose: dict[str, Any],
) -> None:
    db = compose["services"]["db"]
    assert db["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in db["volumes"]
    assert "pgdata" in compose["volumes"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_migrations_run_once_before_the_replicas(compose: dict[str, Any]) -> None:
    services = compose["services"]
    migrate = services["migrate"]
    assert migrate["command"] == ["seratus", "migrate"]
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        app = services[name]
        assert app["command"] == ["seratus", "serve"]
        assert app["depends_on"]["db"]["condition"] == "service_healthy"
        assert app["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_replicas_share_postgresql_and_their_settings_are_real(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    connections = 0
    for name in APP_SERVICES:
        app = compose["services"][name]
        env = app["environment"]
        url = env["SERATUS_DATABASE_URL"]
        assert url.startswith("postgresql+psycopg://seratus:")
        assert "@db:5432/seratus" in url
        for key in env:
            if key.startswith("SERATUS_"):
                assert key.removeprefix("SERATUS_").lower() in fields, key
        assert "/healthz" in " ".join(app["healthcheck"]["test"])
        connections += int(env["SERATUS_WORKERS"]) * (
            int(env["SERATUS_DB_POOL_SIZE"]) + int(env["SERATUS_DB_MAX_OVERFLOW"])
        )
    # Every worker of every replica has its own pool; together they must fit the server.
    assert connections < POSTGRES_DEFAULT_MAX_CONNECTIONS


def test_replicas_share_one_data_directory(compose: dict[str, Any]) -> None:
    """Evidence files and import previews must be seen by whichever replica gets the request."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"SERATUS_DATA_DIR=/data\b", dockerfile)
    mounts = {tuple(compose["services"][name]["volumes"]) for name in APP_SERVICES}
    assert mounts == {("appdata:/data",)}
    assert "appdata" in compose["volumes"]


def test_the_proxy_waits_for_healthy_replicas_and_balances_over_both(
    compose: dict[str, Any],
) -> None:
    proxy = compose["services"]["proxy"]
    for name in APP_SERVICES:
        assert proxy["depends_on"][name]["condition"] == "service_healthy"
    mounts = [volume.split(":") for volume in proxy["volumes"]]
    caddyfile = next(ROOT / source for source, target, *_ in mounts if target.endswith("Caddyfile"))
    text = caddyfile.read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", text)
    assert upstreams is not None
    assert upstreams.group(1).split() == [f"{name}:8000" for name in APP_SERVICES]
    assert "health_uri /healthz" in text


def test_the_image_migrates_then_serves_as_a_non_root_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER (\S+)", dockerfile, re.M)
    assert user is not None
    assert user.group(1) not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n.*/healthz", dockerfile, re.M)
    assert 'CMD ["sh", "-c", "seratus migrate && exec seratus serve"]' in dockerfile
