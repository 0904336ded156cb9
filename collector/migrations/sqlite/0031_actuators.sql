-- Cool-spot actuators (mist / fan relays, docs/actuators.md) and the log of every command sent
-- to one: who or what asked, why, and what the device answered.
CREATE TABLE actuators (
    id TEXT PRIMARY KEY,
    gw TEXT NOT NULL,
    name TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    radius_m REAL NOT NULL,
    on_wbgt REAL NOT NULL,
    off_wbgt REAL NOT NULL,
    min_interval_s REAL NOT NULL,
    hold_s INTEGER NOT NULL,
    auto INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_at REAL,
    wbgt REAL,
    wbgt_at REAL,
    override INTEGER,
    device_rh REAL,
    created_at REAL NOT NULL
);

CREATE TABLE actuator_commands (
    id TEXT PRIMARY KEY,
    actuator TEXT NOT NULL,
    gw TEXT NOT NULL,
    action TEXT NOT NULL,
    hold_s INTEGER NOT NULL,
    source TEXT NOT NULL,
    why TEXT NOT NULL,
    wbgt REAL,
    created_at REAL NOT NULL,
    sent_at REAL,
    result TEXT,
    refusal TEXT,
    ack_on INTEGER,
    acked_at REAL
);
CREATE INDEX actuator_commands_actuator ON actuator_commands (actuator, created_at);
CREATE INDEX actuator_commands_open ON actuator_commands (result, sent_at)
