DROP TABLE adjustment_requests;
ALTER TABLE enrolments DROP COLUMN decided_by;
ALTER TABLE enrolments DROP COLUMN decision_note;
ALTER TABLE enrolments DROP COLUMN adapted_modules;
ALTER TABLE enrolments DROP COLUMN adapted_minutes;
ALTER TABLE enrolments DROP COLUMN admission_decision;
