"""``matcher learn``: train the ranker on recorded decisions, keep it only if it beats the hand weights.

Models are saved versioned under ``var/models/ltr/v<N>/`` (``model.txt`` in LightGBM's text format and
``meta.json``: features, training window, metrics, library version — no pickle). ``current.json``
names the model in use and the history of switches, so ``--rollback`` returns to the previous one (or
to the hand weights). Every process of the service re-reads ``current.json`` in its background loop
and swaps its ranker within seconds; the decision and its reason are logged and kept in the history.

Time-ordered split: the oldest ``1 - test_share`` of the shown lists train, the newest are the
held-out window both rankers are measured on (nDCG@10 and MRR against the graded labels). The model
is adopted only when its held-out nDCG@10 is higher than the hand weights' on the same lists.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matcher.config import Settings
from matcher.domain import modes as mode_registry
from matcher.engine.ltr import (
    CORRECTION_GAPS,
    RESIDUAL_SCALE,
    ROUNDS,
    LearnedRanker,
    list_metrics,
    mode_of,
    train,
)
from matcher.services.learning.decisions import training_lists
from matcher.storage.db import Database

log = logging.getLogger(__name__)

MIN_TRAIN_LISTS = 100  # lists with at least one positive label; below it the hand weights stay

#: A relevance check before adoption: given a candidate model that re-orders only the evaluation mode, one
#: row per relevance set ({"dataset", "hybrid_ndcg10", "learned_ndcg10", "passed"}). The command line hands
#: in ``tools/evaluation.relevance_guard`` (the service layer never imports the offline tools).
Guard = Callable[[LearnedRanker], list[dict[str, Any]]]


def models_dir(settings: Settings) -> Path:
    return settings.var_dir / "models" / "ltr"


def _pointer(settings: Settings) -> Path:
    return models_dir(settings) / "current.json"


def read_pointer(settings: Settings) -> dict[str, Any]:
    try:
        data = json.loads(_pointer(settings).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_pointer(settings: Settings, data: dict[str, Any]) -> None:
    path = _pointer(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"current.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2))
    os.replace(tmp, path)


def load_current(settings: Settings) -> LearnedRanker | None:
    """The model ``current.json`` names, or None (hand weights). A model that fails to load is logged
    and the hand weights are used: a bad file must never stop ranking."""
    version = read_pointer(settings).get("version")
    if not version:
        return None
    directory = models_dir(settings) / str(version)
    try:
        meta = json.loads((directory / "meta.json").read_text())
        return LearnedRanker((directory / "model.txt").read_text(), str(version), meta["features"],
                             float(meta.get("residual_scale", 0.0)), meta.get("correction_gaps"),
                             meta.get("modes"))
    except (OSError, ValueError, KeyError) as exc:
        log.error("learned model %s unusable (%s); ranking with the hand weights", version, exc)
        return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def learn(settings: Settings, db: Database, test_share: float = 0.2, min_lists: int = MIN_TRAIN_LISTS,
          position_debias: bool = True, rounds: int = ROUNDS, guard: Guard | None = None) -> dict[str, Any]:
    """Train, measure both rankers on the newest lists (per mode), save the model, switch only if it wins.
    ``guard``: the relevance check the model must pass before it may re-order the evaluation mode's lists
    (the mode the relevance sets are ranked in: at least plain retrieval on each set)."""
    import lightgbm

    lists = training_lists(db)
    labelled = [x for x in lists if (x.label > 0).any()]
    cut = int(len(lists) * (1 - test_share))
    train_lists, test_lists = lists[:cut], lists[cut:]
    n_train = sum(1 for x in train_lists if (x.label > 0).any())
    result: dict[str, Any] = {"lists": len(lists), "labelled_lists": len(labelled), "train_lists": len(train_lists),
                              "test_lists": len(test_lists), "adopted": False}
    if n_train < min_lists or not any((x.label > 0).any() for x in test_lists):
        result["decision"] = (f"too few decisions to learn from ({n_train} labelled lists to train on, "
                              f"{min_lists} needed); the hand weights stay in force")
        log.info("learn: %s", result["decision"])
        return result
    booster = train(train_lists, position_debias=position_debias, rounds=rounds, residual_scale=RESIDUAL_SCALE)
    model_text = booster.model_to_string()
    candidate = LearnedRanker(model_text, "candidate", residual_scale=RESIDUAL_SCALE, correction_gaps=CORRECTION_GAPS)
    # Per mode: the model re-orders a mode's lists only where it beats the hand weights on that mode's
    # newest lists — and, for the mode the relevance sets are ranked in (flexible), only if it is at least
    # plain retrieval on each guard set (never worse than retrieval, checked before adoption).
    per_mode: dict[str, dict[str, Any]] = {}
    for mode in candidate.modes:
        sub = [x for x in test_lists if mode_of(x) == mode]
        h = list_metrics(sub, [x.hand for x in sub])
        lm = list_metrics(sub, [candidate.score(x.X, x.hand) for x in sub])
        per_mode[mode] = {"lists": h["lists"], "hand_ndcg10": round(h["ndcg10"], 4),
                          "learned_ndcg10": round(lm["ndcg10"], 4),
                          "enabled": bool(h["lists"]) and lm["ndcg10"] > h["ndcg10"]}
    checked = mode_registry.EVALUATION_MODE
    if guard is not None and per_mode.get(checked, {}).get("enabled"):
        checks = guard(candidate.only((checked,)))
        per_mode[checked]["guard"] = checks
        per_mode[checked]["enabled"] = all(c["passed"] for c in checks)
    chosen = tuple(m for m in candidate.modes if per_mode[m]["enabled"])
    ranker = candidate.only(chosen)
    hand = list_metrics(test_lists, [x.hand for x in test_lists])
    learned = list_metrics(test_lists, [ranker.score(x.X, x.hand) if ranker.applies(mode_of(x)) else x.hand
                                        for x in test_lists])
    result.update({"hand": {"ndcg10": round(hand["ndcg10"], 4), "mrr": round(hand["mrr"], 4)},
                   "learned": {"ndcg10": round(learned["ndcg10"], 4), "mrr": round(learned["mrr"], 4)},
                   "held_out_lists_with_a_positive": hand["lists"], "modes": list(chosen), "per_mode": per_mode})
    pointer = read_pointer(settings)
    root = models_dir(settings)
    root.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[1:]) for p in root.glob("v*") if p.name[1:].isdigit()]
    version = f"v{max(existing, default=0) + 1}"
    directory = root / version
    directory.mkdir()
    (directory / "model.txt").write_text(model_text)
    meta = {"version": version, "features": list(candidate.features), "library": f"lightgbm {lightgbm.__version__}",
            "objective": "lambdarank", "position_debias": position_debias, "rounds": rounds,
            "residual_scale": RESIDUAL_SCALE, "correction_gaps": CORRECTION_GAPS, "modes": list(chosen),
            "per_mode": per_mode,
            "trained_at": _now(), "train_window": [_iso(train_lists[0].at), _iso(train_lists[-1].at)],
            "test_window": [_iso(test_lists[0].at), _iso(test_lists[-1].at)],
            "metrics": {"hand": result["hand"], "learned": result["learned"]},
            "importance_gain": {f: round(float(v), 3) for f, v in
                                zip(candidate.features, booster.feature_importance("gain"), strict=True)}}
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    result["version"] = version
    if chosen and learned["ndcg10"] > hand["ndcg10"]:
        history = [*pointer.get("history", []), {"version": version, "at": _now(), "reason": "beat the hand weights"}]
        _write_pointer(settings, {"version": version, "stack": [*pointer.get("stack", []), version],
                                  "history": history})
        result["adopted"] = True
        result["decision"] = (f"{version} adopted for {', '.join(chosen)}: held-out nDCG@10 {learned['ndcg10']:.4f} > "
                              f"hand {hand['ndcg10']:.4f}")
    else:
        why = (f"held-out nDCG@10 {learned['ndcg10']:.4f} ≤ hand {hand['ndcg10']:.4f}" if chosen else
               "it beats the hand weights in no mode (or falls below plain retrieval on a guard set)")
        result["decision"] = f"{version} saved but not adopted: {why}; the ranking in use is unchanged"
    log.info("learn: %s", result["decision"])
    return result


def rollback(settings: Settings) -> dict[str, Any]:
    """Return to the model in use before the current one (or to the hand weights)."""
    pointer = read_pointer(settings)
    stack = list(pointer.get("stack", []))
    current = pointer.get("version")
    if not current:
        return {"version": None, "decision": "the hand weights are already in use"}
    if stack and stack[-1] == current:
        stack.pop()
    previous = stack[-1] if stack else None
    history = [*pointer.get("history", []), {"version": previous, "at": _now(), "reason": f"rollback from {current}"}]
    _write_pointer(settings, {"version": previous, "stack": stack, "history": history})
    decision = f"rolled back from {current} to {previous or 'the hand weights'}"
    log.info("learn: %s", decision)
    return {"version": previous, "decision": decision}


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
