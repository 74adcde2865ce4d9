"""What the engine knows of a talent and of a demand: plain, immutable data.

Why here and not in the engine: the mode rules (``domain/modes.py``) read these facts too, and the
services build them from database rows (``services/pool/facts.py``), so they belong below both. The
talent's declared fields (``domain/talent.py``) say which of its stored columns are copied here; the
rest are derived by the service (text, load, duplicates, consented modes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class TalentFacts:
    id: int
    external_id: str
    name: str
    text: str  # profile_text(): what the embedding model and the lexical index read
    institution_type: str = "other"
    title_level: str = "other"
    sector: str = "other"
    city: str = ""
    in_province: bool = True
    province_ties: tuple[str, ...] = ()
    mode_capacity: dict[str, int] = field(default_factory=dict)
    flexible_forms: tuple[str, ...] = ()
    load: dict[str, int] = field(default_factory=dict)  # current engagements on the platform, per mode
    external_engagements: int = 0
    patents: int = 0
    projects: int = 0
    employer_enterprise_id: int | None = None
    available_from: date | None = None
    available_until: date | None = None
    tier: str | None = None  # the programmes' talent tier (英才计划), a filter
    # Mean grade of the talent's graded engagement periods on the platform (优秀 1, 良好 2/3, 合格 1/3, 不合格 0);
    # None: none graded, or the talent's consent text does not cover ranking by grades (``privacy.uses_grades``).
    graded_history: float | None = None
    same_person: tuple[int, ...] = ()  # other records that probably hold this person (open duplicate pairs)
    # The modes the talent's consent to be proposed covers (the modes its text version named); None: every
    # mode (consent pending, proposed under the deployment's ``propose_pending`` policy).
    consented_modes: frozenset[str] | None = None


class Reasons(Mapping[int, str]):
    """An immutable, hashable talent id → reason map: ``DemandFacts`` is frozen and hashable (every other
    field is), and a plain dict would break both."""

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[int, str] | Iterable[tuple[int, str]] = ()) -> None:
        self._items: dict[int, str] = dict(items)
        self._hash: int | None = None

    def __getitem__(self, key: int) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[int]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._items.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"Reasons({self._items!r})"


NO_REASONS = Reasons()


@dataclass(frozen=True)
class DemandFacts:
    id: int
    text: str
    modes: tuple[str, ...] = ()  # the engagement modes the enterprise wants (domain/modes.py)
    city: str = ""
    sector: str = "other"
    enterprise_id: int | None = None
    can_host_joint_post: bool = False
    declined_talent_ids: frozenset[int] = frozenset()
    # Talents with a conflict of interest with the demand's enterprise (``domain/conflicts.py``): talent id →
    # the reason users read. Filled by ``services/pool/facts.demand_facts`` from the declared relations.
    conflicted_talents: Mapping[int, str] = NO_REASONS
