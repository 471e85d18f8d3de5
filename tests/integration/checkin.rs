//! Trainee signatures: self check-in with a short-lived code bound to one half-day (usable once,
//! stored hashed, expiring), and signatures drawn on the trainer's device (vectors + SHA-256).
//! Tampering with the stored evidence is detected by the ledger on both backends.

use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;
use lms_core::access::ClientInfo;
use lms_core::attendance::checkin::{self, CODE_VALIDITY_SECONDS};
use lms_core::attendance::sheets;
use lms_core::attendance::{Actor, AttendanceError, AttendanceStatus, SignatureMethod, sha256_hex};
use lms_core::db::schema::{attendance_entries, checkin_codes};
use lms_tests::*;
use serde_json::json;

use crate::attendance_support::*;

/// The public base URL the core is given in these tests.
const PUBLIC: &str = "https://formation.example.org";

fn client() -> ClientInfo {
    ClientInfo { ip: Some("192.0.2.7".into()), user_agent: Some("Téléphone de test".into()) }
}

#[tokio::test]
async fn a_trainee_checks_in_once_with_the_code_shown_by_the_trainer() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let trainer_token = token(&mut conn, TRAINER);
    let lea_token = token(&mut conn, TRAINEE);
    let app = test_app(&db).await;

    let (status, _, body) = send(
        &app,
        json_request(
            "POST",
            &format!("/api/v1/sessions/{session}/half-days/{half_day}/checkin-codes"),
            "",
            Some(&trainer_token),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let issued = json_body(&body);
    let code = issued["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(issued["url"].as_str().unwrap().ends_with(&format!("/checkin?code={code}")));
    assert!(issued["qr_svg"].as_str().unwrap().starts_with("<svg"));
    assert_eq!(issued["half_day"], half_day.to_string());
    // Only a hash is kept.
    let stored: Vec<String> = checkin_codes::table.select(checkin_codes::code_hash).load(&mut conn).unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].contains(&code) && stored[0].len() == 64);

    let before = entry_count(&mut conn);
    let typed = format!(" {}-{} ", &code[..3], code[3..].to_lowercase());
    let (status, _, body) =
        send(&app, json_request("POST", "/api/v1/checkin", &json!({"code": typed}).to_string(), Some(&lea_token)))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let done = json_body(&body);
    assert_eq!(done["status"], "late", "30 minutes after the start");
    assert_eq!(done["late_minutes"], 30);
    assert_eq!(done["session"], session.to_string());
    assert_eq!(entry_count(&mut conn), before + 1);

    // The same code again, or any other code, cannot sign twice.
    let (status, _, body) =
        send(&app, json_request("POST", "/api/v1/checkin", &json!({"code": code}).to_string(), Some(&lea_token))).await;
    assert_error(status, &body, StatusCode::CONFLICT, "already_signed");
    assert_eq!(entry_count(&mut conn), before + 1);

    // The evidence: method, time, and the SHA-256 of what was stored with the entry.
    let (data, evidence, method): (Option<String>, Option<String>, String) = attendance_entries::table
        .filter(attendance_entries::subject_id.eq(user(&mut conn, TRAINEE)))
        .filter(attendance_entries::half_day_id.eq(&half_day))
        .select((attendance_entries::signature_data, attendance_entries::evidence_sha256, attendance_entries::method))
        .first(&mut conn)
        .unwrap();
    assert_eq!(method, "self_checkin");
    let data = data.unwrap();
    assert!(data.contains("192.0.2.7") || data.contains("\"ip\":null"), "{data}");
    assert_eq!(evidence.unwrap(), sha256_hex(data.as_bytes()));
    let sheet = sheets::half_day_sheet(&mut conn, Actor::Console, &session, &half_day, lms_core::db::now()).unwrap();
    let lea = sheet.rows.iter().find(|r| r.email == TRAINEE).unwrap();
    assert_eq!(lea.signature.as_ref().unwrap().method, SignatureMethod::SelfCheckin);
    assert!(ledger_problems(&mut conn).is_empty());

    // Tampering with the evidence is detected.
    diesel::update(
        attendance_entries::table
            .filter(attendance_entries::method.eq("self_checkin"))
            .filter(attendance_entries::half_day_id.eq(&half_day)),
    )
    .set(attendance_entries::signature_data.eq(Some("{\"ip\":\"203.0.113.1\"}")))
    .execute(&mut conn)
    .unwrap();
    assert_eq!(ledger_problems(&mut conn), ["edited"]);
}

#[tokio::test]
async fn the_qr_link_leads_to_a_confirmation_form_that_signs() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day_started(&mut conn, &session, Duration::minutes(3));
    let app = test_app(&db).await;

    // The trainer's page shows a code and a QR code, renewed before it expires: by its script
    // where JavaScript runs (no `Refresh` header, which would reload the page anyway); without
    // JavaScript, by a link, or by a reload every rotation once the trainer asks for it.
    let (trainer_cookie, _) = browser(&app, TRAINER).await;
    let code_page = format!("/trainer/sessions/{session}/half-days/{half_day}/checkin");
    let (status, headers, page) = send(&app, get_with_cookies(&code_page, &trainer_cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(headers.get("refresh").is_none(), "{headers:?}");
    let renewal = format!("data-checkin-refresh=\"{}\"", checkin::ROTATION_SECONDS);
    assert!(page.contains(&renewal) && page.contains("<script src=\"/static/trainer.js\""), "{page}");
    assert!(!page.contains("http-equiv=\"refresh\""), "no timed reload the person did not ask for");
    let noscript = &page[page.find("<noscript>").unwrap()..page.find("</noscript>").unwrap()];
    assert!(noscript.contains(&format!("href=\"{code_page}?renouveler=auto\"")), "{noscript}");
    let (status, headers, page) =
        send(&app, get_with_cookies(&format!("{code_page}?renouveler=auto"), &trainer_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let every: i64 = headers["refresh"].to_str().unwrap().parse().unwrap();
    assert!(every == checkin::ROTATION_SECONDS && every < CODE_VALIDITY_SECONDS);
    assert!(page.contains("Arrêter le rechargement automatique"));
    assert!(page.contains("<svg"));
    let marker = "checkin?code=";
    let start = page.find(marker).unwrap() + marker.len();
    let code: String = page[start..].chars().take(6).collect();

    // Anonymous: the link goes through the login page and comes back.
    let link = format!("/checkin?code={code}");
    let (status, headers, _) = send(&app, get(&link)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().starts_with("/login?next=/checkin%3Fcode%3D"));

    let (cookie, _) = browser(&app, TRAINEE).await;
    let before = entry_count(&mut conn);
    let (status, _, page) = send(&app, get_with_cookies(&link, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!("value=\"{code}\"")), "prefilled");
    assert_eq!(entry_count(&mut conn), before, "opening the link signs nothing");
    let csrf = csrf_field(&page);
    let (status, _, page) = send(&app, form_request("/me/checkin", &[("csrf", &csrf), ("code", &code)], &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("C'est signé"), "{page}");
    assert_eq!(entry_count(&mut conn), before + 1);
    let (status, _, page) = send(&app, form_request("/me/checkin", &[("csrf", &csrf), ("code", &code)], &cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("déjà émargé"));
    // A form without the login session's token is refused.
    let (status, _, _) = send(&app, form_request("/me/checkin", &[("csrf", "forged"), ("code", &code)], &cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(entry_count(&mut conn), before + 1);

    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{half_day}"), &trainer_cookie))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("code sur téléphone"), "the sheet shows the signature");
}

#[test]
fn expired_unknown_foreign_and_replayed_codes_are_refused_and_write_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day_started(&mut conn, &session, Duration::minutes(5));
    let trainer = caller(&mut conn, TRAINER);
    let now = lms_core::db::now();
    let issued = checkin::issue_checkin_code(&mut conn, &trainer, &session, &half_day, PUBLIC, now).unwrap();
    let lea = caller(&mut conn, TRAINEE);
    let before = entry_count(&mut conn);
    let refused = |conn: &mut lms_core::DbConn, who: &lms_core::access::Caller, code: &str, at| {
        checkin::check_in(conn, who, code, &client(), at).unwrap_err()
    };

    assert!(matches!(refused(&mut conn, &lea, "ZZZZZZ", now), AttendanceError::UnknownCheckinCode));
    assert!(matches!(refused(&mut conn, &lea, "not a code", now), AttendanceError::UnknownCheckinCode));
    let later = now + Duration::seconds(CODE_VALIDITY_SECONDS + 1);
    assert!(matches!(refused(&mut conn, &lea, &issued.code, later), AttendanceError::ExpiredCheckinCode));
    let outsider = caller(&mut conn, OUTSIDER);
    // Someone outside the session learns nothing about a code, not even that it is valid.
    assert!(matches!(refused(&mut conn, &outsider, &issued.code, now), AttendanceError::UnknownCheckinCode));
    assert!(matches!(refused(&mut conn, &outsider, &issued.code, later), AttendanceError::UnknownCheckinCode));
    // A trainee of another session cannot use this session's code either.
    let other = caller(&mut conn, "nadia.haddad@example.org");
    assert!(matches!(refused(&mut conn, &other, &issued.code, now), AttendanceError::UnknownCheckinCode));
    assert_eq!(entry_count(&mut conn), before);

    // Codes are issued only by a trainer of the session or the office, only while the half-day
    // is under way.
    let other_trainer = caller(&mut conn, OTHER_TRAINER);
    assert!(matches!(
        checkin::issue_checkin_code(&mut conn, &other_trainer, &session, &half_day, PUBLIC, now),
        Err(AttendanceError::Forbidden(_))
    ));
    let outsider_trainee = caller(&mut conn, TRAINEE);
    assert!(matches!(
        checkin::issue_checkin_code(&mut conn, &outsider_trainee, &session, &half_day, PUBLIC, now),
        Err(AttendanceError::Forbidden(_))
    ));
    let admin = caller(&mut conn, ADMIN);
    let by_the_office = checkin::issue_checkin_code(&mut conn, &admin, &session, &half_day, PUBLIC, now).unwrap();
    assert_ne!(by_the_office.code, issued.code);
    let future = future_half_day(&mut conn, &session);
    assert!(matches!(
        checkin::issue_checkin_code(&mut conn, &trainer, &session, &future, PUBLIC, now),
        Err(AttendanceError::NotStarted)
    ));
    let past = past_half_days(&mut conn, &session)[0].clone();
    assert!(matches!(
        checkin::issue_checkin_code(&mut conn, &trainer, &session, &past, PUBLIC, now),
        Err(AttendanceError::HalfDayOver)
    ));

    // Within the first ten minutes the trainee is present; the code then cannot be replayed.
    let done = checkin::check_in(&mut conn, &lea, &issued.code, &client(), now).unwrap();
    assert_eq!(done.status, AttendanceStatus::Present);
    assert!(matches!(refused(&mut conn, &lea, &issued.code, now), AttendanceError::AlreadySigned));
    let fresh = checkin::issue_checkin_code(&mut conn, &trainer, &session, &half_day, PUBLIC, now).unwrap();
    assert!(matches!(refused(&mut conn, &lea, &fresh.code, now), AttendanceError::AlreadySigned));
    assert_eq!(entry_count(&mut conn), before + 1);

    // Once the sheet is complete and co-signed, codes stop working for the others too.
    let karim = caller(&mut conn, FELLOW_TRAINEE);
    let lines = DEMO_TRAINEES
        .iter()
        .skip(1)
        .map(|t| lms_core::attendance::recording::SheetLine {
            trainee: (*t).into(),
            status: AttendanceStatus::Absent,
            minutes: 0,
            reason: None,
        })
        .collect();
    let input = lms_core::attendance::recording::SheetInput {
        lines,
        method: SignatureMethod::TrainerEntry,
        evidence_sha256: None,
        correction_reason: None,
    };
    lms_core::attendance::recording::record_sheet(&mut conn, &trainer, &session, &half_day, &input, now).unwrap();
    lms_core::attendance::recording::cosign_sheet(&mut conn, &trainer, &session, &half_day, now).unwrap();
    let after_close = entry_count(&mut conn);
    assert!(matches!(refused(&mut conn, &karim, &fresh.code, now), AttendanceError::ClosedHalfDay));
    assert_eq!(entry_count(&mut conn), after_close);
    assert!(ledger_problems(&mut conn).is_empty());
}

#[tokio::test]
async fn drawn_signatures_are_stored_as_vectors_with_their_hash() {
    let UnderWay { db, session, half_day, token: trainer_token, app } = UnderWay::new().await;
    let mut conn = db.conn();
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/signatures");
    let strokes = json!({"width": 600, "height": 220, "strokes": [[[20, 150], [80, 60.4], [140, 170], [200, 40]], [[260, 120], [320, 110]]]});
    let before = entry_count(&mut conn);
    let sign = async |body: serde_json::Value| {
        send(&app, json_request("POST", &url, &body.to_string(), Some(&trainer_token))).await
    };

    let (status, _, body) = sign(json!({"trainee": TRAINEE, "signature": strokes})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let done = json_body(&body);
    let canonical =
        r#"{"height":220,"strokes":[[[20,150],[80,60],[140,170],[200,40]],[[260,120],[320,110]]],"width":600}"#;
    assert_eq!(done["signature_sha256"], sha256_hex(canonical.as_bytes()));
    assert_eq!(done["status"], "present");
    let stored: (Option<String>, Option<String>) = attendance_entries::table
        .filter(attendance_entries::method.eq("drawn_signature"))
        .filter(attendance_entries::half_day_id.eq(&half_day))
        .select((attendance_entries::signature_data, attendance_entries::evidence_sha256))
        .first(&mut conn)
        .unwrap();
    assert_eq!(stored.0.as_deref(), Some(canonical));
    assert_eq!(stored.1.as_deref(), done["signature_sha256"].as_str());

    // Once per trainee and half-day; malformed signatures write nothing.
    let (status, _, body) = sign(json!({"trainee": TRAINEE, "signature": strokes})).await;
    assert_error(status, &body, StatusCode::CONFLICT, "already_signed");
    for bad in [
        json!({"trainee": FELLOW_TRAINEE, "signature": {"width": 600, "height": 220, "strokes": []}}),
        json!({"trainee": FELLOW_TRAINEE, "signature": "pas une signature"}),
        json!({"trainee": OUTSIDER, "signature": strokes}),
        json!({"trainee": FELLOW_TRAINEE}),
    ] {
        let (status, _, body) = sign(bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    assert_eq!(entry_count(&mut conn), before + 1);

    // The same from the trainer's page (the signature pad fills the hidden field).
    let (cookie, csrf) = browser(&app, TRAINER).await;
    let karim = user(&mut conn, FELLOW_TRAINEE);
    let page_url = format!("/trainer/sessions/{session}/half-days/{half_day}/signature/{karim}");
    let (status, _, page) = send(&app, get_with_cookies(&page_url, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-signature-pad") && page.contains("/static/trainer.js") && page.contains("<noscript>"));
    let (status, _, _) = send(&app, form_request(&page_url, &[("csrf", &csrf), ("signature", "")], &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "an empty pad is refused");
    let (status, headers, _) =
        send(&app, form_request(&page_url, &[("csrf", &csrf), ("signature", &strokes.to_string())], &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=signed"));
    assert_eq!(entry_count(&mut conn), before + 2);
    let (status, headers, script) = send(&app, get("/static/trainer.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(script.contains("data-signature-pad"));
    assert!(ledger_problems(&mut conn).is_empty());

    // Someone swaps the drawing in the database: the chain says so.
    diesel::update(
        attendance_entries::table
            .filter(attendance_entries::method.eq("drawn_signature"))
            .filter(attendance_entries::subject_id.eq(&karim)),
    )
    .set(
        attendance_entries::signature_data
            .eq(Some(r#"{"height":220,"strokes":[[[0,0],[1,1],[2,2],[3,3],[4,4]]],"width":600}"#)),
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(ledger_problems(&mut conn), ["edited"]);
}

#[tokio::test]
async fn the_checkin_url_is_built_from_the_configured_public_url_never_from_a_forged_host() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let trainer_token = token(&mut conn, TRAINER);
    let mut config = lms_server::Config::for_tests(db.url.clone());
    config.public_url = format!("{PUBLIC}/");
    let app = lms_server::app(lms_server::AppState::open(&config).await.unwrap());

    let mut request = json_request(
        "POST",
        &format!("/api/v1/sessions/{session}/half-days/{half_day}/checkin-codes"),
        "",
        Some(&trainer_token),
    );
    request.headers_mut().insert("host", axum::http::HeaderValue::from_static("evil.example"));
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let issued = json_body(&body);
    let code = issued["code"].as_str().unwrap();
    assert_eq!(issued["url"], format!("{PUBLIC}/checkin?code={code}"));

    // The trainer's page shows the same kind of link, whatever Host the browser sent.
    let (cookie, _) = browser(&app, TRAINER).await;
    let mut page_request =
        get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{half_day}/checkin"), &cookie);
    page_request.headers_mut().insert("host", axum::http::HeaderValue::from_static("evil.example"));
    let (status, _, page) = send(&app, page_request).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // Auto-escaping writes the slashes as entities: look for the host.
    assert!(page.contains("formation.example.org"), "{page}");
    assert!(!page.contains("evil.example"));
}

#[test]
fn the_core_builds_the_checkin_url_from_the_base_it_is_given() {
    assert_eq!(
        checkin::checkin_url("https://lms.example.org/ ", "K7M2QX"),
        "https://lms.example.org/checkin?code=K7M2QX"
    );
}
