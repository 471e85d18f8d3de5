//! Search near home: ranking, radius, what is excluded, and the JSON API with its errors.

use axum::http::StatusCode;
use chrono::{Datelike, NaiveDate, Weekday};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::catalogue::{self, Near, NewTrainingSession, PlannedDay, SearchQuery};
use lms_core::db::ids::TrainingSessionId;
use lms_core::db::schema::training_sessions;
use lms_core::geo::TravelModel;
use lms_core::venues::{self, NewVenue};
use lms_tests::{Seed, TestDb, get, send, test_app};
use serde_json::Value;

/// The point of Saintes (17415) in the communes table.
const SAINTES: (f64, f64) = (45.74625, -0.64565);

/// A venue `km` away from the point of Saintes, towards `bearing` (0 = north, 90 = east).
fn venue_at(conn: &mut DbConn, slug: &str, km: f64, bearing_degrees: f64) {
    let bearing = bearing_degrees.to_radians();
    let lat = SAINTES.0 + km * bearing.cos() / 111.195;
    let lon = SAINTES.1 + km * bearing.sin() / (111.195 * SAINTES.0.to_radians().cos());
    venues::create_venue(
        conn,
        &NewVenue {
            slug: slug.into(),
            name: format!("Lieu {slug}"),
            kinds: vec!["coworking".into()],
            commune_insee: "17415".into(),
            postcode: Some("17100".into()),
            address: Some("1 rue de l'Essai".into()),
            lat: Some(lat),
            lon: Some(lon),
            description: String::new(),
            accessible_pmr: None,
            accessibility_note: None,
            source: None,
            ..NewVenue::default()
        },
    )
    .unwrap();
}

/// The first weekday at least `days` from today.
fn weekday_in(days: i64) -> NaiveDate {
    let mut date = catalogue::paris_today() + chrono::Duration::days(days);
    while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        date = date.succ_opt().unwrap();
    }
    date
}

fn session(
    conn: &mut DbConn,
    course: &str,
    reference: &str,
    start_in: i64,
    venues: &[&str],
    publish: bool,
) -> TrainingSessionId {
    let dates = catalogue::consecutive_weekdays(weekday_in(start_in), venues.len() as u32).unwrap();
    catalogue::create_training_session(
        conn,
        &NewTrainingSession {
            course_code: course.into(),
            days: dates
                .into_iter()
                .zip(venues)
                .map(|(date, slug)| PlannedDay { date, venue_slug: (*slug).into() })
                .collect(),
            capacity: 10,
            trainer_emails: vec![],
            publish,
            reference: Some(reference.into()),
        },
    )
    .unwrap()
    .id
}

/// Venues around Saintes at known distances, and sessions that must or must not be found.
///
/// With the default model, 20 minutes is 13.85 km as the crow flies:
/// `near` 3 km (6 min), `mid` 10 km (15 min), `edge` 13 km (19 min), `out` 16 km (23 min),
/// `far` 60 km.
fn scenario(db: &TestDb) {
    let mut conn = db.conn();
    venue_at(&mut conn, "essai-near", 3.0, 90.0);
    venue_at(&mut conn, "essai-mid", 10.0, 0.0);
    venue_at(&mut conn, "essai-edge", 13.0, 200.0);
    venue_at(&mut conn, "essai-out", 16.0, 270.0);
    venue_at(&mut conn, "essai-far", 60.0, 45.0);
    session(&mut conn, "ANIM", "NEAR-40", 40, &["essai-near", "essai-near"], true);
    session(&mut conn, "ANIM", "MID-30", 30, &["essai-mid", "essai-mid"], true);
    session(&mut conn, "ANIM", "MID-20", 20, &["essai-mid", "essai-mid"], true);
    session(&mut conn, "ECO", "MID-ECO-35", 35, &["essai-mid", "essai-mid"], true);
    // Moves between a far venue and the edge one: found, reported at the edge.
    session(&mut conn, "FAB", "MOVING-25", 25, &["essai-far", "essai-far", "essai-edge"], true);
    session(&mut conn, "ANIM", "OUT-22", 22, &["essai-out", "essai-out"], true);
    session(&mut conn, "ANIM", "FAR-21", 21, &["essai-far", "essai-far"], true);
    // Never found: a draft, a cancelled session, a session whose enrolment is closed.
    session(&mut conn, "ANIM", "DRAFT-24", 24, &["essai-near", "essai-near"], false);
    let cancelled = session(&mut conn, "ANIM", "CANCELLED-26", 26, &["essai-near", "essai-near"], true);
    let closed = session(&mut conn, "ANIM", "CLOSED-27", 27, &["essai-near", "essai-near"], true);
    diesel::update(training_sessions::table.find(&cancelled))
        .set(training_sessions::status.eq("cancelled"))
        .execute(&mut conn)
        .unwrap();
    let yesterday = lms_core::db::now() - chrono::Duration::days(1);
    diesel::update(training_sessions::table.find(&closed))
        .set(training_sessions::enrolment_closes_at.eq(Some(yesterday)))
        .execute(&mut conn)
        .unwrap();
}

fn references(conn: &mut DbConn, query: &SearchQuery) -> Vec<String> {
    catalogue::search_sessions(conn, query, &TravelModel::default())
        .unwrap()
        .sessions
        .into_iter()
        .map(|s| s.reference)
        .collect()
}

fn near(text: &str) -> SearchQuery {
    SearchQuery::near(Near::Text(text.into()))
}

#[test]
fn results_are_ranked_by_estimated_time_then_start_date_within_the_radius() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let results = catalogue::search_sessions(&mut conn, &near("Saintes"), &TravelModel::default()).unwrap();
    let found: Vec<(&str, u32)> = results.sessions.iter().map(|s| (s.reference.as_str(), s.travel.minutes)).collect();
    assert_eq!(found, [("NEAR-40", 6), ("MID-20", 15), ("MID-30", 15), ("MID-ECO-35", 15), ("MOVING-25", 19)]);
    assert!(!results.more);
    assert_eq!((results.minutes, results.radius_km), (20, 13.8));
    assert_eq!(results.place.label, "Saintes (17)");
    for s in &results.sessions {
        assert!(s.distance_km <= results.radius_km, "{s:?}");
        assert!(s.travel.min <= s.travel.minutes && s.travel.minutes <= s.travel.max, "{s:?}");
        assert!(s.travel.minutes <= 20);
        assert_eq!((s.capacity, s.seats_left, s.enrolment_open), (10, 10, true));
    }
    let moving = &results.sessions[4];
    assert_eq!((moving.venue.slug.as_str(), moving.venue_count, moving.distance_km), ("essai-edge", 2, 13.0));
    assert_eq!(moving.course.code, "FAB");
    let nearest = &results.sessions[0];
    assert_eq!(nearest.venue.name, "Lieu essai-near");
    assert_eq!(nearest.venue.commune, "Saintes");
    assert_eq!(nearest.venue.postcode.as_deref(), Some("17100"));
    assert_eq!(nearest.venue.address.as_deref(), Some("1 rue de l'Essai"));
    // Saintes is 6.7 km across its half-diagonal: the band is widened by 8.8 minutes.
    assert_eq!((nearest.travel.min, nearest.travel.max), (2, 16));
}

#[test]
fn the_radius_follows_the_minutes_asked_for_and_the_model() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let within = |minutes| references(&mut db.conn(), &SearchQuery { minutes: Some(minutes), ..near("Saintes") });
    assert_eq!(within(10), ["NEAR-40"]);
    assert_eq!(within(20).len(), 5);
    let thirty = within(30);
    assert_eq!(thirty.len(), 6);
    assert_eq!(thirty.last().map(String::as_str), Some("OUT-22"));
    assert_eq!(within(120).len(), 7, "the far venue is 60 km away: 80 minutes");
    // A slower model shrinks the radius.
    let slow = TravelModel::new(1.4, 50.0, 2.0).unwrap();
    let results = catalogue::search_sessions(&mut conn, &near("Saintes"), &slow).unwrap();
    let found: Vec<(&str, u32)> = results.sessions.iter().map(|s| (s.reference.as_str(), s.travel.minutes)).collect();
    // 10 km is 18.8 minutes with a 1.4 detour at 50 km/h; 13 km is 23.8, beyond 20.
    assert_eq!(found, [("NEAR-40", 7), ("MID-20", 19), ("MID-30", 19), ("MID-ECO-35", 19)]);
    assert_eq!(results.radius_km, 10.7);
}

#[test]
fn drafts_cancelled_and_closed_sessions_are_never_found() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let everything = references(&mut conn, &SearchQuery { minutes: Some(120), limit: Some(200), ..near("Saintes") });
    for hidden in ["DRAFT-24", "CANCELLED-26", "CLOSED-27"] {
        assert!(!everything.iter().any(|r| r == hidden), "{hidden} in {everything:?}");
    }
}

#[test]
fn filters_on_start_date_course_and_limit() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let from = SearchQuery { from: Some(weekday_in(28)), ..near("Saintes") };
    assert_eq!(references(&mut conn, &from), ["NEAR-40", "MID-30", "MID-ECO-35"]);
    let eco = SearchQuery { course: Some("eco".into()), ..near("Saintes") };
    assert_eq!(references(&mut conn, &eco), ["MID-ECO-35"]);
    let unknown_course = SearchQuery { course: Some("NOPE".into()), ..near("Saintes") };
    assert!(references(&mut conn, &unknown_course).is_empty());
    let one = catalogue::search_sessions(
        &mut conn,
        &SearchQuery { limit: Some(1), ..near("Saintes") },
        &TravelModel::default(),
    )
    .unwrap();
    assert_eq!((one.more, one.sessions.len()), (true, 1));
    let all = catalogue::search_sessions(
        &mut conn,
        &SearchQuery { limit: Some(5), ..near("Saintes") },
        &TravelModel::default(),
    )
    .unwrap();
    assert_eq!((all.more, all.sessions.len()), (false, 5));
}

#[test]
fn seats_left_and_windows_not_yet_open_are_reported() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let near_id = training_sessions::table
        .filter(training_sessions::reference.eq("NEAR-40"))
        .select(training_sessions::id)
        .first::<TrainingSessionId>(&mut conn)
        .unwrap();
    let trainee = lms_core::people::add_user_without_password(
        &mut conn,
        "chercheuse@example.org",
        "Chercheuse",
        lms_core::people::Role::Trainee,
    )
    .unwrap();
    let trainee = lms_core::access::caller_for(&mut conn, &trainee.id).unwrap();
    lms_core::enrolment::enrol_as(&mut conn, &near_id, &trainee, &Default::default(), lms_core::db::now()).unwrap();
    let tomorrow = lms_core::db::now() + chrono::Duration::days(1);
    diesel::update(training_sessions::table.filter(training_sessions::reference.eq("MID-20")))
        .set(training_sessions::enrolment_opens_at.eq(Some(tomorrow)))
        .execute(&mut conn)
        .unwrap();
    let results = catalogue::search_sessions(&mut conn, &near("Saintes"), &TravelModel::default()).unwrap();
    let by_ref = |r: &str| results.sessions.iter().find(|s| s.reference == r).unwrap();
    assert_eq!(by_ref("NEAR-40").seats_left, 9);
    assert!(!by_ref("MID-20").enrolment_open, "listed, but enrolment opens tomorrow");
}

#[test]
fn coordinates_search_from_the_exact_point_with_a_narrower_band() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    let point = SearchQuery::near(Near::Point { lat: SAINTES.0, lon: SAINTES.1 });
    let results = catalogue::search_sessions(&mut conn, &point, &TravelModel::default()).unwrap();
    assert_eq!(results.sessions.len(), 5);
    let nearest = &results.sessions[0];
    assert_eq!((nearest.travel.minutes, nearest.travel.min, nearest.travel.max), (6, 5, 7));
    let typed = catalogue::search_sessions(&mut conn, &near("45.74625, -0.64565"), &TravelModel::default()).unwrap();
    assert_eq!(typed.sessions, results.sessions);
}

#[test]
fn a_place_that_cannot_be_resolved_fails_the_search() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let model = TravelModel::default();
    let code = |q: &str| {
        let error = catalogue::search_sessions(&mut db.conn(), &near(q), &model).unwrap_err();
        lms_core::Classify::code(&error)
    };
    assert_eq!(code("Sainte-Colombe"), "ambiguous_place");
    assert_eq!(code("Nullepart-sur-Rien"), "unknown_place");
    assert_eq!(code(""), "invalid_place");
    assert_eq!(code("Bgles"), "unknown_place");
    // A shared postcode is no longer a question: it is searched from all its communes.
    let shared = catalogue::search_sessions(&mut conn, &near("17400"), &model).unwrap();
    assert_eq!(shared.place.kind, lms_core::geo::PlaceKind::Postcode);
}

// ------------------------------------------------------------------------------------------ HTTP

async fn json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, headers, body) = send(app, get(uri)).await;
    assert!(
        headers.get("content-type").is_some_and(|v| v.to_str().unwrap().starts_with("application/json")),
        "{uri}: {headers:?} {body}"
    );
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{uri}: {e}: {body}")))
}

/// Every key path of a JSON document (`results[].venue.name`), sorted: the shape of the contract.
fn key_paths(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                out.push(path.clone());
                key_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                key_paths(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// The reference data with the search scenario, and an app on it.
async fn scenario_app() -> (TestDb, axum::Router) {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let app = test_app(&db).await;
    (db, app)
}

#[tokio::test]
async fn the_search_api_answers_with_the_documented_shape() {
    let (_db, app) = scenario_app().await;
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Saintes&minutes=20").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut paths = Vec::new();
    key_paths(&body, "", &mut paths);
    paths.sort();
    let expected = [
        "beyond",
        "course",
        "from",
        "minutes",
        "more",
        "place",
        "place.departement",
        "place.insee",
        "place.kind",
        "place.label",
        "place.lat",
        "place.lon",
        "place.name",
        "place.part_of",
        "place.postcodes",
        "place.uncertainty_km",
        "pmr",
        "radius_km",
        "results",
        "results[].capacity",
        "results[].course",
        "results[].course.code",
        "results[].course.title",
        "results[].distance_km",
        "results[].end",
        "results[].enrolment_open",
        "results[].half_days_at_near_venue",
        "results[].half_days_total",
        "results[].id",
        "results[].near_venue",
        "results[].reference",
        "results[].seats_left",
        "results[].start",
        "results[].travel_band",
        "results[].travel_band.max",
        "results[].travel_band.min",
        "results[].travel_minutes",
        "results[].venue",
        "results[].venue.address",
        "results[].venue.approximate_position",
        "results[].venue.commune",
        "results[].venue.lat",
        "results[].venue.lon",
        "results[].venue.name",
        "results[].venue.postcode",
        "results[].venue.slug",
        "results[].venue_count",
        "sort",
        "travel_model",
        "travel_model.detour_factor",
        "travel_model.fixed_minutes",
        "travel_model.method",
        "travel_model.speed_kmh",
    ];
    assert_eq!(paths, expected);
    assert_eq!(body["more"], false);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(5));
    assert_eq!(body["place"]["kind"], "commune");
    assert_eq!(body["place"]["postcodes"], serde_json::json!(["17100"]));
    let first = &body["results"][0];
    assert_eq!(first["reference"], "NEAR-40");
    assert_eq!(first["travel_minutes"], 6);
    assert_eq!(first["travel_band"], serde_json::json!({"min": 2, "max": 16}));
    assert_eq!(first["distance_km"], 3.0);
    assert_eq!(first["seats_left"], 10);
    assert_eq!(first["course"]["code"], "ANIM");
    assert_eq!(first["venue"]["slug"], "essai-near");
    assert!(first["id"].as_str().unwrap().len() == 36);
    assert!(NaiveDate::parse_from_str(first["start"].as_str().unwrap(), "%Y-%m-%d").is_ok());
    assert!(body["travel_model"]["method"].as_str().unwrap().contains("vol d'oiseau"));
    let order: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["reference"].as_str().unwrap()).collect();
    assert_eq!(order, ["NEAR-40", "MID-20", "MID-30", "MID-ECO-35", "MOVING-25"]);
}

/// The same search by coordinates, by lat/lon, and with filters.
#[tokio::test]
async fn the_search_api_takes_coordinates_and_filters() {
    let (_db, app) = scenario_app().await;
    let (status, by_point) = json(&app, "/api/v1/sessions/search?lat=45.74625&lon=-0.64565").await;
    assert_eq!(
        (status, by_point["results"].as_array().map(Vec::len), by_point["place"]["kind"].clone()),
        (StatusCode::OK, Some(5), "coordinates".into())
    );
    let (_, typed) = json(&app, "/api/v1/sessions/search?near=45.74625%2C-0.64565").await;
    assert_eq!(typed["results"], by_point["results"]);
    let (_, eco) = json(&app, "/api/v1/sessions/search?near=17100%20Saintes&course=ECO&minutes=30").await;
    assert_eq!((eco["results"].as_array().map(Vec::len), eco["course"].clone()), (Some(1), "ECO".into()));
    let from = weekday_in(28);
    let (_, later) = json(&app, &format!("/api/v1/sessions/search?near=Saintes&from={from}&limit=2")).await;
    assert_eq!((later["more"].clone(), later["results"].as_array().unwrap().len()), (true.into(), 2));
}

#[tokio::test]
async fn an_ambiguous_place_is_422_with_candidates_and_an_unknown_one_404() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Sainte-Colombe").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "ambiguous_place");
    assert!(body["error"]["message"].as_str().unwrap().contains("précisez"));
    let candidates = body["error"]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 12);
    let mut keys: Vec<&String> = candidates[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["departement", "departement_name", "insee", "name", "part_of", "postcodes", "query"]);
    let in_17 = candidates.iter().find(|c| c["departement"] == "17").unwrap();
    assert_eq!(in_17["insee"], "17319");
    assert_eq!(in_17["postcodes"], serde_json::json!(["17210"]));
    // The candidate's query is a link that works.
    let (status, picked) = json(&app, "/api/v1/sessions/search?near=Sainte-Colombe%20(17)").await;
    assert_eq!((status, picked["place"]["insee"].clone()), (StatusCode::OK, "17319".into()));
    let (status, picked) = json(&app, "/api/v1/sessions/search?near=Sainte-Colombe+17210").await;
    assert_eq!((status, picked["place"]["insee"].clone()), (StatusCode::OK, "17319".into()));

    let (status, body) = json(&app, "/api/v1/sessions/search?near=17400").await;
    assert_eq!((status, body["place"]["kind"].clone()), (StatusCode::OK, "postcode".into()));

    for unknown in ["Nullepart", "99999", "Sainte-Colombe%20(16)"] {
        let (status, body) = json(&app, &format!("/api/v1/sessions/search?near={unknown}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
        assert_eq!(body["error"]["code"], "unknown_place");
        assert!(body["error"].get("candidates").is_none());
    }
}

#[tokio::test]
async fn bad_parameters_get_a_json_error_naming_the_parameter() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let long = "x".repeat(201);
    let cases: Vec<(String, StatusCode, &str, Option<&str>)> = vec![
        ("near=".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
        ("near=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
        (format!("near={long}"), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("near")),
        (format!("near={}", "a".repeat(150)), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
        ("".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("near")),
        ("near=Saintes&minutes=abc".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("minutes")),
        ("near=Saintes&minutes=-5".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("minutes")),
        ("near=Saintes&minutes=20.5".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("minutes")),
        ("near=Saintes&minutes=0".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("minutes")),
        ("near=Saintes&minutes=100000".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("minutes")),
        (
            "near=Saintes&minutes=99999999999999999999".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
            Some("minutes"),
        ),
        ("near=Saintes&from=2026-13-45".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("from")),
        ("near=Saintes&from=demain".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("from")),
        ("near=Saintes&from=3000-01-01".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("from")),
        ("near=Saintes&limit=0".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("limit")),
        ("near=Saintes&limit=1000".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("limit")),
        (
            "near=Saintes&course=%27%20OR%201%3D1%20--".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_parameter",
            Some("course"),
        ),
        ("lat=45.7".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("lon")),
        ("lon=-0.6".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("lat")),
        ("lat=north&lon=-0.6".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("lat")),
        ("lat=95&lon=0".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
        ("lat=NaN&lon=0".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
        ("near=Saintes&lat=45&lon=0".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter", Some("near")),
        ("near=Saintes&radius=20".into(), StatusCode::BAD_REQUEST, "invalid_query", None),
        ("near=Saintes&near=Niort".into(), StatusCode::BAD_REQUEST, "invalid_query", None),
        ("near=%FF%FE".into(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_place", None),
    ];
    for (query, expected_status, expected_code, parameter) in cases {
        let uri = format!("/api/v1/sessions/search?{query}");
        let (status, body) = json(&app, &uri).await;
        assert_eq!((status, body["error"]["code"].as_str()), (expected_status, Some(expected_code)), "{uri}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
        if let Some(parameter) = parameter {
            assert_eq!(body["error"]["parameter"], parameter, "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn refused_searches_write_nothing_and_echo_nothing_unescaped() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let app = test_app(&db).await;
    let count = || {
        use lms_core::db::schema::{communes, venues};
        let mut conn = db.conn();
        let c: i64 = communes::table.count().get_result(&mut conn).unwrap();
        let v: i64 = venues::table.count().get_result(&mut conn).unwrap();
        let s: i64 = training_sessions::table.count().get_result(&mut conn).unwrap();
        (c, v, s)
    };
    let before = count();
    for query in [
        "near=Saintes%27%3B%20DROP%20TABLE%20communes%3B%20--",
        "near=%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
        "near=Robert%27)%3B%20DELETE%20FROM%20venues",
        "near=Saintes&course=PTL%3BDROP",
    ] {
        let (status, headers, body) = send(&app, get(&format!("/api/v1/sessions/search?{query}"))).await;
        assert!(status.is_client_error(), "{query}: {status}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
        assert!(!body.contains("<img") && !body.contains("<script"), "{body}");
    }
    assert_eq!(count(), before);
}

#[test]
fn the_first_page_read_nearest_first_is_exactly_the_start_of_the_full_ranking() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    // 30 venues every 450 m out to 13.5 km (several per estimated minute), three sessions each.
    let mut expected = 0;
    for i in 1..=30 {
        let km = 0.45 * f64::from(i);
        venue_at(&mut conn, &format!("anneau-{i}"), km, f64::from(i) * 37.0);
        for j in 0..3 {
            let start_in = i64::from((i * 7 + j * 11) % 60 + 10);
            session(&mut conn, "ACCES", &format!("R{i:02}-{j}"), start_in, &[&format!("anneau-{i}")], true);
        }
        expected += 3;
    }
    let model = TravelModel::default();
    let full =
        catalogue::search_sessions(&mut conn, &SearchQuery { limit: Some(200), ..near("Saintes") }, &model).unwrap();
    assert_eq!((full.sessions.len(), full.more), (expected, false));
    let keys: Vec<(u32, NaiveDate)> = full.sessions.iter().map(|s| (s.travel.minutes, s.start)).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "ranked by minutes then start: {keys:?}");
    for limit in [1_u32, 2, 5, 17, 24, 40, 61, 89, 90] {
        let page =
            catalogue::search_sessions(&mut conn, &SearchQuery { limit: Some(limit), ..near("Saintes") }, &model)
                .unwrap();
        let ids: Vec<&str> = page.sessions.iter().map(|s| s.reference.as_str()).collect();
        let first: Vec<&str> = full.sessions[..limit as usize].iter().map(|s| s.reference.as_str()).collect();
        assert_eq!(ids, first, "limit {limit}");
        assert_eq!(page.more, (limit as usize) < expected, "limit {limit}");
    }
}

// ------------------------------------------------------------------ finding a session near home

fn set_pmr(conn: &mut DbConn, slug: &str, accessible: Option<bool>) {
    use lms_core::db::schema::venues;
    diesel::update(venues::table.filter(venues::slug.eq(slug)))
        .set(venues::accessible_pmr.eq(accessible))
        .execute(conn)
        .unwrap();
}

async fn page(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = send(app, get(uri)).await;
    (status, body)
}

#[tokio::test]
async fn a_postcode_lands_directly_on_results_from_its_communes() {
    let (db, app) = scenario_app().await;
    let results = catalogue::search_sessions(&mut db.conn(), &near("17100"), &TravelModel::default()).unwrap();
    assert_eq!(results.place.label, "17100 (Saintes et 8 autres communes)");
    assert!(!results.sessions.is_empty());
    assert_eq!(results.sessions[0].reference, "NEAR-40");
    let (status, body) = json(&app, "/api/v1/sessions/search?near=17100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["place"]["kind"].clone(), body["place"]["postcodes"].clone()),
        ("postcode".into(), serde_json::json!(["17100"]))
    );
    assert_eq!(body["results"][0]["reference"], "NEAR-40");
    let (status, html) = page(&app, "/?near=17100&minutes=20").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("Choisissez votre commune"), "no question for a postcode");
    assert!(html.contains("à moins de 20 minutes de 17100 (Saintes et 8 autres communes)"), "{html}");
    assert!(html.contains("<title>Formations à moins de 20 min de 17100"), "the title says what was searched");
}

#[tokio::test]
async fn a_dominant_name_is_not_asked_and_a_shared_one_lists_departement_names() {
    let (_db, app) = scenario_app().await;
    let (status, body) = json(&app, "/api/v1/sessions/search?near=La%20Rochelle").await;
    assert_eq!((status, body["place"]["insee"].clone()), (StatusCode::OK, "17300".into()));
    let (status, html) = page(&app, "/?near=La+Rochelle&minutes=45").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Formations à moins de 45 min de La Rochelle"), "{html}");
    let (status, html) = page(&app, "/?near=Sainte-Colombe").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Sainte-Colombe — Charente-Maritime (17), 17210"), "{html}");
    // The organisation's region first (the venues' one here, Nouvelle-Aquitaine), then population:
    // Sainte-Colombe (69) is the most populous, the one of the Landes heads the list.
    let first = html.split("<ul class=\"candidates\">").nth(1).unwrap().split("</li>").next().unwrap();
    assert!(first.contains("Landes (40)"), "the most populous of Nouvelle-Aquitaine: {first}");
}

#[tokio::test]
async fn typos_and_short_forms_offer_suggestions_in_the_api_and_the_page() {
    let (_db, app) = scenario_app().await;
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Bgles").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "unknown_place");
    assert_eq!(body["error"]["suggestions"][0]["name"], "Bègles");
    assert_eq!(body["error"]["suggestions"][0]["departement_name"], "Gironde");
    for (typed, link) in [
        ("Limoge", "?near=Limoges%20%2887%29&amp;minutes=30&amp;sort=date"),
        ("Brive", "?near=Brive-la-Gaillarde%20%2819%29&amp;minutes=30&amp;sort=date"),
        ("Oloron", "?near=Oloron-Sainte-Marie%20%2864%29&amp;minutes=30&amp;sort=date"),
        ("Ile%20d%27Ol%C3%A9ron", "?near=Saint-Pierre-d%27Ol%C3%A9ron%20%2817%29&amp;minutes=30&amp;sort=date"),
    ] {
        let (status, html) = page(&app, &format!("/?near={typed}&minutes=30&sort=date")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{typed}");
        assert!(html.contains("Vouliez-vous dire"), "{typed}: {html}");
        assert!(html.contains(link), "{typed}: the suggestion keeps the filters: {html}");
    }
    // Following a suggestion finds the commune.
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Limoges%20(87)").await;
    assert_eq!((status, body["place"]["insee"].clone()), (StatusCode::OK, "87085".into()));
}

#[tokio::test]
async fn with_nothing_within_the_time_the_nearest_sessions_beyond_it_are_shown() {
    let (db, app) = scenario_app().await;
    // Five minutes is 2.3 km: the nearest venue is 3 km away.
    let mut conn = db.conn();
    let results = catalogue::search_sessions(
        &mut conn,
        &SearchQuery { minutes: Some(5), ..near("45.74625, -0.64565") },
        &TravelModel::default(),
    )
    .unwrap();
    assert!(results.sessions.is_empty());
    let beyond: Vec<(&str, u32)> = results.beyond.iter().map(|s| (s.reference.as_str(), s.travel.minutes)).collect();
    assert_eq!(beyond, [("NEAR-40", 6), ("MID-20", 15), ("MID-30", 15)]);
    assert!(results.beyond.iter().all(|s| s.travel.minutes > 5));
    // Results within the time: nothing beyond.
    let within = catalogue::search_sessions(&mut conn, &near("Saintes"), &TravelModel::default()).unwrap();
    assert!(within.beyond.is_empty());
    let (status, body) = json(&app, "/api/v1/sessions/search?lat=45.74625&lon=-0.64565&minutes=5").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["results"], serde_json::json!([]));
    assert_eq!(body["beyond"][0]["reference"], "NEAR-40");
    assert_eq!(body["beyond"][0]["travel_minutes"], 6);
    let (_, within) = json(&app, "/api/v1/sessions/search?near=Saintes").await;
    assert_eq!(within["beyond"], serde_json::json!([]));
    let (status, html) = page(&app, "/?lat=45.74625&lon=-0.64565&minutes=5").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Aucune session ouverte à moins de 5 minutes"), "{html}");
    assert!(html.contains("Les plus proches, au-delà de 5 minutes"));
    assert!(html.contains("Au-delà de la limite : ≈ 5–7 min en voiture"), "{html}");
    assert!(html.contains("href=\"/lieux/essai-near\"") && html.contains("href=\"/formations\""));
}

#[test]
fn the_band_never_reaches_past_the_time_searched() {
    let db = TestDb::new(Seed::Reference);
    scenario(&db);
    let mut conn = db.conn();
    for minutes in [10, 15, 20, 30] {
        let results = catalogue::search_sessions(
            &mut conn,
            &SearchQuery { minutes: Some(minutes), ..near("Saintes") },
            &TravelModel::default(),
        )
        .unwrap();
        assert!(!results.sessions.is_empty());
        for s in &results.sessions {
            assert!(s.travel.min <= s.travel.minutes && s.travel.minutes <= s.travel.max, "{s:?}");
            assert!(s.travel.max <= minutes, "{minutes}: {s:?}");
        }
    }
    // The edge venue is 19 minutes away, its band reaches 31 without the clamp.
    let twenty = catalogue::search_sessions(&mut conn, &near("Saintes"), &TravelModel::default()).unwrap();
    let edge = twenty.sessions.iter().find(|s| s.reference == "MOVING-25").unwrap();
    assert_eq!((edge.travel.minutes, edge.travel.max), (19, 20));
}

#[tokio::test]
async fn sessions_can_be_sorted_by_date_in_the_core_the_api_and_the_page() {
    let (db, app) = scenario_app().await;
    let by_date = SearchQuery { order: catalogue::SearchOrder::Date, ..near("Saintes") };
    assert_eq!(references(&mut db.conn(), &by_date), ["MID-20", "MOVING-25", "MID-30", "MID-ECO-35", "NEAR-40"]);
    // With a limit, the earliest sessions within the time, not the nearest ones re-sorted.
    let first_two = SearchQuery { limit: Some(2), ..by_date.clone() };
    assert_eq!(references(&mut db.conn(), &first_two), ["MID-20", "MOVING-25"]);
    let (_, body) = json(&app, "/api/v1/sessions/search?near=Saintes&sort=date").await;
    let refs: Vec<&str> =
        body["results"].as_array().unwrap().iter().map(|r| r["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, ["MID-20", "MOVING-25", "MID-30", "MID-ECO-35", "NEAR-40"]);
    assert_eq!(body["sort"], "date");
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Saintes&sort=distance").await;
    assert_eq!((status, body["error"]["parameter"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, "sort".into()));
    let (status, html) = page(&app, "/?near=Saintes&sort=date").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<option value=\"date\" selected>"), "the form keeps the order");
}

#[tokio::test]
async fn the_page_filters_on_start_date_course_and_position() {
    let (_db, app) = scenario_app().await;
    let from = weekday_in(28);
    let (status, html) = page(&app, &format!("/?near=Saintes&from={from}&course=ECO")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("1 session à moins de 20 minutes"), "{html}");
    assert!(html.contains(&format!("value=\"{from}\"")), "the form keeps the date");
    let (status, html) = page(&app, "/?near=Saintes&from=demain").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Date de début invalide"), "{html}");
    // The browser's position (what `search.js` sends is the same as typed coordinates).
    let (status, html) = page(&app, "/?lat=45.74625&lon=-0.64565").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("5 sessions à moins de 20 minutes de 45.74625, -0.64565"), "{html}");
    let (_, html) = page(&app, "/?lat=45.7&lon=abc").await;
    assert!(html.contains("Position invalide"), "{html}");
    let (status, headers, script) = send(&app, get("/static/search.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.contains("getCurrentPosition"));
}

#[tokio::test]
async fn the_pmr_filter_keeps_only_sessions_whose_every_venue_is_accessible() {
    let (db, app) = scenario_app().await;
    let mut conn = db.conn();
    for slug in ["essai-near", "essai-mid", "essai-edge"] {
        set_pmr(&mut conn, slug, Some(true));
    }
    // MOVING-25 is held at the edge venue (accessible) and the far one (unknown): left out.
    set_pmr(&mut conn, "essai-far", None);
    let pmr = SearchQuery { pmr_only: true, ..near("Saintes") };
    assert_eq!(references(&mut conn, &pmr), ["NEAR-40", "MID-20", "MID-30", "MID-ECO-35"]);
    set_pmr(&mut conn, "essai-far", Some(true));
    assert_eq!(references(&mut conn, &pmr).len(), 5);
    set_pmr(&mut conn, "essai-mid", Some(false));
    assert_eq!(references(&mut conn, &pmr), ["NEAR-40", "MOVING-25"]);
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Saintes&pmr=true").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pmr"], true);
    assert_eq!(body["results"].as_array().map(Vec::len), Some(2));
    let (_, all) = json(&app, "/api/v1/sessions/search?near=Saintes&pmr=false").await;
    assert_eq!(all["results"].as_array().map(Vec::len), Some(5));
    let (status, body) = json(&app, "/api/v1/sessions/search?near=Saintes&pmr=oui").await;
    assert_eq!((status, body["error"]["parameter"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, "pmr".into()));
    let (_, html) = page(&app, "/?near=Saintes&pmr=true").await;
    assert!(html.contains("2 sessions à moins de 20 minutes de Saintes (17), lieux accessibles PMR"), "{html}");
    assert!(html.contains("id=\"pmr\" name=\"pmr\" type=\"checkbox\" value=\"true\" checked"));
}
