"""Declarative mappings: how CRM and marketing-automation exports become canonical tables.

A mapping file (mappings/NAME.toml, documented in docs/IMPORT.md) lists, per canonical table,
the export files it is made from and how each canonical column is computed from a source row:
a rename, a constant, a template, a value map, a lookup into another file, a CASE over flags,
or an unpivot of date columns into one event per non-empty date. Without a mapping the folder
is read in the canonical format itself, through the same machinery (`canonical_mapping`).

A mapping compiles to one SELECT per entry with sqlglot's builders, so its text never becomes
SQL: column names become quoted identifiers of staged columns, values become literals.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping as MappingType
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from metrics.errors import DefinitionError
from metrics.ingest_checks import LOAD_ORDER, ORIGIN_COLUMNS, CanonicalTable
from metrics.ingest_files import IngestFileError, SourceFile
from metrics.paths import REPO_ROOT

MAPPINGS_DIR = REPO_ROOT / "mappings"
_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
_WHITESPACE = " \t\r\n"
_RULE_KEYS = {"column", "value", "template", "lookup", "when", "else", "optional", "map", "other",
              "null_if", "split", "multiply", "only_if"}
_SOURCE_KEYS = {"file", "columns", "where", "unpivot", "distinct", "optional", "description"}
_TOP_KEYS = {"name", "description", "timezone", "timestamp_formats", "maps", *LOAD_ORDER}


class MappingError(DefinitionError):
    """A mapping file is malformed; exit code 2 like any unusable import input."""

    exit_code = 2


@dataclass(frozen=True)
class Condition:
    """A test on one source column: its value is one of `values` (case-insensitive), or,
    with `present`, the value is (or is not) empty."""

    column: str
    values: tuple[str, ...] = ()
    present: bool | None = None


@dataclass(frozen=True)
class Lookup:
    """The `value` column of the first row of `file` whose `key` equals this row's `on`."""

    file: str
    key: str
    on: str
    value: str


@dataclass(frozen=True)
class ColumnRule:
    """How one canonical column is computed from a source row (exactly one base, then the
    modifiers in this order: split, null_if, map/other, multiply, only_if)."""

    columns: tuple[str, ...] = ()
    value: str | None = None
    template: str | None = None
    lookup: Lookup | None = None
    when: tuple[tuple[Condition, str], ...] = ()
    otherwise: str | None = None
    optional: bool = False
    value_map: tuple[tuple[str, str], ...] | None = None
    other: str | None = None
    null_if: tuple[str, ...] = ()
    split: str | None = None
    multiply: float | None = None
    only_if: tuple[Condition, ...] = ()

    def source_columns(self) -> Iterator[str]:
        """Columns of the row's own file this rule reads (not those of a lookup file)."""
        yield from self.columns
        if self.template:
            yield from _TEMPLATE_FIELD.findall(self.template)
        if self.lookup:
            yield self.lookup.on
        for condition, _ in self.when:
            yield condition.column
        for condition in self.only_if:
            yield condition.column


@dataclass(frozen=True)
class Unpivot:
    """One row per non-empty cell of `columns`: pseudo column `name` holds the name the cell's
    column maps to, pseudo column `value` the cell."""

    columns: tuple[tuple[str, str], ...]
    name: str
    value: str
    optional: bool = False


@dataclass(frozen=True)
class TableSource:
    """One entry of a mapping: canonical rows of `table` made from the rows of `file`."""

    table: str
    file: str
    columns: tuple[tuple[str, ColumnRule], ...]
    where: tuple[Condition, ...] = ()
    unpivot: Unpivot | None = None
    distinct: bool = False
    optional: bool = False

    def rule(self, column: str) -> ColumnRule | None:
        return dict(self.columns).get(column)


@dataclass(frozen=True)
class Mapping:
    """A whole mapping: entries in file order plus the defaults for reading timestamps."""

    name: str
    origin: str
    description: str = ""
    timezone: str | None = None
    timestamp_formats: tuple[str, ...] = ()
    sources: tuple[TableSource, ...] = ()
    canonical: bool = False

    def sources_for(self, table: str) -> tuple[TableSource, ...]:
        return tuple(s for s in self.sources if s.table == table)


# ---------------------------------------------------------------------------------------------
# Reading mapping files


def resolve_mapping(name: str | Path) -> Path:
    """A mapping's file: NAME in mappings/ (NAME.toml), or a path to a TOML file."""
    candidate = Path(name)
    if candidate.suffix == ".toml" or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        raise MappingError("no such mapping file.", source=str(candidate))
    path = MAPPINGS_DIR / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))) or "none"
        raise MappingError(f"there is no mapping '{name}' (known mappings: {known}); give a "
                           "name from mappings/ or the path of a .toml file.", source=str(name))
    return path


def load_mapping(name: str | Path, tables: MappingType[str, CanonicalTable]) -> Mapping:
    """Read and check a mapping file against the canonical tables."""
    path = resolve_mapping(name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"cannot read the mapping: {exc}", source=str(path)) from None
    return parse_mapping(data, tables, name=str(data.get("name") or path.stem), origin=str(path))


def parse_mapping(data: dict, tables: MappingType[str, CanonicalTable], *, name: str,
                  origin: str) -> Mapping:
    """Build a Mapping from parsed TOML, with an error naming the key for every mistake."""
    def fail(message: str) -> MappingError:
        return MappingError(message, source=origin)

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise fail(f"unknown top-level keys {unknown}; expected a canonical table name "
                   f"({', '.join(LOAD_ORDER)}) or one of name, description, timezone, "
                   "timestamp_formats, maps.")
    timezone = data.get("timezone")
    if timezone is not None:
        check_timezone(str(timezone), source=origin)
    formats = data.get("timestamp_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise fail("timestamp_formats must be a list of strptime formats like \"%m/%d/%Y\".")
    maps = data.get("maps", {})
    if not isinstance(maps, dict):
        raise fail("maps must be a table of value maps, e.g. [maps.stage].")
    named_maps = {key: _value_map(value, f"maps.{key}", fail) for key, value in maps.items()}
    sources = []
    for table in LOAD_ORDER:
        entries = data.get(table, [])
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise fail(f"{table} must be an array of tables: write [[{table}]].")
        for i, entry in enumerate(entries):
            where = f"{table}[{i + 1}]"
            sources.append(_table_source(entry, tables[table], named_maps, where, fail))
    for table in ("leads", "lead_events"):
        if not any(s.table == table for s in sources):
            raise fail(f"the mapping must say how to make the mandatory table {table} "
                       f"(add a [[{table}]] entry).")
    return Mapping(name=name, origin=origin, description=str(data.get("description", "")),
                   timezone=timezone, timestamp_formats=tuple(formats), sources=tuple(sources))


def _table_source(entry: object, table: CanonicalTable, maps: dict, where: str,
                  fail) -> TableSource:
    if not isinstance(entry, dict):
        raise fail(f"{where} must be a table with file and columns.")
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    if unknown:
        raise fail(f"{where} has unknown keys {unknown}; allowed: {sorted(_SOURCE_KEYS)}.")
    file = entry.get("file")
    if not isinstance(file, str) or not file:
        raise fail(f"{where}.file must name the export file (its name without .csv/.parquet).")
    columns = entry.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail(f"{where}.columns must map canonical columns to source columns.")
    rules = []
    for column, spec in columns.items():
        if column not in table.column_names:
            raise fail(f"{where}.columns.{column}: {table.name} has no column {column!r} "
                       f"(its columns: {', '.join(table.column_names)}).")
        rules.append((column, _rule(spec, maps, f"{where}.columns.{column}", fail)))
    missing = [c for c in table.required if c not in columns]
    if missing:
        raise fail(f"{where} must give the required {table.name} columns {missing}.")
    unpivot = None
    if "unpivot" in entry:
        unpivot = _unpivot(entry["unpivot"], f"{where}.unpivot", fail)
    return TableSource(
        table=table.name, file=file, columns=tuple(rules),
        where=_conditions(entry.get("where", {}), f"{where}.where", fail),
        unpivot=unpivot, distinct=_flag(entry, "distinct", where, fail),
        optional=_flag(entry, "optional", where, fail))


def _rule(spec: object, maps: dict, where: str, fail) -> ColumnRule:
    if isinstance(spec, str):
        return ColumnRule(columns=(spec,))
    if not isinstance(spec, dict):
        raise fail(f"{where} must be a source column name or a table like "
                   "{ column = \"...\" }.")
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise fail(f"{where} has unknown keys {unknown}; allowed: {sorted(_RULE_KEYS)}.")
    bases = [k for k in ("column", "value", "template", "lookup", "when") if k in spec]
    if len(bases) != 1:
        raise fail(f"{where} needs exactly one of column, value, template, lookup, when "
                   f"(found {bases or 'none'}).")
    rule: dict = {}
    if "column" in spec:
        columns = spec["column"]
        columns = [columns] if isinstance(columns, str) else columns
        if not isinstance(columns, list) or not columns or not all(
                isinstance(c, str) and c for c in columns):
            raise fail(f"{where}.column must be a column name or a list of them (the first "
                       "non-empty one is used).")
        rule["columns"] = tuple(columns)
    if "value" in spec:
        rule["value"] = _text(spec["value"], f"{where}.value", fail)
    if "template" in spec:
        template = _text(spec["template"], f"{where}.template", fail)
        if not _TEMPLATE_FIELD.search(template):
            raise fail(f"{where}.template must use at least one {{column}}; for a constant "
                       "use value.")
        rule["template"] = template
    if "lookup" in spec:
        rule["lookup"] = _lookup(spec["lookup"], f"{where}.lookup", fail)
    if "when" in spec:
        cases = spec["when"]
        if not isinstance(cases, list) or not cases:
            raise fail(f"{where}.when must be a list like [{{ column = \"IsWon\", in = "
                       "[\"true\"], value = \"won\" }].")
        parsed = []
        for j, case in enumerate(cases):
            if not isinstance(case, dict) or "value" not in case:
                raise fail(f"{where}.when[{j + 1}] needs a value.")
            test = {k: v for k, v in case.items() if k != "value"}
            parsed.append((_condition(test, f"{where}.when[{j + 1}]", fail),
                           _text(case["value"], f"{where}.when[{j + 1}].value", fail)))
        rule["when"] = tuple(parsed)
        if "else" in spec:
            rule["otherwise"] = _text(spec["else"], f"{where}.else", fail)
    elif "else" in spec:
        raise fail(f"{where}.else only goes with when.")
    rule["optional"] = _flag(spec, "optional", where, fail)
    if "map" in spec:
        value_map = spec["map"]
        if isinstance(value_map, str):
            if value_map not in maps:
                raise fail(f"{where}.map names an unknown map {value_map!r} (define "
                           f"[maps.{value_map}]).")
            rule["value_map"] = maps[value_map]
        else:
            rule["value_map"] = _value_map(value_map, f"{where}.map", fail)
    if "other" in spec:
        if "map" not in spec:
            raise fail(f"{where}.other only goes with map.")
        rule["other"] = _text(spec["other"], f"{where}.other", fail)
    if "null_if" in spec:
        values = spec["null_if"]
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise fail(f"{where}.null_if must be a value or a list of values.")
        rule["null_if"] = tuple(values)
    if "split" in spec:
        rule["split"] = _text(spec["split"], f"{where}.split", fail) or None
    if "multiply" in spec:
        factor = spec["multiply"]
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise fail(f"{where}.multiply must be a number.")
        rule["multiply"] = float(factor)
    if "only_if" in spec:
        rule["only_if"] = _conditions(spec["only_if"], f"{where}.only_if", fail)
    return ColumnRule(**rule)


def _text(value: object, where: str, fail) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise fail(f"{where} must be a text value.")
    return str(value)


def _flag(spec: dict, key: str, where: str, fail) -> bool:
    value = spec.get(key, False)
    if not isinstance(value, bool):
        raise fail(f"{where}.{key} must be true or false.")
    return value


def _value_map(value: object, where: str, fail) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        raise fail(f"{where} must be a table of \"source value\" = \"canonical value\".")
    pairs: dict[str, str] = {}
    for key, mapped in value.items():
        folded = key.strip().lower()
        if folded in pairs:
            raise fail(f"{where} lists {key!r} twice (keys are compared ignoring case).")
        pairs[folded] = _text(mapped, f"{where}.{key}", fail)
    return tuple(pairs.items())


def _lookup(spec: object, where: str, fail) -> Lookup:
    keys = {"file", "key", "on", "value"}
    if not isinstance(spec, dict) or not {"file", "key", "value"} <= set(spec) or set(spec) - keys:
        raise fail(f"{where} must be {{ file = \"...\", key = \"...\", value = \"...\" }} with "
                   "an optional on (the column of this row to match, default: key).")
    parts = {k: _text(spec[k], f"{where}.{k}", fail) for k in spec}
    return Lookup(file=parts["file"], key=parts["key"], on=parts.get("on", parts["key"]),
                  value=parts["value"])


def _conditions(spec: object, where: str, fail) -> tuple[Condition, ...]:
    """`{ Field = "Status", IsWon = ["true", "1"], Flags = { present = false } }`: all must hold."""
    if not isinstance(spec, dict):
        raise fail(f"{where} must be a table of column = value(s), e.g. {{ Field = \"Status\" }}.")
    return tuple(
        _condition({"column": column, **(test if isinstance(test, dict) else {"in": test})},
                   f"{where}.{column}", fail)
        for column, test in spec.items())


def _condition(spec: dict, where: str, fail) -> Condition:
    column = spec.get("column")
    if not isinstance(column, str) or not column or set(spec) - {"column", "in", "present"}:
        raise fail(f"{where} must be {{ column = \"...\", in = [...] }} or "
                   "{ column = \"...\", present = true }.")
    if "present" in spec:
        if not isinstance(spec["present"], bool) or "in" in spec:
            raise fail(f"{where}.present must be true or false, without in.")
        return Condition(column=column, present=spec["present"])
    values = spec.get("in")
    values = [values] if isinstance(values, str | int | float) and not isinstance(
        values, bool) else values
    if not isinstance(values, list) or not values:
        raise fail(f"{where} needs the values to match, e.g. in = [\"true\", \"1\"].")
    return Condition(column=column, values=tuple(_text(v, where, fail) for v in values))


def _unpivot(spec: object, where: str, fail) -> Unpivot:
    if (not isinstance(spec, dict) or set(spec) - {"columns", "name", "value", "optional"}
            or not isinstance(spec.get("columns"), dict) or not spec["columns"]):
        raise fail(f"{where} must be {{ columns = {{ date_column = \"stage\", ... }}, name = "
                   "\"pseudo_name\", value = \"pseudo_value\" }.")
    name = _text(spec.get("name", "unpivot_name"), f"{where}.name", fail)
    value = _text(spec.get("value", "unpivot_value"), f"{where}.value", fail)
    columns = tuple((c, _text(v, f"{where}.columns.{c}", fail)) for c, v in spec["columns"].items())
    return Unpivot(columns=columns, name=name, value=value,
                   optional=_flag(spec, "optional", where, fail))


def check_timezone(name: str, *, source: str | None = None) -> str:
    """The zone name if it is a known IANA zone, else a MappingError (exit code 2)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"{name!r} is not a known IANA time zone (e.g. UTC, Europe/Paris, "
                           "America/New_York).", source=source) from None
    return name


def canonical_mapping(files: MappingType[str, Path],
                      tables: MappingType[str, CanonicalTable]) -> Mapping:
    """The identity mapping of the canonical format: `<table>.csv|parquet`, same column names.

    Optional columns may be absent; extra columns are ignored (and reported).
    """
    sources = []
    for table in tables.values():
        if table.name not in files and not table.mandatory:
            continue
        rules = tuple((c.name, ColumnRule(columns=(c.name,), optional=not c.required))
                      for c in table.columns)
        sources.append(TableSource(table=table.name, file=table.name, columns=rules))
    return Mapping(name="canonical", origin="canonical format (DESIGN.md section 4)",
                   sources=tuple(sources), canonical=True)


# ---------------------------------------------------------------------------------------------
# Checking a mapping against the files found


@dataclass(frozen=True)
class StagedFile:
    """A source file copied into the staging table `table`; `index` identifies it in `_src`."""

    index: int
    source: SourceFile
    table: exp.Table

    def json_keys(self) -> tuple[str, ...]:
        """Header names made unique (a repeated name gets ' (2)'), for the raw row as JSON."""
        seen: dict[str, int] = {}
        keys = []
        for name in self.source.columns:
            seen[name] = seen.get(name, 0) + 1
            keys.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
        return tuple(keys)


@dataclass(frozen=True)
class Plan:
    """The entries that will run, the files they need, and what will be left unused."""

    mapping: Mapping
    sources: tuple[TableSource, ...]
    files: dict[str, Path] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    @property
    def needed_files(self) -> tuple[str, ...]:
        """Lower-case stems of every file an active entry or lookup reads, in mapping order."""
        stems: list[str] = []
        for source in self.sources:
            for stem in (source.file, *(r.lookup.file for _, r in source.columns if r.lookup)):
                key = stem.lower()
                if key in self.files and key not in stems:
                    stems.append(key)
        return tuple(stems)


def plan(mapping: Mapping, files: MappingType[str, Path], directory: Path) -> Plan:
    """Keep the entries whose file is present; refuse a missing mandatory file (exit code 2)."""
    active, skipped = [], []
    for source in mapping.sources:
        if source.file.lower() in files:
            active.append(source)
        elif source.optional or (mapping.canonical and source.table not in ("leads",
                                                                             "lead_events")):
            skipped.append(f"{source.file} ({source.table})")
        else:
            raise IngestFileError(_missing_file_message(mapping, source),
                                  file=f"{source.file}.csv", source=str(directory))
    for table in ("leads", "lead_events"):
        if not any(s.table == table for s in active):
            expected = " or ".join(f"{s.file}.csv" for s in mapping.sources_for(table))
            raise IngestFileError(
                f"none of the files that make the mandatory table {table} is here (expected "
                f"{expected}, or .parquet).", file=f"{table}.csv", source=str(directory))
    return Plan(mapping=mapping, sources=tuple(active), files=dict(files),
                skipped=tuple(skipped))


def _missing_file_message(mapping: Mapping, source: TableSource) -> str:
    if mapping.canonical:
        return (f"no {source.file}.csv or {source.file}.parquet in this folder: the "
                f"{source.table} table is mandatory.")
    return (f"no {source.file}.csv or {source.file}.parquet in this folder, which mapping "
            f"'{mapping.name}' needs for {source.table}.")


def check_columns(plan_: Plan, headers: MappingType[str, SourceFile]) -> None:
    """Refuse (exit code 2) a file lacking a column the mapping reads, naming file and column."""
    for source in plan_.sources:
        file = headers[source.file.lower()]
        pseudo = {source.unpivot.name, source.unpivot.value} if source.unpivot else set()

        def need(column: str, purpose: str, optional: bool = False, in_file: SourceFile = file,
                 extra: frozenset[str] | set[str] = pseudo) -> None:
            if column in extra:
                return
            if column in in_file.duplicated_columns:
                raise IngestFileError(
                    f"the column {column!r} appears more than once in the header, so "
                    f"{purpose} is ambiguous; rename one of them.", file=in_file.name,
                    column=column)
            if column not in in_file.columns and not optional:
                found = in_file.delimiter_hint() or (
                    f" The header has: {_preview(in_file.columns)}.")
                raise IngestFileError(f"no column {column!r}, which {purpose}.{found}",
                                      file=in_file.name, column=column)

        target = (f"the {source.table} table requires" if plan_.mapping.canonical
                  else f"mapping '{plan_.mapping.name}' uses for {source.table}")
        for canonical, rule in source.columns:
            purpose = (target if plan_.mapping.canonical else f"{target}.{canonical}")
            for column in rule.source_columns():
                need(column, purpose, optional=rule.optional)
            if rule.lookup:
                lookup_file = headers.get(rule.lookup.file.lower())
                if lookup_file is None:
                    if not rule.optional:
                        raise IngestFileError(
                            f"mapping '{plan_.mapping.name}' looks up {source.table}."
                            f"{canonical} in {rule.lookup.file}.csv, which is not in the "
                            "folder.", file=f"{rule.lookup.file}.csv")
                    continue
                for column in (rule.lookup.key, rule.lookup.value):
                    need(column, f"{purpose} (lookup)", optional=rule.optional,
                         in_file=lookup_file, extra=set())
        for condition in source.where:
            need(condition.column, f"{target} (where)")
        if source.unpivot:
            for column, _ in source.unpivot.columns:
                need(column, f"{target} (unpivot)", optional=source.unpivot.optional, extra=set())


def _preview(columns: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def used_columns(plan_: Plan, headers: MappingType[str, SourceFile]) -> dict[str, set[str]]:
    """{file stem: header names some active entry or lookup reads} (the rest is ignored)."""
    used: dict[str, set[str]] = {stem: set() for stem in plan_.needed_files}
    for source in plan_.sources:
        own = used[source.file.lower()]
        for _, rule in source.columns:
            own.update(rule.source_columns())
            if rule.lookup and rule.lookup.file.lower() in used:
                used[rule.lookup.file.lower()].update((rule.lookup.key, rule.lookup.value))
        own.update(c.column for c in source.where)
        if source.unpivot:
            own.update(c for c, _ in source.unpivot.columns)
    return {stem: names & set(headers[stem].columns) for stem, names in used.items()}


# ---------------------------------------------------------------------------------------------
# Compiling an entry to SQL


def _clean(value: exp.Expression) -> exp.Expression:
    """Trimmed text, with an empty string as NULL: what 'missing' means everywhere."""
    return exp.Nullif(this=exp.func("trim", exp.cast(value, "VARCHAR"),
                                    exp.Literal.string(_WHITESPACE)),
                      expression=exp.Literal.string(""))


def _literal(value: str | None) -> exp.Expression:
    return exp.Literal.string(value) if value else exp.null()


class _EntryCompiler:
    """Builds the SELECT of one entry (one unpivot column at a time when it unpivots)."""

    def __init__(self, source: TableSource, staged: MappingType[str, StagedFile]) -> None:
        self.source = source
        self.staged = staged
        self.file = staged[source.file.lower()]
        self.lookups: dict[Lookup, tuple[str, bool]] = {}  # -> (alias, optional)
        self.cell: tuple[str, str] | None = None  # (source column, name) being unpivoted

    def ref(self, column: str, optional: bool = False) -> exp.Expression:
        unpivot = self.source.unpivot
        if unpivot and self.cell and column == unpivot.name:
            return exp.Literal.string(self.cell[1])
        if unpivot and self.cell and column == unpivot.value:
            column = self.cell[0]
        if column not in self.file.source.columns:
            if optional:
                return exp.null()
            raise IngestFileError(f"no column {column!r}.", file=self.file.source.name,
                                  column=column)
        return _clean(exp.column(self.file.source.staging_column(column), "s"))

    def condition(self, condition: Condition, optional: bool = False) -> exp.Expression:
        value = self.ref(condition.column, optional)
        if condition.present is not None:
            test = value.is_(exp.null())
            return test.not_() if condition.present else test
        return exp.func("lower", value).isin(*(exp.Literal.string(v.strip().lower())
                                               for v in condition.values))

    def rule(self, rule: ColumnRule) -> exp.Expression:
        value = self.base(rule)
        plain = (len(rule.columns) == 1 and not (rule.split or rule.null_if or rule.only_if)
                 and rule.value_map is None and rule.multiply is None)
        if plain:
            return value  # already clean: skip a second trim over every row
        if rule.split:
            value = _clean(exp.func("split_part", value, exp.Literal.string(rule.split),
                                    exp.Literal.number(1)))
        if rule.null_if:
            value = exp.Case().when(
                exp.func("lower", value.copy()).isin(
                    *(exp.Literal.string(v.strip().lower()) for v in rule.null_if)),
                exp.null()).else_(value)
        if rule.value_map is not None:
            mapped = exp.Case(this=exp.func("lower", value.copy()))
            for key, target in rule.value_map:
                mapped = mapped.when(exp.Literal.string(key), _literal(target))
            # Unlisted values are kept by default, so validation reports them instead of a
            # mapping silently erasing them.
            value = mapped.else_(value if rule.other is None else _literal(rule.other))
        if rule.multiply is not None:
            number = exp.TryCast(this=value.copy(), to=exp.DataType.build("DOUBLE"))
            value = (exp.Case().when(number.is_(exp.null()), value)
                     .else_(exp.cast(number.copy() * exp.Literal.number(rule.multiply),
                                     "VARCHAR")))
        if rule.only_if:
            value = exp.Case().when(
                exp.and_(*(self.condition(c, rule.optional) for c in rule.only_if)), value)
        return _clean(value)

    def base(self, rule: ColumnRule) -> exp.Expression:
        if rule.columns:
            refs = [self.ref(c, rule.optional) for c in rule.columns]
            return refs[0] if len(refs) == 1 else exp.Coalesce(this=refs[0], expressions=refs[1:])
        if rule.value is not None:
            return _literal(rule.value)
        if rule.template is not None:
            parts: list[exp.Expression] = []
            for i, piece in enumerate(_TEMPLATE_FIELD.split(rule.template)):
                if piece:
                    parts.append(self.ref(piece, rule.optional) if i % 2 else
                                 exp.Literal.string(piece))
            result = parts[0]
            for part in parts[1:]:
                # `||` yields NULL when a field is empty: an id missing a part is missing.
                result = exp.DPipe(this=result, expression=part)
            return result
        if rule.lookup is not None:
            if rule.lookup.file.lower() not in self.staged:
                return exp.null()
            alias, _ = self.lookups.setdefault(
                rule.lookup, (f"lk{len(self.lookups) + 1}", rule.optional))
            return exp.column("v", alias)
        case = exp.Case()
        for condition, target in rule.when:
            case = case.when(self.condition(condition, rule.optional), _literal(target))
        return case.else_(_literal(rule.otherwise)) if rule.otherwise else case

    def lookup_join(self, lookup: Lookup, alias: str) -> exp.Subquery:
        staged = self.staged[lookup.file.lower()]
        key = _clean(exp.column(staged.source.staging_column(lookup.key), "k"))
        value = _clean(exp.column(staged.source.staging_column(lookup.value), "k"))
        first = exp.Filter(this=exp.func("arg_min", value, exp.column("rowid", "k")),
                           expression=exp.Where(this=value.copy().is_(exp.null()).not_()))
        # One row per key (the first non-empty value in file order), so a lookup never
        # multiplies rows.
        return (exp.select(key.as_("k"), first.as_("v"))
                .from_(staged.table.copy().as_("k"))
                .where(key.copy().is_(exp.null()).not_())
                .group_by(key.copy())
                .subquery(alias))

    def select(self, entry: int, table: CanonicalTable, part: int) -> exp.Select:
        rules = dict(self.source.columns)
        values = [self.rule(rules[c]) if c in rules else exp.cast(exp.null(), "VARCHAR")
                  for c in table.column_names]
        select = exp.select(
            exp.Literal.number(entry).as_("_entry"),
            exp.Literal.number(self.file.index).as_("_src"),
            (exp.column("rowid", "s") + 1).as_("_row"), exp.Literal.number(part).as_("_part"),
            *(v.as_(c, quoted=True) for v, c in zip(values, table.column_names)),
        ).from_(self.file.table.copy().as_("s"))
        for lookup, (alias, optional) in self.lookups.items():
            select = select.join(self.lookup_join(lookup, alias), join_type="left",
                                 on=exp.column("k", alias).eq(self.ref(lookup.on, optional)))
        conditions = [self.condition(c) for c in self.source.where]
        if self.cell:
            conditions.append(self.ref(self.cell[0]).is_(exp.null()).not_())
        return select.where(exp.and_(*conditions)) if conditions else select


def candidate_select(source: TableSource, entry: int, table: CanonicalTable,
                     staged: MappingType[str, StagedFile]) -> exp.Query:
    """The candidate rows (text columns plus origin columns) one mapping entry produces."""
    compiler = _EntryCompiler(source, staged)
    if source.unpivot:
        parts = []
        for i, cell in enumerate(source.unpivot.columns):
            if cell[0] not in compiler.file.source.columns:
                continue  # an optional unpivot column the export does not have
            compiler.cell = cell
            parts.append(compiler.select(entry, table, i))
        if not parts:
            return compiler.select(entry, table, 0).where(exp.false())
        query: exp.Query = parts[0]
        for part in parts[1:]:
            query = exp.union(query, part, distinct=False)
    else:
        query = compiler.select(entry, table, 0)
    if not source.distinct:
        return query
    # Distinct rows: a rep listed on 800 deals is one rep, numbered by its first row.
    columns = [exp.column(c, quoted=True) for c in table.column_names]
    return (exp.select(exp.column("_entry"), exp.column("_src"),
                       exp.func("min", exp.column("_row")).as_("_row"),
                       exp.Literal.number(0).as_("_part"), *columns)
            .from_(query.subquery("d"))
            .group_by(exp.column("_entry"), exp.column("_src"), *(c.copy() for c in columns)))


assert ORIGIN_COLUMNS == ("_entry", "_src", "_row", "_part")
