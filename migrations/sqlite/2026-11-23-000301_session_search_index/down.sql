CREATE INDEX half_days_venue_id_idx ON half_days (venue_id);
DROP INDEX half_days_venue_day_session_idx;
CREATE INDEX venues_lat_lon_idx ON venues (lat, lon);
DROP INDEX venues_lat_lon_id_idx;
DROP INDEX training_sessions_search_idx;
CREATE INDEX half_days_session_starts_at_idx ON half_days (training_session_id, starts_at);
DROP INDEX half_days_session_starts_venue_idx;
