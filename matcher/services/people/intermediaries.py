"""Intermediaries and the area each is registered for: a city or county office's area, or the whole province
(``access.demand_scope`` shows an intermediary the open demands of its area only). The province's officials
and admins set it; every change is audited. The offices themselves are the region file's
(``domain/offices.py``), listed for forms and clients."""

from __future__ import annotations

from sqlalchemy import select

from matcher.domain.offices import office_tree
from matcher.domain.vocabulary import Role
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services.access import Actor, require
from matcher.services.audit import record
from matcher.services.people.users import resolve_office
from matcher.storage.db import Database
from matcher.storage.models import Intermediary
from matcher.views import IntermediaryView, OfficeView


def offices() -> list[OfficeView]:
    """Every office of the region, the province first, each city followed by its counties."""
    return [OfficeView(code=o.code, name=o.name, display_name=o.display_name, level=o.level.value,
                       level_label=o.level_label, parent=o.parent) for o in office_tree()]


def _view(i: Intermediary) -> IntermediaryView:
    tree = office_tree()
    area = i.area_code if i.area_code and i.area_code in tree else None
    return IntermediaryView(id=i.id, name=i.name, city=i.city, area_code=i.area_code,
                            area_name=tree.get(area).display_name if area else tree.province.name)


def list_intermediaries(db: Database, actor: Actor) -> list[IntermediaryView]:
    require(actor, Role.OFFICIAL, Role.ADMIN)
    with db.session() as s:
        return [_view(i) for i in s.scalars(select(Intermediary).order_by(Intermediary.id))]


def set_area(db: Database, actor: Actor, intermediary_id: int, area: str | None) -> IntermediaryView:
    """Register the intermediary for ``area`` (an office's code or name; None or the province: everywhere).
    The province's business: a city office could otherwise move an agency out of another city's area."""
    require(actor, Role.OFFICIAL, Role.ADMIN)
    if actor.role == Role.OFFICIAL and actor.office_code not in (None, office_tree().province.code):
        raise Forbidden("an intermediary's area is set by the province's office")
    code: str | None = None
    if area is not None and area.strip():
        try:
            code = resolve_office(area)
        except ValueError as e:
            raise Invalid(str(e), field="area") from None
    if code == office_tree().province.code:
        code = None
    with db.session() as s:
        i = s.get(Intermediary, intermediary_id)
        if i is None:
            raise NotFound(f"intermediary {intermediary_id} not found", field="intermediary_id")
        before = i.area_code
        i.area_code = code
        record(s, action="set_area", entity="intermediary", entity_id=i.id, actor_user_id=actor.user_id,
               actor_role=actor.role, before={"area_code": before}, after={"area_code": code})
        s.flush()
        return _view(i)
