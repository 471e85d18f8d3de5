DROP TABLE survey_responses;
DROP TABLE survey_invitations;
DROP TABLE surveys;
DROP TABLE questionnaires;

CREATE TABLE surveys (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('a_chaud', 'a_froid')),
    title               TEXT NOT NULL,
    opens_at            TIMESTAMP NOT NULL,
    closes_at           TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    UNIQUE (training_session_id, kind)
);

CREATE TABLE survey_responses (
    id              TEXT PRIMARY KEY,
    survey_id       TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    respondent_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    satisfaction    INTEGER NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
    answers         TEXT NOT NULL,
    submitted_at    TIMESTAMP NOT NULL,
    UNIQUE (survey_id, respondent_id)
);
