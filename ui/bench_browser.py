"""The browser side of `python -m metrics bench --browser`: the meeting, in real Chromium.

Starts the server as `make run` does (`python -m ui.serve`, warm-up in the background) on a
free loopback port with a fresh catalog, waits for the warm-up to finish, then:

* **first visit**: one browser session opens the Overview: the first visit after the server
  started;
* **the meeting**: ten sessions at once (one Chromium, ten contexts), each as a person clicks:
  it opens the Overview once, then changes the filters in the sidebar three times (picks a
  segment, a region, a channel: each session its own, so no cache has seen the combination)
  and opens one more page by its link in the navigation, each change a Streamlit rerun over the
  open websocket, not a page load;

and reports, per step, the median and worst time from the click (or the navigation) to a
settled page (the script no longer running, no skeleton, the page's title and the filter
description shown, unchanged over two polls), the server's peak memory (VmHWM) after the
meeting and the CPU seconds the server used during the first visit and the meeting (the rest of
the machine's went to Chromium and others). Every step is bounded by STEP_TIMEOUT_S; a step
that runs over is reported as such, never waited for, and ends that session.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from metrics.bench_first import scratch_folder
from metrics.errors import QueryError
from metrics.paths import REPO_ROOT

CHROMIUM = os.environ.get("HANDOFF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SESSIONS = 10
STEP_TIMEOUT_S = 60.0
WARM_UP_TIMEOUT_S = 900.0
POLL_S = 0.1
OPEN_ATTEMPTS, OPEN_TIMEOUT_S = 3, 5.0
# The sidebar filters each session changes, in order (their labels in the sidebar).
FILTERS = ("Segment", "Region", "Channel")
# The page each session opens after its filter changes: (its link in the navigation, its title).
OTHER_PAGES = (("Funnel", "Funnel"), ("Campaigns", "Campaign contribution"),
               ("SLA", "Follow-up SLA"),
               ("Lead volume & quality", "Lead volume"))
_SETTLED = """([texts, title]) => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && /running/i.test(status.innerText || "")) return false;
    if (document.querySelector('[data-testid="stSkeleton"]')) return false;
    const heading = document.querySelector('[data-testid="stMain"] h1');
    if (!heading) return false;
    if (document.querySelector('[data-testid="stException"]')) return true;
    if (title && !heading.innerText.includes(title)) return false;
    return texts.every(text => document.body.innerText.includes(text));
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _settled(page, started: float, texts: list[str], title: str | None) -> dict:
    """Seconds from `started` until the page shows `texts` (and `title` as its heading) with
    nothing running, twice in a row; or the error that stopped it."""
    deadline = started + STEP_TIMEOUT_S
    done_at = None
    while time.perf_counter() < deadline:
        if await page.evaluate(_SETTLED, [texts, title]):
            done_at = done_at or time.perf_counter()
            await asyncio.sleep(POLL_S * 2)
            if await page.evaluate(_SETTLED, [texts, title]):
                break
            done_at = None
        await asyncio.sleep(POLL_S)
    if done_at is None:
        return {"error": f"not finished within {STEP_TIMEOUT_S:g} s"}
    if await page.locator('[data-testid="stException"]').count():
        return {"error": "the page shows an exception", "seconds": done_at - started}
    return {"seconds": done_at - started}


async def _load(page, url: str, texts: list[str]) -> dict:
    started = time.perf_counter()
    await page.goto(url, timeout=STEP_TIMEOUT_S * 1000)
    return await _settled(page, started, texts, None)


async def _pick(page, label: str, index: int) -> tuple[str, dict]:
    """Open the sidebar multiselect `label`, pick its option number `index` (wrapping), close
    it: the option's text and the time until the rerun settled with it in the description."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(label, exact=True))
    options = page.get_by_role("option")
    for attempt in range(OPEN_ATTEMPTS):
        # A click that lands while the sidebar is being redrawn opens nothing: click again.
        await box.locator("input").click(timeout=STEP_TIMEOUT_S * 1000)
        try:
            await options.first.wait_for(timeout=OPEN_TIMEOUT_S * 1000)
            break
        except Exception:
            if attempt == OPEN_ATTEMPTS - 1:
                raise QueryError(f"the {label} filter did not open its list of options.")
            await page.keyboard.press("Escape")
    texts = [t for t in await options.all_inner_texts() if t != "Select all"]
    choice = texts[index % len(texts)]
    started = time.perf_counter()
    await page.get_by_role("option", name=choice, exact=True).click()
    await page.keyboard.press("Escape")
    return choice, await _settled(page, started, [f"{label}: {choice}"], None)


async def _session(browser, base: str, index: int) -> list[dict]:
    """One person: the Overview, three filter changes in the sidebar, another page by its
    link. Stops at the first step that fails (the next would measure a broken page)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    steps: list[dict] = []
    try:
        outcome = await _load(page, base + "/", ["All leads"])
        steps.append({"page": "overview, opened", **outcome})
        chosen: list[str] = []
        for label in FILTERS:
            if "error" in steps[-1]:
                return steps
            choice, outcome = await _pick(page, label, index)
            chosen.append(f"{label}: {choice}")
            steps.append({"page": "overview, a filter changed", "filter": chosen[-1], **outcome})
        if "error" in steps[-1]:
            return steps
        link, title = OTHER_PAGES[index % len(OTHER_PAGES)]
        started = time.perf_counter()
        await page.get_by_test_id("stSidebarNav").get_by_role("link", name=link,
                                                              exact=True).click()
        outcome = await _settled(page, started, chosen, title)
        steps.append({"page": f"{link.lower()}, by its link", **outcome})
    except Exception as exc:  # a timeout or a crashed tab is a figure, not the bench's end
        steps.append({"page": "session", "error": str(exc).splitlines()[0][:200]})
    finally:
        await context.close()
    return steps


async def _meeting(base: str, sessions: int = SESSIONS) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            try:
                first = {"page": "overview", **await _load(page, base + "/", ["All leads"])}
            except Exception as exc:
                first = {"page": "overview", "error": str(exc).splitlines()[0][:200]}
            await context.close()
            started = time.perf_counter()
            visits = await asyncio.gather(*(_session(browser, base, i) for i in range(sessions)))
            wall = time.perf_counter() - started
        finally:
            await browser.close()
    return {"first_visit": first, "visits": [v for s in visits for v in s],
            "meeting_wall_s": wall}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _peak_rss_bytes(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def measure_browser(warehouse: Path, sessions: int = SESSIONS) -> dict:
    """Start the server on `warehouse`, run the first visit and the meeting; stop the server."""
    if not Path(CHROMIUM).exists():
        raise QueryError(f"the browser bench needs Chromium at {CHROMIUM} (apt-get install "
                         "chromium, or set HANDOFF_CHROMIUM).")
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise QueryError("the browser bench needs Playwright: pip install -r "
                         "requirements-dev.txt.") from None
    folder = scratch_folder("handoff-bench-browser-")
    port = _free_port()
    env = {**os.environ, "METRICS_WAREHOUSE": str(warehouse),
           "METRICS_CATALOG": str(folder / "catalog.sqlite")}
    log_path = folder / "server.log"
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "ui.serve", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            listening = _wait_until(lambda: _healthy(base), 120, server)
            warmed = _wait_until(lambda: re.search(r"warm-up: \d+ steps in",
                                                   log_path.read_text(errors="replace")),
                                 WARM_UP_TIMEOUT_S, server)
            out = {"server_listening_s": listening - started, "warm_up_done_s": warmed - started}
            cpu_before = _cpu_seconds(server.pid)
            out.update(asyncio.run(_meeting(base, sessions)))
            cpu_after = _cpu_seconds(server.pid)
            # How much of the machine the server itself used meanwhile (the rest went to the
            # browser and to whatever else runs here): tells a slow server from a busy machine.
            if cpu_before is not None and cpu_after is not None:
                out["server_cpu_s"] = cpu_after - cpu_before
            out["server_peak_rss_bytes"] = _peak_rss_bytes(server.pid)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    out["pages"] = summarise_visits(out["visits"])
    return out


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _wait_until(condition, timeout_s: float, server: subprocess.Popen) -> float:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise QueryError(f"the server stopped (exit {server.returncode}) before the bench "
                             "could run; see its log.")
        if condition():
            return time.perf_counter()
        time.sleep(0.25)
    raise QueryError(f"the server was not ready within {timeout_s:g} s.")


def summarise_visits(visits: list[dict]) -> dict:
    """Per page: how many visits, median and worst seconds, and how many failed."""
    pages: dict[str, dict] = {}
    for visit in visits:
        entry = pages.setdefault(visit["page"], {"visits": 0, "seconds": [], "failed": []})
        entry["visits"] += 1
        if "seconds" in visit and not visit.get("error"):
            entry["seconds"].append(visit["seconds"])
        else:
            entry["failed"].append(visit.get("error"))
    for entry in pages.values():
        times = entry.pop("seconds")
        entry["median_s"] = statistics.median(times) if times else None
        entry["worst_s"] = max(times) if times else None
    return pages


def _measure(warehouse: Path, *, repeat: int) -> dict:
    return measure_browser(warehouse)


if __name__ == "__main__":
    # Run by `python -m metrics bench --browser` in a process of its own (the engine never
    # imports ui/).
    from metrics.bench import worker_main

    sys.exit(worker_main(_measure, "python -m ui.bench_browser"))
