"""The workflow and the access rules as tables, tested at the service level: no HTTP, no model.

Every (action, state, role) of the state machine is checked against the transition table itself, and
every role's view of demands, matches and contact data against a table of expectations."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from matcher.domain.vocabulary import DemandStatus, MatchStatus, Role
from matcher.domain.workflow import DEMAND_TRANSITIONS, MATCH_TRANSITIONS, check
from matcher.errors import Conflict, Forbidden, NotFound
from matcher.services.access import contacts_visible, demand_scope, talent_view
from matcher.services.workflow import demands as demand_svc
from matcher.services.workflow import matches as match_svc
from matcher.storage.models import Demand
from tests.services import factories as f

ROLES = [r.value for r in Role]
CASES = [(table_name, action, state, role)
         for table_name, table, states in (("demand", DEMAND_TRANSITIONS, DemandStatus),
                                           ("match", MATCH_TRANSITIONS, MatchStatus))
         for action, state, role in itertools.product(table, [s.value for s in states], ROLES)]


@pytest.mark.parametrize(("entity", "action", "state", "role"), CASES)
def test_every_transition_follows_the_table(entity: str, action: str, state: str, role: str) -> None:
    table = DEMAND_TRANSITIONS if entity == "demand" else MATCH_TRANSITIONS
    t = table[action]
    if role not in t.roles:
        with pytest.raises(Forbidden):
            check(table, action, state, role, entity)
    elif state not in t.sources:
        with pytest.raises(Conflict, match=f"state '{state}'"):
            check(table, action, state, role, entity)
    else:
        assert check(table, action, state, role, entity) == (t.target or state)


# who sees a demand, by its status and whether the intermediary is the one that took it up
DEMAND_VISIBILITY = {
    # status: {actor: sees}
    "open": {"official": True, "admin": True, "enterprise": True, "other_enterprise": False,
             "intermediary": True, "other_intermediary": True},
    "taken_up": {"official": True, "admin": True, "enterprise": True, "other_enterprise": False,
                 "intermediary": True, "other_intermediary": False},
    "withdrawn": {"official": True, "admin": True, "enterprise": True, "other_enterprise": False,
                  "intermediary": True, "other_intermediary": False},
}


@pytest.mark.parametrize("status", list(DEMAND_VISIBILITY))
def test_who_sees_a_demand(db, status: str) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        taken = status != "open"
        d = f.demand(s, w.ent, status=status, intermediary_id=w.agency.id if taken else None)
        for who, sees in DEMAND_VISIBILITY[status].items():
            seen = s.scalar(select(Demand.id).where(Demand.id == d.id, demand_scope(w.actors[who])))
            assert (seen == d.id) is sees, (status, who)
    for who, sees in DEMAND_VISIBILITY[status].items():
        if sees:
            assert demand_svc.get_demand(db, w.actors[who], d.id).id == d.id
        else:
            with pytest.raises(NotFound):  # existence does not leak
                demand_svc.get_demand(db, w.actors[who], d.id)


# contact data: officials always; the demand's enterprise and intermediary once a match is approved
CONTACTS = {
    "shortlisted": {"official": True, "admin": True, "enterprise": False, "other_enterprise": False,
                    "intermediary": False, "other_intermediary": False},
    "approved": {"official": True, "admin": True, "enterprise": True, "other_enterprise": False,
                 "intermediary": True, "other_intermediary": False},
    "rejected": {"official": True, "admin": True, "enterprise": False, "other_enterprise": False,
                 "intermediary": False, "other_intermediary": False},
    "rewarded": {"official": True, "admin": True, "enterprise": True, "other_enterprise": False,
                 "intermediary": True, "other_intermediary": False},
}


@pytest.mark.parametrize("status", list(CONTACTS))
def test_who_sees_contact_data(db, status: str) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        t = f.talent(s, consent_contact="granted")
        f.match(s, d, t, status=status)
        for who, sees in CONTACTS[status].items():
            assert (t.id in contacts_visible(s, w.actors[who], [t.id])) is sees, (status, who)


@pytest.mark.parametrize("consent", ["pending", "withdrawn"])
def test_approval_releases_no_contact_data_without_the_talents_consent(db, consent: str) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        d = f.demand(s, w.ent, status="matched", intermediary_id=w.agency.id)
        t = f.talent(s, consent_contact=consent)
        f.match(s, d, t, status="approved")
        for who in ("enterprise", "intermediary"):
            assert t.id not in contacts_visible(s, w.actors[who], [t.id])
            view = talent_view(s, w.actors[who], t)
            assert view.contact_masked and view.contact_via_office and "13812345678" not in view.phone
        assert t.id in contacts_visible(s, w.actors["official"], [t.id])  # the office can still reach them
        assert not talent_view(s, w.actors["other_enterprise"], t).contact_via_office


def test_only_the_taking_intermediary_acts_on_a_match(db) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        m = f.match(s, d, f.talent(s))
    assert match_svc.submit(db, w.actors["intermediary"], m.id, "每月驻企服务四天").status == "submitted"
    with pytest.raises(NotFound):
        match_svc.submit(db, w.actors["other_intermediary"], m.id, "每月驻企服务四天")
    with pytest.raises(Forbidden):
        match_svc.review(db, None, w.actors["admin"], m.id, "approve", "")
    with pytest.raises(NotFound):
        match_svc.get_match(db, w.actors["other_enterprise"], m.id)
    approved = match_svc.review(db, None, w.actors["official"], m.id, "approve", "可行")
    assert approved.status == "approved"
    assert demand_svc.get_demand(db, w.actors["official"], d.id).status == "matched"
