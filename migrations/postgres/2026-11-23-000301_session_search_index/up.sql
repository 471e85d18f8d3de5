-- Search near a place (lms_core::catalogue::search): the half-days held at the venues found around
-- the place, from a date on, with the training session id in the index so that the scan never
-- touches the half_days rows. It starts with venue_id, so it also serves what the former
-- single-column index served (foreign-key checks when a venue is deleted).
CREATE INDEX half_days_venue_day_session_idx ON half_days (venue_id, day, training_session_id);
DROP INDEX half_days_venue_id_idx;

-- The venues around a place: latitude range, longitude filter and id from the index alone.
CREATE INDEX venues_lat_lon_id_idx ON venues (lat, lon, id);
DROP INDEX venues_lat_lon_idx;

-- The sessions met at those venues, checked for status, dates and window from the index alone.
CREATE INDEX training_sessions_search_idx
    ON training_sessions (id, status, starts_on, enrolment_closes_at, course_id);

-- The venues of the sessions of a page of results (and the schedule of one session, in order),
-- from the index alone: the former (training_session_id, starts_at) index plus venue_id.
CREATE INDEX half_days_session_starts_venue_idx ON half_days (training_session_id, starts_at, venue_id);
DROP INDEX half_days_session_starts_at_idx;
