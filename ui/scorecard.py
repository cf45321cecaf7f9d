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


COMPARISONS = {"previous": "Previous period", "last_year": "Last year", "target": "Target"}


def _compare_options(same_window: bool) -> list[str]:
    # When the previous period is the same period last year it is offered once, as last year.
    return [c for c in COMPARISONS if not (same_window and c == "previous")]


def compare_choice(name: str, same_window: bool) -> list[str]:
    """The comparisons this tile shows: those picked in its pills (drawn at its foot by
    `compare_pills`, so read here from the last run), all of them at first."""
    options = _compare_options(same_window)
    chosen = st.session_state.get(f"compare-{name}", options)
    return [c for c in options if c in (chosen or [])]


def compare_pills(name: str, same_window: bool) -> None:
    options = _compare_options(same_window)
    st.pills(f"Compare {name} with", options, format_func=COMPARISONS.get,
             selection_mode="multi", default=options, key=f"compare-{name}",
             label_visibility="collapsed",
             help="Choose what this tile compares with; each says when a period is not over "
                  "or its cohorts are still converting.")


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
        chosen = compare_choice(name, same_window)
        against = [c for c in ("previous", "last_year") if c in chosen]
        data_starts = data.get_warehouse().data_starts
        # A comparison window that lies mostly before the data begins has a low count because
        # the export starts there, not because the business did worse (Olist: +1,030 %).
        why_not = {
            "previous": uncovered_comparison(selection.previous().start,
                                             selection.previous().end, data_starts),
            "last_year": uncovered_comparison(selection.last_year().start,
                                              selection.last_year().end, data_starts)}
        compared = {"previous": previous, "last_year": last_year}

        def change_against(which: str) -> str | None:
            return None if why_not[which] else format_change(value, compared[which], unit)

        change = change_against(against[0]) if against else None
        st.metric(
            meta["label"], format_value(value, unit), label_visibility="collapsed",
            delta=change,
            delta_color="off" if young else ("normal" if direction == "up" else "inverse"),
            chart_data=chart_data, chart_type="line",
        )
        first = ("vs same period last year" if same_window or against[:1] == ["last_year"]
                 else "vs previous period")
        inputs_missing = meta.get("missing_inputs", False)
        if inputs_missing:
            # The data lacks an input this metric reads: no value and nothing to compare, said
            # in words instead of "no comparable value" lines.
            for note in meta.get("notes", []):
                st.caption(f":material/block: {escape_markdown(note)}")
        elif against and change is None:
            why = why_not[against[0]]
            st.caption(f"{first}: no comparable value" + (f" ({why})" if why else ""))
        elif against:
            st.caption(f"Change {first}" + (" (cohorts still maturing)" if young else ""))
        if len(against) == 2 and not inputs_missing:
            yoy = change_against("last_year")
            if yoy:
                maturing_note = " (cohorts still maturing)" if young else ""
                st.markdown(f"vs last year **{yoy}**{maturing_note}")
            else:
                st.caption("vs last year: no comparable value"
                           + (f" ({why_not['last_year']})" if why_not["last_year"] else ""))
        if young and not inputs_missing:
            st.caption(f":material/hourglass_top: Includes cohorts younger than "
                       f"{defn.maturity_days} days, still converting: expect it to rise.")
        planned = data.plan_target(name, defn.kind, selection.start, selection.end)
        target = (planned if planned is not None else targets.get(name)) \
            if "target" in chosen else None
        ratio = attainment(value, target, direction)
        if target is not None and selection.partial and meta.get("kind") in ("count", "sum"):
            # A count of a period not over yet against a whole period's target reads as a miss.
            st.caption(":material/hourglass_top: The period is not over: the count so far is "
                       "measured against the whole period's target.")
        if target is not None:
            colour = "gray" if ratio is None else ("green" if ratio >= 1 else
                                                   "orange" if ratio >= 0.9 else "red")
            text = (f"{'Plan' if planned is not None else 'Target'} "
                    f"{format_value(target, unit, compact=True)}")
            if ratio is not None:
                text += f" · {ratio:.0%}"
            st.badge(text, color=colour, icon=":material/flag:",
                     help="Share of the agreed target attained (for metrics where lower is "
                          "better, target ÷ value).")
        st.caption(f"Owners: {', '.join(meta['owners'])} · `{name}` v{meta['version']}")
        compare_pills(name, same_window)
        st.page_link("views/metric_detail.py", label="Trend and breakdown",
                     icon=":material/trending_up:", query_params=link_params(metric=name))
