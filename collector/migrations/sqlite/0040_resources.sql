-- Local resources (地域資源): the catalogue, photos, needs and ideas, matches, projects and
-- in-app notices. source_row keeps the imported row as text (codes keep their leading zeros)
-- so an export writes the same layout back; (dataset, source_key) makes re-imports update.
CREATE TABLE resources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL DEFAULT '',
    name_en TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    lat REAL,
    lon REAL,
    tags TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'active',
    visibility TEXT NOT NULL DEFAULT 'public',
    review TEXT NOT NULL DEFAULT 'approved',
    owner_id INTEGER,
    owner_name TEXT NOT NULL DEFAULT '',
    contact TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    dataset TEXT,
    source_key TEXT,
    source_file TEXT,
    source_line INTEGER,
    source_row TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX resources_source ON resources (dataset, source_key);
CREATE INDEX resources_category ON resources (category, id);
CREATE INDEX resources_lat ON resources (lat, lon);
-- Search: the normalised text under the trigram tokenizer (queries of 3+ characters), and
-- the same text one character a token (textnorm.spaced) for 1- and 2-character queries.
CREATE VIRTUAL TABLE resources_fts USING fts5 (doc, tokenize = 'trigram');
CREATE VIRTUAL TABLE resources_fts1 USING fts5 (doc, content = '',
    tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE resource_photos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resource_id INTEGER NOT NULL REFERENCES resources (id),
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX resource_photos_resource ON resource_photos (resource_id);
CREATE TABLE resource_posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    poster_type TEXT NOT NULL,
    resource_id INTEGER REFERENCES resources (id),
    author_id INTEGER NOT NULL,
    lat REAL,
    lon REAL,
    review TEXT NOT NULL DEFAULT 'pending',
    created_at REAL NOT NULL
);
CREATE INDEX resource_posts_review ON resource_posts (review, kind);
CREATE TABLE resource_matches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    need_id INTEGER NOT NULL REFERENCES resource_posts (id),
    idea_id INTEGER NOT NULL REFERENCES resource_posts (id),
    score REAL NOT NULL,
    parts TEXT NOT NULL,
    need_answer TEXT NOT NULL DEFAULT '',
    idea_answer TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    UNIQUE (need_id, idea_id)
);
CREATE TABLE resource_projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    match_id INTEGER NOT NULL UNIQUE REFERENCES resource_matches (id),
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'started',
    note TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE notices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    read_at REAL
);
CREATE INDEX notices_user ON notices (user_id, id)
