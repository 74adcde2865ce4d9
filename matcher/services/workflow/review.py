"""Review in steps, as the programme's rules say (``domain/programmes.py``): 初审 by the enterprise's city or
county office (recommend, or send back with a reason), 终审 by the province (approve or reject), or one
审核 where the programme has a single step — and 容缺, a submission accepted with named missing items.

Decisions:

- *Which rules.* A match is reviewed under the programme its demand was posted into when that programme
  covers the match's mode, else the mode's default programme (a mode no programme covers at all — one
  registered after the file was written — has one 审核 by the province: ``ProgrammeSet.unconfigured``);
  the key and version are written on the match when it is submitted, and every decision's audit event
  names them (``programme: key@version``). A match submitted before steps existed (no key) takes its
  programme the same way at its first decision.
- *Who takes a step.* The office at the step's level whose area holds the enterprise's county
  (``OfficeTree.office_at``): 长治市's office for the 市级初审 of an enterprise in 潞城区, the province for
  终审. Exactly that office — a province official cannot take a city's first review (that is the point of
  two steps), and a city official cannot take the province's final one; either gets 409 naming the office
  whose step it is. An enterprise whose county nobody recorded is the province's at every step (no lower
  office can be named), as in ``access.in_area``.
- *Exactly one winner.* Every decision is a compare-and-set on the match's state *and* its ``review_step``
  (``transitions.change_state`` with ``Match.review_step == step``): two officials of the office deciding
  the same step at once — recommend and send back, approve and reject — change the row once; the other gets
  409 naming what it found. ``recommend`` keeps the state and moves ``review_step`` on; a send-back or a
  rejection stops the match (``returned`` / ``rejected``), and a resubmission starts again at step 0.
- *Grading.* The final approval records the approving office, and the grading office: the office at the
  programme's ``graded_by`` level (by default the final step's, i.e. the approving office). The 奖补 decision
  is that office's (``matches.decide_reward``).
- *容缺.* An official recommending or approving may name missing items and the date they are promised for
  (承诺); they show on the match until the intermediary supplies each one, and the 督查 list counts them
  due, due soon or overdue against that date (``programme/deadlines.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.domain.offices import Office, office_tree
from matcher.domain.programmes import (
    ACTIONS,
    APPROVE,
    FINAL_ACTIONS,
    RECOMMEND,
    REJECT,
    SEND_BACK,
    Programme,
    ProgrammeSet,
    ReviewStep,
    needs_reason,
)
from matcher.domain.workflow import AWAITING_REVIEW, MATCH_TRANSITIONS
from matcher.errors import Conflict, Invalid
from matcher.services.access import Actor
from matcher.storage.models import Demand, Enterprise, Match

#: Missing items one decision may name, and the length of each: a short list of documents, not a text.
MAX_MISSING_ITEMS = 20
MAX_ITEM_CHARS = 200


@dataclass(frozen=True)
class StepAt:
    """The review step a match waits at: its index, the step's rule, the office that takes it."""

    index: int
    step: ReviewStep
    office: Office
    programme: Programme

    @property
    def label(self) -> str:
        """What users read: 长治市 市级初审."""
        return f"{self.office.display_name} {self.step.label}"


def programme_for(rules: ProgrammeSet, demand_programme: str | None, mode: str) -> Programme:
    """The programme a match in ``mode`` on a demand posted into ``demand_programme`` is handled under."""
    if demand_programme and demand_programme in rules:
        named = rules.get(demand_programme)
        if named.covers(mode):
            return named
    default = rules.default_for(mode)
    if default is None and not rules.for_mode(mode):
        return rules.unconfigured(mode)
    if default is None:
        raise Conflict(f"no programme takes matches in mode '{mode}' without enrolment: the demand must be posted "
                       "into one of " + ", ".join(p.key for p in rules.for_mode(mode)), field="mode")
    return default


def match_programme(rules: ProgrammeSet, m: Match, d: Demand) -> Programme:
    """The programme the match was submitted under (its key, while the file still has it), else as
    ``programme_for`` chooses."""
    if m.programme_key and m.programme_key in rules and rules.get(m.programme_key).covers(m.mode):
        return rules.get(m.programme_key)
    if m.programme_key == "unconfigured" and not rules.for_mode(m.mode):
        return rules.unconfigured(m.mode)
    return programme_for(rules, d.programme, m.mode)


def step_at(rules: ProgrammeSet, m: Match, d: Demand, county_code: str | None) -> StepAt | None:
    """The step the match waits at, or None when it is not in review."""
    if m.status not in AWAITING_REVIEW:
        return None
    programme = match_programme(rules, m, d)
    steps = programme.rules_for(m.mode).review
    index = min(max(m.review_step or 0, 0), len(steps) - 1)  # a file with fewer steps now: its last one
    step = steps[index]
    return StepAt(index, step, office_tree().office_at(county_code, step.level), programme)


def county_of(session: Session, d: Demand) -> str | None:
    return session.scalar(select(Enterprise.county_code).where(Enterprise.id == d.enterprise_id))


def acting_office(actor: Actor) -> str:
    """The code of the office the actor acts for (the province when none is recorded)."""
    return actor.office_code or office_tree().province.code


def check_decision(decision: str, reason: str, missing_items: Sequence[str] | None,
                   promised_by: date | None, today: date) -> list[str]:
    """The request's own consistency (422s, before any read): a known action, a reason where one is due,
    容缺 items only with a passing decision and with a promised date not in the past. Returns the items,
    stripped and without repeats."""
    if decision not in ACTIONS:
        raise Invalid(f"decision must be one of {', '.join(ACTIONS)}", field="decision")
    if needs_reason(decision) and not reason.strip():
        raise Invalid(f"'{decision}' needs a reason the intermediary can act on", field="reason")
    items: list[str] = []
    for raw in missing_items or ():
        item = raw.strip()
        if not item:
            raise Invalid("a missing item needs a name (the document or fact still to come)", field="missing_items")
        if len(item) > MAX_ITEM_CHARS:
            raise Invalid(f"a missing item is at most {MAX_ITEM_CHARS} characters", field="missing_items")
        if item not in items:
            items.append(item)
    if len(items) > MAX_MISSING_ITEMS:
        raise Invalid(f"at most {MAX_MISSING_ITEMS} missing items", field="missing_items")
    if items and decision not in (RECOMMEND, APPROVE):
        raise Invalid("missing items (容缺) go with a recommendation or an approval, not with "
                      f"'{decision}'", field="missing_items")
    if items and promised_by is None:
        raise Invalid("容缺 needs the date the missing items are promised for", field="promised_by")
    if promised_by is not None and not items:
        raise Invalid("a promised date goes with the missing items it is for", field="promised_by")
    if promised_by is not None and promised_by < today:
        raise Invalid(f"the promised date {promised_by.isoformat()} is in the past", field="promised_by")
    return items


def check_step(at: StepAt | None, actor: Actor, decision: str, status: str) -> StepAt:
    """409 unless the match waits at a step the actor's office takes and the step allows ``decision``."""
    if at is None:
        raise Conflict(f"cannot {decision.replace('_', ' ')} a match in state '{status}' (not in review)",
                       field="status")
    if at.office.code != acting_office(actor):
        raise Conflict(f"this match awaits {at.label} ({at.office.code}); your office "
                       f"({acting_office(actor)}) does not take that step", field="review_step")
    if not at.step.allows(decision):
        raise Conflict(f"{at.label} may {' or '.join(at.step.actions)}, not '{decision}'", field="decision")
    return at


def decision_values(at: StepAt, decision: str, reason: str, county_code: str | None, items: list[str],
                    promised_by: date | None, m: Match) -> dict[str, Any]:
    """The columns the decision writes (in the compare-and-set itself)."""
    values: dict[str, Any] = {"review_reason": reason, "programme_key": at.programme.key,
                              "programme_version": at.programme.version}
    if decision == RECOMMEND:
        values["review_step"] = at.index + 1
    if decision in FINAL_ACTIONS and decision == APPROVE:
        grading = at.programme.rules_for(m.mode).graded_by
        values["approved_by_office"] = at.office.code
        values["graded_by_office"] = office_tree().office_at(county_code, grading).code
    if items:
        kept = [dict(i) for i in (m.missing_items or [])]
        known = {i.get("item") for i in kept}
        kept += [{"item": i, "supplied_at": None} for i in items if i not in known]
        values["missing_items"] = kept
        values["promised_by"] = promised_by
    return values


def audit_after(at: StepAt, decision: str, target: str, reason: str, items: list[str],
                promised_by: date | None) -> dict[str, Any]:
    after: dict[str, Any] = {"status": target, "reason": reason, "step": at.index, "step_label": at.label,
                             "office": at.office.code, "programme": str(at.programme.identity)}
    if items:
        after["missing_items"] = items
        after["promised_by"] = promised_by.isoformat() if promised_by else None
    return after


def learning_kind(decision: str) -> str | None:
    """What a decision tells learning to rank: a pass at the final step, a stop at any step."""
    return {APPROVE: "approved", REJECT: "rejected", SEND_BACK: "rejected"}.get(decision)


def supplied(items: list[dict[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """The missing items with ``names`` marked supplied now; 422 naming an item the match does not list, 409
    for one already supplied."""
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        raise Invalid("name the missing items supplied", field="items")
    listed = {i.get("item"): i for i in items}
    now = datetime.now(UTC).isoformat()
    out = [dict(i) for i in items]
    for name in wanted:
        if name not in listed:
            raise Invalid(f"'{name}' is not among this match's missing items "
                          f"({', '.join(str(k) for k in listed) or 'none'})", field="items")
        if listed[name].get("supplied_at"):
            raise Conflict(f"'{name}' was supplied already", field="items")
        for i in out:
            if i.get("item") == name:
                i["supplied_at"] = now
    return out


def outstanding(items: list[dict[str, Any]] | None) -> list[str]:
    """The missing items not yet supplied."""
    return [str(i.get("item")) for i in items or [] if not i.get("supplied_at")]


assert {"recommend", "send_back", "approve", "reject", "supply"} <= set(MATCH_TRANSITIONS)
