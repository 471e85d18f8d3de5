-- Search near a place (lms_core::catalogue::search): the half-days held at the venues found around
-- the place, from a date on, with the training session id in the index so that the scan never
-- touches the half_days rows. It starts with venue_id, so it also serves what the former
-- single-column index served (foreign-key checks when a venue is deleted).
CREATE INDEX half_days_venue_day_session_idx ON half_days (venue_id, day, training_session_id);
DROP INDEX half_days_venue_id_idx;
