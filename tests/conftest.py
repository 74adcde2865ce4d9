"""Shared fixtures, and how the suite is split between the two database back ends.

Tests use a temporary var dir and database; the converted model is shared (``make test`` builds it once
with ``matcher model prepare``) and so is the vector cache (one SQLite file every test process reads and
writes: a profile is encoded once per machine, not once per worker or per back end).

``make test`` runs the suite twice, in parallel processes each time (pytest-xdist):
- on SQLite, every test;
- on PostgreSQL (``python -m tests.pgcluster``), only the tests that touch the database — those that use
  the ``db`` fixture or are marked ``db`` (a module's ``pytestmark``): the engine's, the evaluation's and
  the declarations' tests give the same answer whatever the database.
A slow end-to-end test marked ``once("sqlite")`` or ``once("postgresql")`` runs on that back end only
(browser, crash, backup, fuzzing: SQLite, the embedded default; several workers: PostgreSQL, what a
deployment with several workers uses). The rest is deselected, never skipped; the summary line says how
many ran on this back end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import matcher.services.inbox.items  # noqa: F401 (the inbox's audit listener, as the runtime registers it)
from matcher.config import PROJECT_ROOT, Settings, get_settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "db: touches the database (runs on SQLite and on PostgreSQL)")
    config.addinivalue_line("markers", "once(backend): a slow end-to-end test run on one back end only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep, drop = [], []
    for item in items:
        once = item.get_closest_marker("once")
        uses_db = item.get_closest_marker("db") is not None or "db" in getattr(item, "fixturenames", ())
        if (once is not None and once.args[0] != BACKEND) or (BACKEND == "postgresql" and not uses_db):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"database back end: {BACKEND}"


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matcher")


@pytest.fixture(scope="session")
def settings(session_tmp: Path) -> Iterator[Settings]:
    os.environ["MATCHER_VAR_DIR"] = str(session_tmp / "var")
    os.environ["MATCHER_MODEL_CACHE_DIR"] = str(PROJECT_ROOT / "models" / "cache")
    # One vector cache for every test database, server and worker process: a profile is encoded once.
    os.environ["MATCHER_EMBEDDINGS_DIR"] = str(SHARED_EMBEDDINGS)
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from matcher.engine.embedding import load_embedder

    return load_embedder(settings.embedding_model, settings.model_cache_dir, settings.embedding_cache_dir,
                         backend=settings.embedding_backend)


#: Set by ``python -m tests.pgcluster`` (``make test`` runs the suite a second time that way): every test
#: database is then a fresh database on that PostgreSQL server instead of a SQLite file.
PG_SERVER = os.environ.get("MATCHER_TEST_PG", "")
BACKEND = "postgresql" if PG_SERVER else "sqlite"
#: The vector cache the tests share (keyed by model and text hash; safe across processes: SQLite WAL).
SHARED_EMBEDDINGS = PROJECT_ROOT / "var" / "test-embeddings"


def fresh_database_url(folder: Path, name: str = "test") -> str:
    """A new, empty database for one test or fixture: a SQLite file in ``folder``, or a newly created
    database on the test PostgreSQL server."""
    if not PG_SERVER:
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / (name + '.db')}"
    from sqlalchemy import create_engine, text

    db_name = f"t_{name}_{uuid.uuid4().hex[:10]}".lower()
    admin = create_engine(PG_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    admin.dispose()
    return f"{PG_SERVER}/{db_name}"


@pytest.fixture()
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A fresh, migrated database (SQLite, or PostgreSQL when the suite runs under tests.pgcluster)."""
    from matcher.storage.db import Database

    database = Database(fresh_database_url(tmp_path))
    database.upgrade()
    yield database
    database.engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A real ``matcher serve`` process (uvicorn) on a free port, its output in ``log``."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path
    database_url: str

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def start_server(var: Path, settings: Settings, prepare: bool = True, timeout: float = 180,
                 database_url: str | None = None, args: tuple[str, ...] = (), **env_extra: str) -> Server:
    """Start ``matcher serve`` with ``var`` as its state folder and wait until /ready answers 200. The
    database is ``database_url``, or the one recorded in ``var/database_url`` (a fresh one the first time)."""
    port = _free_port()
    record = var / "database_url"
    if database_url is None:
        database_url = record.read_text() if record.exists() else fresh_database_url(var, "server")
    record.write_text(database_url)
    env = {**os.environ, "MATCHER_VAR_DIR": str(var), "MATCHER_DEMO_TALENTS": "300", "MATCHER_DEMO_DEMANDS": "40",
           "MATCHER_WORKERS": "1",  # one process unless a test asks for more (`--workers`)
           "MATCHER_DEMO_HISTORY": "0",  # no simulated history unless a test asks for it
           "MATCHER_DEMO_DUPLICATES": "12", "MATCHER_DEMO_NAMESAKES": "6",
           "MATCHER_MODEL_CACHE_DIR": str(settings.model_cache_dir), "MATCHER_DATABASE_URL": database_url,
           **env_extra}
    env.pop("DATABASE_URL", None)
    log = var / f"server-{port}.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "matcher.cli", "serve",
                                 *(["--prepare", "--demo"] if prepare else []),
                                 "--port", str(port), *args], cwd=PROJECT_ROOT, env=env, stdout=fh,
                                stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}", log, database_url)
    deadline = time.time() + timeout
    while True:
        assert proc.poll() is None, server.output()
        try:
            if httpx.get(server.base + "/ready", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.time() < deadline, "server did not become ready:\n" + server.output()
        time.sleep(0.3)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real `matcher serve --prepare` (uvicorn) on a free port with a small demo database."""
    server = start_server(tmp_path_factory.mktemp("e2e-var"), settings)
    try:
        yield server.base
    finally:
        server.stop()
    output = server.output()
    assert "demo-official" in output and "serving on" in output


#: The structured parts of a demand that pass the completeness check (``engine/completeness.py``: current
#: state, measurable targets, site conditions score 68, the wanted mode 7) whatever its description says. A
#: test that posts a demand to work on it — take it up, shortlist, review — merges these into its body, so
#: the demand goes to the board instead of the office's 待完善 queue; the check itself is tested in
#: ``tests/services/test_demand_quality.py``.
COMPLETE_PARTS: dict[str, str] = {
    "current_state": "目前采用现有工艺，关键工序合格率约85%，已尝试调整工艺参数，效果有限",
    "target_indicators": "关键工序合格率由85%提高到95%以上",
    "site_conditions": "可提供近3年的生产运行数据和样品，可安排停车检修窗口进行现场测试",
}


TOKENS = {"official": "demo-official", "admin": "demo-admin", "enterprise": "demo-enterprise",
          "intermediary": "demo-intermediary", "talent": "demo-talent", "city_official": "demo-city_official",
          "county_official": "demo-county_official"}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def talent_signs_in(call: Any, talent_id: int) -> dict[str, str]:
    """An official invites the talent, the talent redeems the code; returns the talent's auth header.
    ``call(method, path, role_or_None, json=...)`` is the test's HTTP helper (in-process or live)."""
    inv = call("POST", f"/api/v1/talents/{talent_id}/invitations", "official", json={"days": 3})
    assert inv.status_code == 201, inv.text
    accepted = call("POST", "/api/v1/invitations/accept", None, json={"code": inv.json()["code"]})
    assert accepted.status_code == 200, accepted.text
    return {"Authorization": f"Bearer {accepted.json()['token']}"}


@contextmanager
def api_client(settings: Settings, var: Path, talents: int = 220, demands: int = 24) -> Iterator[Any]:
    """A TestClient on a fresh demo database (four demo roles plus a second intermediary and a second
    enterprise, tokens in ``TOKENS``), returned once the index is ready."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from matcher.services.people.users import create_user, ensure_demo_users
    from matcher.storage.db import Database
    from matcher.tools.seeding import seed_demo

    cfg = settings.model_copy(update={"var_dir": var, "database_url": fresh_database_url(var)})
    db = Database.from_settings(cfg)
    db.upgrade()
    seed_demo(db, talents=talents, demands=demands, seed=7, progress=False, log=lambda m: None)
    ensure_demo_users(db)
    TOKENS["intermediary2"] = create_user(db, "agency2", "intermediary", intermediary="运城科创人才服务中心")
    TOKENS["enterprise2"] = create_user(db, "other_company", "enterprise", enterprise="太原重型机械集团有限公司")
    with TestClient(create_app(cfg)) as c:
        deadline = time.time() + 180
        while c.get("/ready").status_code != 200:
            assert time.time() < deadline, c.get("/ready").json()
            time.sleep(0.3)
        yield c
