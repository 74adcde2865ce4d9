"""Load benchmark against a running ``matcher serve``: match lists through HTTP.

Rotates over every open demand and the three modes (``GET /api/v1/demands/{id}/matches?mode=…&k=10``)
with N concurrent clients for a fixed time, and prints requests/s and p50/p95/p99 latency per
concurrency level, then one JSON line with all figures. It also reads the resident memory of the
server's processes (``--pids``, e.g. the uvicorn workers) when given.

    .venv/bin/python benchmarks/load.py --base http://127.0.0.1:8000 --concurrency 1,8 --duration 20
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import threading
import time
from pathlib import Path

import httpx

MODES = ("tech_vp", "dual_appointment", "flexible")


def open_demands(base: str, headers: dict[str, str]) -> list[int]:
    ids: list[int] = []
    offset = 0
    while True:
        page = httpx.get(f"{base}/api/v1/demands", params={"status": "open", "limit": 200, "offset": offset},
                         headers=headers, timeout=30).json()
        ids += [d["id"] for d in page["items"]]
        offset += 200
        if offset >= page["total"]:
            return ids


def run(base: str, headers: dict[str, str], demands: list[int], clients: int, duration: float) -> dict[str, float]:
    urls = [f"{base}/api/v1/demands/{d}/matches?mode={m}&k=10" for d, m in itertools.product(demands, MODES)]
    counter = itertools.count()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + duration

    def client() -> None:
        nonlocal errors
        with httpx.Client(headers=headers, timeout=60) as http:
            while time.perf_counter() < stop:
                url = urls[next(counter) % len(urls)]
                started = time.perf_counter()
                ok = http.get(url).status_code == 200
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    q = statistics.quantiles(latencies, n=100)
    return {"clients": clients, "requests": len(latencies), "errors": errors, "rps": round(len(latencies) / wall, 1),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1), "p99_ms": round(q[98] * 1000, 1)}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="http://127.0.0.1:8000")
    ap.add_argument("--token", default="demo-official")
    ap.add_argument("--concurrency", default="1,8")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per concurrency level")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--pids", default="", help="server process ids whose memory to report, comma-separated")
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"}
    demands = open_demands(args.base, headers)
    print(f"{len(demands)} open demands × {len(MODES)} modes at {args.base}")
    run(args.base, headers, demands, 4, args.warmup)  # every demand's vector and jieba warm
    results = []
    for n in (int(x) for x in args.concurrency.split(",")):
        r = run(args.base, headers, demands, n, args.duration)
        results.append(r)
        print(f"{n:>3} clients: {r['rps']:>7} req/s  p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  "
              f"p99 {r['p99_ms']} ms  ({r['requests']} requests, {r['errors']} errors)")
    memory = {int(p): round(rss_mib(int(p)), 1) for p in args.pids.split(",") if p}
    if memory:
        print("resident memory (MiB): " + ", ".join(f"pid {p}: {m}" for p, m in memory.items()))
    print(json.dumps({"label": args.label, "demands": len(demands), "results": results, "rss_mib": memory}))


if __name__ == "__main__":
    main()
