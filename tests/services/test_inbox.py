"""The inbox and its notifications at the service level, against a real SMTP server (aiosmtpd) and a real
HTTP receiver on loopback: to-dos opened and closed by the workflow's own events and only for committed
changes; e-mail once per delivery id, also with two workers; a signed webhook retried after a 500 and
delivered once; preferences, unsubscribing and the webhook address checks."""

from __future__ import annotations

import email
import json
import threading
from collections.abc import Iterator
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as Signer

from matcher.errors import Invalid
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.services.engagements import agreements
from matcher.services.inbox import delivery, items, preferences
from matcher.storage.models import InboxItem, Notification, User
from tests.services.test_review_steps import TAIYUAN, decide, submitted

PROVINCE = "140000"


# ------------------------------------------------------------------ real receivers
class Mailbox:
    """aiosmtpd's handler: every message the test SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp(free_tcp_port: int) -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_tcp_port)
    controller.start()
    try:
        yield box, free_tcp_port
    finally:
        controller.stop()


class Receiver(BaseHTTPRequestHandler):
    """Answers the first ``fail_first`` POSTs with a 500, the rest with 204; keeps every request."""

    received: ClassVar[list[tuple[dict[str, str], bytes, int]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 500 if len(self.received) < self.fail_first else 204
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[tuple[type[Receiver], str]]:
    handler = type("Hook", (Receiver,), {"received": [], "fail_first": 1})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/hooks/oa"
    finally:
        server.shutdown()


def official(db: Any, office: str | None, mail: str = "", name: str = "") -> Actor:
    with db.session() as s:
        u = User(username=name or f"off-{office}-{mail}-{id(db)}", role="official", office_code=office, email=mail,
                 token_hash=f"{office}{mail}{id(db)}".ljust(64, "0")[:64])
        s.add(u)
        s.flush()
        return Actor(u.id, "official", office_code=office)


def open_items(db: Any, actor: Actor) -> list[tuple[str, str]]:
    found, _ = items.list_items(db, actor, state="open")
    return sorted((i.kind, i.entity_id) for i in found)


# ------------------------------------------------------------------ to-dos follow the workflow
def test_review_steps_and_agreement_confirmations_open_and_close_to_dos(db) -> None:  # type: ignore[no-untyped-def]
    city, province = official(db, TAIYUAN), official(db, None)
    mid, agent = submitted(db, "tech_vp")  # 科技副总: the city's 初审, then the province's 终审
    assert open_items(db, city) == [("review", str(mid))] and open_items(db, province) == []
    assert items.unread_count(db, city) == 1
    decide(db, "taiyuan", mid, "recommend")
    assert open_items(db, city) == [] and open_items(db, province) == [("review", str(mid))]
    decide(db, "province", mid, "reject", "补充驻企计划")
    assert open_items(db, province) == [] and open_items(db, agent) == [("revise", str(mid))]
    from matcher.services.workflow import matches as match_svc
    match_svc.submit(db, agent, mid, "补充后的驻企计划：每月驻企8天")
    assert open_items(db, agent) == [] and open_items(db, city) == [("review", str(mid))]
    decide(db, "taiyuan", mid, "recommend")
    decide(db, "province", mid, "approve")
    e = agreements.engagement_of_match(db, province, mid)
    with db.session() as s:
        from matcher.storage.models import Demand, Match
        enterprise = Actor(None, "enterprise", enterprise_id=s.get(Demand, s.get(Match, mid).demand_id).enterprise_id)
    # each party is asked to confirm; the talent has no account, so the grading office (the province) is
    assert open_items(db, enterprise) == [("confirm_agreement", str(e.id))]
    assert open_items(db, agent) == [("confirm_agreement", str(e.id))]
    assert open_items(db, province) == [("confirm_agreement", str(e.id))]
    assert e.agreement is not None
    agreements.confirm(db, enterprise, e.id, e.agreement.pdf_sha256)
    assert open_items(db, enterprise) == [] and open_items(db, agent) == [("confirm_agreement", str(e.id))]
    # a new version asks everyone again
    changed = agreements.change_terms(db, agent, e.id, {"days_on_site_per_month": 6}, "企业调整驻企天数")
    assert open_items(db, enterprise) == [("confirm_agreement", str(e.id))]
    assert changed.agreement is not None and changed.agreement.version == 2
    item = items.list_items(db, enterprise)[0][0]
    assert items.mark_read(db, enterprise, item.id).read_at and items.unread_count(db, enterprise) == 0
    with pytest.raises(Exception, match="not found"):
        items.mark_read(db, agent.__class__(None, "enterprise", enterprise_id=-5), item.id)


def test_a_change_rolled_back_leaves_no_to_do(db) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "flexible")
    before = db.session
    with pytest.raises(RuntimeError), before() as s:
        record(s, action="recommend", entity="match", entity_id=mid, actor_role="official")
        assert s.scalar(select(InboxItem).where(InboxItem.kind == "review", InboxItem.closed_at.is_not(None))) \
            is not None  # closed inside the transaction …
        raise RuntimeError("the change fails after its event was recorded")
    with db.session() as s:  # … and open again once it rolled back
        assert s.scalar(select(InboxItem).where(InboxItem.entity_id == str(mid), InboxItem.closed_at.is_(None)))


# ------------------------------------------------------------------ e-mail
def test_a_submission_mails_the_office_once(db, settings, smtp) -> None:  # type: ignore[no-untyped-def]
    box, port = smtp
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port,
                                      "public_url": "https://rc.example.gov.cn"})
    official(db, TAIYUAN, "shenhe@taiyuan.example.gov.cn")
    official(db, TAIYUAN)  # no address: in the inbox only
    mid, _ = submitted(db, "flexible")
    assert delivery.deliver_due(db, cfg).sent == 1
    assert delivery.deliver_due(db, cfg).sent == 0  # nothing twice
    [msg] = box.messages
    assert msg["To"] == "shenhe@taiyuan.example.gov.cn" and "待审核" in msg["Subject"]
    with db.session() as s:
        key = s.scalar(select(Notification.key).where(Notification.channel == "email"))
    assert msg["Message-ID"] == delivery.message_id(key)
    text = msg.get_content()
    assert f"https://rc.example.gov.cn/console/matches/{mid}" in text and "mute=review" in text


def test_two_workers_send_each_mail_once_and_preferences_hold(db, settings, smtp) -> None:  # type: ignore[no-untyped-def]
    box, port = smtp
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    reader = official(db, TAIYUAN, "a@taiyuan.example.gov.cn")
    muted = official(db, TAIYUAN, "b@taiyuan.example.gov.cn")
    preferences.set_prefs(db, muted, muted=["review"])
    with pytest.raises(Invalid) as bad:
        preferences.set_prefs(db, reader, email="不是邮箱")
    assert bad.value.field == "email"
    for _ in range(6):
        submitted(db, "flexible")
    outcomes: list[delivery.Outcome] = []
    workers = [threading.Thread(target=lambda w=w: outcomes.append(delivery.deliver_due(db, cfg, worker=w)))
               for w in ("worker-a", "worker-b")]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    ids = [m["Message-ID"] for m in box.messages]
    assert len(ids) == 6 == len(set(ids)) == sum(o.sent for o in outcomes)
    assert {m["To"] for m in box.messages} == {"a@taiyuan.example.gov.cn"}  # b unsubscribed from 待审核


def test_a_failed_mail_is_retried_with_the_same_id(db, settings, smtp) -> None:  # type: ignore[no-untyped-def]
    box, port = smtp
    official(db, TAIYUAN, "c@taiyuan.example.gov.cn")
    submitted(db, "flexible")
    down = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1, "notify_backoff_seconds": 0})
    assert delivery.deliver_due(db, down).failed == 1 and not box.messages
    up = down.model_copy(update={"smtp_port": port})
    assert delivery.deliver_due(db, up).sent == 1
    with db.session() as s:
        n = s.scalar(select(Notification))
        assert (n.status, n.attempts) == ("sent", 2) and box.messages[0]["Message-ID"] == delivery.message_id(n.key)


# ------------------------------------------------------------------ webhooks
def test_a_webhook_is_signed_retried_after_a_500_and_delivered_once(db, settings, receiver) -> None:  # type: ignore[no-untyped-def]
    handler, url = receiver
    cfg = settings.model_copy(update={"webhook_allow_http": True, "webhook_allow_private": True,
                                      "notify_backoff_seconds": 0})
    city = official(db, TAIYUAN)
    hook = preferences.register_webhook(db, cfg, city, url)
    assert hook.secret and hook.secret.startswith("whsec_") and hook.office_code == TAIYUAN
    assert preferences.list_webhooks(db, city)[0].secret is None  # shown once
    mid, _ = submitted(db, "flexible")
    assert delivery.deliver_due(db, cfg).failed == 1  # the receiver answered 500
    assert delivery.deliver_due(db, cfg).sent == 1
    assert delivery.deliver_due(db, cfg).sent == 0
    assert [status for _, _, status in handler.received] == [500, 204]
    (first, _, _), (headers, body, _) = handler.received
    assert first["webhook-id"] == headers["webhook-id"]  # the same delivery id: a receiver can drop a repeat
    payload = Signer(hook.secret).verify(body, headers)
    assert payload["type"] == "inbox.review" and payload["data"]["entity_id"] == str(mid)
    with pytest.raises(Exception):  # noqa: B017 (the library's own error type)
        Signer(delivery.new_secret()).verify(body, headers)


@pytest.mark.parametrize(("url", "update", "field_text"), [
    ("http://oa.example.gov.cn/hook", {}, "https"),
    ("https://169.254.169.254/latest/meta-data", {"webhook_allow_private": True}, "link-local"),
    ("https://127.0.0.1/hook", {}, "private or loopback"),
    ("https://oa.example.gov.cn/hook", {"webhook_allow_hosts": "oa.shanxi.gov.cn"}, "allow-list"),
])
def test_webhook_addresses_are_checked(db, settings, url, update, field_text) -> None:  # type: ignore[no-untyped-def]
    cfg = settings.model_copy(update=update)
    with pytest.raises(Invalid, match=field_text) as bad:
        preferences.register_webhook(db, cfg, official(db, None), url)
    assert bad.value.field == "url"


def test_only_offices_register_webhooks_and_only_their_own(db, settings) -> None:  # type: ignore[no-untyped-def]
    cfg = settings.model_copy(update={"webhook_allow_private": True, "webhook_allow_http": True})
    with pytest.raises(Exception, match="role"):
        preferences.register_webhook(db, cfg, Actor(None, "enterprise", enterprise_id=1), "http://127.0.0.1/x")
    with pytest.raises(Exception, match="own office"):
        preferences.register_webhook(db, cfg, official(db, TAIYUAN), "http://127.0.0.1/x", office_code=PROVINCE)
    note = delivery.Message("k", "review", "待审核", "待审核：x", "/l", "match", "1", "t")
    assert json.loads(delivery.webhook_body("wecom", note, "https://h"))["msgtype"] == "markdown"


def test_a_withdrawn_demand_closes_the_to_dos_about_its_matches(db) -> None:  # type: ignore[no-untyped-def]
    """Seam inbox × withdrawal: the office is not left a review of a demand the enterprise withdrew."""
    from matcher.services.workflow import demands as demand_svc
    from matcher.storage.models import Demand, Match
    city = official(db, TAIYUAN)
    mid, _ = submitted(db, "flexible")
    assert open_items(db, city) == [("review", str(mid))]
    with db.session() as s:
        d = s.get(Demand, s.get(Match, mid).demand_id)
        enterprise = Actor(None, "enterprise", enterprise_id=d.enterprise_id)
        did = d.id
    demand_svc.withdraw(db, enterprise, did)
    assert open_items(db, city) == []
    closed, _ = items.list_items(db, city, state="closed")
    assert [(i.entity_id, i.closed_by_action) for i in closed] == [(str(mid), "withdraw")]
