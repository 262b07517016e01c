"""The inbox (bell in the header): list, mark one / all read, and the bell's own poll."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import CurrentUser
from app.db import SessionDep
from app.path_ids import NotificationId
from app.services import inbox
from app.templating import render

router = APIRouter(prefix="/inbox", include_in_schema=False)


@router.get("")
def inbox_page(
    request: Request, session: SessionDep, user: CurrentUser, unread: bool = False
) -> Response:
    entries = inbox.list_inbox(session, actor=user, unread_only=unread)
    return render(
        request,
        "inbox/inbox.html",
        {"entries": entries, "unread_only": unread},
    )


@router.get("/bell")
def bell(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The bell alone, for its poll: 304 while nothing arrived and nothing was read."""
    state = inbox.bell_state(session, user_id=user.pk)
    headers = {"ETag": state.etag, "Cache-Control": "private, no-cache"}
    sent = request.headers.get("If-None-Match", "")
    if state.etag in [tag.strip() for tag in sent.split(",")]:
        return Response(status_code=304, headers=headers)
    return render(request, "inbox/_bell.html", {"bell_count": state.unread}, headers=headers)


@router.post("/read-all")
def read_all(session: SessionDep, user: CurrentUser) -> RedirectResponse:
    inbox.mark_all_read(session, actor=user)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/{notification_id}/open")
def open_entry(
    notification_id: NotificationId, session: SessionDep, user: CurrentUser
) -> RedirectResponse:
    """Mark the entry read and go to its task."""
    notification = inbox.mark_read(session, actor=user, notification_id=notification_id)
    target = f"/tasks/{notification.task_id}" if notification.task_id else "/inbox"
    return RedirectResponse(target, status_code=303)


@router.post("/{notification_id}/read")
def read_one(
    notification_id: NotificationId, session: SessionDep, user: CurrentUser
) -> RedirectResponse:
    inbox.mark_read(session, actor=user, notification_id=notification_id)
    return RedirectResponse("/inbox", status_code=303)
