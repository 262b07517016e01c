"""create_app(): lifespan (refuses an unmigrated database), static files, routers, errors."""

import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import FORCED_CHANGE_URL
from app.compression import Compression
from app.config import Settings, get_settings
from app.db import BUSY_MESSAGE, is_busy, make_engine
from app.errors import Conflict, DomainError, NotAuthenticated, PasswordChangeRequired
from app.htmx import is_htmx
from app.models import TaskPublic
from app.path_ids import not_found_message
from app.public_cache import PublicRevalidation
from app.public_rate_limit import PublicRateLimit, PublicServerTiming
from app.routes import (
    admin,
    admin_notifications,
    api,
    api_dashboard,
    api_directives,
    auth,
    board,
    burndown,
    dashboard,
    evidence,
    health,
    inbox,
    my_tasks,
    pages,
    profile,
    public,
    publishing,
    tasks,
    telegram,
    transfer,
)
from app.schema import ensure_migrated
from app.templating import STATIC_DIR, render, templates
from app.text_input import ERROR_TYPE as TEXT_ERROR
from app.text_input import text_boundary
from app.upload_limit import UploadLimit, UploadTooLarge

log = logging.getLogger("seratus")

HTTP_MESSAGES = {
    400: "Permintaan tidak dapat diproses.",
    401: "Silakan masuk terlebih dahulu.",
    403: "Anda tidak berwenang melakukan tindakan ini.",
    404: "Halaman atau data yang Anda cari tidak ditemukan.",
    405: "Metode permintaan ini tidak didukung.",
    409: "Data telah diubah oleh pengguna lain.",
    413: "Berkas atau isian terlalu besar.",
    422: "Isian tidak valid.",
    500: "Terjadi kesalahan pada server. Tim teknis telah dicatat; silakan coba lagi.",
}

BODY_ERROR = "body_unparsable"
BODY_MESSAGE = (
    "Isian formulir tidak terbaca (rusak atau terpotong). Muat ulang halaman lalu coba lagi."
)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _is_public(request: Request) -> bool:
    path = request.url.path
    return path == "/publik" or path.startswith("/publik/")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.require_migrated:
            ensure_migrated(engine)
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()  # see Settings.gc_freeze
        yield

    app = FastAPI(
        title="Seratus API",
        version="1.0",
        summary="Rencana kerja 100 hari: tugas, papan Kanban, riwayat.",
        description=(
            "JSON API v1 of Seratus. Obtain a bearer token with `POST /api/v1/auth/token` "
            "(OAuth2 password form: `username`, `password`), then send "
            "`Authorization: Bearer <token>`. The same role rules apply as in the web "
            "interface: `team` may do everything, `unit` may move and update tasks led by "
            "its own unit (never into `done`), `executive` may read and leave directives. "
            "Errors answer with a JSON `detail` (and `field` for the offending field); a "
            "stale `version` answers 409 with the task's `current` state."
        ),
        lifespan=lifespan,
        # The one boundary for text (app.text_input): every route, whoever adds it later.
        dependencies=[Depends(text_boundary)],
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.settings = settings

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    # `transfer` before `tasks`: /tasks/import is not a task id.
    for module in (
        health,
        auth,
        pages,
        inbox,
        transfer,
        board,
        dashboard,
        burndown,
        tasks,
        evidence,
        publishing,
        admin,
        admin_notifications,
        telegram,
        my_tasks,
        profile,
        api,
        api_directives,
        api_dashboard,
        public,
    ):
        app.include_router(module.router)
    # Upload bodies far over their limit are cut off as they arrive (app.upload_limit).
    app.add_middleware(
        UploadLimit,
        path=evidence.UPLOAD_PATH,
        max_bytes=settings.evidence_max_bytes + evidence.FORM_OVERHEAD,
        message=evidence.upload_too_large_message(settings),
    )
    app.add_middleware(
        UploadLimit,
        path=transfer.UPLOAD_PATH,
        max_bytes=settings.import_max_bytes + transfer.FORM_OVERHEAD,
        message=transfer.too_large_message(settings),
    )
    # A revalidation of a public page is answered (304) before routing: app.public_cache.
    app.add_middleware(PublicRevalidation, engine=engine)
    app.add_middleware(PublicServerTiming)
    # Around every router, so error pages and all answers are compressed alike.
    app.add_middleware(Compression)
    # Outermost, so a refused request costs the app nothing.
    app.add_middleware(PublicRateLimit, limit=settings.public_rate_limit)
    _install_error_handlers(app)
    return app


def _error_response(request: Request, status: int, message: str, **extra: Any) -> Response:
    if _is_public(request):
        # The public page's own error page: the generic message only, never a detail.
        return templates.TemplateResponse(
            request,
            "public/error.html",
            {"status": status, "message": HTTP_MESSAGES.get(status, HTTP_MESSAGES[400])},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )
    if _is_api(request):
        body: dict[str, Any] = {"detail": message}
        body.update({k: v for k, v in extra.items() if v is not None})
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(body, status_code=status, headers=headers)
    template = "errors/_message.html" if is_htmx(request) else "errors/error.html"
    context = {"message": message, "status": status}
    try:
        return render(request, template, context, status_code=status)
    except Exception:
        # The page's header reads the user, who may be unloadable after a failed transaction:
        # the app's own page without the user, never Starlette's bare text.
        log.exception(
            "error page for %s %s rendered without the user", request.method, request.url.path
        )
        request.state.user = None
        return render(request, template, context, status_code=status)


def _validation_issues(errors: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return _error_response(request, 401, exc.message)
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        login = f"/login?next={quote(target, safe='')}" if request.method == "GET" else "/login"
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": login})
        return RedirectResponse(login, status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        if _is_api(request):
            return _error_response(request, 403, exc.message)
        if is_htmx(request):
            return Response(status_code=403, headers={"HX-Redirect": FORCED_CHANGE_URL})
        return RedirectResponse(FORCED_CHANGE_URL, status_code=303)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> Response:
        current = (
            exc.current.model_dump(mode="json") if isinstance(exc.current, TaskPublic) else None
        )
        return _error_response(request, 409, exc.message, current=current)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error_response(request, exc.status_code, exc.message, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        in_path = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("path",)]
        if in_path:
            # app.path_ids: an id that cannot exist names nothing — 404, as an unknown id,
            # whatever else the request got wrong.
            field = str(in_path[0]["loc"][-1])
            message = not_found_message(field, in_path[0].get("input"))
            return _error_response(request, 404, message, field=field)
        if _is_api(request):
            return JSONResponse({"detail": _validation_issues(errors)}, status_code=422)
        own = [e["msg"] for e in errors if e.get("type") == TEXT_ERROR]
        fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in errors)
        message = f"Isian tidak valid: {fields}."
        if own:
            message += " " + own[0]
        return _error_response(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:
            # Only the framework raises a bare 400: a body it could not parse (broken
            # multipart, a missing boundary, bytes that are not UTF-8 JSON). That is invalid
            # input like any other: 422 with `detail`, as every operation documents.
            reason = exc.detail if isinstance(exc.detail, str) else "Unreadable body."
            issue = {"loc": ["body"], "msg": reason, "type": BODY_ERROR}
            if _is_api(request):
                return JSONResponse({"detail": [issue]}, status_code=422)
            return _error_response(request, 422, BODY_MESSAGE)
        own_message = _is_api(request) or isinstance(exc, UploadTooLarge)
        message = exc.detail if isinstance(exc.detail, str) and own_message else None
        return _error_response(
            request, exc.status_code, message or HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        # A write outside the retrying services that lost a race (a deadlock, a serialization
        # failure, SQLite's busy timeout) changed nothing and may be repeated: 409, not 500.
        if is_busy(exc):
            log.warning("concurrent write on %s %s: %s", request.method, request.url.path, exc)
            return _error_response(request, 409, BUSY_MESSAGE)
        log.exception("database error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, HTTP_MESSAGES[500])

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error_response(request, 500, HTTP_MESSAGES[500])
