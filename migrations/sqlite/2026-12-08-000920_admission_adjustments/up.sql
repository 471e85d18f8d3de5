-- Admission decisions (Qualiopi indicators 8 and 10, lms_core::enrolment::requests): what was
-- decided on a request (admitted, admitted with an adapted pathway, refused), by whom, and the
-- adapted pathway (hours, modules as a JSON array of the session's module names, a note). The
-- old `positioning_result` column and its CHECK stay as they are.
ALTER TABLE enrolments ADD COLUMN admission_decision TEXT CHECK (admission_decision IN ('admitted', 'admitted_adapted', 'refused'));
ALTER TABLE enrolments ADD COLUMN adapted_minutes BIGINT CHECK (adapted_minutes > 0);
ALTER TABLE enrolments ADD COLUMN adapted_modules TEXT;
ALTER TABLE enrolments ADD COLUMN decision_note TEXT;
-- The deciding administrator (NULL when decided at the console). No foreign key, so that SQLite
-- can drop the column again (users are deactivated, never deleted).
ALTER TABLE enrolments ADD COLUMN decided_by TEXT;

-- Disability adjustments (Qualiopi indicator 26, lms_core::adjustments): a trainee's private
-- request, read only by the disability referent; what was agreed (shown to the session's
-- trainers) and the exam conditions (shown to the certification jury).
CREATE TABLE adjustment_requests (
    id                  TEXT PRIMARY KEY,
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    training_session_id TEXT REFERENCES training_sessions (id),
    request_text        TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('requested', 'agreed', 'declined')),
    agreed_adjustments  TEXT,
    exam_conditions     TEXT,
    decline_reason      TEXT,
    decided_by          TEXT REFERENCES users (id),
    decided_at          TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    CHECK ((status = 'requested') = (decided_at IS NULL)),
    CHECK (status <> 'agreed' OR agreed_adjustments IS NOT NULL),
    CHECK (status <> 'declined' OR decline_reason IS NOT NULL)
);
CREATE INDEX adjustment_requests_trainee_idx ON adjustment_requests (trainee_id);
CREATE INDEX adjustment_requests_session_idx ON adjustment_requests (training_session_id);
