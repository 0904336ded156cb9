-- Each heat window's WBGT mean and max as columns, with a covering index, so the area trend
-- over 1,000 sensors reads the index instead of parsing every window's JSON (bench/heat_api.py).
ALTER TABLE summaries ADD COLUMN wbgt_mean DOUBLE PRECISION;
ALTER TABLE summaries ADD COLUMN wbgt_max DOUBLE PRECISION;
UPDATE summaries SET wbgt_mean = ("values"::jsonb #>> '{wbgt_c,mean}')::double precision,
    wbgt_max = ("values"::jsonb #>> '{wbgt_c,max}')::double precision WHERE kind = 'heat';
CREATE INDEX summaries_kind_end_wbgt ON summaries (kind, "end", wbgt_mean, wbgt_max);
