//! Schedules: French public holidays and weekends, sessions planned half-day by half-day across
//! venues (`lms session create --schedule`), and refusals that write nothing.

use chrono::{Datelike, Duration, NaiveDate};
use lms_core::catalogue::{self, HolidayRegion, NewScheduledSession, PlannedHalfDay, Slot};
use lms_core::{Classify, DbConn};
use lms_tests::{CliOutput, Seed, TestDb, lms};
use serde_json::Value;

const HEAD: &str = "date,slot,start,end,venue,module\n";

/// The first working day (national calendar) at least `days` days from today.
fn working_day(days: i64) -> NaiveDate {
    catalogue::next_working_day(catalogue::paris_today() + Duration::days(days), HolidayRegion::General)
}

fn next_working(date: NaiveDate) -> NaiveDate {
    catalogue::next_working_day(date + Duration::days(1), HolidayRegion::General)
}

/// Ascension Thursday of next year: always a Thursday, always a holiday.
fn next_ascension() -> NaiveDate {
    let year = catalogue::paris_today().year() + 1;
    catalogue::easter_sunday(year).unwrap() + Duration::days(39)
}

fn session_count(conn: &mut DbConn) -> usize {
    catalogue::list_training_sessions(conn, &Default::default()).unwrap().len()
}

fn create_with(db: &TestDb, csv: &str) -> CliOutput {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calendrier.csv");
    std::fs::write(&path, csv).unwrap();
    lms(
        db,
        &["session", "create", "--course", "ANIM", "--schedule", path.to_str().unwrap(), "--capacity", "8", "--json"],
        None,
    )
}

/// Runs a refused creation and checks the code, the words of the message and that nothing was written.
fn refused(db: &TestDb, csv: &str, code: &str, words: &[&str]) {
    let before = session_count(&mut db.conn());
    let out = create_with(db, csv);
    assert_eq!(out.code, 1, "{csv}\n{}", out.stderr);
    assert!(out.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", out.stderr);
    for word in words {
        assert!(out.stderr.contains(word), "« {word} » missing from {}", out.stderr);
    }
    assert_eq!(session_count(&mut db.conn()), before, "nothing written for {csv}");
}

#[test]
fn a_schedule_spans_venues_hours_and_modules() {
    let db = TestDb::new(Seed::Reference);
    let d1 = working_day(20);
    let d2 = next_working(d1);
    let d3 = next_working(d2 + Duration::days(14));
    let csv = format!(
        "{HEAD}{d2},morning,08:30,12:00,cowork-etc-saintes,Outils\n\
         {d1},afternoon,14:00,17:30,fabrique-pola-begles,Accueil\n\
         {d1},morning,09:00,12:30,fabrique-pola-begles,Accueil\n\
         {d3},afternoon,13:00,18:00,crealab-angouleme,\n"
    );
    let out = create_with(&db, &csv);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(created["start"], d1.to_string());
    assert_eq!(created["end"], d3.to_string());
    assert_eq!(created["venue"], "fabrique-pola-begles", "the main venue is the first half-day's");
    assert_eq!(created["status"], "draft");

    let id = created["id"].as_str().unwrap();
    let mut conn = db.conn();
    let detail = catalogue::show_training_session(&mut conn, &id.parse().unwrap()).unwrap();
    let seen: Vec<(String, Slot, String, i32, Option<String>)> = detail
        .half_days
        .iter()
        .map(|h| (h.date.to_string(), h.slot, h.venue.clone(), h.minutes, h.module.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (d1.to_string(), Slot::Morning, "fabrique-pola-begles".into(), 210, Some("Accueil".into())),
            (d1.to_string(), Slot::Afternoon, "fabrique-pola-begles".into(), 210, Some("Accueil".into())),
            (d2.to_string(), Slot::Morning, "cowork-etc-saintes".into(), 210, Some("Outils".into())),
            (d3.to_string(), Slot::Afternoon, "crealab-angouleme".into(), 300, None),
        ]
    );
    assert_eq!(detail.scheduled_hours, 15.5);
}

#[test]
fn bad_schedules_are_refused_by_line_and_write_nothing() {
    let db = TestDb::new(Seed::Reference);
    let d1 = working_day(20);
    let ok = format!("{d1},morning,09:00,12:30,fabrique-pola-begles,\n");
    refused(&db, "", "invalid_schedule", &["aucune demi-journée"]);
    refused(&db, HEAD, "invalid_schedule", &["aucune demi-journée"]);
    refused(
        &db,
        &format!("{HEAD}{ok}{d1},afternoon,13:30,17:00,nulle-part,\n"),
        "unknown_venue",
        &["ligne 3", "nulle-part"],
    );
    refused(&db, &format!("{HEAD}{ok}{ok}"), "invalid_schedule", &["ligne 3", "deux fois"]);
    refused(
        &db,
        &format!(
            "{HEAD}{d1},morning,09:00,13:30,fabrique-pola-begles,\n{d1},afternoon,13:00,17:00,fabrique-pola-begles,\n"
        ),
        "invalid_schedule",
        &["ligne 3", "chevauche la ligne 2"],
    );
    refused(
        &db,
        &format!("{HEAD}{d1},afternoon,17:00,13:30,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 2", "la fin"],
    );
    refused(
        &db,
        &format!("{HEAD}{d1},morning,09:00,14:30,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 2", "14:00"],
    );
    refused(
        &db,
        &format!("{HEAD}{d1},afternoon,11:00,17:00,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 2", "12:00"],
    );
    let past = catalogue::next_working_day(catalogue::paris_today() - Duration::days(10), HolidayRegion::General);
    refused(
        &db,
        &format!("{HEAD}{ok}{past},morning,09:00,12:00,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 3", "passé"],
    );
    let ascension = next_ascension();
    refused(
        &db,
        &format!("{HEAD}{ok}{ascension},morning,09:00,12:00,fabrique-pola-begles,\n"),
        "non_working_day",
        &["ligne 3", &ascension.to_string(), "Ascension"],
    );
    let saturday = ascension + Duration::days(2);
    refused(
        &db,
        &format!("{HEAD}{saturday},morning,09:00,12:00,fabrique-pola-begles,\n"),
        "non_working_day",
        &["ligne 2", &saturday.to_string(), "samedi"],
    );
    refused(
        &db,
        &format!("{HEAD}{d1},evening,09:00,12:00,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 2", "créneau"],
    );
    refused(
        &db,
        &format!("{HEAD}{d1},morning,9h,12:00,fabrique-pola-begles,\n"),
        "invalid_schedule",
        &["ligne 2", "heure"],
    );
    refused(&db, &format!("{HEAD}{d1},morning,09:00\n"), "invalid_schedule", &["ligne 2"]);
    refused(&db, "jour,creneau\n", "invalid_schedule", &["ligne 1", "en-tête"]);

    // Both forms are exclusive, and one of them is required.
    let out = lms(&db, &["session", "create", "--course", "ANIM", "--capacity", "8"], None);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn the_days_form_skips_weekends_and_holidays() {
    let db = TestDb::new(Seed::Reference);
    // From the Tuesday before Ascension: Tue, Wed, (Thursday off), Fri, (weekend), Mon.
    let ascension = next_ascension();
    let tuesday = ascension - Duration::days(2);
    let out = lms(
        &db,
        &[
            "session",
            "create",
            "--course",
            "ANIM",
            "--venue",
            "cowork-etc-saintes",
            "--start",
            &tuesday.to_string(),
            "--days",
            "4",
            "--capacity",
            "8",
            "--json",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Value = serde_json::from_str(&out.stdout).unwrap();
    let mut conn = db.conn();
    let detail =
        catalogue::show_training_session(&mut conn, &created["id"].as_str().unwrap().parse().unwrap()).unwrap();
    let mut dates: Vec<NaiveDate> = detail.half_days.iter().map(|h| h.date).collect();
    dates.dedup();
    assert_eq!(
        dates,
        vec![tuesday, tuesday + Duration::days(1), ascension + Duration::days(1), ascension + Duration::days(4)]
    );
    assert_eq!(detail.session.end, ascension + Duration::days(4));

    // A start on a holiday moves to the next working day.
    let out = lms(
        &db,
        &[
            "session",
            "create",
            "--course",
            "ANIM",
            "--venue",
            "cowork-etc-saintes",
            "--start",
            &ascension.to_string(),
            "--days",
            "1",
            "--capacity",
            "8",
            "--json",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(created["start"], (ascension + Duration::days(1)).to_string());
}

#[test]
fn the_core_refuses_a_holiday_with_its_date() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let whit_monday = next_ascension() + Duration::days(11);
    let error = catalogue::create_scheduled_session(
        &mut conn,
        lms_core::rights::Actor::Console,
        &NewScheduledSession {
            course_code: "ANIM".into(),
            half_days: vec![PlannedHalfDay {
                line: None,
                date: whit_monday,
                slot: Slot::Morning,
                start: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                end: chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
                venue_slug: "fabrique-pola-begles".into(),
                module: None,
            }],
            capacity: 5,
            trainer_emails: vec![],
            publish: true,
            reference: None,
        },
        lms_core::db::now(),
    )
    .unwrap_err();
    assert_eq!(error.code(), "non_working_day");
    assert_eq!(error.to_string(), format!("{whit_monday} : pas de formation ce jour-là (lundi de Pentecôte)"));
    assert_eq!(session_count(&mut conn), 0);
}

/// The demo as loaded today: no half-day on a weekend or holiday, and nobody (trainer, or trainee
/// confirmed or waiting) on two half-days at the same time.
#[test]
fn the_demo_has_no_clash_and_no_holiday() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let sessions = catalogue::list_training_sessions(&mut conn, &Default::default()).unwrap();
    let mut taken: Vec<(String, chrono::NaiveDateTime, chrono::NaiveDateTime, String)> = Vec::new();
    for session in &sessions {
        let detail = catalogue::show_training_session(&mut conn, &session.id).unwrap();
        let mut people = detail.trainers.clone();
        for e in lms_core::enrolment::list_enrolments(&mut conn, &session.id).unwrap() {
            if e.status != lms_core::enrolment::EnrolmentStatus::Cancelled {
                people.push(e.trainee.clone());
            }
        }
        for h in &detail.half_days {
            assert_eq!(
                catalogue::non_working_reason(h.date, HolidayRegion::General),
                None,
                "{} on {}",
                session.reference,
                h.date
            );
            for person in &people {
                if let Some(other) = taken
                    .iter()
                    .find(|(p, s, e, r)| p == person && *s < h.ends_at && h.starts_at < *e && r != &session.reference)
                {
                    panic!("{person} on {} and {} at {}", other.3, session.reference, h.date);
                }
                taken.push((person.clone(), h.starts_at, h.ends_at, session.reference.clone()));
            }
        }
    }
}

fn scheduled(conn: &mut DbConn, date: NaiveDate, slot: Slot, hours: (u32, u32, u32, u32), venue: &str) -> String {
    let t = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    catalogue::create_scheduled_session(
        conn,
        lms_core::rights::Actor::Console,
        &NewScheduledSession {
            course_code: "ANIM".into(),
            half_days: vec![PlannedHalfDay {
                line: None,
                date,
                slot,
                start: t(hours.0, hours.1),
                end: t(hours.2, hours.3),
                venue_slug: venue.into(),
                module: None,
            }],
            capacity: 5,
            trainer_emails: vec![],
            publish: true,
            reference: None,
        },
        lms_core::db::now(),
    )
    .unwrap()
    .id
    .to_string()
}

/// The check the enrolment use case calls before confirming a seat: a confirmed seat elsewhere
/// at an overlapping time is a conflict naming that session; touching hours, another day or the
/// same session are not.
#[test]
fn a_trainee_conflict_names_the_other_session() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let day = working_day(20);
    let a = scheduled(&mut conn, day, Slot::Morning, (9, 0, 12, 30), "fabrique-pola-begles");
    let b = scheduled(&mut conn, day, Slot::Morning, (11, 0, 13, 0), "cowork-etc-saintes");
    let c = scheduled(&mut conn, day, Slot::Afternoon, (12, 30, 17, 0), "cowork-etc-saintes");
    let d = scheduled(&mut conn, next_working(day), Slot::Morning, (9, 0, 12, 0), "cowork-etc-saintes");
    let trainee = lms_core::people::add_user_without_password(
        &mut conn,
        "stagiaire.horaire@example.org",
        "Stagiaire Horaire",
        lms_core::people::Role::Trainee,
    )
    .unwrap()
    .id;
    let id = |s: &str| -> lms_core::db::ids::TrainingSessionId { s.parse().unwrap() };
    assert_eq!(catalogue::trainee_conflict(&mut conn, &trainee, &id(&b)).unwrap(), None, "no seat anywhere yet");
    let caller = lms_core::access::caller_for(&mut conn, &trainee).unwrap();
    lms_core::enrolment::enrol_as(
        &mut conn,
        &id(&a),
        &caller,
        &lms_core::enrolment::EnrolmentRequest::default(),
        lms_core::db::now(),
    )
    .unwrap();
    let conflict = catalogue::trainee_conflict(&mut conn, &trainee, &id(&b)).unwrap().unwrap();
    let a_view = catalogue::find_training_session(&mut conn, &id(&a)).unwrap();
    assert_eq!(conflict.session, a_view.id);
    assert_eq!(conflict.date, day);
    let error = catalogue::CatalogueError::from(conflict);
    assert_eq!(error.code(), "schedule_conflict");
    assert_eq!(error.kind(), lms_core::ErrorKind::Conflict);
    assert!(error.to_string().contains(&a_view.reference), "{error}");
    assert_eq!(catalogue::trainee_conflict(&mut conn, &trainee, &id(&c)).unwrap(), None, "12:30 ends as 12:30 starts");
    assert_eq!(catalogue::trainee_conflict(&mut conn, &trainee, &id(&d)).unwrap(), None, "another day");
    assert_eq!(catalogue::trainee_conflict(&mut conn, &trainee, &id(&a)).unwrap(), None, "the same session");
}

fn trainee(conn: &mut DbConn, email: &str) -> lms_core::access::Caller {
    let id =
        lms_core::people::add_user_without_password(conn, email, "Stagiaire Horaire", lms_core::people::Role::Trainee)
            .unwrap()
            .id;
    lms_core::access::caller_for(conn, &id).unwrap()
}

fn enrol(
    conn: &mut DbConn,
    session: &str,
    caller: &lms_core::access::Caller,
) -> Result<lms_core::enrolment::EnrolmentOutcome, lms_core::enrolment::EnrolmentError> {
    lms_core::enrolment::enrol_as(
        conn,
        &session.parse().unwrap(),
        caller,
        &lms_core::enrolment::EnrolmentRequest::default(),
        lms_core::db::now(),
    )
}

fn enrolment_count(conn: &mut DbConn) -> i64 {
    use diesel::prelude::*;
    lms_core::db::schema::enrolments::table.count().get_result(conn).unwrap()
}

/// Enrolling refuses a session that overlaps a confirmed seat elsewhere (409
/// `schedule_conflict` naming the other session), for a seat or the waitlist, and writes nothing.
#[test]
fn enrolling_on_an_overlapping_session_is_refused_and_writes_nothing() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let day = working_day(20);
    let a = scheduled(&mut conn, day, Slot::Morning, (9, 0, 12, 30), "fabrique-pola-begles");
    let b = scheduled(&mut conn, day, Slot::Morning, (11, 0, 13, 0), "cowork-etc-saintes");
    let lea = trainee(&mut conn, "lea.horaire@example.org");
    enrol(&mut conn, &a, &lea).unwrap();
    let before = enrolment_count(&mut conn);
    let error = enrol(&mut conn, &b, &lea).unwrap_err();
    assert_eq!(error.code(), "schedule_conflict");
    assert_eq!(error.kind(), lms_core::ErrorKind::Conflict);
    let reference = catalogue::find_training_session(&mut conn, &a.parse().unwrap()).unwrap().reference;
    assert!(error.to_string().contains(&reference), "{error}");
    assert_eq!(enrolment_count(&mut conn), before, "nothing written");
}

/// A cancellation promotes the first waitlisted trainee who is free at those hours: one who has
/// since taken an overlapping seat elsewhere keeps their place and is passed over.
#[test]
fn a_promotion_passes_over_a_trainee_now_busy_at_those_hours() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let day = working_day(20);
    let full = scheduled(&mut conn, day, Slot::Morning, (9, 0, 12, 30), "fabrique-pola-begles");
    let elsewhere = scheduled(&mut conn, day, Slot::Morning, (10, 0, 12, 0), "cowork-etc-saintes");
    let seated: Vec<_> = (0..5).map(|i| trainee(&mut conn, &format!("assis{i}@example.org"))).collect();
    for person in &seated {
        enrol(&mut conn, &full, person).unwrap();
    }
    let busy = trainee(&mut conn, "occupe@example.org");
    let free = trainee(&mut conn, "libre@example.org");
    assert_eq!(enrol(&mut conn, &full, &busy).unwrap().waitlist_position, Some(1));
    assert_eq!(enrol(&mut conn, &full, &free).unwrap().waitlist_position, Some(2));
    // Waitlisted here, the first in line takes a seat elsewhere at the same time.
    enrol(&mut conn, &elsewhere, &busy).unwrap();
    let outcome =
        lms_core::enrolment::cancel(&mut conn, &full.parse().unwrap(), &seated[0], lms_core::db::now()).unwrap();
    assert_eq!(outcome.promoted, Some(free.user.id.clone()), "the free trainee is promoted");
    let again = enrol(&mut conn, &full, &busy).unwrap();
    assert_eq!(again.status, lms_core::enrolment::EnrolmentStatus::Waitlisted, "the busy one keeps their place");
}
