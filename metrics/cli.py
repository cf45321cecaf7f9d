"""`python -m metrics ...`: the command line (DESIGN.md section 7).

Each command lives in the module that owns its logic and registers itself through a
`register(subparsers)` function that sets `func` on its parser; `func(args)` returns the exit
code. Errors of the MetricError family print as one sentence on stderr with exit code 1
(2 for unusable input files, as the import contract says).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from metrics.errors import MetricError

# Modules that provide a `register(subparsers)` function, in the order shown by --help.
COMMAND_MODULES = (
    "metrics.commands",
    "metrics.catalog_cli",
    "metrics.alerts_cli",
    "metrics.review_cli",
    "metrics.period_targets",
    "metrics.ingest",
    "metrics.bench",
    "metrics.engines.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m metrics",
        description="Handoff: shared sales & marketing metrics from versioned SQL definitions.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MetricError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 1)
    except BrokenPipeError:
        # `python -m metrics query ... | head` closed the pipe: not an error worth a traceback.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
