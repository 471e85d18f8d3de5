//! Seats and waitlist under real concurrency, on this run's backend.

use std::sync::Arc;

use lms_core::DbConn;
use lms_core::catalogue::{self, NewTrainingSession, PlannedDay};
use lms_core::db::ids::{TrainingSessionId, UserId};
use lms_core::enrolment::{self, EnrolmentError, EnrolmentRequest, EnrolmentStatus};
use lms_core::people::{self, Role};
use lms_tests::{Seed, TestDb};

pub fn published_session(conn: &mut DbConn, capacity: i32) -> TrainingSessionId {
    let mut start = catalogue::paris_today() + chrono::Duration::days(20);
    while matches!(chrono::Datelike::weekday(&start), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        start = start.succ_opt().unwrap();
    }
    let days = catalogue::consecutive_weekdays(start, 2).unwrap();
    let session = catalogue::create_training_session(
        conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: days.into_iter().map(|date| PlannedDay { date, venue_slug: "cowork-etc-saintes".into() }).collect(),
            capacity,
            trainer_emails: vec![],
            publish: true,
            reference: None,
        },
    )
    .unwrap();
    session.id
}

pub fn trainees(conn: &mut DbConn, count: usize) -> Vec<UserId> {
    (0..count)
        .map(|i| {
            people::add_user_without_password(
                conn,
                &format!("stagiaire{i}@example.org"),
                &format!("Stagiaire {i}"),
                Role::Trainee,
            )
            .unwrap()
            .id
        })
        .collect()
}

fn check_invariants(conn: &mut DbConn, session: &TrainingSessionId, capacity: i64) {
    let view = catalogue::find_training_session(conn, session).unwrap();
    let list = enrolment::list_enrolments(conn, session).unwrap();
    let confirmed = list.iter().filter(|e| e.status == EnrolmentStatus::Confirmed).count() as i64;
    let mut positions: Vec<i64> = list.iter().filter_map(|e| e.waitlist_position).collect();
    positions.sort_unstable();
    assert_eq!(confirmed, view.confirmed, "seats_taken matches the confirmed rows");
    assert!(confirmed <= capacity, "{confirmed} > {capacity}");
    assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>(), "waitlist 1..N without gaps");
    if !positions.is_empty() {
        assert_eq!(confirmed, capacity, "nobody waits while a seat is free");
    }
}

#[test]
fn two_hundred_concurrent_clients_never_overbook_a_twelve_seat_session() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = published_session(&mut conn, 12);
    let people = trainees(&mut conn, 200);
    drop(conn);
    let pool = Arc::new(
        lms_core::db::build_pool(
            &db.url,
            &lms_core::db::PoolOptions { max_size: 12, connection_timeout: std::time::Duration::from_secs(60) },
        )
        .unwrap(),
    );
    let handles: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(i, trainee)| {
            let pool = Arc::clone(&pool);
            let session = session.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                let now = lms_core::db::now();
                let trainee = lms_core::access::caller_for(&mut conn, &trainee).unwrap();
                let first =
                    enrolment::enrol_as(&mut conn, &session, &trainee, &EnrolmentRequest::default(), now).unwrap();
                let again =
                    enrolment::enrol_as(&mut conn, &session, &trainee, &EnrolmentRequest::default(), now).unwrap();
                assert_eq!(first.enrolment_id, again.enrolment_id, "idempotent");
                assert!(!again.created);
                // One client in four changes their mind, interleaved with everyone else's requests.
                if i % 4 == 0 {
                    let outcome = enrolment::cancel(&mut conn, &session, &trainee, lms_core::db::now()).unwrap();
                    Some(outcome)
                } else {
                    None
                }
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().expect("no panic")).collect();
    let mut conn = db.conn();
    check_invariants(&mut conn, &session, 12);
    let cancelled = outcomes.iter().flatten().count();
    assert_eq!(cancelled, 50);
    let list = enrolment::list_enrolments(&mut conn, &session).unwrap();
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Cancelled).count(), 50);
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Confirmed).count(), 12);
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Waitlisted).count(), 138);
    // A freed seat goes to at most one trainee (none when nobody was waiting yet), a waitlisted
    // cancellation frees no seat, and every promoted trainee was notified.
    let promotions = outcomes.iter().flatten().filter(|o| o.promoted.is_some()).count();
    let freed = outcomes.iter().flatten().filter(|o| o.previous_status == EnrolmentStatus::Confirmed).count();
    assert!(promotions <= freed, "{promotions} promotions for {freed} freed seats");
    assert!(outcomes.iter().flatten().all(|o| o.previous_status == EnrolmentStatus::Confirmed || o.promoted.is_none()));
    let mut promoted: Vec<_> = outcomes.iter().flatten().filter_map(|o| o.promoted.clone()).collect();
    promoted.sort();
    promoted.dedup();
    assert_eq!(promoted.len(), promotions, "nobody promoted twice");
    use diesel::prelude::*;
    use lms_core::db::schema::notifications;
    let notified: i64 =
        notifications::table.filter(notifications::kind.eq("waitlist_promoted")).count().get_result(&mut conn).unwrap();
    assert_eq!(notified as usize, promotions);
}

#[test]
fn cancelling_promotes_the_first_waitlisted_in_order() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = published_session(&mut conn, 2);
    let people = trainees(&mut conn, 5);
    let callers: Vec<_> = people.iter().map(|p| lms_core::access::caller_for(&mut conn, p).unwrap()).collect();
    let now = lms_core::db::now();
    let outcomes: Vec<_> = callers
        .iter()
        .map(|p| enrolment::enrol_as(&mut conn, &session, p, &EnrolmentRequest::default(), now).unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().map(|o| o.status).collect::<Vec<_>>(),
        [
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Confirmed,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Waitlisted,
            EnrolmentStatus::Waitlisted
        ]
    );
    assert_eq!(
        outcomes.iter().map(|o| o.waitlist_position).collect::<Vec<_>>(),
        [None, None, Some(1), Some(2), Some(3)]
    );
    // The second in line leaves the waitlist: the third moves up to position 2.
    enrolment::cancel(&mut conn, &session, &callers[3], now).unwrap();
    let again = enrolment::enrol_as(&mut conn, &session, &callers[4], &EnrolmentRequest::default(), now).unwrap();
    assert_eq!(again.waitlist_position, Some(2));
    // A confirmed trainee leaves: the first in line gets the seat.
    let outcome = enrolment::cancel(&mut conn, &session, &callers[0], now).unwrap();
    assert_eq!(outcome.promoted.as_ref(), Some(&people[2]));
    check_invariants(&mut conn, &session, 2);
    // Coming back after cancelling is a fresh request, at the end of the line.
    let back = enrolment::enrol_as(&mut conn, &session, &callers[0], &EnrolmentRequest::default(), now).unwrap();
    assert_eq!((back.status, back.waitlist_position), (EnrolmentStatus::Waitlisted, Some(2)));
    check_invariants(&mut conn, &session, 2);
}

#[test]
fn enrolment_respects_status_window_and_input() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = published_session(&mut conn, 5);
    let people = trainees(&mut conn, 2);
    let callers: Vec<_> = people.iter().map(|p| lms_core::access::caller_for(&mut conn, p).unwrap()).collect();
    let now = lms_core::db::now();
    let bad = EnrolmentRequest { funding_source: Some("<script>".into()), ..Default::default() };
    assert!(matches!(
        enrolment::enrol_as(&mut conn, &session, &callers[0], &bad, now),
        Err(EnrolmentError::Invalid(_))
    ));
    let late = now + chrono::Duration::days(60);
    assert!(matches!(
        enrolment::enrol_as(&mut conn, &session, &callers[0], &EnrolmentRequest::default(), late),
        Err(EnrolmentError::WindowClosed)
    ));
    let unknown = TrainingSessionId::generate();
    assert!(matches!(
        enrolment::enrol_as(&mut conn, &unknown, &callers[0], &EnrolmentRequest::default(), now),
        Err(EnrolmentError::UnknownTrainingSession)
    ));
    assert!(matches!(enrolment::cancel(&mut conn, &session, &callers[1], now), Err(EnrolmentError::NotEnrolled)));
    assert!(enrolment::list_enrolments(&mut conn, &session).unwrap().is_empty(), "nothing written on refusal");
}

#[test]
fn only_trainees_enrol_and_the_core_says_so() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = published_session(&mut conn, 5);
    let trainer =
        people::add_user_without_password(&mut conn, "formatrice@example.org", "Formatrice", Role::Trainer).unwrap().id;
    let admin = people::add_user_without_password(&mut conn, "admin@example.org", "Admin", Role::Admin).unwrap().id;
    let now = lms_core::db::now();
    for person in [trainer, admin] {
        let caller = lms_core::access::caller_for(&mut conn, &person).unwrap();
        // Refused before the request is even read: a bad request from a non-trainee is still 403.
        let bad = EnrolmentRequest { funding_source: Some("nope".into()), ..Default::default() };
        for request in [EnrolmentRequest::default(), bad] {
            let refused = enrolment::enrol_as(&mut conn, &session, &caller, &request, now).unwrap_err();
            assert!(matches!(refused, EnrolmentError::NotATrainee), "{refused:?}");
            assert_eq!(lms_core::Classify::code(&refused), "forbidden");
            assert_eq!(lms_core::Classify::kind(&refused), lms_core::ErrorKind::Forbidden);
        }
    }
    assert!(enrolment::list_enrolments(&mut conn, &session).unwrap().is_empty(), "nothing written");
}

#[tokio::test]
async fn a_trainer_is_refused_the_same_way_by_the_api_and_the_page() {
    use axum::http::StatusCode;
    use lms_tests::{browser_login, csrf_field, form_request, get_with_cookies, json_request, send, test_app};
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let trainer = "formatrice.charente@demo.tierslieux.example.org";
    let open = catalogue::list_training_sessions(&mut db.conn(), &Default::default())
        .unwrap()
        .into_iter()
        .find(|s| s.reference == "ACCES-DEMO-ANGOULEME")
        .unwrap();
    let before = enrolment::list_enrolments(&mut db.conn(), &open.id).unwrap().len();

    let credentials = format!(r#"{{"email":"{trainer}","password":"tiers-lieux-demo"}}"#);
    let (_, _, body) = send(&app, json_request("POST", "/api/v1/auth/token", &credentials, None)).await;
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap();
    let uri = format!("/api/v1/sessions/{}/enrolments", open.id);
    let (status, _, body) = send(&app, json_request("POST", &uri, "{}", Some(token))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["message"], "seuls les stagiaires peuvent s'inscrire à une session");

    let cookies = format!("lms_session={}", browser_login(&app, trainer, "tiers-lieux-demo").await);
    let (_, _, page) = send(&app, get_with_cookies(&format!("/sessions/{}", open.id), &cookies)).await;
    let csrf = csrf_field(&page);
    let (status, _, page) =
        send(&app, form_request(&format!("/sessions/{}/enrol", open.id), &[("csrf", &csrf)], &cookies)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The page words the same message as a sentence.
    assert!(page.contains("Seuls les stagiaires peuvent s&#x27;inscrire"), "{page}");
    assert_eq!(enrolment::list_enrolments(&mut db.conn(), &open.id).unwrap().len(), before, "nothing written");
}
