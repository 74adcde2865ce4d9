"""`make serve`'s first start on the demo: the simulated history, a learned ranker in use, lists shown to
an intermediary logged with their features, decisions logged with the workflow."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from matcher.config import Settings
from tests.conftest import start_server

pytestmark = pytest.mark.once("sqlite")


def test_first_start_learns_from_the_demo_history_and_logs_what_it_shows(
        settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory.mktemp("learning-e2e"), settings, timeout=400, MATCHER_DEMO_HISTORY="1")
    try:
        ready = httpx.get(server.base + "/ready", timeout=10).json()
        assert ready["ranker"] == "ltr-v1", server.output()
        out = server.output()
        assert "simulating the demo's decision history" in out and "v1 adopted" in out
        assert "ranking with the learned model v1" in out
        # The model re-orders the modes it was adopted for (the decision names them); the hand weights
        # rank the others.
        modes = ready["ranker_modes"]
        assert modes and f"adopted for {', '.join(modes)}" in out
        auth = {"Authorization": "Bearer demo-intermediary"}
        demands = httpx.get(server.base + "/api/v1/demands?status=open&limit=100", headers=auth, timeout=10).json()
        mode = modes[0]
        page: list = []
        for did in [d["id"] for d in demands["items"] if mode in d["modes"]][:10]:
            page = httpx.get(server.base + f"/api/v1/demands/{did}/matches?mode={mode}&k=5", headers=auth,
                             timeout=30).json()["items"]
            if page:  # (a 双聘 list is empty where the enterprise cannot host a joint post)
                break
        assert page and all(p["ranker"] == "ltr-v1" for p in page)
        other = next((m for m in ("flexible", "tech_vp", "dual_appointment") if m not in modes), None)
        if other is not None:
            d2 = next((d["id"] for d in demands["items"] if other in d["modes"]), None)
            if d2 is not None:
                hand = httpx.get(server.base + f"/api/v1/demands/{d2}/matches?mode={other}&k=5", headers=auth,
                                 timeout=30).json()["items"]
                assert all(p["ranker"] == "hand" for p in hand)
        assert page[0]["features"][-1]["name"] == "base"  # the model's contributions explain the score
        engine = create_engine(server.database_url)
        deadline = time.time() + 30  # the background loop writes shown lists every few seconds
        while True:
            with engine.connect() as c:
                live = c.execute(text("SELECT count(*), min(ranker) FROM decision_events "
                                      "WHERE source = 'live' AND kind = 'shown' AND demand_id = :d"), {"d": did}).one()
            if live[0] == len(page) or time.time() > deadline:
                break
            time.sleep(1)
        engine.dispose()
        assert tuple(live) == (len(page), "ltr-v1")
    finally:
        server.stop()
