-- Self check-in (lms_core::attendance::checkin): a trainee's phone sends only the code, so the
-- code's hash is looked up directly; live codes are few, expired ones are purged as new ones are
-- issued.
CREATE INDEX checkin_codes_code_hash_idx ON checkin_codes (code_hash);
