"""What every engagement use case shares: who may see an engagement, which party the caller is, the
office that grades it, and the attachments kept as evidence.

Visibility follows the match's (``access.match_scope``: the office's area, the enterprise's own demands,
the intermediary's own matches), plus the talent's own engagements through their account — the talent
is a party and confirms, records service and fills a form like the others."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from matcher.domain.engagements import Party
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services.access import Actor, match_scope
from matcher.storage.models import Attachment, Demand, Engagement, Enterprise, Match, iso
from matcher.views import AttachmentView

#: Evidence files: scans and statements, not archives.
MAX_ATTACHMENT = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
PURPOSES = ("signed_copy", "scan", "salary", "record")


def engagement_scope(actor: Actor) -> ColumnElement[bool]:
    """The engagements ``actor`` may see (the query joins ``Match`` and ``Demand``)."""
    if actor.role == Role.TALENT:
        return Match.talent_id == (actor.talent_id or -1)
    return or_(match_scope(actor))


def visible_engagement(s: Session, actor: Actor, engagement_id: int) -> tuple[Engagement, Match, Demand]:
    """The engagement with its match and demand, or 404 — also when the caller may not know it exists."""
    row = s.execute(
        select(Engagement, Match, Demand)
        .join(Match, Match.id == Engagement.match_id)
        .join(Demand, Demand.id == Match.demand_id)
        .where(Engagement.id == engagement_id, engagement_scope(actor))
    ).first()
    if row is None:
        raise NotFound(f"engagement {engagement_id} not found", field="engagement_id")
    return row[0], row[1], row[2]


def party_of(actor: Actor) -> Party:
    """The party the caller signs and assesses as; officials and admins are no party (the office witnesses)."""
    parties = {Role.ENTERPRISE: Party.ENTERPRISE, Role.TALENT: Party.TALENT, Role.INTERMEDIARY: Party.INTERMEDIARY}
    if actor.role not in parties:
        raise Forbidden(f"role '{actor.role}' is not a party to the agreement (enterprise, talent or intermediary)")
    return parties[Role(actor.role)]


def enterprise_county(s: Session, d: Demand) -> str | None:
    return s.scalar(select(Enterprise.county_code).where(Enterprise.id == d.enterprise_id))


def grading_office(m: Match, s: Session, d: Demand) -> str:
    """The office that grades the engagement and decides its 奖补: the one the approval recorded, else the
    province (a match approved before grading offices were recorded)."""
    return m.graded_by_office or office_tree().province.code


def require_grading_office(actor: Actor, office: str) -> None:
    """Only the grading office's officials grade and decide 奖补 (admins may act for any office)."""
    if actor.role == Role.ADMIN:
        return
    if actor.role != Role.OFFICIAL:
        raise Forbidden(f"this action is the grading office's; you are '{actor.role}'")
    mine = actor.office_code or office_tree().province.code
    if mine != office:
        raise Forbidden(f"this engagement is graded by office {office}; yours is {mine}", field="office_code")


def store_attachment(
    s: Session, actor: Actor, engagement_id: int, purpose: str, filename: str, data: bytes
) -> Attachment:
    """Keep an evidence file (checked by kind and size) in the same transaction as what points at it."""
    if purpose not in PURPOSES:
        raise Invalid(f"purpose must be one of {', '.join(PURPOSES)}", field="purpose")
    name = (filename or "").strip().replace("\\", "/").rsplit("/", 1)[-1][:200]
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in ATTACHMENT_TYPES:
        raise Invalid(f"the file must be one of {', '.join(ATTACHMENT_TYPES)}", field="file")
    if not data:
        raise Invalid("the file is empty", field="file")
    if len(data) > MAX_ATTACHMENT:
        raise Invalid(f"the file is larger than {MAX_ATTACHMENT // (1024 * 1024)} MiB", field="file")
    a = Attachment(
        engagement_id=engagement_id,
        purpose=purpose,
        filename=name,
        content_type=ATTACHMENT_TYPES[suffix],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        uploaded_by=actor.user_id,
    )
    s.add(a)
    s.flush()
    return a


def attachment_view(a: Attachment) -> AttachmentView:
    return AttachmentView(
        id=a.id,
        purpose=a.purpose,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        uploaded_at=iso(a.created_at),
    )


def attachment_of(
    s: Session, engagement_id: int, attachment_id: int | None, purpose: str | None = None, field: str = "attachment_id"
) -> Attachment | None:
    """An attachment of this engagement (None when none is named), or 422 naming ``field``."""
    if attachment_id is None:
        return None
    a = s.get(Attachment, attachment_id)
    if a is None or a.engagement_id != engagement_id or (purpose is not None and a.purpose != purpose):
        raise Invalid(
            f"attachment {attachment_id} is not a{' ' + purpose if purpose else 'n'} file of this engagement",
            field=field,
        )
    return a


def audit_actor(actor: Actor) -> dict[str, Any]:
    return {"actor_user_id": actor.user_id, "actor_role": actor.role}


def insert_once(s: Session, row: Any, message: str, field: str) -> None:
    """Insert ``row`` in a savepoint: a unique constraint already holding such a row (a second confirmation,
    grade or version, also one written by a concurrent request) is a 409 naming ``field``, and the rest of
    the transaction stays usable."""
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None
