//! Enrolment over HTTP, including 200 concurrent clients on a real socket.

use std::sync::Arc;

use axum::http::StatusCode;
use lms_core::enrolment::{self, EnrolmentStatus};
use lms_tests::*;
use serde_json::Value;

use crate::enrolment::published_session;

const PASSWORD: &str = "un mot de passe solide";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_http_clients_respect_capacity_and_waitlist_order() {
    let db = TestDb::new(Seed::Reference);
    let session = published_session(&mut db.conn(), 12);
    let address = spawn_server(&db).await;
    let base = format!("http://{address}/api/v1");
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();

    // 200 trainees sign up and get tokens (concurrently too).
    let tokens = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (base, tokens) = (base.clone(), Arc::clone(&tokens));
        tasks.push(tokio::spawn(async move {
            let email = format!("client{i}@example.org");
            // Five sign-ups per loopback address: under the per-address sign-up limit.
            let octet = u8::try_from(i / 5 + 1).unwrap();
            let from = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 1, octet));
            let signing_up = reqwest::Client::builder().local_address(from).build().unwrap();
            let created = signing_up
                .post(format!("{base}/accounts"))
                .json(&serde_json::json!({"email": email, "name": format!("Client {i}"), "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), StatusCode::ACCEPTED);
            let token: Value = signing_up
                .post(format!("{base}/auth/token"))
                .json(&serde_json::json!({"email": email, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            tokens.lock().await.push((i, token["token"].as_str().unwrap().to_owned()));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let tokens = tokens.lock().await.clone();

    // Everyone enrols at once; one in four cancels right after, interleaved with the others.
    let mut tasks = Vec::new();
    for (i, token) in tokens {
        let (client, base, session) = (client.clone(), base.clone(), session.to_string());
        tasks.push(tokio::spawn(async move {
            let url = format!("{base}/sessions/{session}/enrolments");
            let response = client.post(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let body: Value = response.json().await.unwrap();
            let status = body["status"].as_str().unwrap().to_owned();
            assert!(
                status == "confirmed" || (status == "waitlisted" && body["waitlist_position"].as_i64().unwrap() >= 1)
            );
            // Enrolling again answers the same, without a duplicate.
            let again = client.post(&url).bearer_auth(&token).send().await.unwrap();
            assert_eq!(again.status(), StatusCode::OK);
            let again: Value = again.json().await.unwrap();
            assert_eq!(again["enrolment_id"], body["enrolment_id"]);
            if i % 4 == 0 {
                let cancelled = client.delete(format!("{url}/me")).bearer_auth(&token).send().await.unwrap();
                assert_eq!(cancelled.status(), StatusCode::OK);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }

    let mut conn = db.conn();
    let list = enrolment::list_enrolments(&mut conn, &session).unwrap();
    let confirmed = list.iter().filter(|e| e.status == EnrolmentStatus::Confirmed).count();
    let waitlisted: Vec<i64> = list.iter().filter_map(|e| e.waitlist_position).collect();
    assert_eq!(confirmed, 12);
    assert_eq!(list.iter().filter(|e| e.status == EnrolmentStatus::Cancelled).count(), 50);
    assert_eq!(waitlisted, (1..=138).collect::<Vec<_>>());
    let view = lms_core::catalogue::find_training_session(&mut conn, &session).unwrap();
    assert_eq!((view.confirmed, view.waitlisted, view.seats_left), (12, 138, 0));
}

#[tokio::test]
async fn enrolment_refusals_are_clear_and_write_nothing() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (_, _, body) = send(
        &app,
        json_request(
            "POST",
            "/api/v1/auth/token",
            &format!(r#"{{"email":"hugo.blanc@example.org","password":"{}"}}"#, "tiers-lieux-demo"),
            None,
        ),
    )
    .await;
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let sessions = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default()).unwrap();
    let draft = sessions.iter().find(|s| s.status == lms_core::catalogue::TrainingSessionStatus::Draft).unwrap();
    let under_way = sessions.iter().find(|s| s.reference == "PTL-NA-DEMO-1").unwrap();
    let open = sessions.iter().find(|s| s.reference == "ACCES-DEMO-ANGOULEME").unwrap();
    let before = enrolment::list_enrolments(&mut db.conn(), &open.id).unwrap().len();

    let long_answers = format!(r#"{{"positioning_answers":"{}"}}"#, "a".repeat(5000));
    let cases: Vec<(String, &str, StatusCode, &str)> = vec![
        (format!("/api/v1/sessions/{}/enrolments", draft.id), "", StatusCode::CONFLICT, "session_not_open"),
        (format!("/api/v1/sessions/{}/enrolments", under_way.id), "", StatusCode::CONFLICT, "enrolment_closed"),
        ("/api/v1/sessions/not-an-id/enrolments".into(), "", StatusCode::NOT_FOUND, "unknown_session"),
        (format!("/api/v1/sessions/{}/enrolments", uuid::Uuid::now_v7()), "", StatusCode::NOT_FOUND, "unknown_session"),
        (
            format!("/api/v1/sessions/{}/enrolments", open.id),
            r#"{"funding_source":"' OR 1=1 --"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
        (
            format!("/api/v1/sessions/{}/enrolments", open.id),
            r#"{"funding_source":42}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (format!("/api/v1/sessions/{}/enrolments", open.id), r#"{"funding"#, StatusCode::BAD_REQUEST, "malformed_json"),
        (
            format!("/api/v1/sessions/{}/enrolments", open.id),
            &long_answers,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
    ];
    for (uri, body, expected_status, expected_code) in cases {
        let (status, _, response) = send(&app, json_request("POST", &uri, body, Some(&token))).await;
        assert_eq!(status, expected_status, "{uri} {body}: {response}");
        let response: Value = serde_json::from_str(&response).unwrap();
        assert_eq!(response["error"]["code"], expected_code, "{uri}");
    }
    // Someone else's enrolment cannot be cancelled: "me" is always the caller.
    let (status, _, response) = send(
        &app,
        json_request("DELETE", &format!("/api/v1/sessions/{}/enrolments/me", under_way.id), "", Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{response}");
    assert_eq!(enrolment::list_enrolments(&mut db.conn(), &open.id).unwrap().len(), before);
    assert_eq!(
        enrolment::list_enrolments(&mut db.conn(), &under_way.id).unwrap().len(),
        6,
        "nobody else's enrolment touched"
    );
}

#[tokio::test]
async fn a_trainee_enrols_from_the_session_page_and_finds_the_convocation() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let sessions = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default()).unwrap();
    let open = sessions.iter().find(|s| s.reference == "ACCES-DEMO-ANGOULEME").unwrap();
    let (status, _, page) = send(&app, get(&format!("/sessions/{}", open.id))).await;
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "Objectifs",
        "Prérequis",
        "Modalités d'évaluation",
        "Accessibilité",
        "Calendrier",
        "La Kabane",
        "9 h 00",
        "places restantes",
        "Se connecter pour s'inscrire",
    ] {
        assert!(page.contains(expected), "missing {expected}");
    }
    let cookies = format!("lms_session={}", browser_login(&app, "hugo.blanc@example.org", "tiers-lieux-demo").await);
    let (_, _, page) = send(&app, get_with_cookies(&format!("/sessions/{}", open.id), &cookies)).await;
    assert!(page.contains("M'inscrire"));
    let csrf = csrf_field(&page);
    let (status, headers, _) = send(
        &app,
        form_request(
            &format!("/sessions/{}/enrol", open.id),
            &[
                ("csrf", &csrf),
                ("funding_source", "cpf"),
                ("trainee_category", "employee"),
                ("positioning_answers", "Je coordonne un fablab."),
            ],
            &cookies,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("info=enrolled"), "{location}");
    let (_, _, page) = send(&app, get_with_cookies(&location, &cookies)).await;
    assert!(page.contains("Votre inscription est confirmée"));
    let (_, _, me) = send(&app, get_with_cookies("/me", &cookies)).await;
    assert!(
        me.contains("Accessibilité universelle") && me.contains("Inscription confirmée") && me.contains("Convocation")
    );
    let (status, _, convocation) =
        send(&app, get_with_cookies(&format!("/me/convocations/{}", open.id), &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        convocation.contains("Convocation à la formation")
            && convocation.contains("Hugo Blanc")
            && convocation.contains("La Kabane")
    );
    // Without the form token, nothing happens.
    let (status, _, _) =
        send(&app, form_request(&format!("/sessions/{}/cancel", open.id), &[("csrf", "nope")], &cookies)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Someone else's convocation is not visible.
    let other = sessions.iter().find(|s| s.reference == "FAB-DEMO-BRIVE").unwrap();
    assert_eq!(
        send(&app, get_with_cookies(&format!("/me/convocations/{}", other.id), &cookies)).await.0,
        StatusCode::NOT_FOUND
    );
    // Cancelling from the page.
    let (status, headers, _) =
        send(&app, form_request(&format!("/sessions/{}/cancel", open.id), &[("csrf", &csrf)], &cookies)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=cancelled"));
}

/// Claire Bernard, confirmed on the full demo session ANIM-DEMO-SAINTES, cancels through the
/// API (with a token she asks for): the first on the waitlist, Lucas Girard, is promoted.
async fn a_confirmed_trainee_leaves_the_full_session(
    db: &TestDb,
    app: &axum::Router,
) -> lms_core::catalogue::TrainingSessionView {
    let sessions = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default()).unwrap();
    let full = sessions.into_iter().find(|s| s.reference == "ANIM-DEMO-SAINTES").unwrap();
    let (_, _, body) = send(
        app,
        json_request(
            "POST",
            "/api/v1/auth/token",
            r#"{"email":"claire.bernard@example.org","password":"tiers-lieux-demo"}"#,
            None,
        ),
    )
    .await;
    let token: Value = serde_json::from_str(&body).unwrap();
    let (status, _, _) = send(
        app,
        json_request("DELETE", &format!("/api/v1/sessions/{}/enrolments/me", full.id), "", token["token"].as_str()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    full
}

#[tokio::test]
async fn the_waitlisted_trainee_sees_the_promotion_on_their_page() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    // lucas.girard is first on the waitlist of the full demo session; a confirmed trainee leaves.
    a_confirmed_trainee_leaves_the_full_session(&db, &app).await;
    let cookies = format!("lms_session={}", browser_login(&app, "lucas.girard@example.org", "tiers-lieux-demo").await);
    let (_, _, me) = send(&app, get_with_cookies("/me", &cookies)).await;
    assert!(me.contains("Une place s&#x27;est libérée") || me.contains("Une place s'est libérée"), "{me}");
    assert!(me.contains("Inscription confirmée"));
}

/// End to end: the promotion's convocation is written to the outbox with the cancellation, and a
/// server with `LMS_SMTP_URL` sends it (among the demo's other queued messages).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_is_emailed_when_smtp_is_configured() {
    let db = TestDb::new(Seed::Demo);
    let sink = lms_tests::smtp_sink::SmtpSink::start().await;
    let url = sink.url();
    spawn_server_with(&db, move |config| {
        config.smtp_url = Some(url);
        config.public_url = "https://formation.example.org".into();
        config.mail_poll = std::time::Duration::from_millis(100);
    })
    .await;
    let app = test_app(&db).await;
    let full = a_confirmed_trainee_leaves_the_full_session(&db, &app).await;
    let link = format!("https://formation.example.org/sessions/{}", full.id);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = sink.messages().iter().any(|raw| {
            let Some(message) = mail_parser::MessageParser::default().parse(raw) else { return false };
            let to_lucas = message
                .to()
                .and_then(|to| to.first())
                .is_some_and(|to| to.address() == Some("lucas.girard@example.org"));
            to_lucas
                && message.subject().is_some_and(|s| s.starts_with("Une place s'est libérée"))
                && message.body_text(0).is_some_and(|text| text.contains(&link))
        });
        if found {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no promotion e-mail within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
