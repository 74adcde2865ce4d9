"""The workflow in one place: states, allowed transitions, and which role may take each.

Demand: (incomplete →) open → taken_up → matched → closed, or withdrawn (from incomplete, open or taken_up);
        an open demand past its 揭榜 deadline is closed by the system (``expire``) and an official may
        extend it (``extend``: open again with a later deadline).
Match: shortlisted → submitted → [recommend at each first review step] → approved | rejected | returned
       (→ resubmitted → …) → engaged (every party confirmed the agreement) → outcome_reported →
       rewarded | not_rewarded (the engagement's first 奖补 decision).
       ``recommend`` keeps the state and advances ``review_step`` (a compare-and-set on that column, in
       ``services/workflow/review.py``); which office takes each step is the programme's rule.
Services call ``check`` before every change; an illegal transition raises ``Conflict`` naming the
current state, a role that may not act raises ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.domain.vocabulary import DemandStatus as D
from matcher.domain.vocabulary import MatchStatus as M
from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden

#: The actor of what the service does by itself (a demand expiring): no user, audited as 系统.
SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]


DEMAND_TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("edit", (D.OPEN, D.INCOMPLETE), "", (Role.ENTERPRISE,)),
    # an incomplete demand reaches the board: the enterprise's edit passed the threshold, or an official
    # lets it on as it is
    Transition("publish", (D.INCOMPLETE,), D.OPEN, (Role.ENTERPRISE, Role.OFFICIAL)),
    # the office sends it back to the enterprise with a note (it stays incomplete)
    Transition("return_demand", (D.INCOMPLETE,), "", (Role.OFFICIAL,)),
    Transition("withdraw", (D.OPEN, D.TAKEN_UP, D.INCOMPLETE), D.WITHDRAWN, (Role.ENTERPRISE,)),
    Transition("expire", (D.OPEN,), D.CLOSED, (SYSTEM,)),
    Transition("extend", (D.OPEN, D.CLOSED), D.OPEN, (Role.OFFICIAL,)),
    Transition("take_up", (D.OPEN,), D.TAKEN_UP, (Role.INTERMEDIARY,)),
    Transition("match", (D.TAKEN_UP, D.MATCHED), D.MATCHED, (Role.OFFICIAL,)),
    Transition("close", (D.MATCHED, D.TAKEN_UP, D.OPEN), D.CLOSED, (Role.ENTERPRISE, Role.OFFICIAL)),
)}

MATCH_TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("contact", (M.SHORTLISTED, M.REJECTED, M.RETURNED), "", (Role.INTERMEDIARY,)),  # "": unchanged
    Transition("answer", (M.SHORTLISTED, M.REJECTED, M.RETURNED), "", (Role.TALENT,)),  # the talent's own answer
    # a team match's members are named or removed before it goes to review (``services/workflow/teams``)
    Transition("team", (M.SHORTLISTED, M.REJECTED, M.RETURNED), "", (Role.INTERMEDIARY,)),
    Transition("submit", (M.SHORTLISTED,), M.SUBMITTED, (Role.INTERMEDIARY,)),
    Transition("resubmit", (M.REJECTED, M.RETURNED), M.RESUBMITTED, (Role.INTERMEDIARY,)),
    Transition("recommend", (M.SUBMITTED, M.RESUBMITTED), "", (Role.OFFICIAL,)),
    Transition("send_back", (M.SUBMITTED, M.RESUBMITTED), M.RETURNED, (Role.OFFICIAL,)),
    Transition("approve", (M.SUBMITTED, M.RESUBMITTED), M.APPROVED, (Role.OFFICIAL,)),
    Transition("reject", (M.SUBMITTED, M.RESUBMITTED), M.REJECTED, (Role.OFFICIAL,)),
    # 容缺: the intermediary supplies a missing item named at the review (any later state)
    Transition("supply", (M.SUBMITTED, M.RESUBMITTED, M.APPROVED, M.ENGAGED, M.OUTCOME_REPORTED), "",
               (Role.INTERMEDIARY,)),
    # the engagement starts when every party confirmed its agreement (``services/engagements/agreements.py``)
    Transition("engage", (M.APPROVED,), M.ENGAGED, (SYSTEM,)),
    Transition("report_outcome", (M.ENGAGED,), M.OUTCOME_REPORTED, (Role.ENTERPRISE, Role.INTERMEDIARY)),
    # the first 奖补 decision of the engagement (``services/engagements/rewards.py``): committed, or refused
    Transition("reward", (M.ENGAGED, M.OUTCOME_REPORTED, M.NOT_REWARDED), M.REWARDED, (Role.OFFICIAL, Role.ADMIN)),
    Transition("no_reward", (M.ENGAGED, M.OUTCOME_REPORTED), M.NOT_REWARDED, (Role.OFFICIAL, Role.ADMIN)),
)}

AWAITING_REVIEW = (M.SUBMITTED.value, M.RESUBMITTED.value)
#: Demands still on the board (open, or taken up and being worked on) and demands that ended.
LIVE_DEMANDS = (D.OPEN.value, D.TAKEN_UP.value)
ENDED_DEMANDS = (D.CLOSED.value, D.WITHDRAWN.value)
APPROVED_OR_LATER = (M.APPROVED.value, M.ENGAGED.value, M.OUTCOME_REPORTED.value, M.REWARDED.value,
                     M.NOT_REWARDED.value)


def check(table: dict[str, Transition], action: str, current: str, role: str, entity: str = "match") -> str:
    """Return the target state of ``action`` from ``current`` for ``role``, or raise."""
    t = table[action]
    if role not in t.roles:
        raise Forbidden(f"role '{role}' may not {action.replace('_', ' ')} a {entity}")
    if current not in t.sources:
        raise Conflict(f"cannot {action.replace('_', ' ')} a {entity} in state '{current}'", field="status")
    return t.target or current
