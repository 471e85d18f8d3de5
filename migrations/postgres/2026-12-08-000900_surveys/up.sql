-- Satisfaction surveys (Qualiopi indicator 30). Questionnaires are data: one per course (or the
-- default, course_id NULL), audience and timing; a survey is a questionnaire opened for one
-- training session, with its questions copied at opening so later edits never change what was
-- asked. Invitations count who was asked and who answered; in an anonymous survey the response
-- row keeps no respondent, so answers cannot be linked to a person.
-- The first-wave tables held nothing (no code wrote them): they are replaced.
DROP TABLE survey_responses;
DROP TABLE surveys;

CREATE TABLE questionnaires (
    id          TEXT PRIMARY KEY,
    course_id   TEXT REFERENCES courses (id) ON DELETE CASCADE,
    audience    TEXT NOT NULL CHECK (audience IN ('trainee', 'trainer', 'funder')),
    timing      TEXT NOT NULL CHECK (timing IN ('a_chaud', 'a_froid')),
    title       TEXT NOT NULL,
    questions   TEXT NOT NULL,
    anonymous   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX questionnaires_scope_idx ON questionnaires (COALESCE(course_id, ''), audience, timing);

CREATE TABLE surveys (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    questionnaire_id    TEXT REFERENCES questionnaires (id) ON DELETE SET NULL,
    audience            TEXT NOT NULL CHECK (audience IN ('trainee', 'trainer', 'funder')),
    kind                TEXT NOT NULL CHECK (kind IN ('a_chaud', 'a_froid')),
    title               TEXT NOT NULL,
    questions           TEXT NOT NULL,
    anonymous           BOOLEAN NOT NULL,
    opens_at            TIMESTAMP NOT NULL,
    closes_at           TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    UNIQUE (training_session_id, audience, kind)
);
CREATE INDEX surveys_opens_at_idx ON surveys (opens_at);

CREATE TABLE survey_invitations (
    id              TEXT PRIMARY KEY,
    survey_id       TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    person_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    recipient_name  TEXT,
    recipient_email TEXT,
    token_hash      TEXT UNIQUE,
    invited_at      TIMESTAMP NOT NULL,
    reminded_at     TIMESTAMP,
    answered_at     TIMESTAMP,
    UNIQUE (survey_id, person_id)
);
CREATE INDEX survey_invitations_person_idx ON survey_invitations (person_id);

CREATE TABLE survey_responses (
    id              TEXT PRIMARY KEY,
    survey_id       TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    respondent_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    satisfaction    INTEGER NOT NULL CHECK (satisfaction BETWEEN 1 AND 5),
    answers         TEXT NOT NULL,
    submitted_at    TIMESTAMP NOT NULL,
    UNIQUE (survey_id, respondent_id)
);
CREATE INDEX survey_responses_survey_idx ON survey_responses (survey_id);
