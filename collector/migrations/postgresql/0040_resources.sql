-- Local resources (地域資源): the catalogue, photos, needs and ideas, matches, projects and
-- in-app notices. source_row keeps the imported row as text (codes keep their leading zeros)
-- so an export writes the same layout back; (dataset, source_key) makes re-imports update.
CREATE TABLE resources (
    id BIGSERIAL PRIMARY KEY,
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    name_kana TEXT NOT NULL DEFAULT '',
    name_en TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    area TEXT NOT NULL DEFAULT '',
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
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
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE UNIQUE INDEX resources_source ON resources (dataset, source_key);
CREATE INDEX resources_category ON resources (category, id);
CREATE INDEX resources_lat ON resources (lat, lon);
CREATE TABLE resource_photos (
    id BIGSERIAL PRIMARY KEY,
    resource_id INTEGER NOT NULL REFERENCES resources (id),
    mime TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    data BYTEA NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX resource_photos_resource ON resource_photos (resource_id);
CREATE TABLE resource_posts (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    poster_type TEXT NOT NULL,
    resource_id INTEGER REFERENCES resources (id),
    author_id INTEGER NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    review TEXT NOT NULL DEFAULT 'pending',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX resource_posts_review ON resource_posts (review, kind);
CREATE TABLE resource_matches (
    id BIGSERIAL PRIMARY KEY,
    need_id INTEGER NOT NULL REFERENCES resource_posts (id),
    idea_id INTEGER NOT NULL REFERENCES resource_posts (id),
    score DOUBLE PRECISION NOT NULL,
    parts TEXT NOT NULL,
    need_answer TEXT NOT NULL DEFAULT '',
    idea_answer TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    UNIQUE (need_id, idea_id)
);
CREATE TABLE resource_projects (
    id BIGSERIAL PRIMARY KEY,
    match_id INTEGER NOT NULL UNIQUE REFERENCES resource_matches (id),
    title TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'started',
    note TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE notices (
    id BIGSERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ref_id INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    read_at DOUBLE PRECISION
);
CREATE INDEX notices_user ON notices (user_id, id)
;
-- The search index, on the row itself (a join to a separate table doubled the time of
-- common queries): the normalised text and every character and pair of characters in it
-- (textnorm.index_grams), so 1- and 2-character Japanese queries use the index too (pg_trgm
-- under the C locale ignores non-ASCII characters).
ALTER TABLE resources ADD COLUMN doc TEXT NOT NULL DEFAULT '';
ALTER TABLE resources ADD COLUMN grams TEXT[] NOT NULL DEFAULT '{}';
CREATE INDEX resources_grams ON resources USING gin (grams)
