from fastapi import APIRouter
from sqlalchemy import text

from app.db import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    """Liveness and database reachability, for load balancers and the container health check."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
