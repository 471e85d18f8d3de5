-- What the BPF (lms_core::reports::bpf::inputs) cannot compute and the office enters by hand, per
-- financial year: charges, income received outside the LMS, activity answers, subcontracting.
-- The key is one of BpfInputKey; the value is its normalised text (cents, a count, hours with one
-- decimal, yes/no as true/false, or a short text), checked by the use case before it is written.
CREATE TABLE bpf_inputs (
    year        INTEGER NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    input_key   TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (year, input_key)
);
