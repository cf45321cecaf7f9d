"""The browser side of `python -m metrics bench --browser`: the meeting, in real Chromium.

Starts the server as `make run` does (`python -m ui.serve`, warm-up in the background) on a
free loopback port with a fresh catalog, waits for the warm-up to finish, then:

* **first visit**: one browser session opens the Overview: the first visit after the server
  started;
* **the meeting**: ten sessions at once (one Chromium, ten contexts) each open the Overview,
  change the filters twice (each session its own combinations, so no cache has seen them) and
  open one more page with those filters, as ten people in a meeting would;

and reports, per page, the median and worst time from navigation to a finished page (the
script no longer running, the title and the filter description shown, unchanged over two
polls), the server's peak memory (VmHWM) after the meeting and the CPU seconds the server used
during the first visit and the meeting (the rest of the machine's went to Chromium and others). Every step is bounded by
STEP_TIMEOUT_S; a step that runs over is reported as such, never waited for.

Filter changes arrive as URLs (a session opened on a link carrying the filters), which costs a
page load on top of the rerun a click in the sidebar costs: the figure is an upper bound.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from metrics.errors import QueryError
from metrics.paths import REPO_ROOT

CHROMIUM = os.environ.get("HANDOFF_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SESSIONS = 10
STEP_TIMEOUT_S = 60.0
WARM_UP_TIMEOUT_S = 900.0
POLL_S = 0.1
SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
CHANNELS = ("paid_search", "organic_search", "social", "content", "email", "webinars",
            "events")
CHANNEL_LABELS = {"paid_search": "Paid search", "organic_search": "Organic search"}
# The page each session opens after its filter changes (path, as the router names it).
OTHER_PAGES = ("funnel", "campaigns", "sla", "volume")
_DONE = """(expected) => {
    const status = document.querySelector('[data-testid="stStatusWidget"]');
    if (status && /running/i.test(status.innerText || "")) return false;
    if (!document.querySelector('[data-testid="stHeading"], h1')) return false;
    if (document.querySelector('[data-testid="stException"]')) return true;
    return expected.every(text => document.body.innerText.includes(text));
}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_steps(index: int) -> list[tuple[str, dict[str, str], list[str]]]:
    """(page path, query parameters, texts the finished page shows) for session `index`: the
    Overview, two filter changes of its own, another page with the last filters."""
    segment = SEGMENTS[index % len(SEGMENTS)]
    region = REGIONS[index % len(REGIONS)]
    channel = CHANNELS[index % len(CHANNELS)]
    channel_label = CHANNEL_LABELS.get(channel, channel.replace("_", " ").capitalize())
    first = {"segment": segment, "region": region}
    second = {"segment": segment, "channel": channel}
    second_texts = [f"Segment: {segment}", f"Channel: {channel_label}"]
    return [("", {}, ["All leads"]),
            ("", first, [f"Segment: {segment}", f"Region: {region}"]),
            ("", second, second_texts),
            (OTHER_PAGES[index % len(OTHER_PAGES)], second, second_texts)]


async def _visit(context, base: str, path: str, params: dict[str, str],
                 expected: list[str]) -> dict:
    page = await context.new_page()
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"{base}/{path}" + (f"?{query}" if query else "")
    started = time.perf_counter()
    outcome = {"page": path or "overview", "url": url}
    try:
        deadline = started + STEP_TIMEOUT_S
        await page.goto(url, timeout=STEP_TIMEOUT_S * 1000)
        done_at = None
        while time.perf_counter() < deadline:
            if await page.evaluate(_DONE, expected):
                done_at = done_at or time.perf_counter()
                await asyncio.sleep(POLL_S * 2)
                if await page.evaluate(_DONE, expected):
                    break
                done_at = None
            await asyncio.sleep(POLL_S)
        if done_at is None:
            outcome["error"] = f"not finished within {STEP_TIMEOUT_S:g} s"
        else:
            outcome["seconds"] = done_at - started
            if await page.locator('[data-testid="stException"]').count():
                outcome["error"] = "the page shows an exception"
    except Exception as exc:  # a timeout or a crashed tab is a figure, not the bench's end
        outcome["error"] = str(exc).splitlines()[0][:200]
    finally:
        await page.close()
    return outcome


async def _meeting(base: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            first = await _visit(context, base, "", {}, ["All leads"])
            await context.close()

            async def session(index: int) -> list[dict]:
                own = await browser.new_context(viewport={"width": 1280, "height": 800})
                try:
                    return [await _visit(own, base, *step) for step in session_steps(index)]
                finally:
                    await own.close()

            started = time.perf_counter()
            visits = await asyncio.gather(*(session(i) for i in range(SESSIONS)))
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


def measure_browser(warehouse: Path) -> dict:
    """Start the server on `warehouse`, run the first visit and the meeting; stop the server."""
    if not Path(CHROMIUM).exists():
        raise QueryError(f"the browser bench needs Chromium at {CHROMIUM} (apt-get install "
                         "chromium, or set HANDOFF_CHROMIUM).")
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise QueryError("the browser bench needs Playwright: pip install -r "
                         "requirements-dev.txt.") from None
    folder = Path(tempfile.mkdtemp(prefix="handoff-bench-browser-"))
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
            warmed = _wait_until(lambda: re.search(r"warm-up: default view cached",
                                                   log_path.read_text(errors="replace")),
                                 WARM_UP_TIMEOUT_S, server)
            out = {"server_listening_s": listening - started, "warm_up_done_s": warmed - started}
            cpu_before = _cpu_seconds(server.pid)
            out.update(asyncio.run(_meeting(base)))
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
