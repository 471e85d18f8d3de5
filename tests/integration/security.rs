//! Security suite, inputs: request body size limits, and one XSS / SQL-injection payload corpus
//! sent through every text input of the product (JSON API, HTML forms, query strings, the CSV
//! import, CLI arguments). Each payload is either refused with a clear 4xx and nothing written, or
//! stored verbatim (read back through the core) and rendered escaped on every page that shows it.
//! Which of the two is decided per kind of field: free text ([`must_accept`] / [`must_refuse`])
//! or a person's name ([`must_accept_as_name`] / [`must_refuse_as_name`]), which also refuses bidi
//! and invisible format characters.
//! (Authorisation, CSRF, cookies and headers are in `authorization`, `accounts` and `server`.)

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::assessment::grid;
use lms_core::attendance::{Actor, sheets};
use lms_core::db::ids::{HalfDayId, TrainingSessionId};
use lms_core::db::schema::{assessments, attendance_entries, enrolments, users};
use lms_tests::*;
use serde_json::{Value, json};

use crate::attendance_support::*;

// ------------------------------------------------------------------------------ the corpus

/// The payload corpus, reused by every test below.
fn payloads() -> Vec<String> {
    vec![
        "<script>alert(1)</script>".into(),
        "\"><img src=x onerror=alert(1)>".into(),
        "'; DROP TABLE users; --".into(),
        "' OR '1'='1".into(),
        "</textarea><svg onload=alert(1)>".into(),
        "Robert'); DELETE FROM attendance_entries WHERE ('1'='1".into(),
        "1 UNION SELECT password_hash FROM users --".into(),
        "{{ 7*7 }}{% if true %}injecté{% endif %}".into(),
        "javascript:alert(document.cookie)".into(),
        "&lt;b&gt;déjà échappé&lt;/b&gt; &amp; &#x27;".into(),
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "Zoé \u{202E}fdp.exe\u{202C} 👩🏽‍🏫 العربية \u{200F}עברית".into(),
        "\u{FEFF}\u{200B}invisible\u{200D}".into(),
        "avant\u{0}après".into(),
        "bip\u{7}\u{1B}[31mrouge\u{1B}[0m".into(),
        "<a href=\"javascript:alert(1)\">x</a>".repeat(200),
    ]
}

/// The bidi embeddings, overrides and isolates: they make a line read backwards, so every input
/// refuses them, free text included.
fn has_bidi_override(payload: &str) -> bool {
    payload.chars().any(|c| matches!(u32::from(c), 0x202A..=0x202E | 0x2066..=0x2069))
}

/// Invisible format characters a name refuses: the bidi marks and controls, zero-width space,
/// word joiner, byte-order mark, soft hyphen, and the rest of general category Cf — but not
/// ZWNJ / ZWJ (U+200C, U+200D), which scripts and emoji sequences need.
fn has_forbidden_name_format(payload: &str) -> bool {
    has_bidi_override(payload)
        || payload.chars().any(|c| {
            matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
                || (lms_core::text::is_format_character(c) && !matches!(c, '\u{200C}' | '\u{200D}'))
        })
}

/// Payloads every free-text input must accept (no control character, no bidi override, short):
/// refusing them would be a bug, not a defence.
fn must_accept(payload: &str) -> bool {
    !payload.chars().any(char::is_control) && !has_bidi_override(payload) && payload.chars().count() <= 120
}

/// Payloads every input must refuse: NUL cannot be stored on PostgreSQL, and one rule holds on
/// both backends; a bidi override would make the stored line read backwards on sheets and in
/// the terminal.
fn must_refuse(payload: &str) -> bool {
    payload.contains('\0') || payload.chars().count() > 4_000 || has_bidi_override(payload)
}

/// Payloads a person's name (display name) must refuse: any control character, any forbidden
/// format character, more than 120 characters. Names have no grey zone: every other payload
/// is accepted ([`must_accept_as_name`]).
fn must_refuse_as_name(payload: &str) -> bool {
    let folded = payload.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().any(char::is_control) || has_forbidden_name_format(&folded) || folded.chars().count() > 120
}

/// Payloads a person's name must accept.
fn must_accept_as_name(payload: &str) -> bool {
    !must_refuse_as_name(payload)
}

/// The classification itself, for the payloads whose fate differs by field: the bidi override
/// is refused everywhere; the invisible characters are refused in names and kept in notes; the
/// long payload is too long for a name.
#[test]
fn the_corpus_classification_says_where_bidi_and_invisible_payloads_go() {
    let corpus = payloads();
    let find = |needle: &str| corpus.iter().find(|p| p.contains(needle)).cloned().unwrap();
    let bidi = find("fdp.exe");
    assert!(must_refuse(&bidi) && must_refuse_as_name(&bidi));
    let invisible = find("invisible");
    assert!(must_accept(&invisible) && must_refuse_as_name(&invisible));
    let long = find("<a href=\"javascript:alert(1)\">x</a><a");
    assert!(!must_accept(&long) && must_refuse_as_name(&long));
    for plain in ["<script>alert(1)</script>", "'; DROP TABLE users; --"] {
        assert!(must_accept(plain) && must_accept_as_name(plain));
    }
    assert!(must_accept_as_name("Awa 👩🏽\u{200D}🏫") && must_accept_as_name("Kh\u{200C}osravi"));
}

/// What minijinja's auto-escaping makes of `raw` (the same six characters).
fn html_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            other => out.push(other),
        }
    }
    out
}

/// `page` shows `stored` escaped, and never raw.
fn assert_rendered_escaped(page: &str, stored: &str, where_: &str) {
    let escaped = html_escape(stored);
    assert!(page.contains(&escaped), "{where_}: escaped {stored:?} missing from the page");
    if escaped != stored {
        assert!(!page.contains(stored), "{where_}: {stored:?} appears unescaped");
    }
}

/// No page ever contains a live payload, whatever else it shows.
fn assert_no_live_markup(page: &str, where_: &str) {
    for marker in ["<script>alert", "<img src=x", "<svg onload", "<a href=\"javascript:", "</textarea><svg"] {
        assert!(!page.contains(marker), "{where_}: live markup {marker:?} in the page");
    }
}

fn query_encode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A refusal as the API words it: 4xx, `{"error": {"code", "message"}}`.
fn assert_api_refusal(status: StatusCode, body: &str, where_: &str) {
    assert!(status.is_client_error(), "{where_}: {status} {body}");
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{where_}: not JSON: {body}"));
    assert!(body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{where_}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{where_}: {body}");
}

/// A refusal as pages word it: 4xx and a French message in an HTML page.
fn assert_page_refusal(status: StatusCode, page: &str, where_: &str) {
    assert!(status.is_client_error(), "{where_}: {status}");
    assert!(page.contains("<html lang=\"fr\">"), "{where_}: not a page: {page}");
    assert_no_live_markup(page, where_);
}

fn count_users(conn: &mut lms_core::DbConn) -> i64 {
    users::table.count().get_result(conn).unwrap()
}

fn count_enrolments(conn: &mut lms_core::DbConn) -> i64 {
    enrolments::table.count().get_result(conn).unwrap()
}

fn count_entries(conn: &mut lms_core::DbConn) -> i64 {
    attendance_entries::table.count().get_result(conn).unwrap()
}

fn count_assessments(conn: &mut lms_core::DbConn) -> i64 {
    assessments::table.count().get_result(conn).unwrap()
}

/// A cookie header and form token for `email`, made directly (no password hashing).
fn login_cookie(conn: &mut lms_core::DbConn, email: &str) -> (String, String) {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    let now = lms_core::db::now();
    let login = lms_core::access::open_login_session(conn, user, &Default::default(), now).unwrap();
    let caller = lms_core::access::caller_from_login_session(conn, &login.token, now).unwrap().unwrap();
    (format!("lms_session={}", login.token), caller.csrf_token.unwrap())
}

/// The login page's anonymous form token and its cookie.
async fn anonymous_form(app: &axum::Router, path: &str) -> (String, String) {
    let (_, headers, body) = send(app, get(path)).await;
    (format!("lms_csrf={}", set_cookie(&headers, "lms_csrf").unwrap()), csrf_field(&body))
}

// --------------------------------------------------------------------------- body size limits

fn raw_request(
    method: &str,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
    with_length: bool,
    cookie: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(method).uri(uri).header("content-type", content_type);
    if with_length {
        builder = builder.header("content-length", body.len());
    }
    if let Some(cookie) = cookie {
        builder = builder.header("cookie", cookie);
    }
    // Without a content-length header (as in a chunked upload) the limit is enforced while the
    // body is read rather than up front: both paths are tested.
    builder.body(axum::body::Body::from(body)).unwrap()
}

/// A sign-up JSON body padded with trailing whitespace (valid JSON) to exactly `size` bytes.
fn padded_sign_up(email: &str, size: usize) -> Vec<u8> {
    let mut body = json!({"email": email, "name": "Taille", "password": "un mot de passe solide"}).to_string();
    assert!(body.len() <= size);
    body.push_str(&" ".repeat(size - body.len()));
    body.into_bytes()
}

/// A login form padded with an extra field (ignored by the form) to exactly `size` bytes.
fn padded_form(fields: &[(&str, &str)], size: usize) -> Vec<u8> {
    let mut body = fields.iter().map(|(k, v)| format!("{k}={}", query_encode(v))).collect::<Vec<_>>().join("&");
    body.push_str("&pad=");
    assert!(body.len() <= size);
    body.push_str(&"x".repeat(size - body.len()));
    body.into_bytes()
}

#[tokio::test]
async fn oversize_json_and_form_bodies_get_413_and_write_nothing() {
    let (_db, app, mut conn) = corpus_target(Seed::Reference).await;
    let limit = lms_server::MAX_BODY_BYTES;
    for with_length in [true, false] {
        // JSON: one byte over the limit.
        let body = padded_sign_up("trop@example.org", limit + 1);
        let (status, headers, text) =
            send(&app, raw_request("POST", "/api/v1/accounts", "application/json", body, with_length, None)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "length header {with_length}: {text}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"), "{headers:?}");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(json["error"]["code"], "payload_too_large", "{json}");
        assert!(json["error"]["message"].as_str().unwrap().contains("Ko"), "{json}");

        // A form: the sign-up page, one byte over.
        let (cookie, csrf) = anonymous_form(&app, "/signup").await;
        let fields = [
            ("name", "Trop"),
            ("email", "trop.form@example.org"),
            ("password", "un mot de passe solide"),
            ("password_confirmation", "un mot de passe solide"),
            ("csrf", csrf.as_str()),
        ];
        let body = padded_form(&fields, limit + 1);
        let (status, headers, page) = send(
            &app,
            raw_request("POST", "/signup", "application/x-www-form-urlencoded", body, with_length, Some(&cookie)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "length header {with_length}");
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{headers:?}");
        assert!(page.contains("<html lang=\"fr\">") && page.contains("trop volumineuse"), "{page}");
        assert!(headers.contains_key("content-security-policy"), "the 413 page gets the security headers");
        assert!(set_cookie(&headers, "lms_session").is_none());
    }
    assert_eq!(count_users(&mut conn), 0, "nothing written by refused bodies");
    // Far over the limit too (a client announcing 50 MB is refused before anything is read).
    let (status, _, _) = send(
        &app,
        raw_request("POST", "/api/v1/accounts", "application/json", vec![b' '; 50 * 1024 * 1024], true, None),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count_users(&mut conn), 0);
}

#[tokio::test]
async fn bodies_just_under_the_limit_are_processed_normally() {
    let (_db, app, mut conn) = corpus_target(Seed::Reference).await;
    let limit = lms_server::MAX_BODY_BYTES;
    for (i, with_length) in [true, false].into_iter().enumerate() {
        let email = format!("juste{i}@example.org");
        let body = padded_sign_up(&email, limit);
        let (status, _, text) =
            send(&app, raw_request("POST", "/api/v1/accounts", "application/json", body, with_length, None)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{text}");
        assert!(lms_core::people::user_id_by_email(&mut conn, &email).unwrap().is_some());

        let (cookie, csrf) = anonymous_form(&app, "/signup").await;
        let email = format!("juste.form{i}@example.org");
        let fields = [
            ("name", "Juste"),
            ("email", email.as_str()),
            ("password", "un mot de passe solide"),
            ("password_confirmation", "un mot de passe solide"),
            ("csrf", csrf.as_str()),
        ];
        let body = padded_form(&fields, limit);
        let (status, headers, page) = send(
            &app,
            raw_request("POST", "/signup", "application/x-www-form-urlencoded", body, with_length, Some(&cookie)),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(headers["location"], "/login?info=signup_received");
        assert!(lms_core::people::user_id_by_email(&mut conn, &email).unwrap().is_some());
    }
}

/// The biggest legitimate inputs fit under the limit: a drawn signature of the most points the
/// core accepts (sent as JSON and as the signature form, which percent-encodes it), a sheet of
/// the most lines with long reasons, and a full assessment grid with notes.
#[tokio::test]
async fn the_largest_legitimate_inputs_fit_under_the_limit() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let token = token(&mut conn, TRAINER);
    let (cookie, csrf) = login_cookie(&mut conn, TRAINER);
    let app = test_app(&db).await;
    let limit = lms_server::MAX_BODY_BYTES;

    // Coordinates with decimals, as a high-resolution pad sends them.
    let max = lms_core::attendance::signature::MAX_POINTS;
    let strokes: Vec<Vec<[f64; 2]>> = (0..lms_core::attendance::signature::MAX_STROKES)
        .map(|s| {
            (0..max / lms_core::attendance::signature::MAX_STROKES)
                .map(|p| [1000.0 + (s * 7 + p) as f64 / 3.0, 1999.0 - p as f64 / 7.0])
                .collect()
        })
        .collect();
    let signature = json!({"width": 3999.5, "height": 2999.25, "strokes": strokes}).to_string();
    assert!(signature.len() <= 200_000, "the core's own limit: {}", signature.len());
    let body = json!({"trainee": DEMO_TRAINEES[0], "signature": signature}).to_string();
    assert!(body.len() < limit);
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/signatures");
    let (status, _, text) = send(&app, json_request("POST", &url, &body, Some(&token))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    let trainee = user(&mut conn, DEMO_TRAINEES[1]);
    let form_body = format!("csrf={csrf}&signature={}", query_encode(&signature));
    assert!(form_body.len() < limit, "signature form: {} bytes", form_body.len());
    let url = format!("/trainer/sessions/{session}/half-days/{half_day}/signature/{trainee}");
    let (status, headers, page) = send(
        &app,
        raw_request("POST", &url, "application/x-www-form-urlencoded", form_body.into_bytes(), true, Some(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(headers["location"].to_str().unwrap().ends_with("info=signed"));

    // A sheet of MAX_SHEET_LINES lines (a full session of 500), each with a 500-character reason:
    // fits (the lines are unknown trainees, so the core refuses it — not the limit).
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/sheet");
    let sheet_of = |reason: &str| {
        let entries: Vec<Value> = (0..lms_core::attendance::recording::MAX_SHEET_LINES)
            .map(|i| json!({"trainee": format!("stagiaire{i}@example.org"), "status": "excused", "reason": reason}))
            .collect();
        json!({"entries": entries}).to_string()
    };
    let body = sheet_of(&"Rendez-vous médical. ".repeat(25).chars().take(500).collect::<String>());
    assert!(body.len() < limit, "{} bytes", body.len());
    let before = count_entries(&mut conn);
    let (status, _, text) = send(&app, json_request("PUT", &url, &body, Some(&token))).await;
    assert_api_refusal(status, &text, "largest sheet");
    assert_eq!(json_body(&text)["error"]["code"], "not_a_trainee", "{text}");
    // Only a contrived one (every reason 500 two-byte letters) is over: a clean 413, nothing
    // written; such a sheet goes in two requests (a sheet may be recorded in parts).
    let body = sheet_of(&"é".repeat(500));
    assert!(body.len() > limit);
    let (status, _, text) = send(&app, json_request("PUT", &url, &body, Some(&token))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_eq!(json_body(&text)["error"]["code"], "payload_too_large");
    assert_eq!(count_entries(&mut conn), before);

    // The whole grid of the demo session (6 trainees × every competence) with long notes.
    let codes: Vec<String> = grid::assessment_grid(&mut conn, Actor::Console, &session)
        .unwrap()
        .units
        .iter()
        .flat_map(|u| u.competences.iter().map(|c| c.code.clone()))
        .collect();
    let note = "n".repeat(grid::MAX_EVIDENCE_CHARS);
    let results: Vec<Value> = DEMO_TRAINEES
        .iter()
        .flat_map(|t| codes.iter().map(move |c| (t, c)))
        .map(|(t, c)| json!({"trainee": t, "competence": c, "result": "in_progress", "evidence": note}))
        .collect();
    let body = json!({"results": results}).to_string();
    assert!(body.len() < limit, "grid: {} bytes", body.len());
    let url = format!("/api/v1/sessions/{session}/assessments");
    let (status, _, text) = send(&app, json_request("PUT", &url, &body, Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

// --------------------------------------------------------------------- the corpus, input by input

/// A database with `seed`, an app on it and a connection to check what was written.
async fn corpus_target(seed: Seed) -> (TestDb, axum::Router, lms_core::DbConn) {
    let db = TestDb::new(seed);
    let app = test_app(&db).await;
    let conn = db.conn();
    (db, app, conn)
}

#[tokio::test]
async fn corpus_through_sign_up_api_and_page() {
    let (_db, app, mut conn) = corpus_target(Seed::Reference).await;
    for (i, payload) in payloads().iter().enumerate() {
        let where_ = format!("API sign-up name #{i}");
        let email = format!("api{i}@example.org");
        let before = count_users(&mut conn);
        let body = json!({"email": email, "name": payload, "password": "un mot de passe solide"}).to_string();
        let (status, _, text) = send(&app, json_request("POST", "/api/v1/accounts", &body, None)).await;
        if status == StatusCode::ACCEPTED {
            assert!(!must_refuse_as_name(payload), "{where_}: accepted");
            let stored = lms_core::people::find_user_by_email(&mut conn, &email).unwrap().name;
            // Names are stored with runs of spaces folded, nothing else changed.
            assert_eq!(stored, payload.split_whitespace().collect::<Vec<_>>().join(" "), "{where_}");
            let (cookie, _) = login_cookie(&mut conn, &email);
            let (status, _, page) = send(&app, get_with_cookies("/me", &cookie)).await;
            assert_eq!(status, StatusCode::OK);
            assert_rendered_escaped(&page, &stored, &where_);
            assert_no_live_markup(&page, &where_);
        } else {
            assert!(!must_accept_as_name(payload), "{where_}: refused {status} {text}");
            assert_api_refusal(status, &text, &where_);
            assert_eq!(count_users(&mut conn), before, "{where_}: nothing written");
        }

        // The page: a mismatched confirmation shows the form again with what was typed, escaped.
        let where_ = format!("page sign-up #{i}");
        let (cookie, csrf) = anonymous_form(&app, "/signup").await;
        let before = count_users(&mut conn);
        // The payload as name and e-mail, with this confirmation of the password.
        let fields = |confirmation| {
            [
                ("name", payload.as_str()),
                ("email", payload.as_str()),
                ("password", "un mot de passe solide"),
                ("password_confirmation", confirmation),
                ("csrf", csrf.as_str()),
            ]
        };
        let (status, _, page) = send(&app, form_request("/signup", &fields("autre chose encore"), &cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{where_}");
        assert_rendered_escaped(&page, payload, &where_);
        assert_no_live_markup(&page, &where_);
        // The e-mail field refuses every payload (none is an address); the page says so, escaped.
        let (status, _, page) = send(&app, form_request("/signup", &fields("un mot de passe solide"), &cookie)).await;
        assert_page_refusal(status, &page, &where_);
        assert_eq!(count_users(&mut conn), before, "{where_}: nothing written");
        // A valid e-mail with the payload as name: created, or refused like the API.
        let email = format!("page{i}@example.org");
        let fields = [
            ("name", payload.as_str()),
            ("email", email.as_str()),
            ("password", "un mot de passe solide"),
            ("password_confirmation", "un mot de passe solide"),
            ("csrf", csrf.as_str()),
        ];
        let (status, headers, page) = send(&app, form_request("/signup", &fields, &cookie)).await;
        if status == StatusCode::SEE_OTHER {
            assert!(!must_refuse_as_name(payload), "{where_}: accepted");
            assert_eq!(headers["location"], "/login?info=signup_received", "{where_}");
            let (cookie, _) = login_cookie(&mut conn, &email);
            let (_, _, page) = send(&app, get_with_cookies("/me", &cookie)).await;
            let stored = lms_core::people::find_user_by_email(&mut conn, &email).unwrap().name;
            assert_rendered_escaped(&page, &stored, &where_);
        } else {
            assert!(!must_accept_as_name(payload), "{where_}: refused {status}");
            assert_page_refusal(status, &page, &where_);
            assert_eq!(count_users(&mut conn), before, "{where_}: nothing written");
        }
    }
}

#[tokio::test]
async fn corpus_through_login() {
    let (_db, app, mut conn) = corpus_target(Seed::Reference).await;
    for (i, payload) in payloads().iter().enumerate() {
        let where_ = format!("login #{i}");
        let before = count_users(&mut conn);
        let body = json!({"email": payload, "password": payload}).to_string();
        let (status, _, text) = send(&app, json_request("POST", "/api/v1/auth/token", &body, None)).await;
        assert_api_refusal(status, &text, &where_);
        let (cookie, csrf) = anonymous_form(&app, "/login").await;
        let fields = [("email", payload.as_str()), ("password", payload.as_str()), ("csrf", csrf.as_str())];
        let (status, headers, page) = send(&app, form_request("/login", &fields, &cookie)).await;
        assert_page_refusal(status, &page, &where_);
        assert!(set_cookie(&headers, "lms_session").is_none());
        // What was typed as e-mail is shown back, escaped; the password never is.
        assert_rendered_escaped(&page, payload, &where_);
        assert_eq!(count_users(&mut conn), before);
    }
    // The corpus left the users table alone (an injected DROP or DELETE would show here).
    assert_eq!(count_users(&mut conn), 0);
}

#[tokio::test]
async fn corpus_through_search_page_and_api() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    for (i, payload) in payloads().iter().enumerate() {
        let where_ = format!("search #{i}");
        let encoded = query_encode(payload);
        let (status, _, text) = send(&app, get(&format!("/api/v1/sessions/search?near={encoded}"))).await;
        assert_api_refusal(status, &text, &where_);
        let (status, _, page) = send(&app, get(&format!("/?near={encoded}"))).await;
        assert_page_refusal(status, &page, &where_);
        // The other text parameters.
        let (status, _, text) =
            send(&app, get(&format!("/api/v1/sessions/search?near=Saintes&course={encoded}"))).await;
        assert_api_refusal(status, &text, &format!("{where_} course"));
        let (status, _, page) = send(&app, get(&format!("/?near=Saintes&course={encoded}&minutes={encoded}"))).await;
        assert!(!status.is_server_error(), "{where_}: {status}");
        assert_no_live_markup(&page, &where_);
    }
    // Identifiers in paths: a clean 4xx whatever they hold.
    for (i, payload) in payloads().iter().enumerate() {
        let segment = query_encode(payload);
        for path in ["/verify/", "/courses/", "/sessions/"] {
            let (status, _, page) = send(&app, get(&format!("{path}{segment}"))).await;
            assert_page_refusal(status, &page, &format!("path {path} #{i}"));
        }
        for path in ["/api/v1/certificates/", "/api/v1/courses/", "/api/v1/sessions/"] {
            let (status, _, text) = send(&app, get(&format!("{path}{segment}"))).await;
            assert_api_refusal(status, &text, &format!("path {path} #{i}"));
        }
    }
    // The demo sessions are all still there.
    let (status, _, text) = send(&app, get("/api/v1/sessions/search?near=Saintes&minutes=60")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

#[tokio::test]
async fn corpus_through_enrolment_api_and_page() {
    let (_db, app, mut conn) = corpus_target(Seed::Demo).await;
    let open = session(&mut conn, "ACCES-DEMO-ANGOULEME");
    for (i, payload) in payloads().iter().enumerate() {
        for via_page in [false, true] {
            let where_ = format!("enrolment #{i} ({})", if via_page { "page" } else { "API" });
            let email = format!("inscr{i}{}@example.org", if via_page { "p" } else { "a" });
            let trainee = lms_core::people::add_user_without_password(
                &mut conn,
                &email,
                "Stagiaire",
                lms_core::people::Role::Trainee,
            )
            .unwrap();
            let (cookie, csrf) = login_cookie(&mut conn, &email);
            let bearer = lms_core::access::create_api_token(&mut conn, &trainee, lms_core::db::now()).unwrap();
            let send_enrolment = |fields: Vec<(&'static str, String)>| {
                if via_page {
                    let mut all: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    all.push(("csrf", &csrf));
                    form_request(&format!("/sessions/{open}/enrol"), &all, &cookie)
                } else {
                    let body: serde_json::Map<String, Value> =
                        fields.into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
                    json_request(
                        "POST",
                        &format!("/api/v1/sessions/{open}/enrolments"),
                        &Value::Object(body).to_string(),
                        Some(&bearer),
                    )
                }
            };
            let check_refused = |status: StatusCode, text: &str| {
                if via_page {
                    assert_page_refusal(status, text, &where_);
                } else {
                    assert_api_refusal(status, text, &where_);
                }
            };
            // Funding and category are closed lists: always refused, nothing written.
            let before = count_enrolments(&mut conn);
            for field in ["funding_source", "trainee_category"] {
                let (status, _, text) = send(&app, send_enrolment(vec![(field, payload.clone())])).await;
                check_refused(status, &text);
                assert_eq!(count_enrolments(&mut conn), before, "{where_} {field}: nothing written");
            }
            // Positioning answers are free text: stored verbatim (trimmed), or refused.
            let (status, _, text) = send(&app, send_enrolment(vec![("positioning_answers", payload.clone())])).await;
            if status.is_success() || status == StatusCode::SEE_OTHER {
                assert!(!must_refuse(payload), "{where_}: accepted");
                let stored: Option<String> = enrolments::table
                    .filter(enrolments::trainee_id.eq(&trainee.id))
                    .select(enrolments::positioning_answers)
                    .first(&mut conn)
                    .unwrap();
                assert_eq!(stored.as_deref(), Some(payload.trim()), "{where_}");
                // The trainee's pages never show it raw.
                for path in ["/me".to_owned(), format!("/sessions/{open}")] {
                    let (_, _, page) = send(&app, get_with_cookies(&path, &cookie)).await;
                    assert_no_live_markup(&page, &where_);
                }
            } else {
                assert!(!must_accept(payload), "{where_}: refused {status} {text}");
                check_refused(status, &text);
                assert_eq!(count_enrolments(&mut conn), before, "{where_}: nothing written");
            }
        }
    }
}

/// The half-day under way of the demo session, its sheet page URL, and the trainer's
/// credentials (API token, cookie, form token).
struct SheetSetup {
    session: TrainingSessionId,
    half_day: HalfDayId,
    token: String,
    cookie: String,
    csrf: String,
}

fn sheet_setup(conn: &mut lms_core::DbConn) -> SheetSetup {
    let session = session(conn, DEMO);
    let half_day = open_half_day(conn, &session);
    let token = token(conn, TRAINER);
    let (cookie, csrf) = login_cookie(conn, TRAINER);
    SheetSetup { session, half_day, token, cookie, csrf }
}

impl SheetSetup {
    fn page(&self) -> String {
        format!("/trainer/sessions/{}/half-days/{}", self.session, self.half_day)
    }

    fn api(&self) -> String {
        format!("/api/v1/sessions/{}/half-days/{}/sheet", self.session, self.half_day)
    }

    fn sheet(&self, conn: &mut lms_core::DbConn) -> sheets::Sheet {
        sheets::half_day_sheet(conn, Actor::Console, &self.session, &self.half_day, lms_core::db::now()).unwrap()
    }
}

/// The demo data, an app on it, the half-day under way with its trainer's credentials, and the
/// trainee whose line the corpus goes into.
async fn corpus_sheet() -> (TestDb, axum::Router, SheetSetup, lms_core::db::ids::UserId) {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let setup = sheet_setup(&mut conn);
    let trainee = user(&mut conn, DEMO_TRAINEES[4]);
    drop(conn);
    let app = test_app(&db).await;
    (db, app, setup, trainee)
}

/// The free text that goes with a line of a sheet.
enum Note<'a> {
    /// The line's reason (of an absence).
    Reason(&'a str),
    /// Why a co-signed sheet is corrected.
    Correction(&'a str),
}

/// Writes `trainee`'s line of the open sheet (of [`DEMO_TRAINEES`]`[4]`) as `status` with `note`,
/// through the page or the API: the answer's status and body.
async fn write_line(
    app: &axum::Router,
    setup: &SheetSetup,
    trainee: &lms_core::db::ids::UserId,
    status: &str,
    note: Note<'_>,
    via_page: bool,
) -> (StatusCode, String) {
    let (status, _, text) = if via_page {
        let status_field = format!("status-{trainee}");
        let reason_field = format!("reason-{trainee}");
        let (field, text) = match note {
            Note::Reason(text) => (reason_field.as_str(), text),
            Note::Correction(text) => ("correction_reason", text),
        };
        let fields = [("csrf", setup.csrf.as_str()), (status_field.as_str(), status), (field, text)];
        send(app, form_request(&format!("{}/statuses", setup.page()), &fields, &setup.cookie)).await
    } else {
        let body = match note {
            Note::Reason(text) => {
                json!({"entries": [{"trainee": DEMO_TRAINEES[4], "status": status, "reason": text}]})
            }
            Note::Correction(text) => {
                json!({"entries": [{"trainee": DEMO_TRAINEES[4], "status": status}], "correction_reason": text})
            }
        };
        send(app, json_request("PUT", &setup.api(), &body.to_string(), Some(&setup.token))).await
    };
    (status, text)
}

#[tokio::test]
async fn corpus_through_absence_reasons() {
    let (db, app, setup, trainee) = corpus_sheet().await;
    let mut conn = db.conn();
    // Absence reasons, through the API then the page, on the open sheet.
    for (i, payload) in payloads().iter().enumerate() {
        for via_page in [false, true] {
            let where_ = format!("absence reason #{i} ({})", if via_page { "page" } else { "API" });
            let before = count_entries(&mut conn);
            let (status, text) = write_line(&app, &setup, &trainee, "excused", Note::Reason(payload), via_page).await;
            if status.is_success() || status == StatusCode::SEE_OTHER {
                assert!(!must_refuse(payload), "{where_}: accepted");
                let sheet = setup.sheet(&mut conn);
                let row = sheet.rows.iter().find(|r| r.trainee == trainee).unwrap();
                assert_eq!(row.reason.as_deref(), Some(payload.trim()), "{where_}");
                let (_, _, page) = send(&app, get_with_cookies(&setup.page(), &setup.cookie)).await;
                assert_rendered_escaped(&page, payload.trim(), &where_);
                assert_no_live_markup(&page, &where_);
            } else {
                assert!(!must_accept(payload), "{where_}: refused {status} {text}");
                if via_page {
                    assert_page_refusal(status, &text, &where_);
                    // The refused form is shown again with what was typed, escaped.
                    assert_rendered_escaped(&text, payload, &where_);
                } else {
                    assert_api_refusal(status, &text, &where_);
                }
                assert_eq!(count_entries(&mut conn), before, "{where_}: nothing written");
            }
        }
    }
    assert!(ledger_problems(&mut conn).is_empty(), "the hash chain holds after the corpus");
}

/// The trainee field of a line: refused, nothing written.
#[tokio::test]
async fn corpus_through_the_trainee_field_of_a_sheet() {
    let (db, app, setup, _) = corpus_sheet().await;
    let mut conn = db.conn();
    for (i, payload) in payloads().iter().enumerate() {
        let before = count_entries(&mut conn);
        let body = json!({"entries": [{"trainee": payload, "status": "present"}]});
        let (status, _, text) =
            send(&app, json_request("PUT", &setup.api(), &body.to_string(), Some(&setup.token))).await;
        assert_api_refusal(status, &text, &format!("sheet trainee #{i}"));
        assert_eq!(count_entries(&mut conn), before);
    }
}

#[tokio::test]
async fn corpus_through_correction_reasons() {
    let (db, app, setup, trainee) = corpus_sheet().await;
    let mut conn = db.conn();
    // Complete and co-sign the sheet; then every change is a correction with a reason.
    let rest: Vec<Value> = DEMO_TRAINEES.iter().map(|t| json!({"trainee": t, "status": "present"})).collect();
    let (status, _, text) =
        send(&app, json_request("PUT", &setup.api(), &json!({"entries": rest}).to_string(), Some(&setup.token))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let cosign = format!("/api/v1/sessions/{}/half-days/{}/cosign", setup.session, setup.half_day);
    let (status, _, text) = send(&app, json_request("POST", &cosign, "", Some(&setup.token))).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let mut flip = false;
    for (i, payload) in payloads().iter().enumerate() {
        for via_page in [false, true] {
            let where_ = format!("correction reason #{i} ({})", if via_page { "page" } else { "API" });
            let before = count_entries(&mut conn);
            let next_status = if flip { "present" } else { "absent" };
            let (status, text) =
                write_line(&app, &setup, &trainee, next_status, Note::Correction(payload), via_page).await;
            if status.is_success() || status == StatusCode::SEE_OTHER {
                assert!(!must_refuse(payload), "{where_}: accepted");
                flip = !flip;
                let sheet = setup.sheet(&mut conn);
                let row = sheet.rows.iter().find(|r| r.trainee == trainee).unwrap();
                let last = row.history.last().unwrap();
                assert_eq!(last.correction_reason.as_deref(), Some(payload.trim()), "{where_}");
                assert!(row.history.iter().rev().nth(1).unwrap().superseded, "{where_}: the previous entry stays");
                let (_, _, page) = send(&app, get_with_cookies(&setup.page(), &setup.cookie)).await;
                assert_rendered_escaped(&page, payload.trim(), &where_);
                assert_no_live_markup(&page, &where_);
            } else {
                assert!(!must_accept(payload), "{where_}: refused {status} {text}");
                if via_page {
                    assert_page_refusal(status, &text, &where_);
                } else {
                    assert_api_refusal(status, &text, &where_);
                }
                assert_eq!(count_entries(&mut conn), before, "{where_}: nothing written");
            }
        }
    }
    assert!(ledger_problems(&mut conn).is_empty(), "the hash chain holds after the corpus");
}

#[tokio::test]
async fn corpus_through_assessment_evidence_api_and_page() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let token = token(&mut conn, TRAINER);
    let (cookie, csrf) = login_cookie(&mut conn, TRAINER);
    let (trainee_cookie, _) = login_cookie(&mut conn, TRAINEE);
    let trainee = user(&mut conn, TRAINEE);
    let app = test_app(&db).await;
    let trainee_page = format!("/trainer/sessions/{session}/assessments/{trainee}");
    // The trainee and competence fields: refused, nothing written; the trainee's page by a
    // payload is a clean 4xx.
    for (i, payload) in payloads().iter().enumerate() {
        let before = count_assessments(&mut conn);
        for (who, code) in [(payload.as_str(), "1.3"), (TRAINEE, payload.as_str())] {
            let body = json!({"results": [{"trainee": who, "competence": code, "result": "acquired"}]});
            let url = format!("/api/v1/sessions/{session}/assessments");
            let (status, _, text) = send(&app, json_request("PUT", &url, &body.to_string(), Some(&token))).await;
            assert_api_refusal(status, &text, &format!("grid fields #{i}"));
        }
        assert_eq!(count_assessments(&mut conn), before);
        let segment = query_encode(payload);
        let (status, _, page) =
            send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/assessments/{segment}"), &cookie)).await;
        assert_page_refusal(status, &page, &format!("trainee page #{i}"));
        let url = format!("/api/v1/sessions/{session}/assessments/{segment}");
        let (status, _, text) = send(&app, json_request("GET", &url, "", Some(&token))).await;
        assert_api_refusal(status, &text, &format!("trainee API #{i}"));
    }
    let mut flip = false;
    for (i, payload) in payloads().iter().enumerate() {
        for via_page in [false, true] {
            let where_ = format!("evidence #{i} ({})", if via_page { "page" } else { "API" });
            let before = count_assessments(&mut conn);
            // Alternate the result so that every note is a new assessment, kept in the history.
            flip = !flip;
            let result = if flip { "in_progress" } else { "acquired" };
            let (status, text) = if via_page {
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("back", trainee.as_str()),
                    (&format!("result:{trainee}:1.3") as &str, result),
                    (&format!("evidence:{trainee}:1.3") as &str, payload.as_str()),
                ];
                let (status, _, page) =
                    send(&app, form_request(&format!("/trainer/sessions/{session}/assessments"), &fields, &cookie))
                        .await;
                (status, page)
            } else {
                let body = json!({"results": [{"trainee": TRAINEE, "competence": "1.3", "result": result, "evidence": payload}]});
                let (status, _, text) = send(
                    &app,
                    json_request(
                        "PUT",
                        &format!("/api/v1/sessions/{session}/assessments"),
                        &body.to_string(),
                        Some(&token),
                    ),
                )
                .await;
                (status, text)
            };
            if status.is_success() || status == StatusCode::SEE_OTHER {
                assert!(!must_refuse(payload), "{where_}: accepted");
                let record = grid::trainee_assessment(&mut conn, Actor::Console, &session, TRAINEE).unwrap();
                let competence =
                    record.units.iter().flat_map(|u| u.competences.iter()).find(|c| c.code == "1.3").unwrap();
                let stored = competence.current.as_ref().unwrap().evidence.clone();
                assert_eq!(stored.as_deref(), Some(payload.trim()), "{where_}");
                for (path, who) in [(&trainee_page, &cookie), (&"/me".to_owned(), &trainee_cookie)] {
                    let (status, _, page) = send(&app, get_with_cookies(path, who)).await;
                    assert_eq!(status, StatusCode::OK, "{where_} {path}");
                    assert_rendered_escaped(&page, payload.trim(), &format!("{where_} {path}"));
                    assert_no_live_markup(&page, &where_);
                }
            } else {
                flip = !flip;
                assert!(!must_accept(payload), "{where_}: refused {status} {text}");
                if via_page {
                    assert_page_refusal(status, &text, &where_);
                } else {
                    assert_api_refusal(status, &text, &where_);
                }
                assert_eq!(count_assessments(&mut conn), before, "{where_}: nothing written");
            }
        }
    }
}

/// A CSV field, quoted as spreadsheets do.
fn csv_field(raw: &str) -> String {
    format!("\"{}\"", raw.replace('"', "\"\""))
}

#[test]
fn corpus_through_the_csv_import() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let dir = tempfile::tempdir().unwrap();
    let mut flip = false;
    for (i, payload) in payloads().iter().enumerate() {
        let where_ = format!("CSV #{i}");
        // Every cell but the note: refused as a whole with a line number, nothing written.
        let before = count_assessments(&mut conn);
        let bad = format!(
            "trainee,competence,result,evidence,assessor\n{},1.3,acquired,ok,\n{TRAINEE},{},acquired,ok,\n\
             {TRAINEE},1.2,{},ok,\n{TRAINEE},1.1,acquired,ok,{}\n",
            csv_field(payload),
            csv_field(payload),
            csv_field(payload),
            csv_field(payload)
        );
        let file = dir.path().join(format!("bad{i}.csv"));
        std::fs::write(&file, &bad).unwrap();
        let out =
            lms(&db, &["assess", "import", "--session", DEMO, "--assessor", TRAINER, file.to_str().unwrap()], None);
        assert_eq!(out.code, 1, "{where_}: {}", out.stdout);
        assert!(out.stderr.contains("ligne"), "{where_}: {}", out.stderr);
        assert_eq!(count_assessments(&mut conn), before, "{where_}: nothing written");

        // The note: stored verbatim (trimmed), or the file is refused.
        flip = !flip;
        let result = if flip { "in_progress" } else { "acquired" };
        let good = format!("trainee,competence,result,evidence\n{TRAINEE},2.1,{result},{}\n", csv_field(payload));
        let file = dir.path().join(format!("good{i}.csv"));
        std::fs::write(&file, &good).unwrap();
        let out =
            lms(&db, &["assess", "import", "--session", DEMO, "--assessor", TRAINER, file.to_str().unwrap()], None);
        if out.code == 0 {
            assert!(!must_refuse(payload), "{where_}: accepted");
            let record = grid::trainee_assessment(&mut conn, Actor::Console, &session, TRAINEE).unwrap();
            let competence = record.units.iter().flat_map(|u| u.competences.iter()).find(|c| c.code == "2.1").unwrap();
            assert_eq!(competence.current.as_ref().unwrap().evidence.as_deref(), Some(payload.trim()), "{where_}");
        } else {
            flip = !flip;
            assert!(!must_accept(payload), "{where_}: refused {}", out.stderr);
            assert_eq!(out.code, 1, "{where_}: {}", out.stderr);
            assert!(!out.stderr.trim().is_empty());
            assert_eq!(count_assessments(&mut conn), before, "{where_}: nothing written");
        }
    }
}

#[test]
fn corpus_through_cli_arguments() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    for (i, payload) in payloads().iter().enumerate() {
        // NUL cannot be passed as a process argument at all: the OS refuses it before `lms`.
        if payload.contains('\0') {
            continue;
        }
        let where_ = format!("CLI #{i}");
        let email = format!("cli{i}@example.org");
        let before = count_users(&mut conn);
        let out = lms(
            &db,
            &["user", "add", "--email", &email, "--name", payload, "--role", "trainer", "--password-stdin"],
            Some("un mot de passe solide\n"),
        );
        if out.code == 0 {
            assert!(!must_refuse_as_name(payload), "{where_}: accepted");
            let stored = lms_core::people::find_user_by_email(&mut conn, &email).unwrap().name;
            assert_eq!(stored, payload.split_whitespace().collect::<Vec<_>>().join(" "), "{where_}");
        } else {
            assert!(!must_accept_as_name(payload), "{where_}: refused {}", out.stderr);
            assert_eq!(out.code, 1, "{where_}");
            assert!(!out.stderr.trim().is_empty());
            assert_eq!(count_users(&mut conn), before, "{where_}: nothing written");
        }
        // Lookups by a payload are refused as unknown, never a crash or a match.
        let out = lms(
            &db,
            &["user", "add", "--email", payload, "--name", "X", "--role", "trainee", "--password-stdin"],
            Some("un mot de passe solide\n"),
        );
        assert_eq!(out.code, 1, "{where_}: e-mail {}", out.stderr);
        for args in [
            vec!["session", "show", payload.as_str()],
            vec!["user", "set-role", "--email", payload.as_str(), "--role", "admin"],
            vec![
                "session",
                "create",
                "--course",
                payload.as_str(),
                "--venue",
                payload.as_str(),
                "--start",
                "2099-01-05",
                "--days",
                "1",
                "--capacity",
                "5",
            ],
            vec!["certify", "revoke", payload.as_str(), "--reason", payload.as_str()],
        ] {
            let out = lms(&db, &args, None);
            assert!(out.code == 1 || out.code == 2, "{where_} {args:?}: {} {}", out.code, out.stderr);
            assert!(!out.stderr.trim().is_empty() && !out.stderr.contains("panicked"), "{where_} {args:?}");
        }
    }
    assert_eq!(lms(&db, &["user", "list", "--json"], None).code, 0);
}
