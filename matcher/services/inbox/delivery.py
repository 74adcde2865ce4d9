"""Notifications out of the process: e-mail over SMTP and offices' webhooks, from the outbox.

``queue`` writes one ``Notification`` row per (item, channel, target) in the item's transaction; its ``key``
is the delivery's stable id — the e-mail's Message-ID, the webhook-id — so a receiver can drop a repeat.
``deliver_due`` (every ``notify_interval_seconds`` in each worker, ``services/runtime``) claims due rows
with a compare-and-set and a lease, sends each outside any transaction and records the outcome only if the
claim is still its own: a crash between sending and recording resends once after the lease, never more
often, and nothing is lost; two workers never send the same row at once. Failures back off (doubling from
``notify_backoff_seconds``) and give up after ``notify_max_attempts``; a webhook failing that many times in
a row is disabled with the reason.

Channels are a registry (``CHANNELS``): a channel knows whom an item reaches and how to send one row."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import smtplib
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook as Signer

from matcher.config import Settings
from matcher.domain.inbox import KINDS, Audience
from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Invalid
from matcher.storage.db import Database
from matcher.storage.models import InboxItem, Notification, User, Webhook

log = logging.getLogger(__name__)

PENDING, SENDING, SENT, DEAD = "pending", "sending", "sent", "dead"
#: Who claims a delivery: this host and process (a nonce: pids are reused).
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
LEASE = timedelta(seconds=60)
FLAVOURS = ("standard", "wecom", "dingtalk")
#: Always refused as a webhook's address, whatever the settings allow: the cloud metadata service.
METADATA = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"),
            ipaddress.ip_network("100.100.100.200/32"))


# ------------------------------------------------------------------ queueing
def _wants_email(u: User, kind: str) -> bool:
    prefs = u.notify_prefs or {}
    return bool(u.email) and prefs.get("email", True) is not False and kind not in (prefs.get("muted") or [])


def users_of(s: Session, audience: str, audience_id: str) -> list[User]:
    """The active accounts an item's audience is."""
    who = select(User).where(User.active.is_(True))
    if audience == Audience.USER:
        who = who.where(User.id == int(audience_id))
    elif audience == Audience.OFFICE:
        province = office_tree().province.code
        who = who.where(User.role == Role.OFFICIAL, (User.office_code == audience_id) if audience_id != province
                        else or_(User.office_code.is_(None), User.office_code == province))
    elif audience == Audience.ENTERPRISE:
        who = who.where(User.role == Role.ENTERPRISE, User.enterprise_id == int(audience_id))
    elif audience == Audience.INTERMEDIARY:
        who = who.where(User.role == Role.INTERMEDIARY, User.intermediary_id == int(audience_id))
    else:
        who = who.where(User.role == Role.TALENT, User.talent_id == int(audience_id))
    return list(s.scalars(who.order_by(User.id)))


def queue(s: Session, item: InboxItem) -> int:
    """The deliveries of a new item: an e-mail to each of its audience who gave an address and did not
    unsubscribe from its kind; for an office's item, its active webhooks. Returns the rows written."""
    rows: list[Notification] = []
    for u in users_of(s, item.audience, item.audience_id):
        if _wants_email(u, item.kind):
            rows.append(Notification(key=f"{item.key}:email:{u.id}", item_id=item.id, channel="email",
                                     target=u.email, status=PENDING, last_error="", claimed_by=""))
    if item.audience == Audience.OFFICE:
        for h in s.scalars(select(Webhook).where(Webhook.office_code == item.audience_id, Webhook.active.is_(True))):
            rows.append(Notification(key=f"{item.key}:webhook:{h.id}", item_id=item.id, channel="webhook",
                                     target=str(h.id), status=PENDING, last_error="", claimed_by=""))
    s.add_all(rows)
    return len(rows)


# ------------------------------------------------------------------ channels
@dataclass(frozen=True)
class Message:
    key: str
    kind: str
    kind_label: str
    title: str
    link: str
    entity: str
    entity_id: str
    created_at: str


def message_id(key: str) -> str:
    """The e-mail's Message-ID: the delivery's key, so a repeat carries the same id."""
    return "<" + key.replace(":", ".") + "@matcher.invalid>"


def send_email(settings: Settings, target: str, msg: Message) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (MATCHER_SMTP_HOST)")
    mail = EmailMessage()
    mail["Subject"] = f"【产业人才对接平台】{msg.title}"
    mail["From"] = settings.mail_from
    mail["To"] = target
    mail["Message-ID"] = message_id(msg.key)
    mail["Date"] = formatdate(localtime=False)
    base = settings.public_url.rstrip("/")
    unsubscribe = f"{base}/console/me/notifications?mute={msg.kind}"
    mail["List-Unsubscribe"] = f"<{unsubscribe}>"
    mail.set_content(f"{msg.title}\n\n请登录平台处理：{base}{msg.link}\n\n"
                     f"不再接收“{msg.kind_label}”类通知：{unsubscribe}\n")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mail)


def check_url(settings: Settings, url: str) -> None:
    """A webhook's address the service may call: https (http only when allowed), a host on the allow-list
    when there is one, never link-local or metadata addresses, loopback and private ones only when allowed.
    Raises ``Invalid`` naming ``url``."""
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if settings.webhook_allow_http else ("https",)
    if parts.scheme not in allowed_schemes or not parts.hostname:
        raise Invalid(f"url must be {' or '.join(allowed_schemes)}://host/…", field="url")
    host = parts.hostname
    hosts = [h.strip().lower() for h in settings.webhook_allow_hosts.split(",") if h.strip()]
    if hosts and host.lower() not in hosts:
        raise Invalid(f"host '{host}' is not on the webhook allow-list", field="url")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)}
    except OSError as exc:
        raise Invalid(f"host '{host}' does not resolve", field="url") from exc
    for a in addresses:
        ip = ipaddress.ip_address(str(a).split("%")[0])
        if any(ip in net for net in METADATA) or ip.is_multicast or ip.is_unspecified:
            raise Invalid(f"host '{host}' is a link-local or metadata address", field="url")
        if (ip.is_loopback or ip.is_private or ip.is_reserved) and not settings.webhook_allow_private:
            raise Invalid(f"host '{host}' is a private or loopback address", field="url")


def webhook_body(flavour: str, msg: Message, base: str) -> bytes:
    link = f"{base}{msg.link}"
    if flavour == "wecom":
        return json.dumps({"msgtype": "markdown", "markdown": {
            "content": f"**{msg.title}**\n[前往处理]({link})"}}, ensure_ascii=False).encode()
    if flavour == "dingtalk":
        return json.dumps({"msgtype": "markdown", "markdown": {
            "title": msg.kind_label, "text": f"### {msg.title}\n\n[前往处理]({link})"}}, ensure_ascii=False).encode()
    return json.dumps({"type": f"inbox.{msg.kind}", "timestamp": msg.created_at, "data": {
        "kind": msg.kind, "kind_label": msg.kind_label, "title": msg.title, "link": link, "entity": msg.entity,
        "entity_id": msg.entity_id}}, ensure_ascii=False).encode()


def send_webhook(settings: Settings, hook: Webhook, msg: Message) -> None:
    check_url(settings, hook.url)
    body = webhook_body(hook.flavour, msg, settings.public_url.rstrip("/"))
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "industry-talent-matcher"}
    if hook.flavour == "standard":
        now = datetime.now(UTC)
        headers.update({"webhook-id": msg.key, "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": Signer(hook.secret).sign(msg.key, now, body.decode())})
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"HTTP {exc.code}") from exc


def new_secret() -> str:
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# ------------------------------------------------------------------ delivering
@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    failed: int = 0
    dead: int = 0


def _message(item: InboxItem, key: str) -> Message:
    kind = KINDS.get(item.kind)
    return Message(key=key, kind=item.kind, kind_label=kind.label if kind else item.kind, title=item.title,
                   link=item.link, entity=item.entity, entity_id=item.entity_id,
                   created_at=(item.created_at or datetime.now(UTC)).isoformat())


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(and_(Notification.status == PENDING, Notification.next_attempt_at <= now),
               and_(Notification.status == SENDING, Notification.claimed_until < now))


Sender = Callable[[Settings, Notification, "Message", Session], None]


def deliver_due(db: Database, settings: Settings, now: datetime | None = None, limit: int = 50,
                worker: str = WORKER_ID, sender: Sender | None = None) -> Outcome:
    """Claim and send the due deliveries (``worker`` names the claimant; each process has its own)."""
    now = now or datetime.now(UTC)
    send = sender or _send
    with db.session() as s:
        ids = list(s.scalars(select(Notification.id).where(_due(now)).order_by(Notification.id).limit(limit)))
    sent = failed = dead = 0
    for nid in ids:
        with db.session() as s:
            won = s.execute(update(Notification).where(Notification.id == nid, _due(now))
                            .values(status=SENDING, claimed_by=worker, claimed_until=now + LEASE,
                                    attempts=Notification.attempts + 1)
                            .execution_options(synchronize_session=False))
            if won.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker has it
        with db.session() as s:
            n = s.get(Notification, nid)
            item = s.get(InboxItem, n.item_id) if n else None
            if n is None or item is None:
                continue
            msg = _message(item, n.key)
            attempts = n.attempts
            s.expunge_all()
        error = ""
        try:
            with db.session() as s:
                send(settings, n, msg, s)
        except Exception as exc:  # a channel's failure is recorded, never raised into the sweep
            error = f"{type(exc).__name__}: {exc}"[:2000]
        with db.session() as s:
            mine = [Notification.id == nid, Notification.claimed_by == worker, Notification.status == SENDING]
            if not error:
                s.execute(update(Notification).where(*mine).values(status=SENT, sent_at=datetime.now(UTC),
                                                                   last_error="")
                          .execution_options(synchronize_session=False))
                if n.channel == "webhook":
                    s.execute(update(Webhook).where(Webhook.id == int(n.target)).values(failures=0))
                sent += 1
                continue
            give_up = attempts >= settings.notify_max_attempts
            delay = timedelta(seconds=settings.notify_backoff_seconds * (2 ** (attempts - 1)))
            s.execute(update(Notification).where(*mine).values(
                status=DEAD if give_up else PENDING, next_attempt_at=now + delay, last_error=error)
                .execution_options(synchronize_session=False))
            if n.channel == "webhook":
                hook = s.get(Webhook, int(n.target))
                if hook is not None:
                    hook.failures += 1
                    if hook.failures >= settings.notify_max_attempts and hook.active:
                        hook.active = False
                        hook.disabled_reason = f"连续 {hook.failures} 次投递失败，已停用：{error}"[:2000]
            dead += give_up
            failed += not give_up
            log.warning("delivery %s over %s failed (attempt %d): %s", n.key, n.channel, attempts, error)
    return Outcome(sent, failed, dead)


def _send(settings: Settings, n: Notification, msg: Message, s: Session) -> None:
    if n.channel == "email":
        send_email(settings, n.target, msg)
        return
    hook = s.get(Webhook, int(n.target))
    if hook is None or not hook.active:
        raise RuntimeError("the webhook was removed or disabled")
    send_webhook(settings, hook, msg)
