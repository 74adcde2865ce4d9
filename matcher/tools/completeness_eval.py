"""``python -m matcher.tools.completeness_eval``: how well the completeness check separates the hand-written
good and poor demands of ``data/eval/demand_quality/demands.csv``, beside the two checks the programme's
rules say must not be enough — counting characters and counting filled fields.

The set is split once, by a fixed seed and stratified by label, into a development half (the check's
weights, its threshold and both baselines' cut-offs were chosen on it) and a test half (read for the
report only). The baselines get the same advantage as the check: their cut-off is the best one on the
development half (the character baseline is "characters ≥ the development half's median", as the issue
names it; the field baseline takes the best k).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from matcher.config import PROJECT_ROOT
from matcher.engine.completeness import THRESHOLD, assess

DATASET = PROJECT_ROOT / "data" / "eval" / "demand_quality" / "demands.csv"
#: The split's seed: fixed, so the development and test halves never change between runs.
SEED = 2026
TEXT_COLUMNS = ("title", "description", "current_state", "target_indicators", "site_conditions")
FIELD_COLUMNS = (*TEXT_COLUMNS, "budget_min", "budget_max", "modes", "deadline")


@dataclass(frozen=True)
class Example:
    id: str
    good: bool
    fields: Mapping[str, object]


def load(path: Path = DATASET) -> list[Example]:
    """The set's rows as the fields a demand has (budgets as numbers, modes as a list, empty as None)."""
    out = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            fields: dict[str, object] = {c: (row[c] or None) for c in TEXT_COLUMNS}
            for c in ("budget_min", "budget_max"):
                fields[c] = float(row[c]) if row[c] else None
            fields["modes"] = [m for m in row["modes"].split(";") if m]
            fields["deadline"] = row["deadline"] or None
            if row["label"] not in ("good", "poor"):
                raise ValueError(f"{row['id']}: label must be good or poor, not {row['label']!r}")
            out.append(Example(row["id"], row["label"] == "good", fields))
    return out


def split(examples: Sequence[Example], seed: int = SEED) -> tuple[list[Example], list[Example]]:
    """Half of each label to development, the rest to test (ids sorted first, so row order does not matter)."""
    rng = random.Random(seed)
    dev_ids: set[str] = set()
    for good in (True, False):
        ids = sorted(e.id for e in examples if e.good is good)
        dev_ids.update(rng.sample(ids, len(ids) // 2))
    return [e for e in examples if e.id in dev_ids], [e for e in examples if e.id not in dev_ids]


def characters(example: Example) -> int:
    return sum(len(str(example.fields.get(c) or "")) for c in TEXT_COLUMNS)


def filled(example: Example) -> int:
    return sum(1 for c in FIELD_COLUMNS if example.fields.get(c) not in (None, "", []))


def confusion(examples: Sequence[Example], predict: Callable[[Example], bool]) -> dict[str, float]:
    """Counts with "good" as the positive class, and accuracy."""
    tp = sum(1 for e in examples if e.good and predict(e))
    fn = sum(1 for e in examples if e.good and not predict(e))
    fp = sum(1 for e in examples if not e.good and predict(e))
    tn = sum(1 for e in examples if not e.good and not predict(e))
    return {"accuracy": round((tp + tn) / len(examples), 4) if examples else 0.0,
            "good_passed": tp, "good_held": fn, "poor_passed": fp, "poor_held": tn}


def run(path: Path = DATASET, seed: int = SEED, threshold: int = THRESHOLD,
        halves: Sequence[str] = ("dev", "test")) -> dict[str, dict[str, dict[str, float]]]:
    """Accuracy and confusion of the check and of both baselines on each half asked for (and on the whole
    set when both are); the baselines' cut-offs come from the development half alone."""
    examples = load(path)
    dev, test = split(examples, seed)
    median = statistics.median(characters(e) for e in dev)
    best_k = max(range(len(FIELD_COLUMNS) + 1),
                 key=lambda k: (confusion(dev, lambda e: filled(e) >= k)["accuracy"], -k))
    scores = {e.id: assess(e.fields, threshold=threshold).ready for e in examples}
    predictors: dict[str, Callable[[Example], bool]] = {
        f"completeness (score ≥ {threshold})": lambda e: scores[e.id],
        f"characters ≥ dev median ({median:g})": lambda e: characters(e) >= median,
        f"filled fields ≥ {best_k} (best k on dev)": lambda e: filled(e) >= best_k,
    }
    parts = {"dev": dev, "test": test}
    if "dev" in halves and "test" in halves:
        parts["all"] = examples
    return {name: {label: confusion(rows, predict) for label, predict in predictors.items()}
            for name, rows in parts.items() if name in halves or name == "all"}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--path", type=Path, default=DATASET)
    parser.add_argument("--dev-only", action="store_true", help="while tuning: do not read the test half")
    parser.add_argument("--scores", action="store_true", help="each demand's score and missing elements")
    args = parser.parse_args(argv)
    halves = ("dev",) if args.dev_only else ("dev", "test")
    if args.scores:
        dev, test = split(load(args.path))
        for name in halves:
            for e in {"dev": dev, "test": test}[name]:
                c = assess(e.fields)
                print(f"{name:4} {e.id} {'good' if e.good else 'poor'} {c.score:3d} {'pass' if c.ready else 'hold'}"
                      f"  missing: {','.join(c.missing) or '-'}  boilerplate: {len(c.boilerplate)}")
    results = run(args.path, halves=halves)
    for name, rows in results.items():
        print(f"\n{name}")
        for label, r in rows.items():
            print(f"  {label:40} accuracy {r['accuracy']:.3f}  good passed {r['good_passed']:2d} / held "
                  f"{r['good_held']:2d}  poor passed {r['poor_passed']:2d} / held {r['poor_held']:2d}")


if __name__ == "__main__":
    main()
