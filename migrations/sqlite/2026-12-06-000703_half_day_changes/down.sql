DROP TABLE half_day_changes;
