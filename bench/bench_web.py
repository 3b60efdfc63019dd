"""The web app's first load on the demo: JavaScript shipped (gzip) and time to interactive.

    .venv/bin/python bench/bench_web.py [--runs 7]

Starts `halo-gateway demo` (60 organisations), then loads the printed link in Debian's
headless chromium with a cold cache, `--runs` times. "Interactive" is the moment the Mapping
page is usable: the grid's rows are on screen and the sync buttons enabled, i.e. after the
token swap (issueSessionToken), the viewer and grid queries and the overview subscription's
first answer over the websocket. Baseline, in the same run: the same browser loading the
gateway's `/healthz` (one round trip, no script), so the ratio is what the app adds over a
bare request. Budgets (issue #17): < 300 KB of JavaScript gzip, interactive < 1 s.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

BIN = Path(sys.executable).parent / "halo-gateway"
PORT = 8798
JS_BUDGET_BYTES = 300 * 1024
TTI_BUDGET_MS = 1000
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INTERACTIVE = """() => {
  const rows = document.querySelectorAll('tbody tr[data-org]').length;
  const button = document.querySelector('[data-testid=sync-organizations]');
  return rows > 0 && button && !button.disabled ? performance.now() : null;
}"""


def start_demo(workdir: str) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    process = subprocess.Popen(
        [str(BIN), "demo", "--port", str(PORT), "--organizations", "60"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the demo exited")
        if match := re.search(r"Web app:\s+(\S+)", line):
            return process, match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="halo-bench-web-")
    process, link = start_demo(workdir)
    base = link.split("/#")[0]
    try:
        for _ in range(200):
            try:
                httpx.get(base + "/healthz")
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        time.sleep(2)  # the demo's first organisations sync
        tti: list[float] = []
        fcp: list[float] = []
        baseline: list[float] = []
        js_raw = js_gzip = 0
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=CHROMIUM_ARGS,
            )
            for run in range(args.runs + 1):  # run 0 warms the server and the browser
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                page = context.new_page()
                scripts: dict[str, bytes] = {}

                def keep(response, scripts=scripts) -> None:
                    if response.request.resource_type == "script":
                        scripts[response.url] = response.body()

                page.on("response", keep)
                page.goto(link)
                at = page.wait_for_function(INTERACTIVE, polling="raf", timeout=30_000)
                interactive_ms = at.json_value()
                paint = page.evaluate(
                    "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime"
                )
                context.close()
                context = browser.new_context()
                bare = context.new_page()
                bare.goto(base + "/healthz")
                load = bare.evaluate(
                    "() => performance.getEntriesByType('navigation')[0].responseEnd"
                )
                context.close()
                if run == 0:
                    continue
                tti.append(interactive_ms)
                fcp.append(paint or 0.0)
                baseline.append(load)
                js_raw = sum(len(b) for b in scripts.values())
                js_gzip = sum(len(gzip.compress(b, 9)) for b in scripts.values())
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    p50 = statistics.median(tti)
    print(f"runs: {args.runs} (cold cache each), demo with 60 organisations")
    print(
        f"JavaScript on first load: {js_raw / 1024:.1f} KB raw, {js_gzip / 1024:.1f} KB gzip "
        f"(budget {JS_BUDGET_BYTES // 1024} KB: {js_gzip / JS_BUDGET_BYTES:.2f} of it)"
    )
    print(f"first contentful paint p50: {statistics.median(fcp):.0f} ms")
    print(
        f"interactive p50: {p50:.0f} ms, max {max(tti):.0f} ms "
        f"(budget {TTI_BUDGET_MS} ms: {p50 / TTI_BUDGET_MS:.2f} of it)"
    )
    print(
        f"baseline (GET /healthz in the same browser) p50: {statistics.median(baseline):.1f} ms;"
        f" ratio interactive / baseline: {p50 / statistics.median(baseline):.1f}x"
    )


if __name__ == "__main__":
    main()
