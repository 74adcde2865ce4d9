"""The facts' snapshot (services/pool/snapshot.py): a start restores what a full read of the database would
give — the changes the feed names since the snapshot included — and reads the database instead whenever
the snapshot cannot be trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update

from matcher.config import get_settings
from matcher.domain.privacy import ConsentState
from matcher.services.pool import snapshot
from matcher.services.pool.facts import all_talent_facts, pool_facts
from matcher.services.pool.feed import talents_changed
from matcher.storage.db import Database
from matcher.storage.models import Talent, TalentChange
from tests.conftest import fresh_database_url
from tests.services import factories as make

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def _no_replay_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's own feed rows are seconds old: without this they would be replayed by every test."""
    monkeypatch.setattr(snapshot, "REPLAY_WINDOW", 0.0)


def _seed(db: Database, n: int = 6) -> list[int]:
    with db.session() as s:
        ids = [make.talent(s, profile=f"从事煤气化与催化剂研究，方向{i}").id for i in range(n)]
        talents_changed(s, ids)  # the feed is not empty: the snapshot's mark names a row of it
        s.commit()
    return ids


def _read(db: Database, folder: Path) -> tuple[list, list[str]]:
    said: list[str] = []
    with db.session() as s:
        facts = snapshot.read_facts(s, folder, all_talent_facts, pool_facts, say=said.append)
    return facts, said


def _truth(db: Database) -> list:
    with db.session() as s:
        return all_talent_facts(s)


def test_a_second_read_restores_the_snapshot_with_the_feeds_changes(db: Database, tmp_path: Path) -> None:
    ids = _seed(db)
    first, said = _read(db, tmp_path)
    assert "snapshot not used (none)" in said[0] and "snapshot written" in said[1]
    assert first == _truth(db) and (tmp_path / snapshot.FILE).exists()
    again, said = _read(db, tmp_path)
    assert said[0].startswith("talent facts restored from the snapshot") and again == first
    with db.session() as s:  # an edit, a withdrawal and a new talent, each through the feed as the services write
        s.execute(update(Talent).where(Talent.id == ids[0]).values(profile="改为研究钕铁硼永磁材料"))
        s.execute(update(Talent).where(Talent.id == ids[1]).values(consent_propose=ConsentState.WITHDRAWN))
        new = make.talent(s, profile="氢能储运").id
        talents_changed(s, [ids[0], ids[1], new])
        s.commit()
    restored, said = _read(db, tmp_path)
    assert said[0].startswith("talent facts restored") and "3 change(s)" in said[0]
    assert restored == _truth(db)
    by_id = {f.id: f for f in restored}
    assert "钕铁硼" in by_id[ids[0]].text and ids[1] not in by_id and new in by_id


@pytest.mark.parametrize("spoil", ["truncate", "other code", "other policy", "no feed row", "uncounted talent"])
def test_a_snapshot_that_cannot_be_trusted_is_not_used(db: Database, tmp_path: Path, spoil: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _seed(db)
    _read(db, tmp_path)
    meta = json.loads((tmp_path / snapshot.META).read_text())
    expected = {"truncate": "damaged", "other code": "written by other code",
                "other policy": "another consent policy", "no feed row": "written for another database",
                "uncounted talent": "where the database has"}[spoil]
    if spoil == "truncate":
        data = (tmp_path / snapshot.FILE).read_bytes()
        (tmp_path / snapshot.FILE).write_bytes(data[: len(data) // 2])
    elif spoil == "other code":
        (tmp_path / snapshot.META).write_text(json.dumps({**meta, "code": "0" * 16}))
    elif spoil == "other policy":
        monkeypatch.setattr(get_settings(), "propose_pending", not get_settings().propose_pending)
    elif spoil == "no feed row":  # another database in the same state folder: its feed lacks the mark's row
        (tmp_path / snapshot.META).write_text(json.dumps({**meta, "seq": meta["seq"] + 1000}))
    else:  # a talent added without a feed row (not how the services write): the counts differ
        with db.session() as s:
            make.talent(s, profile="未记入变更流")
            s.commit()
    facts, said = _read(db, tmp_path)
    assert expected in said[0] and "reading every talent from the database" in said[0]
    assert facts == _truth(db) and (len(facts) == len(ids) + (spoil == "uncounted talent") or spoil == "other policy")
    assert _read(db, tmp_path)[1][0].startswith("talent facts restored")  # the new snapshot is used next time


def test_another_database_in_the_same_folder_is_read_in_full(db: Database, tmp_path: Path) -> None:
    _seed(db)
    _read(db, tmp_path)
    other = Database(fresh_database_url(tmp_path / "other"))
    other.upgrade()
    try:
        _seed(other, n=6)  # the same number of talents and feed rows, written at other times
        facts, said = _read(other, tmp_path)
        assert "written for another database" in said[0] and facts == _truth(other)
    finally:
        other.engine.dispose()


def test_a_feed_naming_much_of_the_pool_means_a_full_read(db: Database, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshot, "REPLAY_MIN", 0)
    ids = _seed(db, n=10)
    _read(db, tmp_path)
    with db.session() as s:
        s.execute(update(Talent).where(Talent.id.in_(ids[:3])).values(profile="批量导入后的新简介"))
        talents_changed(s, ids[:3])
        s.commit()
    facts, said = _read(db, tmp_path)
    assert "the feed names" in said[0] and facts == _truth(db)


def test_a_change_committed_late_under_an_older_sequence_number_is_replayed(db: Database, tmp_path: Path) -> None:
    """PostgreSQL can commit seq 15 after seq 20: the snapshot's mark (20) is then past a change it does not
    hold. The feed's rows newer than the snapshot (less the window) are replayed whatever their seq."""
    with db.session() as s:
        first, second = make.talent(s).id, make.talent(s).id
        s.add_all([TalentChange(seq=10, talent_id=first), TalentChange(seq=20, talent_id=second)])
        s.commit()
    _read(db, tmp_path)
    assert json.loads((tmp_path / snapshot.META).read_text())["seq"] == 20
    with db.session() as s:
        s.execute(update(Talent).where(Talent.id == first).values(profile="迟到的修改：转向储能材料"))
        s.add(TalentChange(seq=15, talent_id=first))
        s.commit()
    facts, said = _read(db, tmp_path)
    assert said[0].startswith("talent facts restored") and "1 change(s)" in said[0]
    assert "储能材料" in {f.id: f for f in facts}[first].text and facts == _truth(db)
