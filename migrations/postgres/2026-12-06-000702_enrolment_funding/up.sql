-- Enrolments run by the office (lms_core::enrolment::office and ::funding).
-- A funding plan: who pays how much of an enrolment, one row per payer, the payers being the BPF
-- cadre C sources (the same vocabulary as enrolments.funding_source). The use case keeps the sum
-- at most the course price.
CREATE TABLE enrolment_fundings (
    enrolment_id    TEXT NOT NULL REFERENCES enrolments (id),
    payer           TEXT NOT NULL CHECK (payer IN ('company', 'opco', 'cpf', 'france_travail', 'region', 'state', 'other_public', 'self_funded', 'other_provider', 'other')),
    amount_cents    BIGINT NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (enrolment_id, payer)
);

-- Why an enrolment was cancelled (given by the office; none when the trainee withdrew), and when
-- a trainee dropped out of a session already under way (their attended hours stay on the record).
ALTER TABLE enrolments ADD COLUMN cancel_reason TEXT;
ALTER TABLE enrolments ADD COLUMN abandoned_at TIMESTAMP;

COMMENT ON TABLE enrolment_fundings IS 'Funding plan of an enrolment: amount in euro cents per payer (BPF cadre C source); the sum never exceeds the course price.';
COMMENT ON COLUMN enrolments.cancel_reason IS 'Why the office cancelled the enrolment; NULL when the trainee withdrew.';
COMMENT ON COLUMN enrolments.abandoned_at IS 'When the trainee dropped out of a session under way (status abandoned).';
