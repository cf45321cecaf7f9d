"""Small building blocks every page uses: captions, tables with CSV download, empty states."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui.data import MetricResult
from ui.format import escape_markdown, humanise, readable


def version_caption(result: MetricResult) -> str:
    """'MQL → SAL acceptance rate · mql_to_sal_rate v2 · owners marketing, sales'."""
    meta = result.meta
    owners = ", ".join(meta.get("owners", []))
    label = escape_markdown(meta.get("label", result.name))
    text = f"{label} · definition `{result.name}` v{meta.get('version', '?')}"
    if owners:
        text += f" · owned by {owners}"
    return text


def incomplete_caption(result: MetricResult, *, dotted: bool) -> str:
    """Words for the periods a chart cannot show as final: ' · dotted points: …' on a line
    chart that draws them dotted, else a sentence naming them (bars have no dotted points)."""
    meta = result.meta
    incomplete = sorted(meta.get("incomplete_periods", []))
    if not incomplete:
        return ""
    partial = set(meta.get("partial_periods", []))
    parts = []
    if partial:
        starts = ", ".join(f"{p:%d %b %Y}" for p in sorted(partial))
        parts.append(f"the period starting {starts} is not over yet (its count is partial, "
                     "not a drop)")
    maturing = [p for p in incomplete if p not in partial]
    if maturing:
        parts.append(f"{len(maturing)} recent period{'s are' if len(maturing) > 1 else ' is'} "
                     "still maturing (cohorts still converting)")
    return (" · dotted points: " if dotted else " · ") + "; ".join(parts)


def show_chart(fig: go.Figure, caption: str, *, key: str | None = None) -> None:
    st.plotly_chart(fig, key=f"chart-{key}" if key else None, config={"displaylogo": False})
    st.caption(caption)


# Column formats as Python format strings: one look for a number on every table (percent with
# one decimal, money in whole dollars, counts with separators). A column with missing values is
# shown as text formatted with these (the grid cannot draw '—' for a missing number).
_PY_FORMATS = {"percent": "{:.1%}", "dollar": "${:,.0f}", "localized": "{:,.0f}",
               "%.0f": "{:,.0f}", "%.1f": "{:,.1f}", "%.2f": "{:,.2f}", "%.2f×": "{:,.2f}×", "%.1f h": "{:,.1f} h",
               "%.1f days": "{:,.1f} days"}
# The same looks drawn by the grid itself, as (format, step): the grid shows as many decimals as
# the step has (a percent two fewer), with the reader's locale separators. Formats not listed
# (a printf string with a unit) the grid draws as they are.
_GRID_FORMATS = {"percent": ("percent", 0.001), "dollar": ("dollar", 1),
                 "localized": ("localized", 1), "%.0f": ("localized", 1),
                 "%.1f": ("localized", 0.1), "%.2f": ("localized", 0.01)}


def _display_config(frame: pd.DataFrame, column_config: dict | None):
    """(column settings, format strings): a number column's format becomes the grid's own
    (format and step; a pandas Styler costs 0.1–0.4 s per table on a first render), its Python
    twin is kept for columns with missing values, and a column without settings gets its name
    in words as header."""
    config: dict = {}
    formats: dict = {}
    for column, setting in (column_config or {}).items():
        type_config = setting.get("type_config", {}) if isinstance(setting, dict) else {}
        fmt = type_config.get("format")
        if type_config.get("type") == "number" and fmt in _PY_FORMATS:
            formats[column] = _PY_FORMATS[fmt]
            grid_format, step = _GRID_FORMATS.get(fmt, (fmt, type_config.get("step")))
            setting = {**setting, "type_config": {**type_config, "format": grid_format,
                                                  "step": step}}
        config[column] = setting
    for column in frame.columns:
        if column not in config:
            config[column] = st.column_config.Column(humanise(str(column)))
    return config, formats


def _missing_as_dash(rows: pd.DataFrame, config: dict, formats: dict) -> pd.DataFrame:
    """The grid draws a missing value as 'None' whatever a Styler says, so a column with
    missing values is shown as formatted text with '—' (the download keeps the values; such a
    column sorts as text)."""
    shown = rows.copy()
    for column in shown.columns:
        values = shown[column]
        if not values.isna().any():
            continue
        setting = config[column] if isinstance(config[column], dict) else {}
        label, help_text = setting.get("label") or humanise(str(column)), setting.get("help")
        if values.dtype.kind in "fiu":
            fmt = formats.pop(column, "{:,.2f}")
        elif values.dtype.kind == "M":
            fmt = "{:%d %b %Y %H:%M}"
        else:
            shown[column] = values.astype(object).where(values.notna(), "—")
            continue
        shown[column] = ["—" if pd.isna(v) else fmt.format(v) for v in values]
        config[column] = st.column_config.TextColumn(
            label, help=help_text, alignment="right" if values.dtype.kind in "fiu" else None)
    return shown


def show_grid(frame: pd.DataFrame, *, key: str | None = None, column_config: dict | None = None,
              height: int | str = "auto", hide_index: bool = True,
              column_order: list[str] | None = None) -> pd.DataFrame:
    """A sortable table as a person reads it: codes in words, missing values '—' (never
    'None'), numbers formatted by unit. Returns the readable rows (for a download)."""
    rows = readable(frame)
    config, formats = _display_config(rows, column_config)
    shown = _missing_as_dash(rows, config, formats)
    st.dataframe(shown, column_config=config, hide_index=hide_index, height=height,
                 key=f"{key}-table" if key else None, column_order=column_order)
    return rows


def show_table(frame: pd.DataFrame, *, file_name: str, key: str, column_config: dict | None = None,
               height: int | str = "auto", hide_index: bool = True,
               column_order: list[str] | None = None) -> None:
    """`show_grid` with a CSV download of the same rows (all columns)."""
    rows = show_grid(frame, key=key, column_config=column_config, height=height,
                     hide_index=hide_index, column_order=column_order)
    st.download_button("Download CSV", rows.to_csv(index=False).encode("utf-8"),
                       file_name=f"{file_name}.csv", mime="text/csv", key=f"{key}-download",
                       icon=":material/download:")


def empty_state(message: str) -> None:
    st.info(message, icon=":material/filter_alt_off:")


def metric_error(result: MetricResult) -> None:
    st.error(f"**{result.name}** could not be computed: {escape_markdown(result.error)}",
             icon=":material/error:")


def notes(result: MetricResult) -> None:
    for note in result.meta.get("notes", []):
        st.caption(f":material/info: {note}")


def missing_input_notes(*sources) -> None:
    """Under a row of figures: each sentence saying which input the data lacks for one of
    them (an analysis frame's attrs or a metric result's notes), once, so a "—" is explained."""
    found: list[str] = []
    for source in sources:
        if isinstance(source, MetricResult):
            found += source.meta.get("notes", []) if source.meta.get("missing_inputs") else []
        elif source is not None:
            found += source.attrs.get("notes", [])
    for note in dict.fromkeys(found):
        st.caption(f":material/block: {escape_markdown(note)}")


def percent_column(label: str, help: str | None = None):
    return st.column_config.NumberColumn(label, format="percent", help=help)


def money_column(label: str, help: str | None = None):
    return st.column_config.NumberColumn(label, format="dollar", help=help)


def number_column(label: str, fmt: str = "localized", help: str | None = None):
    return st.column_config.NumberColumn(label, format=fmt, help=help)
