-- Cool spots and cooling shelters (指定暑熱避難施設, 暑熱避難協力施設, cool spots), the Ministry
-- of the Environment's alerts (熱中症警戒アラート / 特別警戒アラート) per forecast area and day,
-- its WBGT forecasts per observation point, operators' tasks, and the town's settings for
-- them (one row: its prefecture, forecast area and forecast point). hours: JSON
-- {"mon": [["08:30", "17:15"]], ...} in Japan time; amenities: JSON list of strings.
CREATE TABLE coolspots (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    section TEXT NOT NULL DEFAULT '',
    source_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    lat REAL,
    lon REAL,
    capacity INTEGER,
    amenities TEXT NOT NULL,
    hours TEXT NOT NULL,
    hours_known INTEGER NOT NULL,
    note TEXT,
    url TEXT,
    phone TEXT,
    alert_rule TEXT NOT NULL DEFAULT 'hours',
    wbgt_threshold REAL,
    updated_at REAL NOT NULL,
    UNIQUE (source, section, source_id)
);
CREATE TABLE heat_alerts (
    area_code TEXT NOT NULL,
    target_date TEXT NOT NULL,
    area_name TEXT NOT NULL,
    pref_code TEXT NOT NULL,
    pref_name TEXT NOT NULL,
    flag INTEGER NOT NULL,
    max_wbgt TEXT NOT NULL,
    report TEXT NOT NULL,
    imported_at REAL NOT NULL,
    PRIMARY KEY (area_code, target_date)
);
CREATE INDEX heat_alerts_pref ON heat_alerts (pref_code, target_date);
CREATE TABLE wbgt_forecasts (
    point TEXT NOT NULL,
    target REAL NOT NULL,
    wbgt REAL NOT NULL,
    issued TEXT NOT NULL,
    imported_at REAL NOT NULL,
    PRIMARY KEY (point, target)
);
CREATE TABLE coolspot_tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spot TEXT NOT NULL,
    kind TEXT NOT NULL,
    day TEXT NOT NULL,
    message TEXT NOT NULL,
    wbgt REAL,
    threshold REAL,
    created_at REAL NOT NULL,
    done_at REAL,
    done_by TEXT,
    UNIQUE (spot, kind, day)
);
CREATE INDEX coolspot_tasks_open ON coolspot_tasks (done_at, created_at);
CREATE TABLE heat_town (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pref_code TEXT,
    area_code TEXT,
    forecast_point TEXT,
    task_wbgt REAL NOT NULL,
    updated_at REAL NOT NULL
)
