-- Complaints register and improvement actions (Qualiopi indicators 31 and 32). A complaint, a
-- difficulty or an incident gets a gapless yearly reference (REC-2026-0001, numbered through
-- complaint_counters in the transaction that records it), an answer deadline in working days, and
-- moves new → acknowledged → answered → closed; each step keeps who and when on the row, and
-- complaint_events keeps the history with its notes. Improvement actions may stem from a complaint
-- or stand alone.
CREATE TABLE complaint_counters (
    year     INTEGER PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE complaints (
    id                  TEXT PRIMARY KEY,
    reference           TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('complaint', 'difficulty', 'incident')),
    status              TEXT NOT NULL CHECK (status IN ('new', 'acknowledged', 'answered', 'closed')),
    author_name         TEXT NOT NULL,
    author_email        TEXT NOT NULL,
    author_id           TEXT REFERENCES users (id) ON DELETE SET NULL,
    training_session_id TEXT REFERENCES training_sessions (id) ON DELETE SET NULL,
    subject             TEXT NOT NULL,
    message             TEXT NOT NULL,
    received_at         TIMESTAMP NOT NULL,
    answer_due_on       DATE NOT NULL,
    acknowledged_at     TIMESTAMP,
    acknowledged_by     TEXT REFERENCES users (id) ON DELETE SET NULL,
    answer              TEXT,
    answered_at         TIMESTAMP,
    answered_by         TEXT REFERENCES users (id) ON DELETE SET NULL,
    closed_at           TIMESTAMP,
    closed_by           TEXT REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX complaints_received_at_idx ON complaints (received_at);
CREATE INDEX complaints_status_idx ON complaints (status, answer_due_on);
CREATE INDEX complaints_session_idx ON complaints (training_session_id);

CREATE TABLE complaint_events (
    id           TEXT PRIMARY KEY,
    complaint_id TEXT NOT NULL REFERENCES complaints (id) ON DELETE CASCADE,
    step         TEXT NOT NULL CHECK (step IN ('received', 'acknowledged', 'answered', 'closed')),
    actor_id     TEXT REFERENCES users (id) ON DELETE SET NULL,
    actor_name   TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    note         TEXT
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, at);

CREATE TABLE improvement_actions (
    id              TEXT PRIMARY KEY,
    complaint_id    TEXT REFERENCES complaints (id) ON DELETE SET NULL,
    what            TEXT NOT NULL,
    owner           TEXT NOT NULL,
    due_on          DATE NOT NULL,
    done_on         DATE,
    done_note       TEXT,
    created_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_by_name TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX improvement_actions_complaint_idx ON improvement_actions (complaint_id);
CREATE INDEX improvement_actions_created_at_idx ON improvement_actions (created_at);
