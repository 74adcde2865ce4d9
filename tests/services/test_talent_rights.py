"""Talents as users, at the service level (no HTTP, no model): invitations, their own record and its
corrections, consent and what follows from it, the download, the access log, answers, withdrawal."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, update

from matcher.domain.privacy import PSEUDONYM, consent_version
from matcher.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from matcher.services.access import Actor, authenticate, proposable_filter, talent_view
from matcher.services.people import invitations, me
from matcher.services.pool.facts import demand_facts, pool_facts
from matcher.services.workflow import matches as match_svc
from matcher.storage.models import AuditEvent, Consent, DecisionEvent, Invitation, Match, Talent
from tests.services import factories as f


def _talent_actor(t: Talent) -> Actor:
    return Actor(None, "talent", talent_id=t.id, name=t.name)


def test_an_invitation_signs_the_talent_in_once(db) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        tid = f.talent(s).id
    with pytest.raises(Forbidden):
        invitations.invite(db, w.actors["enterprise"], tid)
    inv = invitations.invite(db, w.actors["official"], tid)
    token = invitations.accept(db, inv.code)
    with db.session() as s:
        who = authenticate(s, token)
        assert who.role == "talent" and who.talent_id == tid
        assert s.scalar(select(Invitation.used_at).where(Invitation.talent_id == tid)) is not None
    with pytest.raises(Unauthorized):
        invitations.accept(db, inv.code)  # once only
    with pytest.raises(Unauthorized):
        invitations.accept(db, "inv_not-a-real-code")
    late = invitations.invite(db, w.actors["official"], tid)
    with db.session() as s:
        s.execute(update(Invitation).where(Invitation.used_at.is_(None))
                  .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    with pytest.raises(Unauthorized):
        invitations.accept(db, late.code)
    # A second invitation, redeemed, gives the same account a new token; the old one stops working.
    again = invitations.accept(db, invitations.invite(db, w.actors["official"], tid).code)
    with db.session() as s:
        assert authenticate(s, again).talent_id == tid
        with pytest.raises(Unauthorized):
            authenticate(s, token)


def test_the_talent_reads_and_corrects_their_record_and_the_audit_keeps_no_contact_values(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        t = f.talent(s)
    who = _talent_actor(t)
    rec = me.get_record(db, who)
    assert rec.talent.phone == "13812345678" and not rec.talent.contact_masked  # their own data, unmasked
    assert [c.state for c in rec.consents] == ["pending", "pending"] and rec.in_pool
    rec = me.update(db, None, who, {"profile": "长期从事煤气化灰渣黏温特性研究与气化炉长周期运行",
                                    "phone": "13900001111", "research_fields": ["煤气化", "灰熔融性"],
                                    "available_until": date(2027, 6, 30)})
    assert rec.talent.phone == "13900001111" and rec.talent.available_until == "2027-06-30"
    with pytest.raises(Invalid) as err:
        me.update(db, None, who, {"name": "李雷"})  # name and title are the office's to correct
    assert err.value.field == "name"
    with pytest.raises(Invalid) as err:
        me.update(db, None, who, {"available_from": date(2027, 7, 1)})  # after available_until
    assert err.value.field == "available_until"
    with pytest.raises(Invalid):
        me.update(db, None, who, {"mode_capacity": {"chairman": 1}})
    with db.session() as s:
        edits = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "talent_edit")))
        assert len(edits) == 1
        dumped = json.dumps([e.before for e in edits] + [e.after for e in edits], ensure_ascii=False)
        # which fields changed, never their personal values (withdrawal must not leave copies behind)
        assert {"profile", "phone", "research_fields", "available_until"} <= set(edits[0].after or {})
        assert "13900001111" not in dumped and "13812345678" not in dumped and "煤气化" not in dumped
    with pytest.raises(Forbidden):
        me.get_record(db, Actor(None, "official"))


def test_consent_is_recorded_with_its_version_and_decides_who_is_in_the_pool(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        t = f.talent(s)
    who = _talent_actor(t)
    with db.session() as s:
        live, gone = pool_facts(s, [t.id])
        assert t.id in live and not gone  # pending consent: proposed under the demo's default
        strict = select(Talent.id).where(Talent.id == t.id, proposable_filter(propose_pending=False))
        assert s.scalar(strict) is None  # … and by nobody who proposes only those who said yes
    rec = me.set_consent(db, None, who, "propose", False)
    assert rec.consents[0].state == "withdrawn" and not rec.in_pool
    with db.session() as s:
        live, gone = pool_facts(s, [t.id])
        assert gone == {t.id}  # taken out of the pool
    rec = me.set_consent(db, None, who, "propose", True)
    assert rec.in_pool and rec.consents[0].text_version == consent_version()
    with db.session() as s:
        assert s.scalar(select(Talent.id).where(Talent.id == t.id, proposable_filter(propose_pending=False)))
        rows = list(s.scalars(select(Consent).where(Consent.talent_id == t.id).order_by(Consent.id)))
        assert [(c.purpose, c.granted) for c in rows] == [("propose", False), ("propose", True)]
    with pytest.raises(Invalid):
        me.set_consent(db, None, who, "marketing", True)


def test_the_download_holds_every_field_and_the_history(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, tie_detail="籍贯太原")
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        f.match(s, d, t)
    who = _talent_actor(t)
    me.set_consent(db, None, who, "contact", True)
    data = me.export_data(db, who).model_dump()
    assert set(data["talent"]) == {c.name for c in Talent.__table__.columns}
    assert data["talent"]["phone"] == "13812345678" and data["talent"]["tie_detail"] == "籍贯太原"
    assert data["consents"][0]["purpose"] == "contact" and data["consents"][0]["text_version"] == consent_version()
    assert data["proposals"][0]["demand_title"] == "焦炉煤气精脱硫"
    assert {"consent", "self_export"} <= {e["action"] for e in data["audit"]}
    path = tmp_path / "mine.xlsx"
    me.export_xlsx(db, who, path)
    sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    assert set(sheets) == {"talent", "consents", "consent_texts", "invitations", "proposals", "access_log", "audit",
                           "relations"}
    assert set(sheets["talent"]["field"]) == set(data["talent"])
    with db.session() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "self_export")) is not None


def test_contact_release_and_views_are_logged_for_the_talent(db) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, consent_contact="granted")
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id, title="气化炉渣口堵渣")
        m = f.match(s, d, t, status="submitted")
    match_svc.review(db, None, w.actors["official"], m.id, "approve", "方向吻合")
    with db.session() as s:
        view = talent_view(s, w.actors["enterprise"], s.get(Talent, t.id))
        assert not view.contact_masked
        assert talent_view(s, w.actors["other_enterprise"], s.get(Talent, t.id)).contact_masked
    log = me.access_log(db, _talent_actor(t))
    assert [e.action for e in log] == ["viewed", "released"]  # newest first
    assert all(e.demand_id == d.id and e.demand_title == "气化炉渣口堵渣" for e in log)
    assert log[0].actor_role == "enterprise" and log[1].actor_role == "official"


def test_the_talent_answers_and_the_intermediary_sees_it(db) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        t, other = f.talent(s), f.talent(s, name="李雷")
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        m = f.match(s, d, t)
        m_other = f.match(s, d, other)
    who = _talent_actor(t)
    # The intermediary could not reach them (recorded as a decision: graded for learning) …
    match_svc.record_contact(db, w.actors["intermediary"], m.id, "电话无人接听", "no_answer")
    with db.session() as s:
        assert s.scalar(select(DecisionEvent.kind).where(DecisionEvent.talent_id == t.id)) == "contact_no_answer"
    # … and the talent answers on the platform instead.
    mine = me.proposals(db, who)
    assert [p.match_id for p in mine] == [m.id] and mine[0].can_answer
    with pytest.raises(NotFound):
        me.answer(db, who, m_other.id, "accepted")  # someone else's proposal
    out = me.answer(db, who, m.id, "declined", "今年工作安排已满")
    assert out.answer == "declined" and out.answered_by == "talent" and not out.can_answer
    with pytest.raises(Conflict):
        me.answer(db, who, m.id, "accepted")
    seen = match_svc.get_match(db, w.actors["intermediary"], m.id)
    assert seen.contact_log["answer"] == "declined" and seen.contact_log["answered_by"] == "talent"
    assert any("今年工作安排已满" in a["note"] for a in seen.contact_log["attempts"])
    with db.session() as s:
        assert t.id in demand_facts(s, s.get(type(d), d.id)).declined_talent_ids  # not proposed there again
        kinds = list(s.scalars(select(DecisionEvent.kind).where(DecisionEvent.talent_id == t.id)
                               .order_by(DecisionEvent.id)))
        assert kinds == ["contact_no_answer", "contact_declined"]
    with pytest.raises(Conflict):
        match_svc.submit(db, w.actors["intermediary"], m.id, "每月驻企服务四天")


def test_withdrawal_erases_contacts_pseudonymises_and_keeps_the_decisions(db) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, consent_contact="granted", consent_propose="granted", tie_detail="籍贯太原")
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        m = f.match(s, d, t, status="submitted")
    who = _talent_actor(t)
    rec = me.withdraw(db, None, who)
    assert rec.withdrawn and not rec.in_pool and rec.talent.name == PSEUDONYM.format(id=t.id)
    assert rec.talent.phone == "" and rec.talent.email == "" and rec.talent.tie_detail == ""
    assert [c.state for c in rec.consents] == ["withdrawn", "withdrawn"]
    with db.session() as s:
        assert s.get(Match, m.id) is not None  # past decisions stay, under the id
        assert pool_facts(s, [t.id])[1] == {t.id}
    with pytest.raises(Conflict):
        match_svc.review(db, None, w.actors["official"], m.id, "approve", "")
    with pytest.raises(Conflict):
        me.update(db, None, who, {"profile": "重新填写的简介内容足够长"})
    with pytest.raises(Conflict):
        me.withdraw(db, None, who)
    with pytest.raises(Conflict):
        invitations.invite(db, w.actors["official"], t.id)
    with db.session() as s:
        dumped = json.dumps([(e.before, e.after) for e in s.scalars(select(AuditEvent))], ensure_ascii=False)
        assert "13812345678" not in dumped and "wang@example.com" not in dumped


def test_withdrawal_deletes_the_declared_relations(db) -> None:  # type: ignore[no-untyped-def]
    """Where a family member works is personal data: a withdrawal deletes the talent's declared relations,
    and the audit trail keeps the declaration's ids without the person's strings."""
    from matcher.services.people import conflicts
    from matcher.services.people.conflicts import RelationSpec
    from matcher.storage.models import Relation

    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, name="赵明远", consent_propose="granted")
    who = _talent_actor(t)
    conflicts.declare_mine(db, who, RelationSpec("family", enterprise_id=w.ent.id, note="赵明远的妻子在该企业任会计"))
    assert len(conflicts.list_mine(db, who)) == 1
    exported = me.export_data(db, who).relations  # "everything held" holds it
    assert [(r["kind"], r["note"]) for r in exported] == [("family", "赵明远的妻子在该企业任会计")]
    me.withdraw(db, None, who)
    with db.session() as s:
        assert s.scalar(select(Relation.id).where(Relation.subject_kind == "talent",
                                                  Relation.subject_id == t.id)) is None
        dumped = json.dumps([(e.before, e.after) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.entity == "relation"))], ensure_ascii=False)
        assert dumped != "[]" and "赵明远" not in dumped


def test_a_merge_moves_the_declared_relations_to_the_kept_record(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.people import conflicts, duplicates
    from matcher.services.people.conflicts import RelationSpec
    from matcher.storage.models import DuplicatePair

    w = f.world(db)
    with db.session() as s:
        kept, gone = f.talent(s), f.talent(s)
        pair = DuplicatePair(a_id=kept.id, b_id=gone.id, score=0.9, evidence={})
        s.add(pair)
        s.flush()
        pair_id = pair.id
    official = w.actors["official"]
    conflicts.declare(db, official, "talent", gone.id, RelationSpec("shareholder", enterprise_id=w.ent.id))
    duplicates.decide(db, None, official, pair_id, "merge", keep=kept.id)
    assert [r.kind for r in conflicts.list_relations(db, official, "talent", kept.id)] == ["shareholder"]
    assert conflicts.list_relations(db, official, "talent", gone.id) == []
