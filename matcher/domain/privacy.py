"""Consent and the rules that follow from it (China's Personal Information Protection Law, 个人信息保护法).

Two separate consents, each recorded with the version of the text the talent agreed to:

- ``propose``: the platform may propose the talent to enterprises (ranking, proposal lists, rounds);
- ``contact``: after an official approves a match, the talent's phone and email are released to the
  enterprise and the intermediary of that demand.

A consent is ``pending`` (never asked: imported records), ``granted`` or ``withdrawn``. Who may be
proposed follows from it in one place, ``services/access.proposable_filter``. Pending talents
are proposed only when ``settings.propose_pending`` is on (the demo's default, see the README: the
lists the office imports were collected for this programme, and each talent is invited to decide at
first sign-in); a withdrawn or refused consent takes the talent out of the pool at once. Contact data is
released only on a granted ``contact`` consent — otherwise the intermediary is told to go through the
office. The texts live here so the console, the API and the audit all cite one version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from matcher.domain import modes

if TYPE_CHECKING:
    from matcher.storage.models import Talent


class Purpose(StrEnum):
    PROPOSE = "propose"
    CONTACT = "contact"


class ConsentState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


#: The first version of the consent texts, and the modes its propose text names. A mode registered later is
#: named by a newer version (``consent_version``); a talent's consent covers the modes of the version they
#: agreed to, so nobody is proposed in a mode they never heard of (``modes.consented_to``).
BASE_VERSION = "2026-12-v2"
BASE_MODES: tuple[str, ...] = ("tech_vp", "dual_appointment", "flexible")
#: The first version whose propose text says that the grades of the talent's past engagements on the platform
#: are used to rank them (a feature of the learned ranker, ``engine/ltr``). A talent who consented under an
#: earlier version is not scored on them (``uses_grades``) until they consent again under this text.
GRADES_VERSION = "2026-12-v2"
#: Every base version released, oldest first (the texts of each stay citable for the audit).
RELEASED_BASES: tuple[str, ...] = ("2026-11-v1", "2026-12-v2")


def uses_grades(version: str | None) -> bool:
    """Whether a propose consent given under ``version`` covers ranking by past engagements' grades."""
    base = (version or "").partition("+")[0]
    return base in RELEASED_BASES and RELEASED_BASES.index(base) >= RELEASED_BASES.index(GRADES_VERSION)


def consent_version() -> str:
    """The version of the texts for the modes registered now: the base version, or the base version with
    the codes of the modes it does not name (``2026-11-v1+joint_postdoc``)."""
    extra = [c for c in modes.codes() if c not in BASE_MODES]
    return BASE_VERSION if not extra else BASE_VERSION + "+" + "+".join(extra)


def modes_of_version(version: str | None) -> frozenset[str]:
    """The modes a propose consent given under ``version`` covers (unknown or missing: the base modes)."""
    extra = (version or BASE_VERSION).partition("+")[2]
    return frozenset(BASE_MODES) | frozenset(e for e in extra.split("+") if e)


def consent_text(purpose: str, version: str | None = None) -> str:
    """The text of one consent in one version (default: the current one)."""
    if purpose == Purpose.CONTACT:
        return _CONTACT_TEXT
    named = [c for c in (*BASE_MODES, *sorted(modes_of_version(version or consent_version()) - set(BASE_MODES),
                                               key=_registration_order))]
    text = _PROPOSE_TEXT.format(modes=modes.joined_labels(named))
    return text + _GRADES_TEXT if uses_grades(version or consent_version()) else text


def _registration_order(code: str) -> tuple[int, str]:
    order = modes.codes()
    return (order.index(code) if code in order else len(order), code)


_PROPOSE_TEXT = (
    "我同意省人才办“产业人才对接平台”使用我的姓名、单位、职称、研究方向、成果及本人填写的服务意向，"
    "用于向省内发榜企业推荐我作为{modes}人选。推荐列表仅向发榜企业、揭榜中介机构"
    "和审核人员展示，且不含我的联系方式。我可随时在本页撤回同意，撤回后立即停止推荐。")
_GRADES_TEXT = "我在平台上已完成合作的考核等次（优秀、良好、合格、不合格）也将用于改进推荐排序。"
_CONTACT_TEXT = (
    "我同意：在审核人员批准某一对接后，平台将我的手机号和电子邮箱提供给该需求的发榜企业和揭榜中介机构，"
    "仅用于就该需求与我联系。每一次查看和提供都会记入我可查阅的记录。我可随时撤回同意，"
    "撤回后平台不再提供我的联系方式，中介机构须经省人才办与我联系。")

LABELS: dict[str, str] = {
    ConsentState.PENDING: "尚未表态", ConsentState.GRANTED: "已同意", ConsentState.WITHDRAWN: "已撤回",
    Purpose.PROPOSE: "同意被推荐", Purpose.CONTACT: "同意审核通过后提供联系方式",
    "viewed": "查看了联系方式", "released": "审核通过，提供联系方式", "exported": "导出（含联系方式）",
    "self_export": "本人下载了全部数据",
}

#: What a withdrawn record keeps in place of the name (the id makes it traceable for the audit only).
PSEUDONYM = "已撤回人才#{id}"


def releases_contact(t: Talent) -> bool:
    return t.consent_contact == ConsentState.GRANTED and t.withdrawn_at is None
