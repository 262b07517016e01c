"""The outside channels a delivery can go out on: email (SMTP), Telegram (Bot API) and a
signed webhook for a WhatsApp gateway. Each sender sends one message or raises SendError;
none of them touches the database."""

import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING, Any

from app.config import Settings

# httpx is imported where a message is sent (by the notification worker): a web worker that
# never sends one does not carry it (tests/test_worker_footprint.py).
if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Seratus-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class SendError(Exception):
    """A send that failed. `permanent`: trying again cannot help (no address, no channel)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True)
class Button:
    text: str
    data: str


@dataclass(frozen=True)
class Outgoing:
    """One message for one person, with the links already made absolute."""

    key: str
    kind: str
    subject: str
    text: str
    html: str
    to_name: str
    email: str = ""
    telegram_chat_id: str = ""
    whatsapp: str = ""
    link: str = ""
    buttons: list[Button] = field(default_factory=list)


# --- email -----------------------------------------------------------------------------


def email_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def build_email(settings: Settings, out: Outgoing) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = out.subject
    message["From"] = settings.smtp_from
    message["To"] = formataddr((out.to_name, out.email))
    # The idempotency key travels in the message, so a resend after a crash is recognisable.
    message["Message-ID"] = make_msgid(idstring=out.key.replace(":", "."), domain="seratus")
    message[IDEMPOTENCY_HEADER] = out.key
    message["Content-Language"] = "id"
    message.set_content(out.text)
    if out.html:
        message.add_alternative(out.html, subtype="html")
    return message


class Mailer:
    """An SMTP connection kept open for a round of emails (opened on first use, opened again
    after an error), so a batch does not pay a TCP and TLS handshake per message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        timeout = settings.smtp_timeout_seconds
        smtp: smtplib.SMTP
        if settings.smtp_security == "tls":
            smtp = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        return smtp

    def send(self, out: Outgoing) -> str:
        if not email_configured(self.settings):
            raise SendError("Email belum dikonfigurasi (SERATUS_SMTP_HOST kosong).", permanent=True)
        if not out.email:
            raise SendError("Pengguna belum mempunyai alamat email.", permanent=True)
        message = build_email(self.settings, out)
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendError(f"Alamat email ditolak server: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # The connection may be unusable now: the next message opens a new one.
            self.close()
            raise SendError(f"SMTP: {exc}") from exc
        return str(message["Message-ID"])

    def close(self) -> None:
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def send_email(settings: Settings, out: Outgoing) -> str:
    """One email on a connection of its own."""
    mailer = Mailer(settings)
    try:
        return mailer.send(out)
    finally:
        mailer.close()


# --- Telegram --------------------------------------------------------------------------


def telegram_configured(settings: Settings) -> bool:
    return bool(settings.telegram_bot_token)


def telegram_call(
    settings: Settings, client: "httpx.Client", method: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """Call a Bot API method; the answer's `result`, or SendError."""
    url = f"{settings.telegram_api_url.rstrip('/')}/bot{settings.telegram_bot_token}/{method}"
    import httpx

    try:
        response = client.post(url, json=payload)
    except httpx.HTTPError as exc:
        raise SendError(f"Telegram tidak dapat dihubungi: {type(exc).__name__}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not body.get("ok"):
        description = body.get("description") or f"HTTP {response.status_code}"
        # 400/403: a chat that blocked the bot or does not exist will not get better.
        permanent = response.status_code in (400, 403)
        raise SendError(f"Telegram menolak pesan: {description}", permanent=permanent)
    result = body.get("result")
    return result if isinstance(result, dict) else {}


def send_telegram(settings: Settings, client: "httpx.Client", out: Outgoing) -> str:
    if not telegram_configured(settings):
        raise SendError(
            "Telegram belum dikonfigurasi (SERATUS_TELEGRAM_BOT_TOKEN kosong).", permanent=True
        )
    if not out.telegram_chat_id:
        raise SendError("Akun Telegram pengguna belum ditautkan.", permanent=True)
    payload: dict[str, Any] = {
        "chat_id": out.telegram_chat_id,
        "text": f"{out.subject}\n\n{out.text}",
        "disable_web_page_preview": True,
    }
    if out.buttons:
        payload["reply_markup"] = {
            "inline_keyboard": [[{"text": b.text, "callback_data": b.data} for b in out.buttons]]
        }
    result = telegram_call(settings, client, "sendMessage", payload)
    return str(result.get("message_id", ""))


# --- signed webhook (WhatsApp gateway) -------------------------------------------------


def webhook_configured(settings: Settings) -> bool:
    return bool(settings.webhook_url and settings.webhook_secret)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 of the raw body, hex, with its scheme."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def whatsapp_text(out: Outgoing) -> str:
    """WhatsApp's own formatting: *bold* subject, then the plain text."""
    return f"*{out.subject}*\n\n{out.text}"


def webhook_body(out: Outgoing) -> bytes:
    return json.dumps(
        {
            "id": out.key,
            "kind": out.kind,
            "to": {"name": out.to_name, "whatsapp": out.whatsapp},
            "subject": out.subject,
            "text": whatsapp_text(out),
            "link": out.link,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def send_webhook(settings: Settings, client: "httpx.Client", out: Outgoing) -> str:
    if not webhook_configured(settings):
        raise SendError(
            "Webhook belum dikonfigurasi (SERATUS_WEBHOOK_URL / SERATUS_WEBHOOK_SECRET).",
            permanent=True,
        )
    if not out.whatsapp:
        raise SendError("Pengguna belum mempunyai nomor WhatsApp.", permanent=True)
    body = webhook_body(out)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(settings.webhook_secret, body),
        IDEMPOTENCY_HEADER: out.key,
    }
    import httpx

    try:
        response = client.post(settings.webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise SendError(f"Webhook tidak dapat dihubungi: {type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise SendError(
            f"Webhook menjawab HTTP {response.status_code}",
            permanent=400 <= response.status_code < 500 and response.status_code != 429,
        )
    return ""
