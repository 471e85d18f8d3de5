-- Accrochage SUPPRESSION flux (lms_core::exports::accrochage): a batch either declares passes to
-- the Caisse des Dépôts (CREATION) or withdraws passes declared earlier whose certificate was
-- revoked since (SUPPRESSION). Every batch recorded before this migration was a CREATION.
ALTER TABLE accrochage_batches
    ADD COLUMN action TEXT NOT NULL DEFAULT 'CREATION' CHECK (action IN ('CREATION', 'SUPPRESSION'));
