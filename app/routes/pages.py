from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.auth import CurrentUser

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(user: CurrentUser) -> RedirectResponse:
    return RedirectResponse("/board", status_code=303)
