-- What a gateway's status (schema v2) says about its stream and its outbox: the stream epoch,
-- the outbox's size against its bound, its oldest message, what the bound evicted, free disk.
ALTER TABLE gateways ADD COLUMN epoch TEXT;
ALTER TABLE gateways ADD COLUMN outbox_bytes INTEGER;
ALTER TABLE gateways ADD COLUMN outbox_cap_bytes INTEGER;
ALTER TABLE gateways ADD COLUMN outbox_oldest_s REAL;
ALTER TABLE gateways ADD COLUMN outbox_evicted_summaries INTEGER;
ALTER TABLE gateways ADD COLUMN outbox_evicted_events INTEGER;
ALTER TABLE gateways ADD COLUMN disk_free_bytes INTEGER;
