//! Certification: eligibility edge cases, jury, issuing (idempotent, gapless, concurrent), signed
//! credentials and PDFs, revocation, public verification, CLI contracts.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration;
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::assessment::{self, AssessmentInput, AssessmentResult};
use lms_core::attendance::{self, AttendanceStatus, SignatureMethod, TraineeStatusInput};
use lms_core::certification::eligibility;
use lms_core::certification::issuing::{self, IssueOptions};
use lms_core::certification::jury::{self, JuryDecisionInput, JuryVerdict};
use lms_core::certification::keys::{KeyStore, Signer};
use lms_core::db::ids::{HalfDayId, TrainingSessionId, UserId};
use lms_core::db::schema::{certificate_counters, certificates, half_days, jury_decisions, training_sessions, users};
use lms_tests::{CliOutput, Seed, TestDb, binary, get, send, test_app};
use serde_json::Value;

pub const DEMO_SESSION: &str = "PTL-NA-DEMO-0";
pub const ELIGIBLE: [&str; 2] = ["aurelie.fontaine@example.org", "bastien.leroy@example.org"];

pub fn demo_session(conn: &mut DbConn) -> TrainingSessionId {
    training_sessions::table
        .filter(training_sessions::reference.eq(DEMO_SESSION))
        .select(training_sessions::id)
        .first(conn)
        .expect("demo certifying session")
}

fn user(conn: &mut DbConn, email: &str) -> UserId {
    lms_core::people::user_id_by_email(conn, email).unwrap().expect(email)
}

fn trainer(conn: &mut DbConn) -> UserId {
    user(conn, "formatrice.charente@demo.tierslieux.example.org")
}

/// Runs `lms` with a keys folder and a public URL of its own.
pub fn lms_env(db: &TestDb, keys: &Path, args: &[&str]) -> CliOutput {
    let output = Command::new(binary("lms"))
        .args(args)
        .env("DATABASE_URL", &db.url_string)
        .env("LMS_KEYS_DIR", keys)
        .env("LMS_PUBLIC_URL", "https://formation.example.org")
        .env("LMS_LOG", "error")
        .current_dir(keys.parent().unwrap())
        .output()
        .expect("run lms");
    CliOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub fn json_ok(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stdout: {} stderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput) -> String {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert_eq!(output.stderr.trim_end().lines().count(), 1, "one line: {}", output.stderr);
    output.stderr.clone()
}

pub fn options(dir: &Path) -> IssueOptions {
    let today = lms_core::catalogue::paris_today();
    IssueOptions {
        public_url: "https://formation.example.org".into(),
        pdf_dir: dir.to_path_buf(),
        awarded_on: Some(today),
        today,
    }
}

fn count_certificates(conn: &mut DbConn) -> i64 {
    certificates::table.count().get_result(conn).unwrap()
}

fn reason_codes(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<(String, Vec<&'static str>)> {
    eligibility::check_session(conn, session, None)
        .unwrap()
        .candidates
        .into_iter()
        .map(|c| (c.trainee, c.reason_codes))
        .collect()
}

#[test]
fn the_demo_session_has_candidates_in_every_state() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let checked = eligibility::check_session(&mut conn, &session, None).unwrap();
    assert_eq!(checked.certification.code, "RS5142");
    let by_email = |email: &str| checked.candidates.iter().find(|c| c.trainee == email).expect(email).clone();
    for email in ELIGIBLE {
        let c = by_email(email);
        assert!(c.eligible, "{email}: {:?}", c.reasons);
        assert_eq!(c.units_validated, vec![1, 2, 3, 4]);
    }
    // The absence corrected to presence does not count; 30 minutes late do.
    let aurelie = by_email(ELIGIBLE[0]);
    assert!((aurelie.attendance_percent - 99.6).abs() < 0.05, "{}", aurelie.attendance_percent);
    assert_eq!(by_email("chloe.perrin@example.org").reason_codes, vec!["attendance"]);
    assert_eq!(by_email("damien.roche@example.org").reason_codes, vec!["unit_not_acquired", "jury_not_admitted"]);
    assert!(by_email("damien.roche@example.org").reasons[0].contains("2.4"));
    assert_eq!(by_email("elise.vidal@example.org").reason_codes, vec!["no_jury_decision"]);
    assert_eq!(by_email("farid.mansouri@example.org").reason_codes, vec!["identity"]);
    // The trainee who abandoned is not a candidate.
    assert!(checked.candidates.iter().all(|c| c.trainee != "gaelle.morin@example.org"));
}

#[test]
fn the_latest_result_and_the_latest_jury_decision_count() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let aurelie = user(&mut conn, ELIGIBLE[0]);
    let assessor = trainer(&mut conn);
    let now = lms_core::db::now();
    // A later "not acquired" on 3.2 invalidates unit 3…
    assessment::record_assessment(
        &mut conn,
        &AssessmentInput {
            session: session.clone(),
            trainee: aurelie.clone(),
            competence_code: "3.2".into(),
            result: AssessmentResult::NotAcquired,
            evidence: None,
            assessor: assessor.clone(),
        },
        now,
    )
    .unwrap();
    let codes = reason_codes(&mut conn, &session);
    assert_eq!(codes.iter().find(|(e, _)| e == ELIGIBLE[0]).unwrap().1, vec!["unit_not_acquired"]);
    // …and a still later "acquired" restores it.
    assessment::record_assessment(
        &mut conn,
        &AssessmentInput {
            session: session.clone(),
            trainee: aurelie,
            competence_code: "3.2".into(),
            result: AssessmentResult::Acquired,
            evidence: None,
            assessor,
        },
        now + Duration::seconds(1),
    )
    .unwrap();
    assert!(reason_codes(&mut conn, &session).iter().find(|(e, _)| e == ELIGIBLE[0]).unwrap().1.is_empty());
    // A later refusal replaces the admission (a re-sit decision), the earlier one is kept.
    let today = lms_core::catalogue::paris_today();
    jury::record_decision(
        &mut conn,
        &session,
        &JuryDecisionInput {
            trainee_email: ELIGIBLE[1].into(),
            verdict: JuryVerdict::Refused,
            decided_on: today,
            members: vec!["Claire Dumas, présidente".into()],
            notes: None,
        },
        None,
        today,
    )
    .unwrap();
    assert_eq!(
        reason_codes(&mut conn, &session).iter().find(|(e, _)| e == ELIGIBLE[1]).unwrap().1,
        vec!["jury_not_admitted"]
    );
    assert_eq!(
        jury::list_decisions(&mut conn, &session).unwrap().iter().filter(|d| d.trainee == ELIGIBLE[1]).count(),
        2
    );
}

#[test]
fn attendance_counts_only_the_latest_entry_and_deducts_lateness() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let chloe = user(&mut conn, "chloe.perrin@example.org");
    let recorder = trainer(&mut conn);
    let schedule: Vec<(HalfDayId, chrono::NaiveDateTime)> = half_days::table
        .filter(half_days::training_session_id.eq(&session))
        .order(half_days::starts_at.asc())
        .select((half_days::id, half_days::starts_at))
        .load(&mut conn)
        .unwrap();
    // Correct 3 of Chloé's 10 absences (co-signed half-days: a reason is required): 33/40 half-days
    // = 82.5 %, but one correction is "late 210 min" out of 210 → worth nothing: 32/40 = 80 % exactly.
    for (index, (half_day, _)) in schedule.iter().take(3).enumerate() {
        let (status, late) = if index == 2 { (AttendanceStatus::Late, 210) } else { (AttendanceStatus::Present, 0) };
        attendance::record_trainee_status(
            &mut conn,
            &session,
            &recorder,
            &TraineeStatusInput {
                half_day: half_day.clone(),
                trainee: chloe.clone(),
                status,
                late_minutes: late,
                left_early_minutes: 0,
                reason: Some("Feuille papier retrouvée".into()),
                method: SignatureMethod::PaperScan,
                signature_data: None,
                evidence_sha256: None,
            },
            lms_core::db::now(),
        )
        .unwrap();
    }
    let checked = eligibility::check_session(&mut conn, &session, Some(&chloe)).unwrap();
    let c = &checked.candidates[0];
    assert!((c.attendance_percent - 80.0).abs() < 0.01, "{}", c.attendance_percent);
    assert!(c.eligible, "exactly the minimum is enough: {:?}", c.reasons);
}

fn make_everyone_eligible(conn: &mut DbConn, session: &TrainingSessionId) {
    let today = lms_core::catalogue::paris_today();
    let recorder = trainer(conn);
    let now = lms_core::db::now();
    // Chloé: correct her absences.
    let chloe = user(conn, "chloe.perrin@example.org");
    let absent: Vec<HalfDayId> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .limit(10)
        .select(half_days::id)
        .load(conn)
        .unwrap();
    for half_day in absent {
        attendance::record_trainee_status(
            conn,
            session,
            &recorder,
            &TraineeStatusInput {
                half_day,
                trainee: chloe.clone(),
                status: AttendanceStatus::Present,
                late_minutes: 0,
                left_early_minutes: 0,
                reason: Some("Correction".into()),
                method: SignatureMethod::PaperScan,
                signature_data: None,
                evidence_sha256: None,
            },
            now,
        )
        .unwrap();
    }
    // Damien: 2.4 acquired at a re-sit, then admitted.
    let damien = user(conn, "damien.roche@example.org");
    assessment::record_assessment(
        conn,
        &AssessmentInput {
            session: session.clone(),
            trainee: damien,
            competence_code: "2.4".into(),
            result: AssessmentResult::Acquired,
            evidence: None,
            assessor: recorder,
        },
        now,
    )
    .unwrap();
    let decisions: Vec<JuryDecisionInput> = ["damien.roche@example.org", "elise.vidal@example.org"]
        .iter()
        .map(|email| JuryDecisionInput {
            trainee_email: (*email).into(),
            verdict: JuryVerdict::Admitted,
            decided_on: today,
            members: vec!["Claire Dumas, présidente".into()],
            notes: None,
        })
        .collect();
    jury::record_decisions(conn, session, &decisions, None, today).unwrap();
    // Élise was born abroad: her birth place needs the INSEE country code (99131 = Belgium).
    diesel::update(users::table.filter(users::email.eq("elise.vidal@example.org")))
        .set(users::birth_commune_insee.eq(Some("99131")))
        .execute(conn)
        .unwrap();
    lms_core::certification::identity::set_identity(
        conn,
        "farid.mansouri@example.org",
        &lms_core::certification::identity::IdentityInput {
            birth_name: "Mansouri".into(),
            usage_name: None,
            first_names: "Farid".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1983, 5, 2).unwrap(),
            birth_commune_insee: Some("64445".into()),
            birth_place_label: Some("Pau".into()),
            birth_country_code: None,
            sex: "M".into(),
        },
        today,
    )
    .unwrap();
    let checked = eligibility::check_session(conn, session, None).unwrap();
    assert!(checked.candidates.iter().all(|c| c.eligible), "{:?}", checked.candidates);
}

#[test]
fn concurrent_issuers_get_gapless_unique_numbers_and_one_certificate_per_award() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    make_everyone_eligible(&mut conn, &session);
    let emails: Vec<String> = eligibility::check_session(&mut conn, &session, None)
        .unwrap()
        .candidates
        .into_iter()
        .map(|c| c.trainee)
        .collect();
    assert_eq!(emails.len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let signer = std::sync::Arc::new(Signer::ephemeral());
    // Four administrators issue everyone at once, each in a different order.
    let handles: Vec<_> = (0..4)
        .map(|worker| {
            let url = db.url.clone();
            let session = session.clone();
            let signer = signer.clone();
            let mut order = emails.clone();
            order.rotate_left(worker);
            if worker % 2 == 1 {
                order.reverse();
            }
            let options = options(dir.path());
            std::thread::spawn(move || {
                let mut conn = lms_core::db::connect(&url).unwrap();
                order
                    .iter()
                    .map(|email| {
                        // SQLite may report "busy" under contention; an administrator retries.
                        loop {
                            match issuing::issue_certificate(&mut conn, &signer, &session, email, &options) {
                                Err(lms_core::certification::eligibility::CertifyError::Db(
                                    lms_core::DbError::Busy,
                                )) => continue,
                                other => break other.unwrap(),
                            }
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.newly_issued).count(), 6);
    let year = lms_core::catalogue::paris_today().format("%Y").to_string();
    let mut numbers: Vec<String> = certificates::table.select(certificates::number).load(&mut conn).unwrap();
    numbers.sort();
    let expected: Vec<String> = (1..=6).map(|n| format!("RS5142-{year}-{n:04}")).collect();
    assert_eq!(numbers, expected);
    // Every issuer got the same number for the same holder.
    for email in &emails {
        let mut got: Vec<&str> = results.iter().filter(|r| &r.trainee == email).map(|r| r.number.as_str()).collect();
        got.dedup();
        assert_eq!(got.len(), 1, "{email}: {got:?}");
    }
    let last: i64 = certificate_counters::table.select(certificate_counters::last_seq).first(&mut conn).unwrap();
    assert_eq!(last, 6);
}

#[test]
fn refusals_write_nothing_and_list_every_reason() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::ephemeral();
    let error =
        issuing::issue_certificate(&mut conn, &signer, &session, "damien.roche@example.org", &options(dir.path()))
            .unwrap_err()
            .to_string();
    assert!(error.contains("unité 2") && error.contains("ajourné"), "{error}");
    // Outside the validity window (valid until 2027-12-31), or before the jury.
    let mut late = options(dir.path());
    late.awarded_on = chrono::NaiveDate::from_ymd_opt(2028, 1, 3);
    late.today = late.awarded_on.unwrap();
    let error = issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &late).unwrap_err().to_string();
    assert!(error.contains("échéance"), "{error}");
    let mut early = options(dir.path());
    early.awarded_on = Some(early.today - Duration::days(200));
    let error = issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &early).unwrap_err().to_string();
    assert!(error.contains("jury"), "{error}");
    let error = issuing::issue_certificate(&mut conn, &signer, &session, "nobody@example.org", &options(dir.path()))
        .unwrap_err()
        .to_string();
    assert!(error.contains("nobody@example.org"), "{error}");
    assert_eq!(count_certificates(&mut conn), 0);
    assert_eq!(certificate_counters::table.count().get_result::<i64>(&mut conn).unwrap(), 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no PDF written");
}

pub fn setup_cli(db: &TestDb) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let init = lms_env(db, &keys, &["keys", "init", "--json"]);
    let info = json_ok(&init);
    assert!(
        !init.stdout.contains(&std::fs::read_to_string(keys.join("signing-key.ed25519")).unwrap().trim().to_string())
    );
    assert!(info["kid"].as_str().unwrap().len() > 20);
    let again = lms_env(db, &keys, &["keys", "init"]);
    assert!(refused(&again).contains("existe déjà"));
    let mut conn = db.conn();
    let session = demo_session(&mut conn).to_string();
    (dir, keys, session)
}

#[test]
fn cli_check_issue_verify_revoke_contracts() {
    let db = TestDb::new(Seed::Demo);
    let (dir, keys, session) = setup_cli(&db);
    let checked = json_ok(&lms_env(&db, &keys, &["certify", "check", "--session", &session, "--json"]));
    let checked = checked.as_array().unwrap();
    assert_eq!(checked.len(), 6);
    for item in checked {
        assert!(item["trainee"].is_string() && item["eligible"].is_boolean() && item["reasons"].is_array(), "{item}");
        assert_eq!(item["eligible"].as_bool().unwrap(), item["reasons"].as_array().unwrap().is_empty());
    }

    let issued =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--all-eligible", "--json"]));
    let issued = issued.as_array().unwrap();
    assert_eq!(issued.len(), 2);
    for item in issued {
        for key in ["trainee", "number", "code", "credential", "pdf"] {
            assert!(item[key].is_string(), "{key} in {item}");
        }
        assert!(item["code"].as_str().unwrap().len() >= 26, "128-bit code");
        assert_eq!(item["credential"].as_str().unwrap().split('.').count(), 3);
        let pdf = dir.path().join(item["pdf"].as_str().unwrap());
        assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    }
    // Issuing again returns the same certificates.
    let again =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--trainee", ELIGIBLE[0], "--json"]));
    let first = issued.iter().find(|i| i["trainee"] == ELIGIBLE[0]).unwrap();
    assert_eq!(again[0]["number"], first["number"]);
    assert_eq!(again[0]["credential"], first["credential"]);

    // Not eligible: exit 1, one line, nothing written.
    let no = lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--trainee", "chloe.perrin@example.org"]);
    assert!(refused(&no).contains("assiduité"));
    let mut conn = db.conn();
    assert_eq!(count_certificates(&mut conn), 2);

    // Verification by code, by credential file, by PDF.
    let number = first["number"].as_str().unwrap();
    let code = first["code"].as_str().unwrap();
    let verified = json_ok(&lms_env(&db, &keys, &["certify", "verify", code, "--json"]));
    assert_eq!(verified["number"], number);
    assert_eq!(verified["status"], "valid");
    assert_eq!(verified["signature_ok"], true);
    let pdf = dir.path().join(first["pdf"].as_str().unwrap());
    let by_pdf = json_ok(&lms_env(&db, &keys, &["certify", "verify", pdf.to_str().unwrap(), "--json"]));
    assert_eq!(by_pdf["signature_ok"], true);
    assert_eq!(by_pdf["number"], number);

    // A tampered PDF (one byte of the drawing) and a tampered credential fail.
    let mut bytes = std::fs::read(&pdf).unwrap();
    let position = bytes.len() - 200;
    bytes[position] ^= 0x01;
    let tampered_pdf = dir.path().join("tampered.pdf");
    std::fs::write(&tampered_pdf, &bytes).unwrap();
    let out = lms_env(&db, &keys, &["certify", "verify", tampered_pdf.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["signature_ok"], false);
    let credential = first["credential"].as_str().unwrap();
    let mut parts: Vec<String> = credential.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(engine.decode(&parts[1]).unwrap()).unwrap();
    parts[1] = engine.encode(payload.replace("FONTAINE", "MALLORY"));
    let forged = dir.path().join("forged.jwt");
    std::fs::write(&forged, parts.join(".")).unwrap();
    let out = lms_env(&db, &keys, &["certify", "verify", forged.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["signature_ok"], false);
    // A credential edited in the database is caught too.
    diesel::update(certificates::table.filter(certificates::number.eq(number)))
        .set(certificates::credential_jwt.eq(parts.join(".")))
        .execute(&mut conn)
        .unwrap();
    let out = lms_env(&db, &keys, &["certify", "verify", code, "--json"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    diesel::update(certificates::table.filter(certificates::number.eq(number)))
        .set(certificates::credential_jwt.eq(credential))
        .execute(&mut conn)
        .unwrap();

    // Revocation: kept, shown as revoked with date and reason; revoking twice is refused.
    let revoked =
        json_ok(&lms_env(&db, &keys, &["certify", "revoke", number, "--reason", "Fraude au dossier", "--json"]));
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "Fraude au dossier");
    assert!(refused(&lms_env(&db, &keys, &["certify", "revoke", number, "--reason", "encore"])).contains("déjà"));
    let out = lms_env(&db, &keys, &["certify", "verify", code, "--json"]);
    assert_eq!(out.code, 1);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["status"], "revoked");
    assert_eq!(report["signature_ok"], true);
    let listed = json_ok(&lms_env(&db, &keys, &["certify", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2, "revoked certificates stay in the register");
    let shown = json_ok(&lms_env(&db, &keys, &["certify", "show", number, "--json"]));
    assert_eq!(shown["status"], "revoked");
    assert_eq!(shown["units"].as_array().unwrap().len(), 4);
    // Usage errors exit 2.
    assert_eq!(lms_env(&db, &keys, &["certify", "issue", "--session", &session]).code, 2);
}

#[test]
fn jury_cli_records_and_refuses_bad_input_without_writing() {
    let db = TestDb::new(Seed::Demo);
    let (dir, keys, session) = setup_cli(&db);
    let mut conn = db.conn();
    let before: i64 = jury_decisions::table.count().get_result(&mut conn).unwrap();
    let today = lms_core::catalogue::paris_today().to_string();
    // Élise Vidal admitted today, by `members` (and `more` options).
    let record = |members: &[&str], more: &[&str]| {
        let mut args = vec![
            "jury",
            "record",
            "--session",
            &session,
            "--trainee",
            "elise.vidal@example.org",
            "--decision",
            "admitted",
        ];
        args.extend(["--date", &today]);
        args.extend(members.iter().flat_map(|m| ["--member", m]));
        args.extend_from_slice(more);
        lms_env(&db, &keys, &args)
    };
    let bad = record(&["Sans fonction"], &[]);
    assert!(refused(&bad).contains("Nom, fonction"));
    let csv = dir.path().join("jury.csv");
    std::fs::write(
        &csv,
        format!(
            "trainee,decision,date,members,notes\nelise.vidal@example.org,admitted,{today},\"A B, présidente\",\nnobody@example.org,admitted,{today},\"A B, présidente\",\n"
        ),
    )
    .unwrap();
    let out = lms_env(&db, &keys, &["jury", "import", "--session", &session, csv.to_str().unwrap()]);
    assert!(refused(&out).contains("nobody@example.org"));
    assert_eq!(jury_decisions::table.count().get_result::<i64>(&mut conn).unwrap(), before);
    let good = json_ok(&record(&["Claire Dumas, présidente", "Marc Olivier, professionnel"], &["--json"]));
    assert_eq!(good[0]["decision"], "admitted");
    assert_eq!(good[0]["members"].as_array().unwrap().len(), 2);
    assert_eq!(jury_decisions::table.count().get_result::<i64>(&mut conn).unwrap(), before + 1);
}

#[tokio::test]
async fn the_public_page_and_api_show_what_was_certified_and_nothing_more() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let (code, number) = {
        let mut conn = db.conn();
        let session = demo_session(&mut conn);
        let issued =
            issuing::issue_certificate(&mut conn, &Signer::ephemeral(), &session, ELIGIBLE[1], &options(dir.path()))
                .unwrap();
        (issued.code, issued.number)
    };
    let app = test_app(&db).await;
    let (status, _, body) = send(&app, get(&format!("/verify/{code}"))).await;
    assert_eq!(status, 200);
    assert!(body.contains("Certificat valide"), "{body}");
    assert!(body.contains("Bastien LEROY-MERCIER"));
    assert!(body.contains("Piloter un tiers-lieu") && body.contains("RS5142") && body.contains(&number));
    assert!(body.contains("Unité 4"));
    assert!(!body.contains("bastien.leroy@example.org") && !body.contains("1979"), "no other personal data");
    let (status, _, body) = send(&app, get(&format!("/api/v1/certificates/{code}"))).await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["number"], number.as_str());
    assert_eq!(json["status"], "valid");
    assert!(!body.contains("@"), "{body}");

    {
        let mut conn = db.conn();
        lms_core::certification::registry::revoke_certificate(
            &mut conn,
            &Signer::ephemeral(),
            &number,
            "Erreur matérielle",
        )
        .unwrap();
    }
    let (_, _, body) = send(&app, get(&format!("/verify/{code}"))).await;
    assert!(body.contains("Certificat révoqué") && body.contains("Erreur matérielle"), "{body}");
    let (_, _, body) = send(&app, get(&format!("/api/v1/certificates/{code}"))).await;
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "revoked");
    assert!(json["revoked_at"].is_string());

    // Unknown codes: a bare 404, then 429 once guessing goes on.
    let (status, _, body) = send(&app, get("/api/v1/certificates/aaaaaaaaaaaaaaaaaaaaaaaaaa")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("RS5142"));
    let (status, _, _) = send(&app, get("/verify/zzzz")).await;
    assert_eq!(status, 404);
    let mut last = 404;
    for attempt in 0..25 {
        let (status, _, _) = send(&app, get(&format!("/api/v1/certificates/guess{attempt}"))).await;
        last = status.as_u16();
    }
    assert_eq!(last, 429);
    let (status, _, _) = send(&app, get(&format!("/api/v1/certificates/{code}"))).await;
    assert_eq!(status, 429, "a blocked client cannot look up anything for a while");

    // Published outcomes.
    let (status, _, body) = send(&app, get("/resultats")).await;
    assert_eq!(status, 200);
    assert!(body.contains("Taux d'obtention") && body.contains("PTL"), "{body}");
}

#[test]
fn keys_outside_the_database_sign_what_the_public_key_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::at(dir.path().join("keys"));
    store.init().unwrap();
    let signer = store.signing_key().unwrap();
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let issued = issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &options(dir.path())).unwrap();
    let key = store.public_jwk().unwrap();
    let report = lms_core::certification::registry::verify(
        &mut conn,
        &key,
        &lms_core::certification::registry::VerifyInput::Pdf(std::fs::read(&issued.pdf).unwrap()),
    )
    .unwrap();
    assert!(report.is_valid(), "{report:?}");
    // Another organisation's key does not verify our credentials.
    let other = Signer::ephemeral();
    let report = lms_core::certification::registry::verify(
        &mut conn,
        other.jwk(),
        &lms_core::certification::registry::VerifyInput::Credential(issued.credential.clone()),
    )
    .unwrap();
    assert!(!report.signature_ok);
}

/// Minimal HTTP/1.1 GET over a socket (the server under test runs on loopback).
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

#[test]
fn the_server_publishes_the_public_key_and_verifies_what_the_cli_issued() {
    let db = TestDb::new(Seed::Demo);
    let (dir, keys, session) = setup_cli(&db);
    let issued =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--trainee", ELIGIBLE[0], "--json"]));
    let code = issued[0]["code"].as_str().unwrap().to_owned();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = Command::new(binary("lms-server"))
        .env("DATABASE_URL", &db.url_string)
        .env("LMS_BIND", format!("127.0.0.1:{port}"))
        .env("LMS_KEYS_DIR", &keys)
        .env("LMS_STARTUP_DATA", "none")
        .env("LMS_LOG", "warn")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut ready = None;
    for _ in 0..100 {
        ready = http_get(port, "/healthz");
        if ready.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let jwks = http_get(port, "/.well-known/jwks.json");
    let page = http_get(port, &format!("/verify/{code}"));
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(ready.map(|r| r.0), Some(200), "server did not start");
    let (status, body) = jwks.unwrap();
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&body).unwrap();
    let published: lms_core::certification::keys::PublicJwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    assert_eq!(published, KeyStore::at(&keys).public_jwk().unwrap());
    assert!(!body.contains(std::fs::read_to_string(keys.join("signing-key.ed25519")).unwrap().trim()));
    // Anyone can verify the credential offline with the published key.
    let payload = lms_core::certification::credential::verify::<lms_core::certification::credential::CertificatePayload>(
        issued[0]["credential"].as_str().unwrap(),
        &published,
    );
    assert!(payload.is_ok());
    let (status, body) = page.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("Aurélie Marie FONTAINE"));
}

#[test]
fn a_stored_credential_that_cannot_be_read_back_is_refused_not_shown_blank() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let issued =
        issuing::issue_certificate(&mut conn, &Signer::ephemeral(), &session, ELIGIBLE[0], &options(dir.path()))
            .unwrap();
    // Replace the payload with JSON that is not a certificate's (no date, no holder).
    use base64::Engine as _;
    let parts: Vec<&str> = issued.credential.split('.').collect();
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"description":"x"}"#);
    let damaged = format!("{}.{body}.{}", parts[0], parts[2]);
    diesel::update(certificates::table.filter(certificates::number.eq(&issued.number)))
        .set(certificates::credential_jwt.eq(&damaged))
        .execute(&mut conn)
        .unwrap();
    let error = lms_core::certification::registry::show_certificate(&mut conn, &issued.number).unwrap_err();
    assert_eq!(lms_core::Classify::code(&error), "corrupt_certificate", "{error}");
    let error = lms_core::certification::registry::public_certificate(&mut conn, &issued.code).unwrap_err();
    assert_eq!(lms_core::Classify::code(&error), "corrupt_certificate");
    let error = issuing::render_stored(&issued.number, &issued.code, &damaged).unwrap_err();
    assert_eq!(lms_core::Classify::code(&error), "corrupt_certificate");
    let listed = lms_core::certification::registry::list_certificates(&mut conn, &Default::default());
    assert!(listed.is_err(), "a damaged register is not listed as if it were fine");
}

#[test]
fn issuing_to_every_eligible_candidate_reports_each_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = Signer::ephemeral();
    let mut seen = Vec::new();
    let report = issuing::issue_certificates(
        &mut conn,
        &signer,
        &session,
        &issuing::Candidates::AllEligible,
        &options(dir.path()),
        &mut |done, total| seen.push((done, total)),
    )
    .unwrap();
    let mut holders: Vec<&str> = report.issued.iter().map(|c| c.trainee.as_str()).collect();
    holders.sort_unstable();
    assert_eq!(holders, ELIGIBLE.to_vec());
    assert!(report.refused.is_empty());
    assert_eq!(seen, vec![(1, 2), (2, 2)]);
    // One candidate who is not eligible is refused with the stable code, nothing issued.
    let one = issuing::issue_certificates(
        &mut conn,
        &signer,
        &session,
        &issuing::Candidates::One("damien.roche@example.org".into()),
        &options(dir.path()),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(one.issued.is_empty());
    assert_eq!(one.refused.len(), 1);
    assert_eq!(one.refused[0].code, "not_eligible");
    assert_eq!(count_certificates(&mut conn), 2);
}

#[test]
fn certify_commands_take_a_session_reference_and_the_keys_folder_as_an_option() {
    let db = TestDb::new(Seed::Demo);
    let (dir, keys, session) = setup_cli(&db);
    let by_id = json_ok(&lms_env(&db, &keys, &["certify", "check", "--session", &session, "--json"]));
    let by_reference = json_ok(&lms_env(&db, &keys, &["certify", "check", "--session", DEMO_SESSION, "--json"]));
    assert_eq!(by_id, by_reference);
    // The option names the same folder the variable does.
    let moved = dir.path().join("elsewhere");
    std::fs::rename(&keys, &moved).unwrap();
    let output = Command::new(binary("lms"))
        .args(["certify", "issue", "--session", DEMO_SESSION, "--trainee", ELIGIBLE[0], "--json"])
        .arg("--keys-dir")
        .arg(&moved)
        .args(["--public-url", "https://autre.example.org/"])
        .env("DATABASE_URL", &db.url_string)
        .env_remove("LMS_KEYS_DIR")
        .env_remove("LMS_PUBLIC_URL")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let output = CliOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let issued = json_ok(&output);
    let listed = json_ok(&lms_env(&db, &moved, &["certify", "list", "--session", DEMO_SESSION, "--json"]));
    assert_eq!(listed[0]["number"], issued[0]["number"]);
    let payload =
        lms_core::certification::credential::unverified_payload::<Value>(issued[0]["credential"].as_str().unwrap());
    assert!(payload.unwrap()["description"].as_str().unwrap().contains("https://autre.example.org/verify/"));
}

#[test]
fn without_a_date_the_certificate_is_awarded_on_the_day_of_the_jury_decision() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::ephemeral();
    let mut undated = options(dir.path());
    undated.awarded_on = None;
    let issued = issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &undated).unwrap();
    let holder = user(&mut conn, ELIGIBLE[0]);
    let decided_on: chrono::NaiveDate = jury_decisions::table
        .filter(jury_decisions::training_session_id.eq(&session))
        .filter(jury_decisions::trainee_id.eq(&holder))
        .order(jury_decisions::recorded_at.desc())
        .select(jury_decisions::decided_on)
        .first(&mut conn)
        .unwrap();
    let awarded_on: chrono::NaiveDate = certificates::table
        .filter(certificates::number.eq(&issued.number))
        .select(certificates::awarded_on)
        .first(&mut conn)
        .unwrap();
    assert_eq!(awarded_on, decided_on, "dated by the jury's decision");
    assert!(decided_on < lms_core::catalogue::paris_today(), "the demo jury sat in the past");
}
