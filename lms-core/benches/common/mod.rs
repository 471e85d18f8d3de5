//! Shared by the benchmarks: the national data set, and a deterministic sample of places where
//! trainees live.
//!
//! The data set is `LMS_BENCH_DATABASE_URL` if set (PostgreSQL: use a database of its own), else
//! the SQLite file `target/bench-data/national.db`; it is created on first use with
//! `lms_core::fixtures::generate` and its defaults (3,500 venues, 50,000 sessions, 200,000
//! trainees, seed 2026), which is what `lms fixtures generate` does.

#![allow(dead_code, reason = "each bench uses part of this module")]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use lms_core::catalogue::Near;
use lms_core::db::schema::{commune_postcodes, communes, venues};
use lms_core::fixtures::{GenerateOptions, generate};
use lms_core::{DatabaseUrl, DbConn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The workspace `target` folder (or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"))
}

/// Where the benchmark data set lives.
pub fn bench_database() -> DatabaseUrl {
    match std::env::var("LMS_BENCH_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => DatabaseUrl::parse(&url).expect("LMS_BENCH_DATABASE_URL"),
        _ => {
            let dir = target_dir().join("bench-data");
            std::fs::create_dir_all(&dir).expect("target/bench-data");
            DatabaseUrl::Sqlite(dir.join("national.db"))
        }
    }
}

/// Opens the data set, generating it first if it is not there yet.
pub fn ensure_dataset(url: &DatabaseUrl) -> DbConn {
    let mut conn = lms_core::db::connect(url).expect("bench database");
    lms_core::db::run_migrations(&mut conn).expect("migrations");
    let options = GenerateOptions::default();
    let present: bool =
        diesel::select(diesel::dsl::exists(venues::table.filter(venues::slug.eq(format!("gen-{}-1", options.seed)))))
            .get_result(&mut conn)
            .expect("look for the data set");
    if !present {
        eprintln!("Data set absent: loading reference data and generating {options:?} into {}…", url.redacted());
        let started = Instant::now();
        lms_core::fixtures::load_reference(&mut conn).expect("reference data");
        let report = generate(&mut conn, &options, &mut |_| {}).expect("generate");
        eprintln!("Generated in {:.1} s: {report:?}", started.elapsed().as_secs_f64());
    }
    conn
}

/// Counts of the data set, for the report.
pub fn dataset_summary(conn: &mut DbConn) -> String {
    use lms_core::db::schema::{enrolments, half_days, training_sessions, users};
    let count = |n: Result<i64, diesel::result::Error>| n.expect("count");
    format!(
        "{} venues, {} training sessions, {} half-days, {} users, {} enrolments, {} communes",
        count(venues::table.count().get_result(conn)),
        count(training_sessions::table.count().get_result(conn)),
        count(half_days::table.count().get_result(conn)),
        count(users::table.count().get_result(conn)),
        count(enrolments::table.count().get_result(conn)),
        count(communes::table.count().get_result(conn)),
    )
}

/// `count` places where trainees live: communes drawn by population (people search from home),
/// typed in the unambiguous forms a results page links to (`Name (dep)`, `Name 17100`), or given
/// as the commune's coordinates. Deterministic for a seed.
pub fn sample_places(conn: &mut DbConn, count: usize, seed: u64) -> Vec<Near> {
    let rows: Vec<(String, String, String, i64, f64, f64)> = communes::table
        .select((
            communes::insee,
            communes::name,
            communes::departement,
            communes::population,
            communes::lat,
            communes::lon,
        ))
        .order(communes::insee.asc())
        .load(conn)
        .expect("communes");
    let postcodes: Vec<(String, String)> = commune_postcodes::table
        .select((commune_postcodes::insee, commune_postcodes::postcode))
        .order((commune_postcodes::insee.asc(), commune_postcodes::postcode.asc()))
        .load(conn)
        .expect("postcodes");
    let mut first_postcode = std::collections::HashMap::new();
    for (insee, postcode) in postcodes {
        first_postcode.entry(insee).or_insert(postcode);
    }
    let mut cumulative = Vec::with_capacity(rows.len());
    let mut total = 0.0;
    for row in &rows {
        total += row.3.max(1) as f64;
        cumulative.push(total);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let target = rng.r#gen::<f64>() * total;
            let (insee, name, dep, _, lat, lon) =
                &rows[cumulative.partition_point(|w| *w < target).min(rows.len() - 1)];
            match i % 3 {
                0 => Near::Text(format!("{name} ({dep})")),
                1 => Near::Text(format!("{name} {}", first_postcode.get(insee).map_or("", String::as_str))),
                _ => Near::Point { lat: *lat, lon: *lon },
            }
        })
        .collect()
}

/// Latency summary of a set of samples.
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    /// Sorts the samples.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Latencies { sorted: samples }
    }

    /// The `p`-th percentile (nearest rank).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        self.sorted[rank.clamp(1, self.sorted.len()) - 1]
    }

    /// Mean.
    pub fn mean(&self) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        self.sorted.iter().sum::<Duration>() / self.sorted.len() as u32
    }

    /// One line: n, mean, p50, p90, p99, max in milliseconds.
    pub fn line(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "n={} mean={:.3} ms p50={:.3} ms p90={:.3} ms p99={:.3} ms max={:.3} ms",
            self.sorted.len(),
            ms(self.mean()),
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.sorted.last().copied().unwrap_or_default()),
        )
    }
}

/// Machine facts printed with every figure.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPU(s), {model}")
}
