"""What the data holds, counted once when a warehouse is built, and what that means for a metric.

A real export rarely holds every input a metric needs: HubSpot records no SAL, Olist records no
touch at all and a deal amount for one deal in twenty. A metric computed over a missing input
is not 0 %: it has no value, and says which input is missing. The counts are stored in the
warehouse (`warehouse_profile`) so opening it costs one tiny read, not a scan of the events;
a warehouse built before the table existed is counted when it is opened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pandas as pd
import sqlglot
from sqlglot import exp

PROFILE_TABLE = "warehouse_profile"

# Lifecycle columns derived from one team's touches: with no such touch in the data they are
# NULL (or 0) for every lead, which a metric would read as "never touched".
SALES_TOUCH_COLUMNS = frozenset({"first_sales_touch_at", "first_sales_touch_rep_id",
                                 "response_business_hours"})
MARKETING_TOUCH_COLUMNS = frozenset({"marketing_touches", "first_marketing_touch_at",
                                     "last_marketing_touch_at", "marketing_touches_before_close",
                                     "marketing_influenced"})
AMOUNT_COLUMNS = frozenset({"amount", "pipeline_amount", "won_amount"})
COST_NAMES = frozenset({"cost", "campaign_spend"})
# Below this share of opportunities with a known amount, a sum of amounts describes a handful
# of deals, not the business (Olist: 45 of 842).
MIN_AMOUNT_COVERAGE = 0.5
# A comparison window the data covers less than this much of is not comparable: its count
# would be low because the data had not begun, not because the business did worse.
MIN_WINDOW_COVERAGE = 0.9
# This many won deals and not one lost is how an export of closed-won deals only looks (Olist:
# 842 and 0); a business that truly wins 90 % would show a loss in 30 deals 96 times in 100.
MIN_WINS_WITHOUT_A_LOSS = 30


@dataclass(frozen=True)
class DataProfile:
    """Counts of what the warehouse records."""

    stage_events: dict[str, int] = field(default_factory=dict)
    touches_by_team: dict[str, int] = field(default_factory=dict)
    opportunities: int = 0
    opportunities_with_amount: int = 0
    data_starts: dt.datetime | None = None
    campaign_costs: int = 0
    lost: int = 0
    won: int = 0

    @property
    def touches(self) -> int:
        return sum(self.touches_by_team.values())

    def rows(self) -> list[tuple[str, int | None, dt.datetime | None]]:
        """(fact, n, moment) rows as the warehouse stores them."""
        rows = [(f"stage:{stage}", n, None) for stage, n in self.stage_events.items()]
        rows += [(f"touches:{team}", n, None) for team, n in self.touches_by_team.items()]
        rows += [("opportunities", self.opportunities, None),
                 ("opportunities:amount_known", self.opportunities_with_amount, None),
                 ("campaigns:cost_known", self.campaign_costs, None),
                 ("opportunities:lost", self.lost, None),
                 ("opportunities:won", self.won, None),
                 ("leads:first_created", None, self.data_starts)]
        return rows

    @classmethod
    def from_rows(cls, rows) -> "DataProfile":
        stages, teams, facts, starts = {}, {}, {}, None
        for fact, count, at in rows:
            kind, _, name = fact.partition(":")
            if kind == "stage":
                stages[name] = int(count)
            elif kind == "touches":
                teams[name] = int(count)
            elif fact == "leads:first_created":
                starts = at
            else:
                facts[fact] = int(count or 0)
        return cls(stages, teams, facts.get("opportunities", 0),
                   facts.get("opportunities:amount_known", 0), starts,
                   facts.get("campaigns:cost_known", 0), facts.get("opportunities:lost", 0),
                   facts.get("opportunities:won", 0))


# Plain SQL every engine runs the same (sqlglot renders it for PostgreSQL, ClickHouse, Spark).
_PROFILE_QUERIES = {
    "stages": "SELECT CAST(stage AS VARCHAR) AS stage_name, COUNT(*) AS n FROM lead_events "
              "GROUP BY CAST(stage AS VARCHAR)",
    "teams": "SELECT CAST(team AS VARCHAR) AS team_name, COUNT(*) AS n FROM touches "
             "WHERE team IS NOT NULL GROUP BY CAST(team AS VARCHAR)",
    "opportunities": "SELECT COUNT(*) AS n, COUNT(amount) AS with_amount, "
                     "SUM(CASE WHEN CAST(status AS VARCHAR) = 'lost' THEN 1 ELSE 0 END) AS lost, "
                     "SUM(CASE WHEN CAST(status AS VARCHAR) = 'won' THEN 1 ELSE 0 END) AS won "
                     "FROM opportunities",
    "starts": "SELECT MIN(created_at) AS first_created FROM leads",
    "costs": "SELECT COUNT(cost) AS n FROM campaigns",
}


def count_profile(con: duckdb.DuckDBPyConnection | None = None, *,
                  rows: Callable[[str], list[tuple]] | None = None) -> DataProfile:
    """Count the profile from the canonical tables: on a DuckDB connection, or with `rows`
    (a function running one SQL text and returning its rows) on another engine."""
    run = rows or (lambda sql: con.execute(sql).fetchall())
    stages = {str(stage): int(n) for stage, n in run(_PROFILE_QUERIES["stages"])}
    teams = {str(team): int(n) for team, n in run(_PROFILE_QUERIES["teams"])}
    opportunities, with_amount, lost, won = run(_PROFILE_QUERIES["opportunities"])[0]
    (starts,) = run(_PROFILE_QUERIES["starts"])[0]
    (costs,) = run(_PROFILE_QUERIES["costs"])[0]
    starts = None if starts is None or pd.isna(starts) else pd.Timestamp(starts).to_pydatetime()
    return DataProfile(stages, teams, int(opportunities or 0), int(with_amount or 0), starts,
                       int(costs or 0), int(lost or 0), int(won or 0))


def store_profile(con: duckdb.DuckDBPyConnection, profile: DataProfile) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {PROFILE_TABLE} "
                "(fact VARCHAR NOT NULL, n BIGINT, moment TIMESTAMP)")
    con.executemany(f"INSERT INTO {PROFILE_TABLE} VALUES (?, ?, ?)", profile.rows())


def read_profile(con: duckdb.DuckDBPyConnection) -> DataProfile:
    """The stored profile, or one counted now for a warehouse built before it was stored."""
    try:
        return DataProfile.from_rows(con.execute(
            f"SELECT fact, n, moment FROM {PROFILE_TABLE}").fetchall())
    except duckdb.CatalogException:
        return count_profile(con)


# -- what a definition reads -------------------------------------------------------------------

@dataclass(frozen=True)
class DefinitionReads:
    """What a definition's SQL mentions: lower-case column and table names, and string
    literals ('won', 'lost')."""
    names: frozenset[str]
    literals: frozenset[str]


# Asked for every tile of every uncached rerun (its notes and missing stages): parsed once per
# text, and seeded from the compile cache (remember_reads), so a fresh process that finds its
# definitions compiled on disk parses nothing at all.
_READS: dict[str, DefinitionReads] = {}
_READS_LIMIT = 1024


def reads(text: str) -> DefinitionReads:
    """What `text` reads (nothing for SQL that does not parse: the guard reports it)."""
    found = _READS.get(text)
    if found is None:
        try:
            tree = sqlglot.parse_one(text, read="duckdb")
        except sqlglot.errors.SqlglotError:
            tree = None
        found = DefinitionReads(
            frozenset() if tree is None else frozenset(
                {c.name.lower() for c in tree.find_all(exp.Column)}
                | {t.name.lower() for t in tree.find_all(exp.Table)}),
            frozenset() if tree is None else frozenset(
                lit.this.lower() for lit in tree.find_all(exp.Literal) if lit.is_string))
        remember_reads(text, found)
    return found


def remember_reads(text: str, found: DefinitionReads) -> None:
    if len(_READS) >= _READS_LIMIT:
        _READS.clear()
    _READS[text] = found


def names_read(text: str) -> frozenset[str]:
    """Lower-case names of the columns and tables a definition's SQL mentions."""
    return reads(text).names


def missing_inputs(text: str, label: str, profile: DataProfile) -> list[str]:
    """Sentences naming the inputs of a definition that the data does not hold (enough of),
    so its value would be an artefact of the export, not a fact. Empty when all are there.

    >>> p = DataProfile({"mql": 5}, {}, 10, 1)
    >>> missing_inputs("SELECT lead_id, first_mql_at, amount FROM opportunity_lifecycle "
    ...                "WHERE marketing_influenced", "Share", p)[0]
    'This warehouse has no marketing touches, so Share has no value here (it is not 0).'
    """
    read = names_read(text)
    notes = []
    if "touches" in read and profile.touches == 0:
        notes.append(f"This warehouse has no touches, so {label} has no value here (it is "
                     "not 0).")
    else:
        for team, columns in (("sales", SALES_TOUCH_COLUMNS),
                              ("marketing", MARKETING_TOUCH_COLUMNS)):
            if read & columns and not profile.touches_by_team.get(team):
                notes.append(f"This warehouse has no {team} touches, so {label} has no value "
                             "here (it is not 0).")
    if read & COST_NAMES and not profile.campaign_costs:
        notes.append(f"This warehouse has no campaign costs, so {label} has no value here "
                     "(an unknown cost is not a zero cost).")
    if read & AMOUNT_COLUMNS:
        notes += amount_gap(profile, label)
    if ("lost" in literals_read(text) or "first_lost_at" in read):
        notes += lost_gap(profile, label)
    return notes


def amount_gap(profile: DataProfile, label: str) -> list[str]:
    """Why a sum or average of deal amounts is not meaningful here (none when it is)."""
    if not profile.opportunities:
        return []
    share = profile.opportunities_with_amount / profile.opportunities
    if share >= MIN_AMOUNT_COVERAGE:
        return []
    return [f"The amount is known for only {profile.opportunities_with_amount:,} of "
            f"{profile.opportunities:,} opportunities ({share:.0%}), so {label} has no value "
            "here: it would describe a handful of deals."]


def lost_gap(profile: DataProfile, label: str) -> list[str]:
    """Why a won ÷ (won + lost) share is not meaningful: the data records many wins and no
    lost deal, so every closed deal is a win by construction (Olist's closed-deals file)."""
    if (profile.lost or profile.stage_events.get("lost")
            or max(profile.won, profile.stage_events.get("won", 0)) < MIN_WINS_WITHOUT_A_LOSS):
        return []
    return [f"This warehouse records no lost deal, so every closed deal is a win and {label} "
            "has no value here (it is not 100 %)."]


def literals_read(text: str) -> frozenset[str]:
    """Lower-case string literals in a definition's SQL ('won', 'lost')."""
    return reads(text).literals


def window_coverage(start: dt.datetime, end: dt.datetime, data_starts: dt.datetime | None
                    ) -> float:
    """The share of [start, end) on or after the data's first lead (1.0: fully covered)."""
    if data_starts is None or end <= start:
        return 1.0
    covered = end - max(start, pd.Timestamp(data_starts).to_pydatetime())
    return max(0.0, min(1.0, covered / (end - start)))


def uncovered_comparison(start: dt.datetime, end: dt.datetime,
                         data_starts: dt.datetime | None) -> str | None:
    """Why a comparison window cannot be compared, or None when it can.

    >>> uncovered_comparison(dt.datetime(2016, 6, 1), dt.datetime(2017, 9, 1),
    ...                      dt.datetime(2017, 6, 1))
    'the data begins on 01 Jun 2017'
    """
    if window_coverage(start, end, data_starts) >= MIN_WINDOW_COVERAGE:
        return None
    return f"the data begins on {data_starts:%d %b %Y}"
