-- Cool-spot actuators (mist / fan relays, docs/actuators.md) and the log of every command sent
-- to one: who or what asked, why, and what the device answered.
CREATE TABLE actuators (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    name TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    radius_m DOUBLE PRECISION NOT NULL,
    on_wbgt DOUBLE PRECISION NOT NULL,
    off_wbgt DOUBLE PRECISION NOT NULL,
    min_interval_s DOUBLE PRECISION NOT NULL,
    hold_s INTEGER NOT NULL,
    auto INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_at DOUBLE PRECISION,
    wbgt DOUBLE PRECISION,
    wbgt_at DOUBLE PRECISION,
    override INTEGER,
    device_rh DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE actuator_commands (
    id TEXT PRIMARY KEY,
    actuator TEXT NOT NULL,
    gw TEXT NOT NULL,
    action TEXT NOT NULL,
    hold_s INTEGER NOT NULL,
    source TEXT NOT NULL,
    why TEXT NOT NULL,
    wbgt DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL,
    sent_at DOUBLE PRECISION,
    result TEXT,
    refusal TEXT,
    ack_on INTEGER,
    acked_at DOUBLE PRECISION
);
CREATE INDEX actuator_commands_actuator ON actuator_commands (actuator, created_at);
CREATE INDEX actuator_commands_open ON actuator_commands (result, sent_at)
