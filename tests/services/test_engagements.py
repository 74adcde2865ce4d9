"""Engagements across their life at the service level: the agreement drafted on approval, versioned and
confirmed by every party; service records and the monthly shortfall; the assessment gate before 奖补; the
rule's arithmetic; an override needing a second official; budgets that never overspend under a race."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from matcher.errors import Conflict, Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.engagements import agreements, assessments, records, rewards
from matcher.services.workflow import matches as match_svc
from matcher.storage.models import Demand, Match, Talent, User
from tests.services.test_review_steps import decide, submitted

PROVINCE, TAIYUAN = "140000", "140100"
FORM = {"service": 5, "completion": 4, "results": 4, "satisfaction": 5}
SCAN = ("signed.pdf", b"%PDF-1.4 signed copy")


def officials(db: Any) -> tuple[Actor, Actor]:
    """Two province officials with real accounts (an override's approver must be another person)."""
    with db.session() as s:
        users = [User(username=f"prov-{n}-{id(db)}", role="official", token_hash=f"{n}-{id(db)}".ljust(64, "0"))
                 for n in (1, 2)]
        s.add_all(users)
        s.flush()
        return Actor(users[0].id, "official"), Actor(users[1].id, "official")


def engaged(db: Any, official: Actor) -> tuple[int, int, dict[str, Actor]]:
    """A 科技副总 match approved (engagement drafted), its term moved into the past by a new version, confirmed
    by the enterprise, the intermediary and — the talent having no account — the office with the signed copy."""
    mid, agent = submitted(db, "tech_vp")
    decide(db, "taiyuan", mid, "recommend")
    decide(db, "province", mid, "approve")
    view = agreements.engagement_of_match(db, official, mid)
    assert view.status == "awaiting_agreement" and view.agreement is not None and view.agreement.version == 1
    changed = agreements.change_terms(db, official, view.id, {"start": date(2024, 1, 1), "end": date(2026, 11, 30)},
                                      "按实际到岗时间调整")
    assert changed.agreement is not None and changed.agreement.version == 2
    with db.session() as s:
        enterprise_id = s.get(Demand, s.get(Match, mid).demand_id).enterprise_id
    parties = {"enterprise": Actor(None, "enterprise", enterprise_id=enterprise_id), "intermediary": agent}
    digest = changed.agreement.pdf_sha256
    with pytest.raises(Conflict, match="not the current"):
        agreements.confirm(db, parties["enterprise"], view.id, view.agreement.pdf_sha256)  # version 1's bytes
    agreements.confirm(db, parties["enterprise"], view.id, digest)
    agreements.confirm(db, parties["intermediary"], view.id, digest)
    with pytest.raises(Invalid):
        agreements.confirm(db, official, view.id, digest, on_behalf_of_talent=True)  # no signed copy
    done = agreements.confirm(db, official, view.id, digest, on_behalf_of_talent=True, signed_copy=SCAN)
    assert done.status == "active" and done.agreement is not None and done.agreement.awaiting == []
    assert {c.party for c in done.agreement.confirmations} == {"enterprise", "intermediary", "talent"}
    assert all(c.pdf_sha256 == digest for c in done.agreement.confirmations)
    return mid, view.id, parties


def test_the_agreement_life_cycle_and_the_service_shortfall(db) -> None:  # type: ignore[no-untyped-def]
    official, _ = officials(db)
    mid, eid, parties = engaged(db, official)
    assert match_svc.get_match(db, official, mid).status == "engaged"
    pdf, _ = agreements.document(db, official, eid, 1, "pdf")  # the superseded version is kept
    assert pdf.startswith(b"%PDF")
    view = agreements.get_engagement(db, official, eid)
    assert (view.start_date, view.end_date, view.days_on_site_per_month) == ("2024-01-01", "2026-11-30", 8)
    assert [p.engagement_year for p in view.periods] == [1, 2, 3]
    records.add_record(db, parties["enterprise"], eid, service_date=date(2026, 11, 5), days_on_site=9,
                       remote_hours=2, tasks="工艺诊断", results={"patents": 1}, attachment_ids=[])
    with pytest.raises(Invalid) as bad:
        records.add_record(db, parties["enterprise"], eid, service_date=date(2023, 5, 1), days_on_site=1,
                           remote_hours=0, tasks="", results={}, attachment_ids=[])
    assert bad.value.field == "service_date"
    with pytest.raises(Invalid) as bad:
        records.add_record(db, parties["enterprise"], eid, service_date=date(2026, 11, 6), days_on_site=1,
                           remote_hours=0, tasks="", results={"patents": -1}, attachment_ids=[])
    assert bad.value.field == "results.patents"
    summary = records.service_summary(db, official, eid, today=date(2026, 12, 2))
    months = {m.month: m for m in summary.months}
    assert len(months) == 35 and not months["2026-11"].short and months["2026-10"].short
    assert summary.short_months == 34 and summary.results == {"patents": 1}
    with pytest.raises(Forbidden):
        records.add_record(db, parties["intermediary"], eid, service_date=date(2026, 11, 5), days_on_site=1,
                           remote_hours=0, tasks="x", results={}, attachment_ids=[])


def test_assessment_gate_rule_arithmetic_and_the_second_official(db) -> None:  # type: ignore[no-untyped-def]
    first, second = officials(db)
    mid, eid, parties = engaged(db, first)
    with pytest.raises(Conflict, match="no grade"):
        rewards.compute_reward(db, first, eid, 1, 200_000, SCAN)
    with pytest.raises(Conflict, match="forms"):
        assessments.record_grade(db, first, eid, 1, "优秀", "驻企天数达标")
    assessments.submit_form(db, parties["enterprise"], eid, 1, dict(FORM), "满意")
    with pytest.raises(Conflict, match="already"):
        assessments.submit_form(db, parties["enterprise"], eid, 1, dict(FORM), "again")
    with pytest.raises(Invalid) as bad:
        assessments.submit_form(db, parties["intermediary"], eid, 1, {**FORM, "service": 6}, "")
    assert bad.value.field == "scores.service"
    assessments.submit_form(db, parties["intermediary"], eid, 1, dict(FORM), "")
    with pytest.raises(Invalid) as bad:
        assessments.record_grade(db, first, eid, 1, "特优", "x")
    assert bad.value.field == "grade"
    with pytest.raises(Forbidden):  # 科技副总 are graded by the province here, not the city
        assessments.record_grade(db, Actor(None, "official", office_code=TAIYUAN), eid, 1, "优秀", "x")
    assert assessments.record_grade(db, first, eid, 1, "优秀", "三方评价优秀").grade == "excellent"
    with pytest.raises(Invalid) as bad:
        rewards.compute_reward(db, first, eid, 1, -1, SCAN)
    assert bad.value.field == "base_yuan"
    r = rewards.compute_reward(db, first, eid, 1, 200_000, SCAN)  # 优秀: 70 % of 200,000 capped at 100,000
    assert (r.computed_yuan, r.amount_yuan, r.year, r.rule_version) == (100_000, 100_000, 2024, "2026-12-v2")
    assert r.shares == {PROVINCE: 50_000, TAIYUAN: 50_000} and sum(r.shares.values()) == r.amount_yuan
    assert any(step.label == "封顶" for step in r.steps)
    with pytest.raises(Invalid) as bad:
        rewards.override(db, first, r.id, 120_000, "超过封顶")
    assert bad.value.field == "amount_yuan"
    pending = rewards.override(db, first, r.id, 90_000, "企业薪酬凭证部分不符")
    assert pending.status == "override_pending"
    with pytest.raises(Conflict):
        rewards.commit(db, first, r.id)  # not before a second official approved the change
    with pytest.raises(Forbidden, match="second official"):
        rewards.review_override(db, first, r.id, True)
    assert rewards.review_override(db, second, r.id, True).amount_yuan == 90_000
    with pytest.raises(Conflict, match="budget"):
        rewards.commit(db, first, r.id)  # no budget yet: nothing is charged
    rewards.set_budget(db, first, "tech_vp_programme", PROVINCE, 2024, 1_000_000)
    rewards.set_budget(db, first, "tech_vp_programme", TAIYUAN, 2024, 1_000_000)
    done = rewards.commit(db, first, r.id)
    assert done.status == "committed"
    budgets = {b.office_code: b for b in rewards.list_budgets(db, first, 2024)}
    assert budgets[PROVINCE].committed_yuan == budgets[TAIYUAN].committed_yuan == 45_000
    m = match_svc.get_match(db, first, mid)
    assert m.status == "rewarded" and m.reward_yuan == 90_000
    rewards.pay(db, first, r.id)
    assert {b.office_code: b.paid_yuan for b in rewards.list_budgets(db, first, 2024)}[PROVINCE] == 45_000
    with pytest.raises(Conflict):
        rewards.set_budget(db, first, "tech_vp_programme", PROVINCE, 2024, 10_000)  # below what is paid


def test_two_commitments_that_would_overspend_exactly_one_wins(db) -> None:  # type: ignore[no-untyped-def]
    first, _ = officials(db)
    ids = []
    for _ in range(2):
        _, eid, parties = engaged(db, first)
        for who in ("enterprise", "intermediary"):
            assessments.submit_form(db, parties[who], eid, 1, dict(FORM), "")
        assessments.record_grade(db, first, eid, 1, "合格", "合格")
        ids.append(rewards.compute_reward(db, first, eid, 1, 150_000, SCAN).id)  # 合格: 75,000 each
    rewards.set_budget(db, first, "tech_vp_programme", PROVINCE, 2024, 50_000)  # room for one 37,500 share
    rewards.set_budget(db, first, "tech_vp_programme", TAIYUAN, 2024, 1_000_000)
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def commit(i: int) -> None:
        barrier.wait()
        try:
            results[i] = rewards.commit(db, first, ids[i]).status
        except Conflict as exc:
            results[i] = exc
    threads = [threading.Thread(target=commit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(x).__name__ for x in results) == ["Conflict", "str"]
    budgets = {b.office_code: b for b in rewards.list_budgets(db, first, 2024)}
    assert budgets[PROVINCE].committed_yuan == 37_500 and budgets[TAIYUAN].committed_yuan == 37_500
    batch = rewards.commit_batch(db, first, ids)
    assert [r["ok"] for r in batch] == [False, False]  # one already committed, the other still does not fit


# ------------------------------------------------------------------ seams: capacity and withdrawal
def _load(db: Any, talent_id: int) -> dict[str, int]:
    from matcher.services.pool.facts import current_loads
    with db.session() as s:
        return current_loads(s, [talent_id]).get(talent_id, {})


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_an_engagement_ended_early_frees_the_talents_capacity(db) -> None:  # type: ignore[no-untyped-def]
    official, _ = officials(db)
    mid, eid, parties = engaged(db, official)
    with db.session() as s:
        tid = s.get(Match, mid).talent_id
    assert _load(db, tid) == {"tech_vp": 1}
    with pytest.raises(Invalid) as bad:
        agreements.end_early(db, parties["enterprise"], eid, "  ")
    assert bad.value.field == "reason" and _load(db, tid) == {"tech_vp": 1}
    ended = agreements.end_early(db, parties["enterprise"], eid, "企业停产，三方协商提前终止")
    assert ended.status == "ended_early" and _load(db, tid) == {}
    with pytest.raises(Conflict):
        agreements.end_early(db, parties["enterprise"], eid, "再次终止")
    with pytest.raises(Conflict):  # nothing is recorded on an ended engagement
        records.add_record(db, parties["enterprise"], eid, service_date=date(2026, 11, 5), days_on_site=1,
                           remote_hours=0, tasks="x", results={}, attachment_ids=[])


def test_withdrawing_ends_an_unsigned_agreement_and_keeps_a_signed_one(db) -> None:  # type: ignore[no-untyped-def]
    """The talent of two engagements leaves the platform: the one still awaiting its agreement ends and its
    drafts no longer name them; the signed one goes on, its free texts scrubbed of the name."""
    from matcher.services.people import me
    official, _ = officials(db)
    mid, eid, parties = engaged(db, official)
    with db.session() as s:
        talent = s.get(Match, mid).talent_id
        name = "欧阳明远"
        s.get(Talent, talent).name = name
        account = User(username=f"talent-{id(db)}", role="talent", talent_id=talent,
                       token_hash=f"t{id(db)}".ljust(64, "0"))
        s.add(account)
        s.flush()
        uid = account.id
    records.add_record(db, parties["enterprise"], eid, service_date=date(2026, 11, 5), days_on_site=3,
                       remote_hours=0, tasks=f"{name}教授现场指导", results={}, attachment_ids=[])
    # a second engagement of the same talent, still awaiting its agreement (a flexible project)
    second, _agent = submitted(db, "flexible")
    with db.session() as s:
        m2 = s.get(Match, second)
        m2.talent_id = talent
        s.get(Talent, talent).mode_capacity = {"tech_vp": 2, "flexible": 2}
    decide(db, "taiyuan", second, "approve")
    waiting = agreements.engagement_of_match(db, official, second)
    assert waiting.status == "awaiting_agreement"
    assert name in _pdf_text(agreements.document(db, official, waiting.id, None, "pdf")[0])
    me.withdraw(db, None, Actor(uid, "talent", talent_id=talent))
    after = agreements.get_engagement(db, official, waiting.id)
    assert after.status == "ended_early" and after.end_reason == agreements.WITHDRAWN_REASON
    assert after.agreement is not None and after.agreement.pdf_sha256 != waiting.agreement.pdf_sha256
    text = _pdf_text(agreements.document(db, official, waiting.id, None, "pdf")[0])
    assert name not in text and "人才" in text
    signed = agreements.get_engagement(db, official, eid)
    assert signed.status == "active"  # the contract goes on
    entries = records.service_summary(db, official, eid).records
    assert entries and all(name not in r.tasks for r in entries)
