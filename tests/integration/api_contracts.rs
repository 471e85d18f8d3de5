//! The JSON shapes of `/api/v1`, kept as `insta` snapshots: every GET route and the main writes,
//! called on the demo data as the actor they are meant for (nobody, a trainee, a trainer, an
//! admin), refusals included. A change to a response body shows up in review as a change to
//! `snapshots/`.
//!
//! The demo data is laid out relative to the day it is loaded, and ids, tokens and hashes are new
//! on every run: [`stable`] replaces every value of that kind by a placeholder, and arrays whose
//! length depends on the day are cut to their first element (with their length redacted), so the
//! snapshots hold on both backends and on any day.

use axum::http::StatusCode;
use lms_core::db::ids::{HalfDayId, TrainingSessionId};
use lms_tests::*;
use serde_json::{Value, json};

use crate::attendance_support::*;

/// A short course with free seats, no trainee enrolled and no trainee named in the tests.
const OPEN_SESSION: &str = "ACCES-DEMO-ANGOULEME";
/// The full short course: three seats, two trainees waiting.
const FULL_SESSION: &str = "ANIM-DEMO-SAINTES";

/// The demo data, an app on it, and a token for each actor.
struct Demo {
    db: TestDb,
    app: axum::Router,
    /// PTL-NA-DEMO-1, under way.
    session: TrainingSessionId,
}

impl Demo {
    async fn new() -> Demo {
        let db = TestDb::new(Seed::Demo);
        let mut conn = db.conn();
        let session = session(&mut conn, DEMO);
        drop(conn);
        let app = test_app(&db).await;
        Demo { db, app, session }
    }

    fn token(&self, email: &str) -> String {
        token(&mut self.db.conn(), email)
    }

    fn session_of(&self, reference: &str) -> TrainingSessionId {
        session(&mut self.db.conn(), reference)
    }

    fn past_half_days(&self) -> Vec<HalfDayId> {
        past_half_days(&mut self.db.conn(), &self.session)
    }

    fn open_half_day(&self) -> HalfDayId {
        open_half_day(&mut self.db.conn(), &self.session)
    }

    /// One call: its status and its body as JSON.
    async fn call(&self, method: &str, uri: &str, body: Option<Value>, token: Option<&str>) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let (status, _, text) = send(&self.app, json_request(method, uri, &body, token)).await;
        let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {uri}: not JSON ({e}): {text}"));
        (status, value)
    }
}

/// Keys whose value is a secret or a per-run code, whatever its form.
const SECRET_KEYS: [&str; 6] = ["token", "qr_svg", "url", "hash", "signature_sha256", "evidence_sha256"];

/// Arrays whose length follows the day the demo was loaded on (half-days already past, entries
/// recorded on them): kept to their first element.
const DAY_DEPENDENT_ARRAYS: [&str; 5] = ["half_days", "attendance", "absence_alerts", "alerts", "history"];

/// The body with everything that changes between runs replaced by a placeholder.
fn stable(value: Value) -> Value {
    match value {
        Value::String(text) => Value::String(stable_text(&text)),
        Value::Array(items) => Value::Array(items.into_iter().map(stable).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let value = if SECRET_KEYS.contains(&key.as_str()) && !value.is_null() {
                        Value::String(format!("[{key}]"))
                    } else if DAY_DEPENDENT_ARRAYS.contains(&key.as_str()) && value.is_array() {
                        first_only(value)
                    } else if is_day_dependent_count(&key) && value.is_number() {
                        Value::String("[count]".into())
                    } else {
                        stable(value)
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}

/// Counters of half-days or ledger entries, which follow the day the demo was loaded on.
fn is_day_dependent_count(key: &str) -> bool {
    matches!(
        key,
        "seq" | "past_half_days" | "recorded_half_days" | "absent_half_days" | "present_half_days" | "half_day_count"
    ) || key.ends_with("_minutes_total")
}

fn first_only(value: Value) -> Value {
    let Value::Array(items) = value else { return value };
    match items.into_iter().next() {
        Some(first) => json!({"first": stable(first), "len": "[n]"}),
        None => Value::Array(Vec::new()),
    }
}

/// A string with ids, dates, times and hashes replaced; any other text kept.
fn stable_text(text: &str) -> String {
    if uuid::Uuid::parse_str(text).is_ok() {
        return "[uuid]".into();
    }
    if chrono::DateTime::parse_from_rfc3339(text).is_ok()
        || chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
    {
        return "[datetime]".into();
    }
    if text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return "[date]".into();
    }
    if text.len() >= 32 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return "[hex]".into();
    }
    redact_words(text)
}

/// The French month and weekday names, as the server writes them (`lms_core::locale`).
fn french_names() -> (Vec<String>, Vec<String>) {
    // 2026-01-05 is a Monday: seven days give the weekdays, the 5th of each month the months.
    let word =
        |date: chrono::NaiveDate, n: usize| lms_core::locale::date_fr(date).split(' ').nth(n).unwrap().to_owned();
    let months = (1..=12).map(|m| word(chrono::NaiveDate::from_ymd_opt(2026, m, 5).unwrap(), 2)).collect();
    let weekdays = (5..12).map(|d| word(chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap(), 0)).collect();
    (months, weekdays)
}

/// Inside free text (French messages, labels): ids, ISO dates, French dates (« lundi 3 mars
/// 2026 », « 3 mars »), clock times (« 09:00 », « 9 h 30 ») become placeholders.
fn redact_words(text: &str) -> String {
    let (months, weekdays) = french_names();
    let words: Vec<&str> = text.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let core = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != ':');
        let is_number = |w: &str| {
            let w = w.trim_end_matches("er");
            !w.is_empty() && w.len() <= 2 && w.chars().all(|c| c.is_ascii_digit())
        };
        // « 3 mars 2026 », « 1er mars », optionally after a weekday.
        if is_number(core) && words.get(i + 1).is_some_and(|m| months.iter().any(|n| n == trim_punct(m))) {
            if out.last().is_some_and(|w| weekdays.contains(&trim_punct(w).to_lowercase())) {
                out.pop();
            }
            let mut end = i + 1;
            if words.get(i + 2).is_some_and(|y| trim_punct(y).len() == 4 && trim_punct(y).parse::<u16>().is_ok()) {
                end = i + 2;
            }
            out.push(format!("[date]{}", trailing_punct(words[end])));
            i = end + 1;
            continue;
        }
        // « 9 h 30 », « 9 h »
        if is_number(core) && words.get(i + 1).is_some_and(|h| *h == "h") {
            let mut end = i + 1;
            if words.get(i + 2).is_some_and(|m| is_number(trim_punct(m))) {
                end = i + 2;
            }
            out.push(format!("[time]{}", trailing_punct(words[end])));
            i = end + 1;
            continue;
        }
        let replaced = if uuid::Uuid::parse_str(core).is_ok() {
            Some("[uuid]")
        } else if core.len() == 10 && chrono::NaiveDate::parse_from_str(core, "%Y-%m-%d").is_ok() {
            Some("[date]")
        } else if chrono::NaiveTime::parse_from_str(core, "%H:%M").is_ok()
            || chrono::NaiveTime::parse_from_str(core, "%Hh%M").is_ok()
        {
            Some("[time]")
        } else {
            None
        };
        match replaced {
            Some(placeholder) => out.push(word.replacen(core, placeholder, 1)),
            None => out.push(word.to_owned()),
        }
        i += 1;
    }
    out.join(" ")
}

fn trim_punct(word: &str) -> &str {
    word.trim_matches(|c: char| !c.is_alphanumeric())
}

fn trailing_punct(word: &str) -> &str {
    let kept = word.trim_end_matches(|c: char| !c.is_alphanumeric());
    &word[kept.len()..]
}

/// [`stable`], and the one-time check-in code a trainer is given (the `code` beside its
/// `qr_svg`; a course's or an error's `code` is stable, kept).
fn stable_body(body: Value) -> Value {
    let issued_code = body.get("qr_svg").is_some();
    let mut body = stable(body);
    if issued_code && let Some(code) = body.get_mut("code") {
        *code = Value::String("[code]".into());
    }
    body
}

/// Snapshots one answer: its status and its stable body.
macro_rules! assert_answer {
    ($name:expr, $answer:expr) => {{
        let (status, body): (StatusCode, Value) = $answer;
        insta::assert_json_snapshot!($name, json!({"status": status.as_u16(), "body": stable_body(body)}));
    }};
}

// ------------------------------------------------------------------ public routes

#[tokio::test]
async fn public_course_list() {
    let demo = Demo::new().await;
    assert_answer!("public_courses", demo.call("GET", "/api/v1/courses", None, None).await);
}

#[tokio::test]
async fn public_course_detail() {
    let demo = Demo::new().await;
    assert_answer!("public_course_anim", demo.call("GET", "/api/v1/courses/ANIM", None, None).await);
}

#[tokio::test]
async fn public_unknown_course_is_404() {
    let demo = Demo::new().await;
    assert_answer!("public_course_unknown_404", demo.call("GET", "/api/v1/courses/NOPE", None, None).await);
}

#[tokio::test]
async fn public_session_detail() {
    let demo = Demo::new().await;
    let full = demo.session_of(FULL_SESSION);
    assert_answer!("public_session_full", demo.call("GET", &format!("/api/v1/sessions/{full}"), None, None).await);
}

#[tokio::test]
async fn public_unknown_session_is_404() {
    let demo = Demo::new().await;
    let unknown = uuid::Uuid::now_v7();
    assert_answer!(
        "public_session_unknown_404",
        demo.call("GET", &format!("/api/v1/sessions/{unknown}"), None, None).await
    );
}

#[tokio::test]
async fn public_venue_list_and_detail() {
    let demo = Demo::new().await;
    let (status, body) = demo.call("GET", "/api/v1/venues", None, None).await;
    assert_answer!("public_venues", (status, first_only(body)));
    assert_answer!(
        "public_venue_le_400",
        demo.call("GET", "/api/v1/venues/le-400-brive-la-gaillarde", None, None).await
    );
    assert_answer!("public_venue_unknown_404", demo.call("GET", "/api/v1/venues/nulle-part", None, None).await);
}

#[tokio::test]
async fn public_search_near_a_town() {
    let demo = Demo::new().await;
    assert_answer!(
        "public_search_saintes",
        demo.call("GET", "/api/v1/sessions/search?near=Saintes&minutes=60", None, None).await
    );
}

#[tokio::test]
async fn public_search_with_a_bad_parameter_is_refused() {
    let demo = Demo::new().await;
    assert_answer!(
        "public_search_bad_minutes",
        demo.call("GET", "/api/v1/sessions/search?near=17000&minutes=beaucoup", None, None).await
    );
}

#[tokio::test]
async fn public_search_for_an_unknown_place_is_404() {
    let demo = Demo::new().await;
    assert_answer!(
        "public_search_unknown_place",
        demo.call("GET", "/api/v1/sessions/search?near=Nullepart-sur-Rien", None, None).await
    );
}

#[tokio::test]
async fn public_unknown_certificate_is_404() {
    let demo = Demo::new().await;
    assert_answer!(
        "public_certificate_unknown_404",
        demo.call("GET", "/api/v1/certificates/ABCD-EFGH-JKLM", None, None).await
    );
}

#[tokio::test]
async fn me_without_a_caller_is_401() {
    let demo = Demo::new().await;
    assert_answer!("public_me_401", demo.call("GET", "/api/v1/me", None, None).await);
}

#[tokio::test]
async fn me_with_a_forged_token_is_401() {
    let demo = Demo::new().await;
    assert_answer!("public_me_forged_token_401", demo.call("GET", "/api/v1/me", None, Some("forged")).await);
}

// ------------------------------------------------------------------ accounts

#[tokio::test]
async fn sign_up_is_accepted() {
    let demo = Demo::new().await;
    let body = json!({"email": "nouvelle.stagiaire@example.org", "name": "Nouvelle Stagiaire", "password": "une phrase de passe assez longue"});
    assert_answer!("accounts_sign_up_202", demo.call("POST", "/api/v1/accounts", Some(body), None).await);
}

#[tokio::test]
async fn sign_up_with_a_bad_email_is_422() {
    let demo = Demo::new().await;
    let body = json!({"email": "pas-une-adresse", "name": "Nouvelle Stagiaire", "password": "une phrase de passe assez longue"});
    assert_answer!("accounts_sign_up_bad_email_422", demo.call("POST", "/api/v1/accounts", Some(body), None).await);
}

#[tokio::test]
async fn sign_up_with_an_unknown_field_is_refused() {
    let demo = Demo::new().await;
    let body = json!({"email": "x@example.org", "name": "X", "password": "une phrase de passe assez longue", "roles": ["admin"]});
    assert_answer!("accounts_sign_up_unknown_field", demo.call("POST", "/api/v1/accounts", Some(body), None).await);
}

#[tokio::test]
async fn token_for_good_credentials() {
    let demo = Demo::new().await;
    let body = json!({"email": TRAINEE, "password": PASSWORD});
    assert_answer!("accounts_token_200", demo.call("POST", "/api/v1/auth/token", Some(body), None).await);
}

#[tokio::test]
async fn token_for_a_wrong_password_is_401() {
    let demo = Demo::new().await;
    let body = json!({"email": TRAINEE, "password": "pas le bon mot de passe"});
    assert_answer!(
        "accounts_token_wrong_password_401",
        demo.call("POST", "/api/v1/auth/token", Some(body), None).await
    );
}

// ------------------------------------------------------------------ a trainee

#[tokio::test]
async fn trainee_me() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    assert_answer!("trainee_me", demo.call("GET", "/api/v1/me", None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_attendance() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    assert_answer!("trainee_me_attendance", demo.call("GET", "/api/v1/me/attendance", None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_assessments() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    assert_answer!("trainee_me_assessments", demo.call("GET", "/api/v1/me/assessments", None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_enrols_then_enrols_again() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let open = demo.session_of(OPEN_SESSION);
    let uri = format!("/api/v1/sessions/{open}/enrolments");
    let body = json!({"funding_source": "self_funded"});
    assert_answer!("trainee_enrol_201", demo.call("POST", &uri, Some(body.clone()), Some(&token)).await);
    assert_answer!("trainee_enrol_again", demo.call("POST", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainee_enrols_on_a_full_session_and_waits() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let full = demo.session_of(FULL_SESSION);
    assert_answer!(
        "trainee_enrol_full_waitlisted",
        demo.call("POST", &format!("/api/v1/sessions/{full}/enrolments"), None, Some(&token)).await
    );
}

#[tokio::test]
async fn trainee_enrolment_with_a_bad_body_is_refused() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let open = demo.session_of(OPEN_SESSION);
    assert_answer!(
        "trainee_enrol_bad_body",
        demo.call(
            "POST",
            &format!("/api/v1/sessions/{open}/enrolments"),
            Some(json!({"funding_source": 12})),
            Some(&token)
        )
        .await
    );
}

#[tokio::test]
async fn trainee_cancels_then_cancels_again() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let open = demo.session_of(OPEN_SESSION);
    let (status, _) = demo.call("POST", &format!("/api/v1/sessions/{open}/enrolments"), None, Some(&token)).await;
    assert_eq!(status, StatusCode::CREATED);
    let uri = format!("/api/v1/sessions/{open}/enrolments/me");
    assert_answer!("trainee_cancel_200", demo.call("DELETE", &uri, None, Some(&token)).await);
    assert_answer!("trainee_cancel_again", demo.call("DELETE", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_cancels_a_session_under_way() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let uri = format!("/api/v1/sessions/{}/enrolments/me", demo.session);
    assert_answer!("trainee_cancel_under_way", demo.call("DELETE", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_may_not_list_taught_sessions() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    assert_answer!(
        "trainee_trainer_sessions_403",
        demo.call("GET", "/api/v1/trainer/sessions", None, Some(&token)).await
    );
}

#[tokio::test]
async fn trainee_may_not_read_the_assessment_grid() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let uri = format!("/api/v1/sessions/{}/assessments", demo.session);
    assert_answer!("trainee_assessment_grid_403", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainee_may_not_write_a_sheet() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    let half_day = demo.open_half_day();
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/sheet", demo.session);
    let body = json!({"entries": [{"trainee": TRAINEE, "status": "present"}]});
    assert_answer!("trainee_sheet_write_403", demo.call("PUT", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainee_checks_in_with_an_unknown_code() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINEE);
    assert_answer!(
        "trainee_checkin_unknown_code",
        demo.call("POST", "/api/v1/checkin", Some(json!({"code": "ZZZZZZ"})), Some(&token)).await
    );
}

#[tokio::test]
async fn trainee_checks_in_with_the_trainers_code() {
    let demo = Demo::new().await;
    let half_day = demo.open_half_day();
    let trainer = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/checkin-codes", demo.session);
    let (status, issued) = demo.call("POST", &uri, None, Some(&trainer)).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let code = issued["code"].as_str().unwrap().to_owned();
    let token = demo.token(TRAINEE);
    let body = json!({ "code": code });
    assert_answer!("trainee_checkin_201", demo.call("POST", "/api/v1/checkin", Some(body.clone()), Some(&token)).await);
    assert_answer!("trainee_checkin_twice_409", demo.call("POST", "/api/v1/checkin", Some(body), Some(&token)).await);
}

// ------------------------------------------------------------------ a trainer

#[tokio::test]
async fn trainer_sessions() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    assert_answer!("trainer_sessions", demo.call("GET", "/api/v1/trainer/sessions", None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_half_days() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/half-days", demo.session);
    assert_answer!("trainer_half_days", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_half_days_with_a_bad_threshold_is_refused() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/half-days?threshold=0", demo.session);
    assert_answer!("trainer_half_days_bad_threshold", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_of_another_session_may_not_read_its_half_days() {
    let demo = Demo::new().await;
    let token = demo.token(OTHER_TRAINER);
    let uri = format!("/api/v1/sessions/{}/half-days", demo.session);
    assert_answer!("other_trainer_half_days_403", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_reads_a_cosigned_sheet() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let past = demo.past_half_days();
    let uri = format!("/api/v1/sessions/{}/half-days/{}/sheet", demo.session, past[0]);
    assert_answer!("trainer_sheet_cosigned", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_reads_a_sheet_of_an_unknown_half_day() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let unknown = uuid::Uuid::now_v7();
    let uri = format!("/api/v1/sessions/{}/half-days/{unknown}/sheet", demo.session);
    assert_answer!("trainer_sheet_unknown_half_day", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_records_part_of_a_sheet_then_cannot_cosign_it() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let base = format!("/api/v1/sessions/{}/half-days/{half_day}", demo.session);
    let body = json!({"entries": [
        {"trainee": DEMO_TRAINEES[0], "status": "present"},
        {"trainee": DEMO_TRAINEES[1], "status": "late", "minutes": 12},
        {"trainee": DEMO_TRAINEES[2], "status": "absent", "reason": "Malade"},
    ]});
    assert_answer!(
        "trainer_sheet_recorded",
        demo.call("PUT", &format!("{base}/sheet"), Some(body), Some(&token)).await
    );
    assert_answer!(
        "trainer_cosign_incomplete_409",
        demo.call("POST", &format!("{base}/cosign"), None, Some(&token)).await
    );
}

#[tokio::test]
async fn trainer_records_a_whole_sheet_and_cosigns_it() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let base = format!("/api/v1/sessions/{}/half-days/{half_day}", demo.session);
    let entries: Vec<_> = DEMO_TRAINEES.iter().map(|t| json!({"trainee": t, "status": "present"})).collect();
    let (status, body) =
        demo.call("PUT", &format!("{base}/sheet"), Some(json!({ "entries": entries })), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_answer!("trainer_cosign_201", demo.call("POST", &format!("{base}/cosign"), None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_sheet_with_an_unknown_status_is_422() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/sheet", demo.session);
    let body = json!({"entries": [{"trainee": TRAINEE, "status": "en_vacances"}]});
    assert_answer!("trainer_sheet_bad_status_422", demo.call("PUT", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_correcting_a_cosigned_sheet_needs_a_reason() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let past = demo.past_half_days();
    let uri = format!("/api/v1/sessions/{}/half-days/{}/sheet", demo.session, past[0]);
    let body = json!({"entries": [{"trainee": TRAINEE, "status": "absent"}]});
    assert_answer!("trainer_sheet_closed_without_reason_409", demo.call("PUT", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_issues_a_checkin_code() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/checkin-codes", demo.session);
    assert_answer!("trainer_checkin_code_201", demo.call("POST", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_records_a_drawn_signature() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/signatures", demo.session);
    let strokes =
        json!({"width": 600, "height": 220, "strokes": [[[20, 150], [80, 60], [140, 170]], [[260, 120], [320, 110]]]});
    let body = json!({"trainee": TRAINEE, "signature": strokes});
    assert_answer!("trainer_signature_201", demo.call("POST", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_drawn_signature_without_strokes_is_422() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let half_day = demo.open_half_day();
    let uri = format!("/api/v1/sessions/{}/half-days/{half_day}/signatures", demo.session);
    let body = json!({"trainee": TRAINEE, "signature": {"width": 600, "height": 220, "strokes": []}});
    assert_answer!("trainer_signature_empty_422", demo.call("POST", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_reads_the_assessment_grid() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/assessments", demo.session);
    assert_answer!("trainer_assessment_grid", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_records_results() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/assessments", demo.session);
    let body = json!({"results": [
        {"trainee": TRAINEE, "competence": "1.2", "result": "acquired", "evidence": "Cadre de référence présenté"},
        {"trainee": TRAINEE, "competence": "1.1", "result": "acquired"},
    ]});
    assert_answer!("trainer_results_recorded", demo.call("PUT", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_results_for_an_unknown_competence_are_422() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let uri = format!("/api/v1/sessions/{}/assessments", demo.session);
    let body = json!({"results": [{"trainee": TRAINEE, "competence": "9.9", "result": "acquired"}]});
    assert_answer!("trainer_results_unknown_competence", demo.call("PUT", &uri, Some(body), Some(&token)).await);
}

#[tokio::test]
async fn trainer_reads_one_trainees_results() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let lea = user(&mut demo.db.conn(), TRAINEE);
    let uri = format!("/api/v1/sessions/{}/assessments/{lea}", demo.session);
    assert_answer!("trainer_trainee_results", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn trainer_may_not_enrol() {
    let demo = Demo::new().await;
    let token = demo.token(TRAINER);
    let open = demo.session_of(OPEN_SESSION);
    assert_answer!(
        "trainer_enrol_403",
        demo.call("POST", &format!("/api/v1/sessions/{open}/enrolments"), None, Some(&token)).await
    );
}

// ------------------------------------------------------------------ an admin

#[tokio::test]
async fn admin_reads_the_half_days_of_any_session() {
    let demo = Demo::new().await;
    let token = demo.token(ADMIN);
    let uri = format!("/api/v1/sessions/{}/half-days", demo.session);
    assert_answer!("admin_half_days", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn admin_reads_one_trainees_results() {
    let demo = Demo::new().await;
    let token = demo.token(ADMIN);
    let lea = user(&mut demo.db.conn(), TRAINEE);
    let uri = format!("/api/v1/sessions/{}/assessments/{lea}", demo.session);
    assert_answer!("admin_trainee_results", demo.call("GET", &uri, None, Some(&token)).await);
}

#[tokio::test]
async fn admin_me() {
    let demo = Demo::new().await;
    let token = demo.token(ADMIN);
    assert_answer!("admin_me", demo.call("GET", "/api/v1/me", None, Some(&token)).await);
}

// ------------------------------------------------------------------ password reset (anyone)

#[tokio::test]
async fn public_password_reset_request_is_202_whether_or_not_the_account_exists() {
    let demo = Demo::new().await;
    let known = demo.call("POST", "/api/v1/password-reset", Some(json!({"email": TRAINEE})), None).await;
    let unknown =
        demo.call("POST", "/api/v1/password-reset", Some(json!({"email": "personne@example.org"})), None).await;
    assert_eq!(known, unknown, "the same answer either way");
    assert_answer!("public_password_reset_accepted", known);
}

#[tokio::test]
async fn public_password_reset_for_a_malformed_address_is_422() {
    let demo = Demo::new().await;
    assert_answer!(
        "public_password_reset_malformed_422",
        demo.call("POST", "/api/v1/password-reset", Some(json!({"email": "pas-une-adresse"})), None).await
    );
}

#[tokio::test]
async fn public_password_reset_with_an_unknown_token_is_422() {
    let demo = Demo::new().await;
    let body = json!({"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "password": "un nouveau mot de passe"});
    assert_answer!(
        "public_password_reset_unknown_token_422",
        demo.call("POST", "/api/v1/password-reset/confirm", Some(body), None).await
    );
}
