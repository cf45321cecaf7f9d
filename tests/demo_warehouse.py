"""A small, deterministic demo warehouse shared by the app and browser tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from metrics.build import build_warehouse

DEMO_AS_OF = dt.datetime(2026, 11, 1)
DEMO_LEADS = 4000
DEMO_SEED = 11


def build_demo_warehouse(path: Path, *, leads: int = DEMO_LEADS) -> Path:
    from metrics.demo import generate_demo

    build_warehouse(path, lambda con: generate_demo(con, leads=leads, seed=DEMO_SEED,
                                                    as_of=DEMO_AS_OF),
                    as_of=DEMO_AS_OF, source=f"demo leads={leads} seed={DEMO_SEED}")
    return path
