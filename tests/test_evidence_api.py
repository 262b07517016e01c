"""The JSON API for evidence: list, add (multipart), remove, download; and the review rule."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from app.models import Task, TaskStatus
from tests.factories import World, api_token, make_task
from tests.test_evidence import HTML_BYTES, PDF_BYTES, PNG_BYTES, rows_of, stored_task

API = "/api/v1"


@pytest.fixture
def task(session: Session, world: World) -> Task:
    return make_task(
        session, actor=world.team, plan=world.plan, lead=world.putr, status=TaskStatus.in_progress
    )


def test_add_list_download_and_remove(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    unit = api_token(client, world.putr_head)
    url = f"{API}/tasks/{task.pk}/evidence"

    photo = client.post(
        url,
        data={"caption": "Foto lokasi"},
        files={"file": ("lokasi.png", PNG_BYTES, "image/png")},
        headers=unit,
    )
    link = client.post(
        url,
        data={"caption": "Album", "url": "https://arsip.banyuasin.example/album"},
        headers=unit,
    )

    assert photo.status_code == 201, photo.text
    assert link.status_code == 201, link.text
    body = photo.json()
    assert body["kind"] == "file"
    assert body["content_type"] == "image/png"
    assert body["filename"] == "lokasi.png"
    assert body["size_bytes"] == len(PNG_BYTES)
    assert body["uploader_name"] == "Kadis Putr"
    assert body["download_url"] == f"{url}/{body['id']}/file"
    assert photo.headers["location"] == f"{url}/{body['id']}"
    assert link.json()["url"] == "https://arsip.banyuasin.example/album"
    assert link.json()["download_url"] is None

    listed = client.get(url, headers=api_token(client, world.executive))
    assert [e["caption"] for e in listed.json()] == ["Foto lokasi", "Album"]

    download = client.get(body["download_url"], headers=unit)
    assert download.status_code == 200
    assert download.content == PNG_BYTES
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-security-policy"].startswith("sandbox")
    assert client.get(body["download_url"]).status_code == 401

    removed = client.delete(f"{url}/{body['id']}", headers=unit)
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed_by"] == world.putr_head.id
    assert removed.json()["removed_at"] is not None
    assert [e["caption"] for e in client.get(url, headers=unit).json()] == ["Album"]
    everything = client.get(url, params={"include_removed": "true"}, headers=unit).json()
    assert [e["removed_at"] is not None for e in everything] == [True, False]
    assert client.get(body["download_url"], headers=unit).status_code == 404
    kinds = [e["kind"] for e in client.get(f"{API}/tasks/{task.pk}/events", headers=unit).json()]
    assert kinds[-3:] == ["evidence", "evidence", "evidence"]


@pytest.mark.parametrize(
    ("who", "status"),
    [("team", 201), ("own", 201), ("other", 403), ("executive", 403), ("anonymous", 401)],
)
def test_api_permission_matrix(
    client: TestClient, session: Session, world: World, task: Task, who: str, status: int
) -> None:
    users = {
        "team": world.team,
        "own": world.putr_head,
        "other": world.dinkes_head,
        "executive": world.executive,
    }
    headers = api_token(client, users[who]) if who in users else {}
    response = client.post(
        f"{API}/tasks/{task.pk}/evidence",
        data={"caption": "Foto"},
        files={"file": ("a.png", PNG_BYTES, "image/png")},
        headers=headers,
    )
    assert response.status_code == status, response.text
    if status != 201:
        assert isinstance(response.json()["detail"], str)
    assert len(rows_of(session, task.pk)) == (1 if status == 201 else 0)


def test_api_refuses_spoofed_files_and_bad_input(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    unit = api_token(client, world.putr_head)
    url = f"{API}/tasks/{task.pk}/evidence"
    spoofed = client.post(
        url,
        data={"caption": "Foto"},
        files={"file": ("foto.jpg", HTML_BYTES, "image/jpeg")},
        headers=unit,
    )
    assert spoofed.status_code == 422
    assert spoofed.json()["field"] == "file"
    assert "isinya bukan gambar JPEG" in spoofed.json()["detail"]
    nothing = client.post(url, data={"caption": "Foto"}, headers=unit)
    assert (nothing.status_code, nothing.json()["field"]) == (422, "file")
    bad_link = client.post(url, data={"caption": "x", "url": "javascript:alert(1)"}, headers=unit)
    assert (bad_link.status_code, bad_link.json()["field"]) == (422, "url")
    no_caption = client.post(
        url,
        data={"caption": " "},
        files={"file": ("a.pdf", PDF_BYTES, "application/pdf")},
        headers=unit,
    )
    assert (no_caption.status_code, no_caption.json()["field"]) == (422, "caption")
    assert rows_of(session, task.pk) == []


def test_api_upload_over_the_limit(
    engine: Engine, db_url: str, tmp_path: Path, session: Session, world: World, task: Task
) -> None:
    settings = Settings(
        database_url=db_url, require_migrated=False, evidence_max_mb=1, data_dir=tmp_path / "d"
    )
    with TestClient(create_app(settings, engine)) as client:
        unit = api_token(client, world.putr_head)
        url = f"{API}/tasks/{task.pk}/evidence"
        just_over = PNG_BYTES + bytes(1024 * 1024)
        response = client.post(
            url,
            data={"caption": "Foto"},
            files={"file": ("a.png", just_over, "image/png")},
            headers=unit,
        )
        assert response.status_code == 422
        assert response.json()["detail"] == "Berkas «a.png» melebihi batas ukuran 1 MB."
        huge = PNG_BYTES + bytes(5 * 1024 * 1024)
        cut = client.post(
            url,
            data={"caption": "Foto"},
            files={"file": ("a.png", huge, "image/png")},
            headers=unit,
        )
        assert cut.status_code == 413
        assert cut.json()["detail"] == "Berkas melebihi batas ukuran 1 MB."
    assert rows_of(session, task.pk) == []


def test_api_review_needs_evidence_or_a_note(
    client: TestClient, session: Session, world: World, task: Task
) -> None:
    unit = api_token(client, world.putr_head)
    move = f"{API}/tasks/{task.pk}/move"
    refused = client.post(move, json={"version": task.version, "status": "review"}, headers=unit)
    assert refused.status_code == 422
    assert refused.json()["field"] == "note"
    assert "Lampirkan minimal satu bukti dukung" in refused.json()["detail"]
    assert stored_task(session, task).status == TaskStatus.in_progress

    added = client.post(
        f"{API}/tasks/{task.pk}/evidence",
        data={"caption": "Album", "url": "https://arsip.banyuasin.example/a"},
        headers=unit,
    )
    version = stored_task(session, task).version
    assert added.status_code == 201
    moved = client.post(move, json={"version": version, "status": "review"}, headers=unit)
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "review"
