"""`python -m ui.serve [streamlit options]`: the dashboard's server, warm before its first visitor.

`streamlit run app.py` opens the catalog and the warehouse, imports the chart libraries and
compiles every definition on the first visitor's page. This launcher starts the same server and,
meanwhile, does that work in a background thread through the same process-wide resources the
pages use (ui.data's cached warehouse and catalog), then warms the default view
(metrics.warmup). The thread checks for a new load every few seconds and warms the new
warehouse as well, so the first page after an import is fast too.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from metrics.paths import REPO_ROOT

APP = REPO_ROOT / "app.py"
RECHECK_SECONDS = 5.0
log = logging.getLogger("handoff.warmup")


def _keep_warm(stop: threading.Event) -> None:
    # Imported here, in the thread, so the server starts listening at once.
    import pandas.io.formats.style  # noqa: F401  (the first table and chart pay for these imports)
    import plotly.graph_objects  # noqa: F401

    from metrics.errors import MetricError
    from metrics.warmup import warm
    from ui import data

    warmed = None
    while not stop.is_set():
        try:
            wh = data.get_warehouse()
            data.get_catalog()
            stamp = data.warehouse_stamp()
            if stamp != warmed:
                warm(wh, log.info)
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
