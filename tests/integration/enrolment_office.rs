//! Enrolments run by the office: `lms enrolment add` with a funding plan and a category,
//! `lms enrolment cancel` with a reason, abandonment once a session is under way (the hours stay
//! on the record), the session page that stops offering enrolment and says why, and the BPF
//! reading funding plans. Every refusal writes nothing.

use chrono::Duration;
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::ids::TrainingSessionId;
use lms_core::db::schema::{enrolment_fundings, enrolments, notifications, training_sessions};
use lms_core::enrolment::office::{self, OfficeEnrolment};
use lms_core::enrolment::{self, EnrolmentError, EnrolmentRequest, EnrolmentStatus, FundingPayer};
use lms_core::rights::Actor;
use lms_tests::{CliOutput, Seed, TestDb, get, lms, send, test_app};
use serde_json::Value;

use crate::attendance_support::caller;

const UNDER_WAY: &str = "PTL-NA-DEMO-1";
const FINISHED: &str = "PTL-NA-DEMO-0";
const ONE_DAY: &str = "ACCES-DEMO-ANGOULEME";
const FULL: &str = "ANIM-DEMO-SAINTES";
const FREE_TRAINEE: &str = "nadia.haddad@example.org";

fn session_id(conn: &mut DbConn, reference: &str) -> TrainingSessionId {
    training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::id)
        .first(conn)
        .unwrap()
}

/// Rows that a refusal must leave alone: enrolments, funding lines, notifications.
fn counts(conn: &mut DbConn) -> (i64, i64, i64) {
    (
        enrolments::table.count().get_result(conn).unwrap(),
        enrolment_fundings::table.count().get_result(conn).unwrap(),
        notifications::table.count().get_result(conn).unwrap(),
    )
}

fn status_of(conn: &mut DbConn, session: &TrainingSessionId, email: &str) -> EnrolmentStatus {
    enrolment::list_enrolments(conn, session).unwrap().into_iter().find(|e| e.trainee == email).unwrap().status
}

fn refused(out: &CliOutput, code: &str) {
    assert_eq!(out.code, 1, "stdout: {} stderr: {}", out.stdout, out.stderr);
    assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
}

#[test]
fn the_office_enrols_with_a_funding_plan_and_the_trainee_is_told() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let before = counts(&mut conn);
    let out = lms(
        &db,
        &[
            "--json",
            "enrolment",
            "add",
            "--session",
            ONE_DAY,
            "--trainee",
            FREE_TRAINEE,
            "--funding",
            "opco:200",
            "--funding",
            "employer:149,50",
            "--category",
            "employee",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "confirmed");
    assert_eq!(json["trainee"], FREE_TRAINEE);
    assert_eq!(json["funding_total_cents"], 34_950);
    assert_eq!(json["funding"][0]["payer"], "opco");
    assert_eq!(json["funding"][1]["payer"], "company");
    let after = counts(&mut conn);
    assert_eq!((after.0 - before.0, after.1 - before.1, after.2 - before.2), (1, 2, 1));
    let session = session_id(&mut conn, ONE_DAY);
    let view = enrolment::list_enrolments(&mut conn, &session).unwrap();
    assert_eq!(view[0].funding_source.as_deref(), Some("opco"), "the largest payer is the funding source");
    assert_eq!(view[0].trainee_category.as_deref(), Some("employee"));

    // Twice is a refusal, not a second row.
    let again = lms(&db, &["enrolment", "add", "--session", ONE_DAY, "--trainee", FREE_TRAINEE], None);
    refused(&again, "already_enrolled");
    assert_eq!(counts(&mut conn), after);
}

#[test]
fn a_full_session_puts_the_office_enrolment_on_the_waitlist() {
    let db = TestDb::new(Seed::Demo);
    let out = lms(&db, &["enrolment", "add", "--session", FULL, "--trainee", FREE_TRAINEE], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("liste d'attente, rang 3"), "{}", out.stdout);
}

#[test]
fn bad_office_enrolments_are_refused_and_write_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let before = counts(&mut conn);
    let base = ["enrolment", "add", "--session", ONE_DAY, "--trainee"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![FREE_TRAINEE, "--funding", "opco:300", "--funding", "cpf:50.01"], "funding_exceeds_price"),
        (vec![FREE_TRAINEE, "--funding", "opco"], "invalid_input"),
        (vec![FREE_TRAINEE, "--funding", "opco:-3"], "invalid_input"),
        (vec![FREE_TRAINEE, "--funding", "opco:12.345"], "invalid_input"),
        (vec![FREE_TRAINEE, "--funding", "banque:100"], "invalid_input"),
        (vec![FREE_TRAINEE, "--funding", "opco:10", "--funding", "opco:20"], "duplicate_payer"),
        (vec![FREE_TRAINEE, "--category", "retired"], "invalid_input"),
        (vec!["personne@example.org"], "unknown_trainee"),
        (vec!["formatrice.charente@demo.tierslieux.example.org"], "not_a_trainee"),
    ];
    for (rest, code) in cases {
        let mut args = base.to_vec();
        args.extend(rest);
        refused(&lms(&db, &args, None), code);
        assert_eq!(counts(&mut conn), before, "{args:?} wrote something");
    }
    let out = lms(&db, &["enrolment", "add", "--session", FINISHED, "--trainee", FREE_TRAINEE], None);
    refused(&out, "session_finished");
    let out = lms(&db, &["enrolment", "add", "--session", "NOPE-0", "--trainee", FREE_TRAINEE], None);
    assert_eq!(out.code, 1);
    assert_eq!(counts(&mut conn), before);
}

#[test]
fn a_cancellation_by_the_office_keeps_its_reason_and_promotes_the_waitlist() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, FULL);
    let listed = enrolment::list_enrolments(&mut conn, &session).unwrap();
    let seated = listed.iter().find(|e| e.status == EnrolmentStatus::Confirmed).unwrap().trainee.clone();
    let first_waiting = listed.iter().find(|e| e.waitlist_position == Some(1)).unwrap().trainee.clone();

    let out = lms(
        &db,
        &["--json", "enrolment", "cancel", "--session", FULL, "--trainee", &seated, "--reason", "Financement refusé"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["status"], "cancelled");
    assert_eq!(json["previous_status"], "confirmed");
    assert_eq!(json["promoted_email"], first_waiting.as_str());
    let reason: Option<String> = enrolments::table
        .filter(enrolments::training_session_id.eq(&session))
        .filter(enrolments::status.eq(EnrolmentStatus::Cancelled))
        .select(enrolments::cancel_reason)
        .first(&mut conn)
        .unwrap();
    assert_eq!(reason.as_deref(), Some("Financement refusé"));
    assert_eq!(status_of(&mut conn, &session, &first_waiting), EnrolmentStatus::Confirmed);
}

#[test]
fn a_cancellation_without_a_reason_or_of_a_finished_session_is_refused_and_writes_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, FULL);
    let seated = enrolment::list_enrolments(&mut conn, &session).unwrap()[0].trainee.clone();
    let before = counts(&mut conn);
    for reason in ["", "   "] {
        let out = lms(&db, &["enrolment", "cancel", "--session", FULL, "--trainee", &seated, "--reason", reason], None);
        refused(&out, "reason_required");
    }
    let out = lms(&db, &["enrolment", "cancel", "--session", FULL, "--trainee", &seated], None);
    assert_eq!(out.code, 2, "--reason is required: {}", out.stderr);
    let out = lms(
        &db,
        &["enrolment", "cancel", "--session", FULL, "--trainee", "personne@example.org", "--reason", "x"],
        None,
    );
    refused(&out, "unknown_trainee");
    assert_eq!(counts(&mut conn), before);
    assert_eq!(status_of(&mut conn, &session, &seated), EnrolmentStatus::Confirmed);

    // A session whose last half-day is over: its enrolments no longer change.
    let one_day = session_id(&mut conn, ONE_DAY);
    let request = OfficeEnrolment { trainee_email: FREE_TRAINEE.into(), ..Default::default() };
    let now = lms_core::db::now();
    office::add(&mut conn, Actor::Console, &one_day, &request, now).unwrap();
    let before = counts(&mut conn);
    let later = now + Duration::days(60);
    let refusal = office::cancel(&mut conn, Actor::Console, &one_day, FREE_TRAINEE, "Trop tard", later).unwrap_err();
    assert!(matches!(refusal, EnrolmentError::SessionFinished), "{refusal:?}");
    let who = caller(&mut conn, FREE_TRAINEE);
    let refusal = enrolment::cancel(&mut conn, &one_day, &who, later).unwrap_err();
    assert_eq!(lms_core::Classify::code(&refusal), "session_finished");
    assert_eq!(counts(&mut conn), before);
    assert_eq!(status_of(&mut conn, &one_day, FREE_TRAINEE), EnrolmentStatus::Confirmed);
}

#[test]
fn only_the_office_enrols_others() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, ONE_DAY);
    let trainee = caller(&mut conn, "lea.dubois@example.org");
    let request = OfficeEnrolment { trainee_email: FREE_TRAINEE.into(), ..Default::default() };
    let refusal = office::add(&mut conn, Actor::Person(&trainee), &session, &request, lms_core::db::now()).unwrap_err();
    assert_eq!(lms_core::Classify::code(&refusal), "forbidden");
    let admin = caller(&mut conn, "admin@demo.tierslieux.example.org");
    office::add(&mut conn, Actor::Person(&admin), &session, &request, lms_core::db::now()).unwrap();
}

#[test]
fn after_the_start_a_cancellation_is_an_abandonment_and_the_hours_stay() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, UNDER_WAY);
    let lea = caller(&mut conn, "lea.dubois@example.org");
    let hours_before = lms_core::attendance::attended_minutes(&mut conn, &session, std::slice::from_ref(&lea.user.id))
        .unwrap()[&lea.user.id];
    assert!(hours_before > 0, "the demo records past half-days");
    let seats_before: i32 =
        training_sessions::table.find(&session).select(training_sessions::seats_taken).first(&mut conn).unwrap();

    // The trainee's own cancellation goes through the same path.
    let outcome = enrolment::cancel(&mut conn, &session, &lea, lms_core::db::now()).unwrap();
    assert_eq!(outcome.status, EnrolmentStatus::Abandoned);
    assert_eq!(status_of(&mut conn, &session, "lea.dubois@example.org"), EnrolmentStatus::Abandoned);
    let seats_after: i32 =
        training_sessions::table.find(&session).select(training_sessions::seats_taken).first(&mut conn).unwrap();
    assert_eq!(seats_after, seats_before - 1, "the seat is freed");
    let hours_after = lms_core::attendance::attended_minutes(&mut conn, &session, std::slice::from_ref(&lea.user.id))
        .unwrap()[&lea.user.id];
    assert_eq!(hours_after, hours_before, "attended hours stay on the record");
    let mine = enrolment::my_enrolments(&mut conn, &lea.user.id).unwrap();
    let abandoned = mine.iter().find(|e| e.session.id == session).unwrap();
    assert_eq!(abandoned.attended_minutes, Some(hours_before));
    assert!(abandoned.abandoned_at.is_some());

    // The office's cancellation of another trainee: an abandonment too, with its reason.
    let out = lms(
        &db,
        &["enrolment", "cancel", "--session", UNDER_WAY, "--trainee", "karim.benali@example.org", "--reason", "Santé"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("abandon enregistré"), "{}", out.stdout);
    assert_eq!(status_of(&mut conn, &session, "karim.benali@example.org"), EnrolmentStatus::Abandoned);
}

#[tokio::test]
async fn me_shows_an_abandonment_with_the_hours_attended() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    // The demo's abandonment (gaelle.morin, after the first quarter of the half-days).
    let cookie = lms_tests::browser_login(&app, "gaelle.morin@example.org", "tiers-lieux-demo").await;
    let (status, _, body) = send(&app, lms_tests::get_with_cookies("/me", &format!("lms_session={cookie}"))).await;
    assert_eq!(status, 200);
    let line = body.lines().find(|l| l.contains("Abandon le")).unwrap_or_else(|| panic!("{body}"));
    assert!(line.contains("suivies"), "{line}");
    assert!(!line.contains("— 0 h 00"), "hours attended before dropping out are shown: {line}");
}

#[test]
fn a_trainee_cannot_enrol_once_the_session_is_under_way() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, UNDER_WAY);
    let who = caller(&mut conn, FREE_TRAINEE);
    let before = counts(&mut conn);
    let refusal =
        enrolment::enrol_as(&mut conn, &session, &who, &EnrolmentRequest::default(), lms_core::db::now()).unwrap_err();
    assert_eq!(lms_core::Classify::code(&refusal), "enrolment_closed");
    assert_eq!(counts(&mut conn), before);
}

async fn session_page(db: &TestDb, reference: &str) -> String {
    let app = test_app(db).await;
    let (status, _, body) = send(&app, get(&format!("/sessions/{reference}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn offers_no_enrolment(body: &str) {
    assert!(!body.contains("places restantes"), "no seats offered");
    assert!(!body.contains("place restante"), "no seats offered");
    assert!(!body.contains("Se connecter pour s'inscrire"), "no invitation to enrol");
    assert!(!body.contains("/enrol\""), "no form");
}

#[tokio::test]
async fn the_session_page_says_why_enrolment_is_not_offered() {
    let db = TestDb::new(Seed::Demo);
    let open = session_page(&db, ONE_DAY).await;
    assert!(open.contains("places restantes"), "an open session offers its seats");
    assert!(open.contains("Se connecter pour s'inscrire"));

    let under_way = session_page(&db, UNDER_WAY).await;
    offers_no_enrolment(&under_way);
    assert!(under_way.contains("Session en cours"));

    let finished = session_page(&db, FINISHED).await;
    offers_no_enrolment(&finished);
    assert!(finished.contains("Session terminée"));

    // The enrolment window closed yesterday, before the first half-day.
    let mut conn = db.conn();
    let yesterday = lms_core::db::now() - Duration::days(1);
    diesel::update(training_sessions::table.filter(training_sessions::reference.eq(ONE_DAY)))
        .set(training_sessions::enrolment_closes_at.eq(Some(yesterday)))
        .execute(&mut conn)
        .unwrap();
    let closed = session_page(&db, ONE_DAY).await;
    offers_no_enrolment(&closed);
    assert!(closed.contains("Inscriptions closes le"), "{closed}");

    let out = lms(&db, &["session", "cancel", ONE_DAY, "--reason", "Lieu indisponible"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cancelled = session_page(&db, ONE_DAY).await;
    offers_no_enrolment(&cancelled);
    assert!(cancelled.contains("Session annulée"));
}

#[test]
fn the_bpf_reads_income_from_funding_plans() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session_id(&mut conn, ONE_DAY);
    let year: i32 = {
        let starts_on: chrono::NaiveDate =
            training_sessions::table.find(&session).select(training_sessions::starts_on).first(&mut conn).unwrap();
        chrono::Datelike::year(&starts_on)
    };
    let before = lms_core::reports::bpf::bpf_report(&mut conn, year).unwrap();
    let request = OfficeEnrolment {
        trainee_email: FREE_TRAINEE.into(),
        funding: vec![
            lms_core::enrolment::Funding { payer: FundingPayer::Region, amount_cents: 20_000 },
            lms_core::enrolment::Funding { payer: FundingPayer::SelfFunded, amount_cents: 5_000 },
        ],
        category: None,
    };
    office::add(&mut conn, Actor::Console, &session, &request, lms_core::db::now()).unwrap();
    let after = lms_core::reports::bpf::bpf_report(&mut conn, year).unwrap();
    let line = |r: &lms_core::reports::bpf::BpfReport, k: &str| r.c_income.by_payer.get(k).copied().unwrap_or(0);
    assert_eq!(line(&after, "region") - line(&before, "region"), 20_000);
    assert_eq!(line(&after, "self_funded") - line(&before, "self_funded"), 5_000);
    assert_eq!(after.c_income.total_cents - before.c_income.total_cents, 25_000, "the plan, not the price");
}
