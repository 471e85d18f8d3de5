//! Competence assessment: the CSV import (whole file or nothing, line-numbered errors), the grid
//! read and written through the API and the trainer's pages, history, and the trainee's view.

use axum::http::StatusCode;
use lms_core::assessment::grid;
use lms_core::attendance::Actor;
use lms_tests::*;
use serde_json::json;

use crate::attendance_support::*;

fn write_csv(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn a_valid_file_is_imported_in_one_go_and_importing_it_again_adds_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let dir = tempfile::tempdir().unwrap();
    let file = write_csv(
        &dir,
        "ok.csv",
        &format!(
            "trainee,competence,result,evidence\n\
             {TRAINEE},1.3,acquired,Étude des DAS de son lieu\n\
             {FELLOW_TRAINEE},1.2,in_progress,\n\
             sophie.martin@example.org,2.1,Non acquise,\"Dossier incomplet, à reprendre\"\n"
        ),
    );
    let before = assessment_count(&mut conn);
    let imported = lms(&db, &["assess", "import", "--session", DEMO, "--assessor", TRAINER, &file, "--json"], None);
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let report = json_body(&imported.stdout);
    assert_eq!(
        (report["rows"].as_u64(), report["recorded"].as_u64(), report["unchanged"].as_u64()),
        (Some(3), Some(3), Some(0))
    );
    assert_eq!(assessment_count(&mut conn), before + 3);
    let again = lms(
        &db,
        &["assess", "import", "--session", &session.to_string(), "--assessor", TRAINER, &file, "--json"],
        None,
    );
    assert_eq!(json_body(&again.stdout)["unchanged"], 3);
    assert_eq!(assessment_count(&mut conn), before + 3);

    let grid = grid::assessment_grid(&mut conn, Actor::Console, &session).unwrap();
    let sophie = grid.trainees.iter().find(|t| t.email == "sophie.martin@example.org").unwrap();
    assert_eq!(sophie.results["2.1"].result.as_str(), "not_acquired");
    assert_eq!(sophie.results["2.1"].evidence.as_deref(), Some("Dossier incomplet, à reprendre"));
    assert_eq!(sophie.results["2.1"].assessor, "Inès Marchand");

    // Semicolons (French spreadsheets), French headers, an assessor column, standard input.
    let text = format!("\u{feff}stagiaire;compétence;résultat;évaluateur\n{TRAINEE};4.1;en cours;{CO_TRAINER}\n");
    let imported = lms(&db, &["assess", "import", "--session", DEMO, "-"], Some(&text));
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    assert!(imported.stdout.contains("1 résultat(s) enregistré(s)"), "{}", imported.stdout);
    let template = lms(&db, &["assess", "template", "--session", DEMO], None);
    assert_eq!(template.code, 0);
    assert_eq!(template.stdout.lines().count(), 1 + 6 * 19);
}

#[test]
fn an_invalid_file_is_refused_whole_with_every_bad_line_numbered() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let dir = tempfile::tempdir().unwrap();
    let before = assessment_count(&mut conn);
    let file = write_csv(
        &dir,
        "bad.csv",
        &format!(
            "trainee,competence,result,evidence,assessor\n\
             {TRAINEE},1.3,acquired,,\n\
             {OUTSIDER},1.3,acquired,,\n\
             {FELLOW_TRAINEE},9.9,acquired,,\n\
             {FELLOW_TRAINEE},1.4,peut-être,,\n\
             {TRAINEE},1.3,not_acquired,,\n\
             {FELLOW_TRAINEE},1.5,acquired,,{TRAINEE}\n\
             {FELLOW_TRAINEE},1.6,acquired,{long},\n",
            long = "x".repeat(2_001)
        ),
    );
    let out = lms(&db, &["assess", "import", "--session", DEMO, "--assessor", TRAINER, &file], None);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    for fragment in [
        "ligne 3 :",
        OUTSIDER,
        "ligne 4 :",
        "9.9",
        "ligne 5 :",
        "peut-être",
        "ligne 6 :",
        "ligne 2",
        "ligne 7 :",
        "évaluateur",
        "ligne 8 :",
        "trop longue",
    ] {
        assert!(out.stderr.contains(fragment), "{fragment}: {}", out.stderr);
    }
    assert!(!out.stderr.contains("ligne 2 :"), "line 2 is valid: {}", out.stderr);
    assert_eq!(assessment_count(&mut conn), before, "nothing written");

    for (name, text, fragment) in [
        ("header.csv", "trainee,result\nx,acquired\n".to_owned(), "ligne 1"),
        ("empty.csv", "trainee,competence,result\n".to_owned(), "aucune ligne"),
        ("ragged.csv", format!("trainee,competence,result\n{TRAINEE},1.3\n"), "ligne 2"),
        ("noassessor.csv", format!("trainee,competence,result\n{TRAINEE},1.3,acquired\n"), "évaluateur"),
    ] {
        let file = write_csv(&dir, name, &text);
        let out = lms(&db, &["assess", "import", "--session", DEMO, &file], None);
        assert_eq!(out.code, 1, "{name}");
        assert!(out.stderr.contains(fragment), "{name}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1);
    }
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"trainee,competence,result\nl\xe9a@example.org,1.3,acquired\n").unwrap();
    let out = lms(&db, &["assess", "import", "--session", DEMO, "--assessor", TRAINER, latin1.to_str().unwrap()], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("UTF-8"));
    let out = lms(&db, &["assess", "import", "--session", "NO-SUCH", "--assessor", TRAINER, &file], None);
    assert_eq!(out.code, 1);
    assert_eq!(assessment_count(&mut conn), before);
}

/// The demo data, an app on it, the demo session, Léa's id and her trainer's token.
async fn grid_of_the_demo()
-> (TestDb, axum::Router, lms_core::db::ids::TrainingSessionId, lms_core::db::ids::UserId, String) {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let lea = user(&mut conn, TRAINEE);
    let token = token(&mut conn, TRAINER);
    drop(conn);
    let app = test_app(&db).await;
    (db, app, session, lea, token)
}

#[tokio::test]
async fn the_grid_is_read_through_the_api() {
    let (_db, app, session, _, token) = grid_of_the_demo().await;
    let url = format!("/api/v1/sessions/{session}/assessments");
    let (status, _, body) = send(&app, json_request("GET", &url, "", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let grid = json_body(&body);
    for key in ["session", "right", "certification", "units", "competences", "trainees"] {
        assert!(grid.get(key).is_some(), "missing {key}");
    }
    assert_eq!(grid["certification"], "RS5142");
    assert_eq!(grid["competences"], 19);
    assert_eq!(grid["units"].as_array().unwrap().len(), 4);
    let row = grid["trainees"].as_array().unwrap().iter().find(|t| t["email"] == TRAINEE).unwrap();
    assert_eq!(row["results"]["1.1"]["result"], "acquired");
    for key in ["result", "evidence", "assessor", "assessed_at", "history"] {
        assert!(row["results"]["1.1"].get(key).is_some(), "missing {key}");
    }
}

#[tokio::test]
async fn the_grid_is_written_through_the_api_and_the_pages_with_history() {
    let (db, app, session, lea, token) = grid_of_the_demo().await;
    let mut conn = db.conn();
    let url = format!("/api/v1/sessions/{session}/assessments");
    let before = assessment_count(&mut conn);
    let body = json!({"results": [
        {"trainee": TRAINEE, "competence": "1.2", "result": "acquired", "evidence": "Cadre de référence présenté au collectif"},
        {"trainee": lea.to_string(), "competence": "1.1", "result": "acquired"},
    ]});
    let (status, _, answer) = send(&app, json_request("PUT", &url, &body.to_string(), Some(&token))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(json_body(&answer), json!({"recorded": 1, "unchanged": 1}));
    assert_eq!(assessment_count(&mut conn), before + 1);

    for (bad, code) in [
        (json!({"results": [{"trainee": TRAINEE, "competence": "7.7", "result": "acquired"}]}), "unknown_competence"),
        (json!({"results": [{"trainee": OUTSIDER, "competence": "1.3", "result": "acquired"}]}), "not_a_trainee"),
        (json!({"results": [{"trainee": TRAINEE, "competence": "1.3", "result": "bof"}]}), "invalid_assessment"),
        (
            json!({"results": [{"trainee": TRAINEE, "competence": "1.3", "result": "acquired"}, {"trainee": TRAINEE, "competence": "1.3", "result": "not_acquired"}]}),
            "invalid_assessment",
        ),
        (json!({"results": []}), "invalid_assessment"),
        (
            json!({"results": [{"trainee": TRAINEE, "competence": "1.3", "result": "acquired", "evidence": "x".repeat(2_001)}]}),
            "invalid_assessment",
        ),
        (json!({"result": []}), "invalid_json"),
    ] {
        let (status, _, answer) = send(&app, json_request("PUT", &url, &bad.to_string(), Some(&token))).await;
        assert_error(status, &answer, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    assert_eq!(assessment_count(&mut conn), before + 1, "refusals write nothing");

    // One trainee's record with history (the demo had 1.2 in progress, now acquired).
    let (status, _, body) = send(&app, json_request("GET", &format!("{url}/{TRAINEE}"), "", Some(&token))).await;
    assert_eq!(status, StatusCode::OK);
    let record = json_body(&body);
    let competence = &record["units"][0]["competences"][1];
    assert_eq!(competence["code"], "1.2");
    assert_eq!(competence["current"]["result"], "acquired");
    assert_eq!(competence["history"].as_array().unwrap().len(), 2);
    assert_eq!(competence["history"][0]["result"], "in_progress");

    // The trainer's pages: the grid form and a trainee's page with an evidence note.
    let (cookie, csrf) = browser(&app, TRAINER).await;
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/assessments"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Unité 4") && page.contains("Léa Dubois") && page.contains("Enregistrer les résultats"));
    let cell = format!("result:{lea}:1.4");
    let (status, headers, _) = send(
        &app,
        form_request(
            &format!("/trainer/sessions/{session}/assessments"),
            &[("csrf", &csrf), ("back", "grid"), (&cell, "in_progress")],
            &cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("/assessments?info=assessed"));
    let evidence = format!("evidence:{lea}:1.4");
    let lea_id = lea.to_string();
    let (status, headers, _) = send(
        &app,
        form_request(
            &format!("/trainer/sessions/{session}/assessments"),
            &[("csrf", &csrf), ("back", &lea_id), (&cell, "acquired"), (&evidence, "Plan d'action présenté")],
            &cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().contains(&format!("/assessments/{lea}")));
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/assessments/{lea}"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Plan d&#x27;action présenté") || page.contains("Plan d'action présenté"), "{page}");
    assert!(page.contains("Historique (2)"));

    // The trainee sees their own results on /me and through the API.
    let (trainee_cookie, _) = browser(&app, TRAINEE).await;
    let (_, _, page) = send(&app, get_with_cookies("/me", &trainee_cookie)).await;
    assert!(page.contains("compétence(s) acquise(s) sur 19"), "{page}");
    assert!(!page.contains("Karim Benali"));
    let lea_token = crate::attendance_support::token(&mut conn, TRAINEE);
    let (status, _, body) = send(&app, json_request("GET", "/api/v1/me/assessments", "", Some(&lea_token))).await;
    assert_eq!(status, StatusCode::OK);
    let mine = json_body(&body);
    let demo = mine.as_array().unwrap().iter().find(|r| r["session"]["reference"] == DEMO).unwrap();
    assert_eq!(demo["acquired"], 3);
    assert_eq!(demo["total"], 19);
}

#[test]
fn a_corrupt_stored_objectives_list_is_an_error_not_an_empty_list_on_the_attestation() {
    use diesel::prelude::*;
    use lms_core::Classify;
    use lms_core::assessment::{AssessmentError, attestation::attestation_pdf};
    use lms_core::db::schema::{courses, training_sessions};

    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let after_the_end =
        schedule(&mut conn, &session).iter().map(|h| h.ends_at).max().unwrap() + chrono::Duration::hours(1);
    attestation_pdf(&mut conn, Actor::Console, &session, TRAINEE, after_the_end).expect("the demo attestation renders");

    let course: lms_core::db::ids::CourseId =
        training_sessions::table.find(&session).select(training_sessions::course_id).first(&mut conn).unwrap();
    diesel::update(courses::table.find(&course)).set(courses::objectives.eq("[\"tronqué")).execute(&mut conn).unwrap();
    let refused = attestation_pdf(&mut conn, Actor::Console, &session, TRAINEE, after_the_end).unwrap_err();
    assert!(matches!(refused, AssessmentError::CorruptObjectives { .. }), "{refused}");
    assert_eq!(refused.code(), "corrupt_course_data");
}
