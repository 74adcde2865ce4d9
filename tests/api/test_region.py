"""The region as configuration: every shipped region file is well formed, and a deployment for another
province (Shaanxi) works end to end — its tie labels import, its cities decide proximity, its near
provinces decide who may serve as 科技副总, and its wording appears in the API and the console."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matcher.config import Settings, get_settings
from matcher.reference import REGIONS_DIR, _region, load_region
from tests.conftest import fresh_database_url

pytestmark = pytest.mark.once("sqlite")

TALENTS = """编号,姓名,简介,单位类型,职称级别,服务模式,城市,是否省内,陕缘关系
S-1,秦川,长期从事煤制烯烃工艺与甲醇制烯烃催化剂研究，擅长反应器操作优化。,高校,正高,科技副总:1;柔性引才:2,西安,是,陕籍
S-2,华岳,从事甲醇制烯烃催化剂再生与反应器流化研究，熟悉工业装置运行。,科研院所,正高,科技副总:1;柔性引才:1,咸阳,是,陕历
S-3,晋阳,从事甲醇制烯烃反应工程研究，长期服务煤化工企业。,高校,正高,科技副总:1;柔性引才:1,山西太原,否,
S-4,岭南,从事甲醇制烯烃催化材料研究。,高校,正高,科技副总:1;柔性引才:1,广东广州,否,
"""
DEMANDS = """编号,企业名称,需求名称,需求描述,城市,引才方式
SD-1,陕西延长石油集团有限公司,甲醇制烯烃装置催化剂消耗偏高,我公司甲醇制烯烃装置催化剂消耗高于设计值，希望专家优化反应器操作与催化剂再生。,西安,tech_vp
"""


def test_every_shipped_region_file_is_well_formed() -> None:
    files = sorted(REGIONS_DIR.glob("*.json"))
    assert {f.stem for f in files} >= {"shanxi", "shaanxi"}
    for f in files:
        r = load_region(f.stem)
        assert r.key == f.stem and len(r.cities) >= 8 and len(set(r.ties.values())) == 3
        for city, near in r.neighbours.items():  # adjacency goes both ways
            assert all(city in r.neighbours[n] for n in near), (f.stem, city)


@pytest.fixture()
def shaanxi(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[tuple[TestClient, str]]:
    """A Shaanxi deployment's app, and the enterprise user's token."""
    from api.app import create_app
    from matcher.services.files.importing import import_file
    from matcher.services.people.users import create_user
    from matcher.storage.db import Database

    monkeypatch.setenv("MATCHER_REGION", "shaanxi")
    get_settings.cache_clear()
    _region.cache_clear()
    try:
        cfg = get_settings().model_copy(update={"var_dir": tmp_path, "database_url": fresh_database_url(tmp_path)})
        db = Database.from_settings(cfg)
        db.upgrade()
        for kind, text in (("talents", TALENTS), ("demands", DEMANDS)):
            (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
            report = import_file(db, kind, tmp_path / f"{kind}.csv")
            assert report.ok, report.errors
        tokens = {"enterprise": create_user(db, "yanchang", "enterprise", enterprise="陕西延长石油集团有限公司")}
        with TestClient(create_app(cfg)) as client:
            deadline = time.time() + 120
            while client.get("/ready").status_code != 200:
                assert time.time() < deadline
                time.sleep(0.2)
            client.headers["Authorization"] = f"Bearer {tokens['enterprise']}"
            yield client, tokens["enterprise"]
    finally:
        monkeypatch.delenv("MATCHER_REGION")
        get_settings.cache_clear()
        _region.cache_clear()


def test_another_province_works_end_to_end(shaanxi: tuple[TestClient, str]) -> None:
    client, token = shaanxi
    talents = {t["external_id"]: t for t in client.get("/api/v1/talents?limit=10").json()["items"]}
    assert talents["S-1"]["province_ties"] == ["born"] and talents["S-2"]["province_ties"] == ["history"]
    demand = client.get("/api/v1/demands").json()["items"][0]
    assert demand["city"] == "西安"
    r = client.get(f"/api/v1/demands/{demand['id']}/matches?mode=tech_vp&k=10&include_excluded=true")
    assert r.status_code == 200, r.text
    by_id: dict[str, Any] = {p["talent"]["external_id"]: p for p in r.json()["items"]}
    features = {k: {f["name"]: f for f in p["features"]} for k, p in by_id.items()}
    assert features["S-1"]["proximity"]["label"] == "同城"           # 西安
    assert features["S-2"]["proximity"]["label"] == "邻近城市"       # 咸阳 borders 西安 in Shaanxi's file
    assert features["S-1"]["province_ties"]["label"] == "陕籍/陕历/陕缘"
    assert by_id["S-3"]["eligible"]                                  # 山西 is near Shaanxi
    assert not by_id["S-4"]["eligible"] and "周边" in by_id["S-4"]["excluded_by"]
    # the console offers the region's cities and speaks of its ties
    assert client.post("/login", data={"token": token}).status_code == 200
    form = client.get("/console/demands/new").text
    assert "<option >西安</option>" in form and "太原" not in form
    from matcher.domain.labels import label

    assert label("born") == "陕籍" and label("other") == "陕缘"
