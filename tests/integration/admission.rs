//! Admission on request (course IMPACT in the demo): enrolling stores a request with the answers
//! to the course's positioning questions; administrators admit it (a seat, or the waitlist when
//! full) or refuse it with a reason the trainee is told; trainers of the session read the
//! requests; every refusal writes nothing.

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::db::ids::TrainingSessionId;
use lms_core::db::schema::{enrolments, notifications, training_sessions};
use lms_core::enrolment::{self, EnrolmentStatus};
use lms_core::rights::Actor;
use lms_core::{Classify, DbConn};
use lms_tests::{
    CliOutput, Seed, TestDb, browser_login, csrf_field, form_request, get_with_cookies, json_request, lms, send,
    test_app,
};
use serde_json::Value;

const SESSION: &str = "IMPACT-DEMO-LIMOGES";
const PASSWORD: &str = "tiers-lieux-demo";

fn json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stdout: {} stderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput, code: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert!(output.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", output.stderr);
}

fn session_id(conn: &mut DbConn) -> TrainingSessionId {
    lms_core::attendance::records::find_session(conn, SESSION).unwrap()
}

/// Seats taken, and every enrolment's (status, decision reason), in a stable order.
fn state(conn: &mut DbConn) -> (i32, Vec<(EnrolmentStatus, Option<String>)>, i64) {
    let session = session_id(conn);
    let seats: i32 =
        training_sessions::table.find(&session).select(training_sessions::seats_taken).first(conn).unwrap();
    let rows = enrolments::table
        .filter(enrolments::training_session_id.eq(&session))
        .order(enrolments::id.asc())
        .select((enrolments::status, enrolments::decision_reason))
        .load(conn)
        .unwrap();
    let notes: i64 = notifications::table.count().get_result(conn).unwrap();
    (seats, rows, notes)
}

async fn token(app: &axum::Router, email: &str) -> String {
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let (status, _, body) = send(app, json_request("POST", "/api/v1/auth/token", &body, None)).await;
    assert!(status.is_success(), "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_with_answers_then_admitted_takes_a_seat_and_is_told() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    let session = session_id(&mut conn);
    let url = format!("/api/v1/sessions/{session}/enrolments");
    let bearer = token(&app, "hugo.blanc@example.org").await;

    // Without answers (or with a blank one): refused, nothing written.
    let before = state(&mut conn);
    for body in [r#"{}"#, r#"{"answers": ["Coordinateur", "   "]}"#, r#"{"answers": ["Une seule"]}"#] {
        let (status, _, text) = send(&app, json_request("POST", &url, body, Some(&bearer))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {text}");
        assert!(text.contains("invalid_input"), "{text}");
        assert_eq!(state(&mut conn), before, "{body}: nothing written");
    }

    let body = r#"{"answers": ["  Coordinateur d'un tiers-lieu rural ", "Des comptages de fréquentation"]}"#;
    let (status, _, text) = send(&app, json_request("POST", &url, body, Some(&bearer))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["status"], "requested");
    assert_eq!(state(&mut conn).0, before.0, "a request holds no seat");

    // Whoever decides sees the answers (trimmed), with the questions.
    let listed = json(&lms(&db, &["enrolment", "requests", "--session", SESSION, "--json"], None));
    let hugo = listed.as_array().unwrap().iter().find(|r| r["trainee"] == "hugo.blanc@example.org").unwrap();
    assert_eq!(hugo["status"], "requested");
    assert_eq!(hugo["answers"][0]["answer"], "Coordinateur d'un tiers-lieu rural");
    assert!(hugo["answers"][0]["question"].as_str().unwrap().contains("rôle"));

    let admitted = json(&lms(
        &db,
        &["enrolment", "admit", "--session", SESSION, "--trainee", "hugo.blanc@example.org", "--json"],
        None,
    ));
    assert_eq!(admitted["status"], "confirmed");
    assert_eq!(state(&mut conn).0, before.0 + 1, "admission takes a seat");
    let message: String = notifications::table
        .inner_join(lms_core::db::schema::users::table)
        .filter(lms_core::db::schema::users::email.eq("hugo.blanc@example.org"))
        .order(notifications::created_at.desc())
        .select(notifications::message)
        .first(&mut conn)
        .unwrap();
    assert!(message.contains("est acceptée"), "{message}");
    // An admitted request is no longer pending: deciding again is refused.
    refused(
        &lms(&db, &["enrolment", "admit", "--session", SESSION, "--trainee", "hugo.blanc@example.org"], None),
        "no_pending_request",
    );
}

#[test]
fn a_refusal_needs_a_reason_which_is_kept_and_told() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let before = state(&mut conn);
    for reason in [None, Some("   ")] {
        let mut args = vec!["enrolment", "refuse", "--session", SESSION, "--trainee", "manon.arnaud@example.org"];
        if let Some(reason) = reason {
            args.extend(["--reason", reason]);
        }
        let output = lms(&db, &args, None);
        refused(&output, "invalid_input");
        assert!(output.stderr.contains("motiv"), "{}", output.stderr);
        assert_eq!(state(&mut conn), before, "nothing written");
    }
    let output = lms(
        &db,
        &[
            "enrolment",
            "refuse",
            "--session",
            SESSION,
            "--trainee",
            "manon.arnaud@example.org",
            "--reason",
            "Session réservée aux coordinateur·rices",
            "--json",
        ],
        None,
    );
    assert_eq!(json(&output)["status"], "refused");
    let listed = json(&lms(&db, &["enrolment", "requests", "--session", SESSION, "--json"], None));
    let manon = listed.as_array().unwrap().iter().find(|r| r["trainee"] == "manon.arnaud@example.org").unwrap();
    assert_eq!(manon["status"], "refused");
    assert_eq!(manon["decision_reason"], "Session réservée aux coordinateur·rices");
    let message: String = notifications::table
        .inner_join(lms_core::db::schema::users::table)
        .filter(lms_core::db::schema::users::email.eq("manon.arnaud@example.org"))
        .select(notifications::message)
        .first(&mut conn)
        .unwrap();
    assert!(message.contains("n'a pas été retenue : Session réservée aux coordinateur·rices"), "{message}");
    assert_eq!(state(&mut conn).0, before.0, "no seat");

    // The refused trainee asking again gets the decision, not a new request.
    let trainee = lms_core::people::find_user_by_email(&mut conn, "manon.arnaud@example.org").unwrap();
    let caller = lms_core::access::caller_for(&mut conn, &trainee.id).unwrap();
    let request = enrolment::EnrolmentRequest { answers: vec!["a".into(), "b".into()], ..Default::default() };
    let session = session_id(&mut conn);
    let error = enrolment::enrol_as(&mut conn, &session, &caller, &request, lms_core::db::now()).unwrap_err();
    assert_eq!(error.code(), "request_refused");
}

#[test]
fn only_administrators_decide_and_trainers_of_the_session_read() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn);
    let caller = |conn: &mut DbConn, email: &str| {
        let user = lms_core::people::find_user_by_email(conn, email).unwrap();
        lms_core::access::caller_for(conn, &user.id).unwrap()
    };
    let trainer = caller(&mut conn, "formatrice.limousin@demo.tierslieux.example.org");
    let other_trainer = caller(&mut conn, "formatrice.charente@demo.tierslieux.example.org");
    let trainee = caller(&mut conn, "olivier.moreau@example.org");
    let admin = caller(&mut conn, "admin@demo.tierslieux.example.org");
    let before = state(&mut conn);
    let now = lms_core::db::now();
    for who in [&trainer, &trainee] {
        let error = enrolment::admit(&mut conn, Actor::Person(who), &session, "olivier.moreau@example.org", None, now)
            .unwrap_err();
        assert_eq!(error.code(), "forbidden");
        let error =
            enrolment::refuse(&mut conn, Actor::Person(who), &session, "olivier.moreau@example.org", Some("non"), now)
                .unwrap_err();
        assert_eq!(error.code(), "forbidden");
    }
    assert_eq!(state(&mut conn), before, "nothing written");
    assert_eq!(enrolment::list_requests(&mut conn, Actor::Person(&trainer), &session).unwrap().len(), 2);
    for who in [&other_trainer, &trainee] {
        let error = enrolment::list_requests(&mut conn, Actor::Person(who), &session).unwrap_err();
        assert_eq!(error.code(), "forbidden");
    }
    let outcome =
        enrolment::admit(&mut conn, Actor::Person(&admin), &session, "olivier.moreau@example.org", None, now).unwrap();
    assert_eq!(outcome.status, EnrolmentStatus::Confirmed);
}

#[test]
fn a_full_session_admits_to_the_waitlist() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn);
    diesel::update(training_sessions::table.find(&session))
        .set(training_sessions::capacity.eq(1))
        .execute(&mut conn)
        .unwrap();
    let first = json(&lms(
        &db,
        &["enrolment", "admit", "--session", SESSION, "--trainee", "olivier.moreau@example.org", "--json"],
        None,
    ));
    assert_eq!(first["status"], "confirmed");
    let second = json(&lms(
        &db,
        &[
            "enrolment",
            "admit",
            "--session",
            SESSION,
            "--trainee",
            "manon.arnaud@example.org",
            "--reason",
            "Bienvenue",
            "--json",
        ],
        None,
    ));
    assert_eq!(second["status"], "waitlisted");
    assert_eq!(second["waitlist_position"], 1);
    let (seats, rows, _) = state(&mut conn);
    assert_eq!(seats, 1, "capacity holds");
    assert!(rows.contains(&(EnrolmentStatus::Waitlisted, Some("Bienvenue".into()))));
    // The waitlisted trainee shows in the ordinary list, ranked.
    let list = json(&lms(&db, &["enrolment", "list", "--session", SESSION, "--json"], None));
    assert!(list.as_array().unwrap().iter().any(|e| e["status"] == "waitlisted" && e["waitlist_position"] == 1));
    // An unknown trainee, or one without a request, is refused.
    refused(
        &lms(&db, &["enrolment", "admit", "--session", SESSION, "--trainee", "personne@example.org"], None),
        "no_pending_request",
    );
}

#[tokio::test]
async fn the_session_page_asks_the_questions_and_the_form_sends_a_request() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, "hugo.blanc@example.org", PASSWORD).await);
    let path = format!("/sessions/{SESSION}");
    let (status, _, page) = send(&app, get_with_cookies(&path, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Admission sur demande"), "{page}");
    assert!(page.contains("name=\"answer_1\"") && page.contains("name=\"answer_2\""), "{page}");
    assert!(page.contains("Envoyer ma demande"));
    let csrf = csrf_field(&page);
    let mut conn = db.conn();
    let before = state(&mut conn);

    // A blank answer is refused and writes nothing.
    let enrol = format!("/sessions/{SESSION}/enrol");
    let (status, _, _) =
        send(&app, form_request(&enrol, &[("csrf", &csrf), ("answer_1", "Animateur"), ("answer_2", " ")], &cookie))
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(state(&mut conn), before);

    let fields =
        [("csrf", csrf.as_str()), ("answer_1", "Animateur d'un fablab"), ("answer_2", "Aucune pour l'instant")];
    let (status, headers, _) = send(&app, form_request(&enrol, &fields, &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=requested"));
    let (_, _, page) = send(&app, get_with_cookies(&format!("{path}?info=requested"), &cookie)).await;
    assert!(page.contains("Votre demande d'inscription est en cours d'examen"), "{page}");
    assert!(page.contains("Retirer ma demande"));
    let listed = json(&lms(&db, &["enrolment", "requests", "--session", SESSION, "--json"], None));
    let hugo = listed.as_array().unwrap().iter().find(|r| r["trainee"] == "hugo.blanc@example.org").unwrap();
    assert_eq!(hugo["answers"][1]["answer"], "Aucune pour l'instant");
}

/// Names a module on the session's half-days (the demo schedules name none), so that a pathway
/// can choose among them.
fn name_modules(conn: &mut DbConn) {
    use lms_core::db::schema::half_days;
    let session = session_id(conn);
    let ids: Vec<lms_core::db::ids::HalfDayId> = half_days::table
        .filter(half_days::training_session_id.eq(&session))
        .order(half_days::starts_at.asc())
        .select(half_days::id)
        .load(conn)
        .unwrap();
    for (index, id) in ids.iter().enumerate() {
        let module = if index < 2 { "Changements attendus" } else { "Indicateurs et collecte" };
        diesel::update(half_days::table.find(id)).set(half_days::module.eq(Some(module))).execute(conn).unwrap();
    }
}

/// An enrolment's recorded decision columns: decision, minutes, modules, who.
type DecisionColumns = (Option<String>, Option<i64>, Option<String>, Option<String>);

/// Every enrolment's recorded decision columns, for « nothing written ».
fn decisions(conn: &mut DbConn) -> Vec<DecisionColumns> {
    let session = session_id(conn);
    enrolments::table
        .filter(enrolments::training_session_id.eq(&session))
        .order(enrolments::id.asc())
        .select((
            enrolments::admission_decision,
            enrolments::adapted_minutes,
            enrolments::adapted_modules,
            enrolments::decided_by,
        ))
        .load(conn)
        .unwrap()
}

#[tokio::test]
async fn an_adapted_pathway_is_checked_recorded_and_shown_to_trainers_and_to_the_trainee_only() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    name_modules(&mut conn);
    let before = (state(&mut conn), decisions(&mut conn));
    let admit = |extra: &[&str]| {
        let mut args = vec!["enrolment", "admit", "--session", SESSION, "--trainee", "olivier.moreau@example.org"];
        args.extend_from_slice(extra);
        lms(&db, &args, None)
    };
    // Bad pathways: zero, negative, more than the course's 14 h, not a number, an unknown
    // module, a note alone. Refused, nothing written.
    for bad in [
        &["--adapted-hours", "0"][..],
        &["--adapted-hours=-3"],
        &["--adapted-hours", "14,5"],
        &["--adapted-hours", "beaucoup"],
        &["--adapted-module", "Module inconnu"],
        &["--adapted-module", "  "],
        &["--note", "Une note sans parcours"],
    ] {
        let output = admit(bad);
        refused(&output, "invalid_input");
        assert_eq!((state(&mut conn), decisions(&mut conn)), before, "{bad:?}: nothing written");
    }
    assert!(admit(&["--adapted-hours", "20"]).stderr.contains("supérieure à celle de la formation (14"), "says why");
    assert!(admit(&["--adapted-module", "Inconnu"]).stderr.contains("Changements attendus"), "lists the modules");

    let admitted = json(&admit(&[
        "--adapted-hours",
        "7",
        "--adapted-module",
        "Indicateurs et collecte",
        "--note",
        "Déjà formé aux changements attendus",
        "--json",
    ]));
    assert_eq!(admitted["status"], "confirmed");
    // The office refuses the other request, as a person.
    let admin = {
        let user = lms_core::people::find_user_by_email(&mut conn, "admin@demo.tierslieux.example.org").unwrap();
        lms_core::access::caller_for(&mut conn, &user.id).unwrap()
    };
    let session = session_id(&mut conn);
    enrolment::refuse(
        &mut conn,
        Actor::Person(&admin),
        &session,
        "manon.arnaud@example.org",
        Some("Prérequis non réunis"),
        lms_core::db::now(),
    )
    .unwrap();
    // Deciding twice is refused and writes nothing.
    let after = (state(&mut conn), decisions(&mut conn));
    refused(&admit(&["--adapted-hours", "3"]), "no_pending_request");
    assert_eq!((state(&mut conn), decisions(&mut conn)), after);

    let listed = json(&lms(&db, &["enrolment", "requests", "--session", SESSION, "--json"], None));
    let rows = listed.as_array().unwrap();
    let olivier = rows.iter().find(|r| r["trainee"] == "olivier.moreau@example.org").unwrap();
    assert_eq!(olivier["decision"], "admitted_adapted");
    assert_eq!(olivier["pathway"]["minutes"], 420);
    assert_eq!(olivier["pathway"]["modules"], serde_json::json!(["Indicateurs et collecte"]));
    assert_eq!(olivier["pathway"]["note"], "Déjà formé aux changements attendus");
    assert_eq!(olivier["decided_by"], "console");
    assert!(olivier["decided_at"].is_string());
    let manon = rows.iter().find(|r| r["trainee"] == "manon.arnaud@example.org").unwrap();
    assert_eq!(manon["decision"], "refused");
    assert_eq!(manon["decision_reason"], "Prérequis non réunis");
    assert_eq!(manon["decided_by"], admin.user.name);
    let table = lms(&db, &["enrolment", "requests", "--session", SESSION], None);
    assert!(table.stdout.contains("parcours adapté"), "{}", table.stdout);

    // The session's trainer and the administrator see answers, decisions and the pathway.
    let path = format!("/trainer/sessions/{SESSION}");
    for email in ["formatrice.limousin@demo.tierslieux.example.org", "admin@demo.tierslieux.example.org"] {
        let cookie = format!("lms_session={}", browser_login(&app, email, PASSWORD).await);
        let (status, _, page) = send(&app, get_with_cookies(&path, &cookie)).await;
        assert_eq!(status, StatusCode::OK, "{email}");
        assert!(page.contains("Admis·e avec un parcours adapté"), "{email}: {page}");
        assert!(page.contains("7\u{a0}h de formation ; modules : Indicateurs et collecte"), "{page}");
        assert!(
            page.contains("Prérequis non réunis") && page.contains("Coordinateur d&#x27;un café associatif"),
            "{page}"
        );
    }
    // Another trainer does not.
    let cookie = format!(
        "lms_session={}",
        browser_login(&app, "formatrice.charente@demo.tierslieux.example.org", PASSWORD).await
    );
    let (status, _, _) = send(&app, get_with_cookies(&path, &cookie)).await;
    assert!(status.is_client_error());

    // Each trainee sees their own decision on the session page, never the other's.
    let session_page = format!("/sessions/{SESSION}");
    let cookie = format!("lms_session={}", browser_login(&app, "olivier.moreau@example.org", PASSWORD).await);
    let (_, _, page) = send(&app, get_with_cookies(&session_page, &cookie)).await;
    assert!(
        page.contains("Admis·e avec un parcours adapté") && page.contains("Déjà formé aux changements attendus"),
        "{page}"
    );
    assert!(!page.contains("Prérequis non réunis"));
    let cookie = format!("lms_session={}", browser_login(&app, "manon.arnaud@example.org", PASSWORD).await);
    let (_, _, page) = send(&app, get_with_cookies(&session_page, &cookie)).await;
    assert!(page.contains("Refusé·e") && page.contains("Prérequis non réunis"), "{page}");
    assert!(!page.contains("Déjà formé aux changements attendus"));

    // The quality file: one row per request, with the decision, the pathway, who and when.
    let tables = enrolment::evidence(&mut conn).unwrap();
    assert_eq!(tables[0].indicator, 8);
    let row = tables[0].rows.iter().find(|r| r[1].contains("olivier.moreau@example.org")).unwrap();
    assert_eq!(row[0], SESSION);
    assert_eq!(row[3], "2");
    assert_eq!(row[4], "Admis·e avec un parcours adapté");
    assert!(row[5].contains("7\u{a0}h de formation"), "{row:?}");
    assert_eq!(row[7], "console");
    assert!(!row[8].is_empty());
}

#[test]
fn the_demo_holds_an_adapted_admission_and_a_reasoned_refusal() {
    let db = TestDb::new(Seed::Demo);
    let listed = json(&lms(&db, &["enrolment", "requests", "--session", "IMPACT-DEMO-PERIGUEUX", "--json"], None));
    let rows = listed.as_array().unwrap();
    let emma = rows.iter().find(|r| r["trainee"] == "emma.petit@example.org").unwrap();
    assert_eq!(emma["decision"], "admitted_adapted");
    assert_eq!(emma["pathway"]["minutes"], 420);
    let lucas = rows.iter().find(|r| r["trainee"] == "lucas.girard@example.org").unwrap();
    assert_eq!(lucas["decision"], "refused");
    assert!(lucas["decision_reason"].as_str().unwrap().contains("pilotent ou animent"));
}
