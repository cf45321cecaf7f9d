from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("HANDOFF_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The real app as `make run` serves it (`python -m ui.serve`, Streamlit warmed in the
    background) on a free port, with a fresh demo warehouse."""
    from demo_warehouse import build_demo_warehouse

    folder = tmp_path_factory.mktemp("e2e")
    warehouse = build_demo_warehouse(folder / "warehouse.duckdb")
    port = _free_port()
    env = {**os.environ, "METRICS_WAREHOUSE": str(warehouse),
           "METRICS_CATALOG": str(folder / "catalog.sqlite")}
    log = open(folder / "streamlit.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "--server.port", str(port),
         "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail(f"streamlit did not start; see {folder / 'streamlit.log'}")
    yield url
    process.terminate()
    process.wait(timeout=20)
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser test needs Chromium at {CHROMIUM}: `apt-get install chromium` "
                    "(.ci/run does this).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def wait_for_app():
    return _wait_for_app


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def _wait_for_app(tab, timeout_ms: int = 60000) -> None:
    """Wait until Streamlit has finished running the script and charts have drawn."""
    tab.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    tab.wait_for_function(
        """() => {
            const status = document.querySelector('[data-testid="stStatusWidget"]');
            const busy = status && /running/i.test(status.innerText || "");
            return !busy && document.querySelectorAll('[data-testid="stHeading"], h1').length > 0;
        }""", timeout=timeout_ms)
    tab.wait_for_timeout(1500)
    # Every page any browser test waits for fails on a Streamlit exception box.
    exceptions = tab.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, f"{tab.url}: {exceptions.first.inner_text()}"


def photograph(page, path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to fit it."""
    measure = """() => Math.max(
        ...['[data-testid="stMain"]', '[data-testid="stMainBlockContainer"]']
        .map(s => document.querySelector(s)).filter(Boolean)
        .map(e => e.scrollHeight + e.getBoundingClientRect().top + 80))"""
    for _ in range(3):  # the layout reflows after a resize; measure again until it is stable
        height = min(max(int(page.evaluate(measure)), 800), 8000)
        if page.viewport_size["height"] >= height:
            break
        page.set_viewport_size({"width": 1280, "height": height})
        page.wait_for_timeout(1200)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.wait_for_timeout(300)
