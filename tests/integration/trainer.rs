//! Trainers' attendance: pages and API, a whole sheet in one request, co-signature, corrections
//! with history, absence alerts, bad input that writes nothing, and who may see or write what.

use axum::http::StatusCode;
use lms_core::attendance::recording::{self, SheetInput, SheetLine};
use lms_core::attendance::sheets;
use lms_core::attendance::{Actor, AttendanceError, AttendanceStatus, SignatureMethod};
use lms_tests::*;
use serde_json::json;

use crate::attendance_support::*;

fn line(trainee: &str, status: AttendanceStatus, minutes: i32, reason: Option<&str>) -> SheetLine {
    SheetLine { trainee: trainee.into(), status, minutes, reason: reason.map(str::to_owned) }
}

fn sheet_input(lines: Vec<SheetLine>) -> SheetInput {
    SheetInput { lines, method: SignatureMethod::TrainerEntry, evidence_sha256: None, correction_reason: None }
}

#[tokio::test]
async fn trainer_pages_show_sessions_half_days_and_sheets() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let past = past_half_days(&mut conn, &session);
    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, TRAINER).await;

    let (status, _, page) = send(&app, get_with_cookies("/trainer", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(DEMO) && page.contains(&format!("/trainer/sessions/{session}")), "{page}");
    assert!(!page.contains("PTL-NA-DEMO-2"), "only the sessions she teaches");

    let (status, _, page) = send(&app, get_with_cookies(&format!("/trainer/sessions/{session}"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Contresignée") && page.contains("À venir"), "{page}");
    assert!(page.contains("Alertes d'absence"));
    assert!(page.contains(&format!("/trainer/sessions/{session}/half-days/{}", past[0])));

    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{}", past[1]), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    for name in ["Léa Dubois", "Karim Benali", "Julien Faure"] {
        assert!(page.contains(name), "{name}");
    }
    assert!(page.contains("En retard (20 min)"), "the demo's late arrival");
    assert!(page.contains("Contresignée par Inès Marchand"));
    assert!(page.contains("Motif de la correction"), "a closed sheet asks for a correction reason");
    assert!(page.contains("Historique"));
}

#[tokio::test]
async fn a_whole_sheet_is_recorded_in_one_form_post_then_cosigned_and_corrected_with_history() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let ids: Vec<String> = DEMO_TRAINEES.iter().map(|e| user(&mut conn, e).to_string()).collect();
    let app = test_app(&db).await;
    let (cookie, csrf) = browser(&app, TRAINER).await;
    let sheet_url = format!("/trainer/sessions/{session}/half-days/{half_day}");

    let (status, _, page) = send(&app, get_with_cookies(&sheet_url, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Enregistrer la feuille") && page.contains("Afficher le code d'émargement"));

    let before = entry_count(&mut conn);
    let statuses = ["present", "late", "left_early", "absent", "excused", "present"];
    let mut fields: Vec<(String, String)> =
        vec![("csrf".into(), csrf.clone()), ("method".into(), "trainer_entry".into())];
    for (i, id) in ids.iter().enumerate() {
        fields.push((format!("status-{id}"), statuses[i].into()));
        fields.push((
            format!("minutes-{id}"),
            if i == 1 {
                "15".into()
            } else if i == 2 {
                "45".into()
            } else {
                String::new()
            },
        ));
        fields.push((format!("reason-{id}"), if i == 4 { "Rendez-vous Pôle emploi".into() } else { String::new() }));
    }
    let as_refs = |fields: &[(String, String)]| fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<Vec<_>>();
    let post = |fields: Vec<(String, String)>| {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        form_request(&format!("{sheet_url}/statuses"), &borrowed, &cookie)
    };
    let (status, headers, _) = send(&app, post(as_refs(&fields))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=recorded"));
    assert_eq!(entry_count(&mut conn), before + 6, "one entry per trainee, one request");

    let (_, _, page) = send(&app, get_with_cookies(&sheet_url, &cookie)).await;
    assert!(page.contains("En retard (15 min)") || page.contains("value=\"15\""), "{page}");
    assert!(page.contains("Contresigner et clore la demi-journée"), "complete sheet can be co-signed");

    // Sending the same sheet again adds nothing to the history.
    let (status, headers, _) = send(&app, post(as_refs(&fields))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=unchanged"));
    assert_eq!(entry_count(&mut conn), before + 6);

    // Co-signing closes the half-day for good: the form asks for a confirmation, and a post
    // without it is refused, says why and writes nothing.
    assert!(page.contains(r#"type="checkbox" id="cosign-confirm" name="confirm" value="oui" required"#), "{page}");
    let (status, _, page) = send(&app, form_request(&format!("{sheet_url}/cosign"), &[("csrf", &csrf)], &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("cochez la case « Je certifie cette feuille »"), "{page}");
    assert!(page.contains("Contresigner et clore la demi-journée"), "the sheet, still open, with its form");
    assert_eq!(entry_count(&mut conn), before + 6);
    let (status, _, _) =
        send(&app, form_request(&format!("{sheet_url}/cosign"), &[("csrf", &csrf), ("confirm", "")], &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(entry_count(&mut conn), before + 6);
    let (status, headers, _) =
        send(&app, form_request(&format!("{sheet_url}/cosign"), &[("csrf", &csrf), ("confirm", "oui")], &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
    assert_eq!(entry_count(&mut conn), before + 7);

    // Closed: a change without a reason is refused and writes nothing…
    let mut change = fields.clone();
    change.retain(|(k, _)| !k.starts_with("status-") || k == &format!("status-{}", ids[3]));
    change.iter_mut().for_each(|(k, v)| {
        if k == &format!("status-{}", ids[3]) {
            *v = "present".into();
        }
    });
    let (status, _, page) = send(&app, post(as_refs(&change))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("motif"), "{page}");
    assert_eq!(entry_count(&mut conn), before + 7);
    // …with a reason it supersedes, and both entries stay in the history.
    change.push(("correction_reason".into(), "Arrivée signalée après la clôture".into()));
    let (status, _, _) = send(&app, post(as_refs(&change))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(entry_count(&mut conn), before + 8);
    let sheet = sheets::half_day_sheet(&mut conn, Actor::Console, &session, &half_day, lms_core::db::now()).unwrap();
    let thomas = sheet.rows.iter().find(|r| r.email == DEMO_TRAINEES[3]).unwrap();
    assert_eq!(thomas.status, Some(AttendanceStatus::Present));
    assert_eq!(thomas.history.len(), 2);
    assert!(thomas.history[0].superseded && !thomas.history[1].superseded);
    assert_eq!(thomas.history[1].correction_reason.as_deref(), Some("Arrivée signalée après la clôture"));
    let (_, _, page) = send(&app, get_with_cookies(&sheet_url, &cookie)).await;
    assert!(page.contains("Arrivée signalée après la clôture") && page.contains("(remplacée)"));
    assert!(ledger_problems(&mut conn).is_empty());
}

#[tokio::test]
async fn a_sheet_of_twenty_lines_goes_in_one_api_request_and_cosigning_needs_every_status() {
    let UnderWay { db, session, half_day, token, app } = UnderWay::new().await;
    let mut conn = db.conn();
    let url = format!("/api/v1/sessions/{session}/half-days/{half_day}/sheet");
    let cosign_url = format!("/api/v1/sessions/{session}/half-days/{half_day}/cosign");

    let before = entry_count(&mut conn);
    let partial = json!({"entries": [
        {"trainee": DEMO_TRAINEES[0], "status": "present"},
        {"trainee": DEMO_TRAINEES[1], "status": "late", "minutes": 12},
        {"trainee": user(&mut conn, DEMO_TRAINEES[2]).to_string(), "status": "absent"},
    ]});
    let (status, _, body) = send(&app, json_request("PUT", &url, &partial.to_string(), Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome = json_body(&body);
    assert_eq!(outcome["recorded"], 3);
    assert_eq!(outcome["entries"].as_array().unwrap().len(), 3);
    let head = lms_core::attendance::ledger_position(&mut conn, &session).unwrap();
    assert_eq!(outcome["ledger"]["seq"].as_i64().unwrap(), head.seq);
    assert_eq!(outcome["ledger"]["hash"], head.hash);

    let (status, _, body) = send(&app, json_request("POST", &cosign_url, "", Some(&token))).await;
    assert_error(status, &body, StatusCode::CONFLICT, "incomplete_sheet");
    assert!(json_body(&body)["error"]["message"].as_str().unwrap().contains('3'));
    assert_eq!(entry_count(&mut conn), before + 3);

    let rest: Vec<_> = DEMO_TRAINEES[3..].iter().map(|t| json!({"trainee": t, "status": "present"})).collect();
    let (status, _, body) =
        send(&app, json_request("PUT", &url, &json!({"entries": rest}).to_string(), Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = send(&app, json_request("POST", &cosign_url, "", Some(&token))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cosigned = json_body(&body);
    assert_eq!(cosigned["sheet"]["state"], "closed");
    assert_eq!(cosigned["sheet"]["cosign"]["name"], "Inès Marchand");
    let (status, _, body) = send(&app, json_request("POST", &cosign_url, "", Some(&token))).await;
    assert_error(status, &body, StatusCode::CONFLICT, "half_day_closed");

    // Twenty trainees in one request (the benchmark's shape), through the core use case.
    let reference = lms_tests_fixture_session_with(&mut conn, 20);
    let trainer = caller(&mut conn, TRAINER);
    let started = open_half_day(&mut conn, &reference);
    let emails: Vec<String> = (0..20).map(|i| format!("vingt{i}@example.org")).collect();
    let input = sheet_input(emails.iter().map(|e| line(e, AttendanceStatus::Present, 0, None)).collect());
    let before = entry_count(&mut conn);
    let outcome =
        recording::record_sheet(&mut conn, &trainer, &reference, &started, &input, lms_core::db::now()).unwrap();
    assert_eq!(outcome.recorded, 20);
    assert_eq!(entry_count(&mut conn), before + 20);
    assert!(ledger_problems(&mut conn).is_empty());
}

/// A published session of the PTL course taught by [`TRAINER`] with `trainees` confirmed trainees.
fn lms_tests_fixture_session_with(
    conn: &mut lms_core::DbConn,
    trainees: usize,
) -> lms_core::db::ids::TrainingSessionId {
    let mut start = lms_core::catalogue::paris_today() + chrono::Duration::days(20);
    while matches!(chrono::Datelike::weekday(&start), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        start = start.succ_opt().unwrap();
    }
    let days = lms_core::catalogue::consecutive_weekdays(start, 2).unwrap();
    let created = lms_core::catalogue::create_training_session(
        conn,
        &lms_core::catalogue::NewTrainingSession {
            course_code: "PTL".into(),
            days: days
                .into_iter()
                .map(|date| lms_core::catalogue::PlannedDay { date, venue_slug: "fabrique-pola-begles".into() })
                .collect(),
            capacity: 30,
            trainer_emails: vec![TRAINER.into()],
            publish: true,
            reference: Some(format!("VINGT-{trainees}")),
        },
    )
    .unwrap();
    for i in 0..trainees {
        let trainee = lms_core::people::add_user_without_password(
            conn,
            &format!("vingt{i}@example.org"),
            &format!("Stagiaire {i}"),
            lms_core::people::Role::Trainee,
        )
        .unwrap();
        let trainee = lms_core::access::caller_for(conn, &trainee.id).unwrap();
        lms_core::enrolment::enrol_as(
            conn,
            &created.id,
            &trainee,
            &lms_core::enrolment::EnrolmentRequest::default(),
            lms_core::db::now(),
        )
        .unwrap();
    }
    created.id
}

#[tokio::test]
async fn bad_sheets_are_refused_with_clear_errors_and_write_nothing() {
    let UnderWay { db, session, half_day: open, token, app } = UnderWay::new().await;
    let mut conn = db.conn();
    let other_session = crate::attendance_support::session(&mut conn, "PTL-NA-DEMO-2");
    let future = future_half_day(&mut conn, &session);
    let foreign = schedule(&mut conn, &other_session)[0].id.clone();
    let url =
        |half_day: &lms_core::db::ids::HalfDayId| format!("/api/v1/sessions/{session}/half-days/{half_day}/sheet");
    let before = entry_count(&mut conn);

    let cases: Vec<(String, String, StatusCode, &str)> = vec![
        (
            url(&open),
            json!({"entries": [present(TRAINEE), present(OUTSIDER)]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_trainee",
        ),
        (
            url(&open),
            json!({"entries": [present("nobody@example.org")]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_trainee",
        ),
        (
            url(&foreign),
            json!({"entries": [present(TRAINEE)]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_half_day",
        ),
        (
            format!("/api/v1/sessions/{session}/half-days/not-a-uuid/sheet"),
            json!({"entries": [present(TRAINEE)]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_half_day",
        ),
        (
            url(&future),
            json!({"entries": [present(TRAINEE)]}).to_string(),
            StatusCode::CONFLICT,
            "half_day_not_started",
        ),
        (url(&open), "{\"entries\": [".into(), StatusCode::BAD_REQUEST, "malformed_json"),
        (
            url(&open),
            json!({"entries": [{"trainee": TRAINEE}]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (
            url(&open),
            json!({"entries": [present(TRAINEE)], "extra": 1}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json",
        ),
        (
            url(&open),
            json!({"entries": [{"trainee": TRAINEE, "status": "peut-être"}]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (
            url(&open),
            json!({"entries": [present(TRAINEE), {"trainee": FELLOW_TRAINEE, "status": "late"}]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (
            url(&open),
            json!({"entries": [{"trainee": TRAINEE, "status": "excused", "reason": "  "}]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (
            url(&open),
            json!({"entries": [present(TRAINEE), present(TRAINEE)]}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (url(&open), json!({"entries": []}).to_string(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_attendance"),
        (
            url(&open),
            json!({"entries": [present(TRAINEE)], "method": "paper_scan"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (
            url(&open),
            json!({"entries": [present(TRAINEE)], "method": "paper_scan", "evidence_sha256": "abc"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
        (
            url(&open),
            json!({"entries": [present(TRAINEE)], "method": "self_checkin"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_attendance",
        ),
    ];
    for (uri, body, expected, code) in cases {
        let (status, _, answer) = send(&app, json_request("PUT", &uri, &body, Some(&token))).await;
        assert_error(status, &answer, expected, code);
        assert_eq!(entry_count(&mut conn), before, "nothing written for {body}");
    }
}

fn present(trainee: &str) -> serde_json::Value {
    json!({"trainee": trainee, "status": "present"})
}

#[tokio::test]
async fn a_refused_sheet_names_the_line() {
    let UnderWay { db: _db, session, half_day: open, token, app, .. } = UnderWay::new().await;
    let (_, _, answer) = send(
        &app,
        json_request(
            "PUT",
            &format!("/api/v1/sessions/{session}/half-days/{open}/sheet"),
            &json!({"entries": [present(TRAINEE), present(OUTSIDER)]}).to_string(),
            Some(&token),
        ),
    )
    .await;
    assert!(json_body(&answer)["error"]["message"].as_str().unwrap().contains(OUTSIDER), "{answer}");
}

#[tokio::test]
async fn a_sheet_for_an_unknown_session_is_404() {
    let UnderWay { db: _db, half_day: open, token, app, .. } = UnderWay::new().await;
    let (status, _, answer) = send(
        &app,
        json_request(
            "PUT",
            &format!("/api/v1/sessions/{}/half-days/{open}/sheet", uuid::Uuid::now_v7()),
            &json!({"entries": [present(TRAINEE)]}).to_string(),
            Some(&token),
        ),
    )
    .await;
    assert_error(status, &answer, StatusCode::NOT_FOUND, "unknown_session");
}

/// Through the core use case: a late arrival of 0 minutes refuses the whole sheet.
#[tokio::test]
async fn a_late_arrival_of_zero_minutes_refuses_the_sheet() {
    let UnderWay { db, session, half_day: open, .. } = UnderWay::new().await;
    let mut conn = db.conn();
    let before = entry_count(&mut conn);
    let trainer = caller(&mut conn, TRAINER);
    let refused = recording::record_sheet(
        &mut conn,
        &trainer,
        &session,
        &open,
        &sheet_input(vec![
            line(TRAINEE, AttendanceStatus::Present, 0, None),
            line(FELLOW_TRAINEE, AttendanceStatus::Late, 0, None),
        ]),
        lms_core::db::now(),
    );
    assert!(matches!(refused, Err(AttendanceError::InSheet { .. })), "{refused:?}");
    assert_eq!(entry_count(&mut conn), before);
    assert!(ledger_problems(&mut conn).is_empty());
}

#[tokio::test]
async fn absence_alerts_flag_trainees_absent_on_consecutive_half_days() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let past = past_half_days(&mut conn, &session);
    assert!(past.len() >= 3, "the demo has past half-days");
    let token = token(&mut conn, TRAINER);
    let app = test_app(&db).await;
    let alerts = |conn: &mut lms_core::DbConn, threshold| {
        sheets::session_attendance(conn, Actor::Console, &session, threshold, lms_core::db::now()).unwrap().alerts
    };
    assert!(alerts(&mut conn, 2).is_empty(), "the demo has single absences only");

    // Karim was in fact absent on the last two half-days: corrected through the API.
    for (half_day, status) in [(&past[past.len() - 2], "absent"), (&past[past.len() - 1], "excused")] {
        let body = json!({
            "entries": [{"trainee": FELLOW_TRAINEE, "status": status, "reason": "Malade"}],
            "correction_reason": "Feuille papier retrouvée",
        });
        let (status, _, answer) = send(
            &app,
            json_request(
                "PUT",
                &format!("/api/v1/sessions/{session}/half-days/{half_day}/sheet"),
                &body.to_string(),
                Some(&token),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let found = alerts(&mut conn, 2);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].email, FELLOW_TRAINEE);
    assert_eq!((found[0].consecutive, found[0].excused), (2, 1));
    assert!(alerts(&mut conn, 3).is_empty());

    let (status, _, body) =
        send(&app, json_request("GET", &format!("/api/v1/sessions/{session}/half-days?threshold=2"), "", Some(&token)))
            .await;
    assert_eq!(status, StatusCode::OK);
    let attendance = json_body(&body);
    assert_eq!(attendance["alerts"][0]["email"], FELLOW_TRAINEE);
    assert_eq!(attendance["alert_threshold"], 2);
    let (status, _, body) =
        send(&app, json_request("GET", &format!("/api/v1/sessions/{session}/half-days?threshold=0"), "", Some(&token)))
            .await;
    assert_error(status, &body, StatusCode::UNPROCESSABLE_ENTITY, "invalid_attendance");

    let (cookie, _) = browser(&app, TRAINER).await;
    let (_, _, page) = send(&app, get_with_cookies(&format!("/trainer/sessions/{session}"), &cookie)).await;
    assert!(page.contains("Karim Benali") && page.contains("dont 1 excusée"), "{page}");
    let (_, _, page) = send(&app, get_with_cookies(&format!("/trainer/sessions/{session}?seuil=3"), &cookie)).await;
    assert!(page.contains("Aucune alerte") && page.contains("sur 3 demi-journées consécutives"), "{page}");
}

/// The demo data, an app on it, the demo session and its trainer's token.
async fn as_its_trainer() -> (TestDb, axum::Router, lms_core::db::ids::TrainingSessionId, String) {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let token = token(&mut conn, TRAINER);
    drop(conn);
    let app = test_app(&db).await;
    (db, app, session, token)
}

#[tokio::test]
async fn taught_sessions_json_contract() {
    let (_db, app, _, token) = as_its_trainer().await;
    let (status, _, body) = send(&app, json_request("GET", "/api/v1/trainer/sessions", "", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let sessions = json_body(&body);
    let demo = sessions.as_array().unwrap().iter().find(|s| s["reference"] == DEMO).unwrap();
    for key in [
        "id",
        "reference",
        "course_code",
        "course_title",
        "start",
        "end",
        "status",
        "trainers",
        "right",
        "trainees",
        "half_days",
        "half_days_to_cosign",
        "next_half_day_at",
    ] {
        assert!(demo.get(key).is_some(), "missing {key} in {demo}");
    }
    assert_eq!(demo["right"], "teaches");
    assert_eq!(demo["trainees"], 6);
}

#[tokio::test]
async fn half_days_json_contract() {
    let (_db, app, session, token) = as_its_trainer().await;
    let (_, _, body) =
        send(&app, json_request("GET", &format!("/api/v1/sessions/{session}/half-days"), "", Some(&token))).await;
    let attendance = json_body(&body);
    for key in ["session", "right", "trainees", "half_days", "alert_threshold", "alerts", "ledger"] {
        assert!(attendance.get(key).is_some(), "missing {key}");
    }
    let first = &attendance["half_days"][0];
    for key in [
        "id",
        "date",
        "slot",
        "starts_at",
        "ends_at",
        "minutes",
        "venue",
        "commune",
        "module",
        "state",
        "recorded",
        "attended",
        "absent",
        "signed",
        "cosigned_by",
        "cosigned_at",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["state"], "closed");
    assert_eq!(attendance["alert_threshold"], 2);
}

#[tokio::test]
async fn sheet_json_contract() {
    let (db, app, session, token) = as_its_trainer().await;
    let past = past_half_days(&mut db.conn(), &session);
    let (_, _, body) = send(
        &app,
        json_request("GET", &format!("/api/v1/sessions/{session}/half-days/{}/sheet", past[0]), "", Some(&token)),
    )
    .await;
    let sheet = json_body(&body);
    for key in
        ["session", "half_day", "state", "right", "can_record", "can_cosign", "missing", "rows", "cosign", "ledger"]
    {
        assert!(sheet.get(key).is_some(), "missing {key}");
    }
    let row = &sheet["rows"][0];
    for key in [
        "trainee",
        "name",
        "email",
        "enrolled",
        "status",
        "late_minutes",
        "left_early_minutes",
        "reason",
        "method",
        "recorded_at",
        "signature",
        "history",
    ] {
        assert!(row.get(key).is_some(), "missing {key} in {row}");
    }
    for key in [
        "seq",
        "entry",
        "status",
        "method",
        "recorded_by",
        "recorded_at",
        "correction_reason",
        "superseded",
        "entry_hash",
    ] {
        assert!(row["history"][0].get(key).is_some(), "missing {key}");
    }
    for key in ["trainer", "name", "at", "seq", "entry_hash"] {
        assert!(sheet["cosign"].get(key).is_some(), "missing {key}");
    }
    assert_eq!(sheet["ledger"]["hash"].as_str().unwrap().len(), 64);
}

/// The demo session with a past and an open half-day, for the authorisation tests below.
struct Doors {
    db: TestDb,
    app: axum::Router,
    /// The session, as its id in text.
    s: String,
    past: lms_core::db::ids::HalfDayId,
    open: lms_core::db::ids::HalfDayId,
    lea: lms_core::db::ids::UserId,
}

async fn doors() -> Doors {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let past = past_half_days(&mut conn, &session)[0].clone();
    let open = open_half_day(&mut conn, &session);
    let lea = user(&mut conn, TRAINEE);
    let app = test_app(&db).await;
    Doors { db, app, s: session.to_string(), past, open, lea }
}

/// Who may see and write what through the API.
#[tokio::test]
async fn authorisation_matrix_for_attendance_and_assessment() {
    let Doors { db, app, s, past, open, lea } = doors().await;
    let mut conn = db.conn();
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("trainee", Some(token(&mut conn, TRAINEE))),
        ("other trainer", Some(token(&mut conn, OTHER_TRAINER))),
        ("admin", Some(token(&mut conn, ADMIN))),
        ("co-trainer", Some(token(&mut conn, CO_TRAINER))),
    ];
    let sheet_body = json!({"entries": [{"trainee": TRAINEE, "status": "present"}]}).to_string();
    let grid_body = json!({"results": [{"trainee": TRAINEE, "competence": "1.3", "result": "acquired"}]}).to_string();
    // (method, uri, body, expected for: anonymous, trainee, other trainer, admin, co-trainer)
    let rows: Vec<(&str, String, String, [StatusCode; 5])> = vec![
        (
            "GET",
            "/api/v1/trainer/sessions".into(),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK, StatusCode::OK],
        ),
        (
            "GET",
            format!("/api/v1/sessions/{s}/half-days"),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
        (
            "GET",
            format!("/api/v1/sessions/{s}/half-days/{past}/sheet"),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
        (
            "PUT",
            format!("/api/v1/sessions/{s}/half-days/{open}/sheet"),
            sheet_body.clone(),
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::OK,
            ],
        ),
        (
            "POST",
            format!("/api/v1/sessions/{s}/half-days/{open}/checkin-codes"),
            String::new(),
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::CREATED,
            ],
        ),
        (
            "GET",
            format!("/api/v1/sessions/{s}/assessments"),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
        (
            "PUT",
            format!("/api/v1/sessions/{s}/assessments"),
            grid_body.clone(),
            [
                StatusCode::UNAUTHORIZED,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::FORBIDDEN,
                StatusCode::OK,
            ],
        ),
        (
            "GET",
            format!("/api/v1/sessions/{s}/assessments/{lea}"),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::OK, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
        (
            "GET",
            format!("/api/v1/sessions/{s}/assessments/{FELLOW_TRAINEE}"),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN, StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
        (
            "GET",
            "/api/v1/me/attendance".into(),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::OK],
        ),
        (
            "GET",
            "/api/v1/me/assessments".into(),
            String::new(),
            [StatusCode::UNAUTHORIZED, StatusCode::OK, StatusCode::OK, StatusCode::OK, StatusCode::OK],
        ),
    ];
    for (method, uri, body, expected) in &rows {
        for ((who, token), expected) in tokens.iter().zip(expected) {
            let before = (entry_count(&mut conn), assessment_count(&mut conn));
            let (status, _, answer) = send(&app, json_request(method, uri, body, token.as_deref())).await;
            assert_eq!(status, *expected, "{who} {method} {uri}: {answer}");
            if !status.is_success() {
                assert_eq!((entry_count(&mut conn), assessment_count(&mut conn)), before, "{who} {method} {uri} wrote");
            }
        }
    }
}

#[tokio::test]
async fn a_trainees_own_records_hold_only_their_own_results() {
    let Doors { db, app, .. } = doors().await;
    let lea_token = token(&mut db.conn(), TRAINEE);
    let (_, _, body) = send(&app, json_request("GET", "/api/v1/me/assessments", "", Some(&lea_token))).await;
    let mine = json_body(&body);
    assert!(mine.as_array().unwrap().iter().all(|r| r["email"] == TRAINEE), "{mine}");
    assert!(!body.contains(FELLOW_TRAINEE));
}

/// Anonymous visitors go to the login page; others get 403 or the page.
#[tokio::test]
async fn trainer_pages_are_for_the_sessions_trainers_and_administrators() {
    let Doors { db: _db, app, s, past, .. } = doors().await;
    let page_urls = [
        "/trainer".to_owned(),
        format!("/trainer/sessions/{s}"),
        format!("/trainer/sessions/{s}/half-days/{past}"),
        format!("/trainer/sessions/{s}/sheet.pdf"),
        format!("/trainer/sessions/{s}/assessments"),
    ];
    for uri in &page_urls {
        let (status, headers, _) = send(&app, get(uri)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{uri}");
        assert!(headers["location"].to_str().unwrap().starts_with("/login?next="), "{uri}");
    }
    let (trainee_cookie, _) = browser(&app, TRAINEE).await;
    let (other_cookie, _) = browser(&app, OTHER_TRAINER).await;
    let (admin_cookie, _) = browser(&app, ADMIN).await;
    for uri in &page_urls[1..] {
        let (status, _, _) = send(&app, get_with_cookies(uri, &trainee_cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "trainee {uri}");
        let (status, _, _) = send(&app, get_with_cookies(uri, &other_cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "other trainer {uri}");
        let (status, _, _) = send(&app, get_with_cookies(uri, &admin_cookie)).await;
        assert_eq!(status, StatusCode::OK, "admin {uri}");
    }
    let (status, _, _) = send(&app, get_with_cookies("/trainer", &trainee_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Administrators read, never write; trainees never write either.
#[tokio::test]
async fn administrators_and_trainees_cannot_write_a_sheet_from_the_pages() {
    let Doors { db, app, s, open, lea, .. } = doors().await;
    let mut conn = db.conn();
    let (trainee_cookie, trainee_csrf) = browser(&app, TRAINEE).await;
    let (admin_cookie, admin_csrf) = browser(&app, ADMIN).await;
    let before = entry_count(&mut conn);
    let lea_field = format!("status-{lea}");
    for (cookie, csrf) in [(&admin_cookie, &admin_csrf), (&trainee_cookie, &trainee_csrf)] {
        let fields = [("csrf", csrf.as_str()), (lea_field.as_str(), "present")];
        let (status, _, _) =
            send(&app, form_request(&format!("/trainer/sessions/{s}/half-days/{open}/statuses"), &fields, cookie))
                .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = send(
            &app,
            form_request(&format!("/trainer/sessions/{s}/half-days/{open}/cosign"), &[("csrf", csrf.as_str())], cookie),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (_, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{s}/half-days/{open}"), &admin_cookie)).await;
    assert!(!page.contains("Enregistrer la feuille"), "read-only for administrators");
    assert_eq!(entry_count(&mut conn), before);
}

#[test]
fn when_a_drawn_signature_may_be_asked_for_is_decided_by_the_core() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let trainer = caller(&mut conn, TRAINER);
    let now = lms_core::db::now();
    let karim = user(&mut conn, FELLOW_TRAINEE).to_string();
    let ask = |conn: &mut lms_core::db::DbConn, half_day, trainee: &str| {
        recording::drawn_signature_request(conn, &trainer, &session, half_day, trainee, now)
    };

    let open = open_half_day(&mut conn, &session);
    let request = ask(&mut conn, &open, &karim).unwrap();
    assert_eq!((request.name.as_str(), request.already_signed), ("Karim Benali", false));
    assert!(matches!(ask(&mut conn, &open, OUTSIDER), Err(AttendanceError::NotATrainee)));
    let future = future_half_day(&mut conn, &session);
    assert!(matches!(ask(&mut conn, &future, &karim), Err(AttendanceError::NotStarted)));
    let closed = past_half_days(&mut conn, &session)[0].clone();
    assert!(matches!(ask(&mut conn, &closed, &karim), Err(AttendanceError::ClosedHalfDay)));
    let admin = caller(&mut conn, ADMIN);
    assert!(matches!(
        recording::drawn_signature_request(&mut conn, &admin, &session, &open, &karim, now),
        Err(AttendanceError::Forbidden(_))
    ));
}

#[tokio::test]
async fn trainer_writes_accept_the_session_reference_and_refuse_others_before_reading_the_body() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let half_day = open_half_day(&mut conn, &session);
    let app = test_app(&db).await;
    let trainer_token = token(&mut conn, TRAINER);
    let other_token = token(&mut conn, OTHER_TRAINER);

    let body = json!({"entries": [{"trainee": TRAINEE, "status": "present"}]}).to_string();
    let url = format!("/api/v1/sessions/{DEMO}/half-days/{half_day}/sheet");
    let (status, _, text) = send(&app, json_request("PUT", &url, &body, Some(&trainer_token))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(json_body(&text)["recorded"], 1);

    // Someone who does not teach it is refused whatever they send, even a body that does not parse.
    let (status, _, text) = send(&app, json_request("PUT", &url, "{not json", Some(&other_token))).await;
    assert_error(status, &text, StatusCode::FORBIDDEN, "forbidden");
    let unknown = format!("/api/v1/sessions/PTL-NOPE-0/half-days/{half_day}/sheet");
    let (status, _, text) = send(&app, json_request("PUT", &unknown, &body, Some(&trainer_token))).await;
    assert_error(status, &text, StatusCode::NOT_FOUND, "unknown_session");
}

/// The trainer's list: sessions held today first, then the upcoming ones by their next
/// half-day, then the past ones, the latest first; in the core and on the page.
#[tokio::test]
async fn sessions_are_listed_today_first_then_upcoming_then_past() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let demo = session(&mut conn, DEMO);
    open_half_day_started(&mut conn, &demo, chrono::Duration::minutes(1));
    let now = lms_core::db::now();
    let admin = caller(&mut conn, ADMIN);
    let listed = sheets::sessions_for(&mut conn, &admin, now).unwrap();
    assert!(listed.len() >= 3, "the demo has sessions of every kind");
    let timings: Vec<sheets::SessionTiming> = listed.iter().map(|s| s.timing).collect();
    assert!(timings.windows(2).all(|w| w[0] <= w[1]), "{timings:?}");
    assert_eq!(listed[0].session.reference, DEMO, "held today, so first");
    assert_eq!(listed[0].timing, sheets::SessionTiming::Today);
    let upcoming: Vec<_> = listed
        .iter()
        .filter(|s| s.timing == sheets::SessionTiming::Upcoming)
        .map(|s| s.next_half_day_at.unwrap())
        .collect();
    assert!(!upcoming.is_empty() && upcoming.windows(2).all(|w| w[0] <= w[1]), "{upcoming:?}");
    let past: Vec<_> =
        listed.iter().filter(|s| s.timing == sheets::SessionTiming::Past).map(|s| s.session.end).collect();
    assert!(past.windows(2).all(|w| w[0] >= w[1]), "{past:?}");
    assert!(listed.iter().filter(|s| s.timing == sheets::SessionTiming::Past).all(|s| s.next_half_day_at.is_none()));

    // The page shows the same order, under one heading per group.
    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, ADMIN).await;
    let (status, _, page) = send(&app, get_with_cookies("/trainer", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let today = page.find("Aujourd&#x27;hui</h2>").or_else(|| page.find("Aujourd'hui</h2>")).expect("today's heading");
    let later = page.find("À venir</h2>").expect("upcoming heading");
    assert!(today < later, "today's sessions come first");
    let positions: Vec<usize> = listed
        .iter()
        .map(|s| page.find(&format!("href=\"/trainer/sessions/{}\"", s.session.id)).expect("each session listed"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "the page keeps the core's order");
    assert!(positions[0] > today && positions[0] < later);
    if let Some(past_heading) = page.find("Passées</h2>") {
        assert!(later < past_heading);
    }
    assert!(!page.contains(" 1 demi-journées") && !page.contains(" 1 stagiaires"), "French plurals");
}

/// The absence alert and the half-day table beneath it tell one count, in French plurals.
#[tokio::test]
async fn the_absence_alert_agrees_with_the_half_day_table() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let demo = session(&mut conn, DEMO);
    let now = lms_core::db::now();
    let attendance = sheets::session_attendance(&mut conn, Actor::Console, &demo, 2, now).unwrap();
    let absences = attendance.absences_recorded();
    assert_eq!(absences, attendance.half_days.iter().map(|h| h.absent).sum::<i64>());
    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, TRAINER).await;
    let page_for = |threshold: u32| get_with_cookies(&format!("/trainer/sessions/{demo}?seuil={threshold}"), &cookie);
    let (status, _, page) = send(&app, page_for(2)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(absences > 0, "the demo records absences");
    let counted =
        if absences == 1 { "1 absence enregistrée".to_owned() } else { format!("{absences} absences enregistrées") };
    assert!(page.contains(&counted), "the alert tells the table's count: {counted}\n{page}");
    assert!(!page.contains("Aucun·e stagiaire absent·e"), "never « nobody absent » beside absences");
    assert!(!page.contains("Aucune absence enregistrée"));
    for singular in [" 1 absents", " 1 présents", " 1 signatures", " 1 renseignés", " 0 absents"] {
        assert!(!page.contains(singular), "French plural: «{singular}»");
    }
    if attendance.half_days.iter().any(|h| h.absent == 1) {
        assert!(page.contains(" 1 absent ·"), "one absent, singular");
    }
    // With a threshold of one, every trainee absent on their latest recorded half-day is alerted,
    // with the same total beside the list.
    let (_, _, page) = send(&app, page_for(1)).await;
    let alerts = sheets::session_attendance(&mut conn, Actor::Console, &demo, 1, now).unwrap().alerts;
    if !alerts.is_empty() {
        assert!(page.contains(&counted) && page.contains("class=\"alert\""), "{page}");
    }
}

/// The office can show a half-day's check-in code (the trainer's device may fail); a trainer of
/// another session and trainees cannot.
#[tokio::test]
async fn an_administrator_can_display_the_checkin_code() {
    let Doors { db, app, s, open, .. } = doors().await;
    let mut conn = db.conn();
    let code_page = format!("/trainer/sessions/{s}/half-days/{open}/checkin");
    let (admin_cookie, _) = browser(&app, ADMIN).await;
    let (status, _, sheet) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{s}/half-days/{open}"), &admin_cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sheet.contains(&format!("href=\"{code_page}\"")), "the sheet offers the code to the office");
    assert!(!sheet.contains("Enregistrer la feuille"), "still read-only otherwise");
    let (status, _, page) = send(&app, get_with_cookies(&code_page, &admin_cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<svg") && page.contains("checkin?code="), "{page}");
    let issued_by_admin: i64 = {
        use diesel::prelude::*;
        use lms_core::db::schema::checkin_codes;
        let admin = user(&mut conn, ADMIN);
        checkin_codes::table.filter(checkin_codes::issued_by.eq(admin)).count().get_result(&mut conn).unwrap()
    };
    assert_eq!(issued_by_admin, 1, "the code is recorded as issued by the administrator");
    for who in [OTHER_TRAINER, TRAINEE] {
        let (cookie, _) = browser(&app, who).await;
        let (status, _, _) = send(&app, get_with_cookies(&code_page, &cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
}

/// An empty pad gets a French explanation on the pad's page, and nothing is written; without
/// JavaScript the page says the pad needs it and offers the check-in code.
#[tokio::test]
async fn an_empty_signature_pad_is_explained_and_the_page_offers_the_code_without_javascript() {
    let Doors { db, app, s, open, lea, .. } = doors().await;
    let mut conn = db.conn();
    let (cookie, csrf) = browser(&app, TRAINER).await;
    let pad = format!("/trainer/sessions/{s}/half-days/{open}/signature/{lea}");
    let (status, _, page) = send(&app, get_with_cookies(&pad, &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let noscript = &page[page.find("<noscript>").unwrap()..page.find("</noscript>").unwrap()];
    assert!(noscript.contains("demande JavaScript"), "{noscript}");
    assert!(noscript.contains(&format!("href=\"/trainer/sessions/{s}/half-days/{open}/checkin\"")), "{noscript}");
    assert!(page.contains(r#"class="signature-form js-only""#), "the pad and its button need the script");

    let before = entry_count(&mut conn);
    for drawn in ["", r#"{"width":600,"height":220,"strokes":[]}"#] {
        let (status, _, page) = send(&app, form_request(&pad, &[("csrf", &csrf), ("signature", drawn)], &cookie)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains("Le cadre de signature est vide"), "{page}");
        assert!(page.contains("role=\"alert\""), "shown where the pad is");
        assert!(page.contains("data-signature-pad"), "the pad again");
        assert!(!page.contains("format attendu") && !page.contains("strokes}"), "{page}");
    }
    let (status, _, page) =
        send(&app, form_request(&pad, &[("csrf", &csrf), ("signature", "{not json")], &cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Signature non enregistrée") && page.contains("rechargez la page"), "{page}");
    assert_eq!(entry_count(&mut conn), before, "nothing written");
}
