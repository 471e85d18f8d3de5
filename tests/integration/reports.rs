//! Reports (BPF, outcomes, coverage) and backup/restore.

use lms_tests::{Backend, Seed, TestDb, lms, skip_unless_backend};
use serde_json::Value;

use crate::certification::{DEMO_SESSION as DEMO, demo_session};

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
    assert!(ptl(&before)["title"].as_str().is_some_and(|t| !t.is_empty()), "the course's title: {before}");
    // Admitted: Aurélie, Bastien, Chloé, Farid; Damien deferred (presented all the same); Élise
    // no decision.
    assert_eq!(ptl(&before)["presented"], 5);
    assert_eq!(ptl(&before)["sat_certification"], 5, "the first name of the same figure");
    assert_eq!((ptl(&before)["admitted"].clone(), ptl(&before)["deferred"].clone()), (4.into(), 1.into()));
    assert_eq!(ptl(&before)["certified"], 0);
    assert_eq!(ptl(&before)["certification_rate"], 0.0);
    let dir = tempfile::tempdir().unwrap();
    crate::quality_evidence::certify_one(&db, dir.path());
    let after = json(&lms(&db, &["report", "outcomes", "--json"], None));
    assert_eq!(ptl(&after)["certified"], 1);
    assert_eq!(ptl(&after)["certification_rate"], 20.0, "1 certified out of 5 presented, the deferred one included");
    assert_eq!(ptl(&after)["obtention_rate"], 20.0);
    assert_eq!(after["total"]["certified"], 1);
    // Sessions under way or to come are not outcomes yet: only sessions that ended count.
    assert!(after["by_course"].as_array().unwrap().iter().all(|c| c["course"] != "ANIM"), "{after}");
    let today = lms_core::catalogue::paris_today();
    assert_eq!(after["period"]["to"], today.to_string());
    assert_eq!(after["updated_on"], today.to_string());
}

#[test]
fn outcomes_cover_the_period_asked_and_satisfaction_with_its_response_rate() {
    let db = TestDb::new(Seed::Demo);
    let end = {
        let mut conn = db.conn();
        crate::quality_evidence::seed_satisfaction(&mut conn, DEMO, &[Some(5), Some(4), Some(3), None]);
        crate::quality_evidence::session_end(&mut conn, DEMO)
    };
    let day = |d: chrono::NaiveDate| d.to_string();
    let around = json(&lms(&db, &["report", "outcomes", "--from", &day(end), "--to", &day(end), "--json"], None));
    let courses = around["by_course"].as_array().unwrap();
    assert_eq!(courses.len(), 1, "only the session ending that day: {around}");
    let ptl = &courses[0];
    assert_eq!(ptl["course"], "PTL");
    assert_eq!(ptl["presented"], 5);
    assert_eq!(ptl["satisfaction_mean"], 4.0);
    assert_eq!(ptl["satisfaction_responses"], 3);
    assert_eq!((ptl["satisfaction_invited"].clone(), ptl["satisfaction_answered"].clone()), (4.into(), 3.into()));
    assert_eq!(ptl["satisfaction_response_rate"], 75.0);
    assert_eq!(around["period"]["from"], day(end));

    // The day after: nothing ended, nothing to publish.
    let after = end.succ_opt().unwrap();
    let empty = json(&lms(&db, &["report", "outcomes", "--from", &day(after), "--to", &day(after), "--json"], None));
    assert_eq!(empty["by_course"].as_array().unwrap().len(), 0, "{empty}");
    assert_eq!(empty["total"]["presented"], 0);
    assert_eq!(empty["total"]["certification_rate"], Value::Null);
    let text = lms(&db, &["report", "outcomes", "--from", &day(after), "--to", &day(after)], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("aucune donnée enregistrée"), "{}", text.stdout);

    // The text report names the period, the titles and the response rate.
    let text = lms(&db, &["report", "outcomes", "--from", &day(end), "--to", &day(end)], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("Résultats des sessions terminées du"), "{}", text.stdout);
    assert!(text.stdout.contains("PTL — "), "{}", text.stdout);
    assert!(text.stdout.contains("4 / 5") && text.stdout.contains("75"), "{}", text.stdout);

    // Bad dates: one line, exit 1.
    for args in [
        vec!["report", "outcomes", "--from", "2026-02-30"],
        vec!["report", "outcomes", "--to", "hier"],
        vec!["report", "outcomes", "--from", "2026-06-02", "--to", "2026-06-01"],
    ] {
        let refused = lms(&db, &args, None);
        assert_eq!(refused.code, 1, "{args:?}: {}", refused.stdout);
        assert!(refused.stderr.starts_with("erreur [invalid_input]"), "{args:?}: {}", refused.stderr);
    }
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
