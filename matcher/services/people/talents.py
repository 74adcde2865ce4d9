"""Talent profiles as callers may see them: search and one profile, contact data masked by role."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from matcher import tabular as tab
from matcher.errors import Invalid, NotFound
from matcher.services.access import Actor, may_see_talent, talent_scope, talent_view, talent_views
from matcher.storage.db import Database
from matcher.storage.models import Talent
from matcher.views import TalentView


def check_tier(tier: str | None) -> str | None:
    """A tier filter as given (code or label) → its code; an unknown one is a 422 naming ``tier``."""
    if not tier:
        return None
    try:
        return tab.tier(tier)
    except ValueError as exc:
        raise Invalid(str(exc), field="tier") from None


def list_talents(db: Database, actor: Actor, *, q: str | None = None, sector: str | None = None,
                 city: str | None = None, tier: str | None = None, limit: int = 20, offset: int = 0
                 ) -> tuple[list[TalentView], int]:
    """Search: enterprises and intermediaries find only the talents who may be proposed (the one gate,
    ``access.talent_scope``); officials and admins every record."""
    scope = talent_scope(actor)
    stmt = select(Talent) if scope is None else select(Talent).where(scope)
    if q:
        stmt = stmt.where(or_(Talent.name.contains(q), Talent.profile.contains(q), Talent.affiliation.contains(q)))
    if sector:
        stmt = stmt.where(Talent.sector == sector)
    if city:
        stmt = stmt.where(Talent.city == city)
    if (code := check_tier(tier)) is not None:
        stmt = stmt.where(Talent.tier == code)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = s.scalars(stmt.order_by(Talent.id).limit(limit).offset(offset)).all()
        views = talent_views(s, actor, rows)
        return [views[t.id] for t in rows], total


def get_talent(db: Database, actor: Actor, talent_id: int) -> TalentView:
    with db.session() as s:
        t = s.get(Talent, talent_id)
        if t is None or not may_see_talent(s, actor, t.id):  # existence does not leak either
            raise NotFound(f"talent {talent_id} not found", field="talent_id")
        return talent_view(s, actor, t)
