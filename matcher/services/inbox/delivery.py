"""Notifications out of the process: e-mail over SMTP, SMS through an HTTP gateway and offices' webhooks,
from the outbox.

``queue`` writes one ``Notification`` row per (item, channel, target) in the item's transaction; its ``key``
is the delivery's stable id — the e-mail's Message-ID, the webhook-id, the SMS gateway's request id — so a
receiver can drop a repeat. A personal row (e-mail, SMS) is scheduled by its user's preferences
(``domain/notify``): after their quiet hours, or held for their daily digest, which sends every digest row
due for one address as one message. ``deliver_due`` (every ``notify_interval_seconds`` in each worker,
``services/runtime``) claims due rows with a compare-and-set and a lease, sends each outside any transaction
and records the outcome only if the claim is still its own: a crash between sending and recording resends
once after the lease, never more often, and nothing is lost; two workers never send the same row at once.
Failures back off (doubling from ``notify_backoff_seconds``, never into the user's quiet hours) and give up
after ``notify_max_attempts``; a webhook failing that many times in a row is disabled with the reason.

Channels are a registry (``CHANNELS``): a channel knows where a user is reached and how to send one row."""

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
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook as Signer

from matcher.config import Settings
from matcher.domain.inbox import KINDS, Audience
from matcher.domain.notify import QuietHours, deliver_at
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


# ------------------------------------------------------------------ preferences
@dataclass(frozen=True)
class Prefs:
    """A user's notification settings as stored in ``User.notify_prefs``: each personal channel on or off
    (e-mail on by default, SMS — it costs the province money — off), the kinds muted, a daily digest of
    e-mails instead of one per item, and quiet hours for e-mail and SMS alike."""

    channels: dict[str, bool]
    muted: frozenset[str]
    digest: bool
    digest_hour: int
    quiet: QuietHours | None

    @classmethod
    def of(cls, u: User) -> Prefs:
        raw = u.notify_prefs or {}
        try:
            quiet = QuietHours.parse(raw.get("quiet_hours"))
        except Invalid:  # stored before a check existed: no quiet hours rather than no delivery
            quiet = None
        hour = raw.get("digest_hour", DIGEST_HOUR)
        return cls(channels={c.name: raw.get(c.name, c.default_on) is not False for c in personal_channels()},
                   muted=frozenset(raw.get("muted") or ()), digest=bool(raw.get("digest", False)),
                   digest_hour=hour if isinstance(hour, int) and 0 <= hour <= 23 else DIGEST_HOUR, quiet=quiet)

    def wants(self, channel: Channel, kind: str) -> bool:
        return self.channels.get(channel.name, channel.default_on) and kind not in self.muted

    def send_at(self, channel: Channel, at: datetime) -> datetime:
        return deliver_at(at, self.quiet, self.digest and channel.digestible, self.digest_hour)


DIGEST_HOUR = 8  # local time of the daily digest unless the user chose another hour


# ------------------------------------------------------------------ queueing
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


def queue(s: Session, item: InboxItem, now: datetime | None = None) -> int:
    """The deliveries of a new item: over each personal channel (e-mail, SMS) to each of its audience who
    gave the address, has the channel on and did not mute the kind — held for their digest or past their
    quiet hours; for an office's item, its active webhooks at once. Returns the rows written."""
    now = now or datetime.now(UTC)
    rows: list[Notification] = []
    for u in users_of(s, item.audience, item.audience_id):
        prefs = Prefs.of(u)
        for c in personal_channels():
            target = c.address(u) if c.address is not None else ""
            if not target or not prefs.wants(c, item.kind):
                continue
            rows.append(Notification(key=f"{item.key}:{c.name}:{u.id}", item_id=item.id, channel=c.name,
                                     target=target, status=PENDING, last_error="", claimed_by="", user_id=u.id,
                                     digest=prefs.digest and c.digestible, next_attempt_at=prefs.send_at(c, now)))
    if item.audience == Audience.OFFICE:
        for h in s.scalars(select(Webhook).where(Webhook.office_code == item.audience_id, Webhook.active.is_(True))):
            rows.append(Notification(key=f"{item.key}:webhook:{h.id}", item_id=item.id, channel="webhook",
                                     target=str(h.id), status=PENDING, last_error="", claimed_by="",
                                     digest=False, next_attempt_at=now))
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
    #: A digest's items, (title, link) each; empty for a message about one item.
    lines: tuple[tuple[str, str], ...] = ()


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
    if msg.lines:  # a digest: one line per item, the settings page instead of one kind's mute link
        unsubscribe = f"{base}/console/me/notifications"
        mail.replace_header("List-Unsubscribe", f"<{unsubscribe}>")
        listing = "\n".join(f"{n}. {title}\n   {base}{link}" for n, (title, link) in enumerate(msg.lines, 1))
        mail.set_content(f"{msg.title}\n\n{listing}\n\n更改通知方式（摘要、免打扰时段、退订）：{unsubscribe}\n")
    else:
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
    headers: dict[str, str] = {}
    if hook.flavour == "standard":
        now = datetime.now(UTC)
        headers.update({"webhook-id": msg.key, "webhook-timestamp": str(int(now.timestamp())),
                        "webhook-signature": Signer(hook.secret).sign(msg.key, now, body.decode())})
    post_json(hook.url, body, headers)


def post_json(url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST a JSON body (webhooks, the SMS gateway); a 2xx is success, any other answer raises with its
    status, which the delivery log keeps."""
    every = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "industry-talent-matcher", **headers}
    request = urllib.request.Request(url, data=body, headers=every, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            if not 200 <= response.status < 300:
                raise RuntimeError(f"HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"HTTP {exc.code}") from exc


def sms_text(settings: Settings, msg: Message) -> str:
    """The SMS: the registered signature, the title, the link (one SMS is 70 characters; providers join
    longer ones, so the title is cut to keep the message within three)."""
    link = f"{settings.public_url.rstrip('/')}{msg.link}"
    room = max(20, 200 - len(settings.sms_signature) - len(link) - 2)
    title = msg.title if len(msg.title) <= room else msg.title[:room - 1] + "…"
    return f"{settings.sms_signature}{title} {link}"


def _fill(template: Any, values: dict[str, str]) -> Any:
    """The gateway body's template with the values put into its strings (JSON-safe: filled after parsing)."""
    if isinstance(template, str):
        out = template
        for name, value in values.items():
            out = out.replace("{" + name + "}", value)
        return out
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def sms_body(settings: Settings, mobile: str, msg: Message) -> bytes:
    try:
        template = json.loads(settings.sms_gateway_body)
    except ValueError as exc:
        raise RuntimeError(f"MATCHER_SMS_GATEWAY_BODY is not JSON: {exc}") from exc
    body = _fill(template, {"mobile": mobile, "text": sms_text(settings, msg), "id": msg.key})
    return json.dumps(body, ensure_ascii=False).encode()


def send_sms(settings: Settings, mobile: str, msg: Message) -> None:
    """POST the message to the configured gateway (the form most Chinese SMS providers take); a 2xx is
    success. The delivery's key goes in ``{id}`` and the ``Idempotency-Key`` header so a provider that
    de-duplicates drops a repeat after a crash."""
    if not settings.sms_gateway_url:
        raise RuntimeError("no SMS gateway configured (MATCHER_SMS_GATEWAY_URL)")
    headers = {"Idempotency-Key": msg.key}
    if settings.sms_gateway_token:
        headers[settings.sms_gateway_auth_header] = settings.sms_gateway_token
    post_json(settings.sms_gateway_url, sms_body(settings, mobile, msg), headers)


def _send_email(settings: Settings, n: Notification, msg: Message, s: Session) -> None:
    send_email(settings, n.target, msg)


def _send_sms(settings: Settings, n: Notification, msg: Message, s: Session) -> None:
    send_sms(settings, n.target, msg)


def _send_webhook(settings: Settings, n: Notification, msg: Message, s: Session) -> None:
    hook = s.get(Webhook, int(n.target))
    if hook is None or not hook.active:
        raise RuntimeError("the webhook was removed or disabled")
    send_webhook(settings, hook, msg)


@dataclass(frozen=True)
class Channel:
    """One way out. ``address``: where a user is reached (personal channels, under the user's preferences);
    None for a channel addressed otherwise (an office's webhooks). ``digestible``: may be held for the daily
    digest. A new channel is one entry in ``CHANNELS``."""

    name: str
    label: str
    send: Callable[[Settings, Notification, Message, Session], None]
    address: Callable[[User], str] | None = None
    default_on: bool = True
    digestible: bool = False


CHANNELS: dict[str, Channel] = {c.name: c for c in (
    Channel("email", "电子邮件", _send_email, address=lambda u: u.email, default_on=True, digestible=True),
    Channel("sms", "短信", _send_sms, address=lambda u: u.mobile, default_on=False),
    Channel("webhook", "Webhook", _send_webhook),
)}


def personal_channels() -> list[Channel]:
    return [c for c in CHANNELS.values() if c.address is not None]


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


def _claim(db: Database, nid: int, now: datetime, worker: str) -> list[int]:
    """Claim one due delivery (a compare-and-set with a lease); for a digest row, also every other digest
    row due for the same channel and address, claimed the same way. The ids won (none: another worker's)."""
    until = now + LEASE
    claim = {"status": SENDING, "claimed_by": worker, "claimed_until": until, "attempts": Notification.attempts + 1}
    with db.session() as s:
        won = s.execute(update(Notification).where(Notification.id == nid, _due(now)).values(**claim)
                        .execution_options(synchronize_session=False))
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return []
        n = s.get(Notification, nid)
        if n is None or not n.digest:
            return [nid]
        same = [Notification.digest.is_(True), Notification.channel == n.channel, Notification.target == n.target]
        s.execute(update(Notification).where(Notification.id != nid, _due(now), *same).values(**claim)
                  .execution_options(synchronize_session=False))
        return list(s.scalars(select(Notification.id).where(
            *same, Notification.status == SENDING, Notification.claimed_by == worker,
            Notification.claimed_until == until).order_by(Notification.id)))


def _digest(rows: list[Notification], found: dict[int, InboxItem]) -> Message:
    """One message for a digest's rows; its key names exactly these rows, so a resend of the same digest
    carries the same id and a digest with another item added is a new message."""
    items = [found[n.item_id] for n in rows]
    key = f"digest:{rows[0].channel}:{rows[0].user_id or 0}:{rows[0].id}-{rows[-1].id}-{len(rows)}"
    return Message(key=key, kind="digest", kind_label="每日摘要", title=f"您有{len(items)}条新通知",
                   link="/console/inbox", entity="digest", entity_id=str(rows[0].id),
                   created_at=datetime.now(UTC).isoformat(), lines=tuple((i.title, i.link) for i in items))


def deliver_due(db: Database, settings: Settings, now: datetime | None = None, limit: int = 50,
                worker: str = WORKER_ID, sender: Sender | None = None) -> Outcome:
    """Claim and send the due deliveries (``worker`` names the claimant; each process has its own)."""
    now = now or datetime.now(UTC)
    send = sender or _send
    with db.session() as s:
        ids = list(s.scalars(select(Notification.id).where(_due(now)).order_by(Notification.id).limit(limit)))
    sent = failed = dead = 0
    for nid in ids:
        group = _claim(db, nid, now, worker)
        if not group:
            continue  # another worker has it
        with db.session() as s:
            rows = list(s.scalars(select(Notification).where(Notification.id.in_(group)).order_by(Notification.id)))
            found = {i.id: i for i in s.scalars(select(InboxItem).where(
                InboxItem.id.in_([n.item_id for n in rows])))}
            rows = [n for n in rows if n.item_id in found]
            if not rows:
                continue
            first = rows[0]
            msg = _digest(rows, found) if first.digest else _message(found[first.item_id], first.key)
            attempts = max(n.attempts for n in rows)
            quiet = None
            if first.user_id is not None and (u := s.get(User, first.user_id)) is not None:
                quiet = Prefs.of(u).quiet
            s.expunge_all()
        error = ""
        try:
            with db.session() as s:
                send(settings, first, msg, s)
        except Exception as exc:  # a channel's failure is recorded, never raised into the sweep
            error = f"{type(exc).__name__}: {exc}"[:2000]
        ours = [n.id for n in rows]
        with db.session() as s:
            mine = [Notification.id.in_(ours), Notification.claimed_by == worker, Notification.status == SENDING]
            if not error:
                s.execute(update(Notification).where(*mine).values(status=SENT, sent_at=datetime.now(UTC),
                                                                   last_error="")
                          .execution_options(synchronize_session=False))
                if first.channel == "webhook":
                    s.execute(update(Webhook).where(Webhook.id == int(first.target)).values(failures=0))
                sent += len(ours)
                continue
            give_up = attempts >= settings.notify_max_attempts
            retry = now + timedelta(seconds=settings.notify_backoff_seconds * (2 ** (attempts - 1)))
            values: dict[str, Any] = {"status": DEAD if give_up else PENDING, "last_error": error,
                                      "next_attempt_at": quiet.release(retry) if quiet is not None else retry}
            s.execute(update(Notification).where(*mine).values(**values)
                      .execution_options(synchronize_session=False))
            if first.channel == "webhook":
                hook = s.get(Webhook, int(first.target))
                if hook is not None:
                    hook.failures += 1
                    if hook.failures >= settings.notify_max_attempts and hook.active:
                        hook.active = False
                        hook.disabled_reason = f"连续 {hook.failures} 次投递失败，已停用：{error}"[:2000]
            dead += len(ours) if give_up else 0
            failed += 0 if give_up else len(ours)
            log.warning("delivery %s over %s failed (attempt %d): %s", msg.key, first.channel, attempts, error)
    return Outcome(sent, failed, dead)


def _send(settings: Settings, n: Notification, msg: Message, s: Session) -> None:
    channel = CHANNELS.get(n.channel)
    if channel is None:
        raise RuntimeError(f"unknown channel '{n.channel}'")
    channel.send(settings, n, msg, s)
