"""Assessments by several parties: per period each party fills the scored form (``domain/engagements.CRITERIA``)
and the grading office records the grade 优秀/良好/合格/不合格 with its evidence — after the enterprise's and
the intermediary's forms are in, and once the period has ended. A period without its grade cannot go to
奖补 (``rewards.compute_reward`` asks ``grade_of``). The graded history is part of the talent's record."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from matcher.domain import engagements as rules
from matcher.domain.engagements import FORMS_BEFORE_GRADE, PARTY_LABELS
from matcher.domain.labels import label
from matcher.domain.vocabulary import EngagementStatus, Grade, Role
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.services.engagements.agreements import period_kind
from matcher.services.engagements.common import (
    grading_office,
    insert_once,
    party_of,
    require_grading_office,
    visible_engagement,
)
from matcher.services.pool.facts import refresh_talents
from matcher.services.programme.deadlines import shanghai_today
from matcher.storage.db import Database
from matcher.storage.models import Assessment, Engagement, EngagementGrade, Match, MatchMember, iso
from matcher.views import AssessmentView, GradeView

MAX_COMMENT = 2000
MAX_EVIDENCE = 4000


def parse_grade(value: str) -> Grade:
    """A grade by its value (``excellent``) or its label (优秀); else 422 naming ``grade``."""
    for g in Grade:
        if value in (g.value, label(g)):
            return g
    raise Invalid(f"grade must be one of {', '.join(f'{g.value}/{label(g)}' for g in Grade)}", field="grade")


def _period(e: Engagement, number: int) -> rules.Period:
    return rules.period(e.start_date, e.end_date, period_kind(e), number)


def _started(e: Engagement) -> None:
    if e.status == EngagementStatus.AWAITING_AGREEMENT:
        raise Conflict("the engagement has not started: its agreement awaits confirmations", field="status")


def submit_form(
    db: Database, actor: Actor, engagement_id: int, period: int, scores: dict[str, object], comment: str
) -> AssessmentView:
    """The caller's party's form for ``period`` (once per party and period)."""
    party = party_of(actor)
    checked = rules.check_scores(scores)
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"comment is longer than {MAX_COMMENT} characters", field="comment")
    with db.session() as s:
        e, _, _ = visible_engagement(s, actor, engagement_id)
        _started(e)
        p = _period(e, period)
        a = Assessment(
            engagement_id=e.id,
            period=p.number,
            party=party.value,
            scores=checked,
            comment=comment.strip(),
            user_id=actor.user_id,
        )
        insert_once(s, a, f"{PARTY_LABELS[party]} already assessed period {p.number}", "period")
        record(
            s,
            action="assess",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"period": p.number, "party": party.value, "scores": checked},
        )
        return assessment_view(a)


def assessment_view(a: Assessment) -> AssessmentView:
    return AssessmentView(
        period=a.period, party=a.party, scores=dict(a.scores), comment=a.comment, created_at=iso(a.created_at)
    )


def grade_view(g: EngagementGrade) -> GradeView:
    return GradeView(
        period=g.period,
        grade=g.grade,
        grade_label=label(Grade(g.grade)),
        evidence=g.evidence,
        office_code=g.office_code,
        created_at=iso(g.created_at),
    )


def record_grade(db: Database, actor: Actor, engagement_id: int, period: int, grade: str, evidence: str,
                 pool: TalentPool | None = None) -> GradeView:
    """The grading office's grade of a period that has ended, with the evidence it relied on."""
    graded = parse_grade(grade)
    if not evidence.strip():
        raise Invalid("a grade needs the evidence it relies on", field="evidence")
    if len(evidence) > MAX_EVIDENCE:
        raise Invalid(f"evidence is longer than {MAX_EVIDENCE} characters", field="evidence")
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        office = grading_office(m, s, d)
        require_grading_office(actor, office)
        _started(e)
        p = _period(e, period)
        if p.end >= shanghai_today() and e.status == EngagementStatus.ACTIVE:
            raise Conflict(f"period {p.number} ends on {p.end}: it is graded after it ended", field="period")
        forms = set(
            s.scalars(select(Assessment.party).where(Assessment.engagement_id == e.id, Assessment.period == p.number))
        )
        missing = [PARTY_LABELS[q] for q in FORMS_BEFORE_GRADE if q.value not in forms]
        if missing:
            raise Conflict(
                f"period {p.number} needs the assessment forms of {'、'.join(missing)} before its grade", field="period"
            )
        g = EngagementGrade(
            engagement_id=e.id,
            period=p.number,
            grade=graded.value,
            evidence=evidence.strip(),
            office_code=office,
            user_id=actor.user_id,
        )
        insert_once(s, g, f"period {p.number} is already graded", "period")
        record(
            s,
            action="grade",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"period": p.number, "grade": graded.value, "office": office},
        )
        # the grade is part of the talents' facts (the learned ranker's graded history, where consented)
        members = list(s.scalars(select(MatchMember.talent_id).where(MatchMember.match_id == m.id)))
        refresh_talents(s, pool, [m.talent_id, *members])
        return grade_view(g)


def grade_of(s: Session, engagement_id: int, period: int) -> EngagementGrade | None:
    return s.scalar(
        select(EngagementGrade).where(EngagementGrade.engagement_id == engagement_id, EngagementGrade.period == period)
    )


def assessments(db: Database, actor: Actor, engagement_id: int) -> tuple[list[AssessmentView], list[GradeView]]:
    """The forms and the grades of an engagement (forms are the office's and the parties' to read)."""
    with db.session() as s:
        e, _, _ = visible_engagement(s, actor, engagement_id)
        forms = s.scalars(
            select(Assessment).where(Assessment.engagement_id == e.id).order_by(Assessment.period, Assessment.id)
        )
        grades = s.scalars(
            select(EngagementGrade).where(EngagementGrade.engagement_id == e.id).order_by(EngagementGrade.period)
        )
        return [assessment_view(a) for a in forms], [grade_view(g) for g in grades]


def talent_grades(db: Database, actor: Actor, talent_id: int) -> list[GradeView]:
    """A talent's graded history (their own, or an official's view of it): as lead or team member."""
    if actor.role == Role.TALENT:
        if actor.talent_id != talent_id:
            raise Forbidden("a talent sees their own graded history")
    elif actor.role not in (Role.OFFICIAL, Role.ADMIN):
        raise Forbidden("the graded history is the talent's and the office's")
    with db.session() as s:
        rows = s.scalars(
            select(EngagementGrade)
            .join(Engagement, Engagement.id == EngagementGrade.engagement_id)
            .join(Match, Match.id == Engagement.match_id)
            .where(or_(Match.talent_id == talent_id,
                       Match.id.in_(select(MatchMember.match_id).where(MatchMember.talent_id == talent_id))))
            .order_by(EngagementGrade.created_at)
        )
        return [grade_view(g) for g in rows]
