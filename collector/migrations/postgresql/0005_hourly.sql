-- Down-sampled summaries: one row per device and hour, kept after the raw windows expire
-- (machimori collector retention). values: {quantity: {mean, min, max, last}} over the hour,
-- means weighted by the readings of each window.
CREATE TABLE summaries_hourly (
    device TEXT NOT NULL,
    hour DOUBLE PRECISION NOT NULL,
    kind TEXT NOT NULL,
    gw TEXT NOT NULL,
    windows INTEGER NOT NULL,
    n INTEGER NOT NULL,
    "values" TEXT NOT NULL,
    last_end DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (device, hour)
);
CREATE INDEX summaries_hourly_hour ON summaries_hourly (hour)
