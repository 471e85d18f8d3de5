//! Disability adjustments (Qualiopi indicator 26): a trainee's private request reaches the
//! disability referent only (an e-mail in the outbox, the referent's page); the agreed adjustments
//! are shown to the session's trainers, the exam conditions to the jury; convocations carry the
//! venue's PMR sentence and the referent's contact; bad input and a missing referent write nothing;
//! the evidence holds no health detail.

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::Classify;
use lms_core::DbConn;
use lms_core::adjustments::{self, AdjustmentDecision};
use lms_core::db::ids::{AdjustmentRequestId, TrainingSessionId};
use lms_core::db::schema::{adjustment_requests, outbox_messages, training_sessions, venues};
use lms_core::mail::MailKind;
use lms_core::rights::Actor;
use lms_tests::{
    CliOutput, Seed, TestDb, browser_login, csrf_field, form_request, get_with_cookies, lms, send, test_app,
};
use serde_json::Value;

const PASSWORD: &str = "tiers-lieux-demo";
const REFERENT: &str = "formateur.bearn@demo.tierslieux.example.org";
const SESSION: &str = "PTL-NA-DEMO-1";
const SECRET: &str = "Pauses régulières, traitement en cours CONFIDENTIEL-7Q";

fn session_id(conn: &mut DbConn, reference: &str) -> TrainingSessionId {
    training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::id)
        .first(conn)
        .unwrap()
}

/// Rows of adjustment requests and of the outbox: what a refused call must leave unchanged.
fn counts(conn: &mut DbConn) -> (i64, i64, Vec<String>) {
    let requests = adjustment_requests::table.count().get_result(conn).unwrap();
    let mails = outbox_messages::table.count().get_result(conn).unwrap();
    let statuses = adjustment_requests::table
        .order(adjustment_requests::id.asc())
        .select(adjustment_requests::status)
        .load(conn)
        .unwrap();
    (requests, mails, statuses)
}

fn caller(conn: &mut DbConn, email: &str) -> lms_core::access::Caller {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    lms_core::access::caller_for(conn, &user.id).unwrap()
}

fn ok_json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stdout: {} stderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput, code: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert!(output.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", output.stderr);
}

async fn cookie(app: &axum::Router, email: &str) -> String {
    format!("lms_session={}", browser_login(app, email, PASSWORD).await)
}

#[tokio::test]
async fn a_request_reaches_the_referent_only_and_the_agreement_reaches_the_trainers() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    let session = session_id(&mut conn, SESSION);
    let lea = cookie(&app, "lea.dubois@example.org").await;

    let (status, _, page) = send(&app, get_with_cookies("/me/amenagements", &lea)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nouvelle demande") && page.contains(SESSION), "{page}");
    let csrf = csrf_field(&page);

    // A blank request, or an unknown session: refused, nothing written.
    let before = counts(&mut conn);
    let bad_session = TrainingSessionId::generate().to_string();
    for fields in [
        vec![("csrf", csrf.as_str()), ("request", "   ")],
        vec![("csrf", csrf.as_str()), ("request", "Du temps en plus"), ("session", bad_session.as_str())],
        vec![("csrf", csrf.as_str()), ("request", "Du temps en plus"), ("session", "pas-un-id")],
    ] {
        let (status, _, _) = send(&app, form_request("/me/amenagements", &fields, &lea)).await;
        assert!(status.is_client_error(), "{fields:?}: {status}");
        assert_eq!(counts(&mut conn), before, "{fields:?}: nothing written");
    }

    let session_text = session.to_string();
    let fields = [("csrf", csrf.as_str()), ("request", SECRET), ("session", session_text.as_str())];
    let (status, headers, _) = send(&app, form_request("/me/amenagements", &fields, &lea)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/me/amenagements?info=envoyee");
    assert_eq!(counts(&mut conn).0, before.0 + 1);
    let (_, _, page) = send(&app, get_with_cookies("/me/amenagements?info=envoyee", &lea)).await;
    assert!(page.contains("CONFIDENTIEL-7Q") && page.contains("En cours d'examen"), "{page}");

    // One e-mail, to the referent, without the request itself; no other message carries it.
    let mails: Vec<(MailKind, String, String)> = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::AdjustmentRequest))
        .select((outbox_messages::kind, outbox_messages::recipient_email, outbox_messages::text_body))
        .load(&mut conn)
        .unwrap();
    let new: Vec<_> = mails.iter().filter(|(_, _, body)| body.contains("Léa")).collect();
    assert_eq!(new.len(), 1, "{mails:?}");
    assert_eq!(new[0].1, REFERENT);
    assert!(new[0].2.contains("/referent/amenagements"), "{}", new[0].2);
    let leaking: i64 = outbox_messages::table
        .filter(
            outbox_messages::text_body
                .like("%CONFIDENTIEL-7Q%")
                .or(outbox_messages::html_body.like("%CONFIDENTIEL-7Q%")),
        )
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(leaking, 0, "the request text travels in no e-mail");

    // Nobody but the referent reads it: its trainer, another trainee, an administrator.
    for email in [
        "formatrice.charente@demo.tierslieux.example.org",
        "hugo.blanc@example.org",
        "admin@demo.tierslieux.example.org",
    ] {
        let who = cookie(&app, email).await;
        let (status, _, body) = send(&app, get_with_cookies("/referent/amenagements", &who)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}");
        assert!(!body.contains("CONFIDENTIEL-7Q"));
        let (_, _, own) = send(&app, get_with_cookies("/me/amenagements", &who)).await;
        assert!(!own.contains("CONFIDENTIEL-7Q"), "{email}");
        let (_, _, home) = send(&app, get_with_cookies("/me", &who)).await;
        assert!(
            !home.contains("href=\"/referent/amenagements\""),
            "only the referent's /me links the requests: {email}"
        );
    }
    let trainer = cookie(&app, "formatrice.charente@demo.tierslieux.example.org").await;
    let trainer_page = format!("/trainer/sessions/{session}");
    let (status, _, page) = send(&app, get_with_cookies(&trainer_page, &trainer)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("CONFIDENTIEL-7Q") && !page.contains("Aménagement convenu"), "{page}");
    let admin = caller(&mut conn, "admin@demo.tierslieux.example.org");
    assert_eq!(
        adjustments::list_for_referent(&mut conn, Actor::Person(&admin)).unwrap_err().code(),
        "not_disability_referent"
    );

    // The referent reads it and agrees, with exam conditions.
    let referent = cookie(&app, REFERENT).await;
    let (_, _, home) = send(&app, get_with_cookies("/me", &referent)).await;
    assert!(home.contains("href=\"/referent/amenagements\""), "the referent's /me links the requests: {home}");
    let (status, _, page) = send(&app, get_with_cookies("/referent/amenagements", &referent)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("CONFIDENTIEL-7Q"), "{page}");
    let csrf = csrf_field(&page);
    let id: AdjustmentRequestId = adjustment_requests::table
        .filter(adjustment_requests::request_text.eq(SECRET))
        .select(adjustment_requests::id)
        .first(&mut conn)
        .unwrap();
    let action = format!("/referent/amenagements/{id}");
    let before = counts(&mut conn);
    for fields in [
        vec![("csrf", csrf.as_str()), ("decision", "agree"), ("adjustments", " ")],
        vec![("csrf", csrf.as_str()), ("decision", "decline"), ("reason", "")],
        vec![("csrf", csrf.as_str()), ("decision", "peut-être")],
    ] {
        let (status, _, _) = send(&app, form_request(&action, &fields, &referent)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert_eq!(counts(&mut conn), before, "{fields:?}: nothing written");
    }
    let fields = [
        ("csrf", csrf.as_str()),
        ("decision", "agree"),
        ("adjustments", "Une pause de dix minutes chaque heure"),
        ("exam_conditions", "Tiers-temps EXAM-4F"),
    ];
    let (status, _, _) = send(&app, form_request(&action, &fields, &referent)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Deciding twice is refused.
    let (status, _, _) = send(&app, form_request(&action, &fields, &referent)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The trainer sees the agreement, not the request nor the exam conditions.
    let (_, _, page) = send(&app, get_with_cookies(&trainer_page, &trainer)).await;
    assert!(page.contains("Aménagement convenu&nbsp;: Une pause de dix minutes chaque heure"), "{page}");
    assert!(!page.contains("CONFIDENTIEL-7Q") && !page.contains("EXAM-4F"), "{page}");
    // A trainer of another session sees nothing of it.
    let other = caller(&mut conn, "formatrice.limousin@demo.tierslieux.example.org");
    assert!(adjustments::agreed_for_session(&mut conn, Actor::Person(&other), &session).is_err());
    // The trainee sees the answer.
    let (_, _, page) = send(&app, get_with_cookies("/me/amenagements", &lea)).await;
    assert!(page.contains("Une pause de dix minutes chaque heure") && page.contains("EXAM-4F"), "{page}");
}

#[test]
fn without_a_referent_a_request_is_refused_and_nothing_is_written() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    lms_core::documents::organisation::set_setting(&mut conn, "quality.disability_referent_email", "").unwrap();
    let lea = caller(&mut conn, "lea.dubois@example.org");
    let before = counts(&mut conn);
    let error = adjustments::request(&mut conn, &lea, None, "Un écran plus grand", lms_core::db::now()).unwrap_err();
    assert_eq!(error.code(), "no_disability_referent");
    assert!(error.to_string().contains("pas encore désigné de référent·e handicap"), "{error}");
    assert_eq!(counts(&mut conn), before);
    // A trainer or an administrator does not ask for adjustments.
    let trainer = caller(&mut conn, "formatrice.charente@demo.tierslieux.example.org");
    let error = adjustments::request(&mut conn, &trainer, None, "Un écran", lms_core::db::now()).unwrap_err();
    assert_eq!(error.code(), "forbidden");
    assert_eq!(counts(&mut conn), before);
}

#[test]
fn the_console_lists_and_decides_and_refuses_bad_input() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let listed = ok_json(&lms(&db, &["adjustment", "list", "--json"], None));
    let pending = listed.as_array().unwrap().iter().find(|r| r["status"] == "requested").unwrap();
    assert_eq!(pending["trainee"], "karim.benali@example.org");
    let id = pending["id"].as_str().unwrap().to_owned();
    let before = counts(&mut conn);
    refused(&lms(&db, &["adjustment", "decide", &id, "--decline", "--reason", "  "], None), "invalid_input");
    refused(&lms(&db, &["adjustment", "decide", &id, "--agree", "--adjustments", ""], None), "invalid_input");
    refused(
        &lms(
            &db,
            &["adjustment", "decide", &AdjustmentRequestId::generate().to_string(), "--agree", "--adjustments", "x"],
            None,
        ),
        "unknown_adjustment_request",
    );
    refused(
        &lms(&db, &["adjustment", "decide", "n-importe-quoi", "--agree", "--adjustments", "x"], None),
        "unknown_adjustment_request",
    );
    assert_eq!(lms(&db, &["adjustment", "decide", &id, "--agree", "--decline"], None).code, 2, "usage");
    assert_eq!(counts(&mut conn), before, "nothing written");
    let decided = ok_json(&lms(
        &db,
        &[
            "adjustment",
            "decide",
            &id,
            "--decline",
            "--reason",
            "Les lieux sont déjà accessibles : voir la fiche",
            "--json",
        ],
        None,
    ));
    assert_eq!(decided["status"], "declined");
    assert_eq!(decided["decided_by"], "console");
    refused(&lms(&db, &["adjustment", "decide", &id, "--decline", "--reason", "encore"], None), "already_decided");
    // A referent decides as a person too; someone else is refused.
    let karim = caller(&mut conn, "karim.benali@example.org");
    let new = adjustments::request(&mut conn, &karim, None, "Une table adaptée", lms_core::db::now()).unwrap();
    let decision = AdjustmentDecision::Agree { adjustments: "Table réglable".into(), exam_conditions: None };
    let admin = caller(&mut conn, "admin@demo.tierslieux.example.org");
    let error =
        adjustments::decide(&mut conn, Actor::Person(&admin), &new, &decision, lms_core::db::now()).unwrap_err();
    assert_eq!(error.code(), "not_disability_referent");
    let referent = caller(&mut conn, REFERENT);
    let view = adjustments::decide(&mut conn, Actor::Person(&referent), &new, &decision, lms_core::db::now()).unwrap();
    assert_eq!(view.decided_by.as_deref(), Some("Mathieu Lassalle"));
}

#[test]
fn the_jury_sees_the_exam_conditions_and_the_evidence_holds_no_health_detail() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let jury = ok_json(&lms(&db, &["jury", "list", "--session", "PTL-NA-DEMO-0", "--json"], None));
    let rows = jury.as_array().unwrap();
    let aurelie = rows.iter().find(|d| d["trainee"] == "aurelie.fontaine@example.org").unwrap();
    assert!(aurelie["exam_conditions"].as_str().unwrap().contains("Tiers-temps"), "{aurelie}");
    assert!(
        rows.iter().filter(|d| d["trainee"] != "aurelie.fontaine@example.org").all(|d| d["exam_conditions"].is_null())
    );
    let text = lms(&db, &["jury", "list", "--session", "PTL-NA-DEMO-0"], None);
    assert!(text.stdout.contains("conditions d'examen"), "{}", text.stdout);

    let tables = adjustments::evidence(&mut conn).unwrap();
    assert_eq!(tables.len(), 1);
    let table = &tables[0];
    assert_eq!(table.indicator, 26);
    assert_eq!(table.rows.len(), 2, "{:?}", table.rows);
    assert!(table.description.contains("Données de santé"));
    let all = table.rows.iter().flatten().cloned().collect::<Vec<_>>().join(" | ");
    for private in ["dyslexique", "fauteuil", "Tiers-temps", "police adaptée", "Aurélie", "Fontaine", "Karim"] {
        assert!(!all.contains(private), "{private} in {all}");
    }
    assert!(all.contains("A. F.") && all.contains("Aménagement convenu") && all.contains("En cours d'examen"), "{all}");
}

#[test]
fn convocations_carry_the_pmr_sentence_and_the_referent() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    diesel::update(venues::table.filter(venues::slug.eq("fablab-pau-pau")))
        .set((venues::accessible_pmr.eq(Some(true)), venues::accessibility_note.eq(Some("Entrée par la cour"))))
        .execute(&mut conn)
        .unwrap();
    ok_json(&lms(
        &db,
        &["enrolment", "add", "--session", "ECO-DEMO-PAU", "--trainee", "olivier.moreau@example.org", "--json"],
        None,
    ));
    let (text, html): (String, String) = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::Convocation))
        .filter(outbox_messages::recipient_email.eq("olivier.moreau@example.org"))
        .filter(outbox_messages::text_body.like("%ECO-DEMO-PAU%"))
        .select((outbox_messages::text_body, outbox_messages::html_body))
        .first(&mut conn)
        .unwrap();
    for body in [&text, &html] {
        assert!(body.contains("Accessible aux personnes à mobilité réduite. Entrée par la cour"), "{body}");
        assert!(
            body.contains("référent·e handicap, Mathieu Lassalle — formateur.bearn@demo.tierslieux.example.org"),
            "{body}"
        );
    }
    let olivier = caller(&mut conn, "olivier.moreau@example.org");
    let session = session_id(&mut conn, "ECO-DEMO-PAU");
    let bytes = lms_core::enrolment::convocation_pdf(&mut conn, &session, &olivier, lms_core::db::now()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("convocation.pdf");
    std::fs::write(&path, bytes).unwrap();
    let Ok(output) = std::process::Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(&path).arg("-").output()
    else {
        lms_tests::say_skipped("convocations_carry_the_pmr_sentence_and_the_referent", "pdftotext is not installed");
        return;
    };
    let pdf = String::from_utf8_lossy(&output.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(pdf.contains("Accessible aux personnes à mobilité réduite"), "{pdf}");
    assert!(pdf.contains("Mathieu Lassalle"), "{pdf}");
}

#[tokio::test]
async fn the_enrolment_form_carries_an_optional_request_in_the_same_transaction() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let mut conn = db.conn();
    let hugo = cookie(&app, "lucas.girard@example.org").await;
    let path = "/sessions/ECO-DEMO-LIBOURNE";
    let (status, _, page) = send(&app, get_with_cookies(path, &hugo)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"adjustment_request\""), "{page}");
    let csrf = csrf_field(&page);
    // Without a referent, the enrolment with a request is refused whole.
    lms_core::documents::organisation::set_setting(&mut conn, "quality.disability_referent_email", "").unwrap();
    let enrolments_before: i64 = lms_core::db::schema::enrolments::table.count().get_result(&mut conn).unwrap();
    let before = counts(&mut conn);
    let fields = [("csrf", csrf.as_str()), ("adjustment_request", "Un siège adapté")];
    let (status, _, _) = send(&app, form_request(&format!("{path}/enrol"), &fields, &hugo)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(counts(&mut conn), before);
    let enrolments_after: i64 = lms_core::db::schema::enrolments::table.count().get_result(&mut conn).unwrap();
    assert_eq!(enrolments_after, enrolments_before, "no enrolment either");
    // With the referent back, both are written.
    lms_core::documents::organisation::set_setting(&mut conn, "quality.disability_referent_email", REFERENT).unwrap();
    let (status, _, _) = send(&app, form_request(&format!("{path}/enrol"), &fields, &hugo)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(counts(&mut conn).0, before.0 + 1);
}
