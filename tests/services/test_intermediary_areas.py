"""An intermediary's area, set by the province: it decides which open demands the intermediary sees."""

from __future__ import annotations

import pytest

from api.schemas import AreaIn
from matcher.errors import Forbidden, Invalid, NotFound
from matcher.services.access import Actor
from matcher.services.people import intermediaries
from matcher.services.workflow import demands as demand_svc
from tests.services import factories as f

PROVINCE = Actor(None, "official")


def test_the_province_sets_an_area_and_the_board_follows(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        agency = f.intermediary(s)
        taiyuan = f.demand(s, f.enterprise(s, county_code="140105")).id
        datong = f.demand(s, f.enterprise(s, county_code="140213")).id
        agency_id = agency.id

    def board() -> set[int]:
        actor = Actor(None, "intermediary", intermediary_id=agency_id,
                      area_code=next(i.area_code for i in intermediaries.list_intermediaries(db, PROVINCE)
                                     if i.id == agency_id))
        return {d.id for d in demand_svc.list_demands(db, actor, status="open", limit=100)[0]}

    assert {taiyuan, datong} <= board()
    view = intermediaries.set_area(db, PROVINCE, agency_id, "太原")
    assert (view.area_code, view.area_name) == ("140100", "太原市")
    assert taiyuan in board() and datong not in board()
    assert intermediaries.set_area(db, PROVINCE, agency_id, None).area_name == "山西省"
    assert intermediaries.set_area(db, Actor(None, "admin"), agency_id, "山西省").area_code is None


@pytest.mark.parametrize("who, area, error", [
    (Actor(None, "official", office_code="140100"), "太原", Forbidden),
    (Actor(None, "intermediary", intermediary_id=1), "太原", Forbidden),
    (PROVINCE, "火星市", Invalid),
])
def test_bad_area_changes_are_refused(db, who: Actor, area: str, error: type[Exception]) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        agency_id = f.intermediary(s).id
    with pytest.raises(error):
        intermediaries.set_area(db, who, agency_id, area)


def test_an_unknown_intermediary_is_404(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound):
        intermediaries.set_area(db, PROVINCE, 999, "太原")


def test_the_request_names_an_area_or_null() -> None:
    assert AreaIn.model_validate({"area": None}).area is None
    assert AreaIn.model_validate({"area": "太原"}).area == "太原"
    with pytest.raises(ValueError):
        AreaIn.model_validate({})  # explicit: null means the province


def test_offices_are_listed_province_first() -> None:
    listed = intermediaries.offices()
    assert listed[0].level == "province" and len([o for o in listed if o.level == "city"]) == 11
