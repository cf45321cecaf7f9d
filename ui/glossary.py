"""The stage model and metric catalog as tables for the glossary page."""

from __future__ import annotations

import pandas as pd

from metrics.definitions import MetricDefinition
from metrics.model import load_model

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}


def stage_table() -> pd.DataFrame:
    model = load_model()
    return pd.DataFrame([
        {"Stage": s.label, "Name": s.name, "Kind": "exit" if s.exit else "funnel",
         "Definition": s.definition}
        for s in model.stages
    ])


def sla_summary() -> str:
    sla = load_model().sla
    days = sorted(sla.business_days, key=list(DAY_NAMES).index)
    text = (f"**First sales touch within {sla.hours:g} business hours of the first MQL.** "
            f"Business hours: {DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}, "
            f"{sla.day_starts:%H:%M}–{sla.day_ends:%H:%M} ({sla.timezone}).")
    if sla.segment_hours:
        text += " Overrides: " + ", ".join(f"{seg} {h:g} h" for seg, h in sla.segment_hours.items()) + "."
    if sla.description:
        text += "\n\n" + sla.description
    return text


def catalog_table(defs: dict[str, MetricDefinition]) -> pd.DataFrame:
    return pd.DataFrame([
        {"Metric": d.label, "Name": d.name, "Version": d.version, "Owners": ", ".join(d.owners),
         "Kind": d.kind, "Unit": d.unit, "Good when": "higher" if d.direction == "up" else "lower",
         "Anchor": d.anchor, "Description": d.description}
        for d in sorted(defs.values(), key=lambda d: d.label)
    ])
