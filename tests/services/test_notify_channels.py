"""The personal channels beyond a plain e-mail, against real receivers: SMS through an HTTP gateway on
loopback (the JSON body filled from the template, the credential header, the stable request id on a
retry), the daily digest (one e-mail for a day's items, once, also with two workers), quiet hours (held,
then sent), the settings' validation, and the talent told when their contact data is given to someone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from matcher.domain.notify import LOCAL
from matcher.errors import Invalid
from matcher.services.access import Actor, talent_views
from matcher.services.inbox import delivery, items, preferences
from matcher.storage.models import InboxItem, Match, Notification, Talent, User
from tests.services.test_inbox import Mailbox, Receiver, smtp  # noqa: F401 (the fixture)
from tests.services.test_review_steps import TAIYUAN, decide, submitted


def account(db: Any, role: str = "official", office: str | None = TAIYUAN, **kw: Any) -> Actor:
    with db.session() as s:
        u = User(username=f"u-{role}-{len(kw)}-{id(kw)}", role=role, office_code=office,
                 token_hash=f"{id(kw)}".ljust(64, "0")[:64], **kw)
        s.add(u)
        s.flush()
        return Actor(u.id, role, office_code=office, talent_id=kw.get("talent_id"))


@pytest.fixture
def gateway() -> Iterator[tuple[type[Receiver], str]]:
    handler = type("Sms", (Receiver,), {"received": [], "fail_first": 1})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    finally:
        server.shutdown()


# ------------------------------------------------------------------ SMS
def test_an_sms_goes_through_the_gateway_and_a_retry_keeps_its_id(db, settings, gateway) -> None:  # type: ignore[no-untyped-def]
    handler, url = gateway
    cfg = settings.model_copy(update={"sms_gateway_url": url, "sms_gateway_token": "APPCODE abc123",
                                      "notify_backoff_seconds": 0, "public_url": "https://rc.example.gov.cn"})
    who = account(db)
    preferences.set_prefs(db, who, mobile="13912345678", sms_enabled=True, email_enabled=False)
    mid, _ = submitted(db, "flexible")
    assert delivery.deliver_due(db, cfg).failed == 1  # the gateway answered 500
    assert delivery.deliver_due(db, cfg).sent == 1
    assert delivery.deliver_due(db, cfg).sent == 0
    (_, first_body, _), (headers, body, status) = handler.received
    assert status == 204 and headers["authorization"] == "APPCODE abc123"
    sent, again = json.loads(body), json.loads(first_body)
    assert sent["mobile"] == "13912345678" and sent["request_id"] == again["request_id"] == headers["idempotency-key"]
    assert sent["content"].startswith("【产业人才对接平台】待审核：")
    assert sent["content"].endswith(f"https://rc.example.gov.cn/console/matches/{mid}")
    with db.session() as s:
        assert set(s.scalars(select(Notification.channel))) == {"sms"}  # e-mail off, no address anyway


def test_sms_is_off_until_chosen_and_needs_a_number(db) -> None:  # type: ignore[no-untyped-def]
    who = account(db, email="a@taiyuan.example.gov.cn", mobile="13912345678")
    assert preferences.get_prefs(db, who)["sms_enabled"] is False
    submitted(db, "flexible")
    with db.session() as s:
        assert list(s.scalars(select(Notification.channel))) == ["email"]
    bare = account(db, email="b@taiyuan.example.gov.cn")
    with pytest.raises(Invalid) as bad:
        preferences.set_prefs(db, bare, sms_enabled=True)
    assert bad.value.field == "mobile"


def test_a_gateway_body_that_is_not_json_fails_the_delivery_not_the_sweep(db, settings, gateway) -> None:  # type: ignore[no-untyped-def]
    handler, url = gateway
    cfg = settings.model_copy(update={"sms_gateway_url": url, "sms_gateway_body": "{mobile}"})
    preferences.set_prefs(db, account(db), mobile="13912345678", sms_enabled=True)
    submitted(db, "flexible")
    assert delivery.deliver_due(db, cfg).failed == 1 and not handler.received
    with db.session() as s:
        assert "not JSON" in s.scalar(select(Notification.last_error))


# ------------------------------------------------------------------ digest and quiet hours
def test_a_digest_sends_a_days_items_as_one_mail_once(db, settings, smtp) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    box, port = smtp
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    who = account(db, email="digest@taiyuan.example.gov.cn")
    account(db, email="now@taiyuan.example.gov.cn")  # the same items, at once
    preferences.set_prefs(db, who, digest=True, digest_hour=8)
    mids = [submitted(db, "flexible")[0] for _ in range(3)]
    now = datetime.now(UTC)
    assert delivery.deliver_due(db, cfg, now=now).sent == 3  # the other official's three, at once
    assert {m["To"] for m in box.messages} == {"now@taiyuan.example.gov.cn"}
    with db.session() as s:
        held = list(s.scalars(select(Notification).where(Notification.digest.is_(True))))
    assert len(held) == 3 and all(n.status == "pending" for n in held)
    due = max(n.next_attempt_at if n.next_attempt_at.tzinfo else n.next_attempt_at.replace(tzinfo=UTC)
              for n in held)
    assert due.astimezone(LOCAL).hour == 8 and due > now
    later = due + timedelta(minutes=1)
    outcomes: list[delivery.Outcome] = []
    workers = [threading.Thread(target=lambda w=w: outcomes.append(delivery.deliver_due(db, cfg, now=later, worker=w)))
               for w in ("worker-a", "worker-b")]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert delivery.deliver_due(db, cfg, now=later + timedelta(days=1)).sent == 0
    digests = [m for m in box.messages if m["To"] == "digest@taiyuan.example.gov.cn"]
    assert len(digests) == 1 and sum(o.sent for o in outcomes) == 3
    assert "3条新通知" in str(digests[0]["Subject"])
    text = digests[0].get_content()
    assert all(f"/console/matches/{mid}" in text for mid in mids)


def test_quiet_hours_hold_a_mail_until_they_end(db, settings, smtp) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    box, port = smtp
    cfg = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    who = account(db, email="night@taiyuan.example.gov.cn")
    clock = datetime.now(UTC).astimezone(LOCAL)
    start, end = clock - timedelta(hours=1), clock + timedelta(hours=1)
    quiet = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    assert preferences.set_prefs(db, who, quiet_hours=quiet)["quiet_hours"] == quiet
    submitted(db, "flexible")
    assert delivery.deliver_due(db, cfg).sent == 0 and not box.messages
    after = end.replace(second=0, microsecond=0).astimezone(UTC) + timedelta(minutes=1)
    assert delivery.deliver_due(db, cfg, now=after).sent == 1
    assert [m["To"] for m in box.messages] == ["night@taiyuan.example.gov.cn"]
    assert preferences.set_prefs(db, who, quiet_hours=None)["quiet_hours"] is None
    assert preferences.set_prefs(db, who, digest=True)["quiet_hours"] is None  # "keep" leaves them


@pytest.mark.parametrize(("kw", "field"), [
    ({"quiet_hours": {"start": "23:61", "end": "07:00"}}, "quiet_hours.start"),
    ({"quiet_hours": {"start": "23:00"}}, "quiet_hours.end"),
    ({"digest_hour": 24}, "digest_hour"),
    ({"muted": ["nonsense"]}, "muted"),
    ({"mobile": "12345"}, "mobile"),
])
def test_bad_settings_name_the_field(db, kw, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as bad:
        preferences.set_prefs(db, account(db), **kw)
    assert bad.value.field == field


# ------------------------------------------------------------------ the talent hears of their contact data
def test_a_talent_is_told_when_their_contact_data_is_given_once_per_recipient(db) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "flexible")
    with db.session() as s:
        m = s.get(Match, mid)
        t = s.get(Talent, m.talent_id)
        t.consent_propose = t.consent_contact = "granted"
        tid = t.id
    me = account(db, role="talent", office=None, talent_id=tid)
    decide(db, "taiyuan", mid, "approve")
    found, _ = items.list_items(db, me)
    assert sorted(i.kind for i in found) == ["approved", "confirm_agreement", "contact_shared"]
    from matcher.storage.models import Demand
    with db.session() as s:
        m = s.get(Match, mid)
        enterprise = Actor(None, "enterprise", enterprise_id=s.get(Demand, m.demand_id).enterprise_id, name="企业甲")
    for _ in range(3):  # the enterprise opens the talent's page three times: one notice
        with db.session() as s:
            assert not talent_views(s, enterprise, [s.get(Talent, tid)])[tid].contact_masked
    with db.session() as s:
        shared = list(s.scalars(select(InboxItem.title).where(InboxItem.kind == "contact_shared")))
    assert len(shared) == 2 and any("企业甲查看了您的联系方式" in x for x in shared)


def test_a_talent_who_did_not_consent_to_be_proposed_hears_nothing(db) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "flexible")
    with db.session() as s:
        t = s.get(Talent, s.get(Match, mid).talent_id)
        t.consent_contact = "granted"  # contact yes, proposing not answered
        tid = t.id
    me = account(db, role="talent", office=None, talent_id=tid)
    decide(db, "taiyuan", mid, "approve")
    assert items.list_items(db, me)[0] == []
