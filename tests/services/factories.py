"""Small factories for service-level tests: rows with sensible defaults, made in one session, and the
actors of each role bound to them. No HTTP and no model needed."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from matcher.services.access import Actor
from matcher.storage.db import Database
from matcher.storage.models import Demand, Enterprise, Intermediary, Match, Talent

_n = itertools.count(1)


def enterprise(s: Any, **kw: Any) -> Enterprise:
    e = Enterprise(**{"name": f"测试企业{next(_n)}", "city": "太原", **kw})
    s.add(e)
    s.flush()
    return e


def intermediary(s: Any, **kw: Any) -> Intermediary:
    i = Intermediary(**{"name": f"测试中介{next(_n)}", "city": "太原", **kw})
    s.add(i)
    s.flush()
    return i


def demand(s: Any, ent: Enterprise, **kw: Any) -> Demand:
    d = Demand(**{"enterprise_id": ent.id, "external_id": f"FD-{next(_n)}", "title": "焦炉煤气精脱硫",
                  "description": "有机硫含量偏高导致下游催化剂中毒。", "modes": ["flexible"], **kw})
    s.add(d)
    s.flush()
    return d


def talent(s: Any, **kw: Any) -> Talent:
    t = Talent(**{"external_id": f"FT-{next(_n)}", "name": "王磊", "profile": "从事煤气化研究",
                  "affiliation": "太原理工大学", "phone": "13812345678", "email": "wang@example.com",
                  "mode_capacity": {"flexible": 1}, **kw})
    s.add(t)
    s.flush()
    return t


def match(s: Any, d: Demand, t: Talent, **kw: Any) -> Match:
    m = Match(**{"demand_id": d.id, "talent_id": t.id, "mode": "flexible", "intermediary_id": d.intermediary_id,
                 "contact_log": {"attempts": [], "answer": "pending"}, **kw})
    s.add(m)
    s.flush()
    return m


@dataclass
class World:
    """Two enterprises, two intermediaries, and an actor of every role."""

    ent: Enterprise
    other_ent: Enterprise
    agency: Intermediary
    other_agency: Intermediary
    actors: dict[str, Actor]


def world(db: Database) -> World:
    with db.session() as s:
        ent, other_ent = enterprise(s), enterprise(s)
        agency, other_agency = intermediary(s), intermediary(s)
        actors = {
            "official": Actor(None, "official"), "admin": Actor(None, "admin"),
            "enterprise": Actor(None, "enterprise", enterprise_id=ent.id),
            "other_enterprise": Actor(None, "enterprise", enterprise_id=other_ent.id),
            "intermediary": Actor(None, "intermediary", intermediary_id=agency.id),
            "other_intermediary": Actor(None, "intermediary", intermediary_id=other_agency.id),
        }
        return World(ent, other_ent, agency, other_agency, actors)
