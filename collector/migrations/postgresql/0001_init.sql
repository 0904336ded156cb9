-- The first schema: summaries and events keyed by their globally unique id (idempotent ingest),
-- the latest state per device, gateways, and dead letters for payloads that break the contract.
CREATE TABLE summaries (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    device TEXT NOT NULL,
    start DOUBLE PRECISION NOT NULL,
    "end" DOUBLE PRECISION NOT NULL,
    n INTEGER NOT NULL,
    "values" TEXT NOT NULL,
    wbgt_level INTEGER,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX summaries_device_end ON summaries (device, "end");
CREATE INDEX summaries_kind_end ON summaries (kind, "end");

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    device TEXT NOT NULL,
    ts DOUBLE PRECISION NOT NULL,
    priority INTEGER NOT NULL,
    data TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    gw TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    name TEXT,
    height_m DOUBLE PRECISION,
    latest_end DOUBLE PRECISION NOT NULL,
    latest TEXT NOT NULL,
    wbgt_level INTEGER,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    ts DOUBLE PRECISION,
    version TEXT,
    outbox_depth INTEGER,
    devices INTEGER,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE dead_letters (
    id BIGSERIAL PRIMARY KEY,
    topic TEXT NOT NULL,
    payload BYTEA NOT NULL,
    reason TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);
