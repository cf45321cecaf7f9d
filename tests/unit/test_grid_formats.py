"""Tables draw their number formats in the grid (no pandas Styler): a percent with one decimal,
money in whole dollars, counts with separators, and '—' for a missing value."""

from __future__ import annotations

import math

import pandas as pd

from ui.components import (
    _display_config,
    _missing_as_dash,
    money_column,
    number_column,
    percent_column,
)


def _type_config(config: dict, column: str) -> dict:
    return config[column]["type_config"]


def test_number_formats_become_the_grids_own_with_the_decimals_as_step():
    frame = pd.DataFrame({"share": [0.1234], "won": [1234.5], "leads": [2369], "hours": [3.25],
                          "label": ["x"]})
    config, formats = _display_config(frame, {
        "share": percent_column("Share"), "won": money_column("Won"),
        "leads": number_column("Leads"), "hours": number_column("Hours", "%.1f h")})
    assert (_type_config(config, "share")["format"], _type_config(config, "share")["step"]) == (
        "percent", 0.001)  # the grid shows step's decimals minus two: 12.3%
    assert (_type_config(config, "won")["format"], _type_config(config, "won")["step"]) == (
        "dollar", 1)
    assert (_type_config(config, "leads")["format"], _type_config(config, "leads")["step"]) == (
        "localized", 1)
    assert _type_config(config, "hours")["format"] == "%.1f h"  # a printf string the grid reads
    assert config["label"]["label"] == "Label"  # a column without settings: its name in words
    # The Python twins stay for columns that turn out to have missing values.
    assert formats["share"].format(0.1234) == "12.3%" and formats["won"].format(1234.5) == "$1,234"


def test_a_column_with_missing_values_is_shown_as_formatted_text_with_a_dash():
    frame = pd.DataFrame({"share": [0.5, math.nan], "leads": [10, 20]})
    config, formats = _display_config(frame, {"share": percent_column("Share"),
                                              "leads": number_column("Leads")})
    shown = _missing_as_dash(frame, config, formats)
    assert list(shown["share"]) == ["50.0%", "—"]
    assert config["share"]["type_config"]["type"] == "text"
    assert list(shown["leads"]) == [10, 20]  # complete: still a number column, sorted as numbers
    assert config["leads"]["type_config"]["format"] == "localized"
