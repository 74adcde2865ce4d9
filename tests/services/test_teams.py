"""Team matches (``services/workflow/teams``): members checked one by one as the lead was (consent, capacity
in the mode, conflicts of interest through the engine), shares within 100 %, a 科技博士服务团 needing two
members at submission, approval holding each member's capacity and stopped by a member who withdrew, the
agreement naming every member with duties and share in Word and PDF, and the talent's 奖补 split by them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from pypdf import PdfReader

from matcher.config import Settings
from matcher.errors import Conflict, Invalid, NotFound
from matcher.services.access import Actor
from matcher.services.engagements import agreements
from matcher.services.pool.facts import build_pool, current_loads
from matcher.services.workflow import matches as match_svc
from matcher.services.workflow import teams
from matcher.storage.db import Database
from matcher.storage.models import Match, Talent
from tests.conftest import fresh_database_url
from tests.services import factories as f
from tests.services.test_insight import COAL, COAL_PROFILE
from tests.services.test_review_steps import XIAODIAN, decide

PLAN = "团队分工协作，三个月完成精脱硫工艺诊断"


def team_match(db: Any, programme: str | None = None, members: int = 3, **member_kw: Any
               ) -> tuple[int, Actor, list[int]]:
    """A shortlisted flexible match of a demand taken up in 小店区, and talents who could join its team."""
    with db.session() as s:
        ent = f.enterprise(s, county_code=XIAODIAN)
        agency = f.intermediary(s)
        d = f.demand(s, ent, status="taken_up", intermediary_id=agency.id, modes=["flexible"], programme=programme)
        lead = f.talent(s, name="团队负责人", consent_propose="granted", consent_contact="granted")
        m = f.match(s, d, lead, status="shortlisted")
        ids = [f.talent(s, name=f"成员{i}", consent_propose="granted", **member_kw).id for i in range(members)]
        return m.id, Actor(None, "intermediary", intermediary_id=agency.id), ids


def test_members_are_named_with_duties_and_shares_and_the_lead_keeps_the_rest(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent, (a, b, _) = team_match(db)
    teams.add_member(db, None, agent, mid, a, "负责催化剂表征", 20)
    team = teams.add_member(db, None, agent, mid, b, "负责中试数据分析", 30)
    assert [(x.name, x.share_percent) for x in team] == [("成员0", 20), ("成员1", 30)]
    view = match_svc.get_match(db, agent, mid)
    assert view.lead_share_percent == 50 and [x.talent_id for x in view.team] == [a, b]
    assert [x.talent_id for x in teams.remove_member(db, agent, mid, a)] == [b]


@pytest.mark.parametrize(("setup", "kw", "error", "field"), [
    ("lead", {}, Conflict, "talent_id"),
    ("twice", {}, Conflict, "talent_id"),
    ("share", {"share_percent": 81}, Invalid, "share_percent"),
    ("duties", {"duties": "  "}, Invalid, "duties"),
    ("missing", {}, NotFound, "talent_id"),
    ("no_consent", {}, Conflict, "talent_id"),
    ("full", {}, Conflict, "talent_id"),
    ("other_agency", {}, NotFound, "match_id"),
])
def test_a_member_who_may_not_join_is_refused_naming_the_field(db, setup, kw, error, field) -> None:  # type: ignore[no-untyped-def]
    mid, agent, (a, b, _) = team_match(db)
    teams.add_member(db, None, agent, mid, b, "负责工艺", 20)
    who, talent = agent, a
    with db.session() as s:
        m = s.get(Match, mid)
        if setup == "lead":
            talent = m.talent_id
        elif setup == "twice":
            talent = b
        elif setup == "missing":
            talent = 999999
        elif setup == "no_consent":
            s.get(Talent, a).consent_propose = "denied"
        elif setup == "full":  # serves in another approved flexible engagement already, capacity 1
            other = f.demand(s, f.enterprise(s), status="matched", modes=["flexible"])
            f.match(s, other, s.get(Talent, a), status="approved")
        elif setup == "other_agency":
            who = Actor(None, "intermediary", intermediary_id=f.intermediary(s).id)
    args = {"duties": "负责表征", "share_percent": 10, **kw}
    with pytest.raises(error) as bad:
        teams.add_member(db, None, who, mid, talent, args["duties"], args["share_percent"])
    assert bad.value.field == field


def test_a_doctoral_service_team_needs_two_members_before_review(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent, (a, b, _) = team_match(db, programme="doctoral_service_team")
    teams.add_member(db, None, agent, mid, a, "负责催化剂表征", 20)
    with pytest.raises(Invalid) as bad:
        match_svc.submit(db, agent, mid, PLAN)
    assert bad.value.field == "members" and "at least 2" in bad.value.message
    teams.add_member(db, None, agent, mid, b, "负责中试数据分析", 20)
    assert match_svc.submit(db, agent, mid, PLAN).status == "submitted"
    with pytest.raises(Conflict):  # in review: the team is fixed
        teams.remove_member(db, agent, mid, a)


def test_approval_holds_each_members_capacity_and_the_agreement_names_them(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent, (a, b, _) = team_match(db)
    teams.add_member(db, None, agent, mid, a, "负责催化剂表征与失活机理分析", 20)
    teams.add_member(db, None, agent, mid, b, "负责中试装置改造与数据分析", 30)
    match_svc.submit(db, agent, mid, PLAN)
    decide(db, "taiyuan", mid, "approve")
    with db.session() as s:
        loads = current_loads(s, [a, b])
    assert loads[a]["flexible"] == 1 and loads[b]["flexible"] == 1
    e = agreements.engagement_of_match(db, Actor(None, "official"), mid)
    word, _ = agreements.document(db, Actor(None, "official"), e.id, None, "docx")
    cells = [c.text for t in docx.Document(io.BytesIO(word)).tables for row in t.rows for c in row.cells]
    assert "负责催化剂表征与失活机理分析" in cells and "30%" in cells and "团队负责人（负责人）" in cells
    pdf, _ = agreements.document(db, Actor(None, "official"), e.id, None, "pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")
    assert "团队成员及分工" in text and "负责中试装置改造与数据分析" in text and "成员1" in text
    with pytest.raises(Conflict):  # the same member cannot serve a second team beyond their capacity
        other, agent2, _ = team_match(db, members=0)
        teams.add_member(db, None, agent2, other, a, "负责表征", 10)


def test_a_member_who_withdrew_after_being_named_stops_the_approval(db) -> None:  # type: ignore[no-untyped-def]
    mid, agent, (a, _, _) = team_match(db)
    teams.add_member(db, None, agent, mid, a, "负责催化剂表征", 20)
    match_svc.submit(db, agent, mid, PLAN)
    with db.session() as s:
        s.get(Talent, a).withdrawn_at = datetime.now(UTC)
    with pytest.raises(Conflict) as bad:
        decide(db, "taiyuan", mid, "approve")
    assert bad.value.field == "members" and "成员0" in bad.value.message
    with db.session() as s:
        assert s.get(Match, mid).status == "submitted"  # nothing of the approval stayed


def test_a_conflict_of_interest_is_checked_per_member(settings: Settings, tmp_path: Path) -> None:
    """Through the engine: a member employed by the demand's own enterprise is refused with the rule's
    reason, as a lead would be."""
    cfg = settings.model_copy(update={"var_dir": tmp_path, "database_url": fresh_database_url(tmp_path)})
    db = Database.from_settings(cfg)
    db.upgrade()
    with db.session() as s:
        ent = f.enterprise(s, county_code=XIAODIAN)
        agency = f.intermediary(s)
        d = f.demand(s, ent, title=COAL[0], description=COAL[1], status="taken_up", intermediary_id=agency.id)
        lead = f.talent(s, name="负责人", profile=COAL_PROFILE, consent_propose="granted")
        insider = f.talent(s, name="本企业员工", profile=COAL_PROFILE, consent_propose="granted",
                           employer_enterprise_id=ent.id).id
        outsider = f.talent(s, name="外部专家", profile=COAL_PROFILE, consent_propose="granted").id
        mid = f.match(s, d, lead, status="shortlisted").id
    agent = Actor(None, "intermediary", intermediary_id=agency.id)
    pool = build_pool(cfg, db, persist=False)
    with pytest.raises(Conflict) as bad:
        teams.add_member(db, pool, agent, mid, insider, "负责现场", 10)
    assert bad.value.field == "talent_id" and "not eligible" in bad.value.message
    assert [x.name for x in teams.add_member(db, pool, agent, mid, outsider, "负责现场", 10)] == ["外部专家"]


def test_a_members_withdrawal_scrubs_their_name_from_the_teams_texts(db) -> None:  # type: ignore[no-untyped-def]
    """Seam teams × withdrawal: the intermediary's plan names the members; a member who withdraws is erased
    from the plan of a team they did not lead, as from their own matches."""
    from matcher.services.people import me
    mid, agent, (a, _, _) = team_match(db)
    with db.session() as s:
        s.get(Talent, a).name = "赵明远"
    teams.add_member(db, None, agent, mid, a, "负责催化剂表征", 20)
    match_svc.submit(db, agent, mid, "赵明远负责催化剂表征，负责人统筹工艺诊断")
    me.withdraw(db, None, Actor(None, "talent", talent_id=a))
    with db.session() as s:
        plan = s.get(Match, mid).plan
    assert "赵明远" not in plan and "负责人统筹工艺诊断" in plan
