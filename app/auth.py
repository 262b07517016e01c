"""Who is asking: the session cookie (pages) or a bearer token (API), and CSRF checks.

Page routes depend on `CurrentUser`; for every state-changing method that dependency also
checks the CSRF token (form field `csrf_token` or header `X-CSRF-Token`), so no mutating page
route can forget it. The API takes bearer tokens only, which browsers never send on their own,
so it needs no CSRF token.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import Depends, Request, Response
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.config import Settings, SettingsDep
from app.db import SessionDep, page_reader, read_before_writing
from app.errors import Forbidden, NotAuthenticated, PasswordChangeRequired
from app.models import LoginSession, SessionKind, User
from app.services import accounts, inbox

SESSION_COOKIE = "seratus_session"
LOGIN_CSRF_COOKIE = "seratus_login_csrf"
HOST_LOGIN_CSRF_COOKIE = "__Host-seratus_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Where a user who logged in with a one-time password must go first; the only pages they reach.
FORCED_CHANGE_URL = "/profile#password"
FORCED_CHANGE_PATHS = frozenset({"/profile", "/profile/password", "/logout"})
FORCED_CHANGE_MESSAGE = (
    "Anda masuk dengan kata sandi sementara. Ganti kata sandi Anda lebih dulu di halaman Profil."
)
CSRF_MESSAGE = (
    "Formulir ini sudah kedaluwarsa atau tidak sah (token keamanan tidak cocok). "
    "Muat ulang halaman lalu coba lagi."
)


@dataclass
class Auth:
    user: User
    login_session: LoginSession

    @property
    def csrf_token(self) -> str:
        return self.login_session.csrf_token


async def submitted_csrf_token(request: Request) -> str:
    """The CSRF token sent with a state-changing request (header first, then form field)."""
    if request.method in SAFE_METHODS:
        return ""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _unit_loader(request: Request, unit_id: int | None) -> Callable[[], accounts.UnitNames | None]:
    """The user's unit's names (`name`, `short_name`), read once when a page first asks
    (db.page_reader: never on a closed session, since an error page is drawn after the
    request's session has ended)."""
    loaded: list[accounts.UnitNames | None] = []

    def load() -> accounts.UnitNames | None:
        if not loaded:
            unit = None
            if unit_id is not None:
                with page_reader(request) as reader:
                    unit = accounts.unit_names(reader, unit_id)
            loaded.append(unit)
        return loaded[0]

    return load


def _unread_counter(request: Request, user_id: int) -> Callable[[], int]:
    """The header's bell count, read when a full page draws the header."""

    def count() -> int:
        with page_reader(request) as reader:
            return inbox.unread_count(reader, user_id=user_id)

    return count


SentCsrf = Annotated[str, Depends(submitted_csrf_token)]


def authenticate(request: Request, session: Session, settings: Settings, sent_csrf: str) -> Auth:
    """The signed-in user of a page request (or NotAuthenticated / Forbidden), with what the
    page's header needs set on `request.state`. Reads the database: call it in a worker
    thread (get_auth does, and in_one_hop inside the route's own hop)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    with read_before_writing(session):
        found = accounts.resolve_session(
            session, token=token, kind=SessionKind.web, settings=settings
        )
    if found is None:
        raise NotAuthenticated("Silakan masuk terlebih dahulu.")
    user, login = found
    if request.method not in SAFE_METHODS and not secrets.compare_digest(
        sent_csrf.encode(), login.csrf_token.encode()
    ):
        raise Forbidden(CSRF_MESSAGE)
    # For templates: the navigation shows the user; every form carries the CSRF token.
    request.state.user = user
    request.state.csrf_token = login.csrf_token
    # The header's bell: counted only if a page renders the header (db.page_reader).
    request.state.inbox_unread = _unread_counter(request, user.pk)
    # The header names the user's unit: read only when a full page is drawn (never for a
    # fragment or the board's 304 poll).
    request.state.unit_loader = _unit_loader(request, user.unit_id)
    if user.must_change_password and request.url.path not in FORCED_CHANGE_PATHS:
        raise PasswordChangeRequired(FORCED_CHANGE_MESSAGE)
    return Auth(user=user, login_session=login)


def get_auth(
    request: Request, session: SessionDep, settings: SettingsDep, sent_csrf: SentCsrf
) -> Auth:
    return authenticate(request, session, settings, sent_csrf)


PageAuth = Annotated[Auth, Depends(get_auth)]


async def in_one_hop(
    request: Request,
    session: Session,
    settings: Settings,
    sent_csrf: str,
    answer: Callable[[User], Response],
) -> Response:
    """Check the login, `answer` for the user and close the session, all in one thread-pool
    hop, for the busiest pages (the board, its poll from every open board, a move, the
    dashboard): a CurrentUser dependency would take a hop of its own, and closing the session
    in app.db.get_session another. Each hop is a sizeable share of a 304 poll's cost, and
    under load each may wait for the interpreter lock on the way in and out."""

    def run() -> Response:
        try:
            return answer(authenticate(request, session, settings, sent_csrf).user)
        finally:
            session.close()

    return await anyio.to_thread.run_sync(run)


async def get_page_user(auth: PageAuth) -> User:
    return auth.user


CurrentUser = Annotated[User, Depends(get_page_user)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_api_auth(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Auth:
    if not token:
        raise NotAuthenticated("Token tidak ada. Minta token di POST /api/v1/auth/token.")
    with read_before_writing(session):
        found = accounts.resolve_session(
            session, token=token, kind=SessionKind.api, settings=settings
        )
    if found is None:
        raise NotAuthenticated("Token tidak sah atau sudah kedaluwarsa.")
    if found[0].must_change_password:
        raise PasswordChangeRequired(FORCED_CHANGE_MESSAGE)
    return Auth(user=found[0], login_session=found[1])


ApiAuth = Annotated[Auth, Depends(get_api_auth)]


async def get_api_user(auth: ApiAuth) -> User:
    return auth.user


ApiUser = Annotated[User, Depends(get_api_user)]


def is_https(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "always":
        return True
    if settings.cookie_secure == "never":
        return False
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_session_cookie(
    response: Response, *, token: str, request: Request, settings: Settings
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=is_https(request, settings),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def login_csrf_cookie_name(request: Request, settings: Settings) -> str:
    """Over https the login token lives in a `__Host-` cookie: browsers only accept one set by
    this very host, Secure, for path /, so a sibling subdomain cannot plant it."""
    return HOST_LOGIN_CSRF_COOKIE if is_https(request, settings) else LOGIN_CSRF_COOKIE


def login_csrf_token(request: Request, settings: Settings) -> str:
    """The double-submit token for the login form (there is no session yet)."""
    existing = request.cookies.get(login_csrf_cookie_name(request, settings), "")
    return existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(32)


def set_login_csrf_cookie(
    response: Response, *, token: str, request: Request, settings: Settings
) -> None:
    host_only = is_https(request, settings)
    response.set_cookie(
        login_csrf_cookie_name(request, settings),
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=host_only,
        # `__Host-` requires path /; the plain cookie stays on /login.
        path="/" if host_only else "/login",
    )


def _request_host(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-host", "")
    return (forwarded.split(",")[0].strip() or request.headers.get("host", "")).lower()


def check_login_csrf(request: Request, submitted: str, settings: Settings) -> None:
    """The login form's token must match its cookie, and the post must come from this origin.
    Over plain http a sibling subdomain could plant the cookie, but its pages' posts carry
    `Sec-Fetch-Site: same-site` (or, from browsers without it, their own `Origin`)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            raise Forbidden(CSRF_MESSAGE)
    else:
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != _request_host(request):
            raise Forbidden(CSRF_MESSAGE)
    expected = request.cookies.get(login_csrf_cookie_name(request, settings), "")
    if not expected or not secrets.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden(CSRF_MESSAGE)
