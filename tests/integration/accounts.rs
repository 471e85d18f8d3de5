//! Accounts over HTTP: sign up, tokens, the failed-login limiter, browser login sessions, CSRF.

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::db::schema::users;
use lms_tests::*;
use serde_json::Value;

const PASSWORD: &str = "un mot de passe solide";

async fn sign_up(app: &axum::Router, email: &str, name: &str) -> (StatusCode, Value) {
    let body = serde_json::json!({ "email": email, "name": name, "password": PASSWORD }).to_string();
    let (status, _, body) = send(app, json_request("POST", "/api/v1/accounts", &body, None)).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn token(app: &axum::Router, email: &str, password: &str) -> (StatusCode, Value) {
    let body = serde_json::json!({ "email": email, "password": password }).to_string();
    let (status, _, body) = send(app, json_request("POST", "/api/v1/auth/token", &body, None)).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn user_count(db: &TestDb) -> i64 {
    users::table.count().get_result(&mut db.conn()).unwrap()
}

#[tokio::test]
async fn sign_up_then_token_then_me() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let (status, account) = sign_up(&app, "Lea@Example.org", "Léa").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{account}");
    assert_eq!(account["email"], "lea@example.org");
    assert_eq!(account["roles"], serde_json::json!(["trainee"]));
    assert!(account.get("password_hash").is_none() && !account.to_string().contains("argon2"));
    let (status, body) = token(&app, "lea@example.org", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43);
    let (status, _, me) = send(&app, json_request("GET", "/api/v1/me", "", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let me: Value = serde_json::from_str(&me).unwrap();
    assert_eq!(me["user"]["email"], "lea@example.org");
    let (status, _, body) = send(&app, json_request("GET", "/api/v1/me", "", Some("forged-token"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("\"code\":\"unauthenticated\""));
    let (status, _, _) = send(&app, get("/api/v1/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_sign_ups_are_refused_with_json_errors_and_write_nothing() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    sign_up(&app, "taken@example.org", "Pris").await;
    let long_name = "x".repeat(500);
    let cases: Vec<(&str, Option<&str>, StatusCode, &str)> = vec![
        (
            r#"{"email":"weak@example.org","name":"Faible","password":"court"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
        ),
        (
            r#"{"email":"pas-un-email","name":"X","password":"un mot de passe solide"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_user",
        ),
        (
            r#"{"email":"a@example.org","name":42,"password":"un mot de passe solide"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (r#"{"email":"a@example.org""#, Some("application/json"), StatusCode::BAD_REQUEST, "malformed_json"),
        (
            r#"{"email":"a@example.org","name":"X","password":"un mot de passe solide","admin":true}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (
            r#"{"email":"a@example.org","name":"X","password":"un mot de passe solide"}"#,
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, expected_status, expected_code) in cases {
        let mut builder = axum::http::Request::builder().method("POST").uri("/api/v1/accounts");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        let (status, _, response) = send(&app, builder.body(axum::body::Body::from(body.to_owned())).unwrap()).await;
        assert_eq!(status, expected_status, "{body}: {response}");
        let response: Value = serde_json::from_str(&response).unwrap_or_else(|_| panic!("not JSON: {response}"));
        assert_eq!(response["error"]["code"], expected_code, "{body}");
        assert!(response["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, _) = sign_up(&app, "long@example.org", &long_name).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(user_count(&db), 1, "nothing written by refused sign-ups");
}

#[tokio::test]
async fn failed_logins_lock_the_account_but_never_slow_a_success() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    sign_up(&app, "cible@example.org", "Cible").await;
    sign_up(&app, "autre@example.org", "Autre").await;
    for _ in 0..lms_core::access::MAX_FAILURES_PER_ACCOUNT {
        let (status, body) = token(&app, "cible@example.org", "mauvais mot de passe").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["code"], "invalid_credentials");
    }
    // Locked: even the right password is refused for a while, with a clear message.
    let (status, body) = token(&app, "cible@example.org", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // Another account is not affected, and unknown accounts answer like wrong passwords.
    assert_eq!(token(&app, "autre@example.org", PASSWORD).await.0, StatusCode::OK);
    let (status, body) = token(&app, "personne@example.org", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn browser_login_sets_a_fresh_httponly_cookie_and_logout_kills_it_everywhere() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    sign_up(&app, "nav@example.org", "Navigatrice").await;

    // Without the form token, a login is refused and sets no session.
    let (status, headers, _) =
        send(&app, form_request("/login", &[("email", "nav@example.org"), ("password", PASSWORD), ("csrf", "x")], ""))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&headers, "lms_session").is_none());

    let (_, headers, body) = send(&app, get("/login")).await;
    let csrf_cookie = set_cookie(&headers, "lms_csrf").unwrap();
    let csrf = csrf_field(&body);
    // A session id planted before login is not adopted (no fixation).
    let planted = "lms_session=planted-by-attacker";
    let (status, headers, _) = send(
        &app,
        form_request(
            "/login",
            &[("email", "nav@example.org"), ("password", PASSWORD), ("csrf", &csrf), ("next", "/me")],
            &format!("lms_csrf={csrf_cookie}; {planted}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/me");
    let cookie_header = set_cookie_header(&headers, "lms_session").unwrap();
    assert!(
        cookie_header.contains("HttpOnly")
            && cookie_header.contains("SameSite=Lax")
            && cookie_header.contains("Path=/"),
        "{cookie_header}"
    );
    let session = set_cookie(&headers, "lms_session").unwrap();
    assert_ne!(session, "planted-by-attacker");

    let cookies = format!("lms_session={session}");
    let (status, _, me) = send(&app, get_with_cookies("/me", &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(me.contains("Navigatrice"));
    // A second app instance on the same database accepts the same login (nothing in memory).
    let other_instance = test_app(&db).await;
    assert_eq!(send(&other_instance, get_with_cookies("/me", &cookies)).await.0, StatusCode::OK);

    // Logout needs the login session's form token, then the cookie is dead on every instance.
    let logout_csrf = csrf_field(&me);
    assert_eq!(send(&app, form_request("/logout", &[("csrf", "wrong")], &cookies)).await.0, StatusCode::FORBIDDEN);
    let (status, headers, _) = send(&app, form_request("/logout", &[("csrf", &logout_csrf)], &cookies)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(set_cookie_header(&headers, "lms_session").unwrap().contains("Max-Age=0"));
    let (status, headers, _) = send(&other_instance, get_with_cookies("/me", &cookies)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn changing_the_password_closes_other_logins() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    sign_up(&app, "mdp@example.org", "Mdp").await;
    let first = format!("lms_session={}", browser_login(&app, "mdp@example.org", PASSWORD).await);
    let second = format!("lms_session={}", browser_login(&app, "mdp@example.org", PASSWORD).await);
    let (_, _, page) = send(&app, get_with_cookies("/me/password", &first)).await;
    let csrf = csrf_field(&page);
    let new_password = "une toute nouvelle phrase";
    let (status, _, body) = send(
        &app,
        form_request(
            "/me/password",
            &[
                ("csrf", &csrf),
                ("current", "faux mot de passe"),
                ("new_password", new_password),
                ("new_password_confirmation", new_password),
            ],
            &first,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("mot de passe actuel incorrect"));
    let (status, headers, _) = send(
        &app,
        form_request(
            "/me/password",
            &[
                ("csrf", &csrf),
                ("current", PASSWORD),
                ("new_password", new_password),
                ("new_password_confirmation", new_password),
            ],
            &first,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
    assert_eq!(send(&app, get_with_cookies("/me", &first)).await.0, StatusCode::OK);
    assert_eq!(send(&app, get_with_cookies("/me", &second)).await.0, StatusCode::SEE_OTHER);
    assert_eq!(token(&app, "mdp@example.org", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(token(&app, "mdp@example.org", new_password).await.0, StatusCode::OK);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/accounts")
        .header("content-type", "application/json")
        .header("host", "lms.example.org")
        .header("origin", "https://evil.example")
        .body(axum::body::Body::from(r#"{"email":"x@example.org","name":"X","password":"un mot de passe solide"}"#))
        .unwrap();
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("cross_origin_refused"));
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/logout")
        .header("sec-fetch-site", "cross-site")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app, request).await.0, StatusCode::FORBIDDEN);
    assert_eq!(user_count(&db), 0);
}

#[tokio::test]
async fn html_in_names_is_stored_verbatim_and_rendered_escaped() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    let name = "<script>alert('x')</script> O'Brien & \"fils\"";
    let (status, account) = sign_up(&app, "xss@example.org", name).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(account["name"], name);
    let stored: String = users::table.select(users::display_name).first(&mut db.conn()).unwrap();
    assert_eq!(stored, name);
    let cookies = format!("lms_session={}", browser_login(&app, "xss@example.org", PASSWORD).await);
    let (_, _, page) = send(&app, get_with_cookies("/me", &cookies)).await;
    assert!(!page.contains("<script>alert"), "unescaped name in page");
    assert!(page.contains("&lt;script&gt;"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_from_one_address_lock_that_address() {
    let db = TestDb::new(Seed::Reference);
    let address = spawn_server(&db).await;
    let base = format!("http://{address}/api/v1");
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{base}/accounts"))
        .json(&serde_json::json!({"email": "vraie@example.org", "name": "Vraie", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::ACCEPTED);
    // Password spraying: one wrong guess on many accounts, all from 127.0.0.1.
    for i in 0..lms_core::access::MAX_FAILURES_PER_ADDRESS {
        let response = client
            .post(format!("{base}/auth/token"))
            .json(&serde_json::json!({"email": format!("inconnu{i}@example.org"), "password": "devine"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = client
        .post(format!("{base}/auth/token"))
        .json(&serde_json::json!({"email": "vraie@example.org", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
}
