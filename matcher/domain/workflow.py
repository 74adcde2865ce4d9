"""The workflow in one place: states, allowed transitions, and which role may take each.

Demand: open → taken_up → matched → closed, or withdrawn (from open or taken_up).
Match: shortlisted → submitted → approved | rejected (→ resubmitted → approved | rejected)
       → engaged → outcome_reported → rewarded | not_rewarded.
Services call ``check`` before every change; an illegal transition raises ``Conflict`` naming the
current state, a role that may not act raises ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.domain.vocabulary import DemandStatus as D
from matcher.domain.vocabulary import MatchStatus as M
from matcher.domain.vocabulary import Role
from matcher.errors import Conflict, Forbidden


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]


DEMAND_TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("edit", (D.OPEN,), D.OPEN, (Role.ENTERPRISE,)),
    Transition("withdraw", (D.OPEN, D.TAKEN_UP), D.WITHDRAWN, (Role.ENTERPRISE,)),
    Transition("take_up", (D.OPEN,), D.TAKEN_UP, (Role.INTERMEDIARY,)),
    Transition("match", (D.TAKEN_UP, D.MATCHED), D.MATCHED, (Role.OFFICIAL,)),
    Transition("close", (D.MATCHED, D.TAKEN_UP, D.OPEN), D.CLOSED, (Role.ENTERPRISE, Role.OFFICIAL)),
)}

MATCH_TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("contact", (M.SHORTLISTED, M.REJECTED), "", (Role.INTERMEDIARY,)),  # "" = state unchanged
    Transition("answer", (M.SHORTLISTED, M.REJECTED), "", (Role.TALENT,)),  # the talent's own answer
    Transition("submit", (M.SHORTLISTED,), M.SUBMITTED, (Role.INTERMEDIARY,)),
    Transition("resubmit", (M.REJECTED,), M.RESUBMITTED, (Role.INTERMEDIARY,)),
    Transition("approve", (M.SUBMITTED, M.RESUBMITTED), M.APPROVED, (Role.OFFICIAL,)),
    Transition("reject", (M.SUBMITTED, M.RESUBMITTED), M.REJECTED, (Role.OFFICIAL,)),
    Transition("confirm", (M.APPROVED,), M.ENGAGED, (Role.ENTERPRISE,)),
    Transition("report_outcome", (M.ENGAGED,), M.OUTCOME_REPORTED, (Role.ENTERPRISE, Role.INTERMEDIARY)),
    Transition("reward", (M.OUTCOME_REPORTED,), M.REWARDED, (Role.OFFICIAL,)),
    Transition("no_reward", (M.OUTCOME_REPORTED,), M.NOT_REWARDED, (Role.OFFICIAL,)),
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
