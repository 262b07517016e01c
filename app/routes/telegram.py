"""Telegram's webhook (setWebhook with secret_token): updates from the bot's chats."""

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.config import SettingsDep
from app.db import SessionDep
from app.services import telegram_bot

router = APIRouter(prefix="/telegram", include_in_schema=False)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
MAX_BODY = 64 * 1024


@router.post("/webhook")
async def webhook(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Refuses without the configured secret token (403, nothing read); answers an update
    with at most one Bot API method in the response body."""
    expected = settings.telegram_webhook_secret
    sent = request.headers.get(SECRET_HEADER, "")
    if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
        return JSONResponse({"detail": "Token rahasia Telegram tidak cocok."}, status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"detail": "Pembaruan terlalu besar."}, status_code=413)
    try:
        update: Any = json.loads(body)
    except ValueError:
        return JSONResponse({"detail": "Bukan JSON."}, status_code=400)
    if not isinstance(update, dict):
        return JSONResponse({"detail": "Bukan pembaruan Telegram."}, status_code=400)
    # The services are synchronous: off the event loop.
    reply = await run_in_threadpool(telegram_bot.handle_update, session, update=update)
    return JSONResponse(reply.body() if reply is not None else {})
