"""The office's dashboard endpoints through HTTP on a large demo: every /api/v1/insight figure, timed.

Prepares a state folder like ``http_bench.py`` (the demo seed at the given size; real vectors for the first
2,000 profiles, the synthetic mixtures ``matcher bench`` uses beyond), starts a real ``matcher serve``, waits
for the first start's supply job (timed: the engine ranks every open or recent demand in each of its modes),
then asks each endpoint ``--runs`` times and prints the latencies as one JSON line. The first request of each
endpoint is reported apart (``first_ms``): the runtime precomputes the province's figures after each refresh
(``dashboard.warm``), so the first request reads an answer too unless it comes before that finished (the
benchmark waits ``--settle`` seconds for it). With a state folder from an earlier run the supply rows are
still current, no job runs, and ``supply_job_s`` is null.

    .venv/bin/python benchmarks/insight_bench.py --talents 100000 --demands 10000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from http_bench import prepare, serve  # noqa: E402

ENDPOINTS = (
    "/api/v1/insight/gaps?dimension=area",
    "/api/v1/insight/gaps?dimension=sector",
    "/api/v1/insight/gaps?dimension=industry&industry_level=2",
    "/api/v1/insight/gaps?dimension=mode",
    "/api/v1/insight/gaps?dimension=area&office=140100",
    "/api/v1/insight/gaps/demands?dimension=sector&key=coal_chemical",
    "/api/v1/insight/funnel",
    "/api/v1/insight/funnel?group_by=office",
    "/api/v1/insight/funnel?group_by=month",
    "/api/v1/insight/records",
    "/api/v1/insight/momentum",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--talents", type=int, default=100_000)
    ap.add_argument("--demands", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--settle", type=float, default=60.0,
                    help="seconds to wait after the supply appeared, for the precomputed figures")
    ap.add_argument("--var", type=Path, default=None, help="state folder (default var/bench-insight-<talents>)")
    args = ap.parse_args()
    var = args.var or ROOT / "var" / f"bench-insight-{args.talents}"
    var.mkdir(parents=True, exist_ok=True)
    if not (var / "matcher.db").exists():
        t = time.perf_counter()
        prepare(var, args.talents, args.demands, args.seed)
        print(f"prepared {args.talents:,} talents, {args.demands:,} demands in {time.perf_counter() - t:.0f} s")
    os.environ["MATCHER_DEMO_DEMANDS"] = str(args.demands)
    proc, base = serve(var, 1, var / "server.log")
    started = time.perf_counter()
    headers = {"Authorization": "Bearer demo-official"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            polls = 0
            while True:
                gap = client.get(ENDPOINTS[0]).json()
                polls += 1
                if gap.get("supply_computed_at"):
                    break
                time.sleep(2)
            # a state folder from an earlier run keeps its supply rows (still current: no job runs)
            supply_s = None if polls == 1 else round(time.perf_counter() - started, 1)
            time.sleep(args.settle)  # the warm-up after the job (insight-warm looks every 10 s, then computes)
            out: dict[str, object] = {"talents": args.talents, "demands": args.demands,
                                      "supply_job_s": supply_s, "settle_s": args.settle, "runs": args.runs}
            figures: dict[str, object] = {}
            for path in ENDPOINTS:
                times = []
                for _ in range(args.runs + 1):
                    t = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])
                first, rest = times[0], sorted(times[1:])
                figures[path] = {"first_ms": round(first, 1), "median_ms": round(statistics.median(rest), 1),
                                 "p95_ms": round(rest[int(0.95 * (len(rest) - 1))], 1), "max_ms": round(rest[-1], 1)}
                print(path, figures[path], flush=True)
            out["endpoints"] = figures
            out["worst_p95_ms"] = max(v["p95_ms"] for v in figures.values())  # type: ignore[index]
            out["gap_cells"] = len(gap.get("cells", []))
            print(json.dumps(out, ensure_ascii=False))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
