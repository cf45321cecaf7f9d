"""Compiled metric SQL outlives the process, and only for exactly what it was compiled for."""

from __future__ import annotations

import shutil

import pytest

import metrics
from metrics import compile_cache
from metrics.compile_cache import CompileCache


def test_a_second_process_reuses_what_the_first_compiled(tiny_warehouse_path, tmp_path,
                                                         monkeypatch):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse_path, path)
    first = metrics.open_warehouse(path)
    expected = first.query("mqls", grain="month")
    first.close()
    assert (tmp_path / compile_cache.FILE_NAME).exists()

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled again instead of reading the cache")

    # A new Warehouse object (a fresh process's) on the same file: nothing is compiled or
    # validated again, and the numbers are the same.
    monkeypatch.setattr("metrics.warehouse.compile_metric", no_compiling)
    monkeypatch.setattr("metrics.warehouse.compile_from_day_rollup", no_compiling)
    monkeypatch.setattr("metrics.warehouse.validate_definition_columns", no_compiling)
    second = metrics.open_warehouse(path)
    again = second.query("mqls", grain="month")
    assert again["value"].tolist() == expected["value"].tolist()
    # Another request shape was never compiled: it is compiled now (and fails here).
    with pytest.raises(AssertionError, match="compiled again"):
        second.query("mqls", grain="quarter")
    second.close()


def test_keys_differ_by_code_context_and_key_but_not_by_process(tmp_path):
    calls = []

    def compile_(value):
        def run():
            calls.append(value)
            return value
        return run

    one = CompileCache(tmp_path / "c.sqlite", {"as_of": 1, "copies": {"t": frozenset("abc")}})
    assert one.get_or_compile(("m", 1, "SELECT 1"), compile_("a")) == "a"
    same = CompileCache(tmp_path / "c.sqlite", {"copies": {"t": frozenset("cba")}, "as_of": 1})
    assert same.get_or_compile(("m", 1, "SELECT 1"), compile_("b")) == "a"
    other_text = same.get_or_compile(("m", 1, "SELECT 2"), compile_("c"))
    other_data = CompileCache(tmp_path / "c.sqlite", {"as_of": 2, "copies": {"t": frozenset("abc")}})
    assert other_text == "c"
    assert other_data.get_or_compile(("m", 1, "SELECT 1"), compile_("d")) == "d"
    assert calls == ["a", "c", "d"]


def test_a_cache_that_cannot_be_written_is_only_a_miss(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache's folder would be")
    cache = CompileCache(blocked / "c.sqlite", {})
    assert cache.get_or_compile(("k",), lambda: 42) == 42
    monkeypatch.setenv(compile_cache.ENV, "off")
    assert compile_cache.cache_path(tmp_path / "warehouse.duckdb") is None


def test_a_second_process_parses_no_sql_for_a_batch_it_finds_compiled(tiny_warehouse_path,
                                                                       tmp_path, monkeypatch):
    """Reading compiled queries back costs no SQL parsing (the first scorecard batch of a fresh
    process is its query time), and their trees, which other engines render, still load."""
    import sqlglot

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse_path, path)
    names = ["mql_to_sal_rate", "mql_to_opportunity_rate", "marketing_sourced_pipeline_share"]
    window = [(metrics.open_warehouse(path).as_of.replace(year=2000), None)]
    first = metrics.open_warehouse(path)
    expected = first.query_window_batch(names, windows=window, trend=window[0])
    first.close()

    from metrics import profile
    monkeypatch.setattr(profile, "_READS", {})  # what the first warehouse remembered

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed SQL instead of reading the cache")

    monkeypatch.setattr(sqlglot.parser.Parser, "parse", no_parsing)
    second = metrics.open_warehouse(path)
    again = second.query_window_batch(names, windows=window, trend=window[0])
    for name in names:
        assert again[name][0][0]["value"].tolist() == expected[name][0][0]["value"].tolist()
        assert again[name][1]["value"].tolist() == expected[name][1]["value"].tolist()
    monkeypatch.undo()
    compiled = next(iter(second._compiled.values()))
    assert compiled.tree.sql("duckdb") == compiled.sql
    second.close()
