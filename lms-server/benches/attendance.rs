//! Attendance at scale: `cargo bench -p lms-server --bench attendance`.
//!
//! 1. Builds a ledger of 1,000,000 entries (`LMS_BENCH_LEDGER_ENTRIES`) through the real use case:
//!    2,500 training sessions of 10 days (20 half-days), 20 confirmed trainees each, one
//!    20-trainee sheet per half-day recorded with `attendance::record_sheet` — and reports the
//!    in-process latency of a whole sheet.
//! 2. Runs `lms attendance verify --json` on it as a separate process and reports its time and peak
//!    memory (its VmHWM): verification reads the ledger in pages, so memory must stay flat.
//! 3. Starts the optimised `lms-server` on 127.0.0.1 and records 500 more 20-trainee sheets, one
//!    `PUT …/sheet` request each, from this process: latency per request.
//!
//! The data set is `target/bench-data/attendance.db`, rebuilt on every run, or the PostgreSQL
//! database `LMS_BENCH_ATTENDANCE_URL` (a database of its own: the bench refuses one that holds
//! other data). `LMS_BENCH_HTTP_SHEETS` sets the number of sheets sent over HTTP.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

#[path = "../../lms-core/benches/common/mod.rs"]
mod common;
mod support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Weekday};
use diesel::prelude::*;
use lms_core::access::Caller;
use lms_core::attendance::recording::{SheetInput, SheetLine, record_sheet};
use lms_core::attendance::{AttendanceStatus, SignatureMethod};
use lms_core::catalogue::{NewTrainingSession, PlannedDay, consecutive_weekdays, create_training_session};
use lms_core::db::ids::{HalfDayId, TrainingSessionId, UserId};
use lms_core::db::schema::{courses, half_days, users, venues};
use lms_core::enrolment::{EnrolmentRequest, enrol_as};
use lms_core::people::{Role, add_user_without_password, find_user_by_email};
use lms_core::{DatabaseUrl, DbConn};
use support::{Server, database_url_string, http_request, memory_kib, setting};

const TRAINEES: usize = 20;
const DAYS_PER_SESSION: u32 = 10;
const TRAINER_EMAIL: &str = "formateur.bench@bench.tierslieux.example.org";

fn database() -> DatabaseUrl {
    match std::env::var("LMS_BENCH_ATTENDANCE_URL") {
        Ok(url) if !url.trim().is_empty() => DatabaseUrl::parse(&url).expect("LMS_BENCH_ATTENDANCE_URL"),
        _ => {
            let dir = common::target_dir().join("bench-data");
            std::fs::create_dir_all(&dir).expect("target/bench-data");
            let path = dir.join("attendance.db");
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            DatabaseUrl::Sqlite(path)
        }
    }
}

/// The first weekday at least `days` days after today.
fn weekday_after(days: i64) -> NaiveDate {
    let mut date = lms_core::catalogue::paris_today() + chrono::Duration::days(days);
    while matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        date += chrono::Duration::days(1);
    }
    date
}

/// Sessions of 10 days with the 20 trainees confirmed; returns their ids.
fn make_sessions(
    conn: &mut DbConn,
    prefix: &str,
    count: usize,
    first_day: NaiveDate,
    course: &str,
    venue: &str,
    trainees: &[UserId],
) -> Vec<TrainingSessionId> {
    let days = consecutive_weekdays(first_day, DAYS_PER_SESSION).expect("schedule");
    (0..count)
        .map(|n| {
            let new = NewTrainingSession {
                course_code: course.to_owned(),
                days: days.iter().map(|date| PlannedDay { date: *date, venue_slug: venue.to_owned() }).collect(),
                capacity: TRAINEES as i32,
                trainer_emails: vec![TRAINER_EMAIL.to_owned()],
                publish: true,
                reference: Some(format!("{prefix}-{n:05}")),
            };
            let session = create_training_session(conn, &new).expect("training session").id;
            for trainee in trainees {
                let trainee = lms_core::access::caller_for(conn, trainee).expect("trainee");
                enrol_as(conn, &session, &trainee, &EnrolmentRequest::default(), lms_core::db::now()).expect("enrol");
            }
            session
        })
        .collect()
}

fn half_days_of(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<HalfDayId> {
    half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select(half_days::id)
        .load(conn)
        .expect("half-days")
}

/// A realistic sheet: mostly present, one late, one leaving early, one absent, one excused.
fn sheet_lines(trainees: &[UserId], variant: usize) -> Vec<SheetLine> {
    trainees
        .iter()
        .enumerate()
        .map(|(i, trainee)| {
            let (status, minutes, reason) = match (i + variant) % TRAINEES {
                0 => (AttendanceStatus::Late, 12, None),
                1 => (AttendanceStatus::LeftEarly, 30, None),
                2 => (AttendanceStatus::Absent, 0, None),
                3 => (AttendanceStatus::Excused, 0, Some("Rendez-vous médical".to_owned())),
                _ => (AttendanceStatus::Present, 0, None),
            };
            SheetLine { trainee: trainee.to_string(), status, minutes, reason }
        })
        .collect()
}

fn lms_binary() -> PathBuf {
    let binary = common::target_dir().join("release").join("lms");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = Command::new(cargo).args(["build", "--release", "-q", "-p", "lms-cli"]).status().expect("cargo build");
    assert!(built.success(), "cargo build --release -p lms-cli failed");
    binary
}

/// Peak memory of a child, KiB.
struct Peak {
    /// The kernel's high-water mark of the resident set (`VmHWM`): it only grows, so a late
    /// reading misses at most the last few milliseconds. It includes the pages of the SQLite file
    /// read through its memory map, which are the kernel's file cache rather than the process's.
    resident: u64,
    /// Largest private (anonymous) resident memory seen (`RssAnon`, sampled every 5 ms): the
    /// process's own heap, what would grow if verification held the ledger in memory.
    private: u64,
}

/// Runs a child to its end; returns its exit code, stdout, wall time and peak memory.
fn run_measured(mut command: Command) -> (i32, String, Duration, Peak) {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn");
    let pid = child.id();
    let mut stdout_pipe = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut stdout = String::new();
        stdout_pipe.read_to_string(&mut stdout).expect("read stdout");
        stdout
    });
    let mut peak = Peak { resident: 0, private: 0 };
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        peak.resident = peak.resident.max(memory_kib(pid, "VmHWM:"));
        peak.private = peak.private.max(memory_kib(pid, "RssAnon:"));
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    (status.code().unwrap_or(-1), reader.join().expect("stdout reader"), took, peak)
}

fn main() {
    let target_entries = setting("LMS_BENCH_LEDGER_ENTRIES", 1_000_000) as usize;
    let http_sheets = setting("LMS_BENCH_HTTP_SHEETS", 500) as usize;
    let per_session = TRAINEES * 2 * DAYS_PER_SESSION as usize;
    let ledger_sessions = target_entries.div_ceil(per_session);
    let http_sessions = http_sheets.div_ceil(2 * DAYS_PER_SESSION as usize);

    let url = database();
    let mut conn = lms_core::db::connect(&url).expect("bench database");
    println!("attendance bench — {} — {}", lms_core::db::backend_name(&conn), common::machine());
    lms_core::db::run_migrations(&mut conn).expect("migrations");
    let people: i64 = users::table.count().get_result(&mut conn).expect("count users");
    assert_eq!(people, 0, "the attendance bench needs an empty database of its own");

    // Set-up through the use cases: reference data, a trainer, 20 trainees, the sessions.
    let started = Instant::now();
    lms_core::fixtures::load_reference(&mut conn).expect("reference data");
    add_user_without_password(&mut conn, TRAINER_EMAIL, "Formateur Banc d'essai", Role::Trainer).expect("trainer");
    let trainees: Vec<UserId> = (1..=TRAINEES)
        .map(|i| {
            let email = format!("stagiaire.{i:02}@bench.tierslieux.example.org");
            add_user_without_password(&mut conn, &email, &format!("Stagiaire {i:02}"), Role::Trainee)
                .expect("trainee")
                .id
        })
        .collect();
    let course: String = courses::table.select(courses::code).order(courses::code).first(&mut conn).expect("a course");
    let venue: String = venues::table.select(venues::slug).order(venues::slug).first(&mut conn).expect("a venue");
    let ledger_first_day = weekday_after(30);
    let ledger =
        make_sessions(&mut conn, "BANC-REGISTRE", ledger_sessions, ledger_first_day, &course, &venue, &trainees);
    let http = make_sessions(&mut conn, "BANC-HTTP", http_sessions, weekday_after(7), &course, &venue, &trainees);
    println!(
        "set-up: {} + {} sessions × {} half-days × {TRAINEES} confirmed trainees in {:.1} s",
        ledger.len(),
        http.len(),
        2 * DAYS_PER_SESSION,
        started.elapsed().as_secs_f64()
    );

    // 1. The ledger, sheet by sheet, as of a day after the last half-day.
    let trainer = Caller {
        user: find_user_by_email(&mut conn, TRAINER_EMAIL).expect("trainer"),
        login_session: None,
        csrf_token: None,
    };
    // PostgreSQL re-plans its cached statements when a table's statistics change, which autovacuum
    // does as the ledger grows; where autovacuum is off (as on the reference machine), the plan of
    // "latest status of this trainee on this half-day" made while the table was empty stays, and
    // every sheet gets ten times slower. Stand in for it with an ANALYZE every 50,000 entries.
    let analyse_as_autovacuum_would = matches!(url, DatabaseUrl::Postgres(_))
        && diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("current_setting('autovacuum')"))
            .get_result::<String>(&mut conn)
            .is_ok_and(|setting| setting == "off");
    if analyse_as_autovacuum_would {
        println!("autovacuum is off: ANALYZE every 50,000 entries, as autovacuum would (not timed)");
    }
    let after = (ledger_first_day + chrono::Duration::days(20)).and_hms_opt(12, 0, 0).expect("time");
    let mut samples = Vec::with_capacity(ledger.len() * 2 * DAYS_PER_SESSION as usize);
    let mut entries = 0_usize;
    let mut analysis = Duration::ZERO;
    let started = Instant::now();
    for (n, session) in ledger.iter().enumerate() {
        for (i, half_day) in half_days_of(&mut conn, session).iter().enumerate() {
            let input = SheetInput {
                lines: sheet_lines(&trainees, n + i),
                method: SignatureMethod::TrainerEntry,
                evidence_sha256: None,
                correction_reason: None,
            };
            let t = Instant::now();
            let outcome = record_sheet(&mut conn, &trainer, session, half_day, &input, after).expect("record sheet");
            samples.push(t.elapsed());
            assert_eq!(outcome.recorded, TRAINEES, "every line is a new entry");
            entries += outcome.recorded;
        }
        if (n + 1) % 125 == 0 && analyse_as_autovacuum_would {
            let paused = Instant::now();
            lms_core::db::refresh_planner_statistics(&mut conn).expect("ANALYZE");
            analysis += paused.elapsed();
        }
        if (n + 1) % 250 == 0 {
            eprintln!("  {entries} entries…");
        }
    }
    let elapsed = started.elapsed() - analysis;
    let latencies = common::Latencies::new(samples);
    println!(
        "\nledger built: {entries} entries, {} sheets of {TRAINEES} trainees in {:.1} s ({:.0} entries/s)",
        entries / TRAINEES,
        elapsed.as_secs_f64(),
        entries as f64 / elapsed.as_secs_f64()
    );
    println!("  one 20-trainee sheet in-process (record_sheet, one transaction): {}", latencies.line());
    drop(conn);

    // 2. Verification by the command line, as a process of its own.
    let lms = lms_binary();
    let mut verify = Command::new(&lms);
    verify.args(["attendance", "verify", "--json"]).env("DATABASE_URL", database_url_string(&url));
    let (code, stdout, took, peak) = run_measured(verify);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("verify --json output");
    assert_eq!(code, 0, "lms attendance verify failed: {stdout}");
    assert_eq!(report["entries"].as_u64(), Some(entries as u64), "{stdout}");
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(0), "{stdout}");
    println!(
        "\nlms attendance verify: {} entries in {} chains in {:.2} s ({:.0} entries/s), exit {code}",
        report["entries"],
        report["sessions"],
        took.as_secs_f64(),
        entries as f64 / took.as_secs_f64(),
    );
    println!(
        "  peak memory: {:.1} MiB private (heap), {:.1} MiB resident including the memory-mapped database file",
        peak.private as f64 / 1024.0,
        peak.resident as f64 / 1024.0
    );

    if let DatabaseUrl::Sqlite(path) = &url {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("  database file: {:.1} MiB", size as f64 / 1_048_576.0);
    }

    // 3. Over HTTP: the HTTP sessions' schedule moved into the past (they were created in the
    // future, as the catalogue requires, so that trainees could enrol).
    let mut conn = lms_core::db::connect(&url).expect("bench database");
    let shift = chrono::Duration::days(60);
    let http_half_days: Vec<(TrainingSessionId, HalfDayId)> = http
        .iter()
        .flat_map(|session| {
            let ids = half_days_of(&mut conn, session);
            ids.into_iter().map(move |id| (session.clone(), id))
        })
        .take(http_sheets)
        .collect();
    for session in &http {
        let schedule: Vec<(HalfDayId, chrono::NaiveDateTime, chrono::NaiveDateTime)> = half_days::table
            .filter(half_days::training_session_id.eq(session))
            .select((half_days::id, half_days::starts_at, half_days::ends_at))
            .load(&mut conn)
            .expect("schedule");
        for (id, starts_at, ends_at) in schedule {
            diesel::update(half_days::table.find(&id))
                .set((half_days::starts_at.eq(starts_at - shift), half_days::ends_at.eq(ends_at - shift)))
                .execute(&mut conn)
                .expect("move the schedule into the past");
        }
    }
    let token = lms_core::access::create_api_token(&mut conn, &trainer.user, lms_core::db::now()).expect("token");
    drop(conn);

    let server = Server::start(env!("CARGO_BIN_EXE_lms-server"), &url);
    let address = server.address.clone();
    let mut samples = Vec::with_capacity(http_half_days.len());
    let mut bytes = 0;
    let started = Instant::now();
    for (i, (session, half_day)) in http_half_days.iter().enumerate() {
        let lines: Vec<serde_json::Value> = sheet_lines(&trainees, i)
            .into_iter()
            .map(|line| {
                serde_json::json!({
                    "trainee": line.trainee,
                    "status": line.status.as_str(),
                    "minutes": line.minutes,
                    "reason": line.reason,
                })
            })
            .collect();
        let body = serde_json::json!({ "entries": lines }).to_string();
        bytes += body.len();
        let request = format!(
            "PUT /api/v1/sessions/{session}/half-days/{half_day}/sheet HTTP/1.1\r\nHost: {address}\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let t = Instant::now();
        let response = http_request(&address, &request).unwrap_or_default();
        samples.push(t.elapsed());
        if !response.starts_with("HTTP/1.1 200") {
            server.stop();
            panic!("recording a sheet over HTTP failed: {}", response.chars().take(600).collect::<String>());
        }
    }
    let elapsed = started.elapsed();
    server.stop();
    let latencies = common::Latencies::new(samples);
    println!(
        "\nover HTTP (PUT …/sheet, {TRAINEES} trainees, ~{} bytes, one request at a time, new connection each): {} sheets in {:.1} s",
        bytes / http_half_days.len().max(1),
        http_half_days.len(),
        elapsed.as_secs_f64()
    );
    println!("  latency {}", latencies.line());
}
