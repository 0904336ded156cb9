-- The first schema: summaries and events keyed by their globally unique id (idempotent ingest),
-- the latest state per device, gateways, and dead letters for payloads that break the contract.
CREATE TABLE summaries (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    device TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    n INTEGER NOT NULL,
    "values" TEXT NOT NULL,
    wbgt_level INTEGER,
    received_at REAL NOT NULL
);
CREATE INDEX summaries_device_end ON summaries (device, "end");
CREATE INDEX summaries_kind_end ON summaries (kind, "end");

CREATE TABLE events (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    device TEXT NOT NULL,
    ts REAL NOT NULL,
    priority INTEGER NOT NULL,
    data TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX events_ts ON events (ts);

CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    gw TEXT NOT NULL,
    lat REAL,
    lon REAL,
    name TEXT,
    height_m REAL,
    latest_end REAL NOT NULL,
    latest TEXT NOT NULL,
    wbgt_level INTEGER,
    updated_at REAL NOT NULL
);

CREATE TABLE gateways (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    ts REAL,
    version TEXT,
    outbox_depth INTEGER,
    devices INTEGER,
    updated_at REAL NOT NULL
);

CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    received_at REAL NOT NULL
);
