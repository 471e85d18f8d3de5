-- The e-mail outbox: every message is a row written in the same transaction as the change that
-- causes it; a worker in each server claims pending rows (a lease in locked_until, so that a
-- crashed worker's rows become claimable again) and marks them sent or failed.
CREATE TABLE outbox_messages (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    sender_name     TEXT NOT NULL,
    reply_to        TEXT,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    attachments     TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    dedupe_key      TEXT UNIQUE,
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX outbox_messages_status_next_idx ON outbox_messages (status, next_attempt_at);

-- Password reset: only the SHA-256 of the token is stored; a token is used once, within the hour.
CREATE TABLE password_reset_tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX password_reset_tokens_user_id_idx ON password_reset_tokens (user_id);
