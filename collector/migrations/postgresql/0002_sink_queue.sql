-- Transactional outbox for external sinks (InfluxDB, ...): a stored summary is queued for each
-- enabled sink in the same transaction that stores it, and leaves the queue only once the sink
-- has accepted it. So a sink that is down, or a collector that crashes, loses nothing.
CREATE TABLE sink_queue (
    id BIGSERIAL PRIMARY KEY,
    sink TEXT NOT NULL,
    payload TEXT NOT NULL,
    queued_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX sink_queue_sink_id ON sink_queue (sink, id);
