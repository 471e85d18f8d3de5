//! Changing a session after it is published, from the command line: moving a half-day (history,
//! sequence, dates, notifications), trainers added and removed, capacity changed; every refusal
//! writes nothing. The public session page lists the periods by venue.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::catalogue::{self, HolidayRegion, NewTrainingSession, PlannedDay};
use lms_core::db::ids::TrainingSessionId;
use lms_core::db::schema::{
    attendance_entries, enrolments, half_day_changes, half_days, notifications, session_trainers, training_sessions,
};
use lms_core::enrolment::{self, EnrolmentRequest};
use lms_core::people::{self, Role};
use lms_tests::{CliOutput, Seed, TestDb, get, lms, send, test_app};
use serde_json::Value;

use crate::attendance_support::caller;

const TRAINER: &str = "formatrice@example.org";
const OTHER_TRAINER: &str = "formateur@example.org";
const SAINTES: &str = "cowork-etc-saintes";
const BEGLES: &str = "fabrique-pola-begles";

fn working_day(days: i64) -> NaiveDate {
    catalogue::next_working_day(catalogue::paris_today() + Duration::days(days), HolidayRegion::General)
}

fn next_working(date: NaiveDate) -> NaiveDate {
    catalogue::next_working_day(date + Duration::days(1), HolidayRegion::General)
}

/// The days the tests use: a two-day session on d1–d2, free days d3, d5, d6 well after it.
struct Days {
    d1: NaiveDate,
    d2: NaiveDate,
    d3: NaiveDate,
    d5: NaiveDate,
    d6: NaiveDate,
}

fn days() -> Days {
    let d1 = working_day(20);
    let d2 = next_working(d1);
    let d3 = next_working(d2 + Duration::days(7));
    let d5 = next_working(d3 + Duration::days(7));
    let d6 = next_working(d5 + Duration::days(7));
    Days { d1, d2, d3, d5, d6 }
}

fn ensure_person(conn: &mut DbConn, email: &str, role: Role) {
    if people::user_id_by_email(conn, email).unwrap().is_none() {
        people::add_user_without_password(conn, email, email, role).unwrap();
    }
}

/// A published session on `dates` at `venue`, taught by `trainers`, with `trainees` enrolled in order.
fn session_on(
    db: &TestDb,
    dates: &[NaiveDate],
    venue: &str,
    capacity: i32,
    trainers: &[&str],
    trainees: &[&str],
) -> TrainingSessionId {
    let mut conn = db.conn();
    for t in trainers {
        ensure_person(&mut conn, t, Role::Trainer);
    }
    let session = catalogue::create_training_session(
        &mut conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: dates.iter().map(|&date| PlannedDay { date, venue_slug: venue.into() }).collect(),
            capacity,
            trainer_emails: trainers.iter().map(|t| t.to_string()).collect(),
            publish: true,
            reference: None,
        },
    )
    .unwrap()
    .id;
    for email in trainees {
        ensure_person(&mut conn, email, Role::Trainee);
        let who = caller(&mut conn, email);
        enrolment::enrol_as(&mut conn, &session, &who, &EnrolmentRequest::default(), lms_core::db::now()).unwrap();
    }
    session
}

fn trainees(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("stagiaire{i}@example.org")).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn reference_of(conn: &mut DbConn, session: &TrainingSessionId) -> String {
    training_sessions::table.find(session).select(training_sessions::reference).first(conn).unwrap()
}

/// Everything a change could write: half-days, history, notifications, trainers, seats, enrolments.
fn state(conn: &mut DbConn) -> String {
    let half: Vec<(String, NaiveDate, String, chrono::NaiveDateTime, String, i32)> = half_days::table
        .order(half_days::id.asc())
        .select((
            half_days::id,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::venue_id,
            half_days::sequence,
        ))
        .load(conn)
        .unwrap();
    let sessions: Vec<(String, NaiveDate, NaiveDate, String, i32, i32)> = training_sessions::table
        .order(training_sessions::id.asc())
        .select((
            training_sessions::id,
            training_sessions::starts_on,
            training_sessions::ends_on,
            training_sessions::main_venue_id,
            training_sessions::capacity,
            training_sessions::seats_taken,
        ))
        .load(conn)
        .unwrap();
    let changes: i64 = half_day_changes::table.count().get_result(conn).unwrap();
    let told: i64 = notifications::table.count().get_result(conn).unwrap();
    let trainers: i64 = session_trainers::table.count().get_result(conn).unwrap();
    let statuses: Vec<(String, String)> =
        enrolments::table.order(enrolments::id.asc()).select((enrolments::id, enrolments::status)).load(conn).unwrap();
    format!("{half:?}\n{sessions:?}\n{changes} {told} {trainers}\n{statuses:?}")
}

fn refused(db: &TestDb, args: &[&str], code: &str, words: &[&str]) {
    let before = state(&mut db.conn());
    let out = lms(db, args, None);
    assert_eq!(out.code, 1, "{args:?}\n{}", out.stdout);
    assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{args:?}: {}", out.stderr);
    for word in words {
        assert!(out.stderr.contains(word), "« {word} » missing from {}", out.stderr);
    }
    assert_eq!(state(&mut db.conn()), before, "nothing written for {args:?}");
}

fn ok_json(out: &CliOutput) -> Value {
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn moving_a_half_day_keeps_history_raises_sequence_moves_dates_and_tells_everyone() {
    let db = TestDb::new(Seed::Reference);
    let Days { d1, d2, d3, .. } = days();
    let people = trainees(3);
    // Two seats: two confirmed, one waitlisted; all three are told, as is the trainer.
    let session = session_on(&db, &[d1, d2], SAINTES, 2, &[TRAINER], &refs(&people));
    let id = session.to_string();
    let mut conn = db.conn();
    let shown = ok_json(&lms(&db, &["session", "show", &id, "--json"], None));
    assert_eq!(shown["changes"], Value::Array(vec![]));
    let last = shown["half_days"][3]["id"].as_str().unwrap().to_string();
    let told_before: i64 = notifications::table.count().get_result(&mut conn).unwrap();

    let moved = ok_json(&lms(
        &db,
        &[
            "session",
            "reschedule",
            &id,
            "--half-day",
            &format!("{d2}:afternoon"),
            "--date",
            &d3.to_string(),
            "--start",
            "14:00",
            "--end",
            "17:30",
            "--venue",
            BEGLES,
            "--reason",
            "  Salle de Saintes prise par un mariage  ",
            "--json",
        ],
        None,
    ));
    assert_eq!(moved["half_day"], last.as_str(), "the half-day keeps its id");
    assert_eq!(moved["before"]["date"], d2.to_string());
    assert_eq!(moved["before"]["venue"], SAINTES);
    assert_eq!((moved["before"]["start"].as_str(), moved["before"]["end"].as_str()), (Some("13:30"), Some("17:00")));
    assert_eq!(moved["after"]["date"], d3.to_string());
    assert_eq!(moved["after"]["venue"], BEGLES);
    assert_eq!((moved["after"]["start"].as_str(), moved["after"]["end"].as_str()), (Some("14:00"), Some("17:30")));
    assert_eq!(moved["reason"], "Salle de Saintes prise par un mariage", "trimmed");
    assert_eq!(moved["changed_by"], Value::Null, "the console");

    let (day, sequence, minutes): (NaiveDate, i32, i32) = half_days::table
        .filter(half_days::id.eq(&last))
        .select((half_days::day, half_days::sequence, half_days::minutes))
        .first(&mut conn)
        .unwrap();
    assert_eq!((day, sequence, minutes), (d3, 1, 210));
    let untouched: Vec<i32> = half_days::table
        .filter(half_days::training_session_id.eq(&session))
        .filter(half_days::id.ne(&last))
        .select(half_days::sequence)
        .load(&mut conn)
        .unwrap();
    assert_eq!(untouched, [0, 0, 0]);
    let view = catalogue::find_training_session(&mut conn, &session).unwrap();
    assert_eq!((view.start, view.end), (d1, d3), "the last day follows");
    assert_eq!(view.venue, SAINTES, "three half-days of four stay at Saintes");

    let changes: Vec<(Option<String>, String)> = half_day_changes::table
        .filter(half_day_changes::training_session_id.eq(&session))
        .select((half_day_changes::changed_by, half_day_changes::reason))
        .load(&mut conn)
        .unwrap();
    assert_eq!(changes, [(None, "Salle de Saintes prise par un mariage".to_string())]);
    let messages: Vec<(String, String)> = notifications::table
        .filter(notifications::kind.eq("half_day_moved"))
        .select((notifications::user_id, notifications::message))
        .load(&mut conn)
        .unwrap();
    let told_after: i64 = notifications::table.count().get_result(&mut conn).unwrap();
    assert_eq!(told_after - told_before, 4, "three trainees (waitlist included) and the trainer");
    assert_eq!(messages.len(), 4);
    for (_, message) in &messages {
        assert!(message.starts_with("La demi-journée du "), "{message}");
        assert!(message.contains("est déplacée au") && message.contains("Fabrique Pola"), "{message}");
        assert!(message.ends_with(": Salle de Saintes prise par un mariage"), "{message}");
    }

    let shown = ok_json(&lms(&db, &["session", "show", &id, "--json"], None));
    assert_eq!(shown["changes"].as_array().unwrap().len(), 1);
    assert_eq!(shown["changes"][0]["after"]["venue"], BEGLES);
    let text = lms(&db, &["session", "show", &id], None);
    assert!(text.stdout.contains("Salle de Saintes prise par un mariage"), "{}", text.stdout);

    // A slot alone takes that slot's usual hours; the first day moving moves the start.
    let again = ok_json(&lms(
        &db,
        &[
            "session",
            "reschedule",
            view.reference.as_str(),
            "--half-day",
            &format!("{d1}:morning"),
            "--date",
            &d2.to_string(),
            "--slot",
            "afternoon",
            "--reason",
            "Train du matin supprimé",
            "--json",
        ],
        None,
    ));
    assert_eq!((again["after"]["start"].as_str(), again["after"]["end"].as_str()), (Some("13:30"), Some("17:00")));
    let view = catalogue::find_training_session(&mut conn, &session).unwrap();
    assert_eq!(view.start, d1, "d1 afternoon is still there");
}

#[test]
fn refused_moves_write_nothing() {
    let db = TestDb::new(Seed::Reference);
    let Days { d1, d2, d5, d6, .. } = days();
    let people = trainees(2);
    let session = session_on(&db, &[d1, d2], SAINTES, 1, &[TRAINER], &refs(&people));
    let id = session.to_string();
    // The trainer teaches elsewhere on d5; the confirmed trainee has a seat elsewhere on d6.
    let busy_trainer = session_on(&db, &[d5], BEGLES, 4, &[TRAINER], &[]);
    let busy_trainee = session_on(&db, &[d6], BEGLES, 4, &[OTHER_TRAINER], &[people[0].as_str()]);
    let mut conn = db.conn();
    let (busy_trainer, busy_trainee) = (reference_of(&mut conn, &busy_trainer), reference_of(&mut conn, &busy_trainee));
    let hd = format!("{d1}:morning");
    let move_to = |extra: &[&str], reason: &str| -> Vec<String> {
        let mut args: Vec<String> = ["session", "reschedule", &id, "--half-day", &hd, "--reason", reason]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let check = |extra: &[&str], reason: &str, code: &str, words: &[&str]| {
        let args = move_to(extra, reason);
        refused(&db, &refs(&args), code, words);
    };
    let saturday = {
        let mut day = d2;
        while chrono::Datelike::weekday(&day) != chrono::Weekday::Sat {
            day += Duration::days(1);
        }
        day
    };
    let ascension = catalogue::easter_sunday(chrono::Datelike::year(&d1) + 1).unwrap() + Duration::days(39);
    let past = catalogue::next_working_day(catalogue::paris_today() - Duration::days(14), HolidayRegion::General);

    check(&["--date", &d5.to_string()], "  ", "invalid_input", &["motif requis"]);
    check(&["--date", &d5.to_string()], "ok", "invalid_input", &["motif requis"]);
    check(&[], "Aucun changement", "invalid_input", &["rien à changer"]);
    check(&["--venue", "nulle-part"], "Changement de lieu", "unknown_venue", &["nulle-part"]);
    check(&["--start", "12:00", "--end", "10:00"], "Horaires", "invalid_schedule", &["la fin"]);
    check(&["--start", "15:00", "--end", "18:00"], "Horaires", "invalid_schedule", &["matin"]);
    check(&["--date", &ascension.to_string()], "Report", "non_working_day", &["Ascension"]);
    check(&["--date", &saturday.to_string()], "Report", "non_working_day", &["samedi"]);
    check(&["--date", &past.to_string()], "Report", "invalid_schedule", &["passé"]);
    check(&["--slot", "afternoon"], "Inversion", "invalid_schedule", &["déjà une demi-journée"]);
    check(&["--start", "09:00", "--end", "14:00"], "Prolongation", "invalid_schedule", &["chevauche"]);
    check(&["--date", &d5.to_string()], "Report", "schedule_conflict", &[&busy_trainer]);
    check(&["--date", &d6.to_string()], "Report", "schedule_conflict", &[&busy_trainee]);
    refused(
        &db,
        &[
            "session",
            "reschedule",
            &id,
            "--half-day",
            "2000-01-01:morning",
            "--date",
            &d5.to_string(),
            "--reason",
            "Report",
        ],
        "unknown_half_day",
        &["2000-01-01"],
    );
    let cancel = lms(&db, &["session", "cancel", &id, "--reason", "Plus de formatrice"], None);
    assert_eq!(cancel.code, 0, "{}", cancel.stderr);
    check(&["--date", &d3_after(d2).to_string()], "Report", "wrong_status", &["Annulée"]);
}

fn d3_after(d: NaiveDate) -> NaiveDate {
    next_working(d + Duration::days(7))
}

#[test]
fn a_half_day_with_attendance_stays_where_it_was() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session: String = training_sessions::table
        .filter(training_sessions::reference.eq("PTL-NA-DEMO-1"))
        .select(training_sessions::id)
        .first(&mut conn)
        .unwrap();
    let signed: String = attendance_entries::table
        .filter(attendance_entries::training_session_id.eq(&session))
        .select(attendance_entries::half_day_id)
        .first(&mut conn)
        .unwrap();
    let later = working_day(400);
    refused(
        &db,
        &[
            "session",
            "reschedule",
            "PTL-NA-DEMO-1",
            "--half-day",
            &signed,
            "--date",
            &later.to_string(),
            "--reason",
            "Report",
        ],
        "half_day_has_attendance",
        &["émargements"],
    );
}

#[test]
fn trainers_are_added_and_removed_with_clear_refusals() {
    let db = TestDb::new(Seed::Reference);
    let Days { d1, d2, .. } = days();
    let session = session_on(&db, &[d1, d2], SAINTES, 4, &[TRAINER], &["stagiaire@example.org"]);
    let id = session.to_string();
    let mut conn = db.conn();
    ensure_person(&mut conn, OTHER_TRAINER, Role::Trainer);
    ensure_person(&mut conn, "occupee@example.org", Role::Trainer);
    let elsewhere = session_on(&db, &[d2], BEGLES, 4, &["occupee@example.org"], &[]);
    let elsewhere = reference_of(&mut conn, &elsewhere);

    refused(&db, &["session", "trainers", &id, "--add", TRAINER], "already_trainer", &[TRAINER]);
    refused(&db, &["session", "trainers", &id, "--add", "personne@example.org"], "unknown_trainer", &["personne@"]);
    refused(&db, &["session", "trainers", &id, "--add", "stagiaire@example.org"], "not_a_trainer", &["rôle formateur"]);
    refused(&db, &["session", "trainers", &id, "--add", "occupee@example.org"], "schedule_conflict", &[&elsewhere]);
    refused(&db, &["session", "trainers", &id, "--remove", OTHER_TRAINER], "not_session_trainer", &[OTHER_TRAINER]);
    refused(&db, &["session", "trainers", &id, "--remove", TRAINER], "last_trainer", &["dernier formateur"]);

    let added = ok_json(&lms(&db, &["session", "trainers", &id, "--add", OTHER_TRAINER, "--json"], None));
    let emails: Vec<&str> =
        added["trainers"].as_array().unwrap().iter().map(|t| t["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [OTHER_TRAINER, TRAINER]);
    let removed = ok_json(&lms(&db, &["session", "trainers", &id, "--remove", TRAINER, "--json"], None));
    assert_eq!(removed["trainers"].as_array().unwrap().len(), 1);
    let kinds: Vec<String> = notifications::table
        .filter(notifications::kind.eq_any(["trainer_assigned", "trainer_removed"]))
        .order(notifications::created_at.asc())
        .select(notifications::kind)
        .load(&mut conn)
        .unwrap();
    assert_eq!(kinds, ["trainer_assigned", "trainer_removed"]);
    let clap = lms(&db, &["session", "trainers", &id], None);
    assert_eq!(clap.code, 2, "--add or --remove is required");
}

#[test]
fn capacity_never_drops_below_confirmed_and_a_raise_promotes_the_waitlist() {
    let db = TestDb::new(Seed::Reference);
    let Days { d1, d2, .. } = days();
    let people = trainees(4);
    let session = session_on(&db, &[d1, d2], SAINTES, 2, &[TRAINER], &refs(&people));
    let id = session.to_string();
    refused(&db, &["session", "capacity", &id, "1"], "capacity_below_confirmed", &["2 inscriptions confirmées"]);
    refused(&db, &["session", "capacity", &id, "0"], "invalid_input", &["capacité invalide"]);
    refused(&db, &["session", "capacity", &id, "501"], "invalid_input", &["capacité invalide"]);

    let raised = ok_json(&lms(&db, &["session", "capacity", &id, "3", "--json"], None));
    assert_eq!((raised["capacity"].as_i64(), raised["confirmed"].as_i64()), (Some(3), Some(3)));
    assert_eq!(raised["waitlisted"], 1);
    assert_eq!(raised["promoted"], serde_json::json!([people[2]]), "first come, first served");
    let raised = ok_json(&lms(&db, &["session", "capacity", &id, "10", "--json"], None));
    assert_eq!(raised["promoted"], serde_json::json!([people[3]]));
    assert_eq!((raised["confirmed"].as_i64(), raised["waitlisted"].as_i64()), (Some(4), Some(0)));
    let promoted: i64 = notifications::table
        .filter(notifications::kind.eq("waitlist_promoted"))
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(promoted, 2);
    let lowered = ok_json(&lms(&db, &["session", "capacity", &id, "4", "--json"], None));
    assert_eq!(lowered["seats_left"], 0);
}

#[tokio::test]
async fn the_session_page_lists_its_periods_by_venue() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (status, _, body) = send(&app, get("/sessions/PTL-NA-DEMO-2")).await;
    assert_eq!(status, 200);
    let page = body;
    let venues = ["rupellab-la-rochelle", "la-quincaillerie-gueret", "fablab-pau-pau", "le-phare-limoges"];
    let mut at = 0;
    for slug in venues {
        let link = format!("href=\"/lieux/{slug}\"");
        let found = page[at..].find(&link).map(|i| i + at);
        assert!(found.is_some(), "{slug} listed after the previous venue");
        at = found.unwrap_or(at);
    }
    // Five days at each of four places; the demo's first morning starts half an hour late.
    assert_eq!(page.matches("10 demi-journées ici, 35\u{a0}h").count(), 3, "{page}");
    assert_eq!(page.matches("10 demi-journées ici, 34\u{a0}h\u{a0}30").count(), 1);
    assert!(page.contains("9 h 30 – 12 h 30"), "the moved half-day's new hours");
    assert!(page.contains("dans 4 lieux"), "the page says the session moves");
    assert!(page.contains("Accès de plain-pied"));
    assert!(!page.contains('≈'), "no single travel estimate for a session held in four places");
}

#[test]
fn only_an_administrator_or_the_console_changes_a_session() {
    use lms_core::Classify;
    use lms_core::rights::Actor;
    let db = TestDb::new(Seed::Reference);
    let Days { d1, d2, d3, .. } = days();
    let session = session_on(&db, &[d1, d2], SAINTES, 2, &[TRAINER], &["stagiaire@example.org"]);
    let mut conn = db.conn();
    let before = state(&mut conn);
    let now = lms_core::db::now();
    for email in [TRAINER, "stagiaire@example.org"] {
        let who = caller(&mut conn, email);
        let change = catalogue::HalfDayChange { date: Some(d3), ..Default::default() };
        let half_day = catalogue::HalfDayRef::At(d1, catalogue::Slot::Morning);
        let refusals = [
            catalogue::reschedule_half_day(&mut conn, Actor::Person(&who), &session, &half_day, &change, "Report", now)
                .map(|_| ())
                .err(),
            catalogue::add_trainer(&mut conn, Actor::Person(&who), &session, OTHER_TRAINER, now).map(|_| ()).err(),
            catalogue::remove_trainer(&mut conn, Actor::Person(&who), &session, TRAINER, now).map(|_| ()).err(),
            catalogue::change_capacity(&mut conn, Actor::Person(&who), &session, 5, now).map(|_| ()).err(),
        ];
        for refusal in refusals {
            assert_eq!(refusal.map(|e| e.code()), Some("forbidden"), "{email}");
        }
    }
    assert_eq!(state(&mut conn), before);
    ensure_person(&mut conn, "admin@example.org", Role::Admin);
    let admin = caller(&mut conn, "admin@example.org");
    let raised = catalogue::change_capacity(&mut conn, Actor::Person(&admin), &session, 5, now).unwrap();
    assert_eq!(raised.session.capacity, 5);
}
