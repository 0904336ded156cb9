-- Shops taking part in the heat service, and the stamp programme that gives them a reason to:
-- stamps collected at cool spots on hot days, redeemed for coupons at participating shops.
-- No personal data: a stamp card is a random id kept in the resident's browser; only its hash
-- is stored, with the count of stamps — never who, where else, or when beyond the day.
CREATE TABLE shops (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    username TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    gw TEXT,
    coolspot TEXT,
    coupon TEXT NOT NULL,
    stamps_per_coupon INTEGER NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX shops_username ON shops (username);
-- Where stamps are given: a cool spot or a shop's own cool corner; the QR code at the place
-- holds the random token.
CREATE TABLE stamp_points (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    shop TEXT,
    token TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE stamp_cards (
    id_hash TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE stamps (
    id BIGSERIAL PRIMARY KEY,
    card TEXT NOT NULL,
    point TEXT NOT NULL,
    day TEXT NOT NULL,
    wbgt_level INTEGER NOT NULL,
    UNIQUE (card, point, day)
);
CREATE INDEX stamps_point_day ON stamps (point, day);
CREATE TABLE redemptions (
    id BIGSERIAL PRIMARY KEY,
    card TEXT NOT NULL,
    shop TEXT NOT NULL,
    stamps INTEGER NOT NULL,
    day TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX redemptions_shop_day ON redemptions (shop, day);
