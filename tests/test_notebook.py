"""notebooks/evaluation.ipynb runs end to end on small settings (so it never goes stale), and is kept in
git without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from matcher.config import PROJECT_ROOT, Settings

NOTEBOOK = PROJECT_ROOT / "notebooks" / "evaluation.ipynb"


def test_the_evaluation_notebook_runs_on_small_settings(settings: Settings, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(str(NOTEBOOK), as_version=4)  # a str: nbformat 5.11 reads any other object as a file
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        "commit the notebook with its outputs stripped"
    monkeypatch.setenv("NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("NOTEBOOK_OUT", str(tmp_path))
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    for chart in ("quality.png", "learned_vs_hand.png", "latency.png"):
        assert (tmp_path / chart).stat().st_size > 10_000, chart
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "small settings" in printed and "hybrid" in printed and "decision" in printed


def test_the_policy_notebook_computes_the_gap_map_and_the_funnel(settings: Settings, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(str(PROJECT_ROOT / "notebooks" / "policy.ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        "commit the notebook with its outputs stripped"
    monkeypatch.setenv("NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("NOTEBOOK_OUT", str(tmp_path))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()
    for chart in ("gap_map.png", "funnel.png"):
        assert (tmp_path / chart).stat().st_size > 5_000, chart
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "small settings" in printed and "supply of 40 demands" in printed and "funnel:" in printed
