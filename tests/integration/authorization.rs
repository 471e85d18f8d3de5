//! The authorisation matrix: every route of the server × six actors, with the expected outcome.
//!
//! The list of routes is the table the server's router is built from (`lms_server::route_table`),
//! so a new route without an entry in [`RULES`] fails this test.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::access;
use lms_core::db::schema::{half_days, training_sessions};
use lms_tests::*;

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Anonymous,
    /// Confirmed trainee of the demo session under way.
    Trainee,
    /// A trainee not enrolled in it.
    OtherTrainee,
    /// A trainer who teaches it.
    Trainer,
    /// A trainer who does not.
    OtherTrainer,
    Admin,
}

use Actor::*;

const EVERYONE: &[Actor] = &[Anonymous, Trainee, OtherTrainee, Trainer, OtherTrainer, Admin];
const LOGGED_IN: &[Actor] = &[Trainee, OtherTrainee, Trainer, OtherTrainer, Admin];
const TRAINEES: &[Actor] = &[Trainee, OtherTrainee];
const THE_TRAINEE: &[Actor] = &[Trainee];
/// Who teaches the session writes its attendance and assessments; admins read them.
const ITS_TRAINER: &[Actor] = &[Trainer];
const ITS_READERS: &[Actor] = &[Trainer, Admin];
const ANY_TRAINER_OR_ADMIN: &[Actor] = &[Trainer, OtherTrainer, Admin];
const THE_TRAINEE_AND_READERS: &[Actor] = &[Trainee, Trainer, Admin];
const NOBODY: &[Actor] = &[];

/// (method, path, who may) — everyone else must be refused (401, 403, 404, or sent to /login).
const RULES: &[(&str, &str, &[Actor])] = &[
    ("GET", "/", EVERYONE),
    ("GET", "/healthz", EVERYONE),
    ("GET", "/static/style.css", EVERYONE),
    ("GET", "/login", EVERYONE),
    ("POST", "/login", EVERYONE),
    ("GET", "/signup", EVERYONE),
    ("POST", "/signup", EVERYONE),
    ("GET", "/mot-de-passe-oublie", EVERYONE),
    ("POST", "/mot-de-passe-oublie", EVERYONE),
    ("GET", "/mot-de-passe-oublie/{token}", EVERYONE),
    ("POST", "/mot-de-passe-oublie/{token}", EVERYONE),
    ("GET", "/reclamation", EVERYONE),
    ("POST", "/reclamation", EVERYONE),
    ("GET", "/trainer/sessions/{id}/incident", ITS_TRAINER),
    ("POST", "/trainer/sessions/{id}/incident", ITS_TRAINER),
    ("POST", "/logout", LOGGED_IN),
    ("GET", "/me", LOGGED_IN),
    ("GET", "/me/password", LOGGED_IN),
    ("GET", "/me/securite", LOGGED_IN),
    // The matrix's id is nobody's login session or token: everyone is refused (404); ending
    // one's own is tested in `attack`.
    ("POST", "/me/securite/connexions/{id}/fermer", NOBODY),
    ("POST", "/me/securite/jetons/{id}/revoquer", NOBODY),
    ("POST", "/me/password", LOGGED_IN),
    ("GET", "/me/convocations/{id}", THE_TRAINEE),
    // The token is the credential: an unknown one is a 404 for everyone, logged in or not.
    ("GET", "/calendar/{file}", EVERYONE),
    ("POST", "/me/agenda", LOGGED_IN),
    ("POST", "/me/agenda/revoquer", LOGGED_IN),
    ("GET", "/courses/{code}", EVERYONE),
    ("GET", "/sessions/{id}", EVERYONE),
    ("GET", "/lieux/{slug}", EVERYONE),
    ("GET", "/formations", EVERYONE),
    ("POST", "/sessions/{id}/enrol", TRAINEES),
    ("GET", "/sessions/{id}/cancel", THE_TRAINEE),
    ("POST", "/sessions/{id}/cancel", THE_TRAINEE),
    ("GET", "/verify/{code}", EVERYONE),
    ("GET", "/resultats", EVERYONE),
    ("GET", "/mentions-legales", EVERYONE),
    ("GET", "/confidentialite", EVERYONE),
    ("GET", "/accessibilite", EVERYONE),
    ("GET", "/contact", EVERYONE),
    ("GET", "/conditions-generales", EVERYONE),
    ("GET", "/favicon.ico", EVERYONE),
    ("GET", "/static/favicon.svg", EVERYONE),
    ("GET", "/.well-known/jwks.json", EVERYONE),
    ("GET", "/api/v1/certificates/{code}", EVERYONE),
    ("GET", "/api/v1/openapi.json", EVERYONE),
    ("POST", "/api/v1/accounts", EVERYONE),
    ("POST", "/api/v1/auth/token", EVERYONE),
    ("POST", "/api/v1/password-reset", EVERYONE),
    ("POST", "/api/v1/password-reset/confirm", EVERYONE),
    ("POST", "/api/v1/complaints", EVERYONE),
    ("POST", "/api/v1/sessions/{id}/incidents", ITS_TRAINER),
    ("GET", "/api/v1/courses", EVERYONE),
    ("GET", "/api/v1/courses/{code}", EVERYONE),
    ("GET", "/api/v1/sessions/search", EVERYONE),
    ("GET", "/api/v1/sessions/{id}", EVERYONE),
    ("GET", "/api/v1/venues", EVERYONE),
    ("GET", "/api/v1/venues/{slug}", EVERYONE),
    ("POST", "/api/v1/sessions/{id}/enrolments", TRAINEES),
    ("DELETE", "/api/v1/sessions/{id}/enrolments/me", THE_TRAINEE),
    ("GET", "/api/v1/me", LOGGED_IN),
    // Attendance, documents and assessment.
    ("GET", "/trainer", ANY_TRAINER_OR_ADMIN),
    ("GET", "/trainer/sessions/{id}", ITS_READERS),
    ("GET", "/trainer/sessions/{id}/sheet.pdf", ITS_READERS),
    ("GET", "/trainer/sessions/{id}/half-days/{half_day}", ITS_READERS),
    ("POST", "/trainer/sessions/{id}/half-days/{half_day}/statuses", ITS_TRAINER),
    ("POST", "/trainer/sessions/{id}/half-days/{half_day}/cosign", ITS_TRAINER),
    ("GET", "/trainer/sessions/{id}/half-days/{half_day}/checkin", ITS_READERS),
    ("GET", "/trainer/sessions/{id}/half-days/{half_day}/signature/{trainee}", ITS_TRAINER),
    ("POST", "/trainer/sessions/{id}/half-days/{half_day}/signature/{trainee}", ITS_TRAINER),
    ("GET", "/trainer/sessions/{id}/half-days/{half_day}/sheet.pdf", ITS_READERS),
    ("GET", "/trainer/sessions/{id}/half-days/{half_day}/blank.pdf", ITS_READERS),
    ("GET", "/trainer/sessions/{id}/assessments", ITS_READERS),
    ("POST", "/trainer/sessions/{id}/assessments", ITS_TRAINER),
    ("GET", "/trainer/sessions/{id}/assessments/{trainee}", ITS_READERS),
    ("GET", "/static/trainer.js", EVERYONE),
    ("GET", "/static/search.js", EVERYONE),
    ("GET", "/checkin", LOGGED_IN),
    ("GET", "/me/checkin", LOGGED_IN),
    ("POST", "/me/checkin", LOGGED_IN),
    ("GET", "/me/documents/{id}/completion.pdf", THE_TRAINEE),
    ("GET", "/me/documents/{id}/attestation.pdf", THE_TRAINEE),
    ("GET", "/api/v1/trainer/sessions", ANY_TRAINER_OR_ADMIN),
    ("GET", "/api/v1/sessions/{id}/half-days", ITS_READERS),
    ("GET", "/api/v1/sessions/{id}/half-days/{half_day}/sheet", ITS_READERS),
    ("PUT", "/api/v1/sessions/{id}/half-days/{half_day}/sheet", ITS_TRAINER),
    ("POST", "/api/v1/sessions/{id}/half-days/{half_day}/cosign", ITS_TRAINER),
    ("POST", "/api/v1/sessions/{id}/half-days/{half_day}/checkin-codes", ITS_TRAINER),
    ("POST", "/api/v1/sessions/{id}/half-days/{half_day}/signatures", ITS_TRAINER),
    ("POST", "/api/v1/checkin", LOGGED_IN),
    ("GET", "/api/v1/me/attendance", LOGGED_IN),
    ("GET", "/api/v1/sessions/{id}/assessments", ITS_READERS),
    ("PUT", "/api/v1/sessions/{id}/assessments", ITS_TRAINER),
    ("GET", "/api/v1/sessions/{id}/assessments/{trainee}", THE_TRAINEE_AND_READERS),
    ("GET", "/api/v1/me/assessments", LOGGED_IN),
    ("GET", "/issuer", EVERYONE),
    ("GET", "/achievements/{code}", EVERYONE),
    ("GET", "/credentials/status/{list}", EVERYONE),
    ("GET", "/me/certificates", LOGGED_IN),
    ("GET", "/me/amenagements", LOGGED_IN),
    ("POST", "/me/amenagements", TRAINEES),
    // The disability referent of the demo is none of these actors: everyone is refused.
    ("GET", "/referent/amenagements", NOBODY),
    ("POST", "/referent/amenagements/{id}", NOBODY),
    // The placeholder names no certificate: refused to all. Ownership is proven in open_badges.rs.
    ("GET", "/me/certificates/{file}", NOBODY),
    ("GET", "/api/v1/me/certificates", LOGGED_IN),
    // The placeholder (a session id) names no survey: refused to all. Invitation is proven in
    // surveys.rs (404 for whoever was not invited).
    ("GET", "/me/questionnaires/{id}", NOBODY),
    ("POST", "/me/questionnaires/{id}", NOBODY),
    ("POST", "/api/v1/surveys/{id}/responses", NOBODY),
    ("GET", "/api/v1/me/surveys", LOGGED_IN),
];

#[test]
fn every_route_has_an_entry_in_the_matrix() {
    let routes = server_routes();
    let ruled: BTreeSet<(String, String)> = RULES.iter().map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned())).collect();
    let missing: Vec<_> = routes.difference(&ruled).collect();
    assert!(missing.is_empty(), "routes without an authorisation rule: {missing:?}");
    let stale: Vec<_> = ruled.difference(&routes).collect();
    assert!(stale.is_empty(), "rules for routes that no longer exist: {stale:?}");
}

struct Credentials {
    cookie: String,
    csrf: String,
    token: String,
}

fn credentials(conn: &mut lms_core::DbConn, email: &str) -> Credentials {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    let now = lms_core::db::now();
    let login = access::open_login_session(conn, user.clone(), &access::ClientInfo::default(), now).unwrap();
    let caller = access::caller_from_login_session(conn, &login.token, now).unwrap().unwrap();
    let token = access::create_api_token(conn, &user, now).unwrap();
    Credentials { cookie: format!("lms_session={}", login.token), csrf: caller.csrf_token.unwrap(), token }
}

fn request(method: &str, uri: &str, credentials: Option<&Credentials>) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(method).uri(uri);
    let api = uri.starts_with("/api/");
    let body = match (api, method) {
        (true, "GET") | (false, "GET") => String::new(),
        (true, _) => "{}".to_owned(),
        (false, _) => format!("csrf={}", credentials.map(|c| c.csrf.as_str()).unwrap_or("")),
    };
    if let Some(c) = credentials {
        builder = if api {
            builder.header("authorization", format!("Bearer {}", c.token))
        } else {
            builder.header("cookie", &c.cookie)
        };
    }
    if method != "GET" {
        builder =
            builder.header("content-type", if api { "application/json" } else { "application/x-www-form-urlencoded" });
    }
    builder.body(axum::body::Body::from(body)).unwrap()
}

fn refused(status: StatusCode, headers: &axum::http::HeaderMap) -> bool {
    // Pages send anonymous visitors to the login form (and back: `next=`).
    let to_login = status == StatusCode::SEE_OTHER
        && headers
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l == "/login" || l.starts_with("/login?next="));
    matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) || to_login
}

#[tokio::test]
async fn each_route_answers_each_actor_as_the_matrix_says() {
    let mut failures = Vec::new();
    for (method, path, allowed) in RULES {
        // A fresh copy of the demo database per route: a refused call must not depend on the
        // side effects of an allowed one.
        let db = TestDb::new(Seed::Demo);
        let mut conn = db.conn();
        let session: lms_core::db::ids::TrainingSessionId = training_sessions::table
            .filter(training_sessions::reference.eq("PTL-NA-DEMO-1"))
            .select(training_sessions::id)
            .first(&mut conn)
            .unwrap();
        let half_day: lms_core::db::ids::HalfDayId = half_days::table
            .filter(half_days::training_session_id.eq(&session))
            .order(half_days::starts_at.asc())
            .select(half_days::id)
            .first(&mut conn)
            .unwrap();
        let trainee_id = lms_core::people::user_id_by_email(&mut conn, "lea.dubois@example.org").unwrap().unwrap();
        let actors = [
            (Trainee, "lea.dubois@example.org"),
            (OtherTrainee, "hugo.blanc@example.org"),
            (Trainer, "formatrice.charente@demo.tierslieux.example.org"),
            (OtherTrainer, "formatrice.limousin@demo.tierslieux.example.org"),
            (Admin, "admin@demo.tierslieux.example.org"),
        ];
        let credentials: Vec<(Actor, Credentials)> =
            actors.iter().map(|(a, e)| (*a, credentials(&mut conn, e))).collect();
        let app = test_app(&db).await;
        let uri = path
            .replace("{id}", session.as_str())
            .replace("{half_day}", half_day.as_str())
            .replace("{trainee}", trainee_id.as_str())
            .replace("{slug}", "le-400-brive-la-gaillarde")
            .replace("{file}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics")
            .replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .replace("{code}", if path.contains("courses") { "PTL" } else { "AAAAAAAAAAAAAAAAAAAAAAAAAA" });
        let public = *allowed == EVERYONE;
        let mut anonymous_status = None;
        for actor in EVERYONE {
            let creds = credentials.iter().find(|(a, _)| a == actor).map(|(_, c)| c);
            let (status, headers, _) = send(&app, request(method, &uri, creds)).await;
            let may = allowed.contains(actor);
            let ok = if public {
                // Public: nobody is refused for who they are (a public resource that does not
                // exist is a 404 for all, anonymous included).
                let first = *anonymous_status.get_or_insert(status);
                !matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                    && (status != StatusCode::NOT_FOUND || first == StatusCode::NOT_FOUND)
            } else if may {
                !refused(status, &headers)
            } else {
                refused(status, &headers)
            };
            if status.is_server_error() || !ok {
                failures.push(format!(
                    "{method} {path} as {actor:?}: {status} (expected {})",
                    if may { "allowed" } else { "refused" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "authorisation matrix violations:\n{}", failures.join("\n"));
}
