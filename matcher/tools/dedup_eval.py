"""``matcher dedup-eval``: precision and recall of the duplicate finder on the demo's talents with seeded
duplicates and namesakes (``demo/duplicates.py``): the truth is known because the seed wrote it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from matcher.config import Settings
from matcher.demo import duplicates, generator
from matcher.domain.talent import profile_text
from matcher.engine.dedup import PersonRecord, find_duplicates, precision_recall
from matcher.engine.embedding import CachedEmbedder, load_embedder


def run(settings: Settings, talents: int = 2000, n_duplicates: int = 40, namesakes: int = 20, seed: int | None = None,
        embedder: CachedEmbedder | None = None, with_vectors: bool = True,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    seed = settings.demo_seed if seed is None else seed
    rows = [row for row, _ in generator.iter_talents(seed, talents)]
    extra, truth = duplicates.seeded(seed, rows, n_duplicates, namesakes)
    everyone = rows + extra
    records = [PersonRecord(i, r["name"], r["affiliation"], r["phone"], r["email"]) for i, r in enumerate(everyone)]
    vectors = None
    if with_vectors:
        embedder = embedder or load_embedder(settings.embedding_model, settings.model_cache_dir,
                                             settings.embedding_cache_dir, settings.embedding_batch_size,
                                             settings.embedding_backend)
        log(f"encoding {len(everyone)} profiles (cached ones are reused)")
        vectors = embedder.encode_passages([profile_text(r["profile"], r["research_fields"], r["achievements"])
                                            for r in everyone])
    start = time.perf_counter()
    found = find_duplicates(records, vectors)
    seconds = time.perf_counter() - start
    position = {r["external_id"]: i for i, r in enumerate(everyone)}
    true_pairs = [(position[a], position[b]) for a, b in truth]
    result: dict[str, Any] = {
        "talents": talents, "seeded_duplicates": len(truth), "namesakes": namesakes, "with_vectors": with_vectors,
        **{k: round(v, 4) if isinstance(v, float) else v
           for k, v in precision_recall([(p.a, p.b) for p in found], true_pairs).items()},
        "seconds": round(seconds, 2),
    }
    missed = set(map(tuple, map(sorted, true_pairs))) - {(p.a, p.b) for p in found}
    result["missed_examples"] = [{"a": everyone[a]["name"] + "｜" + everyone[a]["affiliation"],
                                  "b": everyone[b]["name"] + "｜" + everyone[b]["affiliation"]}
                                 for a, b in sorted(missed)[:5]]
    truth_set = {tuple(sorted(t)) for t in true_pairs}
    result["false_examples"] = [{"a": everyone[p.a]["name"] + "｜" + everyone[p.a]["affiliation"],
                                 "b": everyone[p.b]["name"] + "｜" + everyone[p.b]["affiliation"],
                                 "probability": p.probability}
                                for p in found if (p.a, p.b) not in truth_set][:5]
    return result
