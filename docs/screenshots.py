"""Regenerate the README's screenshots of the four pages (1440×900) from `halo-gateway demo`.

    .venv/bin/python docs/screenshots.py

Starts the demo (as a new user would) in a temporary directory, opens the link it prints in
Debian's chromium (Playwright, no browser download) and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

HERE = Path(__file__).resolve().parent
OUT = HERE / "screenshots"
BIN = Path(sys.executable).parent / "halo-gateway"
VIEWPORT = {"width": 1440, "height": 900}
PORT = 8797
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _wait_for_link(process: subprocess.Popen) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"Web app:\s+(\S+)", line):
            return match.group(1)
    raise TimeoutError("the demo printed no link")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="halo-shots-")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    process = subprocess.Popen(
        [str(BIN), "demo", "--port", str(PORT), "--organizations", "60"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        link = _wait_for_link(process)
        base = link.split("/#")[0]
        for _ in range(100):
            try:
                httpx.get(base + "/healthz")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=CHROMIUM_ARGS,
            )
            context = browser.new_context(viewport=VIEWPORT, timezone_id="Europe/Warsaw")
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(link)
            expect(page.get_by_test_id("tile-platform")).to_contain_text("ago")
            # A subscriptions sync, so both tiles, the logs and the chart have something to show.
            page.get_by_test_id("sync-subscriptions").click()
            expect(page.get_by_test_id("tile-psa")).to_contain_text("ago")
            expect(page.get_by_test_id("cooldown-warning")).to_be_visible()
            page.mouse.move(0, 0)
            page.screenshot(path=OUT / "mapping.png")
            row = page.locator("tbody tr", has_text="Unmapped").first
            row.get_by_role(
                "button", name=re.compile("^Click to select: PSA Organization Name")
            ).click()
            expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
            page.screenshot(path=OUT / "mapping-select.png")
            page.keyboard.press("Escape")
            page.keyboard.press("Escape")
            for link, name in (
                ("Logs & Monitoring", "logs"),
                ("Connection settings", "connection"),
            ):
                page.get_by_role("link", name=link).click()
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(300)
                page.screenshot(path=OUT / f"{name}.png")
            page.get_by_role("link", name="Configuration").click()
            page.get_by_role("switch").click()
            expect(page.get_by_role("dialog")).to_be_visible()
            page.wait_for_timeout(400)  # the switch's transition
            page.screenshot(path=OUT / "configuration.png")
            browser.close()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
