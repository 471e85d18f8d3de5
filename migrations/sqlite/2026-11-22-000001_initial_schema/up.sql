-- The whole domain of DESIGN.md. This file is written in the SQL subset that SQLite and PostgreSQL
-- both accept; migrations/postgres holds the same statements plus COMMENT ON documentation.
-- Conventions: ids are TEXT UUIDs (v7), times are TIMESTAMP holding UTC written by the application
-- (never a database default: text formats differ between backends), enums are TEXT + CHECK,
-- money is integer cents, durations are integer minutes.

-- ---------------------------------------------------------------- geography
CREATE TABLE communes (
    insee           TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    name_search     TEXT NOT NULL,
    departement     TEXT NOT NULL,
    region          TEXT NOT NULL,
    population      BIGINT NOT NULL CHECK (population >= 0),
    lat             DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon             DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    half_diag_km    DOUBLE PRECISION NOT NULL CHECK (half_diag_km >= 0),
    point_source    TEXT NOT NULL CHECK (point_source IN ('bbox', 'ancien_code', 'cp_mean'))
);
CREATE INDEX communes_name_search_idx ON communes (name_search);
CREATE INDEX communes_region_idx ON communes (region);
CREATE INDEX communes_departement_idx ON communes (departement);

CREATE TABLE commune_postcodes (
    postcode        TEXT NOT NULL,
    insee           TEXT NOT NULL REFERENCES communes (insee) ON DELETE CASCADE,
    PRIMARY KEY (postcode, insee)
);
CREATE INDEX commune_postcodes_insee_idx ON commune_postcodes (insee);

CREATE TABLE commune_aliases (
    kind            TEXT NOT NULL CHECK (kind IN ('deleguee', 'associee', 'arrondissement')),
    old_insee       TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_search     TEXT NOT NULL,
    current_insee   TEXT NOT NULL REFERENCES communes (insee) ON DELETE CASCADE,
    lat             DOUBLE PRECISION CHECK (lat BETWEEN -90 AND 90),
    lon             DOUBLE PRECISION CHECK (lon BETWEEN -180 AND 180),
    postcodes       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (kind, old_insee)
);
CREATE INDEX commune_aliases_name_search_idx ON commune_aliases (name_search);
CREATE INDEX commune_aliases_current_insee_idx ON commune_aliases (current_insee);

CREATE TABLE venues (
    id                  TEXT PRIMARY KEY,
    slug                TEXT NOT NULL UNIQUE,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kinds               TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    address             TEXT,
    postcode            TEXT,
    commune_insee       TEXT NOT NULL REFERENCES communes (insee),
    lat                 DOUBLE PRECISION NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon                 DOUBLE PRECISION NOT NULL CHECK (lon BETWEEN -180 AND 180),
    coordinates_source  TEXT NOT NULL CHECK (coordinates_source IN ('exact', 'commune')),
    accessible_pmr      BOOLEAN,
    accessibility_note  TEXT,
    source              TEXT,
    created_at          TIMESTAMP NOT NULL
);
CREATE INDEX venues_lat_lon_idx ON venues (lat, lon);
CREATE INDEX venues_commune_insee_idx ON venues (commune_insee);

-- ---------------------------------------------------------------- people and access
CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
    display_name        TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 120),
    password_hash       TEXT,
    is_active           BOOLEAN NOT NULL,
    -- Identity the certification registries need; optional until a certificate is issued.
    birth_name          TEXT,
    usage_name          TEXT,
    first_names         TEXT,
    birth_date          DATE,
    birth_commune_insee TEXT,
    birth_place_label   TEXT,
    birth_country_code  TEXT,
    sex                 TEXT CHECK (sex IN ('M', 'F')),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE TABLE user_roles (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('trainee', 'trainer', 'admin')),
    granted_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role_idx ON user_roles (role);

CREATE TABLE login_sessions (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    user_agent      TEXT,
    ip              TEXT
);
CREATE INDEX login_sessions_user_id_idx ON login_sessions (user_id);
CREATE INDEX login_sessions_expires_at_idx ON login_sessions (expires_at);

CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label           TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP,
    expires_at      TIMESTAMP,
    revoked_at      TIMESTAMP
);
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);

-- Failed-login counters shared by every server instance (per account and per address).
CREATE TABLE login_attempts (
    attempt_key     TEXT PRIMARY KEY,
    window_start    TIMESTAMP NOT NULL,
    failures        INTEGER NOT NULL CHECK (failures >= 0),
    locked_until    TIMESTAMP
);

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    link        TEXT,
    created_at  TIMESTAMP NOT NULL,
    read_at     TIMESTAMP
);
CREATE INDEX notifications_user_id_created_at_idx ON notifications (user_id, created_at);

-- ---------------------------------------------------------------- certification référentiel
CREATE TABLE certifications (
    id                      TEXT PRIMARY KEY,
    registry                TEXT NOT NULL CHECK (registry IN ('RS', 'RNCP')),
    code                    TEXT NOT NULL UNIQUE,
    title                   TEXT NOT NULL,
    certifier               TEXT NOT NULL,
    nsf_codes               TEXT NOT NULL,
    formacodes              TEXT NOT NULL,
    valid_from              DATE,
    valid_until             DATE,
    min_attendance_percent  INTEGER NOT NULL CHECK (min_attendance_percent BETWEEN 0 AND 100),
    pass_rule               TEXT NOT NULL CHECK (pass_rule IN ('all_units')),
    unit_rule               TEXT NOT NULL CHECK (unit_rule IN ('all_competences_acquired')),
    evaluation_modalities   TEXT NOT NULL,
    cdc_certifier_id        TEXT,
    cdc_contract_id         TEXT,
    created_at              TIMESTAMP NOT NULL,
    CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
);

CREATE TABLE certification_units (
    id                  TEXT PRIMARY KEY,
    certification_id    TEXT NOT NULL REFERENCES certifications (id) ON DELETE CASCADE,
    number              INTEGER NOT NULL CHECK (number > 0),
    title               TEXT NOT NULL,
    provisional_wording BOOLEAN NOT NULL,
    UNIQUE (certification_id, number)
);

CREATE TABLE competences (
    id                  TEXT PRIMARY KEY,
    unit_id             TEXT NOT NULL REFERENCES certification_units (id) ON DELETE CASCADE,
    code                TEXT NOT NULL,
    label               TEXT NOT NULL,
    provisional_wording BOOLEAN NOT NULL,
    position            INTEGER NOT NULL,
    UNIQUE (unit_id, code)
);

-- ---------------------------------------------------------------- catalogue
CREATE TABLE courses (
    id                      TEXT PRIMARY KEY,
    code                    TEXT NOT NULL UNIQUE,
    title                   TEXT NOT NULL,
    summary                 TEXT NOT NULL,
    objectives              TEXT NOT NULL,
    prerequisites           TEXT NOT NULL,
    audience                TEXT NOT NULL,
    content                 TEXT NOT NULL,
    modules                 TEXT NOT NULL,
    duration_days           INTEGER NOT NULL CHECK (duration_days > 0),
    duration_minutes        BIGINT NOT NULL CHECK (duration_minutes > 0),
    modalities              TEXT NOT NULL,
    price_cents             BIGINT NOT NULL CHECK (price_cents >= 0),
    pricing_note            TEXT NOT NULL,
    accessibility           TEXT NOT NULL,
    evaluation_modalities   TEXT NOT NULL,
    certification_id        TEXT REFERENCES certifications (id),
    nsf_code                TEXT NOT NULL,
    formacode               TEXT NOT NULL,
    nature                  TEXT NOT NULL CHECK (nature IN ('action_formation', 'bilan', 'vae', 'apprentissage')),
    objective_category      TEXT NOT NULL CHECK (objective_category IN ('rncp', 'rs', 'cqp', 'other')),
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);
CREATE INDEX courses_certification_id_idx ON courses (certification_id);

CREATE TABLE training_sessions (
    id                      TEXT PRIMARY KEY,
    reference               TEXT NOT NULL UNIQUE,
    course_id               TEXT NOT NULL REFERENCES courses (id),
    status                  TEXT NOT NULL CHECK (status IN ('draft', 'published', 'cancelled', 'completed')),
    capacity                INTEGER NOT NULL CHECK (capacity > 0),
    -- Confirmed enrolments, kept here so the overbooking guard is one conditional UPDATE.
    seats_taken             INTEGER NOT NULL CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    -- Next waitlist ticket; positions are derived from tickets so they never have gaps.
    waitlist_next_seq       BIGINT NOT NULL CHECK (waitlist_next_seq > 0),
    starts_on               DATE NOT NULL,
    ends_on                 DATE NOT NULL,
    main_venue_id           TEXT NOT NULL REFERENCES venues (id),
    enrolment_opens_at      TIMESTAMP,
    enrolment_closes_at     TIMESTAMP,
    -- Head of the attendance ledger's hash chain (detects a truncated tail).
    ledger_seq              BIGINT NOT NULL CHECK (ledger_seq >= 0),
    ledger_head             TEXT NOT NULL,
    cancelled_reason        TEXT,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    CHECK (ends_on >= starts_on)
);
CREATE INDEX training_sessions_status_starts_on_idx ON training_sessions (status, starts_on);
CREATE INDEX training_sessions_course_id_idx ON training_sessions (course_id);
CREATE INDEX training_sessions_main_venue_id_idx ON training_sessions (main_venue_id);

CREATE TABLE session_trainers (
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    trainer_id          TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (training_session_id, trainer_id)
);
CREATE INDEX session_trainers_trainer_id_idx ON session_trainers (trainer_id);

-- The schedule: the half-day (demi-journée) is the unit of attendance.
CREATE TABLE half_days (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id) ON DELETE CASCADE,
    day                 DATE NOT NULL,
    slot                TEXT NOT NULL CHECK (slot IN ('morning', 'afternoon')),
    starts_at           TIMESTAMP NOT NULL,
    ends_at             TIMESTAMP NOT NULL,
    minutes             INTEGER NOT NULL CHECK (minutes > 0),
    venue_id            TEXT NOT NULL REFERENCES venues (id),
    module              TEXT,
    UNIQUE (training_session_id, day, slot),
    CHECK (ends_at > starts_at)
);
CREATE INDEX half_days_session_starts_at_idx ON half_days (training_session_id, starts_at);
CREATE INDEX half_days_venue_id_idx ON half_days (venue_id);

-- ---------------------------------------------------------------- enrolment
CREATE TABLE enrolments (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    status              TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled', 'completed', 'abandoned')),
    waitlist_seq        BIGINT,
    funding_source      TEXT CHECK (funding_source IN ('company', 'opco', 'cpf', 'france_travail', 'region', 'state', 'other_public', 'self_funded', 'other_provider', 'other')),
    trainee_category    TEXT CHECK (trainee_category IN ('employee', 'apprentice', 'job_seeker', 'individual', 'other')),
    positioning_answers TEXT,
    positioning_result  TEXT CHECK (positioning_result IN ('pending', 'met', 'not_met')),
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    confirmed_at        TIMESTAMP,
    cancelled_at        TIMESTAMP,
    UNIQUE (training_session_id, trainee_id),
    UNIQUE (training_session_id, waitlist_seq),
    CHECK ((status = 'waitlisted') = (waitlist_seq IS NOT NULL))
);
CREATE INDEX enrolments_trainee_id_idx ON enrolments (trainee_id);
CREATE INDEX enrolments_session_status_idx ON enrolments (training_session_id, status);

-- ---------------------------------------------------------------- attendance (émargement)
-- Append-only and hash-chained per training session: entry_hash = SHA-256(canonical entry || prev_hash).
CREATE TABLE attendance_entries (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    seq                 BIGINT NOT NULL CHECK (seq > 0),
    half_day_id         TEXT NOT NULL REFERENCES half_days (id),
    subject_id          TEXT NOT NULL REFERENCES users (id),
    kind                TEXT NOT NULL CHECK (kind IN ('trainee_status', 'trainer_cosign')),
    status              TEXT CHECK (status IN ('present', 'late', 'left_early', 'absent', 'excused')),
    late_minutes        INTEGER NOT NULL CHECK (late_minutes >= 0),
    left_early_minutes  INTEGER NOT NULL CHECK (left_early_minutes >= 0),
    reason              TEXT,
    method              TEXT NOT NULL CHECK (method IN ('self_checkin', 'drawn_signature', 'trainer_entry', 'paper_scan', 'cosign')),
    signature_data      TEXT,
    evidence_sha256     TEXT,
    supersedes_id       TEXT REFERENCES attendance_entries (id),
    correction_reason   TEXT,
    recorded_by         TEXT NOT NULL REFERENCES users (id),
    recorded_at         TIMESTAMP NOT NULL,
    prev_hash           TEXT NOT NULL,
    entry_hash          TEXT NOT NULL UNIQUE,
    UNIQUE (training_session_id, seq)
);
CREATE INDEX attendance_entries_half_day_subject_idx ON attendance_entries (half_day_id, subject_id);
CREATE INDEX attendance_entries_subject_id_idx ON attendance_entries (subject_id);

CREATE TABLE checkin_codes (
    id          TEXT PRIMARY KEY,
    half_day_id TEXT NOT NULL REFERENCES half_days (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL,
    issued_by   TEXT NOT NULL REFERENCES users (id),
    issued_at   TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX checkin_codes_half_day_expires_idx ON checkin_codes (half_day_id, expires_at);

-- ---------------------------------------------------------------- assessment
CREATE TABLE assessments (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    competence_id       TEXT NOT NULL REFERENCES competences (id),
    result              TEXT NOT NULL CHECK (result IN ('acquired', 'in_progress', 'not_acquired')),
    evidence            TEXT,
    assessor_id         TEXT NOT NULL REFERENCES users (id),
    assessed_at         TIMESTAMP NOT NULL
);
CREATE INDEX assessments_session_trainee_idx ON assessments (training_session_id, trainee_id, competence_id, assessed_at);
CREATE INDEX assessments_competence_id_idx ON assessments (competence_id);

-- ---------------------------------------------------------------- jury and certificates
CREATE TABLE jury_decisions (
    id                  TEXT PRIMARY KEY,
    training_session_id TEXT NOT NULL REFERENCES training_sessions (id),
    trainee_id          TEXT NOT NULL REFERENCES users (id),
    certification_id    TEXT NOT NULL REFERENCES certifications (id),
    decision            TEXT NOT NULL CHECK (decision IN ('admitted', 'refused', 'deferred')),
    decided_on          DATE NOT NULL,
    members             TEXT NOT NULL,
    notes               TEXT,
    recorded_by         TEXT NOT NULL REFERENCES users (id),
    recorded_at         TIMESTAMP NOT NULL
);
CREATE INDEX jury_decisions_session_trainee_idx ON jury_decisions (training_session_id, trainee_id);

-- Gapless yearly numbering (RS5142-2026-0001): the counter row is the lock.
CREATE TABLE certificate_counters (
    certification_id    TEXT NOT NULL REFERENCES certifications (id),
    year                INTEGER NOT NULL,
    last_seq            BIGINT NOT NULL CHECK (last_seq >= 0),
    PRIMARY KEY (certification_id, year)
);

CREATE TABLE certificates (
    id                  TEXT PRIMARY KEY,
    number              TEXT NOT NULL UNIQUE,
    certification_id    TEXT NOT NULL REFERENCES certifications (id),
    year                INTEGER NOT NULL,
    seq                 BIGINT NOT NULL CHECK (seq > 0),
    holder_id           TEXT NOT NULL REFERENCES users (id),
    training_session_id TEXT REFERENCES training_sessions (id),
    jury_decision_id    TEXT NOT NULL UNIQUE REFERENCES jury_decisions (id),
    awarded_on          DATE NOT NULL,
    verification_code   TEXT NOT NULL UNIQUE,
    credential_jwt      TEXT NOT NULL,
    pdf_sha256          TEXT,
    status              TEXT NOT NULL CHECK (status IN ('valid', 'revoked')),
    revoked_at          TIMESTAMP,
    revocation_reason   TEXT,
    created_at          TIMESTAMP NOT NULL,
    UNIQUE (certification_id, year, seq),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX certificates_holder_id_idx ON certificates (holder_id);
CREATE INDEX certificates_awarded_on_idx ON certificates (awarded_on);

-- Accrochage: holders files sent to the Caisse des Dépôts, and their processing reports.
CREATE TABLE accrochage_batches (
    id              TEXT PRIMARY KEY,
    generated_at    TIMESTAMP NOT NULL,
    period_from     DATE NOT NULL,
    period_to       DATE NOT NULL,
    xml_sha256      TEXT NOT NULL,
    item_count      INTEGER NOT NULL CHECK (item_count >= 0),
    report_imported_at TIMESTAMP
);

CREATE TABLE accrochage_items (
    id              TEXT PRIMARY KEY,
    batch_id        TEXT NOT NULL REFERENCES accrochage_batches (id) ON DELETE CASCADE,
    certificate_id  TEXT NOT NULL REFERENCES certificates (id),
    result          TEXT NOT NULL CHECK (result IN ('pending', 'accepted', 'rejected')),
    messages        TEXT,
    UNIQUE (batch_id, certificate_id)
);
CREATE INDEX accrochage_items_certificate_id_idx ON accrochage_items (certificate_id);

-- ---------------------------------------------------------------- satisfaction, audit, settings
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

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    actor_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    action      TEXT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    details     TEXT
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity_kind, entity_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Organisation identity printed on documents (name, SIRET, NDA, address…).
CREATE TABLE settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);
