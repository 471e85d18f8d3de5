ALTER TABLE half_days DROP COLUMN sequence;
