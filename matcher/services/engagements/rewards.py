"""奖补 by rule within budgets.

- *Computed, not typed.* The grading office asks for a period's 奖补: the programme's rule for the mode
  (``domain/rewards.py``) computes it from the period's grade (no grade, no 奖补), the engagement year, the
  base (the salary the host paid, with its evidence uploaded, or the rule's fixed sum) and the host's
  eligibility; the rule's version and every step are kept with the amount. Within one engagement year the
  cap counts what earlier periods of that year were granted.
- *Overrides need a second official.* An official may change the amount with a reason (never above the
  rule's cap); the reward then waits for another official's approval before it can be committed.
- *Budgets never overspend.* Committing charges each share to its office's budget for the programme and
  year in one compare-and-set update per budget (``committed + paid + amount ≤ total`` in the WHERE clause):
  of two commitments that together would overspend, exactly one changes the row; the other is refused whole.
  Who commits: an official of an office whose budget carries a share (the budget holder). A batch commits
  each reward on its own and reports each result.
- *Paid.* Paying moves the amount from committed to paid in each budget. The match takes its first 奖补
  decision's state (rewarded / not rewarded) and the sum committed (``Match.reward_yuan``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from matcher.domain import engagements as periods
from matcher.domain import rewards as rule_math
from matcher.domain.offices import OfficeLevel, office_tree
from matcher.domain.programmes import programmes
from matcher.domain.rewards import Payee
from matcher.domain.vocabulary import Grade, Role
from matcher.domain.workflow import MATCH_TRANSITIONS
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.engagements.agreements import period_kind
from matcher.services.engagements.assessments import grade_of
from matcher.services.engagements.common import (
    attachment_of,
    engagement_scope,
    enterprise_county,
    grading_office,
    insert_once,
    require_grading_office,
    store_attachment,
    visible_engagement,
)
from matcher.services.learning.decisions import record_decision
from matcher.services.workflow.transitions import change_state
from matcher.storage.db import Database
from matcher.storage.models import Budget, Demand, Engagement, Match, MatchMember, Reward, Talent, iso
from matcher.validation import MAX_YUAN
from matcher.views import BudgetView, RewardStepView, RewardView, TeamShareView


def _team_shares(s: Session, e: Engagement) -> list[dict[str, Any]]:
    """A team's split of the talent's 奖补 as its agreement states it (lead first); empty for one talent."""
    m = s.get(Match, e.match_id)
    if m is None:
        return []
    rows = list(s.execute(select(MatchMember, Talent.name).join(Talent, Talent.id == MatchMember.talent_id)
                          .where(MatchMember.match_id == m.id).order_by(MatchMember.id)))
    if not rows:
        return []
    lead = s.get(Talent, m.talent_id)
    return [{"talent_id": m.talent_id, "name": lead.name if lead else "", "percent": 100 - sum(r.share_percent
                                                                                              for r, _ in rows)},
            *({"talent_id": r.talent_id, "name": name, "percent": r.share_percent} for r, name in rows)]


def team_split(r: Reward) -> list[TeamShareView]:
    """Each team member's part of the amount as it stands (an override moves every part with it)."""
    team = (r.computation or {}).get("team") or []
    if not team:
        return []
    parts = rule_math.split_by_percent(r.amount_yuan, [int(x["percent"]) for x in team])
    return [TeamShareView(talent_id=int(x["talent_id"]), name=str(x["name"]), percent=int(x["percent"]),
                          amount_yuan=part) for x, part in zip(team, parts, strict=True)]


def reward_view(r: Reward) -> RewardView:
    steps = r.computation.get("steps", [])
    return RewardView(
        team_split=team_split(r),
        id=r.id,
        engagement_id=r.engagement_id,
        period=r.period,
        year=r.year,
        programme_key=r.programme_key,
        rule_version=r.rule_version,
        payee=r.payee,
        grade=r.grade,
        base_yuan=r.base_yuan,
        computed_yuan=r.computed_yuan,
        amount_yuan=r.amount_yuan,
        amount_text=rule_math.wan(r.amount_yuan),
        steps=[RewardStepView(label=x["label"], value=x["text"], note=x.get("note", "")) for x in steps],
        shares=dict(r.shares or {}),
        status=r.status,
        override_reason=r.override_reason,
        override_by=r.override_by,
        override_approved_by=r.override_approved_by,
        paid_at=iso(r.paid_at),
        created_at=iso(r.created_at),
    )


def budget_view(b: Budget) -> BudgetView:
    return BudgetView(
        id=b.id,
        programme_key=b.programme_key,
        office_code=b.office_code,
        year=b.year,
        total_yuan=b.total_yuan,
        committed_yuan=b.committed_yuan,
        paid_yuan=b.paid_yuan,
        available_yuan=b.total_yuan - b.committed_yuan - b.paid_yuan,
    )


def _rule(e: Engagement) -> rule_math.RewardRule:
    rules = programmes()
    if e.programme_key not in rules or not rules.get(e.programme_key).covers(e.mode):
        raise Conflict(f"programme '{e.programme_key}' has no 奖补 rule for this mode", field="programme")
    found = rules.get(e.programme_key).rules_for(e.mode).reward
    if found is None:
        raise Conflict(f"programme '{e.programme_key}' pays no 奖补 by rule in mode '{e.mode}'", field="programme")
    return found


def _whole(value: object, field: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"{what} must be a whole number of yuan, at least 0", field=field)
    if value > MAX_YUAN:
        raise Invalid(f"{what} is above {MAX_YUAN} yuan", field=field)
    return value


def _share_offices(county: str | None, shares: dict[OfficeLevel, int]) -> dict[str, int]:
    """Level → yuan, as office code → yuan: the province, or the enterprise's city or county office."""
    tree = office_tree()
    out: dict[str, int] = {}
    for level, yuan in shares.items():
        code = tree.office_at(county, level).code
        out[code] = out.get(code, 0) + yuan
    return out


def _computation(
    rule: rule_math.RewardRule, grade: Grade, year: int, base: int | None, in_province: bool, granted_this_year: int
) -> tuple[rule_math.RewardComputation, int, list[dict[str, Any]]]:
    done = rule_math.compute(rule, grade=grade, engagement_year=year, base_yuan=base, in_province=in_province)
    steps = [{"label": x.label, "text": x.text, "note": x.note} for x in done.steps]
    amount = done.amount_yuan
    cap = rule.cap_yuan_per_year
    if cap is not None and granted_this_year and amount > cap - granted_this_year:
        amount = max(cap - granted_this_year, 0)
        steps.append(
            {
                "label": "本年度已核定",
                "text": rule_math.yuan_text(granted_this_year),
                "note": f"同一合作年度合计不超过{rule_math.yuan_text(cap)}，本期为{rule_math.yuan_text(amount)}",
            }
        )
    return done, amount, steps


def compute_reward(
    db: Database,
    actor: Actor,
    engagement_id: int,
    period: int,
    base_yuan: int | None = None,
    evidence: tuple[str, bytes] | None = None,
    evidence_id: int | None = None,
) -> RewardView:
    """The grading office computes a graded period's 奖补 by the programme's rule."""
    if base_yuan is not None:
        _whole(base_yuan, "base_yuan", "base_yuan")
    with db.session() as s:
        e, m, d = visible_engagement(s, actor, engagement_id)
        office = grading_office(m, s, d)
        require_grading_office(actor, office)
        rule = _rule(e)
        p = periods.period(e.start_date, e.end_date, period_kind(e), period)
        g = grade_of(s, e.id, p.number)
        if g is None:
            raise Conflict(f"period {p.number} has no grade: 奖补 follows the office's assessment", field="period")
        if rule.base == rule_math.SALARY and evidence is None and evidence_id is None:
            raise Invalid("a salary-based 奖补 needs the salary evidence uploaded", field="file")
        county = enterprise_county(s, d)
        granted = (
            s.scalar(
                select(func.coalesce(func.sum(Reward.amount_yuan), 0)).where(
                    Reward.engagement_id == e.id,
                    Reward.period != p.number,
                    Reward.status != "refused",
                    Reward.period.in_(
                        [
                            q.number
                            for q in periods.periods(e.start_date, e.end_date, period_kind(e))
                            if q.engagement_year == p.engagement_year
                        ]
                    ),
                )
            )
            or 0
        )
        done, amount, steps = _computation(
            rule,
            Grade(g.grade),
            p.engagement_year,
            base_yuan,
            county is not None and county in office_tree(),
            int(granted),
        )
        proof = (
            store_attachment(s, actor, e.id, "salary", *evidence)
            if evidence is not None
            else attachment_of(s, e.id, evidence_id, "salary", field="evidence_id")
        )
        shares = _share_offices(county, rule_math.split_shares(amount, rule.shares))
        r = Reward(
            engagement_id=e.id,
            period=p.number,
            year=p.end.year,
            programme_key=e.programme_key,
            rule_version=rule.version,
            payee=rule.payee.value,
            grade=g.grade,
            base_yuan=base_yuan,
            base_attachment_id=proof.id if proof else None,
            computed_yuan=amount,
            amount_yuan=amount,
            computation={
                "summary": done.summary,
                "steps": steps,
                "reason_zero": done.reason_zero,
                "capped": done.capped,
                "engagement_year": p.engagement_year,
                "rule_fingerprint": rule.fingerprint,
                **({"team": _team_shares(s, e)} if rule.payee == Payee.TALENT else {}),
            },
            shares=shares,
            status="computed",
            override_reason="",
            computed_by=actor.user_id,
        )
        insert_once(s, r, f"period {p.number}'s 奖补 is already computed", "period")
        record(
            s,
            action="compute_reward",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={
                "engagement": e.id,
                "period": p.number,
                "amount_yuan": amount,
                "rule_version": rule.version,
                "summary": done.summary,
            },
        )
        return reward_view(r)


def _visible_reward(s: Session, actor: Actor, reward_id: int) -> tuple[Reward, Engagement, Match, Demand]:
    r = s.get(Reward, reward_id)
    if r is None:
        raise NotFound(f"reward {reward_id} not found", field="reward_id")
    e, m, d = visible_engagement(s, actor, r.engagement_id)
    return r, e, m, d


def _set(s: Session, r: Reward, expected: str, **values: Any) -> None:
    """A compare-and-set on the reward's status: of two racing decisions, one changes the row."""
    done = s.execute(
        update(Reward)
        .where(Reward.id == r.id, Reward.status == expected)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        found = s.scalar(select(Reward.status).where(Reward.id == r.id))
        raise Conflict(f"the reward is '{found}', not '{expected}'", field="status")


def override(db: Database, actor: Actor, reward_id: int, amount_yuan: int, reason: str) -> RewardView:
    """An official changes the amount with a reason; a second official must approve it."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if not reason.strip():
        raise Invalid("an override needs its reason", field="reason")
    with db.session() as s:
        r, e, m, d = _visible_reward(s, actor, reward_id)
        require_grading_office(actor, grading_office(m, s, d))
        rule = _rule(e)
        if rule.version != r.rule_version:
            raise Conflict(
                f"the rule changed since this reward was computed ({r.rule_version} → {rule.version})",
                field="rule_version",
            )
        cap = rule.cap_yuan_per_year
        value = _whole(amount_yuan, "amount_yuan", "amount_yuan")
        if cap is not None and value > cap:
            raise Invalid(
                f"amount_yuan {value} is above the rule's cap of {cap} yuan a person a year", field="amount_yuan"
            )
        county = enterprise_county(s, d)
        _set(
            s,
            r,
            "computed",
            status="override_pending",
            amount_yuan=value,
            override_reason=reason.strip(),
            override_by=actor.user_id,
            override_approved_by=None,
            shares=_share_offices(county, rule_math.split_shares(value, rule.shares)),
        )
        record(
            s,
            action="override_reward",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            before={"amount_yuan": r.amount_yuan},
            after={"amount_yuan": value, "reason": reason.strip()},
        )
        s.refresh(r)
        return reward_view(r)


def review_override(db: Database, actor: Actor, reward_id: int, approve: bool) -> RewardView:
    """A second official approves the changed amount, or restores the computed one."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        r, e, m, d = _visible_reward(s, actor, reward_id)
        if r.override_by == actor.user_id:
            raise Forbidden("an override is approved by a second official, not the one who made it")
        require_grading_office(actor, grading_office(m, s, d))
        if approve:
            _set(s, r, "override_pending", status="computed", override_approved_by=actor.user_id)
        else:
            rule = _rule(e)
            county = enterprise_county(s, d)
            _set(
                s,
                r,
                "override_pending",
                status="computed",
                amount_yuan=r.computed_yuan,
                override_reason="",
                override_by=None,
                shares=_share_offices(county, rule_math.split_shares(r.computed_yuan, rule.shares)),
            )
        record(
            s,
            action="approve_override" if approve else "refuse_override",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"amount_yuan": r.amount_yuan},
        )
        s.refresh(r)
        return reward_view(r)


def _charge(s: Session, r: Reward) -> None:
    """Each share to its office's budget, or refuse the whole commitment (nothing is charged)."""
    for office, yuan in sorted((r.shares or {}).items()):
        if yuan <= 0:
            continue
        done = s.execute(
            update(Budget)
            .where(
                Budget.programme_key == r.programme_key,
                Budget.office_code == office,
                Budget.year == r.year,
                Budget.total_yuan - Budget.committed_yuan - Budget.paid_yuan >= yuan,
            )
            .values(committed_yuan=Budget.committed_yuan + yuan)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            b = s.scalar(
                select(Budget).where(
                    Budget.programme_key == r.programme_key, Budget.office_code == office, Budget.year == r.year
                )
            )
            name = office_tree().get(office).display_name if office in office_tree() else office
            if b is None:
                raise Conflict(f"{name} has no {r.year} budget for programme '{r.programme_key}'", field="budget")
            raise Conflict(
                f"{name}'s {r.year} budget has {b.total_yuan - b.committed_yuan - b.paid_yuan} yuan left; "
                f"this share is {yuan}",
                field="budget",
            )


def _holder(actor: Actor, r: Reward) -> None:
    if actor.role == Role.ADMIN:
        return
    require(actor, Role.OFFICIAL)
    mine = actor.office_code or office_tree().province.code
    holders = set((r.shares or {}).keys()) or {office_tree().province.code}
    if mine not in holders:
        raise Forbidden(
            f"the reward is committed by a budget holder ({', '.join(sorted(holders))}); yours is {mine}",
            field="office_code",
        )


def _decide_match(s: Session, actor: Actor, m: Match, committed: bool, r: Reward) -> None:
    """The match takes its first 奖补 decision's state, and the sum committed."""
    total = (
        s.scalar(
            select(func.coalesce(func.sum(Reward.amount_yuan), 0))
            .join(Engagement, Engagement.id == Reward.engagement_id)
            .where(Engagement.match_id == m.id, Reward.status.in_(("committed", "paid")))
        )
        or 0
    )
    s.execute(
        update(Match)
        .where(Match.id == m.id)
        .values(reward_yuan=int(total))
        .execution_options(synchronize_session=False)
    )
    current = s.scalar(select(Match.status).where(Match.id == m.id)) or m.status
    action = "reward" if committed and r.amount_yuan > 0 else "no_reward"
    if current in MATCH_TRANSITIONS[action].sources and not (action == "no_reward" and total > 0):
        change_state(s, Match, m.id, MATCH_TRANSITIONS, action, Role.OFFICIAL, current)
        if action == "reward":
            record_decision(s, "rewarded", m.demand_id, m.talent_id, m.mode, actor.user_id)


def commit(db: Database, actor: Actor, reward_id: int) -> RewardView:
    """The budget holder approves a computed reward: its shares are charged to the budgets."""
    with db.session() as s:
        r, _, m, _ = _visible_reward(s, actor, reward_id)
        _holder(actor, r)
        _set(s, r, "computed", status="committed", committed_by=actor.user_id)
        _charge(s, r)
        _decide_match(s, actor, m, True, r)
        record(
            s,
            action="commit_reward",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"amount_yuan": r.amount_yuan, "shares": r.shares},
        )
        s.refresh(r)
        return reward_view(r)


def commit_batch(db: Database, actor: Actor, reward_ids: list[int]) -> list[dict[str, Any]]:
    """Each reward committed on its own (one refused does not hold the others back); a result per id."""
    if not reward_ids:
        raise Invalid("name at least one reward", field="reward_ids")
    if len(reward_ids) > 500:
        raise Invalid("at most 500 rewards at once", field="reward_ids")
    out: list[dict[str, Any]] = []
    for rid in dict.fromkeys(reward_ids):
        try:
            view = commit(db, actor, rid)
            out.append({"reward_id": rid, "ok": True, "status": view.status, "amount_yuan": view.amount_yuan})
        except (Conflict, Forbidden, NotFound) as exc:
            out.append({"reward_id": rid, "ok": False, "error": exc.message, "field": exc.field})
    return out


def refuse(db: Database, actor: Actor, reward_id: int, reason: str) -> RewardView:
    if not reason.strip():
        raise Invalid("refusing a reward needs a reason", field="reason")
    with db.session() as s:
        r, _, m, _ = _visible_reward(s, actor, reward_id)
        _holder(actor, r)
        _set(s, r, "computed", status="refused", override_reason=reason.strip())
        _decide_match(s, actor, m, False, r)
        record(
            s,
            action="refuse_reward",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"reason": reason.strip()},
        )
        s.refresh(r)
        return reward_view(r)


def pay(db: Database, actor: Actor, reward_id: int) -> RewardView:
    """Record the payment: committed → paid in each budget."""
    with db.session() as s:
        r, _, _, _ = _visible_reward(s, actor, reward_id)
        _holder(actor, r)
        _set(s, r, "committed", status="paid", paid_at=datetime.now(UTC))
        for office, yuan in (r.shares or {}).items():
            if yuan > 0:
                s.execute(
                    update(Budget)
                    .where(Budget.programme_key == r.programme_key, Budget.office_code == office, Budget.year == r.year)
                    .values(committed_yuan=Budget.committed_yuan - yuan, paid_yuan=Budget.paid_yuan + yuan)
                    .execution_options(synchronize_session=False)
                )
        record(
            s,
            action="pay_reward",
            entity="reward",
            entity_id=r.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            after={"amount_yuan": r.amount_yuan},
        )
        s.refresh(r)
        return reward_view(r)


def list_rewards(
    db: Database,
    actor: Actor,
    *,
    engagement_id: int | None = None,
    status: str | None = None,
    year: int | None = None,
    programme: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[RewardView], int]:
    stmt = (
        select(Reward)
        .join(Engagement, Engagement.id == Reward.engagement_id)
        .join(Match, Match.id == Engagement.match_id)
        .join(Demand, Demand.id == Match.demand_id)
        .where(engagement_scope(actor))
    )
    if engagement_id is not None:
        stmt = stmt.where(Reward.engagement_id == engagement_id)
    if status:
        stmt = stmt.where(Reward.status == status)
    if year is not None:
        stmt = stmt.where(Reward.year == year)
    if programme:
        stmt = stmt.where(Reward.programme_key == programme)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(Reward.id).limit(limit).offset(offset))
        return [reward_view(r) for r in rows], total


# ------------------------------------------------------------------ budgets
def set_budget(
    db: Database, actor: Actor, programme: str, office_code: str | None, year: int, total_yuan: int
) -> BudgetView:
    """Create or change a budget of the caller's office (the province may set any office's). A total below
    what is committed and paid is refused."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    programmes().require(programme)
    tree = office_tree()
    code = office_code or actor.office_code or tree.province.code
    if code not in tree:
        raise Invalid(f"unknown office '{code}'", field="office_code")
    mine = actor.office_code or tree.province.code
    if actor.role != Role.ADMIN and mine != code and mine != tree.province.code:
        raise Forbidden(f"an office sets its own budgets; yours is {mine}", field="office_code")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid("year must be between 2000 and 2100", field="year")
    total = _whole(total_yuan, "total_yuan", "total_yuan")
    with db.session() as s:
        b = s.scalar(
            select(Budget).where(Budget.programme_key == programme, Budget.office_code == code, Budget.year == year)
        )
        if b is None:
            b = Budget(
                programme_key=programme, office_code=code, year=year, total_yuan=total, committed_yuan=0, paid_yuan=0
            )
            insert_once(s, b, "this budget was created meanwhile: change it instead", "year")
            before = None
        else:
            done = s.execute(
                update(Budget)
                .where(Budget.id == b.id, Budget.committed_yuan + Budget.paid_yuan <= total)
                .values(total_yuan=total)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise Conflict(
                    f"the budget has {b.committed_yuan + b.paid_yuan} yuan committed or paid; the total "
                    "cannot go below it",
                    field="total_yuan",
                )
            before = {"total_yuan": b.total_yuan}
            s.refresh(b)
        record(
            s,
            action="set_budget",
            entity="budget",
            entity_id=b.id,
            actor_user_id=actor.user_id,
            actor_role=actor.role,
            before=before,
            after={"total_yuan": total, "office": code, "year": year},
        )
        return budget_view(b)


def list_budgets(db: Database, actor: Actor, year: int | None = None, programme: str | None = None
                 ) -> list[BudgetView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    tree = office_tree()
    with db.session() as s:
        stmt = select(Budget).order_by(Budget.year, Budget.programme_key, Budget.office_code)
        if year is not None:
            stmt = stmt.where(Budget.year == year)
        if programme:
            stmt = stmt.where(Budget.programme_key == programmes().require(programme).key)
        mine = actor.office_code
        return [
            budget_view(b)
            for b in s.scalars(stmt)
            if actor.role == Role.ADMIN or mine is None or tree.contains(mine, b.office_code)
        ]


def finance_rows(db: Database, actor: Actor, year: int | None = None) -> list[dict[str, Any]]:
    """The committed and paid rewards as rows for finance's spreadsheet (the route writes them safely)."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    items, _ = list_rewards(db, actor, year=year, limit=100000)
    with db.session() as s:
        out = []
        for r in items:
            if r.status not in ("committed", "paid"):
                continue
            e, _, d = visible_engagement(s, actor, r.engagement_id)
            out.append(
                {
                    "奖补编号": r.id,
                    "合作编号": e.id,
                    "需求": d.title,
                    "项目": r.programme_key,
                    "年度": r.year,
                    "期次": r.period,
                    "考核等次": r.grade,
                    "收款方": r.payee,
                    "金额（元）": r.amount_yuan,
                    "核算说明": " ".join(f"{x.label}{x.value}" for x in r.steps),
                    "调整原因": r.override_reason,
                    "状态": r.status,
                    "拨付时间": r.paid_at or "",
                    **{f"分担-{k}": v for k, v in r.shares.items()},
                }
            )
        return out
