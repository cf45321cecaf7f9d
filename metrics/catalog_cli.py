"""CLI commands on the metric catalog: history, export, pending, diff, propose, approve, reject.

`history` and `export` are for people and git; `propose`/`approve`/`reject` exist for ops scripts
and follow exactly the same rules as the app (roles, sign-off, conflicts), since the catalog
enforces them itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from metrics.catalog import Catalog, open_catalog
from metrics.errors import CatalogError


def _add_catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", type=Path,
                        help="catalog file (default METRICS_CATALOG or data/catalog.sqlite)")
    parser.add_argument("--roles", type=Path,
                        help="roles file (default METRICS_ROLES or roles.toml)")
    parser.add_argument("--definitions", type=Path, metavar="DIR",
                        help="folder of definition files to sync "
                        "(default METRICS_DEFINITIONS or sql/metrics)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the catalog commands to `python -m metrics`."""
    history = subparsers.add_parser("history", help="print every version of a metric")
    history.add_argument("name")
    history.add_argument("--format", choices=("table", "json"), default="table")
    _add_catalog_options(history)
    history.set_defaults(func=run_history)

    export = subparsers.add_parser("export", help="write the active definitions as .sql files")
    export.add_argument("directory", type=Path)
    _add_catalog_options(export)
    export.set_defaults(func=run_export)

    pending = subparsers.add_parser("pending", help="list proposals waiting for approval")
    pending.add_argument("--user", help="only those this user may approve")
    pending.add_argument("--format", choices=("table", "json"), default="table")
    _add_catalog_options(pending)
    pending.set_defaults(func=run_pending)

    diff = subparsers.add_parser("diff", help="show what changed between two versions")
    diff.add_argument("name")
    diff.add_argument("a", type=int, help="the older version")
    diff.add_argument("b", type=int, nargs="?", help="the newer version (default: the active one)")
    _add_catalog_options(diff)
    diff.set_defaults(func=run_diff)

    propose = subparsers.add_parser("propose", help="propose a definition file as a new version")
    propose.add_argument("name")
    propose.add_argument("file", type=Path, help="the whole definition file (header + SELECT)")
    propose.add_argument("--author", required=True, help="email of the person proposing")
    propose.add_argument("--reason", default="", help="why the definition changes")
    _add_catalog_options(propose)
    propose.set_defaults(func=run_propose)

    approve = subparsers.add_parser("approve", help="approve a proposed version for your team")
    approve.add_argument("name")
    approve.add_argument("version", type=int)
    approve.add_argument("--user", required=True, help="email of the approver")
    approve.add_argument("--comment", default="")
    approve.add_argument("--team", help="the team you sign for, if you belong to several")
    _add_catalog_options(approve)
    approve.set_defaults(func=run_approve)

    reject = subparsers.add_parser("reject", help="reject (or, as its author, withdraw) a proposal")
    reject.add_argument("name")
    reject.add_argument("version", type=int)
    reject.add_argument("--user", required=True, help="email of the person rejecting")
    reject.add_argument("--reason", default="", help="what the author should change")
    _add_catalog_options(reject)
    reject.set_defaults(func=run_reject)


def _catalog(args: argparse.Namespace) -> Catalog:
    return open_catalog(args.catalog, args.roles, definitions_dir=args.definitions)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """Plain fixed-width text table; cells are single-line."""
    cells = [[str(row.get(c, "") if row.get(c) is not None else "").replace("\n", " ")
              for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _approvals_cell(version: dict[str, Any]) -> str:
    parts = [f"{a['team'] or 'author'}:{a['decision']} by {a['user']}"
             for a in version["approvals"]]
    if version["missing_teams"]:
        parts.append("waiting for " + ", ".join(version["missing_teams"]))
    return "; ".join(parts)


def run_history(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    versions = catalog.history(args.name)
    if args.format == "json":
        print(json.dumps(versions, indent=2))
        return 0
    rows = [{**v, "created": v["created_at"][:19].replace("T", " "),
             "base": f"v{v['base_version']}" if v["base_version"] else "",
             "approvals": _approvals_cell(v),
             "status": v["status"] + (" (stale)" if v["stale"] else "")}
            for v in versions]
    print(_table(rows, ["version", "status", "origin", "author", "created", "base", "approvals",
                        "reason"]))
    return 0


def run_export(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    written = catalog.export(args.directory)
    print(f"wrote {len(written)} active definitions to {args.directory}", file=sys.stderr)
    return 0


def run_pending(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    items = catalog.pending(for_user=args.user)
    if args.format == "json":
        print(json.dumps(items, indent=2))
        return 0
    rows = [{**p, "approvals": _approvals_cell(p), "base": f"v{p['base_version'] or '-'}",
             "active": f"v{p['active_version'] or '-'}",
             "status": "stale" if p["stale"] else "open"} for p in items]
    print(_table(rows, ["name", "version", "status", "author", "base", "active", "approvals",
                        "reason"]))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    newer = args.b if args.b is not None else catalog.active_version(args.name)
    print(catalog.diff(args.name, args.a, newer))
    return 0


def run_propose(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read {args.file}: {exc}") from None
    catalog = _catalog(args)
    version = catalog.propose(args.name, text, author=args.author, reason=args.reason)
    print(f"proposed {args.name} v{version}; it goes live once "
          f"{', '.join(catalog.history(args.name)[-1]['signoff_teams'])} approve it.")
    return 0


def run_approve(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    status = catalog.approve(args.name, args.version, user=args.user, comment=args.comment,
                             team=args.team)
    if status == "active":
        print(f"{args.name} v{args.version} is now active.")
    else:
        waiting = catalog.history(args.name)[args.version - 1]["missing_teams"]
        print(f"approved {args.name} v{args.version}; it waits for {', '.join(waiting)}.")
    return 0


def run_reject(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    catalog.reject(args.name, args.version, user=args.user, reason=args.reason)
    print(f"rejected {args.name} v{args.version}.")
    return 0
