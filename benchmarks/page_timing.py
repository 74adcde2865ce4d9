"""Time the console's main pages in headless Chromium against a running server (prints the figures).

    .venv/bin/python benchmarks/page_timing.py http://127.0.0.1:8000

Each page is loaded five times per role; the script prints the median and the worst time to the
`load` event, as a person would wait for it (server rendering, ranking, CSS).
"""

from __future__ import annotations

import statistics
import sys
import time

from playwright.sync_api import sync_playwright

ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for token, paths in (
            ("demo-enterprise", ["/console/demands", "/console/demands/new", "/console/matches"]),
            ("demo-intermediary", ["/console/board", "/console/board?sector=energy&mode=tech_vp"]),
            ("demo-official", ["/console/reviews", "/console/dashboard", "/console/demands", "/console/rounds",
                               "/console/import"]),
        ):
            ctx = browser.new_context()
            ctx.add_cookies([{"name": "matcher_token", "value": token, "url": base}])
            page = ctx.new_page()
            first = page.goto(base + "/console/demands")
            assert first is not None and first.ok
            link = page.locator("tbody a[href^='/console/demands/']").first
            detail = link.get_attribute("href") if link.count() else None
            for path in paths + ([detail] if detail else []):
                times = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    page.goto(base + path, wait_until="load")
                    times.append(time.perf_counter() - t0)
                print(f"{token:<18} {path:<45} median {statistics.median(times) * 1000:6.0f} ms, "
                      f"worst {max(times) * 1000:6.0f} ms")
            ctx.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
