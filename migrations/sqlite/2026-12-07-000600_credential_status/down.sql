DROP INDEX certificates_status_entry;
ALTER TABLE certificates DROP COLUMN status_index;
ALTER TABLE certificates DROP COLUMN status_list;
DROP TABLE credential_status_lists;
