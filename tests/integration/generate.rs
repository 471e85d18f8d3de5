//! The national-scale data generator (`lms fixtures generate`): consistent, deterministic,
//! all-or-nothing.

use std::collections::HashMap;

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::catalogue::{self, Near, SearchQuery};
use lms_core::db::schema::{enrolments, half_days, training_sessions, users, venues};
use lms_core::fixtures::{self, FixtureError, GenerateOptions};
use lms_core::geo::TravelModel;
use lms_tests::{Seed, TestDb, lms};

fn small(seed: u64) -> GenerateOptions {
    GenerateOptions { venues: 40, sessions: 300, trainees: 500, seed }
}

type Snapshot =
    (Vec<(String, String, String)>, Vec<(String, String, String, String, i32, i32)>, Vec<(String, String, String)>);

/// What must be identical from one run to the next (identifiers, places, dates, counts).
fn snapshot(conn: &mut DbConn) -> Snapshot {
    let venues: Vec<(String, String, f64, f64)> = venues::table
        .filter(venues::slug.like("gen-%"))
        .order(venues::id.asc())
        .select((venues::id, venues::slug, venues::lat, venues::lon))
        .load(conn)
        .unwrap();
    let sessions: Vec<(String, String, chrono::NaiveDate, String, i32, i32)> = training_sessions::table
        .order(training_sessions::id.asc())
        .select((
            training_sessions::id,
            training_sessions::reference,
            training_sessions::starts_on,
            training_sessions::status,
            training_sessions::capacity,
            training_sessions::seats_taken,
        ))
        .load(conn)
        .unwrap();
    let enrolled: Vec<(String, String, String)> = enrolments::table
        .order(enrolments::id.asc())
        .select((enrolments::id, enrolments::trainee_id, enrolments::status))
        .load(conn)
        .unwrap();
    (
        venues.into_iter().map(|(id, slug, lat, lon)| (id, slug, format!("{lat:.6},{lon:.6}"))).collect(),
        sessions
            .into_iter()
            .map(|(id, r, start, status, cap, taken)| (id, r, start.to_string(), status, cap, taken))
            .collect(),
        enrolled,
    )
}

#[test]
fn generated_data_is_consistent_with_the_enrolment_rules() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let mut stages = Vec::new();
    let report = fixtures::generate(&mut conn, &small(7), &mut |p| stages.push((p.stage, p.done, p.total))).unwrap();
    assert_eq!((report.venues, report.training_sessions, report.trainees), (40, 300, 500));
    assert!(report.enrolments > 100, "{report:?}");
    assert!(stages.iter().any(|(_, done, total)| done == total), "progress reaches the end");
    let half_day_count: i64 = half_days::table.count().get_result(&mut conn).unwrap();
    assert_eq!(half_day_count as u64, report.half_days);

    // Seat counters match the enrolment rows; waitlists are 1..N and only behind full sessions.
    let sessions: Vec<(String, String, i32, i32, i64)> = training_sessions::table
        .select((
            training_sessions::id,
            training_sessions::status,
            training_sessions::capacity,
            training_sessions::seats_taken,
            training_sessions::waitlist_next_seq,
        ))
        .load(&mut conn)
        .unwrap();
    let rows: Vec<(String, String, Option<i64>)> = enrolments::table
        .select((enrolments::training_session_id, enrolments::status, enrolments::waitlist_seq))
        .load(&mut conn)
        .unwrap();
    let mut per_session: HashMap<String, Vec<(String, Option<i64>)>> = HashMap::new();
    for (session, status, seq) in rows {
        per_session.entry(session).or_default().push((status, seq));
    }
    let mut full_with_waitlist = 0;
    for (id, status, capacity, taken, next_seq) in sessions {
        let list = per_session.remove(&id).unwrap_or_default();
        let seated = list.iter().filter(|(s, _)| s == "confirmed" || s == "completed").count() as i32;
        let mut waiting: Vec<i64> = list.iter().filter_map(|(_, seq)| *seq).collect();
        waiting.sort_unstable();
        assert_eq!(seated, taken, "{id}");
        assert!(taken <= capacity);
        assert_eq!(waiting, (1..=waiting.len() as i64).collect::<Vec<_>>(), "{id}");
        assert!(next_seq > waiting.len() as i64);
        if !waiting.is_empty() {
            assert_eq!(taken, capacity, "nobody waits while a seat is free");
            full_with_waitlist += 1;
        }
        if status == "draft" || status == "cancelled" {
            assert!(list.is_empty(), "{status} session {id} has enrolments");
        }
    }
    assert!(full_with_waitlist > 0);
    let with_password: i64 =
        users::table.filter(users::password_hash.is_not_null()).count().get_result(&mut conn).unwrap();
    assert_eq!(with_password, 0, "generated trainees cannot log in");

    // The search finds generated sessions around a generated venue.
    let (lat, lon): (f64, f64) = venues::table
        .inner_join(training_sessions::table)
        .filter(training_sessions::status.eq("published"))
        .filter(training_sessions::starts_on.gt(catalogue::paris_today() + chrono::Duration::days(1)))
        .filter(training_sessions::enrolment_closes_at.gt(lms_core::db::now()))
        .select((venues::lat, venues::lon))
        .first(&mut conn)
        .unwrap();
    let query = SearchQuery { minutes: Some(10), ..SearchQuery::near(Near::Point { lat, lon }) };
    let found = catalogue::search_sessions(&mut conn, &query, &TravelModel::default()).unwrap();
    assert!(!found.sessions.is_empty());
    assert_eq!(found.sessions[0].distance_km, 0.0);
}

#[test]
fn the_same_seed_gives_the_same_data_and_cannot_be_used_twice() {
    let first = TestDb::new(Seed::Reference);
    let second = TestDb::new(Seed::Reference);
    let (mut a, mut b) = (first.conn(), second.conn());
    fixtures::generate(&mut a, &small(11), &mut |_| {}).unwrap();
    fixtures::generate(&mut b, &small(11), &mut |_| {}).unwrap();
    let snapshot_a = snapshot(&mut a);
    assert_eq!(snapshot_a, snapshot(&mut b));
    assert_eq!(snapshot_a.0.len(), 40);

    // Again with the same seed: refused, nothing written.
    let error = fixtures::generate(&mut a, &small(11), &mut |_| {}).unwrap_err();
    assert!(matches!(error, FixtureError::Refused(_)), "{error}");
    assert!(error.to_string().contains("graine 11"));
    assert_eq!(snapshot(&mut a), snapshot_a);
    // Another seed adds a second, different data set.
    let report = fixtures::generate(&mut a, &GenerateOptions { seed: 12, ..small(12) }, &mut |_| {}).unwrap();
    assert_eq!(report.training_sessions, 300);
    assert_eq!(snapshot(&mut a).0.len(), 80);
}

#[test]
fn the_cli_generates_with_options_and_refuses_bad_ones() {
    let db = TestDb::new(Seed::Empty);
    let out = lms(
        &db,
        &["fixtures", "generate", "--venues", "6", "--sessions", "25", "--trainees", "40", "--seed", "3", "--json"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["enrolments", "half_days", "seed", "trainees", "training_sessions", "venues"]);
    assert_eq!(
        (report["venues"].clone(), report["training_sessions"].clone(), report["seed"].clone()),
        (6.into(), 25.into(), 3.into())
    );

    let again = lms(
        &db,
        &["fixtures", "generate", "--venues", "6", "--sessions", "25", "--trainees", "40", "--seed", "3"],
        None,
    );
    assert_eq!(again.code, 1);
    assert_eq!(again.stderr.trim().lines().count(), 1, "{}", again.stderr);
    assert!(again.stderr.contains("graine 3"));

    let no_venues = lms(&db, &["fixtures", "generate", "--venues", "0", "--sessions", "5", "--seed", "4"], None);
    assert_eq!(no_venues.code, 1);
    assert!(no_venues.stderr.contains("--venues"), "{}", no_venues.stderr);
    let too_many = lms(&db, &["fixtures", "generate", "--venues", "100001", "--seed", "4"], None);
    assert_eq!(too_many.code, 1);
    let usage = lms(&db, &["fixtures", "generate", "--venues", "beaucoup"], None);
    assert_eq!(usage.code, 2);
    let count: i64 = venues::table.filter(venues::slug.like("gen-4-%")).count().get_result(&mut db.conn()).unwrap();
    assert_eq!(count, 0, "refused runs write nothing");
}

/// After a generation the planner has fresh statistics; on SQLite without STAT4 samples, which
/// made every search estimate each id of its `IN (…)` lists (see `db::refresh_planner_statistics`).
#[test]
fn a_generation_refreshes_the_planner_statistics() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    fixtures::generate(&mut conn, &small(21), &mut |_| {}).unwrap();
    let count = |conn: &mut DbConn, sql: &str| -> i64 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(sql)).get_result(conn).unwrap()
    };
    match lms_tests::backend() {
        lms_tests::Backend::Sqlite => {
            assert!(count(&mut conn, "(SELECT count(*) FROM sqlite_stat1)") > 10);
            assert_eq!(count(&mut conn, "(SELECT count(*) FROM sqlite_stat4)"), 0);
        }
        lms_tests::Backend::Postgres => {
            // ANALYZE sets the row estimate at once, in the same transaction (-1: never analysed).
            let estimate = "(SELECT reltuples::bigint FROM pg_class WHERE relname = 'half_days')";
            assert!(count(&mut conn, estimate) > 0);
        }
    }
    // Searches still answer with the statistics in place.
    let query = SearchQuery::near(Near::Text("Saintes (17)".into()));
    catalogue::search_sessions(&mut conn, &query, &TravelModel::default()).unwrap();
}
