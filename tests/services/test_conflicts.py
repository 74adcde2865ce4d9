"""Conflicts of interest through the services, on a real database and a real pool (the e5 model, FAISS):
each relation kind × the talent's own / their unit's × dated employment, as the single list shows it
(``include_excluded`` gives the reason, without it the talent is absent), rounds and shortlisting
excluding the same talents, an acting official's or intermediary's relation (``actor_relation``),
aliases and credit codes making one organisation of two spellings, merges, audit, and the 422s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from matcher.config import Settings
from matcher.errors import Conflict, Forbidden, Invalid, NotFound
from matcher.reference import credit_check_char
from matcher.services.access import Actor
from matcher.services.people import conflicts as C
from matcher.services.people.conflicts import RelationSpec
from matcher.services.pool.facts import build_pool, demand_facts
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.services.workflow.rounds import RoundParams, build_problem
from matcher.storage.db import Database
from matcher.storage.models import (
    AuditEvent,
    Demand,
    DuplicatePair,
    Enterprise,
    Organisation,
    OrganisationAlias,
    Relation,
    User,
)
from tests.conftest import fresh_database_url
from tests.services import factories as F

pytestmark = pytest.mark.db

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)
TEXT = "焦炉煤气精脱硫：有机硫含量偏高导致下游加氢催化剂中毒，希望专家改进有机硫加氢转化与吸附脱硫工艺。"
PROFILE = "长期从事焦炉煤气精脱硫、有机硫加氢转化催化剂与吸附脱硫工艺研究，"


def credit_code(first17: str) -> str:
    return first17 + credit_check_char(first17)


ENT_CODE = credit_code("91140100MA0K00001")
THIRD_CODE = credit_code("91140100MA0K00003")
ENT_NAME = "山西测试重工有限公司"
UNI = "太原理工大学"

#: The talents of the world: key → affiliation (and the table below says who is excluded, and why).
TALENTS = {"founded": "北京某研究院", "shareholder": "中北大学", "employed": ENT_NAME, "employed_ended": "中北大学",
           "employed_future": "中北大学", "family": "山西大学", "at_uni": UNI, "at_uni_spaced": "\u3000太原理工大学 ",
           "at_uni_department": "太原理工大学化学工程学院", "employed_at_uni": "山西省某研究院",
           "employed_at_uni_ended": "山西省某研究院", "other_shareholder": "中北大学", "clean": "中北大学",
           "twin": "北京某研究院", "alias": "太原理工", "merge": "山西大学", "note": "山西大学", "delete": "山西大学"}

OWN_FOUNDED, OWN_SHARES = "人才本人创办该企业（利益冲突）", "人才本人入股该企业（利益冲突）"
OWN_EMPLOYED, FAMILY = "人才本人在该企业任职（利益冲突）", "人才亲属在该企业任职（利益冲突）"
UNIT_SHARES = f"人才所在单位{UNI}入股该企业（利益冲突）"

CASES = [
    ("founded", OWN_FOUNDED),  # declared by an official, by the enterprise's name
    ("shareholder", OWN_SHARES),  # declared by the talent, the name spelt with a space
    ("employed", OWN_EMPLOYED),  # by enterprise id, still employed
    ("employed_ended", None),  # the employment ended yesterday: no longer a conflict
    ("employed_future", OWN_EMPLOYED),  # an agreed post that starts next month
    ("family", FAMILY),  # by the credit code alone
    ("at_uni", UNIT_SHARES),  # the university holds shares: its people are excluded (the Shaanxi rule)
    ("at_uni_spaced", UNIT_SHARES),  # the same affiliation with stray spaces
    ("at_uni_department", None),  # exact names only: a department is an alias an official adds, not a guess
    ("employed_at_uni", UNIT_SHARES),  # a declared employment at the university counts like the affiliation
    ("employed_at_uni_ended", None),
    ("other_shareholder", None),  # shares in another enterprise
    ("clean", None),
    ("twin", OWN_FOUNDED),  # an open duplicate pair with 'founded': the same person under another record
    ("alias", None),  # 太原理工 is another name until an official says so (test_aliases…)
]


@dataclass
class World:
    db: Database
    pool: Any
    ent: int
    other_ent: int
    third_ent: int
    agency: int
    agency_name: str
    other_agency: int
    uni: int
    demand: int
    taken: int
    other_demand: int
    t: dict[str, int]
    official: Actor
    official2: Actor
    agency_user: Actor
    other_agency_user: Actor


def talent_actor(w: World, key: str) -> Actor:
    return Actor(None, "talent", talent_id=w.t[key])


@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> World:
    var = tmp_path_factory.mktemp("conflicts")
    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var)})
    db = Database.from_settings(cfg)
    db.upgrade()
    with db.session() as s:
        ent = F.enterprise(s, name=ENT_NAME, credit_code=ENT_CODE)
        other_ent = F.enterprise(s, name="晋中测试化工有限公司")
        third_ent = F.enterprise(s, name="山西第三测试有限公司", credit_code=THIRD_CODE)
        agency, other_agency = F.intermediary(s), F.intermediary(s)
        t = {key: F.talent(s, name=f"专家{i}", affiliation=aff, profile=PROFILE + f"主持相关项目{i}项。").id
             for i, (key, aff) in enumerate(TALENTS.items(), start=1)}
        demand = F.demand(s, ent, description=TEXT)
        taken = F.demand(s, ent, description=TEXT, status="taken_up", intermediary_id=other_agency.id)
        other_demand = F.demand(s, other_ent, description=TEXT)
        s.add(DuplicatePair(a_id=min(t["founded"], t["twin"]), b_id=max(t["founded"], t["twin"]), score=9.0))
        users = [User(username=f"u{i}", role=role, intermediary_id=iid, token_hash=f"{i}" * 64)
                 for i, (role, iid) in enumerate([("official", None), ("official", None),
                                                   ("intermediary", agency.id), ("intermediary", other_agency.id)],
                                                  start=1)]
        s.add_all(users)
        s.flush()
        ids = (ent.id, other_ent.id, third_ent.id, agency.id, agency.name, other_agency.id, demand.id, taken.id,
               other_demand.id)
        actors = (Actor(users[0].id, "official"), Actor(users[1].id, "official"),
                  Actor(users[2].id, "intermediary", intermediary_id=agency.id),
                  Actor(users[3].id, "intermediary", intermediary_id=other_agency.id))
    (ent_id, other_id, third_id, agency_id, agency_name, other_agency_id, demand_id, taken_id, other_demand_id) = ids
    official = actors[0]

    def declare(key: str, spec: RelationSpec, by: Actor | None = None) -> None:
        C.declare(db, by or official, "talent", t[key], spec)

    declare("founded", RelationSpec("founded", organisation=ENT_NAME))
    declare("shareholder", RelationSpec("shareholder", organisation="山西测试重工 有限公司"),
            by=Actor(None, "talent", talent_id=t["shareholder"]))
    declare("employed", RelationSpec("employed", enterprise_id=ent_id, started_on=date(2020, 1, 1)))
    declare("employed_ended", RelationSpec("employed", enterprise_id=ent_id, started_on=date(2015, 1, 1),
                                           ended_on=YESTERDAY))
    declare("employed_future", RelationSpec("employed", enterprise_id=ent_id,
                                            started_on=TODAY + timedelta(days=30)))
    declare("family", RelationSpec("family", credit_code=ENT_CODE.lower()))
    uni = C.create_organisation(db, official, UNI, kind="university")
    C.declare(db, official, "organisation", uni.id, RelationSpec("shareholder", enterprise_id=ent_id))
    declare("employed_at_uni", RelationSpec("employed", organisation=UNI, started_on=date(2019, 9, 1)))
    declare("employed_at_uni_ended", RelationSpec("employed", organisation=UNI, started_on=date(2010, 9, 1),
                                                  ended_on=YESTERDAY))
    declare("other_shareholder", RelationSpec("shareholder", enterprise_id=other_id))
    w = World(db, build_pool(cfg, db, persist=False), ent_id, other_id, third_id, agency_id, agency_name,
              other_agency_id, uni.id, demand_id, taken_id, other_demand_id, t, *actors)
    return w


@pytest.fixture(scope="module")
def listed(world: World) -> tuple[dict[int, str | None], set[int]]:
    """The demand's single list through the search service: with the excluded (talent → reason) and without."""
    full, _ = demand_svc.propose(world.db, world.pool, world.official, world.demand, "flexible", k=100,
                                 include_excluded=True)
    shown, _ = demand_svc.propose(world.db, world.pool, world.official, world.demand, "flexible", k=100)
    return {p.talent.id: p.excluded_by for p in full}, {p.talent.id for p in shown}


def conflicted(w: World, enterprise_demand: int | None = None) -> dict[int, str]:
    with w.db.session() as s:
        d = s.get(Demand, enterprise_demand or w.demand)
        assert d is not None
        return dict(demand_facts(s, d).conflicted_talents)


@pytest.mark.parametrize(("key", "reason"), CASES, ids=[c[0] for c in CASES])
def test_the_single_list_explains_every_conflict(world: World, listed: tuple[dict[int, str | None], set[int]],
                                                 key: str, reason: str | None) -> None:
    full, shown = listed
    tid = world.t[key]
    assert tid in full, "every talent is ranked when the excluded are included"
    assert full[tid] == reason
    assert (tid in shown) is (reason is None)


def test_another_enterprises_lists_see_only_their_own_conflicts(world: World) -> None:
    assert conflicted(world, world.other_demand) == {world.t["other_shareholder"]: OWN_SHARES}


def test_rounds_exclude_the_conflicted(world: World) -> None:
    problem, _ = build_problem(world.db, world.pool, RoundParams())
    on = {d: {c.talent_id for c in problem.candidates if c.demand_id == d} for d in (world.demand, world.other_demand)}
    excluded = {world.t[k] for k, reason in CASES if reason is not None}
    assert on[world.demand] and not on[world.demand] & excluded
    assert world.t["clean"] in on[world.demand] and world.t["employed_ended"] in on[world.demand]
    assert world.t["founded"] in on[world.other_demand] and world.t["other_shareholder"] not in on[world.other_demand]


def test_shortlisting_a_conflicted_talent_is_refused_with_the_reason(world: World) -> None:
    with pytest.raises(Conflict) as e:
        match_svc.shortlist(world.db, world.pool, world.other_agency_user, world.taken, world.t["shareholder"],
                            "flexible")
    assert OWN_SHARES in e.value.message
    assert match_svc.shortlist(world.db, world.pool, world.other_agency_user, world.taken, world.t["clean"],
                               "flexible").talent_id == world.t["clean"]


def test_actor_relation_of_an_official_and_an_intermediary(world: World) -> None:
    w = world
    C.declare_mine(w.db, w.official, RelationSpec("employed", enterprise_id=w.ent))
    C.declare_mine(w.db, w.official2, RelationSpec("employed", enterprise_id=w.ent, ended_on=YESTERDAY))
    C.declare_mine(w.db, w.agency_user, RelationSpec("shareholder", organisation=ENT_NAME))
    with w.db.session() as s:
        assert C.actor_relation(s, w.official, w.ent) == f"本人在{ENT_NAME}任职（利益冲突）"
        assert C.actor_relation(s, w.official2, w.ent) is None  # it ended
        assert C.actor_relation(s, w.agency_user, w.ent) == f"中介机构{w.agency_name}入股{ENT_NAME}（利益冲突）"
        assert C.actor_relation(s, w.other_agency_user, w.ent) is None
        assert C.actor_relation(s, w.official, w.other_ent) is None
        assert C.actor_relation(s, Actor(None, "official"), w.ent) is None
        assert C.actor_relation(s, w.official, 999_999) is None
    mine = C.list_mine(w.db, w.agency_user)
    assert [(r.subject_kind, r.subject_id, r.kind_label) for r in mine] == [("intermediary", w.agency, "入股")]
    assert C.list_relations(w.db, w.official2, "intermediary", w.agency)[0].organisation == ENT_NAME


def test_aliases_make_two_names_one_organisation(world: World) -> None:
    w = world
    tid = w.t["alias"]  # affiliation 太原理工
    assert tid not in conflicted(w)
    org = C.add_alias(w.db, w.official, w.uni, "太原理工")
    assert [a.alias for a in org.aliases] == ["太原理工"]
    assert conflicted(w)[tid] == UNIT_SHARES
    assert C.add_alias(w.db, w.official, w.uni, " 太原理工 ").aliases == org.aliases  # idempotent
    with pytest.raises(Conflict) as e:
        C.add_alias(w.db, w.official, w.uni, ENT_NAME)  # the enterprise's own name
    assert e.value.field == "alias" and ENT_NAME in e.value.message
    found, total = C.list_organisations(w.db, w.official, q="太原 理工")
    assert total == 1 and found[0].id == w.uni
    C.remove_alias(w.db, w.official, w.uni, org.aliases[0].id)
    assert tid not in conflicted(w)
    with pytest.raises(Conflict):  # the own name stays
        C.remove_alias(w.db, w.official, w.uni, _own_alias_id(w))
    C.add_alias(w.db, w.official, w.uni, "太原理工")


def _own_alias_id(w: World) -> int:
    with w.db.session() as s:
        alias_id = s.scalar(select(OrganisationAlias.id).where(OrganisationAlias.alias == UNI))
        assert alias_id is not None
        return alias_id


def test_credit_codes_match_whatever_the_name(world: World) -> None:
    w = world
    org = C.create_organisation(w.db, w.official, "第三测试（简称）", credit_code=THIRD_CODE)
    C.declare(w.db, w.official, "talent", w.t["clean"], RelationSpec("founded", organisation_id=org.id))
    with w.db.session() as s:
        third = s.get(Enterprise, w.third_ent)
        assert third is not None
        assert C.conflicted_talents(s, third) == {w.t["clean"]: OWN_FOUNDED}
    assert w.t["clean"] not in conflicted(w)
    with pytest.raises(Invalid) as e:  # a name and a code of two different organisations
        C.declare(w.db, w.official, "talent", w.t["clean"],
                  RelationSpec("shareholder", organisation=UNI, credit_code=ENT_CODE))
    assert e.value.field == "credit_code"
    with pytest.raises(Conflict) as taken:
        C.create_organisation(w.db, w.official, "另一个名字", credit_code=THIRD_CODE)
    assert taken.value.field == "credit_code"


def test_an_alias_that_names_another_organisation_merges_them(world: World) -> None:
    w = world
    C.declare(w.db, talent_actor(w, "merge"), "talent", w.t["merge"],
              RelationSpec("employed", organisation="太原工大", organisation_kind="university"))
    assert w.t["merge"] not in conflicted(w)  # 太原工大 is an organisation of its own so far
    with pytest.raises(Conflict) as e:
        C.add_alias(w.db, w.official, w.uni, "太原工大")
    assert "merge=true" in e.value.message
    merged = C.add_alias(w.db, w.official, w.uni, "太原工大", merge=True)
    assert "太原工大" in [a.alias for a in merged.aliases]
    assert conflicted(w)[w.t["merge"]] == UNIT_SHARES
    assert [r.organisation for r in C.list_relations(w.db, w.official, "talent", w.t["merge"])] == [UNI]
    with w.db.session() as s:
        assert s.scalar(select(Organisation).where(Organisation.name == "太原工大")) is None


@pytest.mark.parametrize(("spec", "field"), [
    (RelationSpec("founded"), "organisation"),  # a relation without an organisation
    (RelationSpec("founded", organisation="（ ）"), "organisation"),  # nothing to match it by
    (RelationSpec("partner", organisation=ENT_NAME), "kind"),
    (RelationSpec("employed", organisation=ENT_NAME, started_on=date(2020, 1, 2), ended_on=date(2020, 1, 1)),
     "ended_on"),
    (RelationSpec("founded", credit_code="91140100MA0K000019"), "credit_code"),  # check digit wrong
    (RelationSpec("founded", credit_code=credit_code("91140100MA0K00099")), "organisation"),  # unknown code, no name
    (RelationSpec("founded", organisation_id=999_999), "organisation_id"),
    (RelationSpec("founded", enterprise_id=999_999), "enterprise_id"),
    (RelationSpec("founded", organisation="新单位", organisation_kind="club"), "organisation_kind"),
])
def test_bad_input_is_refused_naming_the_field(world: World, spec: RelationSpec, field: str) -> None:
    with pytest.raises(Invalid) as e:
        C.declare(world.db, world.official, "talent", world.t["note"], spec)
    assert e.value.field == field


def test_an_organisation_holds_only_founding_or_shares(world: World) -> None:
    w = world
    with pytest.raises(Invalid) as e:
        C.declare(w.db, w.official, "organisation", w.uni, RelationSpec("employed", enterprise_id=w.ent))
    assert e.value.field == "kind"
    with pytest.raises(Invalid) as e:
        C.declare(w.db, w.official, "organisation", w.uni, RelationSpec("founded", organisation_id=w.uni))
    assert e.value.field == "organisation"


def test_who_may_declare_what(world: World) -> None:
    w = world
    me = talent_actor(w, "note")
    spec = RelationSpec("founded", organisation=ENT_NAME)
    with pytest.raises(Forbidden):
        C.declare(w.db, me, "talent", w.t["clean"], spec)  # another talent's record
    with pytest.raises(Forbidden):
        C.list_relations(w.db, w.agency_user, "talent", w.t["clean"])
    with pytest.raises(Forbidden):
        C.declare(w.db, w.other_agency_user, "intermediary", w.agency, spec)
    with pytest.raises(Forbidden):
        C.declare(w.db, me, "organisation", w.uni, RelationSpec("shareholder", enterprise_id=w.ent))
    with pytest.raises(Forbidden):
        C.list_mine(w.db, Actor(None, "enterprise", enterprise_id=w.ent))
    with pytest.raises(Forbidden):
        C.add_alias(w.db, w.agency_user, w.uni, "理工")
    with pytest.raises(NotFound):
        C.list_relations(w.db, w.official, "talent", 999_999)
    with pytest.raises(Conflict):  # the same relation twice
        C.declare(w.db, w.official, "talent", w.t["founded"], RelationSpec("founded", enterprise_id=w.ent))


def test_changes_are_audited_and_a_talents_note_is_not_copied(world: World) -> None:
    w = world
    me = talent_actor(w, "note")
    r = C.declare_mine(w.db, me, RelationSpec("family", enterprise_id=w.ent, note="配偶在该企业财务部"))
    assert r.note == "配偶在该企业财务部" and r.kind_label == "亲属任职" and r.in_force
    assert conflicted(w)[w.t["note"]] == FAMILY
    assert [c.reason for c in C.talent_conflicts_view(w.db, me)] == [FAMILY]
    with w.db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "relation_declare",
                                                  AuditEvent.entity_id == str(r.id)))
        assert event is not None and event.after is not None
        assert event.after["note"] == "（已填写）" and event.after["organisation"] == ENT_NAME
    with pytest.raises(NotFound):  # someone else's relation is not the talent's to remove
        C.delete_relation(w.db, talent_actor(w, "clean"), r.id, mine=True)
    C.delete_relation(w.db, me, r.id, mine=True)
    assert w.t["note"] not in conflicted(w)
    with w.db.session() as s:
        assert s.get(Relation, r.id) is None
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "relation_delete",
                                                 AuditEvent.entity_id == str(r.id))) is not None


def test_a_talent_reads_what_they_are_kept_away_from(world: World) -> None:
    w = world
    views = C.talent_conflicts_view(w.db, w.official, w.t["at_uni"])
    assert [(v.organisation, v.enterprise_id, v.reason) for v in views] == [(ENT_NAME, w.ent, UNIT_SHARES)]
    own = C.talent_conflicts_view(w.db, talent_actor(w, "shareholder"))
    assert [v.reason for v in own] == [OWN_SHARES]
    assert C.talent_conflicts_view(w.db, talent_actor(w, "employed_ended")) == []
    with pytest.raises(Forbidden):
        C.talent_conflicts_view(w.db, w.official)  # an official's own list is not a talent's


def test_the_enterprise_is_one_organisation_however_it_was_named(world: World) -> None:
    with world.db.session() as s:
        orgs = list(s.scalars(select(Organisation).where(Organisation.enterprise_id == world.ent)))
        assert [(o.name, o.credit_code, o.kind) for o in orgs] == [(ENT_NAME, ENT_CODE, "enterprise")]
        assert s.scalar(select(Organisation).where(Organisation.name.like("%测试重工 %"))) is None
