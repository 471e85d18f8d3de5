ALTER TABLE enrolments DROP COLUMN abandoned_at;
ALTER TABLE enrolments DROP COLUMN cancel_reason;
DROP TABLE enrolment_fundings;
