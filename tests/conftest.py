"""Shared fixtures. Tests use a temporary var dir and database; the converted model is shared
(``make test`` builds it once with ``matcher model prepare``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.config import PROJECT_ROOT, Settings, get_settings


@pytest.fixture(scope="session")
def session_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("matcher")


@pytest.fixture(scope="session")
def settings(session_tmp: Path) -> Iterator[Settings]:
    os.environ["MATCHER_VAR_DIR"] = str(session_tmp / "var")
    os.environ["MATCHER_MODEL_CACHE_DIR"] = str(PROJECT_ROOT / "models" / "cache")
    os.environ.pop("DATABASE_URL", None)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embedder(settings: Settings):  # type: ignore[no-untyped-def]
    from matcher.engine.embedding import load_embedder

    return load_embedder(settings.embedding_model, settings.model_cache_dir, settings.var_dir / "embeddings")


@pytest.fixture()
def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    from matcher.storage.db import Database

    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    database.upgrade()
    return database
