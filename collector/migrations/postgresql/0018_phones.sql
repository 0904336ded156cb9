-- Residents' phones and GPS terminals reporting with OwnTracks (HTTP or MQTT). A phone is known
-- by its OwnTracks user and device; until an admin links it to a person under watch it is
-- "unassigned". An HTTP phone is bound to the first device token that reported for it.
CREATE TABLE phones (
    username TEXT NOT NULL,
    device TEXT NOT NULL,
    person TEXT,
    token_id INTEGER,
    first_seen DOUBLE PRECISION NOT NULL,
    last_seen DOUBLE PRECISION NOT NULL,
    last_tst DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    acc DOUBLE PRECISION,
    batt INTEGER,
    via TEXT NOT NULL,
    max_silence_s DOUBLE PRECISION,
    silent_since DOUBLE PRECISION,
    PRIMARY KEY (username, device)
);
CREATE INDEX phones_person ON phones (person);
-- Every accepted report, once: a redelivered MQTT message or a retried POST is the same row.
CREATE TABLE phone_reports (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    device TEXT NOT NULL,
    type TEXT NOT NULL,
    tst DOUBLE PRECISION NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    acc DOUBLE PRECISION,
    batt INTEGER,
    event TEXT NOT NULL DEFAULT '',
    region TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    UNIQUE (username, device, type, tst, event, region)
);
CREATE INDEX phone_reports_device_tst ON phone_reports (username, device, tst);
-- Places that matter for a person (home, day care): the collector derives enter / leave from
-- each location report, whatever regions the phone itself has.
CREATE TABLE watch_regions (
    id BIGSERIAL PRIMARY KEY,
    person TEXT NOT NULL,
    name TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    radius_m DOUBLE PRECISION NOT NULL,
    UNIQUE (person, name)
);
CREATE TABLE phone_region_state (
    username TEXT NOT NULL,
    device TEXT NOT NULL,
    region_id INTEGER NOT NULL,
    inside INTEGER NOT NULL,
    since DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (username, device, region_id)
);
