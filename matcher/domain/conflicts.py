"""Conflicts of interest as plain data: the kinds of declared relation, how an organisation's name is
normalised for matching, when a relation is in force, and which talents a set of relations excludes from
an enterprise's lists — with the reason users read.

Why here and not in the service: the rule table ("who is conflicted with this enterprise, and why") must
be readable and testable without a database; the service (``services/people/conflicts.py``) only fetches
the relations and the talents' organisations and hands them to ``talent_conflicts``.

The rule (the Shanxi and Shaanxi 科技副总 rules: no post at an enterprise “为拟选聘科技副总本人及所在高校、
科研院所创办或入股”):
- a talent's own relation to the enterprise — founded it, holds shares, is employed there, a family member
  works there — excludes the talent;
- an organisation's relation — the talent's university or institute (by affiliation or by a declared
  employment) founded the enterprise or holds shares in it — excludes the talent too;
- a relation ends on its ``ended_on``: employment, shares and a family member's post that ended before
  today no longer conflict (no cooling-off period); a start date in the future still conflicts (an agreed
  post is a tie already). Founding is a fact of history: ``founded`` conflicts whatever its end date
  (a founder who left keeps the tie the rule is about).

Names are matched exactly after normalisation (``normalise``), through each organisation's aliases —
never fuzzily: a near miss that silently excluded an expert, or silently let one through, could not be
explained. One institution under two names (太原理工大学 / 太原理工) is made one by an official's alias.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from matcher.errors import Invalid


class RelationKind(StrEnum):
    FOUNDED = "founded"  # 创办
    SHAREHOLDER = "shareholder"  # 入股
    EMPLOYED = "employed"  # 任职 (dated)
    FAMILY = "family"  # 亲属任职: a family member works there


class SubjectKind(StrEnum):
    """Who declared relation is held by (``Relation.subject_kind``)."""

    TALENT = "talent"
    INTERMEDIARY = "intermediary"
    USER = "user"  # an official (or another account) about themself
    ORGANISATION = "organisation"  # a university or institute that founded or holds shares in an enterprise


class OrganisationKind(StrEnum):
    ENTERPRISE = "enterprise"
    UNIVERSITY = "university"
    INSTITUTE = "institute"
    OTHER = "other"


RELATION_LABELS: Mapping[str, str] = {RelationKind.FOUNDED: "创办", RelationKind.SHAREHOLDER: "入股",
                                      RelationKind.EMPLOYED: "任职", RelationKind.FAMILY: "亲属任职"}
ORGANISATION_LABELS: Mapping[str, str] = {OrganisationKind.ENTERPRISE: "企业", OrganisationKind.UNIVERSITY: "高校",
                                          OrganisationKind.INSTITUTE: "科研院所", OrganisationKind.OTHER: "其他"}
#: What an organisation may hold in another (the Shaanxi rule's 创办或入股); employment and family are a
#: person's relations.
ORGANISATION_KINDS: tuple[str, ...] = (RelationKind.FOUNDED, RelationKind.SHAREHOLDER)
#: The order reasons are given in when a talent has several (the first is shown).
_ORDER: dict[str, int] = {k.value: i for i, k in enumerate(RelationKind)}
#: The longest name or alias kept (the column's width); a normalised form may be longer than what was typed
#: (NFKC expands some compatibility characters), so it is checked after normalising.
MAX_NAME = 200


def normalise(name: str) -> str:
    """The form names are compared in: full-width → half-width and compatibility forms folded (NFKC),
    letters case-folded, and everything that is not a letter, digit or mark dropped (spaces, punctuation,
    brackets, symbols, control characters). ``太原理工大学（TYUT）`` and ``太原理工大学 tyut`` are one name;
    ``太原理工`` is another until an official adds it as an alias."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LNM")


def like_pattern(normalised: str) -> str:
    """A SQL ``LIKE`` pattern every stored text that normalises to ``normalised`` matches (a superset,
    filtered exactly in Python afterwards): its CJK characters in order with anything between them — NFKC
    leaves CJK ideographs as they are, so they appear literally in the stored text. Without a CJK
    character (a Latin-only name) the pattern matches every non-empty text."""
    cjk = [c for c in normalised if "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf"]
    return "%" + "%".join(cjk) + "%" if cjk else "%_%"


def checked_name(name: str, field: str) -> str:
    """The normalised form of a name a user gave, or ``Invalid`` naming ``field``."""
    key = normalise(name)
    if not key:
        raise Invalid(f"{field} has no letter or digit to match an organisation by", field=field)
    if len(key) > MAX_NAME:
        raise Invalid(f"{field} is longer than {MAX_NAME} characters once normalised", field=field)
    return key


def check_relation(kind: str, started_on: date | None, ended_on: date | None, organisation_level: bool = False
                   ) -> None:
    """A relation's own rules (the organisation it points at is the service's to resolve): a known kind,
    one an organisation may hold when the subject is an organisation, and no end before the start."""
    if kind not in RELATION_LABELS:
        raise Invalid(f"unknown relation kind '{kind}' (one of {', '.join(RelationKind)})", field="kind")
    if organisation_level and kind not in ORGANISATION_KINDS:
        raise Invalid(f"an organisation's relation is {' or '.join(ORGANISATION_KINDS)}, not '{kind}'", field="kind")
    if started_on is not None and ended_on is not None and ended_on < started_on:
        raise Invalid("ended_on must not be before started_on", field="ended_on")


def rank_of(kind: str) -> int:
    """Where a relation of this kind comes when several are named (founded first, family last)."""
    return _ORDER.get(kind, len(_ORDER))


def in_force(kind: str, ended_on: date | None, today: date) -> bool:
    """Whether a relation still conflicts (module docstring): founding always; the rest until they ended."""
    return kind == RelationKind.FOUNDED or ended_on is None or ended_on >= today


# ------------------------------------------------------------------ what users read
def describe(kind: str, who: str, org: str) -> str:
    """``人才本人入股该企业``: the relation as a Chinese phrase, ``who`` holding it towards ``org``."""
    if kind == RelationKind.FOUNDED:
        return f"{who}创办{org}"
    if kind == RelationKind.SHAREHOLDER:
        return f"{who}入股{org}"
    if kind == RelationKind.EMPLOYED:
        return f"{who}在{org}任职"
    return f"{who}亲属在{org}任职"


def own_reason(kind: str) -> str:
    """Why a talent's own relation excludes them from the enterprise's lists."""
    return describe(kind, "人才" if kind == RelationKind.FAMILY else "人才本人", "该企业") + "（利益冲突）"


def organisation_reason(kind: str, unit: str) -> str:
    """Why the talent's unit's relation excludes them: ``人才所在单位太原理工大学入股该企业（利益冲突）``."""
    return describe(kind, f"人才所在单位{unit}", "该企业") + "（利益冲突）"


# ------------------------------------------------------------------ the rule table
@dataclass(frozen=True)
class Declared:
    """One declared relation as the rule reads it."""

    subject_kind: str
    subject_id: int
    organisation_id: int
    kind: str
    started_on: date | None = None
    ended_on: date | None = None


def talent_conflicts(enterprise_orgs: Iterable[int], relations: Iterable[Declared],
                     talent_units: Mapping[int, Iterable[int]], unit_names: Mapping[int, str],
                     today: date) -> dict[int, str]:
    """Talent id → the reason they are excluded from the enterprise whose organisations are
    ``enterprise_orgs``. ``relations`` are the relations pointing at those organisations (any subject);
    ``talent_units`` says which organisations each talent belongs to (affiliation or employment in force),
    for the organisations that hold a relation; ``unit_names`` names those organisations. A talent with
    several reasons gets the first: their own relations before their unit's, then founded, shareholder,
    employed, family."""
    targets = set(enterprise_orgs)
    live = sorted((r for r in relations if r.organisation_id in targets and in_force(r.kind, r.ended_on, today)),
                  key=lambda r: (rank_of(r.kind), r.subject_id))
    out: dict[int, str] = {}
    for r in live:
        if r.subject_kind == SubjectKind.TALENT:
            out.setdefault(r.subject_id, own_reason(r.kind))
    held: dict[int, str] = {}  # unit → its strongest relation to the enterprise
    for r in live:
        if r.subject_kind == SubjectKind.ORGANISATION and r.kind in ORGANISATION_KINDS:
            held.setdefault(r.subject_id, r.kind)
    if held:
        for tid in sorted(talent_units):
            units = sorted((u for u in talent_units[tid] if u in held), key=lambda u: (rank_of(held[u]), u))
            if units and tid not in out:
                out[tid] = organisation_reason(held[units[0]], unit_names.get(units[0], f"#{units[0]}"))
    return out
