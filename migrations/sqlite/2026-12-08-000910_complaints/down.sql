DROP TABLE improvement_actions;
DROP TABLE complaint_events;
DROP TABLE complaints;
DROP TABLE complaint_counters;
