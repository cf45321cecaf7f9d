"""Comparing one engine's metric frames with DuckDB's (tests/engines)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from metrics.definitions import load_definition_files

METRICS = sorted(load_definition_files())


def _key(value: object) -> object:
    """A breakdown or period value as a dict key: NULL is its own key, never '' or 0."""
    return ("<NULL>",) if value is None or (isinstance(value, float) and math.isnan(value)) \
        or value is pd.NaT else value


def _integral(value: object) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value) and float(value).is_integer()


def assert_same_frame(actual: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    assert list(actual.columns) == list(expected.columns), what
    keys = [c for c in expected.columns if c not in ("value", "numerator", "denominator")]
    values = [c for c in expected.columns if c not in keys]

    def rows(frame: pd.DataFrame) -> dict:
        found = {}
        for record in frame.to_dict("records"):
            key = tuple(_key(record[k]) for k in keys)
            assert key not in found, f"{what}: the key {key} appears twice"
            found[key] = record
        return found

    got, want = rows(actual), rows(expected)
    assert set(got) == set(want), f"{what}: periods/groups differ: {set(got) ^ set(want)}"
    exact = all(_integral(want[k][c]) or pd.isna(want[k][c])
                for k in want for c in values if c != "value")
    for key, record in want.items():
        for column in values:
            a, b = got[key][column], record[column]
            if pd.isna(b):
                assert pd.isna(a), f"{what} {key} {column}: {a!r} where DuckDB has no value"
                continue
            assert not pd.isna(a), f"{what} {key} {column}: no value where DuckDB has {b!r}"
            if (column != "value" or exact) and _integral(b):
                assert a == b, f"{what} {key} {column}: {a!r} != {b!r}"
            else:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), f"{what} {key} {column}"
