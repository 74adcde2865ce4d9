"""SQLAlchemy 2 models.

Portable types only (no SQLite- or PostgreSQL-specific columns): lists and per-mode capacities are
``JSON``, which both back ends store natively. Workflow tables (matches, reviews, engagements,
outcomes) are here from the start so that the service issues add behaviour, not schema rework.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from matcher.domain.talent import profile_text
from matcher.domain.vocabulary import DemandStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC. SQLite returns naive datetimes (it keeps no zone) while a freshly
    written row still holds an aware one; both are UTC, so one spelling is given whatever the source."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON, dict[str, int]: JSON}


class Enterprise(Base):
    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    city: Mapped[str] = mapped_column(String(50), default="")
    # The county (GB/T 2260 code from the region file) the enterprise is located in: the city and county
    # offices whose area holds it see and act on its demands (``access.in_office_area``); None: the province.
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    industry_code: Mapped[str] = mapped_column(String(8), default="")
    # An enterprise with an R&D centre or a provincial lab can host a 双聘 post.
    can_host_joint_post: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    demands: Mapped[list[Demand]] = relationship(back_populates="enterprise")


class Intermediary(Base):
    __tablename__ = "intermediaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    city: Mapped[str] = mapped_column(String(50), default="")
    # The area it is registered for (a city or county code); None: the whole province.
    area_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Demand(Base):
    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    sector: Mapped[str] = mapped_column(String(20), default="other", index=True)
    industry_code: Mapped[str] = mapped_column(String(8), default="")
    keywords: Mapped[list[str]] = mapped_column(default=list)
    modes: Mapped[list[str]] = mapped_column(default=list)
    city: Mapped[str] = mapped_column(String(50), default="", index=True)
    budget_min: Mapped[float | None] = mapped_column(Float)  # 万元
    budget_max: Mapped[float | None] = mapped_column(Float)
    duration_months: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    proposals_wanted: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default=DemandStatus.OPEN.value, index=True)
    intermediary_id: Mapped[int | None] = mapped_column(ForeignKey("intermediaries.id"))
    # The programme (``data/programmes/*.json`` key) the demand was posted into; None: its modes' defaults.
    programme: Mapped[str | None] = mapped_column(String(40))
    # Structured parts of a demand worth posting, beside the description (``engine/completeness.py``).
    current_state: Mapped[str] = mapped_column(Text, default="", server_default="")
    target_indicators: Mapped[str] = mapped_column(Text, default="", server_default="")
    site_conditions: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The completeness score (0–100) at the last post or edit; below the threshold the demand waits in
    # the office's 待完善 queue (status ``incomplete``) instead of the board.
    completeness: Mapped[int | None] = mapped_column(Integer)
    # The official's note when sending a demand back to be completed, shown to the enterprise.
    office_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Why a demand is closed when the enterprise did not close it: ``expired`` (past its 揭榜 deadline).
    closed_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    enterprise: Mapped[Enterprise] = relationship(back_populates="demands")


class Talent(Base):
    __tablename__ = "talents"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    affiliation: Mapped[str] = mapped_column(String(200), default="")
    institution_type: Mapped[str] = mapped_column(String(20), default="other")
    title_level: Mapped[str] = mapped_column(String(20), default="other")
    title: Mapped[str] = mapped_column(String(50), default="")  # 教授, 研究员, 正高级工程师 ...
    discipline_codes: Mapped[list[str]] = mapped_column(default=list)
    sector: Mapped[str] = mapped_column(String(20), default="other", index=True)
    research_fields: Mapped[list[str]] = mapped_column(default=list)
    profile: Mapped[str] = mapped_column(Text)
    achievements: Mapped[str] = mapped_column(Text, default="")
    patents: Mapped[int] = mapped_column(Integer, default=0)
    projects: Mapped[int] = mapped_column(Integer, default=0)
    # Per-mode capacity the talent is willing to take, e.g. {"tech_vp": 1, "flexible": 2}.
    mode_capacity: Mapped[dict[str, int]] = mapped_column(default=dict)
    flexible_forms: Mapped[list[str]] = mapped_column(default=list)
    city: Mapped[str] = mapped_column(String(50), default="")
    in_province: Mapped[bool] = mapped_column(Boolean, default=True)
    province_ties: Mapped[list[str]] = mapped_column(default=list)  # TieKind values
    tie_detail: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    employer_enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    # Posts held outside this platform (e.g. already 科技副总 elsewhere): lowers tech_vp ranking.
    external_engagements: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Availability the talent states (None: open-ended); outside it the talent is not proposed.
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    tier: Mapped[str | None] = mapped_column(String(20), index=True)  # the programmes' talent tier (英才计划)
    # The talent's current consents (``consent.py``: pending / granted / withdrawn); the history of every
    # consent given or withdrawn, with the version of the text, is in ``consents``.
    consent_propose: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending", index=True)
    consent_contact: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    # The text version the current propose consent was given under: it covers the modes that version names.
    consent_propose_version: Mapped[str | None] = mapped_column(String(200))
    # Fields the talent corrected themselves → when: an import keeps them unless its row says to replace them.
    self_corrected: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    # Set when the talent withdrew: contact data erased, name pseudonymised, record kept for the audit.
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when an official merged this record into another one (the same person): never proposed again.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("talents.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    def embedding_text(self) -> str:
        """The text the embedding model and the lexical index read for this talent."""
        return profile_text(self.profile, self.research_fields or [], self.achievements)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"))
    intermediary_id: Mapped[int | None] = mapped_column(ForeignKey("intermediaries.id"))
    talent_id: Mapped[int | None] = mapped_column(ForeignKey("talents.id"), index=True)  # role "talent"
    # An official's office (province, city or county code); None: the province office.
    office_code: Mapped[str | None] = mapped_column(String(6))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Where the inbox's notifications go (``services/inbox``): set by an admin or by the user themselves.
    email: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[str] = mapped_column(String(20), default="")
    # {"email": true|false, "muted": [inbox kinds unsubscribed from]}
    notify_prefs: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)


class InboxItem(Base):
    """A to-do (or a notice) for whoever must act next: one user, or everyone of an office, an enterprise,
    an intermediary (``audience``); closed when the action it asks for is taken (by any of them). ``key`` is
    stable per event, so the same event never opens two items."""

    __tablename__ = "inbox_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    audience: Mapped[str] = mapped_column(String(20))  # user, office, enterprise, intermediary, talent
    audience_id: Mapped[str] = mapped_column(String(20), index=True)
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(300))
    link: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_action: Mapped[str] = mapped_column(String(40), default="")


class Notification(Base):
    """The outbox: one delivery of one inbox item over one channel to one target (an e-mail address, a
    webhook), written in the item's transaction; ``key`` is the delivery's stable id (the Message-ID, the
    webhook-id). Claimed with a compare-and-set and a lease, so each is sent by one worker."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_items.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending, sending, sent, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The account a personal delivery (e-mail, SMS) is for — its quiet hours and digest choice; None: a webhook.
    user_id: Mapped[int | None] = mapped_column(Integer)
    # Held for the user's daily digest: sent with the others due for the same address, as one message.
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class MatchMember(Base):
    """A member of a team match besides its lead (``Match.talent_id``): their duties and share of the reward
    in per cent (the lead's share is what the members' leave). Consent, capacity and conflicts are checked
    per member (``services/workflow/teams``); an approved team occupies each member's capacity in the mode."""

    __tablename__ = "match_members"
    __table_args__ = (UniqueConstraint("match_id", "talent_id", name="uq_match_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    talent_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    duties: Mapped[str] = mapped_column(Text, default="")
    share_percent: Mapped[int] = mapped_column(Integer, default=0)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SavedSearch(Base):
    """A user's standing question (``services/inbox/alerts``): an intermediary's board filters (``kind``
    "demands": sector, city, mode, words) with the last demand id already alerted (``high_water``), or an
    enterprise's followed demand (``kind`` "talents") with the talents who ranked in its top list at the last
    run (``last_top``). Each new item is alerted once."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # demands, talents
    name: Mapped[str] = mapped_column(String(100), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"))
    high_water: Mapped[int] = mapped_column(Integer, default=0)
    # The last audit event read: a demand published later (待完善 → 出榜) than its id was passed is still new.
    event_mark: Mapped[int] = mapped_column(Integer, default=0)
    last_top: Mapped[list[int]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Webhook(Base):
    """An office's own system that receives its inbox items: a signed JSON body (Standard Webhooks) or an
    enterprise-WeChat / DingTalk group robot's markdown. Disabled after repeated failure, with the reason."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_code: Mapped[str] = mapped_column(String(6), index=True)
    url: Mapped[str] = mapped_column(String(500))
    flavour: Mapped[str] = mapped_column(String(20))  # standard, wecom, dingtalk
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Match(Base):
    """A proposed pairing of a demand and a talent as it moves through review (see workflow)."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("demand_id", "talent_id", "mode", name="uq_match_demand_talent_mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    talent_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    intermediary_id: Mapped[int | None] = mapped_column(ForeignKey("intermediaries.id"))
    round_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the job (kind "round") that proposed it
    mode: Mapped[str] = mapped_column(String(20))
    flexible_form: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="shortlisted", index=True)
    score: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    plan: Mapped[str] = mapped_column(Text, default="")
    contact_log: Mapped[dict[str, Any]] = mapped_column(default=dict)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20))  # solved / partly / not
    outcome_text: Mapped[str] = mapped_column(Text, default="")
    reward_yuan: Mapped[int | None] = mapped_column(Integer)  # the 奖补 committed so far, integer yuan
    # Review in steps (``domain/programmes.py``): the programme and version the match was submitted under,
    # the 0-based step it waits at (advanced by a compare-and-set on this column), the office that gave the
    # final approval and the office that grades the engagement later.
    programme_key: Mapped[str | None] = mapped_column(String(40))
    programme_version: Mapped[str | None] = mapped_column(String(20))
    review_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    approved_by_office: Mapped[str | None] = mapped_column(String(6))
    graded_by_office: Mapped[str | None] = mapped_column(String(6))
    # 容缺: a submission accepted with named missing items ({"item", "supplied_at"}) and a promised date.
    missing_items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    promised_by: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Organisation(Base):
    """An organisation relations point at (an enterprise, a university, an institute …), matched by its
    unified social credit code where known and by its names (``OrganisationAlias``): one institution under
    two names must be one organisation, or a conflict of interest is missed."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="other")  # enterprise university institute other
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OrganisationAlias(Base):
    """Another name of an organisation (太原理工 for 太原理工大学), kept normalised and unique, maintained
    by officials."""

    __tablename__ = "organisation_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    alias: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Relation(Base):
    """A declared relation of a person or organisation to an organisation: a talent, an intermediary or an
    official (``subject_kind`` talent / intermediary / user, ``subject_id`` that row) or an organisation
    (``organisation``: a university that founded or holds shares in an enterprise). ``kind``: founded,
    shareholder, employed (``started_on``/``ended_on``), family (a family member works there)."""

    __tablename__ = "relations"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20), index=True)
    subject_id: Mapped[int] = mapped_column(Integer, index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    started_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Append-only: rows are inserted and never updated or deleted by the application."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20), default="system")
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(64), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class InstanceFlag(Base):
    """Facts about this database itself, e.g. ``demo`` = it was created by the demo seed (only then do
    the documented demo accounts with their public tokens exist or work)."""

    __tablename__ = "instance_flags"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsoleSession(Base):
    """A signed-in console session: the cookie holds a random id (stored hashed), never the API token;
    sessions expire, end at logout, and are revoked when the user is deactivated or its token rotated.
    Each carries the CSRF token its forms must send back."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Job(Base):
    """Long work run off the request: an import, a matching round (``services/jobs.py``). Its stage and
    progress are written as it goes so the API (202 + this resource) and the console can follow it; a job
    left running by a process that died is marked failed at the next start. The lease columns let one
    process claim it."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)  # queued running done failed
    stage: Mapped[str] = mapped_column(String(100), default="")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TalentChange(Base):
    """The change feed: one row per talent added, edited, deactivated or whose load changed, in commit
    order by ``seq``. Every serving process follows it, so a change made through one worker reaches
    the pools of all the others (see ``services/feed.py``)."""

    __tablename__ = "talent_changes"

    seq: Mapped[int] = mapped_column(primary_key=True)
    talent_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class DecisionEvent(Base):
    """Append-only feedback for learning to rank: what happened to a proposed talent — shown at a rank,
    shortlisted, answered, submitted, approved or rejected (with the reason), confirmed, its outcome, 奖补.

    ``shown`` rows carry the features the ranking used at that moment (``features``), so training reads
    what the ranking saw instead of recomputing features that have drifted since (loads, ties, texts).
    ``list_id`` groups the rows of one shown list; ``source`` is ``live`` or ``simulated`` (the demo's
    history)."""

    __tablename__ = "decision_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    demand_id: Mapped[int] = mapped_column(Integer, index=True)
    talent_id: Mapped[int] = mapped_column(Integer, index=True)
    mode: Mapped[str] = mapped_column(String(20))
    list_id: Mapped[str | None] = mapped_column(String(40), index=True)
    rank: Mapped[int | None] = mapped_column(Integer)
    ranker: Mapped[str] = mapped_column(String(60), default="hand")
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="live")


class Consent(Base):
    """Append-only: each consent a talent gave or withdrew, when, through whom, for which text version."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    talent_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # propose / contact
    granted: Mapped[bool] = mapped_column(Boolean)
    text_version: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Invitation(Base):
    """A one-time sign-in code an official issued for a talent record (stored hashed, expires)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    talent_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when a newer code was issued for the talent, or an official revoked this one: it no longer signs in.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PersonalDataAccess(Base):
    """Append-only log the talent can read: who saw or was given their contact data, when, for which
    demand (PIPL's record of processing, from the talent's side)."""

    __tablename__ = "personal_data_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    talent_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # viewed / exported / released
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20), default="system")
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    demand_id: Mapped[int | None] = mapped_column(Integer)


class DuplicatePair(Base):
    """Two talent records that probably hold one person, with the evidence, and an official's decision
    (open / merged / distinct). ``a_id`` < ``b_id``; one row per pair."""

    __tablename__ = "duplicate_pairs"
    __table_args__ = (UniqueConstraint("a_id", "b_id", name="uq_duplicate_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    a_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    b_id: Mapped[int] = mapped_column(ForeignKey("talents.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HolidayDay(Base):
    """A day of a year an official entered into the official calendar (the State Council's notice for a year
    the shipped table, data/reference/holidays.csv, does not know yet): a weekday off or a weekend worked.
    An entered year replaces that year of the table as a whole (``services/programme/calendar.py``)."""

    __tablename__ = "holiday_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    name: Mapped[str] = mapped_column(String(50), default="")
    year: Mapped[int] = mapped_column(Integer, index=True)
    added_by: Mapped[int | None] = mapped_column(Integer)  # the user who entered it (None: the command line)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# ---------------------------------------------------------------------------------------------- engagements
class Attachment(Base):
    """An uploaded file kept as evidence (a signed agreement scan, a salary statement, a service record's
    photo): stored in the database with its digest, so it commits or rolls back with the row that points at
    it and both back ends hold it the same way."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # signed_copy scan salary record
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Engagement(Base):
    """What an approved match becomes: the agreement's parties serve under it from the day every party
    confirmed its current version (``status`` active) until its term ends or it ends early with a reason."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), unique=True)
    programme_key: Mapped[str] = mapped_column(String(40))
    programme_version: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    days_on_site_per_month: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Agreement(Base):
    """One version of an engagement's three-party agreement: its terms (the data both documents are rendered
    from), the PDF the parties confirm with its SHA-256, and the final signed and sealed scan. A change is a
    new version; the old one is kept as ``superseded``."""

    __tablename__ = "agreements"
    __table_args__ = (UniqueConstraint("engagement_id", "version", name="uq_agreement_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    change_reason: Mapped[str] = mapped_column(Text, default="")
    scan_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgreementConfirmation(Base):
    """A party's confirmation of one agreement version: who, when, and the digest of the PDF they saw. The
    talent confirms through their own account; the office confirms for a talent without one, with the
    signed copy uploaded (``signed_copy_attachment_id``)."""

    __tablename__ = "agreement_confirmations"
    __table_args__ = (UniqueConstraint("agreement_id", "party", name="uq_confirmation_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("agreements.id"), index=True)
    party: Mapped[str] = mapped_column(String(20))  # enterprise talent intermediary
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    signed_copy_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ServiceRecord(Base):
    """A dated entry of service during an engagement: days on site, remote hours, tasks and results."""

    __tablename__ = "service_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    service_date: Mapped[date] = mapped_column(Date)
    days_on_site: Mapped[float] = mapped_column(Float, default=0.0)
    remote_hours: Mapped[float] = mapped_column(Float, default=0.0)
    tasks: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # patents products standards …
    attachment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Assessment(Base):
    """One party's scored form for one assessment period of an engagement."""

    __tablename__ = "assessments"
    __table_args__ = (UniqueConstraint("engagement_id", "period", "party", name="uq_assessment_party"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    period: Mapped[int] = mapped_column(Integer)  # 1-based
    party: Mapped[str] = mapped_column(String(20))
    scores: Mapped[dict[str, int]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EngagementGrade(Base):
    """The grading office's grade of one period (优秀/良好/合格/不合格) with the evidence it relied on."""

    __tablename__ = "engagement_grades"
    __table_args__ = (UniqueConstraint("engagement_id", "period", name="uq_grade_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    period: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(20))
    evidence: Mapped[str] = mapped_column(Text)
    office_code: Mapped[str] = mapped_column(String(6))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Budget(Base):
    """Money a programme's office holds for a year, integer yuan. ``committed`` (approved, not yet paid) and
    ``paid`` never exceed ``total``: every commitment is one compare-and-set update."""

    __tablename__ = "budgets"
    __table_args__ = (UniqueConstraint("programme_key", "office_code", "year", name="uq_budget"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_key: Mapped[str] = mapped_column(String(40))
    office_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    total_yuan: Mapped[int] = mapped_column(Integer)
    committed_yuan: Mapped[int] = mapped_column(Integer, default=0)
    paid_yuan: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Reward(Base):
    """The 奖补 of one engagement period, computed by the programme's rule (``computation`` keeps the rule's
    version and every input), possibly overridden with a reason (then approved by a second official),
    committed against budgets by the budget holder (``shares``: office code → yuan) and paid."""

    __tablename__ = "rewards"
    __table_args__ = (UniqueConstraint("engagement_id", "period", name="uq_reward_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    period: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)  # the budget year it is charged to
    programme_key: Mapped[str] = mapped_column(String(40), index=True)
    rule_version: Mapped[str] = mapped_column(String(20))
    payee: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(20))
    base_yuan: Mapped[int | None] = mapped_column(Integer)
    base_attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    computed_yuan: Mapped[int] = mapped_column(Integer)
    amount_yuan: Mapped[int] = mapped_column(Integer)
    computation: Mapped[dict[str, Any]] = mapped_column(JSON)
    shares: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    override_reason: Mapped[str] = mapped_column(Text, default="")
    override_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    override_approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    computed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    committed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class DemandSupply(Base):
    """The office's read model of supply (issue "policy intelligence", item 1): for one demand in one mode,
    how many talents among the engine's first candidates are eligible, proposable, free and likely right
    (calibrated probability at or above the threshold), the best probability, and the nearest talents — so
    the gap map aggregates rows instead of ranking 10k demands per request. Rewritten by the job kind
    ``insight_refresh`` (``services/insight/supply.py``); ``signature`` names the state it was computed on."""

    __tablename__ = "demand_supply"
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(20), primary_key=True)
    supply: Mapped[int] = mapped_column(Integer, default=0)
    best_probability: Mapped[float | None] = mapped_column(Float)
    nearest: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    depth: Mapped[int] = mapped_column(Integer, default=100)
    threshold: Mapped[float | None] = mapped_column(Float)
    signature: Mapped[str] = mapped_column(String(200), default="")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightReport(Base):
    """A 通报 as it was issued: the office, the period, the figures of that period frozen as a snapshot (so a
    later month compares against what was reported, not a recomputation), the versioned files it was
    computed with, and the XLSX and PDF made from the snapshot."""

    __tablename__ = "insight_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    office_code: Mapped[str] = mapped_column(String(6), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
