//! Documents drawn from attendance: the feuille d'émargement (CLI and trainer page) that a
//! printed copy can be checked against, the blank paper sheet and its scan, hours actually
//! attended, the certificat de réalisation and the attestation de fin de formation.

use axum::http::StatusCode;
use chrono::Duration;
use diesel::prelude::*;
use lms_core::attendance::sheets;
use lms_core::attendance::{Actor, SignatureMethod};
use lms_core::db::schema::{attendance_entries, half_days};
use lms_tests::*;
use serde_json::{Value, json};

use crate::attendance_support::*;

fn cli_json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stderr: {}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput, fragment: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert_eq!(output.stderr.trim_end().lines().count(), 1, "one line: {}", output.stderr);
    assert!(output.stderr.contains(fragment), "{}", output.stderr);
}

#[tokio::test]
async fn the_attendance_sheet_comes_from_the_cli_and_the_trainer_page_and_a_print_can_be_checked() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emargement.pdf");

    let written = cli_json(&lms(
        &db,
        &["attendance", "sheet", "--session", DEMO, "--out", out.to_str().unwrap(), "--json"],
        None,
    ));
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(written["sha256"], lms_core::attendance::sha256_hex(&bytes));
    let head = lms_core::attendance::ledger_position(&mut conn, &session).unwrap();
    assert_eq!(written["ledger"]["seq"], head.seq);
    assert_eq!(written["ledger"]["hash"], head.hash);
    assert_eq!(written["half_days"].as_u64().unwrap() as usize, past_half_days(&mut conn, &session).len());
    // Same data, same document (no clock inside the PDF beyond the printing date).
    let again = cli_json(&lms(
        &db,
        &["attendance", "sheet", "--session", &session.to_string(), "--out", out.to_str().unwrap(), "--json"],
        None,
    ));
    assert_eq!(again["sha256"], written["sha256"]);

    // A printed copy: the chain position printed on it matches the data…
    let seq = head.seq.to_string();
    let checked =
        lms(&db, &["attendance", "check-print", "--session", DEMO, "--seq", &seq, "--hash", &head.hash], None);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    refused(
        &lms(&db, &["attendance", "check-print", "--session", DEMO, "--seq", &seq, "--hash", &"0".repeat(64)], None),
        "ne correspond pas",
    );
    // …until someone edits a row behind the application's back.
    diesel::sql_query("UPDATE attendance_entries SET late_minutes = 5 WHERE status = 'late'")
        .execute(&mut conn)
        .unwrap();
    refused(
        &lms(&db, &["attendance", "check-print", "--session", DEMO, "--seq", &seq, "--hash", &head.hash], None),
        "altéré",
    );

    refused(
        &lms(&db, &["attendance", "sheet", "--session", "PTL-NA-DEMO-2", "--out", out.to_str().unwrap()], None),
        "aucune demi-journée",
    );
    refused(
        &lms(&db, &["attendance", "sheet", "--session", "NO-SUCH", "--out", out.to_str().unwrap()], None),
        "session inconnue",
    );
    let usage = lms(&db, &["attendance", "sheet", "--session", DEMO], None);
    assert_eq!(usage.code, 2, "missing --out is a usage error");

    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, CO_TRAINER).await;
    let (status, headers, body) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/sheet.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"].to_str().unwrap().contains("emargement-PTL-NA-DEMO-1.pdf"));
    assert!(body.starts_with("%PDF-"));
    let (trainee_cookie, _) = browser(&app, TRAINEE).await;
    let (status, _, _) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/sheet.pdf"), &trainee_cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_paper_fallback_blank_sheet_then_statuses_with_the_scan_hash() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let future = future_half_day(&mut conn, &session);
    let app = test_app(&db).await;
    let (cookie, csrf) = browser(&app, TRAINER).await;

    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{future}"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("feuille vierge") && !page.contains("Enregistrer la feuille"), "{page}");
    let (status, headers, body) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{future}/blank.pdf"), &cookie))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"].to_str().unwrap().contains("emargement-vierge-PTL-NA-DEMO-1"));
    assert!(body.starts_with("%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vierge.pdf");
    let written = lms(
        &db,
        &[
            "attendance",
            "sheet",
            "--session",
            DEMO,
            "--half-day",
            &future.to_string(),
            "--blank",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(written.code, 0, "{}", written.stderr);
    let usage = lms(&db, &["attendance", "sheet", "--session", DEMO, "--blank", "--out", out.to_str().unwrap()], None);
    assert_eq!(usage.code, 2, "--blank needs --half-day");

    // The half-day took place offline; afterwards the trainer types the statuses from the scan.
    diesel::update(half_days::table.find(&future))
        .set((
            half_days::starts_at.eq(lms_core::db::now() - Duration::hours(5)),
            half_days::ends_at.eq(lms_core::db::now() - Duration::hours(1)),
        ))
        .execute(&mut conn)
        .unwrap();
    let scan = lms_core::attendance::sha256_hex(b"scan of the signed paper sheet");
    let mut fields: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("method".into(), "paper_scan".into()),
        ("evidence_sha256".into(), scan.to_uppercase()),
    ];
    for email in DEMO_TRAINEES {
        fields.push((format!("status-{}", user(&mut conn, email)), "present".into()));
    }
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _, _) = send(
        &app,
        form_request(&format!("/trainer/sessions/{session}/half-days/{future}/statuses"), &borrowed, &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored: Vec<(String, Option<String>)> = attendance_entries::table
        .filter(attendance_entries::half_day_id.eq(&future))
        .select((attendance_entries::method, attendance_entries::evidence_sha256))
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored.len(), 6);
    assert!(stored.iter().all(|(m, e)| m == "paper_scan" && e.as_deref() == Some(scan.as_str())));
    let sheet = sheets::half_day_sheet(&mut conn, Actor::Console, &session, &future, lms_core::db::now()).unwrap();
    assert!(sheet.rows.iter().all(|r| r.signature.as_ref().is_some_and(|s| s.method == SignatureMethod::PaperScan)));
    // Once co-signed, no blank sheet any more.
    let token = token(&mut conn, TRAINER);
    let (status, _, _) = send(
        &app,
        json_request("POST", &format!("/api/v1/sessions/{session}/half-days/{future}/cosign"), "", Some(&token)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{session}/half-days/{future}/blank.pdf"), &cookie))
            .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A wrong hash on the page is refused and keeps what was typed.
    let open = open_half_day(&mut conn, &session);
    let lea_field = format!("status-{}", user(&mut conn, TRAINEE));
    let (status, _, page) = send(
        &app,
        form_request(
            &format!("/trainer/sessions/{session}/half-days/{open}/statuses"),
            &[
                ("csrf", &csrf),
                ("method", "paper_scan"),
                ("evidence_sha256", "pas-une-empreinte"),
                (&lea_field, "present"),
            ],
            &cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("pas-une-empreinte") && page.contains("SHA-256"));
}

#[tokio::test]
async fn hours_attended_come_from_the_latest_entries_with_lateness_deducted() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let schedule = schedule(&mut conn, &session);
    let now = lms_core::db::now();
    let past: Vec<_> = schedule.iter().filter(|h| h.ends_at < now).collect();
    let elapsed: i64 = past.iter().map(|h| i64::from(h.minutes)).sum();
    let ids: Vec<_> = DEMO_TRAINEES.iter().map(|e| user(&mut conn, e)).collect();
    let minutes = lms_core::attendance::attended_minutes(&mut conn, &session, &ids).unwrap();
    // Demo: Karim 20 minutes late on the 2nd half-day, Sophie absent on the 3rd, Thomas excused on the 4th.
    assert_eq!(minutes[&ids[0]], elapsed);
    assert_eq!(minutes[&ids[1]], elapsed - 20);
    assert_eq!(minutes[&ids[2]], elapsed - i64::from(past[2].minutes));
    assert_eq!(minutes[&ids[3]], elapsed - i64::from(past[3].minutes));

    // A correction supersedes: only the latest entry counts.
    let token = token(&mut conn, TRAINER);
    let app = test_app(&db).await;
    let body = json!({"entries": [{"trainee": FELLOW_TRAINEE, "status": "left_early", "minutes": 50}], "correction_reason": "Erreur de saisie"});
    let (status, _, answer) = send(
        &app,
        json_request(
            "PUT",
            &format!("/api/v1/sessions/{session}/half-days/{}/sheet", past[1].id),
            &body.to_string(),
            Some(&token),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let minutes = lms_core::attendance::attended_minutes(&mut conn, &session, &ids).unwrap();
    assert_eq!(minutes[&ids[1]], elapsed - 50);

    // The trainee sees the same figure.
    let karim_token = crate::attendance_support::token(&mut conn, FELLOW_TRAINEE);
    let (status, _, body) = send(&app, json_request("GET", "/api/v1/me/attendance", "", Some(&karim_token))).await;
    assert_eq!(status, StatusCode::OK);
    let mine = json_body(&body);
    let demo = mine.as_array().unwrap().iter().find(|a| a["session"]["reference"] == DEMO).unwrap();
    assert_eq!(demo["attended_minutes"], elapsed - 50);
    assert_eq!(demo["elapsed_minutes"], elapsed);
    assert_eq!(demo["completion_available"], true);
    assert_eq!(demo["attestation_available"], false);
    for key in [
        "session",
        "scheduled_minutes",
        "elapsed_minutes",
        "attended_minutes",
        "half_days",
        "completion_available",
        "attestation_available",
    ] {
        assert!(demo.get(key).is_some(), "missing {key}");
    }
    assert_eq!(demo["half_days"][1]["status"], "left_early");
    assert_eq!(demo["half_days"][1]["attended_minutes"], i64::from(past[1].minutes) - 50);
}

#[tokio::test]
async fn trainees_download_their_documents_on_me_and_the_admin_from_the_cli() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, TRAINEE).await;

    let (status, _, page) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Mon suivi de formation") && page.contains("Certificat de réalisation"), "{page}");
    assert!(page.contains("Mes résultats"), "the demo assessed Léa");
    assert!(page.contains("sera disponible après la dernière demi-journée"));
    let (status, headers, body) =
        send(&app, get_with_cookies(&format!("/me/documents/{session}/completion.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(body.starts_with("%PDF-"));
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/me/documents/{session}/attestation.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    // Someone not in the session gets nothing.
    let (outsider, _) = browser(&app, OUTSIDER).await;
    let (status, _, _) =
        send(&app, get_with_cookies(&format!("/me/documents/{session}/completion.pdf"), &outsider)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, _) = send(&app, get(&format!("/me/documents/{session}/completion.pdf"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().starts_with("/login"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certificat.pdf");
    let out = out.to_str().unwrap();
    let done = cli_json(&lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out, "--json"],
        None,
    ));
    assert!(std::fs::read(out).unwrap().starts_with(b"%PDF-"));
    assert_eq!(done["file"], out);
    refused(
        &lms(&db, &["documents", "completion", "--session", DEMO, "--trainee", OUTSIDER, "--out", out], None),
        "stagiaire",
    );
    refused(
        &lms(&db, &["documents", "attestation", "--session", DEMO, "--trainee", TRAINEE, "--out", out], None),
        "après la dernière demi-journée",
    );

    // The training is over: every half-day moved into the past, the last ones left without statuses.
    let now = lms_core::db::now();
    for (i, half_day) in schedule(&mut conn, &session).iter().enumerate().filter(|(_, h)| h.ends_at > now) {
        let start = now - Duration::hours(6) + Duration::seconds(i as i64);
        diesel::update(half_days::table.find(&half_day.id))
            .set((half_days::starts_at.eq(start), half_days::ends_at.eq(start + Duration::minutes(210))))
            .execute(&mut conn)
            .unwrap();
    }
    let attestation = dir.path().join("attestation.pdf");
    let made = lms(
        &db,
        &["documents", "attestation", "--session", DEMO, "--trainee", TRAINEE, "--out", attestation.to_str().unwrap()],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert!(std::fs::read(&attestation).unwrap().starts_with(b"%PDF-"));
    let (status, _, body) =
        send(&app, get_with_cookies(&format!("/me/documents/{session}/attestation.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("%PDF-"));
    let (_, _, page) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert!(page.contains("Attestation de fin de formation (PDF)"));
}

#[test]
fn the_organisation_identity_is_set_from_the_cli_and_checked() {
    let db = TestDb::new(Seed::Reference);
    let set = |key: &str, value: &str| lms(&db, &["documents", "setting", key, value], None);
    assert_eq!(set("organisation.name", "Coopérative des formations en tiers-lieux").code, 0);
    assert_eq!(set("organisation.siret", "73282932000074").code, 0);
    refused(&set("organisation.siret", "123"), "14 chiffres");
    refused(&set("organisation.nda", "75 33 1234567"), "11 chiffres");
    refused(&set("organisation.colour", "vert"), "réglage inconnu");
    let listed = cli_json(&lms(&db, &["documents", "settings", "--json"], None));
    let name = listed.as_array().unwrap().iter().find(|s| s["key"] == "organisation.name").unwrap();
    assert_eq!(name["value"], "Coopérative des formations en tiers-lieux");
    let nda = listed.as_array().unwrap().iter().find(|s| s["key"] == "organisation.nda").unwrap();
    assert!(nda["value"].is_null());
    assert_eq!(set("organisation.name", "").code, 0, "an empty value removes the setting");
    let listed = cli_json(&lms(&db, &["documents", "settings", "--json"], None));
    assert!(listed.as_array().unwrap().iter().find(|s| s["key"] == "organisation.name").unwrap()["value"].is_null());
    let mut conn = db.conn();
    let identity = lms_core::documents::organisation::OrganisationIdentity::load(&mut conn).unwrap();
    assert!(identity.display_name().contains("organisation.name"), "an unset name prints a visible placeholder");
}

#[test]
fn both_setting_doors_share_one_validation_and_a_refusal_writes_nothing() {
    let db = TestDb::new(Seed::Reference);
    for door in ["documents", "export"] {
        let set = |key: &str, value: &str| lms(&db, &[door, "setting", key, value], None);
        assert_eq!(set("organisation.siret", "73282932000074").code, 0, "{door}");
        for (key, value) in [
            ("organisation.siret", "73282932000075"),
            ("organisation.siret", "12345678900011"),
            ("organisation.nda", "7533123456"),
            ("organisation.postcode", "3300"),
            ("organisation.email", "pas-un-courriel"),
            ("accrochage.emitter_client_id", "ABC"),
        ] {
            let out = set(key, value);
            assert_eq!(out.code, 1, "{door} {key}={value}");
            assert!(out.stderr.starts_with("erreur [invalid_setting] : "), "{door} {key}={value}: {}", out.stderr);
            assert_eq!(out.stderr.trim_end().lines().count(), 1);
        }
        let out = set("organisation.colour", "vert");
        assert!(out.stderr.starts_with("erreur [unknown_setting] : "), "{}", out.stderr);
        // La Poste's establishments: digits adding up to a multiple of 5.
        assert_eq!(set("organisation.siret", "35600000049837").code, 0, "{door}");
    }
    let listed = cli_json(&lms(&db, &["documents", "settings", "--json"], None));
    let value = |key: &str| listed.as_array().unwrap().iter().find(|s| s["key"] == key).unwrap()["value"].clone();
    assert_eq!(value("organisation.siret"), "35600000049837");
    assert!(value("organisation.nda").is_null() && value("organisation.postcode").is_null());
    assert!(value("organisation.email").is_null());
}
