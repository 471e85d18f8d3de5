//! Enrolment throughput in-process on the national data set: `cargo bench -p lms-core --bench enrolment`.
//!
//! Each enrolment is the real use case (`enrolment::enrol_as`: one write transaction taking the
//! session's lock, the guarded seat update or a waitlist ticket, the enrolment row, and its e-mail
//! in the outbox — a convocation with its PDF and invitation, or the waitlist message). On SQLite the
//! bench works on a copy of the data set (`target/bench-data/enrolment-scratch.db`, removed at the
//! end); with `LMS_BENCH_DATABASE_URL` pointing at PostgreSQL it writes to that database, so give it
//! a database of its own.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use lms_core::access::Caller;
use lms_core::db::ids::{TrainingSessionId, UserId};
use lms_core::db::schema::{courses, training_sessions, user_roles};
use lms_core::enrolment::{self, EnrolmentRequest, EnrolmentStatus};
use lms_core::people::{Role, UserView};
use lms_core::{Classify, DatabaseUrl};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEQUENTIAL: usize = 4_000;
const PARALLEL_PER_THREAD: usize = 1_000;
const HOT_PER_THREAD: usize = 50;

fn main() {
    let source = common::bench_database();
    let mut conn = common::ensure_dataset(&source);
    let url = match &source {
        DatabaseUrl::Sqlite(_) => {
            let scratch = common::target_dir().join("bench-data").join("enrolment-scratch.db");
            let _ = std::fs::remove_file(&scratch);
            lms_core::db::sqlite_snapshot(&mut conn, &scratch).expect("copy of the data set");
            DatabaseUrl::Sqlite(scratch)
        }
        DatabaseUrl::Postgres(_) => source.clone(),
    };
    drop(conn);
    let mut conn = lms_core::db::connect(&url).expect("scratch database");
    println!("enrolment bench — {} — {}", lms_core::db::backend_name(&conn), common::machine());
    println!("data set: {}", common::dataset_summary(&mut conn));

    let now = lms_core::db::now();
    // Courses on request take requests, not seats: the bench times seats.
    let sessions: Vec<TrainingSessionId> = training_sessions::table
        .inner_join(courses::table)
        .filter(courses::admission.eq("open"))
        .filter(training_sessions::status.eq("published"))
        .filter(training_sessions::enrolment_opens_at.le(now))
        .filter(training_sessions::enrolment_closes_at.gt(now))
        .order(training_sessions::id.asc())
        .select(training_sessions::id)
        .limit(5_000)
        .load(&mut conn)
        .unwrap();
    let trainee_ids: Vec<UserId> = user_roles::table
        .filter(user_roles::role.eq("trainee"))
        .order(user_roles::user_id.asc())
        .select(user_roles::user_id)
        .limit(100_000)
        .load(&mut conn)
        .unwrap();
    // Callers built in memory (the ids were selected by their trainee role): no query is timed twice.
    let trainees: Vec<Caller> = trainee_ids.into_iter().map(trainee_caller).collect();
    assert!(!sessions.is_empty() && trainees.len() > 1_000, "the data set has open sessions and trainees");
    let mut rng = StdRng::seed_from_u64(11);
    let request = EnrolmentRequest { funding_source: Some("cpf".into()), ..Default::default() };

    // 1. One client after another.
    let mut samples = Vec::with_capacity(SEQUENTIAL);
    let (mut confirmed, mut waitlisted, mut clashes) = (0, 0, 0);
    let started = Instant::now();
    for _ in 0..SEQUENTIAL {
        let session = &sessions[rng.gen_range(0..sessions.len())];
        let trainee = &trainees[rng.gen_range(0..trainees.len())];
        let t = Instant::now();
        let outcome = enrolment::enrol_as(&mut conn, session, trainee, &request, now);
        samples.push(t.elapsed());
        match outcome {
            Ok(outcome) if outcome.status == EnrolmentStatus::Confirmed => confirmed += 1,
            Ok(_) => waitlisted += 1,
            // The generated trainees hold seats at random: some sessions overlap one they hold.
            Err(error) if error.code() == "schedule_conflict" => clashes += 1,
            Err(error) => panic!("enrol: {error}"),
        }
    }
    let elapsed = started.elapsed();
    println!(
        "\nsequential, one connection: {:.0} enrolments/s ({confirmed} confirmed, {waitlisted} waitlisted, {clashes} refused for a schedule conflict)",
        SEQUENTIAL as f64 / elapsed.as_secs_f64()
    );
    println!("  latency {}", common::Latencies::new(samples).line());

    // 2. Concurrent clients on different sessions, through a pool.
    for threads in [2_usize, 4] {
        let (rate, latencies) =
            concurrent(&url, threads, PARALLEL_PER_THREAD, &sessions, &trainees, 100 + threads as u64);
        println!("\n{threads} concurrent clients, many sessions: {rate:.0} enrolments/s");
        println!("  latency {}", latencies.line());
    }

    // 3. Everybody on one session (the 200-client invariant test, timed): contention on one lock.
    let hot = vec![sessions[0].clone()];
    let (rate, latencies) = concurrent(&url, 8, HOT_PER_THREAD, &hot, &trainees, 999);
    println!("\n8 concurrent clients, one session: {rate:.0} enrolments/s");
    println!("  latency {}", latencies.line());

    if let DatabaseUrl::Sqlite(path) = &url {
        drop(conn);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}

fn concurrent(
    url: &DatabaseUrl,
    threads: usize,
    per_thread: usize,
    sessions: &[TrainingSessionId],
    trainees: &[Caller],
    seed: u64,
) -> (f64, common::Latencies) {
    let options = lms_core::db::PoolOptions { max_size: threads as u32, connection_timeout: Duration::from_secs(30) };
    let pool = Arc::new(lms_core::db::build_pool(url, &options).expect("pool"));
    let sessions = Arc::new(sessions.to_vec());
    let trainees = Arc::new(trainees.to_vec());
    let failures = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (pool, sessions, trainees, failures) =
                (Arc::clone(&pool), Arc::clone(&sessions), Arc::clone(&trainees), Arc::clone(&failures));
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed * 1_000 + t as u64);
                let request = EnrolmentRequest::default();
                let mut samples = Vec::with_capacity(per_thread);
                for _ in 0..per_thread {
                    let session = &sessions[rng.gen_range(0..sessions.len())];
                    let trainee = &trainees[rng.gen_range(0..trainees.len())];
                    let t = Instant::now();
                    let mut conn = pool.get().expect("connection");
                    if enrolment::enrol_as(&mut conn, session, trainee, &request, lms_core::db::now()).is_err() {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let samples: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().expect("thread")).collect();
    let elapsed = started.elapsed();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        println!("  ({failed} refused: schedule conflict or busy database)");
    }
    ((threads * per_thread) as f64 / elapsed.as_secs_f64(), common::Latencies::new(samples))
}

fn trainee_caller(id: UserId) -> Caller {
    let user = UserView {
        id,
        email: String::new(),
        name: String::new(),
        roles: vec![Role::Trainee],
        active: true,
        created_at: String::new(),
    };
    Caller { user, login_session: None, csrf_token: None }
}
