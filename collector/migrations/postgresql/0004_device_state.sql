-- The newest window's detector state per device (sun or shade, faults, hot spot), for the maps.
ALTER TABLE devices ADD COLUMN state TEXT
