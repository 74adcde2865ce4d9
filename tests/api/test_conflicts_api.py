"""Conflicts of interest through HTTP, on a demo database: a talent declares a relation on their own
record and drops out of the enterprise's list (the reason with ``include_excluded=true``), a university's
shares exclude its people, organisations and aliases, the intermediary's and the official's own
declarations, who may call what, and the 422s naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from matcher.config import Settings
from matcher.services.access import Actor
from matcher.services.people.conflicts import actor_relation
from matcher.storage.models import Demand, Enterprise, User
from tests.conftest import api_client, auth, talent_signs_in
from tests.services import factories as F

pytestmark = pytest.mark.db

TEXT = ("我公司焦炉煤气中有机硫含量偏高，导致下游甲醇合成催化剂中毒失活，希望专家改进有机硫加氢转化与精脱硫工艺，"
        "使总硫稳定低于0.1mg/m3。")
UNI = "太原理工大学"
UNIT_SHARES = f"人才所在单位{UNI}入股该企业（利益冲突）"


@pytest.fixture(scope="module")
def client(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with api_client(settings, tmp_path_factory.mktemp("conflicts-api-var"), talents=140, demands=12) as c:
        yield c


@pytest.fixture(scope="module")
def demand(client: TestClient) -> dict[str, Any]:
    """An open demand of the demo enterprise (written directly: the posting rules are not under test)."""
    ent_id = client.get("/api/v1/me", headers=auth("enterprise")).json()["enterprise_id"]
    db = client.app.state.runtime.db  # type: ignore[attr-defined]
    with db.session() as s:
        ent = s.get(Enterprise, ent_id)
        d = F.demand(s, ent, title="焦炉煤气有机硫精脱硫", description=TEXT, modes=["flexible"], status="open")
        return {"id": d.id, "enterprise_id": ent_id, "enterprise": ent.name}


def matches(client: TestClient, demand_id: int, include_excluded: bool) -> dict[int, dict[str, Any]]:
    """Every row of the demand's list, page by page (the excluded come after the eligible)."""
    out: dict[int, dict[str, Any]] = {}
    while True:
        r = client.get(f"/api/v1/demands/{demand_id}/matches", headers=auth("official"),
                       params={"mode": "flexible", "k": 100, "offset": len(out), "include_excluded": include_excluded})
        assert r.status_code == 200, r.text
        page = r.json()
        out.update({p["talent"]["id"]: p for p in page["items"]})
        if not page["items"] or len(out) >= page["total"]:
            return out


def call(client: TestClient) -> Any:
    return lambda method, path, role, **kw: client.request(method, path, headers=auth(role) if role else {}, **kw)


def test_a_talents_own_declaration_excludes_them_with_the_reason(client: TestClient, demand: dict[str, Any]) -> None:
    top = next(iter(matches(client, demand["id"], include_excluded=False)))
    me = talent_signs_in(call(client), top)
    r = client.post("/api/v1/me/relations", headers=me,
                    json={"kind": "shareholder", "organisation": demand["enterprise"], "started_on": "2021-03-01",
                          "note": "持股2%"})
    assert r.status_code == 201, r.text
    rel = r.json()
    assert rel["subject_kind"] == "talent" and rel["subject_id"] == top and rel["kind_label"] == "入股"
    assert rel["organisation"] == demand["enterprise"] and rel["in_force"]
    assert [x["id"] for x in client.get("/api/v1/me/relations", headers=me).json()] == [rel["id"]]
    assert client.get("/api/v1/me/conflicts", headers=me).json() == [
        {"organisation_id": rel["organisation_id"], "organisation": demand["enterprise"],
         "enterprise_id": demand["enterprise_id"], "reason": "人才本人入股该企业（利益冲突）"}]
    assert top not in matches(client, demand["id"], include_excluded=False)
    shown = matches(client, demand["id"], include_excluded=True)[top]
    assert not shown["eligible"] and shown["excluded_by"] == "人才本人入股该企业（利益冲突）"
    # officials read it too; a talent's token opens only /me
    assert [x["id"] for x in client.get(f"/api/v1/talents/{top}/relations", headers=auth("official")).json()] \
        == [rel["id"]]
    assert client.get(f"/api/v1/talents/{top}/relations", headers=me).status_code == 403
    # removed: proposed again
    assert client.delete(f"/api/v1/me/relations/{rel['id']}", headers=me).status_code == 200
    assert top in matches(client, demand["id"], include_excluded=False)
    assert client.delete(f"/api/v1/me/relations/{rel['id']}", headers=me).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "founded"}, "organisation"),
    ({"kind": "partner", "organisation": "某公司"}, "kind"),
    ({"organisation": "某公司"}, "kind"),
    ({"kind": "employed", "organisation": "某公司", "started_on": "2022-01-02", "ended_on": "2022-01-01"}, "ended_on"),
    ({"kind": "founded", "credit_code": "not-a-code"}, "credit_code"),
    ({"kind": "founded", "credit_code": "91140100MA0K000019"}, "credit_code"),  # wrong check digit
    ({"kind": "founded", "organisation_id": 999_999}, "organisation_id"),
    ({"kind": "founded", "organisation": "某公司", "colour": "red"}, "colour"),
])
def test_bad_input_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/v1/me/relations", headers=auth("official"), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_a_universitys_shares_exclude_its_people(client: TestClient, demand: dict[str, Any]) -> None:
    found = client.get("/api/v1/organisations", headers=auth("official"), params={"q": UNI}).json()["items"]
    if found:
        uni = found[0]
    else:
        r = client.post("/api/v1/organisations", headers=auth("official"), json={"name": UNI, "kind": "university"})
        assert r.status_code == 201, r.text
        uni = r.json()
    again = client.post("/api/v1/organisations", headers=auth("official"), json={"name": " 太原理工大学 "})
    assert again.status_code == 409 and again.json()["error"]["field"] == "name"
    r = client.post(f"/api/v1/organisations/{uni['id']}/relations", headers=auth("official"),
                    json={"kind": "shareholder", "enterprise_id": demand["enterprise_id"]})
    assert r.status_code == 201, r.text
    assert r.json()["subject_kind"] == "organisation" and r.json()["organisation"] == demand["enterprise"]
    bad = client.post(f"/api/v1/organisations/{uni['id']}/relations", headers=auth("official"),
                      json={"kind": "family", "enterprise_id": demand["enterprise_id"]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "kind"
    people = [t["id"] for t in client.get("/api/v1/talents", headers=auth("official"),
                                          params={"q": UNI, "limit": 200}).json()["items"]
              if t["affiliation"] == UNI]
    assert people, "the demo places talents at 太原理工大学"
    assert client.get(f"/api/v1/talents/{people[0]}/conflicts", headers=auth("official")).json()[0]["reason"] \
        == UNIT_SHARES
    full, shown = matches(client, demand["id"], True), matches(client, demand["id"], False)
    listed = [t for t in people if t in full]
    assert listed and all(full[t]["excluded_by"] == UNIT_SHARES for t in listed)
    assert not set(people) & set(shown)
    # an alias is another name of the same organisation; a name of another organisation is refused
    r = client.post(f"/api/v1/organisations/{uni['id']}/aliases", headers=auth("official"), json={"alias": "太原理工"})
    assert r.status_code == 201 and [a["alias"] for a in r.json()["aliases"]] == ["太原理工"]
    assert client.get("/api/v1/organisations", headers=auth("official"),
                      params={"q": "太原理工"}).json()["items"][0]["id"] == uni["id"]
    taken = client.post(f"/api/v1/organisations/{uni['id']}/aliases", headers=auth("official"),
                        json={"alias": demand["enterprise"]})
    assert taken.status_code == 409 and taken.json()["error"]["field"] == "alias"
    assert client.post(f"/api/v1/organisations/{uni['id']}/aliases", headers=auth("intermediary"),
                       json={"alias": "理工"}).status_code == 403
    # the shares sold: no longer a conflict
    rel = client.get(f"/api/v1/organisations/{uni['id']}/relations", headers=auth("official")).json()[0]
    assert client.delete(f"/api/v1/relations/{rel['id']}", headers=auth("official")).status_code == 200
    assert client.get(f"/api/v1/talents/{people[0]}/conflicts", headers=auth("official")).json() == []


def test_the_intermediarys_and_the_officials_own_relations(client: TestClient, demand: dict[str, Any]) -> None:
    r = client.post("/api/v1/me/relations", headers=auth("intermediary"),
                    json={"kind": "shareholder", "enterprise_id": demand["enterprise_id"]})
    assert r.status_code == 201, r.text
    assert r.json()["subject_kind"] == "intermediary"
    own = client.post("/api/v1/me/relations", headers=auth("official"),
                      json={"kind": "family", "organisation": demand["enterprise"], "note": "配偶在该企业任职"})
    assert own.status_code == 201 and own.json()["subject_kind"] == "user"
    assert client.get("/api/v1/me/relations", headers=auth("enterprise")).status_code == 403
    assert client.delete(f"/api/v1/me/relations/{own.json()['id']}", headers=auth("intermediary")).status_code == 404
    db = client.app.state.runtime.db  # type: ignore[attr-defined]
    with db.session() as s:
        agent = s.scalar(select(User).where(User.username == "demo_intermediary"))
        official = s.scalar(select(User).where(User.username == "demo_official"))
        assert agent is not None and official is not None
        said = actor_relation(s, Actor(agent.id, "intermediary", intermediary_id=agent.intermediary_id),
                              demand["enterprise_id"])
        assert said is not None and said.endswith(f"入股{demand['enterprise']}（利益冲突）")
        assert actor_relation(s, Actor(official.id, "official"), demand["enterprise_id"]) \
            == f"本人亲属在{demand['enterprise']}任职（利益冲突）"
        other = s.scalar(select(Demand.enterprise_id).where(Demand.enterprise_id != demand["enterprise_id"]))
        assert other is not None and actor_relation(s, Actor(official.id, "official"), other) is None
    for rel in (r.json(), own.json()):
        assert client.delete(f"/api/v1/relations/{rel['id']}", headers=auth("admin")).status_code == 200


def test_organisations_are_for_officials_and_ids_are_bounded(client: TestClient) -> None:
    assert client.get("/api/v1/organisations", headers=auth("enterprise")).status_code == 403
    assert client.get("/api/v1/organisations/999999", headers=auth("official")).status_code == 404
    assert client.get("/api/v1/organisations/0", headers=auth("official")).status_code == 422
    assert client.delete(f"/api/v1/relations/{2**40}", headers=auth("official")).status_code == 422
    assert client.get("/api/v1/organisations", headers=auth("official"), params={"q": "\x00"}).status_code == 200
