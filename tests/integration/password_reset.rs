//! Password reset by e-mail: the same answer whether or not the account exists, a single-use
//! token valid one hour, stored hashed; using it ends every login session and API token. Bad
//! input (a malformed address, an expired, reused or unknown token) is refused, nothing written.

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::access::password_reset::{self, PasswordResetError};
use lms_core::db::schema::{login_attempts, outbox_messages, password_reset_tokens, users};
use lms_core::mail::MailKind;
use lms_core::people::{self, NewUser, Role};
use lms_tests::*;
use serde_json::Value;

const EMAIL: &str = "ana.martin@example.org";
const OLD: &str = "ancien mot de passe 1";
const NEW: &str = "nouveau mot de passe 2";

fn account(db: &TestDb) {
    let mut conn = db.conn();
    people::add_user(
        &mut conn,
        &NewUser { email: EMAIL.into(), display_name: "Ana Martin".into(), role: Role::Trainee, password: OLD.into() },
    )
    .unwrap();
}

/// (reset tokens, outbox messages, limiter counters, password hash)
fn written(conn: &mut DbConn) -> (i64, i64, i64, Option<String>) {
    (
        password_reset_tokens::table.count().get_result(conn).unwrap(),
        outbox_messages::table.count().get_result(conn).unwrap(),
        login_attempts::table.count().get_result(conn).unwrap(),
        users::table.filter(users::email.eq(EMAIL)).select(users::password_hash).first(conn).unwrap(),
    )
}

/// The token carried by the newest reset e-mail of the outbox.
fn token_from_outbox(conn: &mut DbConn) -> String {
    let body: String = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::PasswordReset))
        .order(outbox_messages::created_at.desc())
        .select(outbox_messages::text_body)
        .first(conn)
        .unwrap();
    let start = body.find("/mot-de-passe-oublie/").expect("a reset link") + "/mot-de-passe-oublie/".len();
    body[start..].split_whitespace().next().unwrap().to_owned()
}

async fn post(app: &axum::Router, uri: &str, body: Value, bearer: Option<&str>) -> (StatusCode, Value) {
    let (status, _, text) = send(app, json_request("POST", uri, &body.to_string(), bearer)).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_reset_by_api_ends_every_login_and_the_token_serves_once() {
    let db = TestDb::new(Seed::Reference);
    account(&db);
    let app = test_app(&db).await;
    let cookie = browser_login(&app, EMAIL, OLD).await;
    let (status, body) =
        post(&app, "/api/v1/auth/token", serde_json::json!({"email": EMAIL, "password": OLD}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let api_token = body["token"].as_str().unwrap().to_owned();

    // An unknown address: the same answer, and no token nor message.
    let before = written(&mut db.conn());
    let unknown =
        post(&app, "/api/v1/password-reset", serde_json::json!({"email": "personne@example.org"}), None).await;
    let after_unknown = written(&mut db.conn());
    assert_eq!((after_unknown.0, after_unknown.1), (before.0, before.1), "nothing for an unknown address");

    let known =
        post(&app, "/api/v1/password-reset", serde_json::json!({"email": "Ana.Martin@example.org "}), None).await;
    assert_eq!(known, unknown, "the same answer whether or not the account exists");
    assert_eq!(known.0, StatusCode::ACCEPTED);
    assert_eq!(known.1["status"], "accepted");
    let mut conn = db.conn();
    let token = token_from_outbox(&mut conn);
    let stored: String =
        password_reset_tokens::table.select(password_reset_tokens::token_hash).first(&mut conn).unwrap();
    assert_ne!(stored, token, "only the hash is stored");
    assert_eq!(stored.len(), 64);

    // A weak password is refused and the token still works.
    let before = written(&mut conn);
    let weak =
        post(&app, "/api/v1/password-reset/confirm", serde_json::json!({"token": token, "password": "court"}), None)
            .await;
    assert_eq!((weak.0, weak.1["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")));
    assert_eq!(written(&mut conn), before);

    let done =
        post(&app, "/api/v1/password-reset/confirm", serde_json::json!({"token": token, "password": NEW}), None).await;
    assert_eq!(done.0, StatusCode::OK, "{}", done.1);
    assert_eq!(done.1["status"], "password_changed");

    // Every way in is closed: the cookie, the API token; the new password works, the old does not.
    let (status, headers, _) = send(&app, get_with_cookies("/me", &format!("lms_session={cookie}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers.get("location").unwrap().to_str().unwrap().starts_with("/login"));
    let (status, _, _) = send(&app, json_request("GET", "/api/v1/me", "", Some(&api_token))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(people::authenticate(&mut conn, EMAIL, NEW).unwrap().is_some());
    assert!(people::authenticate(&mut conn, EMAIL, OLD).unwrap().is_none());

    // Reused: refused, nothing written.
    let before = written(&mut conn);
    let reused = post(
        &app,
        "/api/v1/password-reset/confirm",
        serde_json::json!({"token": token, "password": "encore un autre 3"}),
        None,
    )
    .await;
    assert_eq!(
        (reused.0, reused.1["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reset_token_invalid"))
    );
    assert_eq!(written(&mut conn), before);
}

#[tokio::test]
async fn a_malformed_address_is_refused_with_nothing_written() {
    let db = TestDb::new(Seed::Reference);
    account(&db);
    let app = test_app(&db).await;
    let before = written(&mut db.conn());
    for email in ["pas-une-adresse", "", "a@b", "ana martin@example.org", "x\u{202e}@example.org"] {
        let (status, body) = post(&app, "/api/v1/password-reset", serde_json::json!({"email": email}), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{email:?}: {body}");
        assert_eq!(body["error"]["code"], "invalid_input");
        assert!(body["error"]["message"].as_str().unwrap().contains("adresse e-mail invalide"), "{body}");
    }
    assert_eq!(written(&mut db.conn()), before, "not even a limiter counter");
}

#[test]
fn an_expired_token_is_refused_and_requests_are_limited() {
    let db = TestDb::new(Seed::Reference);
    account(&db);
    let mut conn = db.conn();
    let client = lms_core::access::ClientInfo { ip: Some("192.0.2.7".into()), user_agent: None };
    let now = lms_core::db::now();
    password_reset::request_reset(&mut conn, EMAIL, &client, now).unwrap();
    let token = token_from_outbox(&mut conn);
    let later = now + chrono::Duration::minutes(password_reset::RESET_TOKEN_MINUTES) + chrono::Duration::seconds(1);
    assert!(!password_reset::token_is_usable(&mut conn, &token, later).unwrap());
    let before = written(&mut conn);
    let expired = password_reset::reset_password(&mut conn, &token, NEW, later);
    assert!(matches!(expired, Err(PasswordResetError::TokenInvalid)), "{expired:?}");
    assert_eq!(written(&mut conn), before, "nothing written");
    assert!(password_reset::token_is_usable(&mut conn, &token, now).unwrap(), "within the hour it works");
    let unknown = password_reset::reset_password(&mut conn, "nimporte-quoi", NEW, now);
    assert!(matches!(unknown, Err(PasswordResetError::TokenInvalid)));

    // A deactivated account gets no link (and the same answer).
    assert_eq!(lms(&db, &["user", "deactivate", "--email", EMAIL], None).code, 0);
    let (tokens, messages, ..) = written(&mut conn);
    password_reset::request_reset(&mut conn, EMAIL, &client, now).unwrap();
    let (tokens_after, messages_after, ..) = written(&mut conn);
    assert_eq!((tokens_after, messages_after), (tokens, messages), "no link for a deactivated account");

    // A fourth request for one address within the hour is refused, whoever asks.
    password_reset::request_reset(&mut conn, EMAIL, &client, now).unwrap();
    let limited = password_reset::request_reset(&mut conn, EMAIL, &client, now);
    assert!(matches!(limited, Err(PasswordResetError::TooManyRequests { .. })), "{limited:?}");
}

#[tokio::test]
async fn the_pages_ask_for_a_link_and_set_a_new_password() {
    let db = TestDb::new(Seed::Reference);
    account(&db);
    let app = test_app(&db).await;
    let (status, _, login) = send(&app, get("/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(login.contains("href=\"/mot-de-passe-oublie\""), "the login page links to it");

    let (status, headers, form) = send(&app, get("/mot-de-passe-oublie")).await;
    assert_eq!(status, StatusCode::OK);
    let csrf_cookie = format!("lms_csrf={}", set_cookie(&headers, "lms_csrf").unwrap());
    let csrf = csrf_field(&form);
    let (status, _, answer) =
        send(&app, form_request("/mot-de-passe-oublie", &[("email", EMAIL), ("csrf", &csrf)], &csrf_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer.contains("Si un compte existe"), "{answer}");
    let (_, _, unknown) = send(
        &app,
        form_request("/mot-de-passe-oublie", &[("email", "personne@example.org"), ("csrf", &csrf)], &csrf_cookie),
    )
    .await;
    assert!(unknown.contains("Si un compte existe"));
    let (status, _, malformed) = send(
        &app,
        form_request("/mot-de-passe-oublie", &[("email", "pas-une-adresse"), ("csrf", &csrf)], &csrf_cookie),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.contains("adresse e-mail invalide"));

    let token = token_from_outbox(&mut db.conn());
    let path = format!("/mot-de-passe-oublie/{token}");
    let (status, _, page) = send(&app, get(&path)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nouveau mot de passe"));
    let (status, _, mismatch) = send(
        &app,
        form_request(
            &path,
            &[("new_password", NEW), ("new_password_confirmation", "autre chose 4"), ("csrf", &csrf)],
            &csrf_cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.contains("ne correspondent pas"));
    let (status, headers, _) = send(
        &app,
        form_request(
            &path,
            &[("new_password", NEW), ("new_password_confirmation", NEW), ("csrf", &csrf)],
            &csrf_cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers.get("location").unwrap(), "/login?info=password_reset");
    browser_login(&app, EMAIL, NEW).await;

    let (status, _, used) = send(&app, get(&path)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(used.contains("n'est pas valable"), "{used}");
}
