"""The inbox's kinds, one registry: what each to-do asks, of whom, and which recorded actions close it.

Every change of the workflow is recorded in the audit trail (``services/audit.record``) in the change's own
transaction; the inbox reads those events (``services/inbox/items.on_event``) and opens and closes items
by these rules, so an item exists exactly when its change committed, and a new workflow step is one entry
here. ``opens``: the recorded actions that open an item of this kind; ``closes``: the actions on the same
entity that close it (any of the audience acting closes it for all); a *notice* asks nothing and is closed
by reading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    """Who an item is for: one user, or everyone of an office, an enterprise or an intermediary; a talent's
    items go to the account of that talent record."""

    USER = "user"
    OFFICE = "office"
    ENTERPRISE = "enterprise"
    INTERMEDIARY = "intermediary"
    TALENT = "talent"


@dataclass(frozen=True)
class InboxKind:
    code: str
    label: str  # what users read: 待审核
    opens: tuple[str, ...]
    closes: tuple[str, ...] = ()
    notice: bool = False  # nothing to do: closed when read

    def title(self, subject: str) -> str:
        return f"{self.label}：{subject}"[:300]


REVIEW = InboxKind("review", "待审核", opens=("submit", "resubmit", "recommend"),
                   closes=("recommend", "approve", "reject", "send_back"))
REVISE = InboxKind("revise", "待修改后重新提交", opens=("send_back", "reject"), closes=("resubmit",))
CONFIRM_AGREEMENT = InboxKind("confirm_agreement", "待确认三方协议", opens=("draft_agreement", "change_agreement"),
                              closes=("confirm_agreement", "change_agreement", "end_engagement"))
PROPOSED = InboxKind("proposed", "您被推荐", opens=("shortlist",), notice=True)
APPROVED = InboxKind("approved", "您的对接已审核通过", opens=("approve",), notice=True)

#: Opened by the reminder sweep from the time limits (``services/inbox/reminders``), not by an event: a step
#: due soon reminds whoever owes it; an overdue step is escalated to the office above the one responsible.
#: Both are notices, and the sweep closes them once the step is taken.
DUE_SOON = InboxKind("due_soon", "即将到期", opens=(), notice=True)
OVERDUE = InboxKind("overdue", "逾期督办", opens=(), notice=True)

#: Opened by the alert job (``services/inbox/alerts``) from saved searches: a new demand matching an
#: intermediary's filters; a talent now in the top list of a demand its enterprise follows.
NEW_DEMAND = InboxKind("new_demand", "新需求提醒", opens=(), notice=True)
NEW_TALENT = InboxKind("new_talent", "新的匹配专家", opens=(), notice=True)
#: Opened when the talent's contact data is given to someone (the access log, ``services/access.log_access``):
#: once per recipient and demand, so the talent hears of it without opening the log.
CONTACT_SHARED = InboxKind("contact_shared", "您的联系方式已提供", opens=(), notice=True)

KINDS: dict[str, InboxKind] = {k.code: k for k in (REVIEW, REVISE, CONFIRM_AGREEMENT, PROPOSED, APPROVED,
                                                   DUE_SOON, OVERDUE, NEW_DEMAND, NEW_TALENT, CONTACT_SHARED)}
#: A demand's end (withdrawn by the enterprise, closed, expired past its 揭榜 deadline): the to-dos about its
#: matches (a review, a revision) ask nothing any more and close.
ENDS_DEMAND: tuple[str, ...] = ("withdraw", "close", "expire")
#: The actions any kind listens to (the hook returns at once for every other event).
WATCHED: frozenset[str] = frozenset({*(a for k in KINDS.values() for a in (*k.opens, *k.closes)), *ENDS_DEMAND})


def label(code: str) -> str:
    return KINDS[code].label if code in KINDS else code
