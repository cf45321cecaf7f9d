"""Overview: the metrics that matter, as both teams agreed them."""

import streamlit as st

from ui import data, filters
from ui.review_view import since_last_review
from ui.scorecard import SCORECARD, render_tile, scorecard_results

selection = filters.current()
st.title("The metrics that matter")
filters.page_caption(selection, "changes compare with the previous period of the same length "
                      "and with the same period last year; arrows are green when the change "
                      "is good for the business")

since_last_review()
targets = data.targets()
tiles = scorecard_results(SCORECARD, selection)
for row_start in range(0, len(SCORECARD), 4):
    for column, name in zip(st.columns(4), SCORECARD[row_start:row_start + 4]):
        with column:
            render_tile(name, selection, targets, tiles[name])
