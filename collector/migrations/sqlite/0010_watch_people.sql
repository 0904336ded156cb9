-- The watch's people (docs/watch.md): persons under watch, households, the devices that stand
-- for them, consent, responders in tiers and who is assigned to whom, and the audit log of
-- every view of personal data. Names, addresses, phone numbers and e-mail addresses are stored
-- only sealed (AES-GCM, key outside the database: collector/watch/crypto.py); *_hash columns
-- are keyed hashes for finding a sender's phone number without decrypting every row.
CREATE TABLE watch_households (
    id TEXT PRIMARY KEY,
    address_enc TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE watch_persons (
    id TEXT PRIMARY KEY,
    household TEXT,
    name_enc TEXT NOT NULL,
    phone_enc TEXT,
    phone_hash TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX watch_persons_phone ON watch_persons (phone_hash);
CREATE INDEX watch_persons_household ON watch_persons (household);
CREATE TABLE watch_links (
    device TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    person TEXT,
    household TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE watch_consents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL,
    given_by TEXT NOT NULL,
    scope TEXT NOT NULL,
    given_at REAL NOT NULL,
    withdrawn_at REAL
);
CREATE TABLE watch_responders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT,
    tier INTEGER NOT NULL,
    org TEXT NOT NULL,
    name_enc TEXT NOT NULL,
    phone_enc TEXT,
    phone_hash TEXT,
    email_enc TEXT,
    webhook_url TEXT,
    webhook_secret_enc TEXT,
    push_enc TEXT,
    duty TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX watch_responders_phone ON watch_responders (phone_hash);
CREATE TABLE watch_assignments (
    person TEXT NOT NULL,
    responder INTEGER NOT NULL,
    PRIMARY KEY (person, responder)
);
CREATE TABLE watch_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    person TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX watch_audit_person ON watch_audit (person, ts);
