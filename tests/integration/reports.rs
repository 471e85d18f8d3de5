//! Reports (BPF, outcomes, coverage) and backup/restore.

use lms_tests::{Backend, Seed, TestDb, lms, skip_unless_backend};
use serde_json::Value;

use crate::certification::{ELIGIBLE, demo_session, options};

fn json(output: &lms_tests::CliOutput) -> Value {
    assert_eq!(output.code, 0, "stderr: {}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

#[test]
fn bpf_counts_hours_actually_attended() {
    let db = TestDb::new(Seed::Demo);
    let session_year = {
        let mut conn = db.conn();
        let id = demo_session(&mut conn);
        lms_core::catalogue::find_training_session(&mut conn, &id).unwrap().start.format("%Y").to_string()
    };
    let report = json(&lms(&db, &["report", "bpf", "--year", &session_year, "--json"], None));
    assert!(report["f1_trainees"]["total"]["trainees"].as_u64().unwrap() >= 6);
    let lines = |cadre: &str| report[cadre]["lines"].as_array().unwrap().clone();
    let rs = lines("f3_objectives").into_iter().find(|l| l["line"] == "F-3b").unwrap();
    assert!(rs["hours"].as_f64().unwrap() > 500.0, "{report}");
    assert!(lines("f1_trainees").iter().filter(|l| l["trainees"].as_u64().unwrap() > 0).count() >= 3);
    assert!(report["c_income"]["total_cents"].as_i64().unwrap() > 0);
    assert!(lines("f4_specialities").iter().any(|l| l["code"] == "310"), "NSF codes on three digits");
    let bad = lms(&db, &["report", "bpf", "--year", "1800"], None);
    assert_eq!(bad.code, 1);
}

#[test]
fn outcomes_follow_jury_decisions_and_certificates() {
    let db = TestDb::new(Seed::Demo);
    let before = json(&lms(&db, &["report", "outcomes", "--json"], None));
    let ptl = |r: &Value| r["by_course"].as_array().unwrap().iter().find(|c| c["course"] == "PTL").unwrap().clone();
    assert_eq!(ptl(&before)["abandoned"], 1);
    assert_eq!(ptl(&before)["completed"], 6);
    // Admitted: Aurélie, Bastien, Chloé, Farid; Damien deferred; Élise no decision.
    assert_eq!(ptl(&before)["sat_certification"], 4);
    assert_eq!(ptl(&before)["certified"], 0);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut conn = db.conn();
        let session = demo_session(&mut conn);
        let signer = lms_core::certification::keys::Signer::ephemeral();
        lms_core::certification::issuing::issue_certificate(
            &mut conn,
            &signer,
            &session,
            ELIGIBLE[0],
            &options(dir.path()),
        )
        .unwrap();
    }
    let after = json(&lms(&db, &["report", "outcomes", "--json"], None));
    assert_eq!(ptl(&after)["certified"], 1);
    assert_eq!(ptl(&after)["obtention_rate"], 25.0);
}

#[test]
fn coverage_of_nouvelle_aquitaine_within_twenty_minutes() {
    let db = TestDb::new(Seed::Demo);
    let report = json(&lms(&db, &["report", "coverage", "--region", "75", "--minutes", "20", "--json"], None));
    let percent = report["covered_percent"].as_f64().unwrap();
    assert!(percent > 0.0 && percent < 100.0, "{percent}");
    assert!(report["hosting_venues"].as_u64().unwrap() >= 10);
    let uncovered = report["uncovered"].as_array().unwrap();
    assert!(!uncovered.is_empty());
    assert!(uncovered.iter().all(|c| c["minutes"].as_f64().unwrap() >= 20.0));
    let wider = json(&lms(&db, &["report", "coverage", "--region", "75", "--minutes", "60", "--json"], None));
    assert!(wider["covered_percent"].as_f64().unwrap() > percent);
    assert_eq!(lms(&db, &["report", "coverage", "--region", "xx"], None).code, 1);
    assert_eq!(lms(&db, &["report", "coverage", "--region", "99"], None).code, 1);
}

#[test]
fn backup_and_restore_round_trip_on_sqlite() {
    let db = TestDb::sqlite(Seed::Reference);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sauvegarde.db");
    let out = json(&lms(&db, &["backup", "--out", file.to_str().unwrap(), "--json"], None));
    assert!(out["bytes"].as_u64().unwrap() > 0);
    // Refuses to overwrite an existing file.
    assert_eq!(lms(&db, &["backup", "--out", file.to_str().unwrap()], None).code, 1);
    let added = lms(
        &db,
        &["user", "add", "--email", "nouveau@example.org", "--name", "Nouveau", "--role", "admin", "--password-stdin"],
        Some("un mot de passe solide\n"),
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    json(&lms(&db, &["restore", file.to_str().unwrap(), "--json"], None));
    let users = json(&lms(&db, &["user", "list", "--json"], None));
    assert!(users.as_array().unwrap().is_empty(), "restored to before the user was added");
    // Not a backup: refused, database untouched.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "not a database").unwrap();
    assert_eq!(lms(&db, &["restore", junk.to_str().unwrap()], None).code, 1);
    assert_eq!(lms(&db, &["user", "list", "--json"], None).code, 0);
}

#[test]
fn backup_on_postgres_points_to_pg_dump() {
    if skip_unless_backend(
        Backend::Postgres,
        "backup_on_postgres_points_to_pg_dump",
        "the SQLite backup is tested above",
    ) {
        return;
    }
    let db = TestDb::new(Seed::Empty);
    let out = lms(&db, &["backup", "--out", "/tmp/never-written.db"], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("pg_dump"), "{}", out.stderr);
}
