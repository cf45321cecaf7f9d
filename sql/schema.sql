-- Canonical warehouse tables (DESIGN.md section 3). All timestamps are UTC, stored as TIMESTAMP.
-- The type `stage_name` is created from sql/model.toml before this file runs, so the stage
-- list lives in exactly one place.

CREATE TYPE sourced_by_kind AS ENUM ('marketing', 'sales', 'partner');
CREATE TYPE team_name AS ENUM ('marketing', 'sales');
CREATE TYPE opportunity_status AS ENUM ('open', 'won', 'lost');

CREATE TABLE campaigns (
    campaign_id  VARCHAR PRIMARY KEY,
    name         VARCHAR,
    channel      VARCHAR,
    cost         DOUBLE,
    started_on   DATE,
    ended_on     DATE
);

CREATE TABLE reps (
    rep_id  VARCHAR PRIMARY KEY,
    name    VARCHAR,
    team    VARCHAR,
    region  VARCHAR
);

CREATE TABLE leads (
    lead_id         VARCHAR PRIMARY KEY,
    created_at      TIMESTAMP NOT NULL,
    source_channel  VARCHAR,
    campaign_id     VARCHAR,
    sourced_by      sourced_by_kind,
    region          VARCHAR,
    segment         VARCHAR,
    industry        VARCHAR,
    lead_score      DOUBLE,
    owner_id        VARCHAR
);

CREATE TABLE lead_events (
    event_id     VARCHAR PRIMARY KEY,
    lead_id      VARCHAR NOT NULL,
    stage        stage_name NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    actor_id     VARCHAR,
    reason       VARCHAR
);

CREATE TABLE touches (
    touch_id     VARCHAR PRIMARY KEY,
    lead_id      VARCHAR NOT NULL,
    occurred_at  TIMESTAMP NOT NULL,
    team         team_name NOT NULL,
    kind         VARCHAR,
    campaign_id  VARCHAR,
    actor_id     VARCHAR
);

CREATE TABLE opportunities (
    opportunity_id  VARCHAR PRIMARY KEY,
    lead_id         VARCHAR NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    closed_at       TIMESTAMP,
    amount          DOUBLE,
    status          opportunity_status
);
