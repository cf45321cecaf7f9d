"""One page's first visit in a fresh process, for `python -m metrics bench`.

`python -m ui.first_visit --warehouse PATH --page views/x.py --out FILE [--no-warm]` starts as a
server process would: with the warm-up `ui.serve` runs before its first visitor (unless
--no-warm: then it is `streamlit run app.py`'s first visitor), then opens the page through
AppTest twice: with the default filters, and with a filter combination no cache has seen (a
fresh session on a URL carrying it, as a shared link or a changed filter arrives). Each run
reports the page's script time and its engine time (metrics.bench_first.engine_clock).

The Review inbox is opened as an approver with one pending proposal (a stricter MQL → SAL
acceptance rate), so that its impact preview is part of the page as a reviewer meets it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from metrics.bench_first import engine_clock, scratch_folder
from metrics.paths import REPO_ROOT

APP = REPO_ROOT / "app.py"
# A combination none of the warm-up, the default view or another page asked for.
NEW_FILTERS = {"segment": ["Enterprise"], "region": ["EMEA"]}
INBOX = "views/inbox.py"
REVIEWER = "cmo@example.com"
PROPOSAL = ("mql_to_sal_rate",
            "CASE WHEN first_sal_at IS NOT NULL THEN 1 ELSE 0 END AS numerator",
            "CASE WHEN first_sql_at IS NOT NULL THEN 1 ELSE 0 END AS numerator")


def _propose(catalog_path: Path) -> None:
    import metrics

    catalog = metrics.open_catalog(catalog_path)
    name, old, new = PROPOSAL
    catalog.propose(name, catalog.text(name).replace(old, new),
                    author="marketing.ops@example.com", reason="bench: stricter acceptance")


def _warm() -> float:
    """What ui.serve's background thread does before the first visitor; returns seconds."""
    from ui.serve import warm_once

    started = time.perf_counter()
    warm_once()
    return time.perf_counter() - started


def measure(path: Path, page: str, *, warm: bool) -> dict:
    import logging

    from streamlit import config
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    config.set_option("client.showErrorDetails", "full")
    folder = scratch_folder("handoff-bench-first-")
    os.environ["METRICS_WAREHOUSE"] = str(path)
    os.environ["METRICS_CATALOG"] = str(folder / "catalog.sqlite")
    params: dict[str, object] = {}
    if page == INBOX:
        _propose(folder / "catalog.sqlite")
        params["as"] = REVIEWER
    out: dict = {"page": page, "warm": warm, "warm_up_s": _warm() if warm else None}

    def visit(extra: dict) -> dict:
        at = AppTest.from_file(str(APP), default_timeout=600)
        for key, value in {**params, **extra}.items():
            at.query_params[key] = value
        at.switch_page(page)
        with engine_clock() as clock:
            started = time.perf_counter()
            at.run()
            page_ms = (time.perf_counter() - started) * 1000
        problems = [e.message for e in at.exception] + [e.value for e in at.error]
        return {"page_ms": page_ms, "engine_ms": clock.seconds * 1000,
                "engine_calls": clock.calls,
                "error": str(problems[0])[:300] if problems else None}

    out["default"] = visit({})
    out["new_filters"] = visit(NEW_FILTERS)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.first_visit")
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--page", required=True)
    parser.add_argument("--no-warm", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    measured = measure(args.warehouse, args.page, warm=not args.no_warm)
    args.out.write_text(json.dumps(measured, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
