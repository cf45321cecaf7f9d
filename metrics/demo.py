"""Deterministic demo data: a two-year B2B funnel a CMO and a head of sales recognise.

`generate_demo()` fills the canonical tables (campaigns, reps, leads, lead_events, touches,
opportunities) of an empty warehouse. It is a vectorised simulation: numpy draws every lead's
attributes and stage times at once, nothing is looped per row, and leads are produced in fixed
chunks of `CHUNK_LEADS` with a seed derived from (seed, chunk number), so the output depends only
on (leads, seed, as_of) and 10M leads fit comfortably in memory.

What it models, and why:

* volume: 24 months before `as_of`, ~40 %/year growth, Q4 peak, summer and late-December dips,
  quiet weekends; channels differ in volume, cost per lead, lead score and conversion;
* the funnel lead -> mql -> sal -> sql -> opportunity -> won/lost, with sales rejecting some MQLs
  (`disqualified`/`recycled` with a reason), recycled leads that come back as MQLs, a few skipped
  stages, and sales/partner-sourced leads entering at sal/sql without an MQL;
* lead scoring: the score is a noisy reading of each buyer's unobserved intent, which drives
  acceptance, SQL, opportunity and win, and engagement (marketing touches); marketing passes
  leads once the score crosses the threshold of sql/metrics/mql_rule.sql, and demo requests
  whatever the score; industries differ in win rate;
* follow-up speed per rep against the 8-business-hour SLA of sql/model.toml (some reps are fast,
  some habitually late, a few MQLs are never touched), multi-touch marketing journeys;
* censoring: nothing happens after `as_of`, so recent cohorts visibly have not converted yet.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

# Fixed, never machine-dependent: the chunk number is part of each chunk's seed.
CHUNK_LEADS = 1_000_000

CHANNELS = (
    "paid_search", "organic_search", "email", "social", "events",
    "webinars", "content", "partner", "outbound",
)
PAID, ORGANIC, EMAIL, SOCIAL, EVENTS, WEBINARS, CONTENT, PARTNER, OUTBOUND = range(len(CHANNELS))
SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SMB, MID_MARKET, ENTERPRISE = range(3)
REGIONS = ("NA", "EMEA", "APAC", "LATAM")
INDUSTRIES = (
    "Software", "Financial Services", "Healthcare", "Manufacturing",
    "Retail", "Education", "Media", "Professional Services",
)
SOURCED_BY = ("marketing", "sales", "partner")
STAGES = ("lead", "mql", "sal", "sql", "opportunity", "won", "lost", "disqualified", "recycled")
LEAD, MQL, SAL, SQL, OPPORTUNITY, WON, LOST, DISQUALIFIED, RECYCLED = range(len(STAGES))
TOUCH_KINDS = (
    "ad_click", "email_open", "webinar", "event_visit", "content_download", "web_visit",
    "call", "email", "meeting",
)
(AD_CLICK, EMAIL_OPEN, WEBINAR, EVENT_VISIT, CONTENT_DOWNLOAD, WEB_VISIT,
 CALL, EMAIL_OUT, MEETING) = range(len(TOUCH_KINDS))
TEAMS = ("marketing", "sales")
DISQUALIFY_REASONS = (
    "No budget", "Wrong segment", "Student / job seeker", "Competitor",
    "Bad contact data", "Already a customer",
)
RECYCLE_REASONS = ("Not now - timing", "No budget", "No response")
LOST_REASONS = ("No decision - status quo", "Price", "Lost to competitor", "Timing / budget freeze")
# One categorical for the `reason` column; recycle/lost codes are offsets into it.
REASONS = tuple(dict.fromkeys(DISQUALIFY_REASONS + RECYCLE_REASONS + LOST_REASONS))
_RECYCLE_CODES = np.array([REASONS.index(r) for r in RECYCLE_REASONS])
_LOST_CODES = np.array([REASONS.index(r) for r in LOST_REASONS])

# Per channel: share of leads, cost per lead ($), mean lead score (0-1), chance to qualify
# (reach MQL; for partner/outbound: to enter the funnel at all), median days lead -> MQL,
# MQL acceptance, SAL -> SQL, SQL -> opportunity, win rate, share of leads tied to a campaign.
_CHANNEL_TABLE = np.array([
    # share  cpl   score  qual  days  accept sal>sql sql>opp win   campaign
    [0.20, 420.0, 0.46, 0.40, 4.0, 0.74, 0.50, 0.66, 0.24, 0.97],  # paid_search
    [0.17, 130.0, 0.44, 0.38, 5.0, 0.77, 0.52, 0.66, 0.27, 0.05],  # organic_search
    [0.11, 100.0, 0.43, 0.34, 8.0, 0.68, 0.46, 0.62, 0.22, 0.97],  # email
    [0.12, 240.0, 0.33, 0.26, 10.0, 0.60, 0.42, 0.58, 0.18, 0.97],  # social
    [0.07, 1100.0, 0.58, 0.50, 2.0, 0.76, 0.53, 0.68, 0.26, 0.97],  # events
    [0.08, 400.0, 0.55, 0.46, 3.0, 0.74, 0.50, 0.66, 0.25, 0.97],  # webinars
    [0.12, 190.0, 0.38, 0.32, 12.0, 0.66, 0.45, 0.62, 0.21, 0.97],  # content
    [0.05, 640.0, 0.62, 0.55, 3.0, 0.84, 0.58, 0.70, 0.32, 0.95],  # partner
    [0.08, 720.0, 0.50, 0.40, 6.0, 0.80, 0.55, 0.68, 0.28, 0.10],  # outbound
])
(_SHARE, _CPL, _SCORE, _QUALIFY, _MQL_DAYS, _ACCEPT, _SAL_SQL, _SQL_OPP, _WIN, _CAMPAIGN) = (
    _CHANNEL_TABLE.T
)
# Segment mix per channel (SMB, Mid-Market, Enterprise): outbound and partners go up-market.
_SEGMENT_MIX = np.array([
    [0.58, 0.31, 0.11], [0.60, 0.30, 0.10], [0.55, 0.32, 0.13], [0.70, 0.24, 0.06],
    [0.35, 0.40, 0.25], [0.48, 0.35, 0.17], [0.62, 0.28, 0.10], [0.30, 0.42, 0.28],
    [0.22, 0.40, 0.38],
])
_NULL_SEGMENT_SHARE = 0.01  # on purpose: dashboards must cope with missing segments
# Per segment (SMB, Mid-Market, Enterprise, missing): acceptance, SAL->SQL, win multipliers,
# median deal ($), median days per stage (sal->sql, sql->opp, opp->close).
_SEG_ACCEPT = np.array([1.0, 1.03, 0.97, 0.6])
_SEG_WIN = np.array([1.1, 1.0, 0.8, 0.9])
_SEG_AMOUNT = np.array([9_000.0, 35_000.0, 170_000.0, 30_000.0])
_SEG_SAL_SQL_DAYS = np.array([8.0, 14.0, 24.0, 14.0])
_SEG_SQL_OPP_DAYS = np.array([5.0, 9.0, 15.0, 9.0])
_SEG_CYCLE_DAYS = np.array([24.0, 50.0, 110.0, 50.0])
_REGION_MIX = np.array([0.50, 0.28, 0.14, 0.08])
_REGION_UTC_OFFSET_H = np.array([-5.0, 1.0, 8.0, -3.0])  # working hours of the people there
_INDUSTRY_MIX = np.array([0.24, 0.15, 0.12, 0.12, 0.10, 0.08, 0.07, 0.12])
# Win-rate multipliers per industry (mean about 1): software and finance buy, education and
# retail rarely close. The attributes a lift table should find.
_INDUSTRY_WIN = np.array([1.3, 1.25, 1.0, 0.95, 0.75, 0.55, 0.85, 1.0]) / 1.03
# Lead score and intent: score mean shift per standard deviation of intent, and how strongly
# intent lifts acceptance, SQL, opportunity and win (log scale).
_INTENT_SCORE = 0.12
_INTENT_LIFT = 0.35
_MQL_THRESHOLD = 60  # the threshold of sql/metrics/mql_rule.sql v1
# Share of rejections that are disqualifications (rest: recycled), and the reasons, by channel:
# social and content bring students and bad data, events bring competitors and customers.
_DISQUALIFY_SHARE = np.array([0.50, 0.48, 0.45, 0.65, 0.45, 0.48, 0.60, 0.40, 0.50])
_DISQUALIFY_MIX = np.array([
    [0.22, 0.22, 0.14, 0.12, 0.20, 0.10],
    [0.25, 0.22, 0.14, 0.08, 0.18, 0.13],
    [0.25, 0.20, 0.08, 0.06, 0.21, 0.20],
    [0.15, 0.18, 0.30, 0.05, 0.25, 0.07],
    [0.22, 0.20, 0.05, 0.18, 0.15, 0.20],
    [0.24, 0.22, 0.12, 0.12, 0.15, 0.15],
    [0.18, 0.20, 0.28, 0.08, 0.18, 0.08],
    [0.30, 0.25, 0.02, 0.10, 0.08, 0.25],
    [0.35, 0.30, 0.01, 0.09, 0.15, 0.10],
])
_RECYCLE_MIX = np.array([0.60, 0.25, 0.15])
_LOST_MIX = np.array([0.32, 0.25, 0.28, 0.15])
# Calendar: month (Jan..Dec) and weekday (Mon..Sun) volume factors, yearly growth.
_MONTH_FACTOR = np.array([0.95, 1.0, 1.08, 1.02, 1.0, 0.92, 0.8, 0.78, 1.05, 1.15, 1.2, 0.97])
_WEEKDAY_FACTOR = np.array([1.1, 1.12, 1.1, 1.05, 0.92, 0.42, 0.45])
_YEARLY_GROWTH = 1.4
_EVENT_SEASON = np.array([0.5, 0.8, 1.2, 1.3, 1.2, 0.9, 0.4, 0.4, 1.3, 1.4, 1.2, 0.5])
_WEBINAR_SEASON = np.array([1.1, 1.2, 1.1, 1.0, 1.0, 0.8, 0.7, 0.7, 1.1, 1.2, 1.1, 0.6])
# Campaigns: share of the campaign count, duration range (days), days after the end during
# which leads are still attributed to it (event and webinar follow-up), creation-touch kind.
_CAMPAIGN_SHARE = np.array([0.17, 0.03, 0.18, 0.12, 0.14, 0.14, 0.12, 0.06, 0.04])
_CAMPAIGN_DAYS = np.array([
    [30, 120], [90, 365], [1, 10], [14, 60], [1, 3], [1, 1], [60, 365], [90, 365], [30, 90],
])
_CAMPAIGN_LAG = np.array([0, 0, 10, 0, 30, 21, 0, 0, 0])
_ALWAYS_ON = np.array([True, False, True, True, True, True, True, True, False])
_CREATION_KIND = np.array([
    AD_CLICK, WEB_VISIT, EMAIL_OPEN, AD_CLICK, EVENT_VISIT, WEBINAR, CONTENT_DOWNLOAD, WEB_VISIT,
    EMAIL_OUT,
])
_CAMPAIGN_THEMES = {
    PAID: ("Brand", "Competitor keywords", "Revenue analytics", "Pipeline reporting",
           "Retargeting", "Free trial"),
    ORGANIC: ("Blog refresh", "Comparison pages", "Glossary hub"),
    EMAIL: ("Monthly newsletter", "Product update", "Onboarding nurture", "ROI nurture",
            "Webinar invite", "Reactivation"),
    SOCIAL: ("LinkedIn CFO persona", "LinkedIn RevOps persona", "LinkedIn thought leadership",
             "Meta retargeting", "LinkedIn lead-gen forms", "Product launch"),
    EVENTS: ("SaaStr Annual", "Dreamforce booth", "CMO Summit", "Regional roadshow",
             "Customer dinner", "RevOps Summit", "Web Summit"),
    WEBINARS: ("Pipeline forecasting 101", "Attribution without tears", "The SLA playbook",
               "Benchmarks live", "Customer panel", "Product deep dive"),
    CONTENT: ("State of B2B Pipeline report", "Attribution e-book", "ROI calculator",
              "SLA template pack", "Benchmark survey", "Buyer guide"),
    PARTNER: ("Reseller co-marketing", "Marketplace listing", "SI referral program",
              "Agency partner MDF"),
    OUTBOUND: ("ABM Enterprise tier 1", "ABM Mid-Market expansion", "New-logo sequence"),
}
_CHANNEL_LABEL = ("Paid Search", "SEO", "Email", "Social", "Event", "Webinar", "Content",
                  "Partner", "Outbound")
# Marketing touches after creation: which channel's campaigns they belong to (organic: none).
_NURTURE_CHANNELS = np.array([EMAIL, PAID, SOCIAL, WEBINARS, EVENTS, CONTENT, ORGANIC])
_NURTURE_MIX = np.array([0.36, 0.12, 0.12, 0.10, 0.06, 0.14, 0.10])
_FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Carmen", "Dmitri", "Esther", "Felix",
)
_LAST_NAMES = (
    "Abbott", "Baptiste", "Castell", "Dunmore", "Eriksen", "Fairley", "Gallo", "Hartwell",
    "Iwata", "Jovanic", "Kessler", "Lindqvist", "Marlowe", "Nakamura", "Okafor", "Pellegrini",
    "Quint", "Rahman", "Sorensen", "Thorne", "Uddin", "Vasquez", "Whitlock", "Yilmaz", "Zeller",
)
# Follow-up behaviour: the SLA of sql/model.toml (New York business hours). Reps are fast,
# normal or habitually slow; the delay is counted in business hours, like the SLA.
_NY = "America/New_York"
_OPEN_S, _CLOSE_S = 9 * 3600, 17 * 3600
_REP_SPEED_MIX = np.array([0.3, 0.45, 0.25])
_REP_SPEED_HOURS = np.array([[0.5, 2.5], [3.0, 6.0], [9.0, 20.0]])
_DAY = 86_400.0
_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class _Lookup:
    """Weighted choice of a member within a group, vectorised with one searchsorted.

    keys[i] = group + cumulative weight share of the member within its group, so drawing
    `group + u` (u in [0, 1)) lands on a member of that group with probability = its share.
    """

    keys: np.ndarray
    members: np.ndarray
    totals: np.ndarray  # weight per group; 0 means the group is empty

    @classmethod
    def build(cls, group: np.ndarray, member: np.ndarray, weight: np.ndarray,
              n_groups: int) -> _Lookup:
        order = np.lexsort((member, group))
        group, member, weight = group[order], member[order], weight[order].astype(float)
        totals = np.bincount(group, weights=weight, minlength=n_groups)
        before = np.concatenate([[0.0], np.cumsum(totals)])[group]
        share = (np.cumsum(weight) - before) / np.where(totals[group] > 0, totals[group], 1.0)
        last = np.append(group[1:] != group[:-1], True)
        share[last] = 1.0  # exact, so rounding never lets a draw spill into the next group
        return cls(group + share, member, totals)

    def pick(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A member per row (-1 where the group is empty)."""
        if len(self.members) == 0:
            return np.full(len(group), -1, dtype=np.int64)
        u = np.minimum(u, 1.0 - 1e-9)
        pos = np.searchsorted(self.keys, group + u, side="right")
        found = self.members[np.minimum(pos, len(self.members) - 1)]
        return np.where(self.totals[group] > 0, found, -1)


@dataclass(frozen=True)
class _World:
    """Everything shared by all chunks: calendar, campaigns, reps, id widths."""

    n_leads: int
    seed: int
    start_s: int  # window start (midnight UTC), epoch seconds
    as_of_s: int  # epoch seconds, floored
    n_days: int
    last_day_fraction: float  # the as_of day is only partly elapsed
    cum_day_counts: np.ndarray  # leads created up to and including each day
    channel_cum: np.ndarray  # (days, channels) cumulative channel mix per day
    campaign_lookup: _Lookup  # group = channel * n_days + day
    campaign_frame: pd.DataFrame
    sales_lookup: _Lookup  # group = region
    marketing_reps: np.ndarray
    rep_speed_hours: np.ndarray
    rep_frame: pd.DataFrame
    lead_width: int
    row_width: int


def generate_demo(
    con: duckdb.DuckDBPyConnection,
    *,
    leads: int,
    seed: int,
    as_of: dt.datetime,
    progress: Callable[[float, str], None] | None = None,
) -> None:
    """Fill the (already created, empty) canonical tables campaigns, reps, leads, lead_events,
    touches, opportunities in `con` with a realistic demo of `leads` leads over the 24 months
    before `as_of` (a naive UTC datetime). Deterministic for (leads, seed, as_of)."""
    if leads < 0:
        raise ValueError(f"leads must be zero or more, not {leads}.")
    if as_of.tzinfo is not None:  # be forgiving: an aware time is converted to naive UTC
        as_of = as_of.astimezone(dt.timezone.utc).replace(tzinfo=None)
    report = progress or (lambda fraction, message: None)
    report(0.0, "Planning the demo calendar, campaigns and reps")
    world = _plan_world(leads, int(seed) & _MASK64, as_of)
    _insert(con, "campaigns", world.campaign_frame, _CAMPAIGN_SQL)
    _insert(con, "reps", world.rep_frame, _REP_SQL)
    n_chunks = math.ceil(leads / CHUNK_LEADS)
    next_ids = {"event": 0, "touch": 0, "opportunity": 0}
    for chunk in range(n_chunks):
        first = chunk * CHUNK_LEADS
        report(0.05 + 0.9 * chunk / n_chunks,
               f"Simulating leads {first + 1:,}-{min(first + CHUNK_LEADS, leads):,} of {leads:,}")
        frames = _simulate_chunk(world, chunk, first, min(first + CHUNK_LEADS, leads))
        _insert_chunk(con, world, frames, next_ids)
    report(1.0, f"Demo data ready: {leads:,} leads")


# --- the shared world -------------------------------------------------------------------------


def _plan_world(n_leads: int, seed: int, as_of: dt.datetime) -> _World:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    start_date = _two_years_before(as_of.date())
    epoch = dt.datetime(1970, 1, 1)
    start_s = int((dt.datetime.combine(start_date, dt.time()) - epoch).total_seconds())
    as_of_s = math.floor((as_of - epoch).total_seconds())
    span = as_of_s - start_s
    n_days = math.ceil(span / _DAY)
    last_day_fraction = (span - (n_days - 1) * _DAY) / _DAY

    dates = np.datetime64(start_date, "D") + np.arange(n_days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    day_of_month = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    years = np.arange(n_days) / 365.25
    weight = _MONTH_FACTOR[month] * _WEEKDAY_FACTOR[weekday] * _YEARLY_GROWTH**years
    weight[(month == 11) & (day_of_month >= 20)] *= 0.45  # the holidays
    weight[(month == 0) & (day_of_month <= 2)] *= 0.5
    weight *= np.exp(0.08 * rng.standard_normal(n_days))  # day-to-day noise
    weight[-1] *= last_day_fraction
    day_p = weight / weight.sum()
    cum_day_counts = np.cumsum(rng.multinomial(n_leads, day_p))

    # Channel mix drifts: events and webinars are seasonal, paid/social/outbound grow.
    mix = np.tile(_SHARE, (n_days, 1))
    mix[:, EVENTS] *= _EVENT_SEASON[month]
    mix[:, WEBINARS] *= _WEBINAR_SEASON[month]
    mix[:, PAID] *= 1 + 0.25 * years
    mix[:, SOCIAL] *= 1 + 0.3 * years
    mix[:, OUTBOUND] *= 1 + 0.15 * years
    mix /= mix.sum(axis=1, keepdims=True)
    channel_cum = np.cumsum(mix, axis=1)

    campaign_frame, campaign_lookup = _plan_campaigns(rng, n_leads, n_days, start_date,
                                                       day_p, mix)
    rep_frame, sales_lookup, marketing_reps, speed = _plan_reps(rng, n_leads)
    return _World(
        n_leads=n_leads, seed=seed, start_s=start_s, as_of_s=as_of_s, n_days=n_days,
        last_day_fraction=last_day_fraction, cum_day_counts=cum_day_counts,
        channel_cum=channel_cum, campaign_lookup=campaign_lookup,
        campaign_frame=campaign_frame, sales_lookup=sales_lookup,
        marketing_reps=marketing_reps, rep_speed_hours=speed, rep_frame=rep_frame,
        lead_width=max(8, len(str(n_leads))),
        # An upper bound on events/touches per lead keeps id widths fixed before generating.
        row_width=max(9, len(str(max(n_leads, 1) * 32))),
    )


def _two_years_before(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 2)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 2, day=28)


def _plan_campaigns(
    rng: np.random.Generator, n_leads: int, n_days: int, start_date: dt.date,
    day_p: np.ndarray, mix: np.ndarray,
) -> tuple[pd.DataFrame, _Lookup]:
    """A few dozen campaigns (more for bigger demos), each costed from the leads it will bring."""
    total = int(np.clip(round(30 + 18 * math.log10(max(n_leads, 1000) / 1000)), 30, 150))
    per_channel = np.maximum(np.round(_CAMPAIGN_SHARE * total).astype(np.int64),
                             1 + _ALWAYS_ON.astype(np.int64))
    channel = np.repeat(np.arange(len(CHANNELS)), per_channel)
    n = len(channel)
    # The first campaign of an always-on channel runs the whole window and beyond.
    first_of_channel = np.concatenate([[True], channel[1:] != channel[:-1]])
    always_on = first_of_channel & _ALWAYS_ON[channel]
    lo, hi = _CAMPAIGN_DAYS[channel, 0], _CAMPAIGN_DAYS[channel, 1]
    duration = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    start = rng.integers(-30, max(n_days - 5, 1), n)
    start = np.where(always_on, -rng.integers(30, 400, n), start)
    end = start + duration - 1
    ongoing = always_on | (end >= n_days - 1)
    weight = np.where(always_on, 1.0, 1.5 * np.exp(0.5 * rng.standard_normal(n)))

    # Which campaign days a lead created that day may be attributed to.
    day = np.arange(n_days)
    attrib_end = np.where(ongoing, n_days - 1, end + _CAMPAIGN_LAG[channel])
    active = (day[None, :] >= start[:, None]) & (day[None, :] <= attrib_end[:, None])
    camp_idx, camp_day = np.nonzero(active)
    lookup = _Lookup.build(channel[camp_idx] * n_days + camp_day, camp_idx,
                           weight[camp_idx], len(CHANNELS) * n_days)

    # Cost = expected attributed leads x cost per lead x noise, so spend scales with the demo
    # and pipeline-to-spend stays realistic at any size.
    expected = n_leads * day_p[camp_day] * mix[camp_day, channel[camp_idx]]
    expected *= _CAMPAIGN[channel[camp_idx]]
    share = weight[camp_idx] / lookup.totals[channel[camp_idx] * n_days + camp_day]
    leads_per_campaign = np.bincount(camp_idx, weights=expected * share, minlength=n)
    # Marketing touches later in the journey also use campaigns; price them in modestly.
    cost = (leads_per_campaign * 1.15 + 20) * _CPL[channel] * np.exp(0.25 * rng.standard_normal(n))
    cost = np.round(cost, -1)

    theme = np.zeros(n, dtype=object)
    for c, themes in _CAMPAIGN_THEMES.items():  # loop over 9 channels, not rows
        rows = channel == c
        theme[rows] = np.asarray(themes, dtype=object)[rng.integers(0, len(themes), rows.sum())]
    start_day = np.datetime64(start_date, "D") + start
    label = pd.Series(np.asarray(_CHANNEL_LABEL, dtype=object)[channel])
    when = pd.Series(np.datetime_as_string(start_day.astype("datetime64[M]")))
    name = label + ": " + pd.Series(theme) + " " + when
    name = name.where(~always_on, label + ": Always-on " + pd.Series(theme).str.lower())
    dup = name.groupby(name).cumcount()
    name = name.where(dup == 0, name + " #" + (dup + 1).astype(str))
    start_epoch_day = (np.datetime64(start_date, "D") - np.datetime64("1970-01-01", "D"))
    start_epoch_day = int(start_epoch_day.astype(np.int64))
    frame = pd.DataFrame({
        "num": np.arange(1, n + 1),
        "name": name.astype(object),
        "channel": pd.Categorical.from_codes(channel, CHANNELS),
        "cost": cost,
        # Costs above are for the days inside the demo window, so spend starts there too;
        # otherwise always-on campaigns would spread their cost over months with no leads.
        "started_on": np.maximum(start, 0) + start_epoch_day,
        "ended_on": pd.array(np.where(ongoing, 0, end + start_epoch_day), dtype="Int64"),
    })
    frame.loc[ongoing, "ended_on"] = pd.NA
    return frame, lookup


def _plan_reps(rng: np.random.Generator,
               n_leads: int) -> tuple[pd.DataFrame, _Lookup, np.ndarray, np.ndarray]:
    """20-60 reps; sales reps own leads in their region, each with a habitual follow-up speed."""
    n = int(np.clip(round(20 + 8 * math.log10(max(n_leads, 1000) / 1000)), 20, 60))
    n_marketing = max(3, round(0.2 * n))
    n_sales = n - n_marketing
    # Every region gets at least one sales rep, the rest follows lead volume.
    per_region = 1 + np.floor(_REGION_MIX * (n_sales - len(REGIONS))).astype(np.int64)
    per_region[0] += n_sales - per_region.sum()
    region = np.concatenate([np.repeat(np.arange(len(REGIONS)), per_region),
                             rng.choice(len(REGIONS), n_marketing, p=_REGION_MIX)])
    team = np.concatenate([np.ones(n_sales, np.int64), np.zeros(n_marketing, np.int64)])
    speed_class = rng.choice(3, n, p=_REP_SPEED_MIX)
    lo, hi = _REP_SPEED_HOURS[speed_class, 0], _REP_SPEED_HOURS[speed_class, 1]
    speed = lo + rng.random(n) * (hi - lo)
    workload = np.exp(0.35 * rng.standard_normal(n))
    combo = rng.choice(len(_FIRST_NAMES) * len(_LAST_NAMES), n, replace=False)
    first = np.asarray(_FIRST_NAMES, dtype=object)[combo // len(_LAST_NAMES)]
    last = np.asarray(_LAST_NAMES, dtype=object)[combo % len(_LAST_NAMES)]
    frame = pd.DataFrame({
        "num": np.arange(1, n + 1),
        "name": (pd.Series(first) + " " + pd.Series(last)).astype(object),
        "team": pd.Categorical.from_codes(team, TEAMS),
        "region": pd.Categorical.from_codes(region, REGIONS),
    })
    sales = np.arange(n_sales)
    lookup = _Lookup.build(region[sales], sales, workload[sales], len(REGIONS))
    return frame, lookup, np.arange(n_sales, n), speed


# --- one chunk of leads -----------------------------------------------------------------------


def _simulate_chunk(world: _World, chunk: int, first: int, stop: int) -> dict[str, pd.DataFrame]:
    """Leads first..stop-1 (global, 0-based) with their events, touches and opportunities."""
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, 1, chunk]))
    n = stop - first

    def rand() -> np.ndarray:
        return rng.random(n)

    def lognormal(median: np.ndarray | float, sigma: float) -> np.ndarray:
        return median * np.exp(sigma * rng.standard_normal(n))

    # Who and when. Leads are numbered in creation order (days are allotted globally).
    day = np.searchsorted(world.cum_day_counts, np.arange(first, stop), side="right")
    region = _choose(rand(), np.cumsum(_REGION_MIX)[None, :], np.zeros(n, np.int64))
    channel = _choose(rand(), world.channel_cum, day)
    local_hour = np.where(rand() < 0.75, np.clip(13 + 3 * rng.standard_normal(n), 0, 23.99),
                          24 * rand())
    hour = np.mod(local_hour - _REGION_UTC_OFFSET_H[region], 24)
    hour = np.where(day == world.n_days - 1, hour * world.last_day_fraction, hour)
    created = world.start_s + day * _DAY + hour * 3600
    order = np.argsort(created, kind="stable")
    day, region, channel, created = day[order], region[order], channel[order], created[order]
    created = np.floor(created)

    segment = _choose(rand(), np.cumsum(_SEGMENT_MIX, axis=1), channel)
    segment = np.where(rand() < _NULL_SEGMENT_SHARE, -1, segment)
    seg = np.where(segment < 0, 3, segment)  # row of the per-segment tables
    industry = _choose(rand(), np.cumsum(_INDUSTRY_MIX)[None, :], np.zeros(n, np.int64))
    # Intent: how ready the buyer really is, which nobody observes. The lead score is a noisy
    # reading of it (correlation about 0.6), engagement follows it, and so does every later
    # stage: the score predicts conversion, imperfectly, as a real scoring model does.
    intent = rng.standard_normal(n)
    concentration = 8.0
    score_mean = np.clip(_SCORE[channel] + 0.05 * (segment == ENTERPRISE) + _INTENT_SCORE * intent,
                         0.05, 0.95)
    score = np.round(100 * rng.beta(score_mean * concentration, (1 - score_mean) * concentration))
    # Mean 1 over leads, so the channel and segment rates of the tables stay the averages.
    intent_lift = np.exp(_INTENT_LIFT * intent - _INTENT_LIFT ** 2 / 2)
    sourced = np.select([channel == PARTNER, channel == OUTBOUND], [2, 1], 0)
    noise = rand()
    sourced = np.where((sourced == 0) & (noise < 0.015), 1, sourced)  # SDR-logged inbound
    sourced = np.where((sourced == 0) & (noise > 0.995), 2, sourced)  # partner-registered deal
    wants_campaign = rand() < _CAMPAIGN[channel]
    campaign = world.campaign_lookup.pick(channel * world.n_days + day, rand())
    campaign = np.where(wants_campaign, campaign, -1)
    owner = world.sales_lookup.pick(region, rand())
    speed = world.rep_speed_hours[owner]

    # Entry into the funnel. Marketing's automation passes leads once their score crosses the
    # threshold of sql/metrics/mql_rule.sql (a soft step: scores are updated in batches and
    # some are overridden), and demo requests pass whatever the score; scaled per channel so
    # each channel keeps its qualification rate.
    hand_raise = rand() < 0.12 * intent_lift  # demo requests (MQL within the hour), by buyers
    step = 1.0 / (1.0 + np.exp(-(score - _MQL_THRESHOLD) / 3.0))
    raw = np.where(hand_raise, 0.8, 0.03 + 0.85 * step)
    mean_raw = (np.bincount(channel, weights=raw, minlength=len(CHANNELS))
                / np.maximum(np.bincount(channel, minlength=len(CHANNELS)), 1))
    qualifies = rand() < np.clip(_QUALIFY[channel] * raw / mean_raw[channel], 0, 0.97)
    # Sales- and partner-sourced leads often skip marketing qualification.
    direct = (channel == OUTBOUND) | (channel == PARTNER)
    entry_draw = rand()
    entry = np.where(qualifies, MQL, LEAD)
    entry = np.where(qualifies & direct & (entry_draw < np.where(channel == OUTBOUND, 0.50, 0.35)),
                     SAL, entry)
    entry = np.where(qualifies & direct & (entry_draw > np.where(channel == OUTBOUND, 0.80, 0.85)),
                     SQL, entry)
    is_mql = entry == MQL
    t_mql = created + np.where(hand_raise, 7200 * rand(), lognormal(_MQL_DAYS[channel], 1.1) * _DAY)
    t_entry = created + lognormal(np.where(entry == SAL, 6.0, 12.0), 0.8) * _DAY

    # Triage of the MQL by the owning rep: first touch (SLA), then accept or reject.
    enterprise_boost = np.where(segment == ENTERPRISE, 0.6, 1.0)  # named-rep follow-up
    untouched = rand() < np.select([speed < 2.5, speed < 6.5], [0.03, 0.05], 0.09)
    off_hours = rand() < 0.1  # evenings/weekends: measured from the MQL in wall-clock hours
    delay_bh = lognormal(speed * enterprise_boost, 0.8)
    t_ft = np.where(off_hours, t_mql + lognormal(1.5, 0.7) * 3600, t_mql)
    office = is_mql & ~off_hours  # only MQLs need the (costlier) business-hour arithmetic
    t_ft[office] = _add_business_hours(t_mql[office], delay_bh[office])
    accept_p = np.clip(_ACCEPT[channel] * _SEG_ACCEPT[seg] * (0.85 + 0.3 * score / 100)
                       * np.sqrt(intent_lift), 0, 0.95)
    outcome_draw = rand()
    stuck = np.where(untouched, outcome_draw < 0.55, outcome_draw < 0.03)
    accepted = is_mql & ~untouched & ~stuck & (rand() < accept_p)
    rejected = is_mql & ~stuck & ~accepted
    disqualify = rand() < _DISQUALIFY_SHARE[channel]
    t_decision = np.where(untouched, t_mql + lognormal(5.0, 0.6) * _DAY,
                          t_ft + lognormal(18.0, 1.0) * 3600)
    dq_reason = _choose(rand(), np.cumsum(_DISQUALIFY_MIX, axis=1), channel)
    rec_reason = _RECYCLE_CODES[_choose(rand(), np.cumsum(_RECYCLE_MIX)[None, :],
                                        np.zeros(n, np.int64))]
    recycled = rejected & ~disqualify
    skip_sal = accepted & (rand() < 0.06)  # reps who jump straight to SQL

    # Some recycled leads re-engage and become MQLs again; their cohort stays the first MQL.
    returns = recycled & (rand() < 0.35)
    t_mql2 = t_decision + lognormal(70.0, 0.5) * _DAY
    touched2 = rand() < 0.9
    t_ft2 = t_mql2.copy()
    t_ft2[returns] = _add_business_hours(t_mql2[returns], lognormal(speed, 0.8)[returns])
    t_decision2 = t_ft2 + lognormal(24.0, 1.0) * 3600
    outcome2 = rand()
    accepted2 = returns & touched2 & (outcome2 < 0.55)
    disqualified2 = returns & touched2 & (outcome2 >= 0.55) & (outcome2 < 0.8)

    # Pipeline: SAL -> SQL -> opportunity -> won/lost, slower and bigger up-market.
    has_sal = (entry == SAL) | (accepted & ~skip_sal) | accepted2
    t_sal = np.select([entry == SAL, accepted], [t_entry, t_decision], t_decision2)
    to_sql = has_sal & (rand() < np.clip(_SAL_SQL[channel] * (1.0 - 0.05 * (segment == ENTERPRISE))
                                         * _relative(intent_lift, has_sal), 0, 0.95))
    t_sql = np.select([entry == SQL, skip_sal], [t_entry, t_decision],
                      t_sal + lognormal(_SEG_SAL_SQL_DAYS[seg], 0.8) * _DAY)
    has_sql = to_sql | (entry == SQL) | skip_sal
    has_opp = has_sql & (rand() < np.clip(_SQL_OPP[channel] * _relative(intent_lift, has_sql),
                                          0, 0.95))
    t_opp = t_sql + lognormal(_SEG_SQL_OPP_DAYS[seg], 0.7) * _DAY
    won = has_opp & (rand() < np.clip(_WIN[channel] * _SEG_WIN[seg] * _INDUSTRY_WIN[industry]
                                      * _relative(intent_lift, has_opp), 0, 0.9))
    t_close = t_opp + lognormal(_SEG_CYCLE_DAYS[seg], 0.55) * np.where(won, 1.0, 1.15) * _DAY
    lost_reason = _LOST_CODES[_choose(rand(), np.cumsum(_LOST_MIX)[None, :],
                                      np.zeros(n, np.int64))]
    amount = np.round(lognormal(_SEG_AMOUNT[seg], 0.45), -2)
    # Leads that stall after acceptance are sometimes closed out as disqualified.
    stall_dq_draw = rand()
    late_dq = (has_sal & ~has_sql & (stall_dq_draw < 0.3)) | (has_sql & ~has_opp &
                                                              (stall_dq_draw < 0.25))
    t_late_dq = np.where(has_sql, t_sql, t_sal) + lognormal(25.0, 0.6) * _DAY

    lead_actor = np.where(sourced == 1, owner, -1)
    events = _Rows(world.as_of_s)
    events.add(np.ones(n, bool), created, LEAD, lead_actor)
    events.add(is_mql, t_mql, MQL)
    events.add(accepted & ~skip_sal, t_decision, SAL, owner)
    events.add(rejected & disqualify, t_decision, DISQUALIFIED, owner, dq_reason)
    events.add(recycled, t_decision, RECYCLED, owner, rec_reason)
    events.add(returns, t_mql2, MQL)
    events.add(accepted2, t_decision2, SAL, owner)
    events.add(disqualified2, t_decision2, DISQUALIFIED, owner, dq_reason)
    events.add(entry == SAL, t_entry, SAL, owner)
    events.add(has_sql, t_sql, SQL, owner)
    events.add(has_opp, t_opp, OPPORTUNITY, owner)
    events.add(won, t_close, WON, owner)
    events.add(has_opp & ~won, t_close, LOST, owner, lost_reason)
    events.add(late_dq, t_late_dq, DISQUALIFIED, owner, dq_reason)

    # Marketing touches: the creation touch, 0-5 more before the MQL, a few after (nurture).
    mkt = _Rows(world.as_of_s)
    creation_kind = _CREATION_KIND[channel]
    field_rep = world.marketing_reps[rng.integers(0, len(world.marketing_reps), n)]
    in_person = (creation_kind == EVENT_VISIT) | (creation_kind == WEBINAR)
    mkt.add(channel != OUTBOUND, created, creation_kind, np.where(in_person, field_rep, -1),
            campaign=campaign)
    # Engaged buyers open, click and attend more: behaviour that really lifts conversion.
    engagement = np.clip(0.1 * intent, -0.25, 0.3)
    mkt.spread(rng, np.where(is_mql, rng.binomial(5, 0.45 + engagement), 0), created, t_mql)
    mkt.spread(rng, np.where(is_mql, rng.binomial(3, 0.4, n), 0), t_mql, t_mql + 150 * _DAY)
    mkt.spread(rng, np.where(is_mql, 0, rng.binomial(3, 0.35 + engagement)), created,
               created + 120 * _DAY)
    mkt_columns = mkt.columns()
    touch_lead, touch_t, touch_kind, touch_actor, touch_campaign = mkt_columns
    nurture = touch_kind < 0  # spread() leaves kind/campaign to be chosen here, all at once
    m = int(nurture.sum())
    nurture_channel = _NURTURE_CHANNELS[_choose(rng.random(m), np.cumsum(_NURTURE_MIX)[None, :],
                                                np.zeros(m, np.int64))]
    touch_kind[nurture] = _CREATION_KIND[nurture_channel]
    nurture_day = np.minimum((touch_t[nurture] - world.start_s) // _DAY, world.n_days - 1)
    nurture_day = nurture_day.astype(np.int64)
    pick = world.campaign_lookup.pick(nurture_channel * world.n_days + nurture_day, rng.random(m))
    touch_campaign[nurture] = np.where(nurture_channel == ORGANIC, -1, pick)
    nurture_in_person = (touch_kind[nurture] == EVENT_VISIT) | (touch_kind[nurture] == WEBINAR)
    touch_actor[nurture] = np.where(
        nurture_in_person, world.marketing_reps[rng.integers(0, len(world.marketing_reps), m)], -1)

    # Sales touches: the SLA-relevant first touch, then working-hours follow-ups by the owner.
    sales = _Rows(world.as_of_s)
    first_kind = _choose(rand(), np.array([[0.55, 0.95, 1.0]]), np.zeros(n, np.int64)) + CALL
    sales.add(is_mql & ~untouched, t_ft, first_kind, owner)
    sales.add(returns & touched2, t_ft2, first_kind, owner)
    sales.add(channel == OUTBOUND, created, first_kind, owner)  # outbound starts with an SDR
    qualifying_t = np.maximum(created, t_entry - 2 * _DAY * rand())
    sales.add((entry == SAL) | (entry == SQL), qualifying_t, first_kind, owner)
    t_pipe_start = np.where(has_sal, t_sal, t_sql)
    t_pipe_end = np.where(has_opp, t_close, np.where(has_sql, t_sql, t_sal) + 14 * _DAY)
    follow_ups = [
        (is_mql & ~untouched, rng.binomial(2, 0.5, n), t_ft, t_decision + 3 * _DAY, (0.5, 1.0)),
        (channel == OUTBOUND, rng.binomial(4, 0.5, n), created, created + 30 * _DAY, (0.5, 1.0)),
        (has_sal | has_sql, 1 + rng.binomial(3, 0.5, n), t_pipe_start, t_pipe_end, (0.35, 0.7)),
        (has_opp, 2 + rng.binomial(4, 0.5, n), t_opp, t_close, (0.25, 0.55)),
    ]
    for who, count, lo, hi, (p_call, p_email) in follow_ups:  # four kinds of follow-up
        sales.spread(rng, np.where(who, count, 0), lo, hi, actor=owner)
        sales.finish_follow_ups(rng, region, (p_call, p_email))

    opened = has_opp & (np.floor(t_opp) <= world.as_of_s)
    closed = opened & (np.floor(t_close) <= world.as_of_s)
    lead_num = first + np.arange(n) + 1
    leads_frame = pd.DataFrame({
        "num": lead_num,
        "created": created.astype(np.int64),
        "channel": pd.Categorical.from_codes(channel, CHANNELS),
        "campaign": campaign,
        "sourced_by": pd.Categorical.from_codes(sourced, SOURCED_BY),
        "region": pd.Categorical.from_codes(region, REGIONS),
        "segment": pd.Categorical.from_codes(segment, SEGMENTS),
        "industry": pd.Categorical.from_codes(industry, INDUSTRIES),
        "lead_score": score,
        "owner": owner,
    })
    opp_frame = pd.DataFrame({
        "lead": lead_num[opened],
        "created": np.floor(t_opp[opened]).astype(np.int64),
        "closed": pd.array(np.where(closed, np.floor(t_close), 0)[opened].astype(np.int64),
                           dtype="Int64"),
        "amount": amount[opened],
        "status": pd.Categorical.from_codes(np.select([~closed, won], [0, 1], 2)[opened],
                                            ("open", "won", "lost")),
    })
    opp_frame.loc[~closed[opened], "closed"] = pd.NA
    return {
        "leads": leads_frame,
        "events": events.frame(lead_num, STAGES, "stage"),
        "touches": _touch_frame(lead_num, mkt_columns, sales.columns()),
        "opportunities": opp_frame,
    }


def _relative(lift: np.ndarray, among: np.ndarray) -> np.ndarray:
    """`lift` over its mean among the leads that reached a stage: leads that got that far
    already have more intent than average, so without this every later rate would drift above
    the channel tables' values.

    >>> _relative(np.array([1.0, 2.0, 3.0]), np.array([False, True, True])).tolist()
    [0.4, 0.8, 1.2]
    """
    mean = lift[among].mean() if among.any() else 1.0
    return lift / mean


def _choose(u: np.ndarray, cum: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Index drawn from the cumulative distribution cum[row] for each u (loops over columns)."""
    out = np.zeros(len(u), dtype=np.int64)
    for j in range(cum.shape[1] - 1):
        out += u >= cum[row, j]
    return out


class _Rows:
    """Collects event or touch rows (lead, time, code, actor, reason/campaign) as arrays."""

    def __init__(self, as_of_s: int) -> None:
        self.as_of_s = as_of_s
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, mask: np.ndarray, t: np.ndarray, code: int | np.ndarray,
            actor: int | np.ndarray = -1, extra: int | np.ndarray = -1, *,
            campaign: np.ndarray | None = None) -> None:
        """One row per lead in `mask`; rows after as_of are censored (they have not happened)."""
        t = np.floor(t)
        keep = mask & (t <= self.as_of_s)
        lead = np.nonzero(keep)[0]
        columns = [np.broadcast_to(v, keep.shape)[keep].astype(np.int64)
                   for v in (code, actor, extra if campaign is None else campaign)]
        self._append(lead, t[keep], *columns)

    def spread(self, rng: np.random.Generator, count: np.ndarray, lo: np.ndarray,
               hi: np.ndarray, actor: np.ndarray | None = None) -> None:
        """`count` rows per lead at uniform times in [lo, hi]; kind/campaign left as -1."""
        lead = np.repeat(np.arange(len(count)), count)
        t = lo[lead] + rng.random(len(lead)) * (hi[lead] - lo[lead])
        keep = np.floor(t) <= self.as_of_s
        lead, t = lead[keep], np.floor(t[keep])
        minus = np.full(len(lead), -1, dtype=np.int64)
        who = minus.copy() if actor is None else actor[lead].astype(np.int64)
        self._append(lead, t, minus.copy(), who, minus.copy())

    def finish_follow_ups(self, rng: np.random.Generator, region: np.ndarray,
                          kind_cum: tuple[float, float]) -> None:
        """Give the rows of the last spread() a sales kind and a time in working hours."""
        lead, t, kind, actor, extra = self.parts[-1]
        k = len(lead)
        kind = CALL + _choose(rng.random(k), np.array([[*kind_cum, 1.0]]), np.zeros(k, np.int64))
        snapped = _snap_to_working_hours(rng, t, region[lead])
        snapped = np.where(snapped < t, snapped + _DAY, snapped)  # keep the order of the journey
        t = np.maximum(snapped, t)
        keep = t <= self.as_of_s  # snapping may push a touch past as_of: it has not happened
        self.parts[-1] = tuple(col[keep] for col in (lead, t, kind, actor, extra))

    def _append(self, *columns: np.ndarray) -> None:
        self.parts.append(columns)

    def columns(self) -> tuple[np.ndarray, ...]:
        if not self.parts:
            return tuple(np.zeros(0, dtype=np.int64) for _ in range(5))
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(5))

    def frame(self, lead_num: np.ndarray, codes: tuple[str, ...], code_name: str) -> pd.DataFrame:
        """Rows sorted by lead then time (ids follow that order)."""
        lead, t, code, actor, extra = self.columns()
        order = _journey_order(lead, t, code)
        return pd.DataFrame({
            "lead": lead_num[lead[order]],
            "t": t[order].astype(np.int64),
            code_name: pd.Categorical.from_codes(code[order], codes),
            "actor": actor[order],
            "reason": pd.Categorical.from_codes(extra[order], REASONS),
        })


def _touch_frame(lead_num: np.ndarray, mkt: tuple[np.ndarray, ...],
                 sales: tuple[np.ndarray, ...]) -> pd.DataFrame:
    """Marketing and sales touches in one frame, sorted by lead then time."""
    m_lead, m_t, m_kind, m_actor, m_campaign = mkt
    s_lead, s_t, s_kind, s_actor, _ = sales
    lead = np.concatenate([m_lead, s_lead])
    t = np.concatenate([m_t, s_t])
    kind = np.concatenate([m_kind, s_kind])
    team = np.concatenate([np.zeros(len(m_lead), np.int64), np.ones(len(s_lead), np.int64)])
    order = _journey_order(lead, t, kind)
    return pd.DataFrame({
        "lead": lead_num[lead[order]],
        "t": t[order].astype(np.int64),
        "team": pd.Categorical.from_codes(team[order], TEAMS),
        "kind": pd.Categorical.from_codes(kind[order], TOUCH_KINDS),
        "campaign": np.concatenate([m_campaign, np.full(len(s_lead), -1, np.int64)])[order],
        "actor": np.concatenate([m_actor, s_actor])[order],
    })


def _journey_order(lead: np.ndarray, t: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Order by (lead, time, code) via one packed int64 key: much faster than a 3-key lexsort."""
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    since = (t - t.min()).astype(np.int64)
    t_bits = int(since.max()).bit_length()
    assert int(lead.max()).bit_length() + t_bits + 4 < 63 and int(code.max()) < 16
    key = (lead.astype(np.int64) << (t_bits + 4)) | (since << 4) | code
    return np.argsort(key, kind="stable")


def _snap_to_working_hours(rng: np.random.Generator, t: np.ndarray,
                           region: np.ndarray) -> np.ndarray:
    """Move times to a weekday daytime hour of the region, mostly; some stay after hours."""
    n = len(t)
    offset = _REGION_UTC_OFFSET_H[region] * 3600
    day = np.floor((t + offset) / _DAY)
    weekday = (day.astype(np.int64) + 3) % 7
    to_monday = (weekday >= 5) & (rng.random(n) < 0.85)
    day = day + np.where(to_monday, 7 - weekday, 0)
    hour = np.where(rng.random(n) < 0.9, 8.5 + 9.5 * rng.random(n), 24 * rng.random(n))
    return np.floor(day * _DAY + hour * 3600 - offset)


def _add_business_hours(t: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """UTC epoch seconds plus `hours` business hours (Mon-Fri 09:00-17:00 New York).

    >>> import numpy as np  # Friday 2024-03-01 16:00 EST + 2 business hours -> Monday 10:00
    >>> t = np.array([1709326800.0]); int(_add_business_hours(t, np.array([2.0]))[0])
    1709564400
    """
    local = _ny_wall(np.floor(t).astype(np.int64))
    day = local // 86_400
    second = local - day * 86_400
    d = day.astype("datetime64[D]")
    open_now = np.is_busday(d) & (second < _CLOSE_S)
    start_day = np.where(open_now, d, np.busday_offset(d, 1, roll="backward"))
    used = np.where(open_now, np.maximum(second - _OPEN_S, 0), 0)
    total = used + hours * 3600
    whole_days = np.floor(total / (_CLOSE_S - _OPEN_S)).astype(np.int64)
    rest = total - whole_days * (_CLOSE_S - _OPEN_S)
    # Landing exactly on a day boundary means that day's close, not the next opening.
    boundary = (rest == 0) & (whole_days > 0)
    whole_days = np.where(boundary, whole_days - 1, whole_days)
    rest = np.where(boundary, _CLOSE_S - _OPEN_S, rest)
    end_day = np.busday_offset(start_day, whole_days)
    end_local = end_day.astype(np.int64) * 86_400 + _OPEN_S + np.floor(rest).astype(np.int64)
    return np.maximum(_ny_to_utc(end_local), np.floor(t)).astype(float)


def _ny_wall(t: np.ndarray) -> np.ndarray:
    utc = pd.DatetimeIndex(t.astype("datetime64[s]")).tz_localize("UTC")
    return utc.tz_convert(_NY).tz_localize(None).as_unit("s").asi8


def _ny_to_utc(local: np.ndarray) -> np.ndarray:
    # Only 09:00-17:00 wall times arrive here, so DST gaps and overlaps cannot occur.
    wall = pd.DatetimeIndex(local.astype("datetime64[s]")).tz_localize(_NY)
    return wall.tz_convert("UTC").tz_localize(None).as_unit("s").asi8


# --- inserting --------------------------------------------------------------------------------


def _id(prefix: str, column: str, width: int) -> str:
    return f"'{prefix}' || lpad(CAST({column} AS VARCHAR), {width}, '0')"


def _maybe_id(prefix: str, column: str, width: int) -> str:
    """Id of a 0-based index column; -1 means none (NULL)."""
    return f"CASE WHEN {column} < 0 THEN NULL ELSE {_id(prefix, column + ' + 1', width)} END"


_CAMPAIGN_SQL = f"""
INSERT INTO campaigns (campaign_id, name, channel, cost, started_on, ended_on)
SELECT {_id('C', 'num', 3)}, name, CAST(channel AS VARCHAR), cost,
       DATE '1970-01-01' + CAST(started_on AS INTEGER),
       DATE '1970-01-01' + CAST(ended_on AS INTEGER)
FROM {{frame}} ORDER BY num
"""
_REP_SQL = f"""
INSERT INTO reps (rep_id, name, team, region)
SELECT {_id('R', 'num', 3)}, name, CAST(team AS VARCHAR), CAST(region AS VARCHAR)
FROM {{frame}} ORDER BY num
"""


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, sql: str) -> None:
    name = f"_demo_{table}"
    con.register(name, frame)
    try:
        con.execute(sql.format(frame=name))
    finally:
        con.unregister(name)


def _number(frame: pd.DataFrame, next_ids: dict[str, int], key: str) -> None:
    """Sequential ids continuing over chunks, assigned here so they never depend on scan order."""
    frame["num"] = next_ids[key] + np.arange(1, len(frame) + 1)
    next_ids[key] += len(frame)


def _insert_chunk(con: duckdb.DuckDBPyConnection, world: _World,
                  frames: dict[str, pd.DataFrame], next_ids: dict[str, int]) -> None:
    """Insert one chunk's frames, formatting ids and timestamps in SQL."""
    lw, rw = world.lead_width, world.row_width
    _insert(con, "leads", frames["leads"], f"""
        INSERT INTO leads (lead_id, created_at, source_channel, campaign_id, sourced_by, region,
                           segment, industry, lead_score, owner_id)
        SELECT {_id('L', 'num', lw)}, make_timestamp(created * 1000000),
               CAST(channel AS VARCHAR), {_maybe_id('C', 'campaign', 3)},
               CAST(CAST(sourced_by AS VARCHAR) AS sourced_by_kind), CAST(region AS VARCHAR),
               CAST(segment AS VARCHAR), CAST(industry AS VARCHAR), lead_score,
               {_maybe_id('R', 'owner', 3)}
        FROM {{frame}}""")
    _number(frames["events"], next_ids, "event")
    _insert(con, "lead_events", frames["events"], f"""
        INSERT INTO lead_events (event_id, lead_id, stage, occurred_at, actor_id, reason)
        SELECT {_id('E', 'num', rw)}, {_id('L', 'lead', lw)},
               CAST(CAST(stage AS VARCHAR) AS stage_name), make_timestamp(t * 1000000),
               {_maybe_id('R', 'actor', 3)}, CAST(reason AS VARCHAR)
        FROM {{frame}}""")
    _number(frames["touches"], next_ids, "touch")
    _insert(con, "touches", frames["touches"], f"""
        INSERT INTO touches (touch_id, lead_id, occurred_at, team, kind, campaign_id, actor_id)
        SELECT {_id('T', 'num', rw)}, {_id('L', 'lead', lw)},
               make_timestamp(t * 1000000), CAST(CAST(team AS VARCHAR) AS team_name),
               CAST(kind AS VARCHAR), {_maybe_id('C', 'campaign', 3)},
               {_maybe_id('R', 'actor', 3)}
        FROM {{frame}}""")
    _number(frames["opportunities"], next_ids, "opportunity")
    _insert(con, "opportunities", frames["opportunities"], f"""
        INSERT INTO opportunities (opportunity_id, lead_id, created_at, closed_at, amount, status)
        SELECT {_id('O', 'num', lw)}, {_id('L', 'lead', lw)},
               make_timestamp(created * 1000000), make_timestamp(closed * 1000000), amount,
               CAST(CAST(status AS VARCHAR) AS opportunity_status)
        FROM {{frame}}""")
