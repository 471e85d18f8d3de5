//! Input hardening: bidi and invisible characters in names, e-mail addresses and notes; jury
//! imports (escape sequences in member names, a jury dated before the end of the training);
//! degenerate drawn signatures. Each bad input gets a clear refusal naming what is wrong, and
//! nothing is written (rows counted before and after), on both backends.

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use lms_core::db::ids::TrainingSessionId;
use lms_core::db::schema::{attendance_entries, half_days, jury_decisions, training_sessions, users};
use lms_tests::*;
use serde_json::json;

use crate::attendance_support::*;

/// The characters names and e-mail addresses refuse, with the code point the message names.
const FORBIDDEN_IN_NAMES: [(char, &str); 14] = [
    ('\u{202A}', "U+202A"),
    ('\u{202B}', "U+202B"),
    ('\u{202C}', "U+202C"),
    ('\u{202D}', "U+202D"),
    ('\u{202E}', "U+202E"),
    ('\u{2066}', "U+2066"),
    ('\u{2069}', "U+2069"),
    ('\u{200E}', "U+200E"),
    ('\u{200F}', "U+200F"),
    ('\u{061C}', "U+061C"),
    ('\u{200B}', "U+200B"),
    ('\u{2060}', "U+2060"),
    ('\u{FEFF}', "U+FEFF"),
    ('\u{00AD}', "U+00AD"),
];

fn count_users(conn: &mut lms_core::DbConn) -> i64 {
    users::table.count().get_result(conn).unwrap()
}

fn count_decisions(conn: &mut lms_core::DbConn) -> i64 {
    jury_decisions::table.count().get_result(conn).unwrap()
}

fn error_message(body: &str) -> String {
    json_body(body)["error"]["message"].as_str().unwrap_or_default().to_owned()
}

// ------------------------------------------------------------------------ names and e-mails

#[tokio::test]
async fn display_names_with_bidi_or_invisible_characters_are_refused_by_api_and_cli() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    for (i, (c, code)) in FORBIDDEN_IN_NAMES.iter().enumerate() {
        let name = format!("Zoé {c}Martin");
        let before = count_users(&mut conn);
        let body = json!({"email": format!("nom{i}@example.org"), "name": name, "password": "un mot de passe solide"});
        let (status, _, text) = send(&app, json_request("POST", "/api/v1/accounts", &body.to_string(), None)).await;
        assert_error(status, &text, StatusCode::UNPROCESSABLE_ENTITY, "invalid_user");
        assert!(error_message(&text).contains(code), "{code}: {text}");
        let out = lms(
            &db,
            &[
                "user",
                "add",
                "--email",
                &format!("cli{i}@example.org"),
                "--name",
                &name,
                "--role",
                "trainee",
                "--password-stdin",
            ],
            Some("un mot de passe solide\n"),
        );
        assert_eq!(out.code, 1, "{code}: {}", out.stdout);
        assert!(out.stderr.starts_with("erreur") && out.stderr.contains(code), "{code}: {}", out.stderr);
        assert_eq!(count_users(&mut conn), before, "{code}: nothing written");
    }
    // Joiners stay: emoji sequences and scripts that need them.
    for (i, name) in ["Awa 👩🏽\u{200D}🏫", "Kh\u{200C}osravi", "العربية עברית"].iter().enumerate() {
        let email = format!("joiner{i}@example.org");
        let body = json!({"email": email, "name": name, "password": "un mot de passe solide"});
        let (status, _, text) = send(&app, json_request("POST", "/api/v1/accounts", &body.to_string(), None)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{name:?}: {text}");
        assert_eq!(lms_core::people::find_user_by_email(&mut conn, &email).unwrap().name, *name);
    }
}

#[tokio::test]
async fn email_addresses_with_any_format_character_are_refused_and_never_echoed() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    let with_joiners = FORBIDDEN_IN_NAMES.iter().copied().chain([('\u{200D}', "U+200D"), ('\u{200C}', "U+200C")]);
    for (c, code) in with_joiners {
        let email = format!("zoe{c}@example.org");
        let before = count_users(&mut conn);
        let body = json!({"email": email, "name": "Zoé", "password": "un mot de passe solide"});
        let (status, _, text) = send(&app, json_request("POST", "/api/v1/accounts", &body.to_string(), None)).await;
        assert_error(status, &text, StatusCode::UNPROCESSABLE_ENTITY, "invalid_user");
        let message = error_message(&text);
        assert!(message.contains(code) && !message.contains(c), "{code}: {message}");
        let out = lms(
            &db,
            &["user", "add", "--email", &email, "--name", "Zoé", "--role", "trainee", "--password-stdin"],
            Some("un mot de passe solide\n"),
        );
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains(code) && !out.stderr.contains(c), "{code}: {}", out.stderr);
        assert_eq!(count_users(&mut conn), before, "{code}: nothing written");
    }
    // An escape sequence is refused by code point too, and never reaches the terminal.
    let out = lms(
        &db,
        &[
            "user",
            "add",
            "--email",
            "zoe\u{1B}[2J@example.org",
            "--name",
            "Zoé",
            "--role",
            "trainee",
            "--password-stdin",
        ],
        Some("un mot de passe solide\n"),
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("U+001B") && !out.stderr.contains('\u{1B}'), "{:?}", out.stderr);
    assert_eq!(count_users(&mut conn), 0);
}

#[test]
fn identity_fields_refuse_bidi_and_invisible_characters_and_keep_the_stored_identity() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let who = "elise.vidal@example.org";
    let identity = |conn: &mut lms_core::DbConn| lms_core::certification::identity::show_identity(conn, who).unwrap();
    let before = identity(&mut conn);
    let clean = [
        "certify",
        "identity",
        "--trainee",
        who,
        "--birth-name",
        "Vidal",
        "--first-names",
        "Élise",
        "--birth-date",
        "1991-03-04",
        "--birth-insee",
        "86194",
        "--sex",
        "F",
    ];
    for (flag, value, code) in [
        ("--birth-name", "Vi\u{202E}dal", "U+202E"),
        ("--first-names", "\u{FEFF}Élise", "U+FEFF"),
        ("--usage-name", "Vidal\u{200B}", "U+200B"),
        ("--birth-place", "Poi\u{2067}tiers", "U+2067"),
        ("--birth-name", "Vidal\u{1B}[31m", "U+001B"),
    ] {
        let mut args = clean.to_vec();
        match args.iter().position(|a| *a == flag) {
            Some(at) => args[at + 1] = value,
            None => args.extend([flag, value]),
        }
        let out = lms(&db, &args, None);
        assert_eq!(out.code, 1, "{flag} {code}: {}", out.stdout);
        assert!(out.stderr.contains(code), "{flag} {code}: {}", out.stderr);
        assert_eq!(identity(&mut conn), before, "{flag} {code}: nothing written");
    }
    // The same identity with clean names is stored.
    let out = lms(&db, &clean, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(identity(&mut conn).birth_name.as_deref(), Some("Vidal"));
}

#[tokio::test]
async fn notes_refuse_bidi_overrides_but_keep_marks() {
    let UnderWay { db, session, half_day, token, app } = UnderWay::new().await;
    let mut conn = db.conn();
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/sheet");
    for (reason, code) in [("Malade \u{202E}fdp.exe\u{202C}", "U+202E"), ("Rendez-vous \u{2067}x\u{2069}", "U+2067")] {
        let before = entry_count(&mut conn);
        let body = json!({"entries": [{"trainee": DEMO_TRAINEES[4], "status": "excused", "reason": reason}]});
        let (status, _, text) = send(&app, json_request("PUT", &url, &body.to_string(), Some(&token))).await;
        assert!(status.is_client_error(), "{reason:?}: {status} {text}");
        assert!(error_message(&text).contains(code) && error_message(&text).contains("bidirectionnel"), "{text}");
        assert_eq!(entry_count(&mut conn), before, "{code}: nothing written");
    }
    // A right-to-left mark or an invisible space changes nothing of how a line reads: kept.
    let body =
        json!({"entries": [{"trainee": DEMO_TRAINEES[4], "status": "excused", "reason": "עברית\u{200F} ok\u{200B}"}]});
    let (status, _, text) = send(&app, json_request("PUT", &url, &body.to_string(), Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

// --------------------------------------------------------------------------------- the jury

const JURY_SESSION: &str = "PTL-NA-DEMO-0";
const CANDIDATE: &str = "elise.vidal@example.org";

/// The certifying demo session and the day of its last half-day.
fn jury_session(conn: &mut lms_core::DbConn) -> (TrainingSessionId, NaiveDate) {
    let id: TrainingSessionId = training_sessions::table
        .filter(training_sessions::reference.eq(JURY_SESSION))
        .select(training_sessions::id)
        .first(conn)
        .unwrap();
    let last: Option<NaiveDate> = half_days::table
        .filter(half_days::training_session_id.eq(&id))
        .select(diesel::dsl::max(half_days::day))
        .first(conn)
        .unwrap();
    (id, last.unwrap())
}

fn record(db: &TestDb, session: &TrainingSessionId, date: &str, member: &str) -> CliOutput {
    let session = session.to_string();
    lms(
        db,
        &[
            "jury",
            "record",
            "--session",
            &session,
            "--trainee",
            CANDIDATE,
            "--decision",
            "admitted",
            "--date",
            date,
            "--member",
            "Claire Dumas, présidente",
            "--member",
            member,
        ],
        None,
    )
}

fn refusal(out: &CliOutput) -> &str {
    assert_eq!(out.code, 1, "stdout: {} stderr: {}", out.stdout, out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line: {}", out.stderr);
    &out.stderr
}

#[test]
fn jury_record_refuses_escapes_in_members_and_a_date_before_the_last_half_day() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (session, last_day) = jury_session(&mut conn);
    let before = count_decisions(&mut conn);
    let today = lms_core::catalogue::paris_today();

    let out = record(&db, &session, &today.to_string(), "Marc \u{1B}[31mOlivier, professionnel");
    let stderr = refusal(&out);
    assert!(stderr.contains("U+001B") && stderr.contains("membre n° 2"), "{stderr}");
    assert!(!stderr.contains('\u{1B}'), "the escape is not printed: {stderr:?}");
    let out = record(&db, &session, &today.to_string(), "Marc \u{202E}revilO, professionnel");
    assert!(refusal(&out).contains("U+202E"));

    let day_before = (last_day - Duration::days(1)).to_string();
    let out = record(&db, &session, &day_before, "Marc Olivier, professionnel");
    let stderr = refusal(&out);
    assert!(stderr.contains(&day_before) && stderr.contains(&last_day.to_string()), "{stderr}");
    assert!(stderr.contains("après la formation"), "{stderr}");
    // A date to come is refused too: a procès-verbal records a decision already taken.
    let tomorrow = (today + Duration::days(1)).to_string();
    assert!(refusal(&record(&db, &session, &tomorrow, "Marc Olivier, professionnel")).contains("futur"));
    assert_eq!(count_decisions(&mut conn), before, "nothing written");

    // The day of the last half-day is fine (the jury may sit that afternoon).
    let out = record(&db, &session, &last_day.to_string(), "Marc Olivier, professionnel");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count_decisions(&mut conn), before + 1);
    let stored: String = jury_decisions::table
        .order(jury_decisions::recorded_at.desc())
        .select(jury_decisions::members)
        .first(&mut conn)
        .unwrap();
    assert!(stored.contains("Marc Olivier, professionnel"), "{stored}");
}

#[test]
fn jury_import_is_all_or_nothing_with_the_line_of_each_problem() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let (session, last_day) = jury_session(&mut conn);
    let session_arg = session.to_string();
    let before = count_decisions(&mut conn);
    let today = lms_core::catalogue::paris_today();
    let early = last_day - Duration::days(3);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jury.csv");
    // Line 2 is good, line 3 has a multi-line note, line 5 an escape in a member, line 6 a date
    // before the end of the training.
    let text = format!(
        "trainee,decision,date,members,notes\n\
         {CANDIDATE},admitted,{today},\"Claire Dumas, présidente\",\n\
         aurelie.fontaine@example.org,admitted,{today},\"Claire Dumas, présidente\",\"Très bon\ndossier\"\n\
         bastien.leroy@example.org,admitted,{today},\"Claire Dumas, présidente; Marc \u{1B}[31mOlivier, professionnel\",\n\
         damien.roche@example.org,refused,{early},\"Claire Dumas, présidente\",\n"
    );
    std::fs::write(&file, &text).unwrap();
    let out = lms(&db, &["jury", "import", "--session", &session_arg, file.to_str().unwrap()], None);
    let stderr = refusal(&out);
    assert!(stderr.contains("aucune décision enregistrée"), "{stderr}");
    assert!(stderr.contains("ligne 5 : membre n° 2 du jury") && stderr.contains("U+001B"), "{stderr}");
    assert!(stderr.contains(&format!("ligne 6 : date du jury ({early})")), "{stderr}");
    assert!(!stderr.contains("ligne 2") && !stderr.contains("ligne 3"), "{stderr}");
    assert!(!stderr.contains('\u{1B}'), "{stderr:?}");
    assert_eq!(count_decisions(&mut conn), before, "nothing written");

    // Fixed, the whole file goes in (a byte-order mark as spreadsheets save it is fine).
    let fixed =
        format!("\u{feff}{}", text.replace(" \u{1B}[31m", " ").replace(&early.to_string(), &last_day.to_string()));
    std::fs::write(&file, fixed).unwrap();
    let out = lms(&db, &["jury", "import", "--session", &session_arg, file.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count_decisions(&mut conn), before + 4);
}

// ------------------------------------------------------------------------ drawn signatures

#[tokio::test]
async fn degenerate_drawn_signatures_are_refused_and_write_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let trainer_token = token(&mut conn, TRAINER);
    let app = test_app(&db).await;
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/signatures");
    let drawn = || {
        attendance_entries::table
            .filter(attendance_entries::method.eq("drawn_signature"))
            .count()
            .get_result::<i64>(&mut db.conn())
            .unwrap()
    };
    let before = (entry_count(&mut conn), drawn());
    let dot: Vec<[u32; 2]> = (0..12).map(|i| [300 + i, 100 + i]).collect();
    for (strokes, expected) in [
        (json!([[[120, 80], [120, 80], [120, 80], [120, 80], [120, 80]]]), "1 point différent"),
        (
            json!([[[120, 80], [130, 90]], [[120, 80], [130, 90]], [[120, 80], [130, 90], [120, 80]]]),
            "2 points différents",
        ),
        (json!([dot]), "tracé est trop petit (11 × 11 points"),
    ] {
        let body = json!({"trainee": TRAINEE, "signature": {"width": 600, "height": 220, "strokes": strokes}});
        let (status, _, text) = send(&app, json_request("POST", &url, &body.to_string(), Some(&trainer_token))).await;
        assert_error(status, &text, StatusCode::UNPROCESSABLE_ENTITY, "invalid_attendance");
        let message = error_message(&text);
        assert!(message.contains(expected) && message.contains("signez à nouveau"), "{strokes}: {message}");
        assert_eq!((entry_count(&mut conn), drawn()), before, "{strokes}: nothing written");
    }
    // A short but real paraph is accepted.
    let body = json!({"trainee": TRAINEE, "signature": {"width": 600, "height": 220,
        "strokes": [[[200, 120], [215, 100], [230, 125], [245, 98]], [[250, 110], [262, 112]]]}});
    let (status, _, text) = send(&app, json_request("POST", &url, &body.to_string(), Some(&trainer_token))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(drawn(), before.1 + 1);
}
