-- Users with roles, API tokens for integrations (stored as SHA-256 hashes: a leaked database
-- leaks no usable token), login attempts for rate limiting, and the session signing key
-- (generated once, shared by every web worker).
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_used REAL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    ip TEXT NOT NULL,
    ts REAL NOT NULL,
    ok INTEGER NOT NULL
);
CREATE INDEX login_attempts_user_ts ON login_attempts (username, ts);
CREATE INDEX login_attempts_ip_ts ON login_attempts (ip, ts);
CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
