//! The server: health, home page, errors, security headers.

use axum::http::StatusCode;
use lms_tests::{Seed, TestDb, get, send, test_app};

#[tokio::test]
async fn healthz_checks_the_database() {
    let db = TestDb::new(Seed::Empty);
    let app = test_app(&db).await;
    let (status, _, body) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn the_home_page_is_french_and_lists_upcoming_sessions() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (status, headers, body) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains("<html lang=\"fr\">"));
    assert!(body.contains("Sessions à venir"));
    assert!(body.contains("Piloter un tiers-lieu"));
    assert!(body.contains("liste d'attente"), "the full demo session shows its waitlist");
    assert!(!body.contains("ECO-DEMO-NIORT-BROUILLON") && !body.contains("Parthenay"), "drafts are not public");
    for header in ["content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"] {
        assert!(headers.contains_key(header), "{header}");
    }
    let (status, headers, css) = send(&app, get("/static/style.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.contains("--accent"));
}

#[tokio::test]
async fn unknown_paths_are_404_in_json_for_the_api_and_french_for_pages() {
    let db = TestDb::new(Seed::Empty);
    let app = test_app(&db).await;
    let (status, _, body) = send(&app, get("/api/v1/nothing-here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _, body) = send(&app, get("/nulle-part")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page introuvable"));
}

#[tokio::test]
async fn a_fresh_server_migrates_and_loads_startup_data_once() {
    let db = TestDb::new(Seed::Empty);
    let mut config = lms_server::Config::for_tests(db.url.clone());
    config.startup_data = lms_core::fixtures::StartupData::Demo;
    let state = lms_server::AppState::open(&config).await.unwrap();
    drop(state);
    let mut conn = db.conn();
    let sessions = lms_core::catalogue::list_training_sessions(&mut conn, &Default::default()).unwrap();
    assert!(sessions.len() >= 10);
    // A second start finds data and loads nothing more.
    lms_server::AppState::open(&config).await.unwrap();
    assert_eq!(
        lms_core::catalogue::list_training_sessions(&mut conn, &Default::default()).unwrap().len(),
        sessions.len()
    );
}

#[tokio::test]
async fn the_home_page_searches_near_home_and_offers_candidates_when_ambiguous() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (status, _, page) = send(&app, get("/?near=Saintes&minutes=30")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("à moins de 30 minutes de"), "{page}");
    assert!(page.contains("CoWork ETC") && page.contains("min en voiture") && page.contains("estimation"));
    assert!(page.contains("Comment le temps de trajet est-il estimé"));
    let (status, _, page) = send(&app, get("/?near=Sainte-Colombe")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Choisissez votre commune"));
    assert!(page.contains("?near=Sainte-Colombe%20%2817%29"), "candidate links keep the département");
    let (status, _, page) = send(&app, get("/?near=Zzzyxville")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("role=\"alert\""));
    let (status, _, page) = send(&app, get("/?near=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
    assert!(status.is_client_error());
    assert!(!page.contains("<script>alert(1)"), "typed text is never echoed unescaped");
    let (status, _, _) = send(&app, get("/?near=Saintes&minutes=abc")).await;
    assert_eq!(status, StatusCode::OK, "a bad radius is explained on the page");
}

#[tokio::test]
async fn a_draft_is_unknown_to_everyone_through_both_doors_and_a_reference_works_in_the_path() {
    use lms_tests::{browser_login, get_with_cookies, json_request};
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let sessions = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default()).unwrap();
    let draft = sessions.iter().find(|s| s.status == lms_core::catalogue::TrainingSessionStatus::Draft).unwrap();
    let open = sessions.iter().find(|s| s.reference == "ACCES-DEMO-ANGOULEME").unwrap();
    let admin = "admin@demo.tierslieux.example.org";
    let cookies = format!("lms_session={}", browser_login(&app, admin, "tiers-lieux-demo").await);
    let credentials = format!(r#"{{"email":"{admin}","password":"tiers-lieux-demo"}}"#);
    let (_, _, body) = send(&app, json_request("POST", "/api/v1/auth/token", &credentials, None)).await;
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap();
    for key in [draft.id.to_string(), draft.reference.clone()] {
        // Anonymous and administrator alike: the public doors never show a draft.
        let (status, _, body) = send(&app, get(&format!("/api/v1/sessions/{key}"))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "unknown_session");
        let (status, _, _) = send(&app, json_request("GET", &format!("/api/v1/sessions/{key}"), "", Some(token))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(send(&app, get(&format!("/sessions/{key}"))).await.0, StatusCode::NOT_FOUND);
        assert_eq!(send(&app, get_with_cookies(&format!("/sessions/{key}"), &cookies)).await.0, StatusCode::NOT_FOUND);
    }
    // A published session answers the same by its id and by its reference, on both doors.
    let (status, _, by_reference) = send(&app, get(&format!("/api/v1/sessions/{}", open.reference))).await;
    assert_eq!(status, StatusCode::OK, "{by_reference}");
    let (_, _, by_id) = send(&app, get(&format!("/api/v1/sessions/{}", open.id))).await;
    assert_eq!(by_reference, by_id);
    let (status, _, page) = send(&app, get(&format!("/sessions/{}", open.reference))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Calendrier") && page.contains("places restantes"), "the session page");
}

#[tokio::test]
async fn a_trainee_enrols_and_cancels_by_reference_through_the_api() {
    use lms_tests::json_request;
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let credentials = r#"{"email":"hugo.blanc@example.org","password":"tiers-lieux-demo"}"#;
    let (_, _, body) = send(&app, json_request("POST", "/api/v1/auth/token", credentials, None)).await;
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap();
    let uri = "/api/v1/sessions/ACCES-DEMO-ANGOULEME/enrolments";
    let (status, _, body) = send(&app, json_request("POST", uri, "", Some(token))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let sessions = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default()).unwrap();
    let open = sessions.iter().find(|s| s.reference == "ACCES-DEMO-ANGOULEME").unwrap();
    assert_eq!(body["session_id"], open.id.to_string(), "the answer names the session by its id");
    let (status, _, body) = send(&app, json_request("DELETE", &format!("{uri}/me"), "", Some(token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) =
        send(&app, json_request("POST", "/api/v1/sessions/NO-SUCH-REF/enrolments", "", Some(token))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
