"""End to end: the real ``matcher serve --prepare`` (uvicorn) on a free port, driven over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from matcher.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    var = tmp_path_factory.mktemp("e2e-var")
    port = _free_port()
    env = {**os.environ, "MATCHER_VAR_DIR": str(var), "MATCHER_DEMO_TALENTS": "150", "MATCHER_DEMO_DEMANDS": "12",
           "MATCHER_MODEL_CACHE_DIR": str(settings.model_cache_dir)}
    env.pop("DATABASE_URL", None)
    log = open(Path(var) / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve", "--prepare", "--port", str(port)],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, (Path(var) / "server.log").read_text()
            try:
                if httpx.get(base + "/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.time() < deadline, "server did not become ready"
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    output = (Path(var) / "server.log").read_text()
    assert "demo-official" in output and "serving on" in output


def test_story_over_http(server: str) -> None:
    def call(method: str, path: str, role: str, **kw):  # type: ignore[no-untyped-def]
        r = httpx.request(method, server + path, headers={"Authorization": f"Bearer demo-{role}"}, timeout=30, **kw)
        return r

    assert httpx.get(server + "/health").json() == {"status": "ok"}
    assert httpx.get(server + "/docs").status_code == 200
    r = call("POST", "/api/v1/demands", "enterprise", json={
        "title": "费托合成催化剂消耗高",
        "description": "煤制油装置铁基催化剂吨油消耗高于设计值约30%，浆态床中催化剂磨损细粉增多。",
        "industry_code": "2523", "modes": ["flexible"]})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    props = call("GET", f"/api/v1/demands/{did}/matches?mode=flexible&k=3", "enterprise").json()
    assert len(props["items"]) == 3 and props["items"][0]["talent"]["contact_masked"]
    tid = props["items"][0]["talent"]["id"]
    assert call("POST", f"/api/v1/demands/{did}/take-up", "intermediary").status_code == 200
    m = call("POST", f"/api/v1/demands/{did}/shortlist", "intermediary", json={"talent_id": tid, "mode": "flexible"})
    assert m.status_code == 201
    mid = m.json()["id"]
    assert call("POST", f"/api/v1/matches/{mid}/submit", "intermediary",
                json={"plan": "项目合作，三个月内完成催化剂磨损分析"}).json()["status"] == "submitted"
    assert call("POST", f"/api/v1/matches/{mid}/review", "official",
                json={"decision": "approve", "reason": "方向吻合"}).json()["status"] == "approved"
    assert not call("GET", f"/api/v1/talents/{tid}", "enterprise").json()["contact_masked"]
