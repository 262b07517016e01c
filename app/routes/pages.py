from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.auth import CurrentUser
from app.models import Role, User

router = APIRouter(include_in_schema=False)


def home_path(user: User) -> str:
    """Where a user starts: "Tugas saya" for a unit user, the dashboard for the executives,
    the board for the team."""
    if user.role == Role.unit:
        return "/my-tasks"
    return "/dashboard" if user.role == Role.executive else "/board"


@router.get("/")
def home(user: CurrentUser) -> RedirectResponse:
    return RedirectResponse(home_path(user), status_code=303)
