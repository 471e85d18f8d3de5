//! Benchmark: issue N certificates (signed credential + PDF each) through the real use case, then
//! export an Accrochage file of N holders. Rerun with
//! `cargo bench -p lms-core --bench certification` (N = `BENCH_CERTIFICATES`, default 10 000;
//! database = `BENCH_DATABASE_URL`, default a SQLite file in a temporary folder).
//!
//! Setup (not timed) creates N eligible candidates in sessions of 500 with bulk SQL; the timed
//! parts call `issue_certificate` once per candidate (one transaction each, as the CLI does) and
//! `export_accrochage` once. Peak memory is the process's VmHWM (Linux).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark harness: a failure aborts the run")]

use std::time::Instant;

use chrono::Duration;
use diesel::connection::SimpleConnection;
use lms_core::catalogue::{self, NewTrainingSession, PlannedDay};
use lms_core::certification::issuing::{self, IssueOptions};
use lms_core::certification::keys::Signer;
use lms_core::db::{self, DatabaseUrl};

const PER_SESSION: usize = 500;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn main() {
    let n: usize = std::env::var("BENCH_CERTIFICATES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(raw) => DatabaseUrl::parse(&raw).unwrap(),
        Err(_) => DatabaseUrl::Sqlite(dir.path().join("bench.db")),
    };
    let mut conn = db::connect(&url).unwrap();
    db::run_migrations(&mut conn).unwrap();
    let setup = Instant::now();
    lms_core::fixtures::load_reference(&mut conn).unwrap();
    conn.batch_execute(
        "INSERT INTO users (id, email, display_name, password_hash, is_active, created_at, updated_at) \
         VALUES ('00000000-0000-7000-8000-000000000001', 'bench-trainer@example.org', 'Formatrice', NULL, TRUE, '2026-01-01 00:00:00', '2026-01-01 00:00:00'); \
         INSERT INTO user_roles (user_id, role, granted_at) VALUES ('00000000-0000-7000-8000-000000000001', 'trainer', '2026-01-01 00:00:00'); \
         INSERT INTO user_roles (user_id, role, granted_at) VALUES ('00000000-0000-7000-8000-000000000001', 'admin', '2026-01-01 00:00:00');",
    )
    .unwrap();
    let today = catalogue::paris_today();

    let competences: Vec<String> = {
        use diesel::prelude::*;
        use lms_core::db::schema::competences;
        competences::table.select(competences::id).load(&mut conn).unwrap()
    };
    let sessions = n.div_ceil(PER_SESSION);
    // One working day per session: the same trainer cannot teach two sessions at once.
    let dates = catalogue::consecutive_weekdays(today + Duration::days(30), u32::try_from(sessions).unwrap()).unwrap();
    let mut candidates: Vec<(lms_core::db::ids::TrainingSessionId, String)> = Vec::with_capacity(n);
    for (s, date) in dates.iter().enumerate() {
        let session = catalogue::create_training_session(
            &mut conn,
            &NewTrainingSession {
                course_code: "PTL".into(),
                days: vec![PlannedDay { date: *date, venue_slug: "fabrique-pola-begles".into() }],
                capacity: 500,
                trainer_emails: vec!["bench-trainer@example.org".into()],
                publish: true,
                reference: Some(format!("BENCH-{s}")),
            },
        )
        .unwrap();
        let half_days: Vec<(String, i32)> = {
            use diesel::prelude::*;
            use lms_core::db::schema::half_days;
            half_days::table
                .filter(half_days::training_session_id.eq(&session.id))
                .select((half_days::id, half_days::minutes))
                .load(&mut conn)
                .unwrap()
        };
        let certification: String = {
            use diesel::prelude::*;
            use lms_core::db::schema::certifications;
            certifications::table.select(certifications::id).first(&mut conn).unwrap()
        };
        let count = PER_SESSION.min(n - s * PER_SESSION);
        let mut sql = String::from("BEGIN;");
        let mut seq = 0;
        for i in 0..count {
            let k = s * PER_SESSION + i;
            let user = uuid::Uuid::now_v7().to_string();
            let email = format!("titulaire{k:05}@example.org");
            sql += &format!(
                "INSERT INTO users (id, email, display_name, password_hash, is_active, birth_name, first_names, birth_date, birth_commune_insee, sex, created_at, updated_at) \
                 VALUES ({}, {}, {}, NULL, TRUE, {}, 'Camille', '1990-01-01', '33063', 'F', '2026-01-01 00:00:00', '2026-01-01 00:00:00');",
                quote(&user),
                quote(&email),
                quote(&format!("Camille Titulaire {k}")),
                quote(&format!("Titulaire{k}"))
            );
            sql += &format!(
                "INSERT INTO enrolments (id, training_session_id, trainee_id, status, created_at, updated_at) \
                 VALUES ({}, {}, {}, 'completed', '2026-01-01 00:00:00', '2026-01-01 00:00:00');",
                quote(&uuid::Uuid::now_v7().to_string()),
                quote(session.id.as_str()),
                quote(&user)
            );
            for (half_day, _) in &half_days {
                seq += 1;
                sql += &format!(
                    "INSERT INTO attendance_entries (id, training_session_id, seq, half_day_id, subject_id, kind, status, late_minutes, left_early_minutes, method, recorded_by, recorded_at, prev_hash, entry_hash) \
                     VALUES ({}, {}, {seq}, {}, {}, 'trainee_status', 'present', 0, 0, 'paper_scan', '00000000-0000-7000-8000-000000000001', '2026-01-01 00:00:00', 'bench', {});",
                    quote(&uuid::Uuid::now_v7().to_string()),
                    quote(session.id.as_str()),
                    quote(half_day),
                    quote(&user),
                    quote(&uuid::Uuid::now_v7().to_string())
                );
            }
            for competence in &competences {
                sql += &format!(
                    "INSERT INTO assessments (id, training_session_id, trainee_id, competence_id, result, assessor_id, assessed_at) \
                     VALUES ({}, {}, {}, {}, 'acquired', '00000000-0000-7000-8000-000000000001', '2026-01-01 00:00:00');",
                    quote(&uuid::Uuid::now_v7().to_string()),
                    quote(session.id.as_str()),
                    quote(&user),
                    quote(competence)
                );
            }
            sql += &format!(
                "INSERT INTO jury_decisions (id, training_session_id, trainee_id, certification_id, decision, decided_on, members, recorded_by, recorded_at) \
                 VALUES ({}, {}, {}, {}, 'admitted', {}, '[\"Jury, présidente\"]', '00000000-0000-7000-8000-000000000001', '2026-01-01 00:00:00');",
                quote(&uuid::Uuid::now_v7().to_string()),
                quote(session.id.as_str()),
                quote(&user),
                quote(&certification),
                quote(&today.to_string())
            );
            candidates.push((session.id.clone(), email));
        }
        sql += "COMMIT;";
        conn.batch_execute(&sql).unwrap();
    }
    conn.batch_execute(
        "INSERT INTO settings (key, value) VALUES ('accrochage.emitter_client_id', 'BENCH001'); \
         UPDATE certifications SET cdc_certifier_id = 'BENCH001', cdc_contract_id = 'MCFCERBENCH';",
    )
    .unwrap();
    println!(
        "setup: {n} eligible candidates in {sessions} sessions ({:.1} s, {})",
        setup.elapsed().as_secs_f64(),
        url.redacted()
    );

    let signer = Signer::ephemeral();
    let pdf_dir = dir.path().join("pdf");
    let options = IssueOptions {
        public_url: "https://formation.example.org".into(),
        pdf_dir: pdf_dir.clone(),
        awarded_on: Some(today),
        today,
    };
    let issuing_started = Instant::now();
    let mut bytes = 0_u64;
    for (index, (session, email)) in candidates.iter().enumerate() {
        let issued = issuing::issue_certificate(&mut conn, &signer, session, email, &options).unwrap();
        assert!(issued.newly_issued);
        if index == 0 {
            bytes = std::fs::metadata(&issued.pdf).map(|m| m.len()).unwrap_or(0);
        }
    }
    let issuing_time = issuing_started.elapsed().as_secs_f64();
    println!(
        "issue: {n} certificates (credential + PDF of ~{} KiB each) in {issuing_time:.1} s = {:.1} per second, {:.2} ms each",
        bytes / 1024,
        n as f64 / issuing_time,
        issuing_time * 1000.0 / n as f64
    );

    let export_started = Instant::now();
    let out = dir.path().join("accrochage.xml");
    let export = lms_core::exports::accrochage::export_accrochage(&mut conn, today, today, &out, db::now()).unwrap();
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    println!(
        "export: Accrochage file of {} holders ({:.1} MiB) in {:.2} s",
        export.holders,
        size as f64 / (1024.0 * 1024.0),
        export_started.elapsed().as_secs_f64()
    );
    println!("peak memory (VmHWM): {:.0} MiB", peak_rss_mib());
}
