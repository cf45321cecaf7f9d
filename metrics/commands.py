"""The core CLI commands: demo, validate, list, query, restore (DESIGN.md section 7)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import pandas as pd

from metrics.build import build_warehouse, reference_schema
from metrics.compiler import GRAINS
from metrics.definitions import load_definition_file, load_definition_files
from metrics.engines.portability import check_portability
from metrics.errors import MetricError, QueryError
from metrics.paths import METRICS_DIR, default_warehouse_path
from metrics.progress import ProgressBar
from metrics.sql_guard import validate_definition


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser("demo", help="build a demo warehouse with realistic data")
    demo.add_argument("--leads", type=int, default=200_000, help="number of leads (default 200000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--as-of", help="the demo's as-of date, ISO (default: today, midnight UTC)")
    demo.add_argument("--warehouse", type=Path, help="warehouse file (default data/warehouse.duckdb)")
    demo.set_defaults(func=run_demo)

    validate = subparsers.add_parser("validate", help="check metric definition files")
    validate.add_argument("files", nargs="*", type=Path, help="files (default: sql/metrics/*.sql)")
    validate.set_defaults(func=run_validate)

    listing = subparsers.add_parser("list", help="list the metrics")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.add_argument("--catalog", type=Path, help="catalog file, to list active versions")
    listing.set_defaults(func=run_list)

    query = subparsers.add_parser("query", help="compute one metric")
    query.add_argument("name")
    query.add_argument("--start", help="inclusive start of the anchor time, ISO date")
    query.add_argument("--end", help="exclusive end of the anchor time, ISO date")
    query.add_argument("--grain", choices=GRAINS, default="month")
    query.add_argument("--by", help="a lead column or a dimension the metric returns")
    query.add_argument("--where", action="append", default=[], metavar="DIM=VALUE",
                       help="filter; repeat for several (the same DIM twice means either value)")
    query.add_argument("--version", type=int, help="run this version of the definition")
    query.add_argument("--format", choices=("csv", "json", "table"), default="table")
    query.add_argument("--warehouse", type=Path)
    query.add_argument("--engine", help="engine URL (default METRICS_ENGINE, else DuckDB at "
                       "--warehouse): postgresql://..., chdb:///dir, spark://host:port, sc://...")
    query.add_argument("--catalog", type=Path, help="catalog file (versions; default: none "
                       "unless METRICS_CATALOG is set)")
    query.set_defaults(func=run_query)

    restore = subparsers.add_parser(
        "restore", help="put a previous warehouse back (each load keeps the one it replaces)",
        description="List the previous warehouses kept beside the warehouse (the last "
                    "METRICS_KEEP_WAREHOUSES, default 3), or put one back. The warehouse it "
                    "replaces is kept in turn, and the restore is written to the audit log.")
    restore.add_argument("backup", nargs="?", metavar="ID",
                         help="the previous warehouse to put back (see --list)")
    restore.add_argument("--latest", action="store_true",
                         help="put back the most recently replaced warehouse")
    restore.add_argument("--list", action="store_true", help="list the kept warehouses (default)")
    restore.add_argument("--warehouse", type=Path, help="warehouse file (default "
                         "data/warehouse.duckdb)")
    restore.add_argument("--catalog", type=Path, help="catalog whose audit log records the "
                         "restore (default data/catalog.sqlite)")
    restore.set_defaults(func=run_restore)


def run_demo(args: argparse.Namespace) -> int:
    from metrics.demo import generate_demo

    if args.leads < 1:
        raise QueryError("--leads must be at least 1.")
    as_of = (dt.datetime.fromisoformat(args.as_of) if args.as_of
             else dt.datetime.now(dt.UTC).replace(tzinfo=None))
    as_of = as_of.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    path = args.warehouse or default_warehouse_path()
    bar = ProgressBar(f"demo {args.leads:,} leads")
    started = time.perf_counter()

    def fill(con) -> None:
        generate_demo(con, leads=args.leads, seed=args.seed, as_of=as_of,
                      progress=lambda f, m: bar.update(f * 0.85, m))
        bar.update(0.85, "building lifecycle tables")

    build_warehouse(path, fill, as_of=as_of, source=f"demo leads={args.leads} seed={args.seed}")
    bar.done(f"built {path} in {time.perf_counter() - started:.1f} s")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    files = args.files or sorted(METRICS_DIR.glob("*.sql"))
    schema = reference_schema()
    failures = 0
    for path in files:
        try:
            definition = load_definition_file(path)
            validate_definition(definition, schema)
            # The catalog runs on every engine: SQL one of them cannot run faithfully fails here.
            check_portability(definition, schema)
            print(f"ok    {path}")
        except MetricError as exc:
            failures += 1
            print(f"error {exc}", file=sys.stderr)
    print(f"{len(files) - failures} valid, {failures} invalid", file=sys.stderr)
    return 1 if failures else 0


def _open_catalog(path: Path | None):
    import os

    if path is None and not os.environ.get("METRICS_CATALOG"):
        return None
    from metrics.catalog import open_catalog

    return open_catalog(path)


def run_list(args: argparse.Namespace) -> int:
    catalog = _open_catalog(args.catalog)
    defs = catalog.active_definitions() if catalog else load_definition_files()
    rows = [{"name": d.name, "label": d.label, "owners": ",".join(d.owners), "kind": d.kind,
             "unit": d.unit, "direction": d.direction, "anchor": d.anchor, "version": d.version,
             "description": d.description} for d in defs.values()]
    if args.format == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        frame = pd.DataFrame(rows, columns=["name", "version", "owners", "kind", "unit", "label"])
        print(frame.to_string(index=False))
    return 0


def _parse_where(items: list[str]) -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for item in items:
        dim, sep, value = item.partition("=")
        if not sep or not dim.strip():
            raise QueryError(f"--where takes DIM=VALUE, e.g. --where segment=SMB; got '{item}'.")
        where.setdefault(dim.strip(), []).append(value)
    return where


def run_query(args: argparse.Namespace) -> int:
    from metrics.warehouse import open_warehouse

    catalog = _open_catalog(args.catalog)
    wh = open_warehouse(args.warehouse, catalog=catalog, engine=args.engine)
    frame = wh.query(args.name, start=args.start, end=args.end, grain=args.grain, by=args.by,
                     where=_parse_where(args.where), version=args.version)
    if args.format == "csv":
        out = frame.copy()
        if "period" in out:
            out["period"] = out["period"].map(lambda d: d.isoformat())
        out.to_csv(sys.stdout, index=False)
    elif args.format == "json":
        payload = {
            "metric": frame.attrs["metric"], "version": frame.attrs["version"],
            "label": frame.attrs["label"], "unit": frame.attrs["unit"],
            "engine": frame.attrs["engine"],
            "as_of": frame.attrs["as_of"].isoformat(), "notes": frame.attrs["notes"],
            "incomplete_periods": [p.isoformat() for p in frame.attrs["incomplete_periods"]],
            "rows": json.loads(frame.to_json(orient="records", date_format="iso")),
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(f"{frame.attrs['label']} ({frame.attrs['metric']} v{frame.attrs['version']}), "
              f"data as of {frame.attrs['as_of']:%Y-%m-%d %H:%M} UTC")
        print(frame.to_string(index=False) if not frame.empty else "(no rows for this selection)")
        for note in frame.attrs["notes"]:
            print(f"note: {note}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from metrics.backups import list_backups
    from metrics.loads import command_line_user, restore_warehouse

    target = args.warehouse or default_warehouse_path()
    backups = list_backups(target)
    if args.backup and args.latest:
        raise QueryError("give either an ID or --latest, not both.")
    if args.list or not (args.backup or args.latest):
        if not backups:
            print("No previous warehouse is kept yet: each load or restore keeps the one it "
                  "replaces.")
            return 0
        print(f"{'ID':<24}{'replaced (UTC)':<19}{'leads':>10}{'events':>11}  data set")
        for b in backups:
            rows = b.summary.rows if b.summary else {}
            print(f"{b.id:<24}{b.replaced_at:%Y-%m-%d %H:%M}  {rows.get('leads', 0):>10,}"
                  f"{rows.get('lead_events', 0):>11,}  {b.description}")
        print("\nPut one back with `python -m metrics restore ID` (or --latest).")
        return 0
    if args.latest and not backups:
        raise QueryError("there is no previous warehouse to restore: none is kept yet.")
    catalog = None
    if args.catalog:
        from metrics.catalog import open_catalog

        catalog = open_catalog(args.catalog, roles={"users": {}}, sync=False)
    result = restore_warehouse(args.backup or backups[0].id, target, user=command_line_user(),
                               catalog=catalog)
    print(f"Restored {result.restored.id}: {result.restored.description}.")
    if result.kept_as:
        print(f"The warehouse it replaced is kept as {result.kept_as.id}; "
              f"`python -m metrics restore {result.kept_as.id}` puts it back.")
    return 0
