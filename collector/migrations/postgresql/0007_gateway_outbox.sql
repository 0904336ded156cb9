-- What a gateway's status (schema v2) says about its stream and its outbox: the stream epoch,
-- the outbox's size against its bound, its oldest message, what the bound evicted, free disk.
ALTER TABLE gateways ADD COLUMN epoch TEXT;
ALTER TABLE gateways ADD COLUMN outbox_bytes BIGINT;
ALTER TABLE gateways ADD COLUMN outbox_cap_bytes BIGINT;
ALTER TABLE gateways ADD COLUMN outbox_oldest_s DOUBLE PRECISION;
ALTER TABLE gateways ADD COLUMN outbox_evicted_summaries BIGINT;
ALTER TABLE gateways ADD COLUMN outbox_evicted_events BIGINT;
ALTER TABLE gateways ADD COLUMN disk_free_bytes BIGINT;
