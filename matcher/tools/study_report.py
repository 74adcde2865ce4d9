"""What the relevance studies share once a setting is chosen on the development parts: the chosen setting
against the baseline on each test part — both means with their 95 % bootstrap intervals and the paired
difference (``engine/metrics``) — and the lines they print. One place, so every study reports alike."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from matcher.engine.metrics import mean_ci, paired_difference

#: (mean of the sets' dev nDCG@10, grid point, set → its dev nDCG@10)
Row = tuple[float, Any, dict[str, float]]


def mean_rows(dev: Mapping[str, Mapping[Any, Mapping[str, float]]]) -> list[Row]:
    """Each grid point with the mean over the sets of their dev nDCG@10 (each set weighing the same)."""
    rows: list[Row] = []
    for point in next(iter(dev.values())):
        per_set = {name: float(np.mean(list(scores[point].values()))) for name, scores in dev.items()}
        rows.append((float(np.mean(list(per_set.values()))), point, per_set))
    return rows


def print_dev(rows: list[Row], baseline: Hashable, shown: int, describe: Callable[[Any], str]) -> None:
    """The best ``shown`` rows (already in the study's order) and the baseline's."""
    print("development parts: mean dev nDCG@10 over the sets, the best grid points and the hybrid")
    for mean, point, per_set in [*rows[:shown], next(r for r in rows if r[1] == baseline)]:
        sets = ", ".join(f"{k} {v:.4f}" for k, v in per_set.items())
        print(f"  {describe(point)}: {mean:.4f} ({sets})")


def paired_report(test: Mapping[str, Mapping[Any, Mapping[str, float]]], chosen: Hashable, baseline: Hashable
                  ) -> dict[str, Any]:
    """Per test part: demands, the baseline's and the chosen setting's nDCG@10 with intervals, the paired
    difference (chosen − baseline) with its interval and the Wilcoxon test."""
    out: dict[str, Any] = {}
    for name, scores in test.items():
        ids = sorted(scores[baseline])
        base = [scores[baseline][q] for q in ids]
        new = [scores[chosen][q] for q in ids]
        out[name] = {"demands": len(ids), "hybrid": mean_ci(base), "chosen": mean_ci(new),
                     "paired": paired_difference(new, base)}
    return out


def finish(test: Mapping[str, Mapping[Any, Mapping[str, float]]], chosen: Any, baseline: Hashable, header: str,
           as_json: bool) -> dict[str, Any]:
    """The test parts' report, printed under ``header`` (and as one JSON line when asked); returned."""
    print(header)
    result = paired_report(test, chosen, baseline)
    print_paired(result)
    if as_json:
        print(json.dumps({"chosen": chosen, "test": result}, default=float))
    return result


def print_paired(result: Mapping[str, Any]) -> None:
    for name, r in result.items():
        h, c, d = r["hybrid"], r["chosen"], r["paired"]
        print(f"  {name} ({r['demands']}): hybrid {h[0]:.4f} [{h[1]:.4f}, {h[2]:.4f}]  chosen {c[0]:.4f} "
              f"[{c[1]:.4f}, {c[2]:.4f}]  diff {d['diff']:+.4f} [{d['lo']:+.4f}, {d['hi']:+.4f}] p={d['p']:.3f} "
              f"(better {int(d['wins'])} / worse {int(d['losses'])})")
