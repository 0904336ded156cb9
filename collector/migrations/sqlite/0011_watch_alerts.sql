-- The alert engine's state (collector/watch/engine.py) and the notification queue
-- (collector/watch/notify.py). One alert per subject and cause while it is not resolved (the
-- partial unique index), silences with an end, escalation policies as data, the events already
-- consumed (so a restart neither skips nor repeats one), and one row per notification target
-- with its delivery status.
CREATE TABLE watch_alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    cause TEXT NOT NULL,
    severity INTEGER NOT NULL,
    state TEXT NOT NULL,
    muted TEXT,
    opened_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    last_event_at REAL NOT NULL,
    events INTEGER NOT NULL,
    step INTEGER NOT NULL,
    next_at REAL,
    asked_at REAL,
    gw TEXT,
    device TEXT,
    acked_by TEXT,
    acked_at REAL,
    resolved_at REAL,
    note TEXT
);
CREATE UNIQUE INDEX watch_alerts_active ON watch_alerts (subject, cause) WHERE state <> 'resolved';
CREATE INDEX watch_alerts_state ON watch_alerts (state);
CREATE TABLE watch_alert_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert INTEGER NOT NULL,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT
);
CREATE INDEX watch_alert_log_alert ON watch_alert_log (alert, ts);
CREATE TABLE watch_silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    cause TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    notice_sent INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE watch_policies (
    severity INTEGER PRIMARY KEY,
    steps TEXT NOT NULL,
    renotify_s REAL NOT NULL,
    ask_s REAL NOT NULL
);
CREATE TABLE watch_processed (
    id TEXT PRIMARY KEY,
    received_at REAL NOT NULL
);
CREATE INDEX watch_processed_received ON watch_processed (received_at);
CREATE TABLE watch_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert INTEGER,
    silence INTEGER,
    responder INTEGER,
    person TEXT,
    channel TEXT NOT NULL,
    template TEXT NOT NULL,
    tier INTEGER,
    idem_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT,
    provider_id TEXT,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX watch_notifications_due ON watch_notifications (state, next_try);
CREATE INDEX watch_notifications_alert ON watch_notifications (alert);
