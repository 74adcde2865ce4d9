"""Two worker processes on one state folder (issue "A million talents on one machine"): one builds the
index, the other waits and loads the saved files (the build happens once — counted in the log), the first
duplicate scan runs once as a job, both answer the same top-10, a restart loads instead of rebuilding,
and `matcher serve` refuses a worker count that cannot fit in memory, with its numbers. Real processes."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from matcher.config import PROJECT_ROOT, Settings
from tests.conftest import Server, auth, start_server

pytestmark = pytest.mark.once("sqlite")


def _pids_ready(server: Server, workers: int, limit: float = 240) -> dict[str, str]:
    """Poll /ready until every worker process has answered ready; pid → its index outcome (from the log)."""
    deadline = time.time() + limit
    while True:
        outcomes = {pid: how for how, pid in re.findall(
            r"matching index ready \(\d+ talents\); index (.+) \(process (\d+), ", server.output())}
        if len(outcomes) >= workers:
            return outcomes
        assert time.time() < deadline and server.proc.poll() is None, server.output()[-4000:]
        time.sleep(0.3)


def _top10(base: str, demand_id: int) -> list[int]:
    r = httpx.get(f"{base}/api/v1/demands/{demand_id}/matches?mode=flexible&k=10", headers=auth("official"),
                  timeout=30)
    assert r.status_code == 200, r.text
    return [p["talent"]["id"] for p in r.json()["items"]]


def test_two_workers_build_once_scan_once_agree_and_restart_loads(settings: Settings, tmp_path: Path) -> None:
    var = tmp_path / "state"
    var.mkdir()
    server = start_server(var, settings, args=("--workers", "2"))
    try:
        outcomes = _pids_ready(server, 2)
        built = [pid for pid, how in outcomes.items() if how.startswith("rebuilt")]
        loaded = [pid for pid, how in outcomes.items() if how.startswith("loaded")]
        assert len(built) == 1 and len(loaded) == 1, outcomes  # the build happened once
        # the builder read the database and saved the facts' snapshot; the other worker, waiting for the
        # build, restored the snapshot instead of reading every talent itself
        assert server.output().count("talent facts read from the database") == 1, server.output()[-4000:]
        assert server.output().count("talent facts restored from the snapshot") == 1, server.output()[-4000:]
        # the first duplicate scan: one job for the database, done, whichever worker ran it
        deadline = time.time() + 120
        while True:
            jobs = httpx.get(server.base + "/api/v1/jobs?kind=duplicate-scan&limit=10", headers=auth("admin"),
                             timeout=10).json()
            if jobs and all(j["status"] == "done" for j in jobs):
                break
            assert time.time() < deadline, jobs
            time.sleep(0.5)
        assert len(jobs) == 1 and jobs[0]["result"]["records"] > 0, jobs
        assert server.output().count("first duplicate scan queued") == 1
        # both workers answer the same top-10: ask until each pid has answered (new connections spread)
        demand = httpx.get(server.base + "/api/v1/demands?status=open&limit=1", headers=auth("official"),
                           timeout=10).json()["items"][0]["id"]
        # (the scan's new pairs reach the worker that did not run it through the change feed, within a
        # second or two: wait for the lists to settle, then twelve answers in a row must agree)
        deadline, lists = time.time() + 15, set()
        while time.time() < deadline:
            lists = {tuple(_top10(server.base, demand)) for _ in range(12)}
            if len(lists) == 1:
                break
            time.sleep(0.5)
        assert len(lists) == 1 and len(next(iter(lists))) == 10, lists
    finally:
        server.stop()
    # a restart finds the saved index and loads it in both workers: no rebuild
    again = start_server(var, settings, prepare=False, args=("--workers", "2"))
    try:
        outcomes = _pids_ready(again, 2)
        assert all(how.startswith("loaded") for how in outcomes.values()), outcomes
        assert again.output().count("talent facts restored from the snapshot") == 2, again.output()[-4000:]
        assert "talent facts read from the database" not in again.output()
        assert tuple(_top10(again.base, demand)) in lists
        assert "first duplicate scan queued" not in again.output()
    finally:
        again.stop()


def test_serve_refuses_more_workers_than_memory_holds(settings: Settings, tmp_path: Path) -> None:
    """More workers than this machine holds for the demo pool (the first count the estimate refuses here:
    32 at 24 GiB): the command stops before any worker starts, naming the numbers and how many would fit."""
    from matcher.engine.memory import estimate

    workers = next(w for w in itertools.count(2) if not estimate(0, w).fits)
    env = {**os.environ, "MATCHER_VAR_DIR": str(tmp_path), "MATCHER_MODEL_CACHE_DIR": str(settings.model_cache_dir)}
    env.pop("DATABASE_URL", None)
    env.pop("MATCHER_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "matcher.cli", "serve", "--workers", str(workers), "--port", "9"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    message = done.stderr
    assert f"{workers} worker(s)" in message and "GiB available" in message and "at most" in message, message
    fit = int(re.search(r"at most (\d+) worker", message).group(1))  # type: ignore[union-attr]
    assert 0 < fit < workers, message
    assert not list(tmp_path.glob("index/*")), "nothing was built"
