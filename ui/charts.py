"""Plotly figures with titles in words, labelled axes and honest incomplete periods."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from ui.format import UNIT_AXIS_TITLES, chart_text, format_value, plotly_tick_format, readable

PALETTE = ["#2563eb", "#f97316", "#10b981", "#a855f7", "#ef4444", "#0ea5e9", "#eab308",
           "#64748b", "#ec4899", "#14b8a6"]
MARKETING, SALES, NEUTRAL, INCOMPLETE = "#2563eb", "#f97316", "#64748b", "#94a3b8"
# Every figure starts from this template: setting it per figure would copy a second template
# into each one after go.Figure() has copied the default, the costliest step of a cached rerun.
pio.templates.default = "plotly_white"
# Building and validating a figure costs 10-20 ms, more than everything else on a cached
# rerun. A figure is a pure function of its (small, aggregated) inputs and is never changed
# after it is built (st.plotly_chart serialises a copy), so one built figure is shared by
# every rerun and session that draws the same data.
_shared_figure = st.cache_resource(max_entries=500, ttl=3600, show_spinner=False)


def _layout(fig: go.Figure, title: str, *, x_title: str | None, y_title: str | None,
            unit: str | None = None, height: int = 380) -> go.Figure:
    # Titles and names come from labels people wrote: shown as text, never as plotly's HTML.
    fig.update_layout(
        title={"text": chart_text(title), "x": 0, "xanchor": "left", "font": {"size": 17}},
        height=height, margin={"l": 10, "r": 10, "t": 50, "b": 10},
        # Legends sit under the plot (above it they collide with the title), and below the
        # x-axis title when there is one.
        font={"size": 13}, legend={"orientation": "h", "yanchor": "top",
                                   "y": -0.18 if x_title is None else -0.26,
                                   "x": 0, "xanchor": "left", "title": None},
        hovermode="x unified",
    )
    fig.update_xaxes(title=None if x_title is None else chart_text(x_title))
    fig.update_yaxes(title=None if y_title is None else chart_text(y_title), tickformat=plotly_tick_format(unit) if unit else None,
                     rangemode="tozero")
    return fig


def axis_title(label: str, unit: str) -> str:
    """'Win rate (%)'; a count or a score needs no unit after its name."""
    return label if unit == "count" else f"{label} ({UNIT_AXIS_TITLES.get(unit, unit)})"


def grain_title(grain: str) -> str:
    return {"day": "Day", "week": "Week starting", "month": "Month", "quarter": "Quarter",
            "year": "Year"}.get(grain, "Period")


def incomplete_legend(meta: dict) -> str:
    """How a chart names its dotted points: partial (period not over), still maturing, or both."""
    incomplete = set(meta.get("incomplete_periods", []))
    partial = set(meta.get("partial_periods", [])) & incomplete
    if not incomplete:
        return ""
    if partial == incomplete:
        return "partial period"
    return "still maturing or partial" if partial else "still maturing"


@_shared_figure
def trend_chart(frame: pd.DataFrame, meta: dict, *, title: str, grain: str, by: str | None = None,
                target: float | None = None, activations: list[tuple[int, dt.datetime]] = (),
                height: int = 380, events: tuple[tuple[dt.date, str], ...] = (),
                period_targets: tuple[tuple[dt.date, float], ...] = ()) -> go.Figure:
    """A metric over time; incomplete periods drawn hollow and dotted; target; version markers;
    `events` (date, text) people marked, as diamonds whose hover is their text;
    `period_targets` (period, target) the plan, as a stepped target line."""
    unit = meta.get("unit", "count")
    incomplete = set(meta.get("incomplete_periods", []))
    partial = set(meta.get("partial_periods", []))
    fig = go.Figure()
    groups = [(None, frame)] if not by else list(frame.groupby(by, dropna=False, sort=True))
    for i, (key, part) in enumerate(groups):
        part = part.sort_values("period")
        name = chart_text(meta.get("label", "value") if key is None
                          else ("(none)" if pd.isna(key) else str(key)))
        color = PALETTE[i % len(PALETTE)]
        done = part[~part["period"].isin(incomplete)]
        fig.add_scatter(x=done["period"], y=done["value"], mode="lines+markers", name=name,
                        line={"color": color, "width": 2.5}, legendgroup=name,
                        hovertemplate="%{y}<extra>" + name + "</extra>")
        open_part = part[part["period"].isin(incomplete)]
        if not open_part.empty:
            # Join the last complete point to the incomplete ones with a dotted line. A period
            # not over yet is partial (a count of a few days); one that is over but whose
            # cohorts are still converting is maturing: the hover says which.
            bridge = pd.concat([done.tail(1), open_part])
            why = ["partial period" if p in partial else "still maturing"
                   for p in bridge["period"]]
            fig.add_scatter(x=bridge["period"], y=bridge["value"], mode="lines+markers",
                            name=f"{name} ({incomplete_legend(meta)})", legendgroup=name,
                            showlegend=i == 0 and by is None,
                            line={"color": color, "width": 2, "dash": "dot"},
                            marker={"symbol": "circle-open", "size": 9}, customdata=why,
                            hovertemplate="%{y} (%{customdata})<extra>" + name + "</extra>")
    if target is not None:
        fig.add_hline(y=target, line={"color": "#16a34a", "dash": "dash", "width": 1.5},
                      annotation_text=f"target {format_value(target, unit)}",
                      annotation_position="top left")
    periods = pd.to_datetime(frame["period"]) if "period" in frame and len(frame) else None
    for version, when in activations:
        if version <= 1 or when is None:
            continue
        moment = pd.Timestamp(when)
        fig.add_vline(x=moment.to_pydatetime(), line={"color": NEUTRAL, "dash": "dash"})
        # The label reads away from the nearer edge, so a recent activation is not cut off.
        late = periods is not None and moment > periods.min() + (periods.max() - periods.min()) / 2
        fig.add_annotation(x=moment.to_pydatetime(), y=1, yref="paper",
                           text=f"v{version} active", showarrow=False,
                           xanchor="right" if late else "left",
                           font={"size": 11, "color": NEUTRAL})
    if period_targets:
        fig.add_scatter(x=[p for p, _ in period_targets], y=[t for _, t in period_targets],
                        mode="lines+markers", name="Target (plan)", line_shape="hvh",
                        line={"color": "#16a34a", "dash": "dash", "width": 1.5},
                        marker={"symbol": "line-ew-open", "size": 12, "color": "#16a34a"},
                        hovertemplate="target %{y}<extra></extra>")
    if events:
        _add_events(fig, frame, events)
    return _layout(fig, title, x_title=grain_title(meta.get("grain", "month")),
                   y_title=axis_title(meta.get("label", ""), unit),
                   unit=unit, height=height)


EVENT = "#7c3aed"


def _add_events(fig: go.Figure, frame: pd.DataFrame, events: tuple[tuple[dt.date, str], ...]
                ) -> None:
    """A dotted line and a diamond at the top of the plot per event; the text (written by
    people) is escaped, so it shows as written in the hover, never as plotly's HTML."""
    values = pd.to_numeric(frame.get("value"), errors="coerce") if "value" in frame else None
    top = float(values.max()) if values is not None and values.notna().any() else 0.0
    moments = [pd.Timestamp(day).to_pydatetime() for day, _ in events]
    for moment in moments:
        fig.add_vline(x=moment, line={"color": EVENT, "dash": "dot", "width": 1})
    fig.add_scatter(x=moments, y=[top] * len(moments), mode="markers", name="Events",
                    marker={"symbol": "diamond", "size": 11, "color": EVENT},
                    hovertext=[chart_text(f"{day:%d %b %Y}: {text}") for day, text in events],
                    hovertemplate="%{hovertext}<extra></extra>")


@_shared_figure
def funnel_chart(funnel: pd.DataFrame, *, title: str) -> go.Figure:
    """The waterfall: count per stage with conversion from the previous stage."""
    text = [
        f"{int(n):,}" + ("" if pd.isna(conv) or i == 0 else f" · {conv:.0%}")
        for i, (n, conv) in enumerate(zip(funnel["leads"], funnel["conversion_from_previous"]))
    ]
    fig = go.Figure(go.Funnel(
        y=funnel["label"], x=funnel["leads"], text=text, textinfo="text", cliponaxis=False,
        textposition="outside", textfont={"size": 13},
        marker={"color": [MARKETING, MARKETING, SALES, SALES, SALES, "#16a34a"][: len(funnel)]},
        hovertemplate="%{y}: %{x:,} leads<extra></extra>",
    ))
    _layout(fig, title, x_title=None, y_title=None, height=420)
    # Room on the right for the labels of the narrow bottom stages ("63 · 64%").
    fig.update_layout(margin={"l": 10, "r": 90, "t": 50, "b": 10})
    fig.update_layout(hovermode="closest")
    return fig


@_shared_figure
def cohort_heatmap(cohorts: pd.DataFrame, *, stage_label: str, title: str) -> go.Figure:
    """Rows = MQL month, columns = weeks since MQL; blank cells are not observable yet."""
    pivot = cohorts.pivot_table(index="cohort", columns="weeks_since_mql", values="share",
                                aggfunc="first", dropna=False).sort_index(ascending=False)
    labels = [pd.Timestamp(c).strftime("%b %Y") for c in pivot.index]
    observed = pivot.values[~pd.isna(pivot.values)]
    # A scale from 0 to the highest share seen (at least 1 %), so all-zero data stays readable.
    top = max(float(observed.max()) if observed.size else 0.0, 0.01)
    fig = go.Figure(go.Heatmap(
        z=pivot.values, x=[int(w) for w in pivot.columns], y=labels, colorscale="Blues",
        zmin=0, zmax=top, colorbar={"title": "reached", "tickformat": ".0%"},
        hovertemplate="MQLs of %{y}, week %{x}: %{z:.1%} reached " + stage_label + "<extra></extra>",
        hoverongaps=False,
    ))
    _layout(fig, title, x_title="Weeks since first MQL", y_title="MQL cohort (month)",
            height=max(320, 24 * len(labels) + 120))
    fig.update_yaxes(rangemode=None, type="category")
    fig.update_layout(hovermode="closest")
    return fig


@_shared_figure
def bar_chart(frame: pd.DataFrame, *, x: str, y: str, title: str, unit: str, x_title: str,
              y_title: str, color: str | None = None, horizontal: bool = False,
              stacked: bool = True, height: int = 380, log_scale: bool = False) -> go.Figure:
    """Bars, optionally coloured by a column; horizontal puts categories on the y axis;
    `log_scale` for values that span orders of magnitude.
    Codes (paid_search) are shown in words (Paid search)."""
    frame = readable(frame)
    fig = go.Figure()
    groups = [(None, frame)] if not color else list(frame.groupby(color, dropna=False, sort=True))
    for i, (key, part) in enumerate(groups):
        name = chart_text(y_title if key is None else ("(none)" if pd.isna(key) else str(key)))
        kwargs = dict(name=name, marker_color=PALETTE[i % len(PALETTE)],
                      hovertemplate="%{y}<extra>" + name + "</extra>" if not horizontal
                      else "%{x}<extra>" + name + "</extra>")
        if horizontal:
            fig.add_bar(x=part[y], y=part[x], orientation="h", **kwargs)
        else:
            fig.add_bar(x=part[x], y=part[y], **kwargs)
    fig.update_layout(barmode="stack" if stacked else "group", showlegend=color is not None)
    if horizontal:
        _layout(fig, title, x_title=y_title, y_title=x_title, height=height)
        fig.update_xaxes(tickformat=plotly_tick_format(unit), type="log" if log_scale else None)
        fig.update_yaxes(autorange="reversed", rangemode=None, type="category")
        fig.update_layout(hovermode="closest")
        return fig
    return _layout(fig, title, x_title=x_title, y_title=y_title, unit=unit, height=height)


@_shared_figure
def journey_chart(journey: pd.DataFrame, *, title: str) -> go.Figure:
    """Every stage change and touch of one lead on one timeline, one lane per kind."""
    lanes = {"marketing": "Marketing touches", "sales": "Sales touches"}
    frame = journey.copy()
    frame["lane"] = [
        "Stages" if k == "stage" else ("Opportunity" if k == "opportunity" else lanes.get(t, "Touches"))
        for k, t in zip(frame["kind"], frame["team"])
    ]
    colors = {"Stages": NEUTRAL, "Marketing touches": MARKETING, "Sales touches": SALES,
              "Opportunity": "#16a34a", "Touches": NEUTRAL}
    fig = go.Figure()
    for lane in ["Stages", "Marketing touches", "Sales touches", "Opportunity", "Touches"]:
        part = frame[frame["lane"] == lane]
        if part.empty:
            continue
        # Stages and the opportunity are few: they are labelled, alternating above and below
        # so neighbours do not overlap. Touches come in bursts of several a day, so their
        # labels would pile up: they are named in the hover and in the table below.
        labelled = lane in ("Stages", "Opportunity")
        positions = ["top center" if i % 2 == 0 else "bottom center" for i in range(len(part))]
        fig.add_scatter(x=part["occurred_at"], y=[lane] * len(part),
                        mode="markers+text" if labelled else "markers",
                        text=part["what"], textposition=positions, name=lane, cliponaxis=False,
                        marker={"size": 12, "color": colors[lane]},
                        customdata=part[["detail", "actor"]].fillna("").values,
                        hovertemplate="%{x|%d %b %Y %H:%M} UTC<br>%{text}<br>%{customdata[0]}"
                                      "<br>%{customdata[1]}<extra></extra>")
    _layout(fig, title, x_title="Time (UTC)", y_title=None, height=420)
    fig.update_layout(margin={"l": 10, "r": 70, "t": 50, "b": 10})
    fig.update_yaxes(type="category", rangemode=None)
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
