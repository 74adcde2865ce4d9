"""Crash safety with real processes: a server SIGKILLed in the middle of an index save, and another in
the middle of an import, restarts ready, with the index matching the database and nothing half-written."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from matcher.config import Settings
from tests.conftest import Server, start_server

pytestmark = pytest.mark.once("sqlite")

OFFICIAL = {"Authorization": "Bearer demo-official"}


def active_talents(var: Path) -> int:
    engine = create_engine((var / "database_url").read_text())
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM talents WHERE active")).scalar_one())
    finally:
        engine.dispose()


def kill(server: Server) -> None:
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=30)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, what
        time.sleep(0.05)


def upload(server: Server, name: str, body: str) -> dict[str, Any]:
    r = httpx.post(server.base + "/api/v1/imports/talents", headers=OFFICIAL, timeout=30,
                   files={"file": (name, body.encode(), "text/csv")})
    assert r.status_code == 202, r.text
    return dict(r.json())


def consistent(server: Server, var: Path) -> dict[str, Any]:
    ready = httpx.get(server.base + "/ready", timeout=10).json()
    assert ready["ready"] and ready["talents_indexed"] == active_talents(var), ready
    return dict(ready)


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    """A served demo database and index, built once and stopped cleanly."""
    folder = tmp_path_factory.mktemp("crash-var")
    start_server(folder, settings).stop()
    return folder


def test_kill_during_an_index_save(var: Path, settings: Settings) -> None:
    server = start_server(var, settings, prepare=False, MATCHER_FAILPOINT="index-save:120")
    before = active_talents(var)
    job = upload(server, "one.csv", "external_id,name,profile\nK-1,郑新,专注于煤矿井下5G通信与定位系统的研制\n")
    wait_for(lambda: "failpoint index-save" in server.output(), 120, "the save never reached the failpoint")
    kill(server)  # artefacts renamed, manifest not yet written
    index = var / "index"
    assert not list(index.glob("*.tmp"))  # every artefact was written whole and renamed
    restarted = start_server(var, settings, prepare=False)
    try:
        ready = consistent(restarted, var)
        assert ready["talents_indexed"] == before + 1  # the import had committed; the index caught up
        assert "rebuilt" in restarted.output()
        # The index is saved by the background maintenance, after the import job ended: the job stands.
        r = httpx.get(restarted.base + f"/api/v1/jobs/{job['id']}", headers=OFFICIAL, timeout=10).json()
        assert r["status"] == "done", r
    finally:
        restarted.stop()
    again = start_server(var, settings, prepare=False)  # the rebuild was saved whole: loaded as it is
    try:
        consistent(again, var)
        assert "rebuilt" not in again.output()
    finally:
        again.stop()


def test_kill_during_an_import(var: Path, settings: Settings) -> None:
    server = start_server(var, settings, prepare=False)
    before = active_talents(var)
    rows = "".join(f"B-{i:05d},钱{i},从事第{i % 50}类储能材料的电化学表征与失效分析研究\n" for i in range(3000))
    job = upload(server, "bulk.csv", "external_id,name,profile\n" + rows)

    def running() -> bool:
        state = httpx.get(server.base + f"/api/v1/jobs/{job['id']}", headers=OFFICIAL, timeout=10).json()
        return bool(state["status"] == "running")

    wait_for(running, 60, "the import never started")
    kill(server)
    after = active_talents(var)
    assert after in (before, before + 3000), f"half an import is in the database: {before} → {after}"
    restarted = start_server(var, settings, prepare=False)
    try:
        consistent(restarted, var)
        r = httpx.get(restarted.base + f"/api/v1/jobs/{job['id']}", headers=OFFICIAL, timeout=10).json()
        assert r["status"] == "failed"
    finally:
        restarted.stop()
