ALTER TABLE enrolments DROP COLUMN decided_at;
ALTER TABLE enrolments DROP COLUMN decision_reason;
ALTER TABLE enrolments DROP COLUMN request_answers;
DELETE FROM enrolments WHERE status IN ('requested', 'refused');
ALTER TABLE enrolments DROP CONSTRAINT enrolments_status_check;
ALTER TABLE enrolments ADD CONSTRAINT enrolments_status_check
    CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'completed', 'abandoned'));
ALTER TABLE courses DROP COLUMN archived_at;
ALTER TABLE courses DROP COLUMN positioning_questions;
ALTER TABLE courses DROP COLUMN programme;
ALTER TABLE courses DROP COLUMN rome_codes;
ALTER TABLE courses DROP COLUMN contact_phone;
ALTER TABLE courses DROP COLUMN contact_email;
ALTER TABLE courses DROP COLUMN contact_name;
ALTER TABLE courses DROP COLUMN admission;
ALTER TABLE courses DROP COLUMN enrolment_deadline_days;
