-- Published revocation of certificates (lms_core::certification::status_list): W3C Bitstring
-- Status Lists of 131,072 entries. `allocated` is the gapless counter of indexes given out in the
-- list; the signed list credential is stored so the server publishes it without the secret key.
-- List 1 exists from the start so that concurrent first issuers serialise on its row.
CREATE TABLE credential_status_lists (
    list_number    INTEGER PRIMARY KEY CHECK (list_number >= 1),
    allocated      BIGINT NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= 131072),
    public_url     TEXT,
    credential_jwt TEXT,
    updated_at     TIMESTAMP
);
INSERT INTO credential_status_lists (list_number, allocated) VALUES (1, 0);

-- Each certificate's entry (empty for certificates issued before lists were published).
ALTER TABLE certificates ADD COLUMN status_list INTEGER REFERENCES credential_status_lists (list_number);
ALTER TABLE certificates ADD COLUMN status_index BIGINT;
CREATE UNIQUE INDEX certificates_status_entry ON certificates (status_list, status_index);
