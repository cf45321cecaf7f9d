"""The reference schema (an empty warehouse's tables, for validating SQL with no warehouse) is
built once per model and code version and kept on disk, so a fresh process reads it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from metrics import build
from metrics.model import Stage, load_model


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty in-memory cache and a schema file of this test's own; counts the builds."""
    monkeypatch.setattr(build, "REFERENCE_SCHEMA_FILE", tmp_path / "reference-schema.json")
    monkeypatch.setattr(build, "_REFERENCE_SCHEMA", {})
    builds = []
    real = build._build_reference_schema

    def counted(model):
        builds.append(model)
        return real(model)

    monkeypatch.setattr(build, "_build_reference_schema", counted)
    return builds


def test_a_fresh_process_reads_the_schema_an_earlier_one_stored(fresh, monkeypatch):
    first = build.reference_schema()
    assert len(fresh) == 1
    assert "first_mql_at" in first["lead_lifecycle"] and "has_mql" in first["lead_day_counts"]
    monkeypatch.setattr(build, "_REFERENCE_SCHEMA", {})  # what a new process starts with
    assert build.reference_schema() == first
    assert len(fresh) == 1  # read from the file, not built again


def test_another_model_or_a_stale_file_is_built_anew(fresh):
    model = load_model()
    default = build.reference_schema(model)
    with_stage = dataclasses.replace(model, stages=(
        *model.stages, Stage("nurture", "Nurture", "back to marketing", exit=True)))
    extended = build.reference_schema(with_stage)
    assert len(fresh) == 2
    assert "first_nurture_at" in extended["lead_lifecycle"]
    assert "first_nurture_at" not in default["lead_lifecycle"]
    # The file now holds the other model's schema: the default model's key does not match it.
    stored = json.loads(build.REFERENCE_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert "first_nurture_at" in stored["schema"]["lead_lifecycle"]


def test_an_unreadable_file_is_rebuilt_over(fresh):
    build.REFERENCE_SCHEMA_FILE.write_text("{not json", encoding="utf-8")
    schema = build.reference_schema()
    assert len(fresh) == 1 and "leads" in schema
    assert json.loads(build.REFERENCE_SCHEMA_FILE.read_text(encoding="utf-8"))["schema"] == schema
