-- The revision of a half-day as calendars see it: the iCalendar SEQUENCE of its event. Every
-- change of date, hours or venue (and a cancellation) raises it by one, so that calendar clients
-- replace the event they hold instead of keeping a stale copy or adding a duplicate.
ALTER TABLE half_days ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
