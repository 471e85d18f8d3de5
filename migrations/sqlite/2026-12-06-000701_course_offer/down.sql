DELETE FROM enrolments WHERE status IN ('requested', 'refused');
CREATE TABLE enrolments_new (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'completed', 'abandoned')),
    waitlist_seq        BIGINT,
    funding_source      TEXT CHECK (funding_source IN ('company', 'opco', 'cpf', 'france_travail', 'region', 'state', 'other_public', 'self_funded', 'other_provider', 'other')),
    trainee_category    TEXT CHECK (trainee_category IN ('employee', 'apprentice', 'job_seeker', 'individual', 'other')),
    positioning_answers TEXT,
    positioning_result  TEXT CHECK (positioning_result IN ('pending', 'met', 'not_met')),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    confirmed_at        TIMESTAMP,
    cancelled_at        TIMESTAMP,
    UNIQUE (training_session_id, trainee_id),
    UNIQUE (training_session_id, waitlist_seq),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL))
);
INSERT INTO enrolments_new (id, training_session_id, trainee_id, status, waitlist_seq, funding_source, trainee_category, positioning_answers, positioning_result, created_at, updated_at, confirmed_at, cancelled_at) SELECT id, training_session_id, trainee_id, status, waitlist_seq, funding_source, trainee_category, positioning_answers, positioning_result, created_at, updated_at, confirmed_at, cancelled_at FROM enrolments;
DROP TABLE enrolments;
ALTER TABLE enrolments_new RENAME TO enrolments;
CREATE INDEX enrolments_trainee_id_idx ON enrolments (trainee_id);
CREATE INDEX enrolments_session_status_idx ON enrolments (training_session_id, status);
ALTER TABLE courses DROP COLUMN archived_at;
ALTER TABLE courses DROP COLUMN positioning_questions;
ALTER TABLE courses DROP COLUMN programme;
ALTER TABLE courses DROP COLUMN rome_codes;
ALTER TABLE courses DROP COLUMN contact_phone;
ALTER TABLE courses DROP COLUMN contact_email;
ALTER TABLE courses DROP COLUMN contact_name;
ALTER TABLE courses DROP COLUMN admission;
ALTER TABLE courses DROP COLUMN enrolment_deadline_days;
