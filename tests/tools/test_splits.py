"""The development and test parts of the relevance sets: fixed, by demand, kept as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.tools import splits


def test_the_split_is_by_demand_deterministic_and_half_and_half() -> None:
    ids = [f"D{i:03d}" for i in range(41)]
    a, b = splits.split_ids(ids), splits.split_ids(list(reversed(ids)))
    assert a == b  # the order the file lists them in does not matter
    assert sum(p == "dev" for p in a.values()) == 20 and sum(p == "test" for p in a.values()) == 21
    assert splits.split_ids(ids, seed=7) != a


@pytest.mark.parametrize("name", splits.SPLIT_SETS)
def test_the_committed_split_files_are_the_rule_s(name: str) -> None:
    """A split file edited by hand (a demand moved from test to dev after seeing it) fails here."""
    folder = splits.EVAL_DIR / name
    assert splits.read_split(folder) == splits.split_ids(splits.demand_ids(folder))


def test_a_set_without_a_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no split file"):
        splits.read_split(tmp_path)


@pytest.mark.parametrize("name", splits.ALL_TEST)
def test_the_held_out_set_is_test_only(name: str) -> None:
    folder = splits.EVAL_DIR / name
    parts = splits.read_split(folder)
    assert set(parts) == set(splits.demand_ids(folder)) and set(parts.values()) == {"test"}
