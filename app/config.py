"""Settings from SERATUS_* environment variables."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

BASE_DIR = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SERATUS_", env_file=None, extra="ignore")

    # SQLite file under ./data by default; postgresql+psycopg://… for production.
    database_url: str = f"sqlite:///{BASE_DIR / 'data' / 'seratus.db'}"
    # Minutes of inactivity after which a browser session expires.
    session_idle_minutes: int = 120
    # Absolute lifetime of a browser session or API token, in hours.
    session_max_hours: int = 24 * 7
    api_token_hours: int = 12
    # "auto": the session cookie is Secure when the request came over https.
    cookie_secure: str = "auto"
    # Failed logins per username within the window before further tries are refused.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    # Cards rendered per column before "load more" (the rest arrive when scrolled into view).
    board_page_size: int = 20
    # Cards per lazy column page (a long column shows whole in a few requests).
    board_column_page_size: int = 200
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # PostgreSQL connections per app process: a pool of this many, plus this many more at a
    # peak. Every worker of every replica holds its own pool (README, "Scaling out").
    db_pool_size: int = 10
    db_max_overflow: int = 10
    log_level: str = "info"
    # Task import (DESIGN: the plan spreadsheet): refused beyond these limits.
    import_max_bytes: int = 5 * 1024 * 1024
    import_max_rows: int = 2000
    # An .xlsx is a zip: its members may not unpack to more than this (zip bombs).
    import_max_unzipped_bytes: int = 50 * 1024 * 1024
    # Previews kept for confirmation: hours, and files at most (oldest go first).
    import_keep_hours: int = 24
    import_keep_files: int = 200
    # Checked at start-up; tests create the schema themselves and may switch this off.
    require_migrated: bool = True
    # Once started, move the loaded app's objects (modules, routes, templates: a few hundred
    # thousand) out of the cyclic collector's reach (gc.freeze). Otherwise every full
    # collection, which a dashboard build's tens of thousands of rows set off, rescans them
    # all: at 5,000 tasks that doubled the page's time. The tests switch it off (a test
    # process starts hundreds of apps, and frozen cycles are never freed).
    gc_freeze: bool = True
    # Uploaded evidence (bukti dukung, under evidence/) and import files awaiting confirmation
    # (under imports/) live here, outside the web root. Default: the folder of the SQLite
    # file, or ./data for PostgreSQL. Back it up together with the database.
    data_dir: Path | None = None
    # Largest evidence file accepted, in megabytes (checked while the upload is read).
    evidence_max_mb: int = Field(default=10, ge=1, le=200)
    # The organisation the deployment serves, named on the login page
    # (e.g. "Pemerintah Kabupaten Banyuasin"); the demo sets the Banyuasin name.
    organisation: str = Field(default="", max_length=120)
    # Requests per minute one address may make to the public pages (/publik), counted in each
    # app process (app.public_rate_limit); 0 switches the limit off.
    public_rate_limit: int = Field(default=300, ge=0)

    # --- notifications (README, "Channels" and "Worker") ---
    # Public address of the app, for links in messages.
    base_url: str = "http://127.0.0.1:8000"
    # Email over SMTP: off while smtp_host is empty. smtp_security: "none", "starttls", "tls".
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "Seratus <seratus@localhost>"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_security: str = Field(default="none", pattern="^(none|starttls|tls)$")
    smtp_timeout_seconds: float = 10.0
    # Telegram Bot API: off while the token is empty. The API's base URL is a setting so
    # tests (and a proxy) can stand in for api.telegram.org.
    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str = ""
    # Sent by Telegram in X-Telegram-Bot-Api-Secret-Token (setWebhook's secret_token).
    telegram_webhook_secret: str = ""
    # Signed webhook for a WhatsApp gateway: off while the URL is empty.
    webhook_url: str = ""
    webhook_secret: str = ""
    # Worker: seconds between rounds, messages per claim, claim lease, tries before failed.
    worker_interval_seconds: float = 5.0
    worker_batch_size: int = Field(default=20, ge=1, le=1000)
    worker_lease_seconds: int = Field(default=120, ge=1)
    worker_max_attempts: int = Field(default=6, ge=1, le=50)
    worker_backoff_seconds: float = Field(default=30.0, ge=0)
    # Laporan Pagi: local time (plan timezone) on working days.
    digest_time: str = Field(default="07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @property
    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return self.data_dir
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).resolve().parent
        return BASE_DIR / "data"

    @property
    def evidence_dir(self) -> Path:
        return self.resolved_data_dir / "evidence"

    @property
    def evidence_max_bytes(self) -> int:
        return self.evidence_max_mb * 1024 * 1024


@lru_cache
def get_settings() -> Settings:
    return Settings()


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (create_app puts them on app.state). Read there
    rather than through a dependency override, which FastAPI re-analyses on every request."""
    settings: Settings = request.app.state.settings
    return settings


async def _settings_dependency(request: Request) -> Settings:
    # async: FastAPI runs a plain def dependency in the thread pool, a hop that costs more
    # than reading an attribute (see app.routes.task_filters).
    return app_settings(request)


SettingsDep = Annotated[Settings, Depends(_settings_dependency)]
