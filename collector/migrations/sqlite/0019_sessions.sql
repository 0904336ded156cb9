-- Server-side sessions: the cookie carries a random id whose hash is here, so signing out,
-- disabling an account, changing its role or resetting its password ends its sessions at once.
CREATE TABLE user_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
