ALTER TABLE accrochage_batches DROP COLUMN action;
