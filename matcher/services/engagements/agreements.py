"""The engagement and its three-party agreement: drafted on approval, changed in versions, confirmed by each
party in their own session, started when all have confirmed, ended at term or early with a reason.

Decisions:

- *Drafted on approval.* The approval (``workflow/matches.decide``) calls ``open_engagement`` in its own
  transaction: the engagement (``awaiting_agreement``) and agreement version 1, whose terms come from the
  demand (title, duration, target indicators), the intermediary's plan and the mode's defaults (科技副总
  eight days on site a month for a year; 双聘 three years; 柔性引才 six months). The PDF is rendered from
  those terms then, kept in the row with its SHA-256 — the bytes a party confirms are the bytes stored.
- *Confirmation.* Each party confirms the current version in their own session, quoting the digest of the
  PDF they read (``pdf_sha256``): a confirmation of other bytes than the stored ones is refused (409), so no
  one confirms a version that changed under them. A talent without an account is confirmed by the grading
  office with the signed copy uploaded. When the last party confirms, the engagement starts and its match
  moves to ``engaged`` in the same transaction.
- *Versions.* A change of terms (by the enterprise, the intermediary or the office) makes a new version and
  supersedes the old one, whose row, PDF and confirmations are kept; the new one needs every party again.
  An engagement already running keeps running meanwhile (its term and days follow the confirmed version).
- *Exactly one new version.* Versions are numbered by a unique (engagement, version) constraint: two changes
  at once both try version n + 1, one insert wins and the other gets 409.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matcher.documents import agreement as documents
from matcher.domain import engagements as rules
from matcher.domain import modes
from matcher.domain.engagements import PARTIES, PARTY_LABELS, Party
from matcher.domain.offices import office_tree
from matcher.domain.programmes import programmes
from matcher.domain.vocabulary import AgreementStatus, EngagementStatus, MatchStatus, Role
from matcher.domain.workflow import MATCH_TRANSITIONS, SYSTEM
from matcher.engine.pool import TalentPool
from matcher.errors import Conflict, Forbidden, Invalid
from matcher.services.access import Actor
from matcher.services.audit import record
from matcher.services.engagements.common import (
    attachment_of,
    attachment_view,
    engagement_scope,
    grading_office,
    insert_once,
    party_of,
    require_grading_office,
    store_attachment,
    visible_engagement,
)
from matcher.services.learning.decisions import record_decision
from matcher.services.pool.facts import refresh_talents
from matcher.services.programme.deadlines import shanghai_today
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import (
    Agreement,
    AgreementConfirmation,
    Assessment,
    Attachment,
    Demand,
    Engagement,
    EngagementGrade,
    Enterprise,
    Intermediary,
    Match,
    MatchMember,
    Reward,
    Talent,
    User,
    iso,
)
from matcher.views import AgreementView, ConfirmationView, EngagementView, PeriodView

#: What a mode's first draft proposes where the demand says nothing: months of term, days on site a month.
DRAFT_DEFAULTS: dict[str, tuple[int, int]] = {
    modes.TECH_VP: (12, 8),
    modes.DUAL_APPOINTMENT: (36, 6),
    modes.FLEXIBLE: (6, 2),
}
#: The terms a party may change (a new version); the rest of the document follows from the engagement.
EDITABLE = (
    "start",
    "end",
    "days_on_site_per_month",
    "tasks",
    "indicators",
    "pay_yuan",
    "pay_period",
    "pay_note",
    "confidentiality",
    "intellectual_property",
    "income_sharing",
    "noncompete_months",
    "income_share_ratio",
)


def _lines(text: str) -> list[str]:
    return [line.strip(" -•·\t") for line in (text or "").replace("；", "\n").splitlines() if line.strip(" -•·\t")]


def _first_of_next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def draft_terms(d: Demand, m: Match, today: date) -> dict[str, Any]:
    """Version 1's terms: from the demand, the plan and the mode's defaults (every field editable later)."""
    months, days = DRAFT_DEFAULTS.get(m.mode, (12, 4))
    months = d.duration_months or months
    if m.mode == modes.TECH_VP:
        months = min(max(months, 12), 36)  # 科技副总 serve one to three years
    elif m.mode == modes.DUAL_APPOINTMENT:
        months = max(months, 12)
    start = _first_of_next_month(today)
    end = rules.add_months(start, months) - timedelta(days=1)
    tasks = _lines(m.plan) or [f"围绕“{d.title}”开展技术攻关与服务"]
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days_on_site_per_month": days,
        "tasks": tasks[:20],
        "indicators": _lines(d.target_indicators)[:20],
        "pay_yuan": 0,
        "pay_period": "month",
        "pay_note": "报酬标准由甲乙双方按甲方薪酬制度另行确定",
        "confidentiality": "standard",
        "intellectual_property": "enterprise",
        "income_sharing": "none",
        "noncompete_months": None,
        "income_share_ratio": None,
    }


def _document(
    s: Session, e: Engagement, m: Match, d: Demand, terms: dict[str, Any], version: int
) -> documents.AgreementTerms:
    """The document data of one version: the stored terms plus what follows from the engagement (parties,
    number, programme). Raises ``Invalid`` naming the field for terms the document refuses."""
    enterprise = s.get(Enterprise, d.enterprise_id)
    talent = s.get(Talent, m.talent_id)
    intermediary = s.get(Intermediary, m.intermediary_id) if m.intermediary_id else None
    witness = office_tree().get(grading_office(m, s, d)).display_name
    programme = programmes().get(e.programme_key).label if e.programme_key in programmes() else e.programme_key
    return documents.terms_from(
        number=f"XY-{e.id:06d}",
        version=version,
        mode=m.mode,
        programme=programme,
        demand_title=d.title,
        enterprise=enterprise.name if enterprise else "",
        talent=talent.name if talent else "",
        intermediary=intermediary.name if intermediary else "（无）",
        witness=witness,
        home_institution=talent.affiliation if talent else "",
        team=[{"name": name, "duties": r.duties, "share_percent": r.share_percent} for r, name in s.execute(
            select(MatchMember, Talent.name).join(Talent, Talent.id == MatchMember.talent_id)
            .where(MatchMember.match_id == m.id).order_by(MatchMember.id))],
        **{k: terms.get(k) for k in EDITABLE},
    )


def _pdf(s: Session, e: Engagement, m: Match, d: Demand, terms: dict[str, Any], version: int) -> tuple[bytes, str]:
    pdf = documents.render_pdf(_document(s, e, m, d, terms, version))
    return pdf, documents.sha256_hex(pdf)


def open_engagement(s: Session, actor: Actor, m: Match, d: Demand) -> Engagement:
    """Create the engagement and its first draft for an approved match (in the approval's transaction)."""
    rules_ = programmes()
    key = m.programme_key or ""
    programme = rules_.get(key) if key in rules_ else rules_.unconfigured(m.mode)
    terms = draft_terms(d, m, shanghai_today())
    e = Engagement(
        match_id=m.id,
        programme_key=programme.key,
        programme_version=m.programme_version or programme.version,
        mode=m.mode,
        status=EngagementStatus.AWAITING_AGREEMENT.value,
        start_date=date.fromisoformat(terms["start"]),
        end_date=date.fromisoformat(terms["end"]),
        days_on_site_per_month=int(terms["days_on_site_per_month"]),
        end_reason="",
    )
    s.add(e)
    s.flush()
    pdf, digest = _pdf(s, e, m, d, terms, 1)
    s.add(
        Agreement(
            engagement_id=e.id,
            version=1,
            status=AgreementStatus.DRAFT.value,
            terms=terms,
            pdf=pdf,
            pdf_sha256=digest,
            change_reason="审核通过后自动生成",
            created_by=actor.user_id,
        )
    )
    record(
        s,
        action="draft_agreement",
        entity="engagement",
        entity_id=e.id,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        after={"version": 1, "pdf_sha256": digest},
    )
    return e


def current_agreement(s: Session, engagement_id: int) -> Agreement:
    a = s.scalar(
        select(Agreement).where(Agreement.engagement_id == engagement_id).order_by(Agreement.version.desc()).limit(1)
    )
    if a is None:  # every engagement is created with version 1
        raise Conflict("this engagement has no agreement", field="agreement")
    return a


def talent_has_account(s: Session, talent_id: int) -> bool:
    return (
        s.scalar(
            select(User.id).where(User.talent_id == talent_id, User.role == Role.TALENT, User.active.is_(True)).limit(1)
        )
        is not None
    )


# ------------------------------------------------------------------ views
def agreement_view(s: Session, a: Agreement) -> AgreementView:
    confirmations = list(
        s.scalars(
            select(AgreementConfirmation)
            .where(AgreementConfirmation.agreement_id == a.id)
            .order_by(AgreementConfirmation.id)
        )
    )
    done = {c.party for c in confirmations}
    scan = s.get(Attachment, a.scan_attachment_id) if a.scan_attachment_id else None
    return AgreementView(
        id=a.id,
        version=a.version,
        status=a.status,
        terms=a.terms,
        pdf_sha256=a.pdf_sha256,
        change_reason=a.change_reason,
        confirmations=[
            ConfirmationView(
                party=c.party,
                party_label=PARTY_LABELS[c.party],
                user_id=c.user_id,
                role=c.role,
                pdf_sha256=c.pdf_sha256,
                confirmed_at=iso(c.confirmed_at),
                on_behalf=c.role != c.party,
            )
            for c in confirmations
        ],
        awaiting=[p.value for p in PARTIES if p.value not in done] if a.status == AgreementStatus.DRAFT else [],
        scan=attachment_view(scan) if scan else None,
        created_at=iso(a.created_at),
    )


def period_kind(e: Engagement) -> str:
    rules_ = programmes()
    if e.programme_key in rules_ and rules_.get(e.programme_key).covers(e.mode):
        return rules_.get(e.programme_key).rules_for(e.mode).assessment_period
    return "yearly"


def engagement_view(s: Session, e: Engagement, m: Match, d: Demand) -> EngagementView:
    talent = s.get(Talent, m.talent_id)
    enterprise = s.get(Enterprise, d.enterprise_id)
    forms: dict[int, list[str]] = {}
    for period, party in s.execute(select(Assessment.period, Assessment.party).where(Assessment.engagement_id == e.id)):
        forms.setdefault(period, []).append(party)
    grades = dict(
        s.execute(
            select(EngagementGrade.period, EngagementGrade.grade).where(EngagementGrade.engagement_id == e.id)
        ).all()
    )
    rewards = dict(s.execute(select(Reward.period, Reward.status).where(Reward.engagement_id == e.id)).all())
    kind = period_kind(e)
    periods = [
        PeriodView(
            number=p.number,
            start=p.start.isoformat(),
            end=p.end.isoformat(),
            engagement_year=p.engagement_year,
            label=p.label,
            forms=sorted(forms.get(p.number, [])),
            grade=grades.get(p.number),
            reward_status=rewards.get(p.number),
        )
        for p in rules.periods(e.start_date, e.end_date, kind)
    ]
    return EngagementView(
        id=e.id,
        match_id=m.id,
        demand_id=d.id,
        demand_title=d.title,
        talent_id=m.talent_id,
        talent_name=talent.name if talent else "",
        enterprise_name=enterprise.name if enterprise else "",
        intermediary_id=m.intermediary_id,
        programme=f"{e.programme_key}@{e.programme_version}",
        mode=e.mode,
        status=e.status,
        start_date=e.start_date.isoformat(),
        end_date=e.end_date.isoformat(),
        days_on_site_per_month=e.days_on_site_per_month,
        graded_by_office=grading_office(m, s, d),
        assessment_period=kind,
        started_at=iso(e.started_at),
        ended_at=iso(e.ended_at),
        end_reason=e.end_reason,
        agreement=agreement_view(s, current_agreement(s, e.id)),
        periods=periods,
    )


def get_engagement(db: Database, actor: Actor, engagement_id: int) -> EngagementView:
    with db.session() as s:
        return engagement_view(s, *visible_engagement(s, actor, engagement_id))


def engagement_of_match(db: Database, actor: Actor, match_id: int) -> EngagementView:
    with db.session() as s:
        eid = s.scalar(select(Engagement.id).where(Engagement.match_id == match_id))
        if eid is None:
            raise Conflict(
                "this match has no engagement yet (it is created when the match is approved)", field="match_id"
            )
        return engagement_view(s, *visible_engagement(s, actor, eid))


def list_engagements(
    db: Database, actor: Actor, *, status: str | None = None, limit: int = 20, offset: int = 0
) -> tuple[list[EngagementView], int]:
    stmt = (
        select(Engagement, Match, Demand)
        .join(Match, Match.id == Engagement.match_id)
        .join(Demand, Demand.id == Match.demand_id)
        .where(engagement_scope(actor))
    )
    if status:
        if status not in {s.value for s in EngagementStatus}:
            raise Invalid(f"status must be one of {', '.join(s.value for s in EngagementStatus)}", field="status")
        stmt = stmt.where(Engagement.status == status)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.execute(stmt.order_by(Engagement.id.desc()).limit(limit).offset(offset)).all()
        return [engagement_view(s, e, m, d) for e, m, d in rows], total


# ------------------------------------------------------------------ documents
def document(db: Database, actor: Actor, engagement_id: int, version: int | None, kind: str) -> tuple[bytes, str]:
    """The agreement of ``version`` (the current one by default) as ``pdf`` (the stored, confirmed bytes)
    or ``docx`` (the editable draft, rendered from the same terms); returns the bytes and a file name."""
    if kind not in ("pdf", "docx"):
        raise Invalid("kind must be pdf or docx", field="kind")
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        a = (
            current_agreement(s, e.id)
            if version is None
            else s.scalar(select(Agreement).where(Agreement.engagement_id == e.id, Agreement.version == version))
        )
        if a is None:
            raise Invalid(f"this engagement has no agreement version {version}", field="version")
        name = f"agreement-{e.id}-v{a.version}.{kind}"
        if kind == "pdf":
            return a.pdf, name
        return documents.render_docx(_document(s, e, m, d, a.terms, a.version)), name


# ------------------------------------------------------------------ confirming
def confirm(
    db: Database,
    actor: Actor,
    engagement_id: int,
    pdf_sha256: str,
    *,
    on_behalf_of_talent: bool = False,
    signed_copy: tuple[str, bytes] | None = None,
) -> EngagementView:
    """The caller's party confirms the current version (the digest must be the stored PDF's). An official of
    the grading office confirms for a talent without an account (``on_behalf_of_talent``) with the signed
    copy uploaded. The last confirmation starts the engagement."""
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        if on_behalf_of_talent:
            require_grading_office(actor, grading_office(m, s, d))
            if talent_has_account(s, m.talent_id):
                raise Conflict("the talent has an account and confirms in their own session", field="party")
            if signed_copy is None:
                raise Invalid("confirming for the talent needs the signed copy uploaded", field="file")
            party = Party.TALENT
        else:
            party = party_of(actor)
        if e.status in (EngagementStatus.ENDED, EngagementStatus.ENDED_EARLY):
            raise Conflict(f"the engagement has {e.status}", field="status")
        a = current_agreement(s, e.id)
        if a.status != AgreementStatus.DRAFT:
            raise Conflict(f"version {a.version} is already confirmed by every party", field="status")
        if pdf_sha256 != a.pdf_sha256:
            raise Conflict(
                "the PDF you confirm is not the current version's (it changed meanwhile: read it again)",
                field="pdf_sha256",
            )
        copy = store_attachment(s, actor, e.id, "signed_copy", *signed_copy) if signed_copy else None
        insert_once(
            s,
            AgreementConfirmation(
                agreement_id=a.id,
                party=party.value,
                user_id=actor.user_id,
                role=actor.role,
                pdf_sha256=a.pdf_sha256,
                signed_copy_attachment_id=copy.id if copy else None,
            ),
            f"{PARTY_LABELS[party]} already confirmed version {a.version}",
            "party",
        )
        record(
            s,
            action="confirm_agreement",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={
                "version": a.version,
                "party": party.value,
                "pdf_sha256": a.pdf_sha256,
                "on_behalf": on_behalf_of_talent,
            },
        )
        done = set(s.scalars(select(AgreementConfirmation.party).where(AgreementConfirmation.agreement_id == a.id)))
        if done >= {p.value for p in PARTIES}:
            _put_in_force(s, actor, e, m, a)
        s.flush()
        s.refresh(e)
        return engagement_view(s, e, m, d)


def _put_in_force(s: Session, actor: Actor, e: Engagement, m: Match, a: Agreement) -> None:
    """Every party confirmed ``a``: it governs the engagement, which starts if it had not (its match then
    moves to ``engaged``); a compare-and-set on the version's state, so two last confirmations cannot both."""
    won = s.execute(
        update(Agreement)
        .where(Agreement.id == a.id, Agreement.status == AgreementStatus.DRAFT)
        .values(status=AgreementStatus.CONFIRMED)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this version changed meanwhile", field="status")
    values: dict[str, Any] = {
        "start_date": date.fromisoformat(a.terms["start"]),
        "end_date": date.fromisoformat(a.terms["end"]),
        "days_on_site_per_month": int(a.terms["days_on_site_per_month"]),
    }
    if e.status == EngagementStatus.AWAITING_AGREEMENT:
        values.update(status=EngagementStatus.ACTIVE.value, started_at=datetime.now(UTC))
    s.execute(
        update(Engagement).where(Engagement.id == e.id).values(**values).execution_options(synchronize_session=False)
    )
    if m.status == MatchStatus.APPROVED:
        change_state(s, Match, m.id, MATCH_TRANSITIONS, "engage", SYSTEM, m.status)
        record(
            s,
            action="engage",
            entity="match",
            entity_id=m.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            before={"status": m.status},
            after={"status": MatchStatus.ENGAGED.value},
        )
        record_decision(s, "confirmed", m.demand_id, m.talent_id, m.mode, actor.user_id)
    record(
        s,
        action="agreement_in_force",
        entity="engagement",
        entity_id=e.id,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        after={"version": a.version},
    )


# ------------------------------------------------------------------ changing, the scan, ending early
def change_terms(
    db: Database, actor: Actor, engagement_id: int, changes: dict[str, Any], reason: str
) -> EngagementView:
    """A new version with ``changes`` applied to the current terms (the old one superseded and kept)."""
    if actor.role not in (Role.ENTERPRISE, Role.INTERMEDIARY, Role.OFFICIAL, Role.ADMIN):
        raise Forbidden("the enterprise, the intermediary or the office changes an agreement")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(
            f"'{unknown[0]}' is not a term that can be changed (one of {', '.join(EDITABLE)})", field=unknown[0]
        )
    if not changes:
        raise Invalid("no term to change", field="changes")
    if not reason.strip():
        raise Invalid("a new version needs the reason for the change", field="reason")
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        if actor.role == Role.OFFICIAL:
            require_grading_office(actor, grading_office(m, s, d))
        if e.status in (EngagementStatus.ENDED, EngagementStatus.ENDED_EARLY):
            raise Conflict(f"the engagement has {e.status}", field="status")
        old = current_agreement(s, e.id)
        terms = {**old.terms, **{k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()}}
        if isinstance(terms.get("tasks"), str):
            terms["tasks"] = _lines(terms["tasks"])
        if isinstance(terms.get("indicators"), str):
            terms["indicators"] = _lines(terms["indicators"])
        version = old.version + 1
        pdf, digest = _pdf(s, e, m, d, terms, version)  # Invalid (naming the field) before anything is written
        s.execute(
            update(Agreement)
            .where(Agreement.id == old.id, Agreement.status != AgreementStatus.SUPERSEDED)
            .values(status=AgreementStatus.SUPERSEDED)
            .execution_options(synchronize_session=False)
        )
        insert_once(
            s,
            Agreement(
                engagement_id=e.id,
                version=version,
                status=AgreementStatus.DRAFT.value,
                terms=terms,
                pdf=pdf,
                pdf_sha256=digest,
                change_reason=reason.strip(),
                created_by=actor.user_id,
            ),
            f"version {version} was made meanwhile: read the agreement again",
            "version",
        )
        record(
            s,
            action="change_agreement",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            before={"version": old.version},
            after={"version": version, "changed": sorted(changes), "reason": reason.strip(), "pdf_sha256": digest},
        )
        return engagement_view(s, e, m, d)


def upload_scan(db: Database, actor: Actor, engagement_id: int, filename: str, data: bytes) -> EngagementView:
    """The signed and sealed scan (盖章扫描件) of the confirmed version, the final evidence."""
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        if actor.role not in (Role.ENTERPRISE, Role.INTERMEDIARY, Role.OFFICIAL, Role.ADMIN):
            raise Forbidden("the enterprise, the intermediary or the office uploads the signed scan")
        a = current_agreement(s, e.id)
        if a.status != AgreementStatus.CONFIRMED:
            raise Conflict(
                "the scan is of a version every party confirmed; this one awaits confirmations", field="status"
            )
        scan = store_attachment(s, actor, e.id, "scan", filename, data)
        s.execute(
            update(Agreement)
            .where(Agreement.id == a.id)
            .values(scan_attachment_id=scan.id)
            .execution_options(synchronize_session=False)
        )
        record(
            s,
            action="upload_scan",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"version": a.version, "sha256": scan.sha256},
        )
        s.flush()
        return engagement_view(s, e, m, d)


def end_early(db: Database, actor: Actor, engagement_id: int, reason: str,
              pool: TalentPool | None = None) -> EngagementView:
    """End a running engagement (or one still awaiting its agreement) with a reason; the talent's capacity in
    the mode is free again at once (``pool``) and in the other processes through the change feed."""
    if not reason.strip():
        raise Invalid("ending an engagement early needs a reason", field="reason")
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        if actor.role == Role.TALENT:
            raise Forbidden("the enterprise, the intermediary or the office ends an engagement")
        if actor.role == Role.OFFICIAL:
            require_grading_office(actor, grading_office(m, s, d))
        done = s.execute(
            update(Engagement)
            .where(
                Engagement.id == e.id,
                Engagement.status.in_((EngagementStatus.AWAITING_AGREEMENT, EngagementStatus.ACTIVE)),
            )
            .values(status=EngagementStatus.ENDED_EARLY, ended_at=datetime.now(UTC), end_reason=reason.strip())
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(f"the engagement is '{e.status}'", field="status")
        record(
            s,
            action="end_engagement",
            entity="engagement",
            entity_id=e.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            before={"status": e.status},
            after={"status": EngagementStatus.ENDED_EARLY.value, "reason": reason.strip()},
        )
        refresh_talents(s, pool, [m.talent_id])
        s.refresh(e)
        return engagement_view(s, e, m, d)


#: Why an engagement awaiting its agreement ended when the talent left the platform.
WITHDRAWN_REASON = "人才已退出平台，协议未生效"


def close_for_withdrawn_talents(s: Session, actor: Actor, talent_ids: list[int]) -> int:
    """The talents left the platform (``people/me.withdraw``, in its transaction, after the erasure): an
    engagement still awaiting its agreement ends — no contract was made — and its unconfirmed versions are
    rendered again, so the stored PDFs carry the pseudonym instead of the person's name. An agreement every
    party confirmed is a contract's record and is kept as signed (docs/privacy.md, "Retention"); its
    engagement goes on. Returns the engagements ended."""
    rows = s.execute(
        select(Engagement, Match, Demand)
        .join(Match, Match.id == Engagement.match_id)
        .join(Demand, Demand.id == Match.demand_id)
        .where(Match.talent_id.in_(talent_ids))
    ).all()
    ended = 0
    for e, m, d in rows:
        for a in s.scalars(select(Agreement).where(Agreement.engagement_id == e.id)):
            signed = set(s.scalars(select(AgreementConfirmation.party)
                                   .where(AgreementConfirmation.agreement_id == a.id)))
            if not signed >= {p.value for p in PARTIES}:  # never in force (a superseded contract is kept too)
                a.pdf, a.pdf_sha256 = _pdf(s, e, m, d, a.terms, a.version)
        if e.status != EngagementStatus.AWAITING_AGREEMENT:
            continue
        before = e.status
        e.status, e.ended_at, e.end_reason = EngagementStatus.ENDED_EARLY.value, datetime.now(UTC), WITHDRAWN_REASON
        record(s, action="end_engagement", entity="engagement", entity_id=e.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"status": before},
               after={"status": EngagementStatus.ENDED_EARLY.value, "reason": WITHDRAWN_REASON})
        ended += 1
    s.flush()
    return ended


def attachment(db: Database, actor: Actor, engagement_id: int, attachment_id: int) -> tuple[bytes, str, str]:
    with db.session() as s:
        e, _, _ = visible_engagement(s, actor, engagement_id)
        a = attachment_of(s, e.id, attachment_id)
        assert a is not None
        return a.data, a.filename, a.content_type
