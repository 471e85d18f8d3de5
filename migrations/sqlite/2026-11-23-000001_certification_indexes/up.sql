-- Eligibility reads a candidate's latest result per competence across sessions, and issuing looks
-- up a holder's certificate per session: both by trainee first.
CREATE INDEX assessments_trainee_competence_idx ON assessments (trainee_id, competence_id);
CREATE INDEX certificates_session_holder_idx ON certificates (training_session_id, holder_id);
