"""Metric definition files: a `-- key: value` header, then exactly one SELECT (DESIGN.md §5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from metrics.errors import DefinitionError
from metrics.paths import METRICS_DIR

# The "metrics that matter" of DESIGN.md section 8, in the Overview's tile order: the page
# (ui.scorecard), the bench and the warm-up all ask for exactly these.
SCORECARD_METRICS = (
    "mql_to_sal_rate", "mql_to_opportunity_rate", "revenue_per_mql", "sla_first_touch_compliance",
    "marketing_sourced_pipeline_share", "marketing_influenced_revenue_share", "pipeline_to_spend",
    "marketing_cac",
)

KINDS = ("ratio", "count", "sum", "median", "average")
UNITS = ("percent", "count", "currency", "hours", "days", "ratio")
DIRECTIONS = ("up", "down")
TEAMS = ("marketing", "sales")
REQUIRED_KEYS = ("name", "label", "owners", "kind", "unit", "direction", "anchor", "description")
OPTIONAL_KEYS = ("maturity_days",)
# The v1 files are under 1,000 characters; checking SQL costs time that grows faster than its
# length (sql_guard), so a definition is capped well above any real one and far below harm.
MAX_DEFINITION_CHARS = 20_000
# Line breaks other than \n (and \r\n), other control characters and bidirectional overrides:
# str.splitlines() and editors break lines at some of them (\x1c-\x1e, \x85, U+2028, U+2029)
# where DuckDB does not, so a "comment line" could hide SQL; overrides make the text read
# differently from what runs. Tab stays allowed.
_HIDDEN_CHARACTER = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HEADER_LINE = re.compile(r"^--\s*([a-z_]+)\s*:\s*(.*?)\s*$")
_CONTINUATION = re.compile(r"^--\s?(.*?)\s*$")


@dataclass(frozen=True)
class MetricDefinition:
    """One version of one metric: its header fields and its SELECT.

    `sql_line` is the 1-based line of the file on which the SELECT starts, so errors found in
    the SQL can point at the line of the file.
    """

    name: str
    label: str
    owners: tuple[str, ...]
    kind: str
    unit: str
    direction: str
    anchor: str
    description: str
    sql: str
    text: str
    source: str
    sql_line: int
    maturity_days: int = 0
    version: int = 1

    @property
    def measure_columns(self) -> tuple[str, ...]:
        return ("numerator", "denominator") if self.kind == "ratio" else ("value",)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return ("lead_id", self.anchor, *self.measure_columns)

    @property
    def is_joint(self) -> bool:
        return len(self.owners) > 1


def parse_definition(text: str, source: str = "<text>", *, version: int = 1,
                     expected_name: str | None = None) -> MetricDefinition:
    """Parse a definition file's text; raise DefinitionError naming the file and line.

    >>> d = parse_definition('''-- name: n
    ... -- label: N
    ... -- owners: marketing
    ... -- kind: count
    ... -- unit: count
    ... -- direction: up
    ... -- anchor: created_at
    ... -- description: Leads.
    ... SELECT lead_id, created_at, 1 AS value FROM leads''')
    >>> d.name, d.owners, d.sql_line
    ('n', ('marketing',), 9)
    """
    lines = _lines(text, source)
    fields: dict[str, str] = {}
    last_key = None
    sql_start = len(lines)
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            sql_start = number - 1
            break
        if last_key == "description" and re.match(r"^--\s{2,}\S", stripped):
            # An indented comment line continues the description, even if it contains a colon.
            fields["description"] += " " + stripped[2:].strip()
            continue
        match = _HEADER_LINE.match(stripped)
        if match and (match.group(1) in REQUIRED_KEYS or match.group(1) in OPTIONAL_KEYS):
            key, value = match.groups()
            if key in fields:
                raise DefinitionError(f"the header sets '{key}' twice.", source=source, line=number)
            # Allow a trailing "(...)" explanation as in DESIGN.md's example header.
            fields[key] = re.sub(r"\s{2,}\(.*\)$", "", value).strip()
            last_key = key
        elif match:
            raise DefinitionError(
                f"unknown header key '{match.group(1)}'; the keys are "
                f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}.", source=source, line=number)
        elif last_key == "description":
            fields["description"] += " " + _CONTINUATION.match(stripped).group(1)
    missing = [k for k in REQUIRED_KEYS if not fields.get(k)]
    if missing:
        raise DefinitionError(
            f"the header is missing {', '.join(missing)}; every metric file starts with "
            "'-- key: value' lines for " + ", ".join(REQUIRED_KEYS) + ".", source=source, line=1)
    sql = "\n".join(lines[sql_start:]).strip()
    if not sql:
        raise DefinitionError("the file has a header but no SELECT after it.", source=source,
                              line=len(lines) or 1)

    def choice(key: str, allowed: tuple[str, ...]) -> str:
        value = fields[key].lower()
        if value not in allowed:
            raise DefinitionError(f"{key} must be one of {', '.join(allowed)}, not '{fields[key]}'.",
                                  source=source, line=_line_of(lines, key))
        return value

    name = fields["name"]
    if not _NAME.match(name):
        raise DefinitionError(f"name '{name}' must be lowercase letters, digits and _.",
                              source=source, line=_line_of(lines, "name"))
    if expected_name and name != expected_name:
        raise DefinitionError(f"the header names the metric '{name}' but the file is for "
                              f"'{expected_name}'; make them the same.", source=source,
                              line=_line_of(lines, "name"))
    owners = tuple(dict.fromkeys(o.strip().lower() for o in fields["owners"].split(",") if o.strip()))
    unknown = [o for o in owners if o not in TEAMS]
    if not owners or unknown:
        raise DefinitionError(f"owners must be a comma-separated list of {', '.join(TEAMS)}"
                              + (f"; '{unknown[0]}' is not a team." if unknown else "."),
                              source=source, line=_line_of(lines, "owners"))
    anchor = fields["anchor"]
    if not _NAME.match(anchor):
        raise DefinitionError(f"anchor '{anchor}' must be the name of a timestamp column.",
                              source=source, line=_line_of(lines, "anchor"))
    maturity = fields.get("maturity_days", "0")
    if not maturity.isdigit():
        raise DefinitionError("maturity_days must be a whole number of days.", source=source,
                              line=_line_of(lines, "maturity_days"))
    return MetricDefinition(
        name=name, label=fields["label"], owners=owners, kind=choice("kind", KINDS),
        unit=choice("unit", UNITS), direction=choice("direction", DIRECTIONS), anchor=anchor,
        description=fields["description"], sql=sql, text=text, source=source,
        sql_line=sql_start + 1, maturity_days=int(maturity), version=version,
    )


def definition_lines(text: str | None) -> list[str]:
    """A definition's lines as DuckDB and the header parser count them: split at \\n (and
    \\r\\n) only, never at the other breaks str.splitlines() knows.

    >>> definition_lines("-- a\\x1eSELECT 1\\r\\nSELECT 2\\n")
    ['-- a\\x1eSELECT 1', 'SELECT 2']
    """
    lines = (text or "").replace("\r\n", "\n").split("\n")
    # A final line break ends the last line; it does not start an empty one.
    return lines[:-1] if len(lines) > 1 and lines[-1] == "" else lines


def _lines(text: str, source: str) -> list[str]:
    """The text's lines (definition_lines), refusing hidden characters and oversized text."""
    if len(text) > MAX_DEFINITION_CHARS:
        raise DefinitionError(f"the definition is {len(text):,} characters long; a metric "
                              f"definition may have at most {MAX_DEFINITION_CHARS:,}.",
                              source=source, line=1)
    lines = definition_lines(text)
    for number, line in enumerate(lines, start=1):
        hidden = _HIDDEN_CHARACTER.search(line)
        if hidden:
            raise DefinitionError(
                f"the text contains the invisible character U+{ord(hidden.group()):04X} at "
                f"column {hidden.start() + 1}; remove it (only tabs and line breaks are allowed).",
                source=source, line=number)
    return lines


def _line_of(lines: list[str], key: str) -> int:
    for number, line in enumerate(lines, start=1):
        if re.match(rf"^\s*--\s*{key}\s*:", line):
            return number
    return 1


def load_definition_file(path: Path) -> MetricDefinition:
    """Read one sql/metrics/<name>.sql file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(f"cannot read the file: {exc}", source=str(path))
    return parse_definition(text, source=str(path), expected_name=path.stem)


def load_definition_files(directory: Path = METRICS_DIR) -> dict[str, MetricDefinition]:
    """Every metric file of a folder, by name (version 1 of each)."""
    return {p.stem: load_definition_file(p) for p in sorted(Path(directory).glob("*.sql"))}
