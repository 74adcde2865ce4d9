"""The grades of a talent's past engagements as a feature of the learned ranker, by consent: the propose
text of 2026-12-v2 says so, a talent who consented under 2026-11-v1 is not scored on them; lead and team
members alike; the ranking's feature values carry them (no hand weight, so the hand ranking is unchanged)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from matcher.domain.privacy import GRADES_VERSION, consent_text, consent_version, uses_grades
from matcher.engine.ranking import RankingConfig, features
from matcher.services.pool.facts import demand_facts, graded_history_map, pool_facts
from matcher.storage.models import Demand, Engagement, EngagementGrade, MatchMember
from tests.services import factories as f


def graded(s: Any, talent: Any, grades: list[str], member: Any = None) -> None:
    d = f.demand(s, f.enterprise(s), status="matched")
    m = f.match(s, d, talent, status="engaged")
    if member is not None:
        s.add(MatchMember(match_id=m.id, talent_id=member.id, duties="负责表征", share_percent=20))
    e = Engagement(match_id=m.id, programme_key="industry_talent", programme_version="2026-12-v2", mode="flexible",
                   status="active", start_date=date(2025, 1, 1), end_date=date(2026, 12, 31))
    s.add(e)
    s.flush()
    for n, g in enumerate(grades, 1):
        s.add(EngagementGrade(engagement_id=e.id, period=n, grade=g, evidence="考核表", office_code="140100"))
    s.flush()


def test_the_current_text_says_grades_are_used_and_the_old_one_does_not() -> None:
    assert uses_grades(consent_version()) and consent_version().startswith(GRADES_VERSION)
    assert not uses_grades("2026-11-v1") and not uses_grades(None) and not uses_grades("2026-11-v1+joint_postdoc")
    assert "考核等次" in consent_text("propose") and "考核等次" not in consent_text("propose", "2026-11-v1")


@pytest.mark.parametrize(("version", "expected"), [(GRADES_VERSION, 0.5), ("2026-11-v1", None)])
def test_only_a_consent_that_covers_grades_puts_them_in_the_facts(db, version, expected) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        t = f.talent(s, consent_propose="granted", consent_propose_version=version)
        graded(s, t, ["excellent", "fail"])  # (1 + 0) / 2
        tid = t.id
    with db.session() as s:
        assert graded_history_map(s, [tid]) == {tid: 0.5}
        facts, _ = pool_facts(s, [tid])
    assert facts[tid].graded_history == expected


def test_a_team_member_carries_the_teams_grades_and_the_features_show_them(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        lead = f.talent(s, consent_propose="granted", consent_propose_version=GRADES_VERSION)
        member = f.talent(s, consent_propose="granted", consent_propose_version=GRADES_VERSION)
        fresh = f.talent(s, consent_propose="granted", consent_propose_version=GRADES_VERSION)
        graded(s, lead, ["good"], member=member)
        ids = (lead.id, member.id, fresh.id)
        d = f.demand(s, f.enterprise(s))
        facts, _ = pool_facts(s, ids)
        demand = demand_facts(s, s.get(Demand, d.id))
    assert facts[ids[0]].graded_history == pytest.approx(2 / 3) == facts[ids[1]].graded_history
    assert facts[ids[2]].graded_history is None
    contributions, values = features("flexible", demand, facts[ids[0]], RankingConfig())
    assert values["graded_history"] == pytest.approx(2 / 3) and values["graded_known"] == 1.0
    assert all(c.name != "graded_history" for c in contributions)  # the hand weights do not use it
    _, none = features("flexible", demand, facts[ids[2]], RankingConfig())
    assert (none["graded_history"], none["graded_known"]) == (0.0, 0.0)


def test_a_members_graded_history_lists_the_teams_grades(db) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.access import Actor
    from matcher.services.engagements.assessments import talent_grades
    with db.session() as s:
        lead, member = f.talent(s), f.talent(s)
        graded(s, lead, ["good", "excellent"], member=member)
        ids = (lead.id, member.id)
    for tid in ids:
        assert [g.grade for g in talent_grades(db, Actor(None, "official"), tid)] == ["good", "excellent"]
