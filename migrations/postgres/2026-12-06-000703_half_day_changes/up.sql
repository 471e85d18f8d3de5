-- The history of half-days moved after a session was planned (`lms session reschedule`): what the
-- half-day was before and after, who moved it (NULL: the console) and why. Rows are only added,
-- never changed, so the history can be shown to whoever asks what happened to a date.
CREATE TABLE half_day_changes (
    id                  TEXT PRIMARY KEY,
    half_day_id         TEXT NOT NULL REFERENCES half_days (id) ON DELETE CASCADE,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    changed_at          TIMESTAMP NOT NULL,
    changed_by          TEXT REFERENCES users (id) ON DELETE SET NULL,
    reason              TEXT NOT NULL,
    before_day          DATE NOT NULL,
    before_slot         TEXT NOT NULL CHECK (before_slot IN ('morning', 'afternoon')),
    before_starts_at    TIMESTAMP NOT NULL,
    before_ends_at      TIMESTAMP NOT NULL,
    before_venue_id     TEXT NOT NULL REFERENCES venues (id),
    after_day           DATE NOT NULL,
    after_slot          TEXT NOT NULL CHECK (after_slot IN ('morning', 'afternoon')),
    after_starts_at     TIMESTAMP NOT NULL,
    after_ends_at       TIMESTAMP NOT NULL,
    after_venue_id      TEXT NOT NULL REFERENCES venues (id)
);
-- `lms session show` reads a session's history in order.
CREATE INDEX half_day_changes_session_idx ON half_day_changes (training_session_id, changed_at);
CREATE INDEX half_day_changes_half_day_idx ON half_day_changes (half_day_id);
