"""What a user receives, and offices' webhooks: the address and mobile number notifications go to, e-mail
and SMS on or off, a daily digest instead of one e-mail per item, quiet hours, the kinds unsubscribed from
(the e-mail's link mutes one kind); webhooks registered by officials
and admins for an office, with the signing secret shown once."""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlalchemy import select

from matcher.config import Settings
from matcher.domain.inbox import KINDS
from matcher.domain.notify import QuietHours
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.inbox.delivery import FLAVOURS, Prefs, check_url, new_secret, personal_channels
from matcher.storage.db import Database
from matcher.storage.models import Notification, User, Webhook, iso
from matcher.views import DeliveryView, WebhookView

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,}")
MOBILE = re.compile(r"1\d{10}")


def prefs_view(u: User) -> dict[str, Any]:
    p = Prefs.of(u)
    return {"email": u.email, "mobile": u.mobile, "email_enabled": p.channels.get("email", True),
            "sms_enabled": p.channels.get("sms", False), "muted": sorted(p.muted), "digest": p.digest,
            "digest_hour": p.digest_hour, "quiet_hours": p.quiet.as_dict() if p.quiet is not None else None,
            "kinds": {k: v.label for k, v in KINDS.items()},
            "channels": {c.name: c.label for c in personal_channels()}}


def _account(s: Any, actor: Actor) -> User:
    u = s.get(User, actor.user_id) if actor.user_id else None
    if u is None:
        raise NotFound("this session has no account to set notifications for", field="user")
    return u


def get_prefs(db: Database, actor: Actor) -> dict[str, Any]:
    with db.session() as s:
        return prefs_view(_account(s, actor))


def set_prefs(db: Database, actor: Actor, *, email: str | None = None, mobile: str | None = None,
              email_enabled: bool | None = None, sms_enabled: bool | None = None, muted: list[str] | None = None,
              digest: bool | None = None, digest_hour: int | None = None,
              quiet_hours: dict[str, str] | Literal["keep"] | None = "keep", user_id: int | None = None
              ) -> dict[str, Any]:
    """Change the caller's own settings (an admin may change anyone's with ``user_id``); a field left out
    (None; for ``quiet_hours`` the default "keep" — None clears them) stays as it is. Deliveries already
    queued keep their schedule."""
    if email is not None and email and not EMAIL.fullmatch(email):
        raise Invalid("email is not an e-mail address", field="email")
    if mobile is not None and mobile and not MOBILE.fullmatch(mobile):
        raise Invalid("mobile must be an 11-digit mainland mobile number", field="mobile")
    unknown = sorted(set(muted or []) - set(KINDS))
    if unknown:
        raise Invalid(f"unknown kind '{unknown[0]}' (one of {', '.join(KINDS)})", field="muted")
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise Invalid("digest_hour must be an hour of the day, 0–23", field="digest_hour")
    quiet = None if quiet_hours == "keep" else QuietHours.parse(quiet_hours)
    with db.session() as s:
        if user_id is not None and user_id != actor.user_id:
            require(actor, Role.ADMIN)
            u = s.get(User, user_id)
            if u is None:
                raise NotFound(f"user {user_id} not found", field="user_id")
        else:
            u = _account(s, actor)
        if sms_enabled and not (mobile if mobile is not None else u.mobile):
            raise Invalid("SMS needs a mobile number", field="mobile")
        before = prefs_view(u)
        if email is not None:
            u.email = email.strip()
        if mobile is not None:
            u.mobile = mobile.strip()
        prefs = dict(u.notify_prefs or {})
        for key, value in (("email", email_enabled), ("sms", sms_enabled), ("digest", digest),
                           ("digest_hour", digest_hour)):
            if value is not None:
                prefs[key] = value
        if muted is not None:
            prefs["muted"] = sorted(set(muted))
        if quiet_hours != "keep":
            prefs["quiet_hours"] = quiet.as_dict() if quiet is not None else None
        u.notify_prefs = prefs
        after = prefs_view(u)
        shown = ("email_enabled", "sms_enabled", "muted", "digest", "digest_hour", "quiet_hours")
        record(s, action="notification_prefs", entity="user", entity_id=u.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={k: before[k] for k in shown}, after={k: after[k] for k in shown})
        return after


def mute(db: Database, actor: Actor, kind: str) -> dict[str, Any]:
    """The e-mail's unsubscribe link: no more e-mails of this kind (the inbox still shows them)."""
    if kind not in KINDS:
        raise Invalid(f"unknown kind '{kind}' (one of {', '.join(KINDS)})", field="mute")
    current = get_prefs(db, actor)
    return set_prefs(db, actor, muted=[*current["muted"], kind])


# ------------------------------------------------------------------ webhooks
def webhook_view(h: Webhook, secret: str | None = None) -> WebhookView:
    return WebhookView(id=h.id, office_code=h.office_code, url=h.url, flavour=h.flavour, active=h.active,
                       failures=h.failures, disabled_reason=h.disabled_reason, secret=secret)


def register_webhook(db: Database, settings: Settings, actor: Actor, url: str, flavour: str = "standard",
                     office_code: str | None = None) -> WebhookView:
    """An office's system to receive the office's items (officials for their own office; admins any)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if flavour not in FLAVOURS:
        raise Invalid(f"flavour must be one of {', '.join(FLAVOURS)}", field="flavour")
    tree = office_tree()
    office = office_code or actor.office_code or tree.province.code
    if office not in tree:
        raise Invalid(f"unknown office '{office}'", field="office_code")
    mine = actor.office_code or tree.province.code
    if actor.role == Role.OFFICIAL and office != mine:
        raise Forbidden(f"an official registers webhooks for their own office ({mine})", field="office_code")
    check_url(settings, url)
    secret = new_secret()
    with db.session() as s:
        h = Webhook(office_code=office, url=url, flavour=flavour, secret=secret, active=True, failures=0,
                    disabled_reason="", created_by=actor.user_id)
        s.add(h)
        s.flush()
        record(s, action="register_webhook", entity="webhook", entity_id=h.id, actor_user_id=actor.user_id,
               actor_role=actor.role, after={"office": office, "url": url, "flavour": flavour})
        return webhook_view(h, secret)


def list_webhooks(db: Database, actor: Actor) -> list[WebhookView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        stmt = select(Webhook).order_by(Webhook.id)
        if actor.role == Role.OFFICIAL:
            stmt = stmt.where(Webhook.office_code == (actor.office_code or office_tree().province.code))
        return [webhook_view(h) for h in s.scalars(stmt)]


def delivery_log(db: Database, actor: Actor, limit: int = 100) -> list[DeliveryView]:
    """The latest deliveries (admins): what was sent where, attempts, the last error."""
    require(actor, Role.ADMIN, Role.OFFICIAL)
    with db.session() as s:
        rows = s.scalars(select(Notification).order_by(Notification.id.desc()).limit(limit))
        return [DeliveryView(id=n.id, key=n.key, item_id=n.item_id, channel=n.channel,
                             target=n.target if actor.role == Role.ADMIN else "…", status=n.status,
                             attempts=n.attempts, last_error=n.last_error, sent_at=iso(n.sent_at)) for n in rows]
