-- A digest of each stored summary's and event's payload, so that an id arriving again with a
-- different payload (not a redelivery: a second stream under the same id) goes to the dead
-- letters with its reason instead of being dropped as a duplicate. NULL for rows stored before.
ALTER TABLE summaries ADD COLUMN digest TEXT;
ALTER TABLE events ADD COLUMN digest TEXT;
