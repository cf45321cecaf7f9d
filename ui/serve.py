"""`python -m ui.serve [streamlit options]`: the dashboard's server, warm before its first visitor.

`streamlit run app.py` opens the catalog and the warehouse, imports the chart libraries and
compiles every definition on the first visitor's page. This launcher starts the same server and,
meanwhile, does that work in a background thread through the same process-wide resources the
pages use (ui.data's cached warehouse and catalog), then warms the default view
(metrics.warmup) through the caches all sessions share. The thread checks for a new load
every few seconds and warms the new warehouse as well, so the first page after an import is
fast too.
"""

from __future__ import annotations

import logging
import sys
import threading

from metrics.paths import REPO_ROOT

APP = REPO_ROOT / "app.py"
RECHECK_SECONDS = 5.0
log = logging.getLogger("handoff.warmup")


def warm_once() -> None:
    """Everything a first visitor would otherwise wait for, done now: the chart libraries
    imported, the catalog and warehouse opened, every definition compiled (metrics.warmup), and
    the default view's numbers put in the caches every session shares (ui.data), so the first
    visit after a start or a load renders from them."""
    import plotly.graph_objects  # noqa: F401  (the first chart pays for this import)

    from metrics.selection import LeadFilter, Selection, resolve_range
    from metrics.warmup import warm
    from ui import data
    from ui.filters import DEFAULT_GRAIN, DEFAULT_RANGE, RANGE_LABELS
    from ui.scorecard import SCORECARD, scorecard_results

    wh = data.get_warehouse()
    data.get_catalog()
    start, end = resolve_range(DEFAULT_RANGE, wh.as_of)
    default = Selection(start, end, DEFAULT_GRAIN, LeadFilter(), RANGE_LABELS[DEFAULT_RANGE],
                        as_of=wh.as_of)
    data.filter_options()
    data.campaign_channels()
    data.targets()
    # The Overview's batch and the pages' analyses run once, through the caches the pages read.
    warm(wh, log.info, overview=lambda: scorecard_results(SCORECARD, default),
         run_analysis=lambda name, kwargs: data.run_analysis(name, **kwargs))


def _keep_warm(stop: threading.Event) -> None:
    from metrics.errors import MetricError
    from ui import data

    warmed = None
    while not stop.is_set():
        try:
            stamp = data.warehouse_stamp()
            if stamp != warmed:
                warm_once()
                warmed = stamp
        except MetricError as exc:  # no warehouse yet: the page says how to build one
            log.info("warm-up waits: %s", exc)
        stop.wait(RECHECK_SECONDS)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Streamlit's caches warn when called outside a page run; here that is the point.
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR)
    stop = threading.Event()
    threading.Thread(target=_keep_warm, args=(stop,), name="handoff-warmup",
                     daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    try:
        cli.main()
    finally:
        stop.set()


if __name__ == "__main__":
    main()
