"""The team's administration pages: units, programs, users, plan settings, holidays.

Every form posts back, redirects (303) to a page that shows a fixed message on success, and
re-renders with 422 and messages next to the fields when the service refuses the input
(app.routes.admin.pages).
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.routes.admin import holidays, plans, programs, units, users
from app.routes.admin.pages import page
from app.services import admin

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def index(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return page(request, "admin/index.html", {"overview": admin.overview(session, actor=user)})


for part in (units, programs, users, plans, holidays):
    router.include_router(part.router)
