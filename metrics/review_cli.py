"""`python -m metrics snapshot save|list|show|diff` and `python -m metrics pack`.

The same review the app freezes with "Freeze this review": the scorecard, funnel, SLA, volume
and campaign tables of one period and set of filters, stored in the catalog.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from metrics.catalog import Catalog, open_catalog
from metrics.commands import _parse_where
from metrics.errors import QueryError
from metrics.review import (
    DefinitionsOn,
    Review,
    compare_with_live,
    freeze_review,
    list_reviews,
    load_review,
    versions_active_on,
)
from metrics.selection import GRAIN_LABELS, RANGE_LABELS, LeadFilter, Selection, resolve_range
from metrics.formatting import format_value


def _add_places(parser: argparse.ArgumentParser, *, warehouse: bool = True) -> None:
    if warehouse:
        parser.add_argument("--warehouse", type=Path,
                            help="warehouse file (default METRICS_WAREHOUSE or "
                            "data/warehouse.duckdb)")
    parser.add_argument("--catalog", type=Path,
                        help="catalog file (default METRICS_CATALOG or data/catalog.sqlite)")
    parser.add_argument("--roles", type=Path, help="roles file (default METRICS_ROLES or "
                        "roles.toml)")


def register(subparsers: argparse._SubParsersAction) -> None:
    snapshot = subparsers.add_parser(
        "snapshot", help="freeze, list, show and compare review meetings",
        description="A snapshot freezes a review: the scorecard, funnel, SLA, volume and "
                    "campaign tables for a period and filters, with the data's as-of time and "
                    "the version of every metric. It never changes afterwards.")
    actions = snapshot.add_subparsers(dest="snapshot_command", required=True, metavar="ACTION")

    save = actions.add_parser("save", help="freeze the review of a period and filters")
    save.add_argument("--title", required=True, help="e.g. 'Q3 pipeline review'")
    save.add_argument("--range", choices=[k for k in RANGE_LABELS if k != "custom"],
                      default="last_12_months", help="a preset period, relative to the data's "
                      "as-of time (default last_12_months)")
    save.add_argument("--start", help="inclusive start date (with --end: a custom period)")
    save.add_argument("--end", help="exclusive end date")
    save.add_argument("--grain", choices=list(GRAIN_LABELS), default="month")
    save.add_argument("--where", action="append", default=[], metavar="DIM=VALUE",
                      help="lead filter; repeat for several")
    save.add_argument("--definitions-on", metavar="DATE",
                      help="run the definitions that were live at the end of this day")
    save.add_argument("--user", help="who freezes it (default: the command-line user)")
    _add_places(save)
    save.set_defaults(func=run_save)

    listing = actions.add_parser("list", help="list the saved reviews, newest first")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    _add_places(listing, warehouse=False)
    listing.set_defaults(func=run_list)

    show = actions.add_parser("show", help="print a frozen review")
    show.add_argument("id", type=int)
    show.add_argument("--format", choices=("table", "json"), default="table")
    _add_places(show, warehouse=False)
    show.set_defaults(func=run_show)

    diff = actions.add_parser("diff", help="compare a frozen review with the live numbers")
    diff.add_argument("id", type=int)
    _add_places(diff)
    diff.set_defaults(func=run_diff)

    pack = subparsers.add_parser("pack", help="write a frozen review as a PDF for the meeting")
    pack.add_argument("id", type=int, metavar="SNAPSHOT")
    pack.add_argument("--out", type=Path, required=True, help="the PDF file to write")
    _add_places(pack, warehouse=False)
    pack.set_defaults(func=run_pack)


def _catalog(args: argparse.Namespace) -> Catalog:
    return open_catalog(args.catalog, args.roles)


def _day(text: str, option: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    except ValueError:
        raise QueryError(f"{option} takes a date as YYYY-MM-DD, not '{text}'.") from None


def selection_from_args(args: argparse.Namespace, as_of: dt.datetime) -> Selection:
    where = LeadFilter.of(_parse_where(args.where))
    if args.start or args.end:
        if not (args.start and args.end):
            raise QueryError("give both --start and --end for a custom period (or --range).")
        start, end = _day(args.start, "--start"), _day(args.end, "--end")
        if end <= start:
            raise QueryError("--end must be after --start (it is exclusive).")
        return Selection(start, end, args.grain, where, "Custom", as_of=as_of)
    start, end = resolve_range(args.range, as_of)
    return Selection(start, end, args.grain, where, RANGE_LABELS[args.range], as_of=as_of)


def run_save(args: argparse.Namespace) -> int:
    from metrics.loads import command_line_user
    from metrics.warehouse import open_warehouse

    catalog = _catalog(args)
    wh = open_warehouse(args.warehouse, catalog=catalog)
    selection = selection_from_args(args, wh.as_of)
    on: DefinitionsOn | None = None
    if args.definitions_on:
        on = versions_active_on(catalog, _day(args.definitions_on, "--definitions-on").date())
    snapshot_id = freeze_review(wh, catalog, selection, title=args.title,
                                user=args.user or command_line_user(), definitions_on=on)
    review = load_review(catalog, snapshot_id)
    print(f"froze review {snapshot_id} '{review.title}': {review.describe_selection()}")
    print(review.frozen_label())
    if on is not None:
        print(on.caption(list(review.payload["versions"])))
    for error in review.payload["errors"]:
        print(f"note: {error}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    reviews = list_reviews(_catalog(args))
    if args.format == "json":
        print(json.dumps(reviews, indent=2))
        return 0
    if not reviews:
        print("No review is frozen yet: `python -m metrics snapshot save --title ...` freezes "
              "one.")
        return 0
    for item in reviews:
        print(f"{item['id']:>4}  {item['created_at'][:16].replace('T', ' ')}  "
              f"{item['user']:<28}  {item['title']}")
    return 0


def describe_review(review: Review, catalog: Catalog) -> list[str]:
    """The review as lines of text, every number labelled frozen."""
    payload = review.payload
    lines = [f"Review {review.id}: {review.title}", review.frozen_label(),
             review.describe_selection()]
    if payload.get("definitions_on"):
        lines.append(f"Definitions as live on {payload['definitions_on']}")
    lines += ["", "Scorecard (frozen)"]
    for tile in payload["scorecard"]:
        target = (f"  target {format_value(tile['target'], tile['unit'])}"
                  if tile.get("target") is not None else "")
        lines.append(f"  {tile['label']:<44} {format_value(tile['value'], tile['unit']):>10}"
                     f"{target}  ({tile['name']} v{tile['version']})")
    lines += ["", "Funnel (frozen)"]
    for stage in payload["funnel"]["stages"]:
        lines.append(f"  {stage['label']:<14} {stage['leads']:>10,}")
    items = catalog.review_items(review.id)
    if items:
        lines += ["", "Notes, decisions and actions"]
        for item in items:
            extra = (f" [{item['owner_team']}, due {item['due_on']}, {item['status']}]"
                     if item["kind"] == "action" else "")
            lines.append(f"  {item['kind']}: {item['text']}{extra}")
    for error in payload.get("errors", []):
        lines.append(f"not computed: {error}")
    return lines


def run_show(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    review = load_review(catalog, args.id)
    if args.format == "json":
        print(json.dumps({"id": review.id, "title": review.title,
                          "created_at": review.created_at, "user": review.user,
                          "items": catalog.review_items(review.id), **review.payload},
                         indent=2, ensure_ascii=False))
        return 0
    print("\n".join(describe_review(review, catalog)))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from metrics.warehouse import open_warehouse

    catalog = _catalog(args)
    review = load_review(catalog, args.id)
    wh = open_warehouse(args.warehouse, catalog=catalog)
    comparison = compare_with_live(wh, catalog, review)
    print(f"Since review {review.id} '{review.title}' ({review.frozen_label()}):")
    print(comparison.headline())
    for line in comparison.lines():
        print(f"  {line}")
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from metrics.pack import write_pack

    catalog = _catalog(args)
    review = load_review(catalog, args.id)
    pages = write_pack(review, args.out, items=catalog.review_items(review.id),
                       open_actions=catalog.open_actions(before=review.id))
    print(f"wrote {args.out} ({pages} pages) for review {review.id} '{review.title}'")
    return 0
