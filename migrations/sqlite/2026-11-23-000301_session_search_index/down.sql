CREATE INDEX half_days_venue_id_idx ON half_days (venue_id);
DROP INDEX half_days_venue_day_session_idx;
