ALTER TABLE enrolments DROP COLUMN employer_name;
