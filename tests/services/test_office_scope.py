"""Offices at three levels: who sees and acts on what, table-driven over role × office level × area.

A county or city official sees the demands, matches and figures of enterprises located in their own area
(others are 404, as another enterprise's demand is to an enterprise); the province sees everything; an
intermediary registered for an area sees the open demands there (and the ones it took up); an enterprise
whose county is not known is in the province's area only. One predicate (``access.demand_scope``) decides
every list, single read, action and figure — this test asks each of them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from matcher.errors import Conflict, Forbidden, NotFound
from matcher.services.access import Actor, in_area
from matcher.services.people.users import create_user, resolve_office
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.services.workflow import stats
from matcher.storage.models import Demand, Enterprise, User
from tests.services import factories as f

# Where each enterprise is: two counties of 太原, one of 大同, and one whose county nobody recorded.
LOCATED = {"xiaodian": "140105", "yingze": "140106", "pingcheng": "140213", "unknown": None}

OFFICIALS = {
    "province": None,  # an official without an office is the province's
    "province_by_code": "140000",
    "taiyuan": "140100",
    "xiaodian": "140105",
    "yingze": "140106",
    "datong": "140200",
}
AGENCIES = {"agency_province": None, "agency_taiyuan": "140100", "agency_datong": "140200"}

# Which enterprises' demands each actor sees (open demands; the intermediaries see the board of their area).
SEES = {
    "province": {"xiaodian", "yingze", "pingcheng", "unknown"},
    "province_by_code": {"xiaodian", "yingze", "pingcheng", "unknown"},
    "taiyuan": {"xiaodian", "yingze"},
    "xiaodian": {"xiaodian"},
    "yingze": {"yingze"},
    "datong": {"pingcheng"},
    "agency_province": {"xiaodian", "yingze", "pingcheng", "unknown"},
    "agency_taiyuan": {"xiaodian", "yingze"},
    "agency_datong": {"pingcheng"},
}


@pytest.fixture()
def world(db):  # type: ignore[no-untyped-def]
    with db.session() as s:
        ents = {k: f.enterprise(s, county_code=code) for k, code in LOCATED.items()}
        agencies = {k: f.intermediary(s, area_code=code) for k, code in AGENCIES.items()}
        open_ = {k: f.demand(s, e).id for k, e in ents.items()}
        # a demand of 小店区 taken up by the 大同 agency (taken up before its area was narrowed, say)
        taken = f.demand(s, ents["xiaodian"], status="taken_up", intermediary_id=agencies["agency_datong"].id)
        talent = f.talent(s)
        submitted = f.match(s, taken, talent, status="submitted", intermediary_id=agencies["agency_datong"].id)
        actors = {k: Actor(None, "official", office_code=code) for k, code in OFFICIALS.items()}
        actors |= {k: Actor(None, "intermediary", intermediary_id=a.id, area_code=a.area_code)
                   for k, a in agencies.items()}
        return {"actors": actors, "open": open_, "taken": taken.id, "match": submitted.id}


@pytest.mark.parametrize("who", sorted(SEES))
def test_each_actor_sees_the_demands_of_its_area(db, world, who: str) -> None:  # type: ignore[no-untyped-def]
    actor = world["actors"][who]
    listed, _ = demand_svc.list_demands(db, actor, status="open", limit=100)
    by_id = {v: k for k, v in world["open"].items()}
    assert {by_id[d.id] for d in listed if d.id in by_id} == SEES[who]
    for place, demand_id in world["open"].items():
        if place in SEES[who]:
            assert demand_svc.get_demand(db, actor, demand_id).id == demand_id
        else:
            with pytest.raises(NotFound):  # outside the area: as if it did not exist
                demand_svc.get_demand(db, actor, demand_id)


# The match is 柔性引才 under 产业人才对接: one 审核 by the enterprise's city (太原). Offices above the enterprise
# see it; only the city's takes the step (the others get 409 naming the office whose step it is).
@pytest.mark.parametrize("who, sees, decides", [("province", True, False), ("taiyuan", True, True),
                                                ("xiaodian", True, False), ("yingze", False, False),
                                                ("datong", False, False)])
def test_only_the_offices_above_the_enterprise_review_its_match(db, world, who: str, sees: bool,  # type: ignore[no-untyped-def]
                                                                decides: bool) -> None:
    actor = world["actors"][who]
    listed, total = match_svc.list_matches(db, actor, status="awaiting_review")
    assert (world["match"] in {m.id for m in listed}) is sees and total == int(sees)
    queue, _ = match_svc.list_matches(db, actor, status="awaiting_my_review")
    assert (world["match"] in {m.id for m in queue}) is decides
    if decides:
        assert match_svc.review(db, None, actor, world["match"], "approve", "").status == "approved"
    elif sees:
        with pytest.raises(Conflict, match="太原市 市级审核"):
            match_svc.review(db, None, actor, world["match"], "approve", "")
    else:
        with pytest.raises(NotFound):
            match_svc.get_match(db, actor, world["match"])
        with pytest.raises(NotFound):  # and cannot act on it
            match_svc.review(db, None, actor, world["match"], "approve", "")


@pytest.mark.parametrize("who, ok", [("agency_province", True), ("agency_taiyuan", True), ("agency_datong", False)])
def test_an_intermediary_takes_up_demands_of_its_area_only(db, world, who: str, ok: bool) -> None:  # type: ignore[no-untyped-def]
    actor, demand_id = world["actors"][who], world["open"]["yingze"]
    if ok:
        assert demand_svc.take_up(db, actor, demand_id).status == "taken_up"
    else:
        with pytest.raises(NotFound):
            demand_svc.take_up(db, actor, demand_id)


def test_an_intermediary_keeps_the_demand_it_took_up(db, world) -> None:  # type: ignore[no-untyped-def]
    """The 大同 agency took up a 小店区 demand: it still sees it and its match; the 太原 agency does not
    (not open, not its own)."""
    datong, taiyuan = world["actors"]["agency_datong"], world["actors"]["agency_taiyuan"]
    assert demand_svc.get_demand(db, datong, world["taken"]).id == world["taken"]
    assert match_svc.get_match(db, datong, world["match"]).id == world["match"]
    with pytest.raises(NotFound):
        demand_svc.get_demand(db, taiyuan, world["taken"])


@pytest.mark.parametrize("who, demands, matches", [("province", 5, 1), ("taiyuan", 3, 1), ("xiaodian", 2, 1),
                                                   ("yingze", 1, 0), ("datong", 1, 0)])
def test_statistics_count_the_office_s_area(db, world, who: str, demands: int, matches: int) -> None:  # type: ignore[no-untyped-def]
    figures = stats.summary(db, world["actors"][who])
    assert figures.demands.total == demands
    assert sum(c.count for c in figures.demands.by_status) == demands
    assert figures.matches.total == matches == sum(c.count for c in figures.matches.by_status)


def test_a_round_of_a_county_takes_its_area_s_demands(db, world) -> None:  # type: ignore[no-untyped-def]
    """A round started by an office covers the demands of its area (``RoundParams.office_code``)."""
    with db.session() as s:
        def ids(code: str | None) -> set[int]:
            area = in_area(code)
            stmt = select(Demand.id).where(Demand.status == "open")
            return set(s.scalars(stmt if area is None else stmt.where(area)))

        assert ids("140105") == {world["open"]["xiaodian"]}
        assert ids("140100") == {world["open"]["xiaodian"], world["open"]["yingze"]}
        assert ids(None) == ids("140000") == set(world["open"].values())


@pytest.mark.parametrize("text, code", [("140105", "140105"), ("太原市小店区", "140105"), ("小店区", "140105"),
                                        ("太原", "140100"), ("太原市", "140100"), ("山西省", "140000"),
                                        ("山西", "140000")])
def test_an_official_is_created_in_an_office(db, text: str, code: str) -> None:  # type: ignore[no-untyped-def]
    assert resolve_office(text) == code
    create_user(db, f"o{code}{len(text)}", "official", office=text)
    with db.session() as s:
        assert s.scalar(select(User.office_code).where(User.username == f"o{code}{len(text)}")) == code


@pytest.mark.parametrize("text", ["城区", "火星区", "999999", "北京"])
def test_an_unknown_or_ambiguous_office_is_refused(db, text: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="no office"):
        create_user(db, "nobody", "official", office=text)


def test_only_an_official_belongs_to_an_office(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="only an official"):
        create_user(db, "admin2", "admin", office="140105")


# ------------------------------------------------------------------ the paths a review of the seam found
def test_an_export_holds_the_demands_of_the_office_s_area(db, world) -> None:  # type: ignore[no-untyped-def]
    from matcher.services.files.exporting import demands_frame

    every = len(demands_frame(db))
    assert len(demands_frame(db, world["actors"]["province"])) == every == 5
    assert len(demands_frame(db, world["actors"]["taiyuan"])) == 3  # 小店区 (two) and 迎泽区
    assert len(demands_frame(db, world["actors"]["datong"])) == 1


def test_rounds_and_jobs_of_another_area_are_not_shown(db, world) -> None:  # type: ignore[no-untyped-def]
    from matcher.services import jobs

    made = {}
    for who in ("province", "datong", "xiaodian"):
        a = world["actors"][who]
        made[who] = jobs.create(db, Actor(None, "official", office_code=a.office_code), "round",
                                {"office_code": a.office_code}).id
    seen = {who: {j.id for j in jobs.recent(db, world["actors"][who], "round")} for who in OFFICIALS}
    assert seen["province"] == set(made.values())
    assert seen["taiyuan"] == {made["xiaodian"]}  # its county's round, not the province's or 大同's
    assert seen["datong"] == {made["datong"]}
    assert seen["yingze"] == set()
    with pytest.raises(NotFound):
        jobs.get(db, world["actors"]["taiyuan"], made["datong"])
    assert jobs.get(db, world["actors"]["taiyuan"], made["xiaodian"]).id == made["xiaodian"]


def test_a_demand_of_another_area_taken_up_answers_404_not_409(db, world) -> None:  # type: ignore[no-untyped-def]
    """Whether another area's demand exists, and who took it, is not told to an intermediary."""
    with db.session() as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.county_code == "140213"))
        far = f.demand(s, ent, status="taken_up", intermediary_id=world["actors"]["agency_province"].intermediary_id)
    with pytest.raises(NotFound):
        demand_svc.take_up(db, world["actors"]["agency_taiyuan"], far.id)
    with pytest.raises(Conflict):  # on its own board's area it is told the demand was taken
        demand_svc.take_up(db, world["actors"]["agency_datong"], far.id)


def test_demand_lists_are_imported_by_the_province(db, world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    from matcher.services.files import uploads

    with pytest.raises(Forbidden):
        uploads.start_import(db, world["actors"]["xiaodian"], "demands", "d.csv", io.BytesIO(b"x"), tmp_path)
    job = uploads.start_import(db, world["actors"]["xiaodian"], "talents", "t.csv", io.BytesIO(b"x"), tmp_path)
    assert job.params["office_code"] == "140105"  # the talents' pool is shared: any office may add to it


def test_the_loser_of_a_take_up_race_hears_409_not_404(db, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The interleaving the suite once met over HTTP, made deterministic: the loser reads the demand while it
    is open, the winner takes it up and commits, then the loser's scoped read no longer finds it on the open
    board. The loser must be told the demand was taken (409), not that it does not exist (404)."""
    winner, loser = world["actors"]["agency_province"], world["actors"]["agency_taiyuan"]
    with db.session() as s:
        ent = s.scalar(select(Enterprise).where(Enterprise.county_code == "140105"))
        demand_id = f.demand(s, ent).id
    real = demand_svc.visible_demand
    raced: list[bool] = []

    def winner_first(session, actor, did):  # type: ignore[no-untyped-def]
        if actor is loser and not raced:
            raced.append(True)
            demand_svc.take_up(db, winner, did)  # commits in its own session, between the loser's reads
        return real(session, actor, did)

    monkeypatch.setattr(demand_svc, "visible_demand", winner_first)
    with pytest.raises(Conflict, match="taken up by another"):
        demand_svc.take_up(db, loser, demand_id)
    assert raced and demand_svc.get_demand(db, winner, demand_id).status == "taken_up"
