"""Review in the programme's steps: which office takes each step of each programme and mode, what each step
may decide, the office's queue, the grading office, 容缺, and exactly one winner when two decide at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from matcher.domain.programmes import programmes
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services.access import Actor
from matcher.services.workflow import matches as match_svc
from matcher.storage.models import AuditEvent, Match, MatchMember, Talent
from tests.services import factories as f

XIAODIAN, TAIYUAN, PROVINCE = "140105", "140100", "140000"
OFFICES = {"province": None, "taiyuan": TAIYUAN, "xiaodian": XIAODIAN, "datong": "140200"}
BY_CODE = {None: "province", PROVINCE: "province", TAIYUAN: "taiyuan", XIAODIAN: "xiaodian"}

# programme named by the demand (None: the mode's default) × mode → (step label, office) in order, and the
# office that grades the engagement. The rules are data/programmes/shanxi.json's.
STEPS = [
    (None, "tech_vp", [("市级初审", "taiyuan"), ("省级终审", "province")], "province"),
    (None, "dual_appointment", [("市级初审", "taiyuan"), ("省级终审", "province")], "taiyuan"),
    (None, "flexible", [("市级审核", "taiyuan")], "taiyuan"),
    ("tech_commissioner", "flexible", [("县级初审", "xiaodian"), ("市级终审", "taiyuan")], "taiyuan"),
    ("doctoral_service_team", "flexible", [("市级初审", "taiyuan"), ("省级终审", "province")], "province"),
]


def actor(who: str) -> Actor:
    return Actor(None, "official", office_code=OFFICES[who])


def submitted(db: Any, mode: str, programme: str | None = None, county: str | None = XIAODIAN) -> tuple[int, Actor]:
    """A match in ``mode`` submitted for review on a demand of an enterprise in ``county``."""
    with db.session() as s:
        ent = f.enterprise(s, county_code=county)
        agency = f.intermediary(s)
        d = f.demand(s, ent, status="taken_up", intermediary_id=agency.id, modes=[mode], programme=programme)
        m = f.match(s, d, f.talent(s, mode_capacity={mode: 2}), mode=mode, status="shortlisted")
        needed = programmes().get(programme).team_bounds[0] if programme else 0
        for n in range(needed):  # a team programme's members (services/workflow/teams)
            s.add(MatchMember(match_id=m.id, talent_id=f.talent(s, mode_capacity={mode: 1}).id,
                              duties=f"成员{n}分工", share_percent=10))
        mid, agent = m.id, Actor(None, "intermediary", intermediary_id=agency.id)
    match_svc.submit(db, agent, mid, "每月驻企两周，三个月完成工艺诊断")
    return mid, agent


def decide(db: Any, who: str, mid: int, decision: str, reason: str = "意见", **kw: Any) -> Any:
    return match_svc.review(db, None, actor(who), mid, decision, reason, **kw)


@pytest.mark.parametrize("programme, mode, steps, grader", STEPS)
def test_each_step_is_taken_by_its_office_only(db, programme, mode, steps, grader) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, mode, programme)
    for i, (label, office) in enumerate(steps):
        view = match_svc.get_match(db, actor("province"), mid)
        assert (view.review_step, view.review_stage, view.awaiting_office) == (i, f"{_name(office)} {label}",
                                                                                 _code(office))
        final = i == len(steps) - 1
        decision = "approve" if final else "recommend"
        for other in ("province", "taiyuan", "xiaodian"):
            if other != office:
                with pytest.raises(Conflict, match="does not take that step"):
                    decide(db, other, mid, decision)
        wrong = "recommend" if final else "approve"
        with pytest.raises(Conflict, match=f"not '{wrong}'"):
            decide(db, office, mid, wrong)
        out = decide(db, office, mid, decision)
    assert out.status == "approved" and out.review_stage is None
    assert out.approved_by_office == _code(steps[-1][1]) and out.graded_by_office == _code(grader)
    assert out.programme and out.programme.startswith(programme or "")


def _code(who: str) -> str:
    return OFFICES[who] or PROVINCE


def _name(who: str) -> str:
    return {"province": "山西省", "taiyuan": "太原市", "xiaodian": "太原市小店区"}[who]


def test_an_enterprise_of_unknown_county_is_the_provinces_at_every_step(db) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "tech_vp", county=None)
    with pytest.raises(NotFound):  # not in 太原's area: it is nobody's but the province's
        decide(db, "taiyuan", mid, "recommend")
    assert decide(db, "province", mid, "recommend").review_stage == "山西省 省级终审"
    assert decide(db, "province", mid, "approve").status == "approved"


def test_a_send_back_returns_the_match_and_a_resubmission_starts_again(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent = submitted(db, "tech_vp")
    decide(db, "taiyuan", mid, "recommend")
    with pytest.raises(Conflict):  # the final step approves or rejects; sending back is a first review's
        decide(db, "province", mid, "send_back")
    assert decide(db, "province", mid, "reject", "服务方案不具体").status == "rejected"
    match_svc.submit(db, agent, mid, "补充了节点计划")
    assert match_svc.get_match(db, actor("taiyuan"), mid).review_step == 0
    out = decide(db, "taiyuan", mid, "send_back", "请补充驻企时间安排")
    assert (out.status, out.review_reason) == ("returned", "请补充驻企时间安排")
    assert match_svc.submit(db, agent, mid, "每月驻企10天").status == "resubmitted"
    assert match_svc.get_match(db, actor("taiyuan"), mid).review_stage == "太原市 市级初审"


def test_the_office_queue_holds_what_waits_for_that_office(db) -> None:  # type: ignore[no-untyped-def]
    vp, _ = submitted(db, "tech_vp")
    flex, _ = submitted(db, "flexible", "tech_commissioner")

    def queue(who: str) -> set[int]:
        items, total = match_svc.list_matches(db, actor(who), status="awaiting_my_review")
        assert total == len(items)
        return {m.id for m in items}

    assert (queue("province"), queue("taiyuan"), queue("xiaodian"), queue("datong")) == (set(), {vp}, {flex}, set())
    decide(db, "taiyuan", vp, "recommend")
    decide(db, "xiaodian", flex, "recommend")
    assert (queue("province"), queue("taiyuan"), queue("xiaodian")) == ({vp}, {flex}, set())
    every, _ = match_svc.list_matches(db, actor("province"), status="awaiting_review")
    assert {vp, flex} <= {m.id for m in every}  # the whole area's, whoever's step it is


def test_each_decision_is_audited_with_its_step_office_and_programme(db) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "tech_vp")
    decide(db, "taiyuan", mid, "recommend", "方向吻合")
    decide(db, "province", mid, "approve", "同意")
    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.entity == "match", AuditEvent.entity_id == str(mid))
                         .order_by(AuditEvent.id)).all()
        after = {e.action: e.after for e in rows}
    assert after["submit"]["programme"] == "tech_vp_programme@2026-12-v2"
    assert (after["recommend"]["step_label"], after["recommend"]["office"]) == ("太原市 市级初审", TAIYUAN)
    assert (after["approve"]["step_label"], after["approve"]["office"]) == ("山西省 省级终审", PROVINCE)
    assert after["approve"]["programme"] == "tech_vp_programme@2026-12-v2"


def test_rongque_items_show_until_supplied(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent = submitted(db, "flexible")
    promised = date.today() + timedelta(days=10)
    out = decide(db, "taiyuan", mid, "approve", "同意，容缺受理", missing_items=["派出单位同意函", "合作协议盖章页"],
                 promised_by=promised)
    assert [(i.item, i.supplied_at) for i in out.missing_items] == [("派出单位同意函", None), ("合作协议盖章页", None)]
    assert out.promised_by == promised.isoformat()
    with pytest.raises(Invalid, match="not among"):
        match_svc.supply(db, agent, mid, ["营业执照"])
    after = match_svc.supply(db, agent, mid, ["派出单位同意函"])
    assert [i.item for i in after.missing_items if i.supplied_at is None] == ["合作协议盖章页"]
    with pytest.raises(Conflict, match="supplied already"):
        match_svc.supply(db, agent, mid, ["派出单位同意函"])


@pytest.mark.parametrize("decision, reason, kw, field", [
    ("promote", "", {}, "decision"),
    ("send_back", " ", {}, "reason"),
    ("reject", "", {}, "reason"),
    ("approve", "", {"missing_items": ["同意函"]}, "promised_by"),
    ("approve", "", {"missing_items": ["同意函"], "promised_by": date(2020, 1, 1)}, "promised_by"),
    ("approve", "", {"promised_by": date(2099, 1, 1)}, "promised_by"),
    ("reject", "不符合", {"missing_items": ["同意函"], "promised_by": date(2099, 1, 1)}, "missing_items"),
    ("approve", "", {"missing_items": [" "], "promised_by": date(2099, 1, 1)}, "missing_items"),
])
def test_bad_decisions_are_422_naming_the_field(db, decision, reason, kw, field) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "flexible")
    with pytest.raises(Invalid) as err:
        decide(db, "taiyuan", mid, decision, reason, **kw)
    assert err.value.field == field
    assert match_svc.get_match(db, actor("taiyuan"), mid).status == "submitted"  # nothing written


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at one moment on real threads; each returns its result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as e:  # the loser's Conflict is the point
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


@pytest.mark.parametrize("attempt", range(3))
def test_two_decisions_on_one_step_have_exactly_one_winner(db, attempt: int) -> None:  # type: ignore[no-untyped-def]
    mid, _ = submitted(db, "tech_vp")
    first, second = _race(lambda: decide(db, "taiyuan", mid, "recommend", "推荐"),
                          lambda: decide(db, "taiyuan", mid, "send_back", "退回"))
    won = [r for r in (first, second) if not isinstance(r, Exception)]
    lost = [r for r in (first, second) if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], Conflict), (first, second)
    with db.session() as s:
        m = s.get(Match, mid)
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.entity == "match", AuditEvent.entity_id == str(mid),
            AuditEvent.action.in_(("recommend", "send_back")))).all()
        assert len(actions) == 1
        assert (m.status, m.review_step) == (("submitted", 1) if actions[0] == "recommend" else ("returned", 0))


def test_the_time_limit_follows_the_step_and_the_promise(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.programme import deadlines

    mid, _ = submitted(db, "tech_vp")
    province = actor("province")

    def item(stage: str, today: date | None = None) -> Any:
        found = [i for i in deadlines.open_items(db, province, today=today) if i.id == mid and i.stage == stage]
        return found[0] if found else None

    first = item("review")
    assert (first.unit_code, first.limit_days) == (TAIYUAN, 5)  # 市级初审: the mode's review limit
    decide(db, "taiyuan", mid, "recommend", missing_items=["派出单位同意函"],
           promised_by=date.today() + timedelta(days=7))
    final = item("review")
    assert (final.unit_code, final.limit_days) == (PROVINCE, 10)  # 省级终审 has its own limit in the file
    promise = item("promised_items")
    assert promise.unit_kind == "intermediary" and promise.due == date.today() + timedelta(days=7)
    late = item("promised_items", today=date.today() + timedelta(days=8))
    assert late.status == "overdue" and late.working_days_left < 0
    decide(db, "province", mid, "approve")
    assert item("promised_items") is not None  # approved, still owed until supplied
    with db.session() as s:
        agency = s.get(Match, mid).intermediary_id
    match_svc.supply(db, Actor(None, "intermediary", intermediary_id=agency), mid, ["派出单位同意函"])
    assert item("promised_items") is None


def test_statistics_by_office(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.workflow import stats

    waiting, _ = submitted(db, "tech_vp")
    done, _ = submitted(db, "tech_vp")
    decide(db, "taiyuan", done, "recommend")
    decide(db, "province", done, "approve")
    lines = {o.code: o for o in stats.summary(db, actor("province")).by_office}
    assert next(iter(lines)) == PROVINCE and len(lines) == 12  # the province, then its 11 cities
    assert (lines[TAIYUAN].matches, lines[TAIYUAN].approved, lines[TAIYUAN].decisions_taken,
            lines[TAIYUAN].awaiting_its_review) == (2, 1, 1, 1)
    assert (lines[PROVINCE].decisions_taken, lines[PROVINCE].awaiting_its_review) == (1, 0)
    assert lines["140200"].matches == 0
    city = {o.code: o for o in stats.summary(db, actor("taiyuan")).by_office}
    assert next(iter(city)) == TAIYUAN and city[XIAODIAN].demands == 2 and "140200" not in city
    assert waiting in {m.id for m in match_svc.list_matches(db, actor("taiyuan"), status="awaiting_my_review")[0]}


def test_an_official_related_to_the_enterprise_cannot_review(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.people import conflicts
    from matcher.services.people.conflicts import RelationSpec
    from matcher.storage.models import Demand, User

    mid, _ = submitted(db, "flexible")
    with db.session() as s:
        user = User(username="ty-review", role="official", office_code=TAIYUAN, token_hash="x" * 64)
        s.add(user)
        s.flush()
        related = Actor(user.id, "official", office_code=TAIYUAN)
        enterprise_id = s.scalar(select(Demand.enterprise_id).join(Match, Match.demand_id == Demand.id)
                                 .where(Match.id == mid))
    conflicts.declare_mine(db, related, RelationSpec("family", enterprise_id=enterprise_id))
    with pytest.raises(Conflict, match="亲属") as err:
        match_svc.review(db, None, related, mid, "approve", "同意")
    assert err.value.field == "enterprise_id"
    assert decide(db, "taiyuan", mid, "approve").status == "approved"  # a colleague without the relation may


def test_a_dual_appointment_without_the_home_institution_is_not_sent_up(db) -> None:  # type: ignore[no-untyped-def]
    """双聘's agreement is signed by the talent's home institution: submit names the empty field."""
    with db.session() as s:
        agency = f.intermediary(s)
        d = f.demand(s, f.enterprise(s, county_code=XIAODIAN), status="taken_up", intermediary_id=agency.id,
                     modes=["dual_appointment"])
        t = f.talent(s, affiliation="", mode_capacity={"dual_appointment": 1})
        mid = f.match(s, d, t, mode="dual_appointment", status="shortlisted").id
        tid = t.id
    agent = Actor(None, "intermediary", intermediary_id=agency.id)
    with pytest.raises(Invalid) as caught:
        match_svc.submit(db, agent, mid, "双聘两年，联合攻关")
    assert caught.value.field == "affiliation"
    with db.session() as s:
        assert s.get(Match, mid).status == "shortlisted"
        s.get(Talent, tid).affiliation = "中北大学"
    assert match_svc.submit(db, agent, mid, "双聘两年，联合攻关").status == "submitted"
