"""The printed pack's letterhead (DESIGN §4 "/dashboard … with a letterhead"): the
organisation's name and an optional logo image, set by the team in the plan settings."""

from datetime import UTC, datetime

from sqlmodel import Session

from app.errors import Forbidden, NotFound, RuleViolation
from app.models import Plan, PlanLogo, Role, User

LOGO_MAX_BYTES = 512 * 1024
ORGANISATION_MAX = 120
# Recognised by their first bytes, never by a file name or a browser's claim.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def logo_media_type(content: bytes) -> str | None:
    """'image/png' or 'image/jpeg' by content; None for anything else."""
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    return None


def logo(session: Session, *, plan: Plan) -> tuple[bytes, str]:
    """The plan's logo and its media type. NotFound when none is set."""
    row = session.get(PlanLogo, plan.id) if plan.logo_type else None
    if row is None:
        raise NotFound("Logo kop surat belum diatur.")
    return row.content, plan.logo_type


def set_letterhead(
    session: Session,
    *,
    actor: User,
    plan: Plan,
    organisation_name: str,
    logo_content: bytes | None = None,
    remove_logo: bool = False,
) -> Plan:
    """Set the organisation's name and, when given, the logo (PNG or JPEG up to 512 KB);
    `remove_logo` clears it. Team only; one commit; nothing changes on a bad value."""
    if actor.role != Role.team:
        raise Forbidden("Hanya Tim Transisi yang dapat mengubah kop surat.")
    name = " ".join(organisation_name.split())
    if len(name) > ORGANISATION_MAX:
        raise RuleViolation(
            f"Nama instansi paling panjang {ORGANISATION_MAX} karakter.", field="organisation_name"
        )
    media_type = None
    if logo_content:
        if len(logo_content) > LOGO_MAX_BYTES:
            raise RuleViolation("Logo paling besar 512 KB.", field="logo")
        media_type = logo_media_type(logo_content)
        if media_type is None:
            raise RuleViolation("Logo harus berupa gambar PNG atau JPEG.", field="logo")
    plan.organisation_name = name
    row = session.get(PlanLogo, plan.id)
    if media_type is not None and logo_content:
        if row is None:
            row = PlanLogo(plan_id=plan.pk, content=logo_content)
        row.content = logo_content
        row.updated_at = datetime.now(UTC)
        session.add(row)
        plan.logo_type = media_type
    elif remove_logo:
        if row is not None:
            session.delete(row)
        plan.logo_type = ""
    session.add(plan)
    session.commit()
    session.refresh(plan)
    return plan
