"""Backup and restore as an operator does it (docs/scaling.md): a served database is dumped (pg_dump on
PostgreSQL, SQLite's online backup API on SQLite), restored into a fresh database, and a server on it
with an empty state folder becomes ready (index rebuilt from the vector cache) and proposes the same."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from matcher.config import Settings
from tests.conftest import BACKEND, fresh_database_url, start_server
from tests.pgcluster import pg_bin

pytestmark = pytest.mark.db

OFFICIAL = {"Authorization": "Bearer demo-official"}


def backup_and_restore(source_url: str, folder: Path) -> str:
    """Dump ``source_url`` and restore it into a new database; returns the new database's URL."""
    target_url = fresh_database_url(folder, "restored")
    if BACKEND == "sqlite":
        src = sqlite3.connect(make_url(source_url).database or "")
        dst = sqlite3.connect(make_url(target_url).database or "")
        with dst:
            src.backup(dst)  # consistent while the server keeps writing (SQLite's online backup)
        src.close()
        dst.close()
        return target_url
    src, dst = make_url(source_url), make_url(target_url)
    dump = folder / "matcher.dump"
    common = ["-h", str(src.host), "-p", str(src.port), "-U", str(src.username)]
    subprocess.run([pg_bin("pg_dump"), *common, "-Fc", "-f", str(dump), str(src.database)], check=True)
    subprocess.run([pg_bin("pg_restore"), *common, "--no-owner", "-d", str(dst.database), str(dump)], check=True)
    return target_url


def test_a_restored_backup_serves_the_same_proposals(settings: Settings,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    original = start_server(tmp_path_factory.mktemp("backup-src"), settings)
    try:
        demands = httpx.get(original.base + "/api/v1/demands?limit=5", headers=OFFICIAL, timeout=30).json()["items"]
        assert demands
        before = {d["id"]: httpx.get(original.base + f"/api/v1/demands/{d['id']}/matches?mode=flexible&k=10",
                                     headers=OFFICIAL, timeout=30).json() for d in demands}
        restored_url = backup_and_restore(original.database_url, tmp_path_factory.mktemp("backup-files"))
    finally:
        original.stop()
    restored = start_server(tmp_path_factory.mktemp("backup-dst"), settings, prepare=False,
                            database_url=restored_url)
    try:
        assert "rebuilt" in restored.output()  # a new state folder: the index came from the vector cache
        for did, page in before.items():
            after = httpx.get(restored.base + f"/api/v1/demands/{did}/matches?mode=flexible&k=10",
                              headers=OFFICIAL, timeout=30).json()
            assert [p["talent"]["id"] for p in after["items"]] == [p["talent"]["id"] for p in page["items"]]
            assert [p["score"] for p in after["items"]] == pytest.approx([p["score"] for p in page["items"]],
                                                                         abs=1e-4)
    finally:
        restored.stop()
