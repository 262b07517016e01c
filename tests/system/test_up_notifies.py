"""`seratus up` from nothing, with a local SMTP sink: a rejection by the team produces, within
seconds, an email to the lead unit's demo user (from the worker `up` runs in the background)
and a bell count in that user's header."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import BASE_DIR
from bench.live import free_port, web_login
from tests.channel_servers import smtp_sink

PASSWORD = "banyuasin-100"
WITHIN_SECONDS = 20


def test_up_then_a_rejection_emails_the_lead_unit(tmp_path: Path) -> None:
    if os.environ.get("SERATUS_TEST_DATABASE_URL"):
        pytest.skip("`seratus up` from nothing is about the embedded default (SQLite)")
    port = free_port()
    with smtp_sink() as sink:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SERATUS_")},
            "SERATUS_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'seratus.db'}",
            "SERATUS_SMTP_HOST": "127.0.0.1",
            "SERATUS_SMTP_PORT": str(sink.port),
            "SERATUS_LOG_LEVEL": "warning",
        }
        log = tmp_path / "up.log"
        server = subprocess.Popen(
            [sys.executable, "-m", "app", "up", "--port", str(port)],
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 240
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            assert "Worker running in the background" in log.read_text()
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": "tim.transisi", "password": PASSWORD},
                timeout=30,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            units = httpx.get(f"{base}/api/v1/units", headers=headers, timeout=30).json()
            putr = next(u for u in units if u["code"] == "PUTR")
            waiting = httpx.get(
                f"{base}/api/v1/tasks",
                params={"unit": putr["id"], "status": "review"},
                headers=headers,
                timeout=30,
            ).json()["items"]
            task = next(t for t in waiting if t["lead_unit_id"] == putr["id"])
            before = len(sink.messages)
            rejected = httpx.post(
                f"{base}/api/v1/tasks/{task['id']}/reject",
                json={"version": task["version"], "note": "Foto sebelum-sesudah belum ada."},
                headers=headers,
                timeout=30,
            )
            assert rejected.status_code == 200, rejected.text
            # The worker's routines may write to the same person meanwhile (an escalation
            # when the demo plan's day calls for one): look for the rejection among them.
            subject = f"{task['code']}: Hasil ditolak"
            started = time.monotonic()
            while time.monotonic() - started < WITHIN_SECONDS:
                mails = [
                    m
                    for m in sink.messages[before:]
                    if "kadis.putr@banyuasin.example" in m["To"] and subject in m["Subject"]
                ]
                if mails:
                    break
                time.sleep(0.2)
            got = [m["Subject"] for m in sink.messages[before:]]
            assert mails, (
                f"no {subject!r} within {WITHIN_SECONDS} s (got {got}): {log.read_text()[-2000:]}"
            )

            with httpx.Client(base_url=base, timeout=30) as browser:
                web_login(browser, "kadis.putr", PASSWORD)
                board = browser.get("/board").text
                count = re.search(r'class="bell-count" data-count="(\d+)"', board)
                assert count is not None
                assert int(count.group(1)) >= 1
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
