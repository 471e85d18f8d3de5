-- Venue contact details (lms_core::venues): e-mail, phone and web site of a tiers-lieu, each
-- checked by the use case before it is stored; NULL when unknown.
ALTER TABLE venues ADD COLUMN email TEXT;
ALTER TABLE venues ADD COLUMN phone TEXT;
ALTER TABLE venues ADD COLUMN website TEXT;
