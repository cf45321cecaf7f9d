"""Declarative mappings: how CRM and marketing-automation exports become canonical tables.

A mapping file (mappings/NAME.toml, documented in docs/IMPORT.md) lists, per canonical table,
the export files it is made from and how each canonical column is computed from a source row:
a rename, a constant, a template, a value map, a lookup into another file (optionally
filtered, optionally chained into a second file), a CASE over flags or looked-up values, the
first of several alternatives, or an unpivot of date columns into one event per non-empty date.
Files are named by stem, glob pattern or alternatives ("contacts|hubspot-crm-exports-all-
contacts-*"); column names match case-insensitively. Without a mapping the folder
is read in the canonical format itself, through the same machinery (`canonical_mapping`).

A mapping compiles to one SELECT per entry with sqlglot's builders, so its text never becomes
SQL: column names become quoted identifiers of staged columns, values become literals.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator, Mapping as MappingType
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlglot import exp

from metrics.errors import DefinitionError
from metrics.ingest_checks import LOAD_ORDER, ORIGIN_COLUMNS, CanonicalTable
from metrics.ingest_files import IngestFileError, SourceFile, combine_file_errors
from metrics.paths import REPO_ROOT

MAPPINGS_DIR = REPO_ROOT / "mappings"
_TEMPLATE_FIELD = re.compile(r"\{([^{}]+)\}")
_WHITESPACE = " \t\r\n"
_BASES = ("column", "value", "template", "lookup", "when", "first", "rule")
_RULE_KEYS = {*_BASES, "else", "optional", "map", "other", "null_if", "split", "multiply",
              "only_if"}
_SOURCE_KEYS = {"file", "columns", "where", "unpivot", "distinct", "optional", "description",
                "only_without", "note"}
_TOP_KEYS = {"name", "description", "timezone", "timestamp_formats", "maps", "rules",
             "id_format", *LOAD_ORDER}
_GLOB = re.compile(r"[*?\[]")
# Salesforce ids: 15 case-sensitive characters, or 18 with a 3-character case-safe suffix; the
# first 15 are the same record either way. All zeros is Salesforce's way of writing "no record".
ID_FORMATS = ("salesforce",)
_SALESFORCE_ID_18 = r"[a-zA-Z0-9]{15}[A-Z0-5]{3}"
_SALESFORCE_NULL_ID = "000000000000000"
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class MappingError(DefinitionError):
    """A mapping file is malformed; exit code 2 like any unusable import input."""

    exit_code = 2


@dataclass(frozen=True)
class Condition:
    """A test on one source column, or on a looked-up value: the value is one of `values`
    (case-insensitive; with `negate`, none of them, an empty value included), or, with
    `present`, the value is (or is not) empty."""

    column: str
    values: tuple[str, ...] = ()
    present: bool | None = None
    negate: bool = False
    lookup: Lookup | None = None
    # An optional test on a column (or lookup file) the export lacks reads the value as empty:
    # `in` fails, `not_in` and `present = false` hold.
    optional: bool = False


@dataclass(frozen=True)
class Lookup:
    """The `value` column of the first row of `file` whose `key` equals this row's `on`.

    `where` keeps only the rows of `file` passing these tests (e.g. IsPrimary = true); `then`
    looks the value up again in a second file (`then.on` is unused): the first row whose
    value leads somewhere wins.
    """

    file: str
    key: str
    on: str
    value: str
    where: tuple[Condition, ...] = ()
    then: Lookup | None = None


@dataclass(frozen=True)
class ColumnRule:
    """How one canonical column is computed from a source row (exactly one base, then the
    modifiers in this order: split, null_if, map/other, multiply, only_if)."""

    columns: tuple[str, ...] = ()
    value: str | None = None
    template: str | None = None
    lookup: Lookup | None = None
    when: tuple[tuple[Condition, str], ...] = ()
    first: tuple[ColumnRule, ...] = ()
    otherwise: str | None = None
    optional: bool = False
    value_map: tuple[tuple[str, str], ...] | None = None
    other: str | None = None
    null_if: tuple[str, ...] = ()
    split: str | None = None
    multiply: float | None = None
    only_if: tuple[Condition, ...] = ()

    def needs(self) -> Iterator[Need]:
        """What this rule reads, alternatives of `first` excepted (see `usable`)."""
        if self.columns:
            yield Need(None, self.columns)
        if self.template:
            yield from (Need(None, (f,)) for f in _TEMPLATE_FIELD.findall(self.template))
        if self.lookup:
            yield from self.lookup_needs(self.lookup)
        for condition, _ in self.when:
            yield from condition_needs(condition)
        for condition in self.only_if:
            yield from condition_needs(condition)

    @staticmethod
    def lookup_needs(lookup: Lookup) -> Iterator[Need]:
        yield Need(None, (lookup.on,))
        yield from _lookup_file_needs(lookup)

    def source_columns(self) -> Iterator[str]:
        """Columns of the row's own file this rule (or any alternative) may read."""
        for need in self.needs():
            if need.file is None:
                yield from need.columns
        for alternative in self.first:
            yield from alternative.source_columns()

    def lookups(self) -> Iterator[Lookup]:
        """Every lookup this rule (or any alternative) may make, chained ones included."""
        found = [self.lookup] if self.lookup else []
        found += [c.lookup for c, _ in self.when if c.lookup]
        found += [c.lookup for c in self.only_if if c.lookup]
        for lookup in found:
            while lookup is not None:
                yield lookup
                lookup = lookup.then
        for alternative in self.first:
            yield from alternative.lookups()


@dataclass(frozen=True)
class Need:
    """Something a rule reads: one of `columns` of its own file (`file` None) or of a lookup
    file (its mapping key)."""

    file: str | None
    columns: tuple[str, ...]


def condition_needs(condition: Condition) -> Iterator[Need]:
    if condition.optional:
        return
    if condition.lookup is not None:
        yield from ColumnRule.lookup_needs(condition.lookup)
    else:
        yield Need(None, (condition.column,))


def _lookup_file_needs(lookup: Lookup) -> Iterator[Need]:
    yield Need(lookup.file, (lookup.key,))
    yield Need(lookup.file, (lookup.value,))
    for condition in lookup.where:
        yield Need(lookup.file, (condition.column,))
    if lookup.then is not None:
        yield from _lookup_file_needs(lookup.then)


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
    only_without: str | None = None
    note: str | None = None

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
    id_format: str | None = None

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
                   "timestamp_formats, maps, rules, id_format.")
    id_format = data.get("id_format")
    if id_format is not None and id_format not in ID_FORMATS:
        raise fail(f"id_format must be one of {list(ID_FORMATS)} (found {id_format!r}).")
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
    rules = data.get("rules", {})
    if not isinstance(rules, dict):
        raise fail("rules must be a table of named column rules, e.g. [rules.opportunity_lead].")
    named_rules: dict[str, ColumnRule] = {}
    for key, spec in rules.items():
        # In file order, so a rule may use the rules defined above it.
        named_rules[key] = _rule(spec, named_maps, named_rules, f"rules.{key}", fail)
    sources = []
    for table in LOAD_ORDER:
        entries = data.get(table, [])
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            raise fail(f"{table} must be an array of tables: write [[{table}]].")
        for i, entry in enumerate(entries):
            where = f"{table}[{i + 1}]"
            sources.append(_table_source(entry, tables[table], named_maps, named_rules, where,
                                         fail))
    for table in ("leads", "lead_events"):
        if not any(s.table == table for s in sources):
            raise fail(f"the mapping must say how to make the mandatory table {table} "
                       f"(add a [[{table}]] entry).")
    return Mapping(name=name, origin=origin, description=str(data.get("description", "")),
                   timezone=timezone, timestamp_formats=tuple(formats), sources=tuple(sources),
                   id_format=id_format)


def _file_key(value: object, where: str, fail) -> str:
    """A file as the mapping names it: a stem, a glob pattern, or a list of alternatives
    (kept as one key, the alternatives joined by '|')."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and n and "|" not in n for n in names):
        raise fail(f"{where} must name the export file (its name without .csv/.parquet, or a "
                   "pattern like \"hubspot-crm-exports-all-contacts-*\"), or a list of them.")
    return "|".join(names)


def _table_source(entry: object, table: CanonicalTable, maps: dict, rules: dict, where: str,
                  fail) -> TableSource:
    if not isinstance(entry, dict):
        raise fail(f"{where} must be a table with file and columns.")
    unknown = sorted(set(entry) - _SOURCE_KEYS)
    if unknown:
        raise fail(f"{where} has unknown keys {unknown}; allowed: {sorted(_SOURCE_KEYS)}.")
    file = _file_key(entry.get("file"), f"{where}.file", fail)
    columns = entry.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise fail(f"{where}.columns must map canonical columns to source columns.")
    parsed = []
    for column, spec in columns.items():
        if column not in table.column_names:
            raise fail(f"{where}.columns.{column}: {table.name} has no column {column!r} "
                       f"(its columns: {', '.join(table.column_names)}).")
        parsed.append((column, _rule(spec, maps, rules, f"{where}.columns.{column}", fail)))
    missing = [c for c in table.required if c not in columns]
    if missing:
        raise fail(f"{where} must give the required {table.name} columns {missing}.")
    unpivot = None
    if "unpivot" in entry:
        unpivot = _unpivot(entry["unpivot"], f"{where}.unpivot", fail)
    only_without = entry.get("only_without")
    if only_without is not None:
        only_without = _file_key(only_without, f"{where}.only_without", fail)
    note = entry.get("note")
    if note is not None:
        note = _text(note, f"{where}.note", fail)
    return TableSource(
        table=table.name, file=file, columns=tuple(parsed),
        where=_conditions(entry.get("where", {}), f"{where}.where", fail),
        unpivot=unpivot, distinct=_flag(entry, "distinct", where, fail),
        optional=_flag(entry, "optional", where, fail), only_without=only_without, note=note)


def _rule(spec: object, maps: dict, rules: dict, where: str, fail) -> ColumnRule:
    if isinstance(spec, str):
        return ColumnRule(columns=(spec,))
    if isinstance(spec, dict) and set(spec) == {"rule"}:
        name = spec["rule"]
        if name not in rules:
            raise fail(f"{where}.rule names an unknown rule {name!r} (define [rules.{name}] "
                       "above its first use).")
        return rules[name]
    if not isinstance(spec, dict):
        raise fail(f"{where} must be a source column name or a table like "
                   "{ column = \"...\" }.")
    unknown = sorted(set(spec) - _RULE_KEYS)
    if unknown:
        raise fail(f"{where} has unknown keys {unknown}; allowed: {sorted(_RULE_KEYS)}.")
    bases = [k for k in _BASES if k in spec]
    if len(bases) != 1:
        raise fail(f"{where} needs exactly one of {', '.join(_BASES)} "
                   f"(found {bases or 'none'}).")
    if "rule" in spec:
        raise fail(f"{where}.rule stands alone: write {{ rule = \"name\" }} and put the "
                   "modifiers in the named rule.")
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
    if "first" in spec:
        alternatives = spec["first"]
        if not isinstance(alternatives, list) or len(alternatives) < 2:
            raise fail(f"{where}.first must list at least two rules, e.g. [{{ column = \"Name\" "
                       "}, { template = \"{FirstName} {LastName}\" }].")
        rule["first"] = tuple(_rule(a, maps, rules, f"{where}.first[{j + 1}]", fail)
                              for j, a in enumerate(alternatives))
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


def _lookup(spec: object, where: str, fail, chained: bool = False) -> Lookup:
    keys = {"file", "key", "on", "value", "where", "then"}
    if not isinstance(spec, dict) or not {"file", "key", "value"} <= set(spec) or set(spec) - keys:
        raise fail(f"{where} must be {{ file = \"...\", key = \"...\", value = \"...\" }} with "
                   "an optional on (the column of this row to match, default: key), where "
                   "(tests on the looked-up file's rows) and then (a second lookup of the "
                   "value).")
    if chained and "on" in spec:
        raise fail(f"{where}.on: a chained lookup matches the previous lookup's value; "
                   "leave out on.")
    parts = {k: _text(spec[k], f"{where}.{k}", fail) for k in ("key", "on", "value") if k in spec}
    conditions = _conditions(spec.get("where", {}), f"{where}.where", fail, lookups=False)
    then = _lookup(spec["then"], f"{where}.then", fail, chained=True) if "then" in spec else None
    return Lookup(file=_file_key(spec["file"], f"{where}.file", fail), key=parts["key"],
                  on=parts.get("on", parts["key"]), value=parts["value"], where=conditions,
                  then=then)


def _conditions(spec: object, where: str, fail, lookups: bool = True) -> tuple[Condition, ...]:
    """`{ Field = "Status", IsWon = ["true", "1"], Flags = { present = false } }`: all must hold.

    Or a list of condition tables, which may also test a looked-up value:
    `[{ lookup = { file = "User", key = "Id", on = "OwnerId", value = "Department" },
    in = ["Marketing"] }]`.
    """
    if isinstance(spec, list) and lookups:
        return tuple(_condition(test if isinstance(test, dict) else {}, f"{where}[{j + 1}]",
                                fail) for j, test in enumerate(spec))
    if not isinstance(spec, dict):
        raise fail(f"{where} must be a table of column = value(s), e.g. {{ Field = \"Status\" }}.")
    return tuple(
        _condition({"column": column, **(test if isinstance(test, dict) else {"in": test})},
                   f"{where}.{column}", fail, lookups=lookups)
        for column, test in spec.items())


def _condition(spec: dict, where: str, fail, lookups: bool = True) -> Condition:
    lookup = None
    if lookups and "lookup" in spec and "column" not in spec:
        lookup = _lookup(spec["lookup"], f"{where}.lookup", fail)
        spec = {"column": lookup.value, **{k: v for k, v in spec.items() if k != "lookup"}}
    column = spec.get("column")
    tests = {"in", "not_in", "present"} & set(spec)
    optional = _flag(spec, "optional", where, fail)
    spec = {k: v for k, v in spec.items() if k != "optional"}
    if (not isinstance(column, str) or not column or len(tests) != 1
            or set(spec) - {"column", "in", "not_in", "present"}):
        raise fail(f"{where} must be {{ column = \"...\", in = [...] }}, not_in = [...] or "
                   "present = true/false" + (" (column may be a lookup = {...})" if lookups
                                             else "") + ".")
    if "present" in spec:
        if not isinstance(spec["present"], bool):
            raise fail(f"{where}.present must be true or false.")
        return Condition(column=column, present=spec["present"], lookup=lookup,
                         optional=optional)
    negate = "not_in" in spec
    values = spec.get("not_in" if negate else "in")
    values = [values] if isinstance(values, str | int | float) and not isinstance(
        values, bool) else values
    if not isinstance(values, list) or not values:
        raise fail(f"{where} needs the values to match, e.g. in = [\"true\", \"1\"].")
    return Condition(column=column, values=tuple(_text(v, where, fail) for v in values),
                     negate=negate, lookup=lookup, optional=optional)


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


def file_label(key: str) -> str:
    """How a mapping's file key reads in a sentence: "Lead.csv", "contacts.csv or hubspot-..."."""
    return " or ".join(f"{name}.csv" for name in key.split("|"))


def match_file(key: str, files: MappingType[str, Path]) -> Path | None:
    """The file a mapping key names among {lower-case stem: path}: the first alternative
    present; a pattern must match exactly one file."""
    for alternative in key.split("|"):
        wanted = alternative.lower()
        if not _GLOB.search(wanted):
            if wanted in files:
                return files[wanted]
            continue
        matches = sorted(stem for stem in files if fnmatch.fnmatchcase(stem, wanted))
        if len(matches) > 1:
            names = ", ".join(files[m].name for m in matches)
            raise IngestFileError(f"{names} all match {alternative!r}; keep only one export of "
                                  "this kind in the folder.", file=files[matches[0]].name)
        if matches:
            return files[matches[0]]
    return None


@dataclass(frozen=True)
class Plan:
    """The entries that will run, the files they need (by mapping key), and what is left."""

    mapping: Mapping
    sources: tuple[TableSource, ...]
    files: dict[str, Path] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    @property
    def needed_files(self) -> tuple[str, ...]:
        """Lower-case keys of every file an active entry or lookup reads, in mapping order."""
        keys: list[str] = []
        for source in self.sources:
            for key in (source.file, *(lk.file for _, r in source.columns for lk in r.lookups()),
                        *(lk.file for c in source.where if c.lookup
                          for lk in _chain(c.lookup))):
                key = key.lower()
                if key in self.files and key not in keys:
                    keys.append(key)
        return tuple(keys)

    @property
    def notes(self) -> tuple[str, ...]:
        """The notes of the active entries (e.g. which stage times are approximate)."""
        return tuple(dict.fromkeys(s.note for s in self.sources if s.note))


def _chain(lookup: Lookup) -> Iterator[Lookup]:
    while lookup is not None:
        yield lookup
        lookup = lookup.then


def _mapping_keys(mapping: Mapping) -> Iterator[str]:
    for source in mapping.sources:
        yield source.file
        if source.only_without:
            yield source.only_without
        for _, rule in source.columns:
            yield from (lk.file for lk in rule.lookups())
        for condition in source.where:
            if condition.lookup:
                yield from (lk.file for lk in _chain(condition.lookup))


def plan(mapping: Mapping, files: MappingType[str, Path], directory: Path) -> Plan:
    """Keep the entries whose file is present; refuse a missing mandatory file (exit code 2).

    Every missing file is named in one error.
    """
    resolved: dict[str, Path] = {}
    problems: list[IngestFileError] = []
    for key in dict.fromkeys(k.lower() for k in _mapping_keys(mapping)):
        try:
            found = match_file(key, files)
        except IngestFileError as exc:
            problems.append(exc)
            continue
        if found is not None:
            resolved[key] = found
    active, skipped = [], []
    for source in mapping.sources:
        if source.only_without and source.only_without.lower() in resolved:
            continue  # a fallback for exports that lack that file
        if source.file.lower() in resolved:
            active.append(source)
        elif source.optional or (mapping.canonical and source.table not in ("leads",
                                                                             "lead_events")):
            skipped.append(f"{file_label(source.file)} ({source.table})")
        elif not any(p.file == file_label(source.file) for p in problems):
            problems.append(IngestFileError(_missing_file_message(mapping, source),
                                            file=file_label(source.file), source=str(directory)))
    for table in ("leads", "lead_events"):
        if not any(s.table == table for s in active) and not any(
                s.table == table for s in mapping.sources if not s.optional
                and s.file.lower() not in resolved):
            expected = " or ".join(file_label(s.file) for s in mapping.sources_for(table))
            problems.append(IngestFileError(
                f"none of the files that make the mandatory table {table} is here (expected "
                f"{expected}, or .parquet).", file=f"{table}.csv", source=str(directory)))
    if problems:
        raise combine_file_errors(problems)
    return Plan(mapping=mapping, sources=tuple(active), files=resolved, skipped=tuple(skipped))


def _missing_file_message(mapping: Mapping, source: TableSource) -> str:
    names = " or ".join(f"{n}.csv or {n}.parquet" for n in source.file.split("|"))
    if mapping.canonical:
        known = "|".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml")))
        return (f"no {names} in this folder: the {source.table} table is mandatory (a CRM "
                f"export whose files no mapping recognised? name one with --mapping {known}).")
    return (f"no {names} in this folder, which mapping '{mapping.name}' needs for "
            f"{source.table}.")


def unmet(needs: Iterator[Need] | list[Need], own: SourceFile,
          headers: MappingType[str, SourceFile],
          pseudo: frozenset[str] = frozenset()) -> list[tuple[str, str | None]]:
    """[(file name, missing column or None for a missing file)] among `needs` (an unpivot's
    `pseudo` columns count as present)."""
    missing: list[tuple[str, str | None]] = []
    for need in needs:
        if need.file is None and set(need.columns) <= pseudo:
            continue
        file = own if need.file is None else headers.get(need.file.lower())
        if file is None:
            missing.append((file_label(need.file or ""), None))
        elif not any(file.has(c) for c in need.columns):
            missing.append((file.name, need.columns[0]))
    return missing


def usable(rule: ColumnRule, own: SourceFile, headers: MappingType[str, SourceFile],
           pseudo: frozenset[str] = frozenset()) -> bool:
    """Whether everything the rule reads is in the export (for `first`: any alternative)."""
    if rule.first:
        return any(usable(a, own, headers, pseudo) for a in rule.first)
    return not unmet(rule.needs(), own, headers, pseudo)


def check_columns(plan_: Plan, headers: MappingType[str, SourceFile]) -> None:
    """Refuse (exit code 2) files lacking columns the mapping reads, naming every file and
    column in one error. Files absent from `headers` (unreadable, reported apart) are
    skipped."""
    problems: list[IngestFileError] = []
    for source in plan_.sources:
        file = headers.get(source.file.lower())
        if file is None:
            continue
        pseudo = {source.unpivot.name, source.unpivot.value} if source.unpivot else set()
        target = (f"the {source.table} table requires" if plan_.mapping.canonical
                  else f"mapping '{plan_.mapping.name}' uses for {source.table}")

        def report(needs: list[Need], purpose: str) -> None:
            for need in needs:
                in_file = file if need.file is None else headers.get(need.file.lower())
                if need.file is None and set(need.columns) <= pseudo:
                    continue
                if in_file is None and (need.file or "").lower() in plan_.files:
                    continue  # present but unreadable: its own problem is reported
                if in_file is None:
                    problems.append(IngestFileError(
                        f"mapping '{plan_.mapping.name}' looks up {purpose} in "
                        f"{file_label(need.file or '')}, which is not in the folder.",
                        file=file_label(need.file or "")))
                    continue
                try:
                    present = [c for c in need.columns if in_file.has(c)]
                except IngestFileError as exc:
                    problems.append(exc)
                    continue
                for column in present:
                    if in_file.resolve(column) in in_file.duplicated_columns:
                        problems.append(IngestFileError(
                            f"the column {column!r} appears more than once in the header, so "
                            f"{purpose} is ambiguous; rename one of them.", file=in_file.name,
                            column=column))
                if not present:
                    column = need.columns[0]
                    either = (f" (nor {', '.join(repr(c) for c in need.columns[1:])})"
                              if len(need.columns) > 1 else "")
                    found = (in_file.delimiter_hint() or in_file.encoding_hint(column)
                             or f" The header has: {_preview(in_file.columns)}.")
                    problems.append(IngestFileError(
                        f"no column {column!r}{either}, which {purpose}.{found}",
                        file=in_file.name, column=column))

        for canonical, rule in source.columns:
            purpose = target if plan_.mapping.canonical else f"{target}.{canonical}"
            if rule.optional:
                continue
            if rule.first:
                if not usable(rule, file, headers, frozenset(pseudo)):
                    # Name what each alternative lacks: any one of them would do.
                    lacking = [unmet(a.needs(), file, headers, frozenset(pseudo))[0]
                               for a in rule.first]
                    own = [column for name, column in lacking if column and name == file.name]
                    report([Need(None, tuple(dict.fromkeys(own)))] if own else
                           list(rule.first[0].needs()), purpose)
                continue
            report([n for n in rule.needs() if not (n.file is None and set(n.columns) <= pseudo)],
                   purpose)
        for condition in source.where:
            report(list(condition_needs(condition)), f"{target} (where)")
        if source.unpivot and not source.unpivot.optional:
            report([Need(None, (c,)) for c, _ in source.unpivot.columns], f"{target} (unpivot)")
    if problems:
        raise combine_file_errors(problems)


def _preview(columns: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def used_columns(plan_: Plan, headers: MappingType[str, SourceFile]) -> dict[str, set[str]]:
    """{file key: header names some active entry or lookup reads} (the rest is ignored)."""
    wanted: dict[str, set[str]] = {key: set() for key in plan_.needed_files}
    for source in plan_.sources:
        own = wanted[source.file.lower()]
        for _, rule in source.columns:
            own.update(rule.source_columns())
            for lookup in rule.lookups():
                if lookup.file.lower() in wanted:
                    wanted[lookup.file.lower()].update(
                        (lookup.key, lookup.value, *(c.column for c in lookup.where)))
        own.update(c.column for c in source.where if not c.lookup)
        if source.unpivot:
            own.update(c for c, _ in source.unpivot.columns)
    used: dict[str, set[str]] = {}
    for key, names in wanted.items():
        file = headers[key]
        used[key] = {resolved for n in names if (resolved := _resolve_quietly(file, n))}
    return used


def _resolve_quietly(file: SourceFile, column: str) -> str | None:
    try:
        return file.resolve(column)
    except IngestFileError:
        return None


# ---------------------------------------------------------------------------------------------
# Compiling an entry to SQL


def _clean(value: exp.Expression) -> exp.Expression:
    """Trimmed text, with an empty string as NULL: what 'missing' means everywhere."""
    return exp.Nullif(this=exp.func("trim", exp.cast(value, "VARCHAR"),
                                    exp.Literal.string(_WHITESPACE)),
                      expression=exp.Literal.string(""))


def _literal(value: str | None) -> exp.Expression:
    return exp.Literal.string(value) if value else exp.null()


def normalize_id(value: exp.Expression, id_format: str | None) -> exp.Expression:
    """A Salesforce id in its 15-character form, all zeros as NULL (see id_macro_sql).

    >>> normalize_id(exp.column("v"), None).sql()
    'v'
    """
    if id_format != "salesforce":
        return value
    return exp.Anonymous(this=SALESFORCE_ID_MACRO, expressions=[value])


# The check is a macro of the load's connection: written out for every id column and lookup
# key, it would make statements of thousands of nodes.
SALESFORCE_ID_MACRO = "handoff_salesforce_id"


def id_macro_sql(id_format: str | None) -> str | None:
    """The statement defining the id normalizer of `id_format` on a connection, if any.

    An 18-character value is cut to 15 only when its last three characters are the case-safe
    checksum of the first 15, so text that merely looks like an id is left alone.
    """
    if id_format != "salesforce":
        return None
    value = exp.column("v")
    is_long_id = exp.and_(
        exp.func("regexp_full_match", value.copy(), exp.Literal.string(_SALESFORCE_ID_18)),
        exp.func("substr", value.copy(), exp.Literal.number(16), exp.Literal.number(3))
        .eq(_salesforce_suffix(value)))
    short = (exp.Case().when(is_long_id, exp.func("left", value.copy(), exp.Literal.number(15)))
             .else_(value.copy()))
    body = exp.Nullif(this=short, expression=exp.Literal.string(_SALESFORCE_NULL_ID))
    return f"CREATE OR REPLACE TEMP MACRO {SALESFORCE_ID_MACRO}(v) AS {body.sql('duckdb')}"


def _salesforce_suffix(value: exp.Expression) -> exp.Expression:
    """SQL for the 3-character suffix Salesforce appends to a 15-character id: per block of 5
    characters, the bits of which are upper-case letters, as a letter of A-Z0-5."""
    letters: list[exp.Expression] = []
    for block in range(3):
        index: exp.Expression = exp.Literal.number(1)
        for bit in range(5):
            char = exp.func("substr", value.copy(), exp.Literal.number(block * 5 + bit + 1),
                            exp.Literal.number(1))
            upper = exp.Case().when(exp.func("regexp_full_match", char,
                                             exp.Literal.string("[A-Z]")),
                                    exp.Literal.number(1 << bit)).else_(exp.Literal.number(0))
            index = exp.Add(this=index, expression=upper)
        letters.append(exp.func("substr", exp.Literal.string(_SUFFIX_ALPHABET), index,
                                exp.Literal.number(1)))
    return exp.DPipe(this=exp.DPipe(this=letters[0], expression=letters[1]),
                     expression=letters[2])


def salesforce_suffix(id15: str) -> str:
    """The case-safe suffix of a 15-character Salesforce id (the reference for the SQL above).

    >>> salesforce_suffix("00Q5g0000000ABC")
    'EA2'
    """
    return "".join(
        _SUFFIX_ALPHABET[sum(1 << bit for bit, char in enumerate(id15[block * 5:block * 5 + 5])
                             if "A" <= char <= "Z")]
        for block in range(3))


def _normalize_literal(value: str, id_format: str | None) -> str:
    text = value.strip()
    if (id_format == "salesforce" and re.fullmatch(_SALESFORCE_ID_18, text)
            and salesforce_suffix(text[:15]) == text[15:]):
        return text[:15]
    return value


class _EntryCompiler:
    """Builds the SELECT of one entry (one unpivot column at a time when it unpivots)."""

    def __init__(self, source: TableSource, staged: MappingType[str, StagedFile],
                 id_format: str | None = None) -> None:
        self.source = source
        self.staged = staged
        self.file = staged[source.file.lower()]
        self.headers = {key: s.source for key, s in staged.items()}
        self.id_format = id_format
        self.lookups: dict[Lookup, tuple[str, exp.Expression]] = {}  # -> (alias, on value)
        self.cell: tuple[str, str] | None = None  # (source column, name) being unpivoted
        self.pseudo = (frozenset({source.unpivot.name, source.unpivot.value}) if source.unpivot
                       else frozenset())

    def ref(self, column: str, optional: bool = False) -> exp.Expression:
        unpivot = self.source.unpivot
        if unpivot and not self.cell and column in (unpivot.name, unpivot.value):
            return exp.null()  # none of the unpivot's optional columns is in the export
        if unpivot and self.cell and column == unpivot.name:
            return exp.Literal.string(self.cell[1])
        if unpivot and self.cell and column == unpivot.value:
            column = self.cell[0]
        if not self.file.source.has(column):
            if optional:
                return exp.null()
            raise IngestFileError(f"no column {column!r}.", file=self.file.source.name,
                                  column=column)
        return _clean(exp.column(self.file.source.staging_column(column), "s"))

    def _is_id(self, column: str) -> bool:
        return self.id_format is not None and column.lower().endswith("id")

    def condition(self, condition: Condition, optional: bool = False) -> exp.Expression:
        if condition.optional and unmet(
                list(condition_needs(replace(condition, optional=False))),
                self.file.source, self.headers, self.pseudo):
            value: exp.Expression = exp.null()
        elif condition.lookup is not None:
            value = self.looked_up(condition.lookup)
        else:
            value = self.ref(condition.column, optional)
            if self._is_id(condition.column):
                value = normalize_id(value, self.id_format)
        if condition.present is not None:
            test = value.is_(exp.null())
            return test.not_() if condition.present else test
        listed = [_normalize_literal(v, self.id_format) if self._is_id(condition.column) else v
                  for v in condition.values]
        member = exp.func("lower", value.copy()).isin(
            *(exp.Literal.string(v.strip().lower()) for v in listed))
        if condition.negate:
            # "not in" holds for an empty value too: nothing was said to exclude it.
            return exp.or_(value.is_(exp.null()), exp.Not(this=member))
        return member

    def rule(self, rule: ColumnRule, canonical: str | None = None) -> exp.Expression:
        value = self.base(rule)
        plain = (len(rule.columns) == 1 and not (rule.split or rule.null_if or rule.only_if)
                 and rule.value_map is None and rule.multiply is None)
        if canonical is not None and canonical.endswith("_id"):
            value = normalize_id(value, self.id_format)
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
        value = _clean(value)
        if canonical is not None and canonical.endswith("_id") and rule.split:
            value = normalize_id(value, self.id_format)
        return value

    def base(self, rule: ColumnRule) -> exp.Expression:
        if rule.first:
            values = [self.rule(a) for a in rule.first if usable(a, self.file.source,
                                                                 self.headers, self.pseudo)]
            if not values:
                return exp.null()
            return values[0] if len(values) == 1 else exp.Coalesce(this=values[0],
                                                                   expressions=values[1:])
        if rule.optional and unmet(rule.needs(), self.file.source, self.headers,
                                   self.pseudo) and not (
                rule.columns and any(self.file.source.has(c) for c in rule.columns)):
            return exp.null()
        if rule.columns:
            present = [c for c in rule.columns if self.file.source.has(c) or (
                self.source.unpivot and c in (self.source.unpivot.name,
                                              self.source.unpivot.value))]
            refs = [self.ref(c) for c in present]
            if not refs:
                return exp.null()
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
            return self.looked_up(rule.lookup)
        case = exp.Case()
        for condition, target in rule.when:
            case = case.when(self.condition(condition, rule.optional), _literal(target))
        return case.else_(_literal(rule.otherwise)) if rule.otherwise else case

    def looked_up(self, lookup: Lookup) -> exp.Expression:
        """The looked-up value for this row (NULL when a lookup file is absent)."""
        if any(lk.file.lower() not in self.staged for lk in _chain(lookup)):
            return exp.null()
        if lookup not in self.lookups:
            on = normalize_id(self.ref(lookup.on, optional=True), self.id_format)
            self.lookups[lookup] = (f"lk{len(self.lookups) + 1}", on)
        return exp.column("v", self.lookups[lookup][0])

    def _lookup_rows(self, lookup: Lookup, alias: str) -> tuple[exp.Select, exp.Expression,
                                                                exp.Expression]:
        """(FROM-and-WHERE over the lookup file, its clean key, its clean value)."""
        staged = self.staged[lookup.file.lower()]
        source = staged.source

        def column(name: str) -> exp.Expression:
            return normalize_id(_clean(exp.column(source.staging_column(name), alias)),
                                self.id_format)

        rows = exp.select().from_(staged.table.copy().as_(alias))
        for condition in lookup.where:
            value = _clean(exp.column(source.staging_column(condition.column), alias))
            if condition.present is not None:
                test = value.is_(exp.null())
                rows = rows.where(test.not_() if condition.present else test)
                continue
            member = exp.func("lower", value.copy()).isin(
                *(exp.Literal.string(v.strip().lower()) for v in condition.values))
            rows = rows.where(exp.or_(value.is_(exp.null()), exp.Not(this=member))
                              if condition.negate else member)
        return rows, column(lookup.key), column(lookup.value)

    def lookup_join(self, lookup: Lookup, alias: str) -> exp.Subquery:
        rows, key, value = self._lookup_rows(lookup, "k")
        if lookup.then is not None:
            # The first row whose value leads somewhere in the chained file wins.
            chained = self.lookup_join(lookup.then, f"{alias}_then")
            rows = rows.join(chained, join_type="left",
                             on=exp.column("k", f"{alias}_then").eq(value))
            value = exp.column("v", f"{alias}_then")
        first = exp.Filter(this=exp.func("arg_min", value, exp.column("rowid", "k")),
                           expression=exp.Where(this=value.copy().is_(exp.null()).not_()))
        # One row per key (the first non-empty value in file order), so a lookup never
        # multiplies rows.
        return (rows.select(key.as_("k"), first.as_("v"))
                .where(key.copy().is_(exp.null()).not_())
                .group_by(key.copy())
                .subquery(alias))

    def select(self, entry: int, table: CanonicalTable, part: int) -> exp.Select:
        rules = dict(self.source.columns)
        values = [self.rule(rules[c], c) if c in rules else exp.cast(exp.null(), "VARCHAR")
                  for c in table.column_names]
        conditions = [self.condition(c) for c in self.source.where]
        select = exp.select(
            exp.Literal.number(entry).as_("_entry"),
            exp.Literal.number(self.file.index).as_("_src"),
            (exp.column("rowid", "s") + 1).as_("_row"), exp.Literal.number(part).as_("_part"),
            *(v.as_(c, quoted=True) for v, c in zip(values, table.column_names)),
        ).from_(self.file.table.copy().as_("s"))
        for lookup, (alias, on) in self.lookups.items():
            select = select.join(self.lookup_join(lookup, alias), join_type="left",
                                 on=exp.column("k", alias).eq(on))
        if self.cell:
            conditions.append(self.ref(self.cell[0]).is_(exp.null()).not_())
        return select.where(exp.and_(*conditions)) if conditions else select


def candidate_select(source: TableSource, entry: int, table: CanonicalTable,
                     staged: MappingType[str, StagedFile],
                     id_format: str | None = None) -> exp.Query:
    """The candidate rows (text columns plus origin columns) one mapping entry produces."""
    compiler = _EntryCompiler(source, staged, id_format)
    if source.unpivot:
        parts = []
        for i, cell in enumerate(source.unpivot.columns):
            if not compiler.file.source.has(cell[0]):
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
