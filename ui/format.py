"""Numbers formatted by unit, and people's text made safe to show, the same way on every page."""

from __future__ import annotations

import html
import re

import pandas as pd

# One formatter for the app, the alerts, the review pack and the CLI: the engine's.
from metrics.formatting import (  # noqa: F401
    UNIT_AXIS_TITLES, format_change, format_value, humanise, is_missing,
)

def plotly_tick_format(unit: str) -> str | None:
    return {"percent": ".0%", "currency": "$,.3s", "ratio": ".1f"}.get(unit)


# Codes shown in words. "NA" (North America) is also what pandas reads as missing in a CSV.
VALUE_LABELS = {"region": {"NA": "North America"}}
CODE_COLUMNS = ("source_channel", "channel", "sourced_by", "team", "stage", "kind")


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows as a person reads them: codes in words, regions that no spreadsheet mistakes
    for missing values. Used for the table on screen and its CSV download alike."""
    out = frame.copy()
    # The engine's notes and dates stay with the query; the grid cannot serialise them.
    out.attrs = {}
    for column in out.columns:
        labels = VALUE_LABELS.get(column)
        if labels:
            out[column] = out[column].map(lambda v, labels=labels: labels.get(v, v)
                                          if isinstance(v, str) else v)
        elif column in CODE_COLUMNS and not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(lambda v: humanise(v) if isinstance(v, str) else v)
    return out


# -- people's text, shown as written -----------------------------------------------------------
# Labels, descriptions, reasons and error messages quoting SQL are written by people. Where an
# element reads Markdown (titles, captions, alerts, metric and expander labels) they must not
# become links, images, HTML, colours or maths; in plotly text they must not become HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$=\"'&^])")
# GitHub Markdown turns these into links after escapes are resolved, so escaping cannot stop
# it; a code span is never searched for links.
_AUTOLINK = re.compile(r"(https?://|www\.|mailto:|xmpp:)|[\w.+-]+@[\w-]+\.\w", re.IGNORECASE)


def escape_markdown(text: object) -> str:
    """Text for a Markdown element that shows exactly as written, on one line.

    Every Markdown and Streamlit directive character is backslash-escaped; a word that GitHub
    Markdown would auto-link (a URL, www. address or e-mail) becomes a code span instead.

    >>> print(escape_markdown("[x](javascript:alert(1)) :red[hi]"))
    \\[x\\]\\(javascript\\:alert\\(1\\)\\) \\:red\\[hi\\]
    >>> print(escape_markdown("see https://evil.example/a.png or ops@example.com"))
    see `https://evil.example/a.png` or `ops@example.com`
    """
    words = re.split(r"(\s+)", str(text).replace("\r", " ").replace("\n", " "))
    return "".join(_code_span(w) if _AUTOLINK.search(w) else _MARKDOWN_SPECIAL.sub(r"\\\1", w)
                   for w in words)


def _code_span(word: str) -> str:
    """`word` as an inline code span, fenced by more backticks than it contains in a row."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", word)), default=0) + 1)
    padded = f" {word} " if word.startswith("`") or word.endswith("`") else word
    return f"{fence}{padded}{fence}"


def chart_text(text: object) -> str:
    """Text for a plotly title, axis title, legend or hover label that shows as written.

    plotly reads a subset of HTML in its text (<a href>, <b>, <br>, entities); escaped, a
    label's markup is shown instead of followed.

    >>> chart_text('<a href="https://evil.example">Win rate</a> & more')
    '&lt;a href=&quot;https://evil.example&quot;&gt;Win rate&lt;/a&gt; &amp; more'
    """
    return html.escape(str(text), quote=True)
