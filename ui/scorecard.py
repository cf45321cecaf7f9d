"""The "metrics that matter" tiles: value, changes, target attainment, sparkline, version."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import data
from ui.filters import link_params
from ui.components import metric_error
from ui.format import escape_markdown, format_change, format_value, is_missing
from metrics.definitions import SCORECARD_METRICS
from metrics.profile import uncovered_comparison
from metrics.selection import Selection, add_months
from metrics.targets import attainment

SCORECARD = SCORECARD_METRICS


def _value(result: data.MetricResult):
    if not result.ok or result.frame is None or result.frame.empty:
        return None
    return result.frame["value"].iloc[0]


def comparison_windows_coincide(selection: Selection) -> bool:
    """True when the previous period is the same window as the same period last year."""
    previous, last_year = selection.previous(), selection.last_year()
    return (previous.start, previous.end) == (last_year.start, last_year.end)


def maturing(defn, selection: Selection, as_of: dt.datetime) -> bool:
    """True when the period holds cohorts younger than the metric's maturity window."""
    return defn.maturity_days > 0 and selection.end > as_of - dt.timedelta(days=defn.maturity_days)


TileResults = tuple[data.MetricResult, data.MetricResult, data.MetricResult, data.MetricResult]


def scorecard_results(names: list[str] | tuple[str, ...], selection: Selection
                      ) -> dict[str, TileResults]:
    """For each tile: this period, the previous one, the same period last year and a
    12-month sparkline. The engine answers all tiles in one cached batch, one scan per source
    the metrics share (the previous period and last year are the same window for a 12-month
    range)."""
    previous = (selection.previous().start, selection.previous().end)
    last_year = (selection.last_year().start, selection.last_year().end)
    windows = list(dict.fromkeys([(selection.start, selection.end), previous, last_year]))
    spark_start = add_months(selection.end.replace(day=1), -12)
    batch = data.metric_window_batch(list(names), windows=windows,
                                     trend=(spark_start, selection.end), grain="month",
                                     where=selection.where)
    tiles = {}
    for name, (totals, spark) in batch.items():
        by_window = dict(zip(windows, totals))
        tiles[name] = (by_window[windows[0]], by_window[previous], by_window[last_year], spark)
    return tiles


def render_tile(name: str, selection: Selection, targets: dict[str, float],
                results: TileResults) -> None:
    current, previous_result, last_year_result, spark = results
    with st.container(border=True):
        if not current.ok:
            metric_error(current)
            return
        meta = current.meta
        unit, direction = meta["unit"], meta["direction"]
        defn = data.definitions()[name]
        young = maturing(defn, selection, meta["as_of"])
        value = _value(current)
        previous = _value(previous_result)
        last_year = _value(last_year_result)
        chart_data = None
        if spark.ok and spark.frame is not None:
            # Only finished, mature months: a cohort still converting would draw a false dip.
            done = spark.frame[~spark.frame["period"].isin(spark.meta.get("incomplete_periods", []))]
            if len(done) > 1:
                # A month without a value is left out, never drawn as 0.
                chart_data = done["value"].dropna().tolist() or None
        # The label goes above the metric as text so long names wrap instead of being cut.
        st.markdown(f"**{escape_markdown(meta['label'])}**", help=escape_markdown(defn.description))
        # For a 12-month (or year-to-date) window the previous period is the same period last
        # year: one comparison, named once, instead of two identical deltas.
        same_window = comparison_windows_coincide(selection)
        data_starts = data.get_warehouse().data_starts
        # A comparison window that lies mostly before the data begins has a low count because
        # the export starts there, not because the business did worse (Olist: +1,030 %).
        why_previous = uncovered_comparison(selection.previous().start, selection.previous().end,
                                            data_starts)
        why_last_year = uncovered_comparison(selection.last_year().start,
                                             selection.last_year().end, data_starts)
        change = None if why_previous else format_change(value, previous, unit)
        st.metric(
            meta["label"], format_value(value, unit), label_visibility="collapsed",
            delta=change,
            delta_color="off" if young else ("normal" if direction == "up" else "inverse"),
            chart_data=chart_data, chart_type="line",
        )
        first = "vs same period last year" if same_window else "vs previous period"
        inputs_missing = meta.get("missing_inputs", False)
        if inputs_missing:
            # The data lacks an input this metric reads: no value and nothing to compare, said
            # in words instead of two "no comparable value" lines.
            for note in meta.get("notes", []):
                st.caption(f":material/block: {escape_markdown(note)}")
        elif change is None:
            st.caption(f"{first}: no comparable value" + (f" ({why_previous})" if why_previous
                                                          else ""))
        else:
            st.caption(f"Change {first}" + (" (cohorts still maturing)" if young else ""))
        if not same_window and not inputs_missing:
            yoy = None if why_last_year else format_change(value, last_year, unit)
            if yoy:
                st.markdown(f"vs last year **{yoy}**")
            else:
                st.caption("vs last year: no comparable value"
                           + (f" ({why_last_year})" if why_last_year else ""))
        if young and not inputs_missing:
            st.caption(f":material/hourglass_top: Includes cohorts younger than "
                       f"{defn.maturity_days} days, still converting: expect it to rise.")
        target = targets.get(name)
        ratio = attainment(value, target, direction)
        if target is not None:
            colour = "gray" if ratio is None else ("green" if ratio >= 1 else
                                                   "orange" if ratio >= 0.9 else "red")
            text = f"Target {format_value(target, unit, compact=True)}"
            if ratio is not None:
                text += f" · {ratio:.0%}"
            st.badge(text, color=colour, icon=":material/flag:",
                     help="Share of the agreed target attained (for metrics where lower is "
                          "better, target ÷ value).")
        st.caption(f"Owners: {', '.join(meta['owners'])} · `{name}` v{meta['version']}")
        st.page_link("views/metric_detail.py", label="Trend and breakdown",
                     icon=":material/trending_up:", query_params=link_params(metric=name))
