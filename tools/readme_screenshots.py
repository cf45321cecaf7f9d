"""Photograph every page for the README: `python tools/readme_screenshots.py [--leads N]`.

Builds (or reuses) a demo warehouse in data/screenshots/, serves it as `make run` does, and
saves a 1280-px-wide Chromium screenshot of each page into docs/screenshots/. Open the PNGs and
look at them before committing: they are what a newcomer sees first.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PAGES = {  # file name: (path and query, height of the shot)
    "overview": ("", 1000), "funnel": ("funnel", 1000), "sla": ("sla", 1000),
    "alerts": ("alerts", 1500), "reviews": ("reviews?review=1", 1400), "volume": ("volume", 1000),
    "campaigns": ("campaigns", 1000), "lead-scoring": ("lead_scoring", 1000),
    "definitions": ("definitions", 1000), "metric-explorer":
    ("metric_detail?metric=mql_to_sal_rate&by=segment", 1000), "editor": ("editor", 1000),
    "inbox": ("inbox", 1000), "history": ("history", 1000), "import": ("import_data", 1000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    args = parser.parse_args()
    folder = ROOT / "data" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    warehouse = folder / f"warehouse-{args.leads}.duckdb"
    if not warehouse.exists():
        subprocess.run([sys.executable, "-m", "metrics", "demo", "--leads", str(args.leads),
                        "--warehouse", str(warehouse)], cwd=ROOT, check=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    catalog = folder / f"catalog-{args.leads}.sqlite"
    env = {**os.environ, "METRICS_WAREHOUSE": str(warehouse), "METRICS_CATALOG": str(catalog)}
    if not catalog.exists():  # a frozen review to show on the Reviews page
        subprocess.run([sys.executable, "-m", "metrics", "snapshot", "save", "--title",
                        "November pipeline review", "--user", "cmo@example.com"],
                       cwd=ROOT, env=env, check=True)
    server = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        shoot(url)
    finally:
        server.terminate()


def shoot(url: str) -> None:
    from playwright.sync_api import sync_playwright

    idle = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
            "!document.querySelector('[data-testid=\"stSkeleton\"]') && "
            "document.querySelector('h1')")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for name, (path, height) in PAGES.items():
            page = browser.new_page(viewport={"width": 1280, "height": height})
            page.goto(f"{url}/{path}")
            for _ in range(3):  # idle twice in a row: charts draw after the script ends
                page.wait_for_timeout(1500)
                page.wait_for_function(idle, timeout=180_000)
            page.screenshot(path=str(OUT / f"{name}.png"))
            page.close()
            print(f"docs/screenshots/{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
