"""Compressed answers: text is gzipped when the client accepts it and decompresses to exactly
the bytes an uncompressed answer carries; photos, spreadsheets and small answers are not;
every compressible answer says `Vary: Accept-Encoding`."""

import gzip
from collections.abc import AsyncIterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from app.compression import GZIP_LEVEL, MEMO_MIN_SIZE, Compression, GzipMemo, accepts_gzip
from tests.factories import World, api_token, login, make_task

GZIP = {"Accept-Encoding": "gzip"}
IDENTITY = {"Accept-Encoding": "identity"}


def raw_get(
    client: TestClient, url: str, headers: dict[str, str]
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body exactly as sent (httpx would decode gzip itself)."""
    with client.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
        return response.status_code, dict(response.headers), body


def vary_of(headers: dict[str, str]) -> set[str]:
    return {v.strip().lower() for v in headers.get("vary", "").split(",")}


def assert_same_bytes_compressed(client: TestClient, url: str, headers: dict[str, str]) -> bytes:
    status, plain_headers, plain = raw_get(client, url, {**headers, **IDENTITY})
    assert status == 200
    assert "content-encoding" not in plain_headers
    status, gz_headers, packed = raw_get(client, url, {**headers, **GZIP})
    assert status == 200
    assert gz_headers["content-encoding"] == "gzip"
    assert "accept-encoding" in vary_of(gz_headers)
    assert "accept-encoding" in vary_of(plain_headers)
    assert int(gz_headers["content-length"]) == len(packed) < len(plain)
    assert gzip.decompress(packed) == plain
    return plain


def test_board_page_and_fragment_compress_to_the_same_bytes(
    client: TestClient, session: Session, world: World
) -> None:
    for i in range(30):
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title=f"Tugas {i}")
    login(client, world.team)
    page = assert_same_bytes_compressed(client, "/board", {})
    assert b"Papan Tugas" in page
    # The htmx fragment varies on HX-Request too, and keeps saying so.
    status, headers, _ = raw_get(client, "/board", {"HX-Request": "true", **GZIP})
    assert status == 200
    assert {"accept-encoding", "hx-request"} <= vary_of(headers)


def test_json_and_csv_compress_and_xlsx_does_not(
    client: TestClient, session: Session, world: World
) -> None:
    for i in range(30):
        make_task(session, actor=world.team, plan=world.plan, lead=world.putr, title=f"Tugas {i}")
    headers = api_token(client, world.team)
    assert_same_bytes_compressed(client, "/api/v1/tasks", headers)
    login(client, world.team)
    csv_body = assert_same_bytes_compressed(client, "/tasks/export.csv", {})
    assert b"T-001" in csv_body
    status, xlsx_headers, xlsx = raw_get(client, "/tasks/export.xlsx", GZIP)
    assert status == 200
    assert "content-encoding" not in xlsx_headers
    assert xlsx.startswith(b"PK")  # a zip file as it was written: already compressed


def test_a_304_poll_stays_empty_and_uncompressed(
    client: TestClient, session: Session, world: World
) -> None:
    make_task(session, actor=world.team, plan=world.plan, lead=world.putr)
    login(client, world.team)
    first = client.get("/board/columns", headers={"HX-Request": "true", **GZIP})
    etag = first.headers["etag"]
    status, headers, body = raw_get(
        client, "/board/columns", {"HX-Request": "true", "If-None-Match": etag, **GZIP}
    )
    assert (status, body) == (304, b"")
    assert "content-encoding" not in headers


# --- the middleware on its own: content types, sizes, streams, HEAD -----------------------

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg">' + b'<rect width="1" height="1"/>' * 100 + b"</svg>"
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8


async def _chunks() -> AsyncIterator[bytes]:
    for i in range(50):
        yield f"baris,{i},{'x' * 40}\n".encode()


def _app() -> Starlette:
    def svg(_: Request) -> Response:
        return Response(SVG, media_type="image/svg+xml")

    def png(_: Request) -> Response:
        return Response(PNG, media_type="image/png")

    def small(_: Request) -> Response:
        return PlainTextResponse("ok")

    def stream(_: Request) -> Response:
        return StreamingResponse(_chunks(), media_type="text/csv; charset=utf-8")

    def etagged(_: Request) -> Response:
        return PlainTextResponse("y" * 2000, headers={"ETag": '"abc"'})

    def big(request: Request) -> Response:
        return PlainTextResponse(_big_body(request.query_params["fill"]))

    routes = [
        Route("/chart.svg", svg),
        Route("/photo.png", png),
        Route("/small", small),
        Route("/stream.csv", stream),
        Route("/etagged", etagged, methods=["GET", "HEAD"]),
        Route("/big", big),
    ]
    return Starlette(routes=routes, middleware=[])


@pytest.fixture
def bare() -> TestClient:
    app = _app()
    app.add_middleware(Compression)
    return TestClient(app)


def _big_body(fill: str) -> str:
    """A body above the memo's threshold; bodies of different fills have the same length."""
    return "".join(f"<p>{i} {fill}</p>" for i in range(MEMO_MIN_SIZE // 8))


def test_large_bodies_are_gzipped_once_and_never_mixed_up(bare: TestClient) -> None:
    sent: dict[str, bytes] = {}
    for fill in ("a", "b", "a", "b"):
        _, headers, body = raw_get(bare, f"/big?fill={fill}", GZIP)
        assert headers["content-encoding"] == "gzip"
        assert int(headers["content-length"]) == len(body)
        assert gzip.decompress(body) == _big_body(fill).encode()
        assert sent.setdefault(fill, body) == body
    assert sent["a"] != sent["b"]


def test_the_gzip_memo_is_bounded_and_answers_what_deflate_would() -> None:
    memo = GzipMemo(level=GZIP_LEVEL, entries=2)
    bodies = [_big_body(fill).encode() for fill in ("a", "b", "c")]
    for body in bodies:
        assert gzip.decompress(memo.compress(body)) == body
    assert len(memo) == 2
    again = memo.compress(bodies[2])
    assert again is memo.compress(bodies[2])  # kept: the same object, not deflated again
    assert gzip.decompress(again) == bodies[2]


def test_svg_compresses_png_does_not(bare: TestClient) -> None:
    status, headers, body = raw_get(bare, "/chart.svg", GZIP)
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == SVG
    status, headers, body = raw_get(bare, "/photo.png", GZIP)
    assert status == 200
    assert "content-encoding" not in headers
    assert "accept-encoding" not in vary_of(headers)
    assert body == PNG


def test_small_answers_pass_but_still_vary(bare: TestClient) -> None:
    _, headers, body = raw_get(bare, "/small", GZIP)
    assert body == b"ok"
    assert "content-encoding" not in headers
    assert "accept-encoding" in vary_of(headers)


def test_streamed_csv_is_compressed_as_a_whole(bare: TestClient) -> None:
    _, headers, body = raw_get(bare, "/stream.csv", GZIP)
    assert headers["content-encoding"] == "gzip"
    assert "content-length" not in headers
    expected = b"".join(f"baris,{i},{'x' * 40}\n".encode() for i in range(50))
    assert gzip.decompress(body) == expected


def test_etag_is_kept_and_head_is_untouched(bare: TestClient) -> None:
    """A later 304 (never compressed) repeats the validator the compressed answer carried."""
    _, headers, body = raw_get(bare, "/etagged", GZIP)
    assert headers["content-encoding"] == "gzip"
    assert headers["etag"] == '"abc"'
    assert gzip.decompress(body) == b"y" * 2000
    head = bare.head("/etagged", headers=GZIP)
    assert "content-encoding" not in head.headers
    assert head.headers["etag"] == '"abc"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0", False),
        ("gzip;q=abc", False),
        ("identity", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_encoding(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected
