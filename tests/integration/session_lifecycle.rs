//! A session's lifecycle from the command line: its schedule as `lms session show` reports it,
//! cancellation (enrolments ended, people told, gone from search) and unpublishing, with refusals
//! that write nothing.

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::catalogue::{self, Near, NewTrainingSession, PlannedDay, SearchQuery, TrainingSessionStatus};
use lms_core::db::ids::{TrainingSessionId, UserId};
use lms_core::db::schema::{enrolments, notifications, training_sessions};
use lms_core::enrolment::{self, EnrolmentRequest};
use lms_core::geo::TravelModel;
use lms_core::people::{self, Role};
use lms_tests::{CliOutput, Seed, TestDb, lms};
use serde_json::Value;

use crate::attendance_support::caller;

const TRAINER: &str = "formatrice@example.org";

/// A published two-day session at Saintes with one trainer, `capacity` seats, and `trainees`
/// trainees enrolled in order (the last ones waitlisted when more than the capacity).
fn session_with(db: &TestDb, capacity: i32, trainees: usize) -> (TrainingSessionId, Vec<UserId>) {
    let mut conn = db.conn();
    people::add_user_without_password(&mut conn, TRAINER, "Formatrice", Role::Trainer).unwrap();
    let start = catalogue::next_working_day(
        catalogue::paris_today() + chrono::Duration::days(20),
        catalogue::HolidayRegion::General,
    );
    let days = catalogue::consecutive_working_days(start, 2, catalogue::HolidayRegion::General).unwrap();
    let session = catalogue::create_training_session(
        &mut conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: days.into_iter().map(|date| PlannedDay { date, venue_slug: "cowork-etc-saintes".into() }).collect(),
            capacity,
            trainer_emails: vec![TRAINER.into()],
            publish: true,
            reference: None,
        },
    )
    .unwrap()
    .id;
    let people: Vec<UserId> = (0..trainees)
        .map(|i| {
            let email = format!("stagiaire{i}@example.org");
            let user = people::add_user_without_password(&mut conn, &email, &format!("Stagiaire {i}"), Role::Trainee)
                .unwrap()
                .id;
            let who = caller(&mut conn, &email);
            enrolment::enrol_as(&mut conn, &session, &who, &EnrolmentRequest::default(), lms_core::db::now()).unwrap();
            user
        })
        .collect();
    (session, people)
}

fn status_of(conn: &mut DbConn, session: &TrainingSessionId) -> TrainingSessionStatus {
    catalogue::find_training_session(conn, session).unwrap().status
}

fn enrolment_statuses(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<String> {
    enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .order(enrolments::created_at.asc())
        .select(enrolments::status)
        .load(conn)
        .unwrap()
}

fn notification_count(conn: &mut DbConn) -> i64 {
    notifications::table.count().get_result(conn).unwrap()
}

fn found_near_saintes(conn: &mut DbConn, session: &TrainingSessionId) -> bool {
    let query = SearchQuery { minutes: Some(60), ..SearchQuery::near(Near::Text("Saintes".into())) };
    catalogue::search_sessions(conn, &query, &TravelModel::default()).unwrap().sessions.iter().any(|s| s.id == *session)
}

fn refused(out: &CliOutput, code: &str, words: &[&str]) {
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", out.stderr);
    for word in words {
        assert!(out.stderr.contains(word), "« {word} » missing from {}", out.stderr);
    }
}

#[test]
fn show_lists_each_half_day_with_paris_hours_venue_and_status() {
    let db = TestDb::new(Seed::Reference);
    let (session, _) = session_with(&db, 5, 0);
    let out = lms(&db, &["session", "show", &session.to_string(), "--json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    let half_days = shown["half_days"].as_array().unwrap();
    assert_eq!(half_days.len(), 4, "two days, two half-days each");
    let hours: Vec<(&str, &str, &str)> = half_days
        .iter()
        .map(|h| (h["slot"].as_str().unwrap(), h["start"].as_str().unwrap(), h["end"].as_str().unwrap()))
        .collect();
    assert_eq!(hours[0], ("morning", "09:00", "12:30"), "Paris time, not UTC");
    assert_eq!(hours[1], ("afternoon", "13:30", "17:00"));
    for h in half_days {
        assert_eq!(h["venue"], "cowork-etc-saintes");
        assert_eq!(h["status"], "scheduled");
        assert!(h["id"].is_string() && h["date"].is_string());
    }
    let cancel = lms(&db, &["session", "cancel", &session.to_string(), "--reason", "Salle indisponible"], None);
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    let out = lms(&db, &["session", "show", &session.to_string(), "--json"], None);
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(shown["half_days"].as_array().unwrap().iter().all(|h| h["status"] == "cancelled"));
}

#[test]
fn cancelling_ends_every_enrolment_tells_everyone_and_leaves_search() {
    let db = TestDb::new(Seed::Reference);
    let (session, trainees) = session_with(&db, 2, 3);
    let mut conn = db.conn();
    assert!(found_near_saintes(&mut conn, &session));
    assert_eq!(enrolment_statuses(&mut conn, &session), ["confirmed", "confirmed", "waitlisted"]);
    let before = notification_count(&mut conn);

    let out = lms(
        &db,
        &["session", "cancel", &session.to_string(), "--reason", "  Formatrice malade, session reportée  ", "--json"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(shown["confirmed"], 0);
    assert_eq!(shown["waitlisted"], 0);

    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Cancelled);
    let (reason, seats): (Option<String>, i32) = training_sessions::table
        .find(&session)
        .select((training_sessions::cancelled_reason, training_sessions::seats_taken))
        .first(&mut conn)
        .unwrap();
    assert_eq!(reason.as_deref(), Some("Formatrice malade, session reportée"), "trimmed");
    assert_eq!(seats, 0);
    assert_eq!(enrolment_statuses(&mut conn, &session), ["cancelled", "cancelled", "cancelled"]);
    let cancelled: Vec<(Option<chrono::NaiveDateTime>, Option<String>)> = enrolments::table
        .filter(enrolments::training_session_id.eq(&session))
        .select((enrolments::cancelled_at, enrolments::cancel_reason))
        .load(&mut conn)
        .unwrap();
    assert!(cancelled.iter().all(|(at, _)| at.is_some()));
    assert!(
        cancelled.iter().all(|(_, why)| why.as_deref() == Some("Formatrice malade, session reportée")),
        "each enrolment keeps the reason: {cancelled:?}"
    );
    assert!(!found_near_saintes(&mut conn, &session), "a cancelled session leaves search");

    // Three trainees and the trainer, one notification each, naming the session and the reason.
    assert_eq!(notification_count(&mut conn), before + 4);
    let title = catalogue::find_training_session(&mut conn, &session).unwrap().course_title;
    let trainer = people::find_user_by_email(&mut conn, TRAINER).unwrap().id;
    for user in trainees.iter().chain([&trainer]) {
        let mine = lms_core::notifications::recent_notifications(&mut conn, user, 10).unwrap();
        assert_eq!(mine.len(), 1, "{user}");
        assert_eq!(mine[0].kind, lms_core::notifications::NotificationKind::SessionCancelled);
        assert!(mine[0].message.contains(&format!("« {title} »")), "{}", mine[0].message);
        assert!(mine[0].message.contains("Formatrice malade, session reportée"), "{}", mine[0].message);
        assert_eq!(mine[0].link.as_deref(), Some(format!("/sessions/{session}").as_str()));
    }
}

#[test]
fn cancelling_refuses_bad_reasons_and_finished_sessions_writing_nothing() {
    let db = TestDb::new(Seed::Reference);
    let (session, _) = session_with(&db, 2, 3);
    let id = session.to_string();
    let mut conn = db.conn();
    let before = notification_count(&mut conn);
    let long = "x".repeat(501);
    for reason in ["", "   ", long.as_str()] {
        let out = lms(&db, &["session", "cancel", &id, "--reason", reason], None);
        refused(&out, "invalid_input", &["motif"]);
    }
    let out = lms(&db, &["session", "cancel", &id], None);
    assert_eq!(out.code, 2, "clap refuses a missing --reason: {}", out.stderr);
    let out = lms(&db, &["session", "cancel", "PAS-UNE-SESSION", "--reason", "motif"], None);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Published);
    assert_eq!(enrolment_statuses(&mut conn, &session), ["confirmed", "confirmed", "waitlisted"]);
    assert_eq!(notification_count(&mut conn), before);

    // 500 characters exactly is accepted; a second cancellation is refused and tells nobody again.
    let exact = "é".repeat(500);
    let out = lms(&db, &["session", "cancel", &id, "--reason", &exact], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = notification_count(&mut conn);
    let out = lms(&db, &["session", "cancel", &id, "--reason", "encore"], None);
    refused(&out, "wrong_status", &["annuler", "Annulée"]);
    assert_eq!(notification_count(&mut conn), after);

    // A completed session cannot be cancelled either.
    diesel::update(training_sessions::table.find(&session))
        .set(training_sessions::status.eq(TrainingSessionStatus::Completed))
        .execute(&mut conn)
        .unwrap();
    let out = lms(&db, &["session", "cancel", &id, "--reason", "trop tard"], None);
    refused(&out, "wrong_status", &["Terminée"]);
    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Completed);
}

#[test]
fn unpublishing_needs_a_published_session_nobody_holds_or_waits_for() {
    let db = TestDb::new(Seed::Reference);
    let (session, trainees) = session_with(&db, 1, 2);
    let id = session.to_string();
    let mut conn = db.conn();
    let out = lms(&db, &["session", "unpublish", &id], None);
    refused(&out, "wrong_status", &["2 inscription(s)", "liste d'attente"]);
    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Published);

    // Once both have withdrawn, the session goes back to draft and leaves search.
    for (i, _) in trainees.iter().enumerate().rev() {
        let who = caller(&mut conn, &format!("stagiaire{i}@example.org"));
        enrolment::cancel(&mut conn, &session, &who, lms_core::db::now()).unwrap();
    }
    assert!(found_near_saintes(&mut conn, &session));
    let out = lms(&db, &["session", "unpublish", &id, "--json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shown: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(shown["status"], "draft");
    assert!(!found_near_saintes(&mut conn, &session));

    // A draft (or a cancelled session) cannot be unpublished.
    let out = lms(&db, &["session", "unpublish", &id], None);
    refused(&out, "wrong_status", &["publiée", "Brouillon"]);
    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Draft);
    let out = lms(&db, &["session", "cancel", &id, "--reason", "abandon du projet"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = lms(&db, &["session", "unpublish", &id], None);
    refused(&out, "wrong_status", &["Annulée"]);
}

fn session_count(conn: &mut DbConn) -> usize {
    catalogue::list_training_sessions(conn, &Default::default()).unwrap().len()
}

#[test]
fn a_trainer_cannot_teach_two_half_days_at_once_in_either_creation_form() {
    let db = TestDb::new(Seed::Reference);
    let (session, _) = session_with(&db, 5, 0);
    let mut conn = db.conn();
    let first = catalogue::find_training_session(&mut conn, &session).unwrap();
    let before = session_count(&mut conn);

    // Consecutive days starting on the first session's first day, elsewhere.
    let start = first.start.to_string();
    let consecutive = ["--venue", "fabrique-pola-begles", "--start", start.as_str(), "--days", "1"];
    let mut args = vec!["session", "create", "--course", "ANIM", "--capacity", "6", "--trainer", TRAINER];
    args.extend(consecutive);
    let out = lms(&db, &args, None);
    refused(&out, "schedule_conflict", &[&first.reference, &start]);
    assert_eq!(session_count(&mut conn), before, "nothing written");

    // A schedule whose one afternoon overlaps the first session's first afternoon by an hour.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calendrier.csv");
    std::fs::write(
        &path,
        format!("date,slot,start,end,venue,module\n{start},afternoon,16:00,18:00,crealab-angouleme,\n"),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let scheduled = ["session", "create", "--course", "ANIM", "--capacity", "6", "--schedule", path];
    let out = lms(&db, &[&scheduled[..], &["--trainer", TRAINER]].concat(), None);
    refused(&out, "schedule_conflict", &[&first.reference, "après-midi"]);
    assert_eq!(session_count(&mut conn), before, "nothing written");

    // Without that trainer, or once the first session is cancelled, the same schedule is fine.
    let out = lms(&db, &scheduled, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = lms(&db, &["session", "cancel", &session.to_string(), "--reason", "Lieu fermé"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = lms(&db, &[&scheduled[..], &["--trainer", TRAINER]].concat(), None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(session_count(&mut conn), before + 2);
}

#[test]
fn only_the_office_runs_a_sessions_lifecycle() {
    let db = TestDb::new(Seed::Reference);
    let (session, _) = session_with(&db, 2, 1);
    let mut conn = db.conn();
    let trainer = caller(&mut conn, TRAINER);
    let before = notification_count(&mut conn);
    let refusals = [
        catalogue::cancel_training_session(
            &mut conn,
            lms_core::rights::Actor::Person(&trainer),
            &session,
            "Pas de quorum",
            lms_core::db::now(),
        )
        .unwrap_err(),
        catalogue::unpublish_training_session(
            &mut conn,
            lms_core::rights::Actor::Person(&trainer),
            &session,
            lms_core::db::now(),
        )
        .unwrap_err(),
        catalogue::publish_training_session(&mut conn, lms_core::rights::Actor::Person(&trainer), &session)
            .unwrap_err(),
    ];
    for refusal in refusals {
        assert_eq!(lms_core::Classify::code(&refusal), "forbidden", "{refusal}");
    }
    assert_eq!(status_of(&mut conn, &session), TrainingSessionStatus::Published, "nothing changed");
    assert_eq!(enrolment_statuses(&mut conn, &session), ["confirmed"]);
    assert_eq!(notification_count(&mut conn), before);
}
