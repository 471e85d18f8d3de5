-- The public offer as data (lms_core::catalogue::courses): enrolment deadline, admission mode,
-- contact, ROME codes, programme by module, positioning questions, archiving.
ALTER TABLE courses ADD COLUMN enrolment_deadline_days INTEGER NOT NULL DEFAULT 0 CHECK (enrolment_deadline_days >= 0);
ALTER TABLE courses ADD COLUMN admission TEXT NOT NULL DEFAULT 'open' CHECK (admission IN ('open', 'on_request'));
ALTER TABLE courses ADD COLUMN contact_name TEXT;
ALTER TABLE courses ADD COLUMN contact_email TEXT;
ALTER TABLE courses ADD COLUMN contact_phone TEXT;
-- JSON arrays, checked by the import before they are stored.
ALTER TABLE courses ADD COLUMN rome_codes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE courses ADD COLUMN programme TEXT NOT NULL DEFAULT '[]';
ALTER TABLE courses ADD COLUMN positioning_questions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE courses ADD COLUMN archived_at TIMESTAMP;

-- Admission on request (lms_core::enrolment::requests): a request holds no seat and no ticket;
-- the decision's reason and time are kept, and the answers to the course's questions (JSON).
-- SQLite cannot change a CHECK in place: the table is rebuilt (foreign keys are off while migrating).
CREATE TABLE enrolments_new (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'completed', 'abandoned', 'requested', 'refused')),
    waitlist_seq        BIGINT,
    funding_source      TEXT CHECK (funding_source IN ('company', 'opco', 'cpf', 'france_travail', 'region', 'state', 'other_public', 'self_funded', 'other_provider', 'other')),
    trainee_category    TEXT CHECK (trainee_category IN ('employee', 'apprentice', 'job_seeker', 'individual', 'other')),
    positioning_answers TEXT,
    positioning_result  TEXT CHECK (positioning_result IN ('pending', 'met', 'not_met')),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    confirmed_at        TIMESTAMP,
    cancelled_at        TIMESTAMP,
    request_answers     TEXT,
    decision_reason     TEXT,
    decided_at          TIMESTAMP,
    UNIQUE (training_session_id, trainee_id),
    UNIQUE (training_session_id, waitlist_seq),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL))
);
INSERT INTO enrolments_new (id, training_session_id, trainee_id, status, waitlist_seq, funding_source, trainee_category, positioning_answers, positioning_result, created_at, updated_at, confirmed_at, cancelled_at) SELECT id, training_session_id, trainee_id, status, waitlist_seq, funding_source, trainee_category, positioning_answers, positioning_result, created_at, updated_at, confirmed_at, cancelled_at FROM enrolments;
DROP TABLE enrolments;
ALTER TABLE enrolments_new RENAME TO enrolments;
CREATE INDEX enrolments_trainee_id_idx ON enrolments (trainee_id);
CREATE INDEX enrolments_session_status_idx ON enrolments (training_session_id, status);
