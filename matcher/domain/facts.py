"""What the engine knows of a talent and of a demand: plain, immutable data.

Why here and not in the engine: the mode rules (``domain/modes.py``) read these facts too, and the
services build them from database rows (``services/pool/facts.py``), so they belong below both. The
talent's declared fields (``domain/talent.py``) say which of its stored columns are copied here; the
rest are derived by the service (text, load, duplicates, consented modes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
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
    same_person: tuple[int, ...] = ()  # other records that probably hold this person (open duplicate pairs)
    # The modes the talent's consent to be proposed covers (the modes its text version named); None: every
    # mode (consent pending, proposed under the deployment's ``propose_pending`` policy).
    consented_modes: frozenset[str] | None = None


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
