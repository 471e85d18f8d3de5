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
ALTER TABLE enrolments DROP CONSTRAINT enrolments_status_check;
ALTER TABLE enrolments ADD CONSTRAINT enrolments_status_check
    CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'completed', 'abandoned', 'requested', 'refused'));
ALTER TABLE enrolments ADD COLUMN request_answers TEXT;
ALTER TABLE enrolments ADD COLUMN decision_reason TEXT;
ALTER TABLE enrolments ADD COLUMN decided_at TIMESTAMP;
