//! Shared set-up for the attendance, check-in, documents and assessment tests, on the demo data:
//! the certifying session PTL-NA-DEMO-1 is under way, its past half-days co-signed.

use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::access::Caller;
use lms_core::db::ids::{HalfDayId, TrainingSessionId, UserId};
use lms_core::db::schema::{assessments, attendance_entries, half_days, training_sessions};
use lms_tests::*;
use serde_json::Value;

pub const DEMO: &str = "PTL-NA-DEMO-1";
pub const TRAINER: &str = "formatrice.charente@demo.tierslieux.example.org";
pub const CO_TRAINER: &str = "formateur.gironde@demo.tierslieux.example.org";
/// Teaches PTL-NA-DEMO-2, not DEMO-1.
pub const OTHER_TRAINER: &str = "formatrice.limousin@demo.tierslieux.example.org";
pub const ADMIN: &str = "admin@demo.tierslieux.example.org";
pub const TRAINEE: &str = "lea.dubois@example.org";
pub const FELLOW_TRAINEE: &str = "karim.benali@example.org";
/// A trainee of no session of DEMO-1.
pub const OUTSIDER: &str = "hugo.blanc@example.org";
pub const PASSWORD: &str = "tiers-lieux-demo";
/// Confirmed trainees of DEMO-1, in enrolment order.
pub const DEMO_TRAINEES: [&str; 6] = [
    "lea.dubois@example.org",
    "karim.benali@example.org",
    "sophie.martin@example.org",
    "thomas.garcia@example.org",
    "amandine.roux@example.org",
    "julien.faure@example.org",
];

pub fn session(conn: &mut DbConn, reference: &str) -> TrainingSessionId {
    training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::id)
        .first(conn)
        .unwrap()
}

pub fn user(conn: &mut DbConn, email: &str) -> UserId {
    lms_core::people::user_id_by_email(conn, email).unwrap().unwrap()
}

/// A caller as the core sees one (what the server builds from a cookie or token).
pub fn caller(conn: &mut DbConn, email: &str) -> Caller {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    Caller { user, login_session: None, csrf_token: None }
}

/// An API token (made directly, so tests do not pay for password hashing).
pub fn token(conn: &mut DbConn, email: &str) -> String {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    lms_core::access::create_api_token(conn, &user, lms_core::db::now()).unwrap()
}

pub fn schedule(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<lms_core::catalogue::HalfDayView> {
    lms_core::catalogue::show_training_session(conn, session).unwrap().half_days
}

/// Past half-days (all co-signed in the demo), oldest first.
pub fn past_half_days(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<HalfDayId> {
    let now = lms_core::db::now();
    schedule(conn, session).into_iter().filter(|h| h.ends_at < now).map(|h| h.id).collect()
}

/// Moves the first half-day still to come so that it started 30 minutes ago and ends in three
/// hours: a half-day under way, as on the morning of a training day.
pub fn open_half_day(conn: &mut DbConn, session: &TrainingSessionId) -> HalfDayId {
    open_half_day_started(conn, session, Duration::minutes(30))
}

/// Like [`open_half_day`], started `ago`.
pub fn open_half_day_started(conn: &mut DbConn, session: &TrainingSessionId, ago: Duration) -> HalfDayId {
    let now = lms_core::db::now();
    let next = schedule(conn, session).into_iter().find(|h| h.starts_at > now).expect("a half-day to come");
    diesel::update(half_days::table.find(&next.id))
        .set((half_days::starts_at.eq(now - ago), half_days::ends_at.eq(now - ago + Duration::minutes(210))))
        .execute(conn)
        .unwrap();
    next.id
}

/// The next half-day still to come.
pub fn future_half_day(conn: &mut DbConn, session: &TrainingSessionId) -> HalfDayId {
    let now = lms_core::db::now();
    schedule(conn, session).into_iter().find(|h| h.starts_at > now).expect("a half-day to come").id
}

pub fn entry_count(conn: &mut DbConn) -> i64 {
    attendance_entries::table.count().get_result(conn).unwrap()
}

pub fn assessment_count(conn: &mut DbConn) -> i64 {
    assessments::table.count().get_result(conn).unwrap()
}

pub fn ledger_problems(conn: &mut DbConn) -> Vec<String> {
    lms_core::attendance::verify_ledger(conn, None).unwrap().problems.into_iter().map(|p| p.problem).collect()
}

pub fn json_body(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Asserts an API error status and code.
pub fn assert_error(status: StatusCode, body: &str, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(json_body(body)["error"]["code"], code, "{body}");
}

/// Logs a browser in: the cookie header and the form token of its login session.
pub async fn browser(app: &axum::Router, email: &str) -> (String, String) {
    let cookie = format!("lms_session={}", browser_login(app, email, PASSWORD).await);
    let (status, _, page) = send(app, get_with_cookies("/me/password", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    (cookie, csrf_field(&page))
}

/// The demo session with a half-day under way (see [`open_half_day`]), a token of its trainer
/// and an app: where the sheet, signature and check-in tests start. Keep `db` bound (`db: _db`)
/// when destructuring: dropping it drops the database under the app.
pub struct UnderWay {
    pub db: TestDb,
    pub session: TrainingSessionId,
    pub half_day: HalfDayId,
    /// [`TRAINER`]'s API token.
    pub token: String,
    pub app: axum::Router,
}

impl UnderWay {
    pub async fn new() -> UnderWay {
        let db = TestDb::new(Seed::Demo);
        let mut conn = db.conn();
        let session = session(&mut conn, DEMO);
        let half_day = open_half_day(&mut conn, &session);
        let token = token(&mut conn, TRAINER);
        drop(conn);
        let app = test_app(&db).await;
        UnderWay { db, session, half_day, token, app }
    }
}
