-- Personal calendar feeds (lms_core::calendar::feed): one per person at most. Only the SHA-256 of
-- the secret token is stored, like login sessions and API tokens: a stolen database copy does not
-- give anyone's schedule away. Rotating replaces the hash; revoking keeps the row with revoked_at
-- set, so the old address answers 404 and the person can make a new one.
CREATE TABLE calendar_feeds (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
