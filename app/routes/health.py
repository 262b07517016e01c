from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={
        422: {
            "description": "A query parameter holds a character the text policy refuses "
            "(app.text_input); answered as a page, like every path outside /api."
        }
    },
)
def healthz(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability, for load balancers and the container health check."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
