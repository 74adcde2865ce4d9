"""One gate for who can be seen (``access.proposable_filter``): every reader × consent state × record state,
on every surface that shows talents to someone — search, the detail page, the pool behind proposals and
rounds, shortlisting, the talent's own page — and the officials' pages that see every record."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from matcher.errors import Conflict, Forbidden, NotFound
from matcher.services.access import Actor, proposable_ids
from matcher.services.people import duplicates, talents
from matcher.services.pool.facts import pool_facts
from matcher.services.workflow import matches as match_svc
from matcher.storage.models import DuplicatePair
from tests.services import factories as f

READERS = ("official", "admin", "enterprise", "intermediary")
CONSENT = ("pending", "granted", "withdrawn")
STATE = ("normal", "withdrawn", "merged", "inactive", "twin_withdrew")


def _proposable(consent: str, state: str) -> bool:
    """The rule as written in docs/privacy.md (settings.propose_pending is on, the demo's default)."""
    return state == "normal" and consent in ("pending", "granted")


@pytest.mark.parametrize(("consent", "state"), list(itertools.product(CONSENT, STATE)))
def test_every_surface_asks_the_same_gate(db, consent: str, state: str) -> None:  # type: ignore[no-untyped-def]
    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, name="宇文清扬", consent_propose=consent)
        other = f.talent(s, name="宇文清扬")
        if state == "withdrawn":
            t.withdrawn_at = datetime.now(UTC)
        elif state == "merged":
            t.merged_into_id = other.id
        elif state == "inactive":
            t.active = False
        elif state == "twin_withdrew":  # an open pair whose other record withdrew: the same person may have left
            other.withdrawn_at = datetime.now(UTC)
            s.add(DuplicatePair(a_id=min(t.id, other.id), b_id=max(t.id, other.id), score=0.9, evidence={}))
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        tid, did = t.id, d.id
    expected = _proposable(consent, state)
    with db.session() as s:
        assert (tid in proposable_ids(s, [tid])) is expected
        live, gone = pool_facts(s, [tid])  # what proposals and rounds rank
        assert (tid in live) is expected and (tid in gone) is not expected
    for reader in READERS:
        who = w.actors[reader]
        sees_all = reader in ("official", "admin")
        found = {v.id for v in talents.list_talents(db, who, q="宇文清扬", limit=50)[0]}
        assert (tid in found) is (expected or sees_all), (reader, consent, state)
        if expected or sees_all:
            assert talents.get_talent(db, who, tid).id == tid
        else:
            with pytest.raises(NotFound):
                talents.get_talent(db, who, tid)
    if expected:
        assert match_svc.shortlist(db, None, w.actors["intermediary"], did, tid, "flexible").talent_id == tid
    else:
        with pytest.raises((Conflict, NotFound)):
            match_svc.shortlist(db, None, w.actors["intermediary"], did, tid, "flexible")
    # the officials' own pages see every record, and only theirs
    for reader in ("enterprise", "intermediary"):
        with pytest.raises(Forbidden):
            duplicates.list_pairs(db, w.actors[reader])


def test_a_talent_reads_only_their_own_record(db) -> None:  # type: ignore[no-untyped-def]
    with db.session() as s:
        mine, theirs = f.talent(s), f.talent(s)
    me = Actor(None, "talent", talent_id=mine.id)
    assert talents.get_talent(db, me, mine.id).id == mine.id
    with pytest.raises(NotFound):
        talents.get_talent(db, me, theirs.id)
    assert {v.id for v in talents.list_talents(db, me, limit=50)[0]} == {mine.id}


def test_a_match_keeps_its_talent_visible_to_the_parties(db) -> None:  # type: ignore[no-untyped-def]
    """A talent who withdrew consent after being shortlisted still shows in that enterprise's and that
    intermediary's match (the workflow introduced them), and to no one else."""
    w = f.world(db)
    with db.session() as s:
        t = f.talent(s, consent_propose="withdrawn")
        d = f.demand(s, w.ent, status="taken_up", intermediary_id=w.agency.id)
        f.match(s, d, t)
    for reader, sees in (("enterprise", True), ("intermediary", True), ("other_enterprise", False),
                         ("other_intermediary", False)):
        if sees:
            assert talents.get_talent(db, w.actors[reader], t.id).id == t.id
        else:
            with pytest.raises(NotFound):
                talents.get_talent(db, w.actors[reader], t.id)
        assert t.id not in {v.id for v in talents.list_talents(db, w.actors[reader], limit=100)[0]}
