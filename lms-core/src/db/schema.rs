// Generated from migrations/sqlite/*/up.sql, then checked by hand; keep in step with both migration
// folders (the migration parity test loads every table through these definitions on both backends).

diesel::table! {
    communes (insee) {
        insee -> Text,
        name -> Text,
        name_search -> Text,
        departement -> Text,
        region -> Text,
        population -> BigInt,
        lat -> Double,
        lon -> Double,
        half_diag_km -> Double,
        point_source -> Text,
    }
}

diesel::table! {
    commune_postcodes (postcode, insee) {
        postcode -> Text,
        insee -> Text,
    }
}

diesel::table! {
    commune_aliases (kind, old_insee) {
        kind -> Text,
        old_insee -> Text,
        name -> Text,
        name_search -> Text,
        current_insee -> Text,
        lat -> Nullable<Double>,
        lon -> Nullable<Double>,
        postcodes -> Text,
    }
}

diesel::table! {
    venues (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        kinds -> Text,
        description -> Text,
        address -> Nullable<Text>,
        postcode -> Nullable<Text>,
        commune_insee -> Text,
        lat -> Double,
        lon -> Double,
        coordinates_source -> Text,
        accessible_pmr -> Nullable<Bool>,
        accessibility_note -> Nullable<Text>,
        source -> Nullable<Text>,
        created_at -> Timestamp,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        website -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        is_active -> Bool,
        birth_name -> Nullable<Text>,
        usage_name -> Nullable<Text>,
        first_names -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        birth_commune_insee -> Nullable<Text>,
        birth_place_label -> Nullable<Text>,
        birth_country_code -> Nullable<Text>,
        sex -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> Text,
        role -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    login_sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        label -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_attempts (attempt_key) {
        attempt_key -> Text,
        window_start -> Timestamp,
        failures -> Integer,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        message -> Text,
        link -> Nullable<Text>,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    certifications (id) {
        id -> Text,
        registry -> Text,
        code -> Text,
        title -> Text,
        certifier -> Text,
        nsf_codes -> Text,
        formacodes -> Text,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        min_attendance_percent -> Integer,
        pass_rule -> Text,
        unit_rule -> Text,
        evaluation_modalities -> Text,
        cdc_certifier_id -> Nullable<Text>,
        cdc_contract_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    certification_units (id) {
        id -> Text,
        certification_id -> Text,
        number -> Integer,
        title -> Text,
        provisional_wording -> Bool,
    }
}

diesel::table! {
    competences (id) {
        id -> Text,
        unit_id -> Text,
        code -> Text,
        label -> Text,
        provisional_wording -> Bool,
        position -> Integer,
    }
}

diesel::table! {
    courses (id) {
        id -> Text,
        code -> Text,
        title -> Text,
        summary -> Text,
        objectives -> Text,
        prerequisites -> Text,
        audience -> Text,
        content -> Text,
        modules -> Text,
        duration_days -> Integer,
        duration_minutes -> BigInt,
        modalities -> Text,
        price_cents -> BigInt,
        pricing_note -> Text,
        accessibility -> Text,
        evaluation_modalities -> Text,
        certification_id -> Nullable<Text>,
        nsf_code -> Text,
        formacode -> Text,
        nature -> Text,
        objective_category -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        enrolment_deadline_days -> Integer,
        admission -> Text,
        contact_name -> Nullable<Text>,
        contact_email -> Nullable<Text>,
        contact_phone -> Nullable<Text>,
        rome_codes -> Text,
        programme -> Text,
        positioning_questions -> Text,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    training_sessions (id) {
        id -> Text,
        reference -> Text,
        course_id -> Text,
        status -> Text,
        capacity -> Integer,
        seats_taken -> Integer,
        waitlist_next_seq -> BigInt,
        starts_on -> Date,
        ends_on -> Date,
        main_venue_id -> Text,
        enrolment_opens_at -> Nullable<Timestamp>,
        enrolment_closes_at -> Nullable<Timestamp>,
        ledger_seq -> BigInt,
        ledger_head -> Text,
        cancelled_reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    session_trainers (training_session_id, trainer_id) {
        training_session_id -> Text,
        trainer_id -> Text,
    }
}

diesel::table! {
    half_days (id) {
        id -> Text,
        training_session_id -> Text,
        day -> Date,
        slot -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        minutes -> Integer,
        venue_id -> Text,
        module -> Nullable<Text>,
        sequence -> Integer,
    }
}

diesel::table! {
    half_day_changes (id) {
        id -> Text,
        half_day_id -> Text,
        training_session_id -> Text,
        changed_at -> Timestamp,
        changed_by -> Nullable<Text>,
        reason -> Text,
        before_day -> Date,
        before_slot -> Text,
        before_starts_at -> Timestamp,
        before_ends_at -> Timestamp,
        before_venue_id -> Text,
        after_day -> Date,
        after_slot -> Text,
        after_starts_at -> Timestamp,
        after_ends_at -> Timestamp,
        after_venue_id -> Text,
    }
}

diesel::table! {
    enrolments (id) {
        id -> Text,
        training_session_id -> Text,
        trainee_id -> Text,
        status -> Text,
        waitlist_seq -> Nullable<BigInt>,
        funding_source -> Nullable<Text>,
        trainee_category -> Nullable<Text>,
        positioning_answers -> Nullable<Text>,
        positioning_result -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        cancelled_at -> Nullable<Timestamp>,
        request_answers -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        abandoned_at -> Nullable<Timestamp>,
        employer_name -> Nullable<Text>,
        admission_decision -> Nullable<Text>,
        adapted_minutes -> Nullable<BigInt>,
        adapted_modules -> Nullable<Text>,
        decision_note -> Nullable<Text>,
        decided_by -> Nullable<Text>,
    }
}

diesel::table! {
    enrolment_fundings (enrolment_id, payer) {
        enrolment_id -> Text,
        payer -> Text,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    attendance_entries (id) {
        id -> Text,
        training_session_id -> Text,
        seq -> BigInt,
        half_day_id -> Text,
        subject_id -> Text,
        kind -> Text,
        status -> Nullable<Text>,
        late_minutes -> Integer,
        left_early_minutes -> Integer,
        reason -> Nullable<Text>,
        method -> Text,
        signature_data -> Nullable<Text>,
        evidence_sha256 -> Nullable<Text>,
        supersedes_id -> Nullable<Text>,
        correction_reason -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
        prev_hash -> Text,
        entry_hash -> Text,
    }
}

diesel::table! {
    checkin_codes (id) {
        id -> Text,
        half_day_id -> Text,
        code_hash -> Text,
        issued_by -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    assessments (id) {
        id -> Text,
        training_session_id -> Text,
        trainee_id -> Text,
        competence_id -> Text,
        result -> Text,
        evidence -> Nullable<Text>,
        assessor_id -> Text,
        assessed_at -> Timestamp,
    }
}

diesel::table! {
    jury_decisions (id) {
        id -> Text,
        training_session_id -> Text,
        trainee_id -> Text,
        certification_id -> Text,
        decision -> Text,
        decided_on -> Date,
        members -> Text,
        notes -> Nullable<Text>,
        recorded_by -> Text,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    certificate_counters (certification_id, year) {
        certification_id -> Text,
        year -> Integer,
        last_seq -> BigInt,
    }
}

diesel::table! {
    certificates (id) {
        id -> Text,
        number -> Text,
        certification_id -> Text,
        year -> Integer,
        seq -> BigInt,
        holder_id -> Text,
        training_session_id -> Nullable<Text>,
        jury_decision_id -> Text,
        awarded_on -> Date,
        verification_code -> Text,
        credential_jwt -> Text,
        pdf_sha256 -> Nullable<Text>,
        status -> Text,
        revoked_at -> Nullable<Timestamp>,
        revocation_reason -> Nullable<Text>,
        created_at -> Timestamp,
        status_list -> Nullable<Integer>,
        status_index -> Nullable<BigInt>,
    }
}

diesel::table! {
    accrochage_batches (id) {
        id -> Text,
        generated_at -> Timestamp,
        period_from -> Date,
        period_to -> Date,
        xml_sha256 -> Text,
        item_count -> Integer,
        report_imported_at -> Nullable<Timestamp>,
        action -> Text,
    }
}

diesel::table! {
    accrochage_items (id) {
        id -> Text,
        batch_id -> Text,
        certificate_id -> Text,
        result -> Text,
        messages -> Nullable<Text>,
    }
}

diesel::table! {
    questionnaires (id) {
        id -> Text,
        course_id -> Nullable<Text>,
        audience -> Text,
        timing -> Text,
        title -> Text,
        questions -> Text,
        anonymous -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    surveys (id) {
        id -> Text,
        training_session_id -> Text,
        questionnaire_id -> Nullable<Text>,
        audience -> Text,
        kind -> Text,
        title -> Text,
        questions -> Text,
        anonymous -> Bool,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    survey_invitations (id) {
        id -> Text,
        survey_id -> Text,
        person_id -> Nullable<Text>,
        recipient_name -> Nullable<Text>,
        recipient_email -> Nullable<Text>,
        token_hash -> Nullable<Text>,
        invited_at -> Timestamp,
        reminded_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    survey_responses (id) {
        id -> Text,
        survey_id -> Text,
        respondent_id -> Nullable<Text>,
        satisfaction -> Integer,
        answers -> Text,
        submitted_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        entity_kind -> Text,
        entity_id -> Text,
        details -> Nullable<Text>,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    complaint_counters (year) {
        year -> Integer,
        last_seq -> BigInt,
    }
}

diesel::table! {
    complaints (id) {
        id -> Text,
        reference -> Text,
        kind -> Text,
        status -> Text,
        author_name -> Text,
        author_email -> Text,
        author_id -> Nullable<Text>,
        training_session_id -> Nullable<Text>,
        subject -> Text,
        message -> Text,
        received_at -> Timestamp,
        answer_due_on -> Date,
        acknowledged_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<Text>,
        answer -> Nullable<Text>,
        answered_at -> Nullable<Timestamp>,
        answered_by -> Nullable<Text>,
        closed_at -> Nullable<Timestamp>,
        closed_by -> Nullable<Text>,
    }
}

diesel::table! {
    complaint_events (id) {
        id -> Text,
        complaint_id -> Text,
        step -> Text,
        actor_id -> Nullable<Text>,
        actor_name -> Text,
        at -> Timestamp,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    improvement_actions (id) {
        id -> Text,
        complaint_id -> Nullable<Text>,
        what -> Text,
        owner -> Text,
        due_on -> Date,
        done_on -> Nullable<Date>,
        done_note -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_by_name -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(login_sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(certification_units -> certifications (certification_id));
diesel::joinable!(competences -> certification_units (unit_id));
diesel::joinable!(courses -> certifications (certification_id));
diesel::joinable!(training_sessions -> courses (course_id));
diesel::joinable!(training_sessions -> venues (main_venue_id));
diesel::joinable!(session_trainers -> training_sessions (training_session_id));
diesel::joinable!(session_trainers -> users (trainer_id));
diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(half_days -> training_sessions (training_session_id));
diesel::joinable!(half_days -> venues (venue_id));
diesel::joinable!(half_day_changes -> half_days (half_day_id));
diesel::joinable!(half_day_changes -> training_sessions (training_session_id));
diesel::joinable!(half_day_changes -> users (changed_by));
diesel::joinable!(enrolments -> training_sessions (training_session_id));
diesel::joinable!(enrolments -> users (trainee_id));
diesel::joinable!(enrolment_fundings -> enrolments (enrolment_id));
diesel::joinable!(attendance_entries -> training_sessions (training_session_id));
diesel::joinable!(attendance_entries -> half_days (half_day_id));
diesel::joinable!(checkin_codes -> half_days (half_day_id));
diesel::joinable!(checkin_codes -> users (issued_by));
diesel::joinable!(assessments -> training_sessions (training_session_id));
diesel::joinable!(assessments -> competences (competence_id));
diesel::joinable!(jury_decisions -> training_sessions (training_session_id));
diesel::joinable!(jury_decisions -> certifications (certification_id));
diesel::joinable!(certificate_counters -> certifications (certification_id));
diesel::joinable!(certificates -> certifications (certification_id));
diesel::joinable!(certificates -> users (holder_id));
diesel::joinable!(certificates -> training_sessions (training_session_id));
diesel::joinable!(certificates -> jury_decisions (jury_decision_id));
diesel::joinable!(accrochage_items -> accrochage_batches (batch_id));
diesel::joinable!(accrochage_items -> certificates (certificate_id));
diesel::joinable!(surveys -> training_sessions (training_session_id));
diesel::joinable!(surveys -> questionnaires (questionnaire_id));
diesel::joinable!(questionnaires -> courses (course_id));
diesel::joinable!(survey_invitations -> surveys (survey_id));
diesel::joinable!(survey_invitations -> users (person_id));
diesel::joinable!(survey_responses -> surveys (survey_id));
diesel::joinable!(survey_responses -> users (respondent_id));
diesel::joinable!(audit_log -> users (actor_id));

diesel::table! {
    outbox_messages (id) {
        id -> Text,
        kind -> Text,
        recipient_email -> Text,
        recipient_name -> Text,
        sender_name -> Text,
        reply_to -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        attachments -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(complaint_events -> complaints (complaint_id));
diesel::joinable!(improvement_actions -> complaints (complaint_id));
diesel::joinable!(complaints -> training_sessions (training_session_id));

diesel::table! {
    bpf_inputs (year, input_key) {
        year -> Integer,
        input_key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    adjustment_requests (id) {
        id -> Text,
        trainee_id -> Text,
        training_session_id -> Nullable<Text>,
        request_text -> Text,
        status -> Text,
        agreed_adjustments -> Nullable<Text>,
        exam_conditions -> Nullable<Text>,
        decline_reason -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(adjustment_requests -> training_sessions (training_session_id));
diesel::joinable!(adjustment_requests -> users (trainee_id));

diesel::allow_tables_to_appear_in_same_query!(
    adjustment_requests,
    communes,
    commune_postcodes,
    commune_aliases,
    venues,
    users,
    user_roles,
    login_sessions,
    api_tokens,
    login_attempts,
    notifications,
    certifications,
    certification_units,
    competences,
    courses,
    training_sessions,
    session_trainers,
    half_days,
    half_day_changes,
    enrolments,
    enrolment_fundings,
    attendance_entries,
    checkin_codes,
    assessments,
    jury_decisions,
    certificate_counters,
    certificates,
    accrochage_batches,
    accrochage_items,
    questionnaires,
    surveys,
    survey_invitations,
    survey_responses,
    complaint_counters,
    complaints,
    complaint_events,
    improvement_actions,
    audit_log,
    settings,
    calendar_feeds,
    outbox_messages,
    password_reset_tokens,
    bpf_inputs,
    credential_status_lists,
);

diesel::joinable!(venues -> communes (commune_insee));
diesel::joinable!(commune_postcodes -> communes (insee));
diesel::joinable!(commune_aliases -> communes (current_insee));

diesel::table! {
    credential_status_lists (list_number) {
        list_number -> Integer,
        allocated -> BigInt,
        public_url -> Nullable<Text>,
        credential_jwt -> Nullable<Text>,
        updated_at -> Nullable<Timestamp>,
    }
}
