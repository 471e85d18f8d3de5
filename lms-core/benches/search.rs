//! Search latency in-process on the national data set: `cargo bench -p lms-core --bench search`.
//!
//! Runs `catalogue::search_sessions` (place resolution included) for a deterministic sample of
//! places drawn by population, one query at a time on one connection, and reports p50/p90/p99.
//! Target on the 2-core reference machine with SQLite: p99 ≤ 10 ms at the default 20 minutes,
//! p99 ≤ 5 ms for typed text that matches no commune and gets suggestions.
//! `LMS_BENCH_DATABASE_URL` selects another database (see `common`), `LMS_BENCH_ROUNDS` the
//! number of passes over the 2,000 places (default 3).

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

mod common;

use std::time::{Duration, Instant};

use lms_core::catalogue::{self, Near, SearchQuery};
use lms_core::geo::TravelModel;

const PLACES: usize = 2_000;
const TARGET_P99: Duration = Duration::from_millis(10);
/// Target for a place that matched nothing and gets suggestions.
const TYPO_TARGET_P99: Duration = Duration::from_millis(5);

fn main() {
    // `cargo bench` passes `--bench`; anything else (a filter) is ignored by this simple harness.
    let url = common::bench_database();
    let mut conn = common::ensure_dataset(&url);
    let rounds: usize = std::env::var("LMS_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    println!("search bench — {} — {}", lms_core::db::backend_name(&conn), common::machine());
    println!("data set: {}", common::dataset_summary(&mut conn));
    let model = TravelModel::default();
    let places = common::sample_places(&mut conn, PLACES, 7);

    for minutes in [20_u32, 45] {
        let queries: Vec<SearchQuery> = places
            .iter()
            .map(|near| SearchQuery { minutes: Some(minutes), ..SearchQuery::near(near.clone()) })
            .collect();
        // Warm-up pass: caches, and the share of places that resolve.
        let mut refused = 0;
        let mut found = 0;
        let mut empty = 0;
        for query in &queries {
            match catalogue::search_sessions(&mut conn, query, &model) {
                Ok(results) => {
                    found += results.sessions.len();
                    if results.sessions.is_empty() {
                        empty += 1;
                    }
                }
                Err(_) => refused += 1,
            }
        }
        let mut samples = Vec::with_capacity(queries.len() * rounds);
        let started = Instant::now();
        for _ in 0..rounds {
            for query in &queries {
                let t = Instant::now();
                let outcome = catalogue::search_sessions(&mut conn, query, &model);
                samples.push(t.elapsed());
                std::hint::black_box(outcome.ok());
            }
        }
        let elapsed = started.elapsed();
        let latencies = common::Latencies::new(samples);
        let ok = queries.len() - refused;
        println!(
            "\n{minutes} min: {} places ({refused} refused as ambiguous/unknown), {:.1} sessions returned on average (limit {}), {empty} places with none",
            queries.len(),
            found as f64 / ok.max(1) as f64,
            catalogue::DEFAULT_SEARCH_LIMIT
        );
        println!("  latency {}", latencies.line());
        println!(
            "  one connection, sequential: {:.0} searches/s",
            (queries.len() * rounds) as f64 / elapsed.as_secs_f64()
        );
        if minutes == 20 {
            let p99 = latencies.percentile(99.0);
            println!(
                "  target p99 ≤ {} ms: {} (p99 is {:.2}× the target)",
                TARGET_P99.as_millis(),
                if p99 <= TARGET_P99 { "met" } else { "MISSED" },
                p99.as_secs_f64() / TARGET_P99.as_secs_f64()
            );
        }
    }

    // Throughput with one connection per core, as a server would run the searches.
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let started = Instant::now();
    let handles: Vec<_> = (0..cores)
        .map(|t| {
            let url = url.clone();
            let places = places.clone();
            std::thread::spawn(move || {
                let mut conn = lms_core::db::connect(&url).expect("connection");
                let model = TravelModel::default();
                let mut done = 0;
                for near in places.iter().skip(t * 997).chain(places.iter().take(t * 997)) {
                    std::hint::black_box(
                        catalogue::search_sessions(&mut conn, &SearchQuery::near(near.clone()), &model).ok(),
                    );
                    done += 1;
                }
                done
            })
        })
        .collect();
    let done: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    println!(
        "
20 min, {cores} connections in parallel: {:.0} searches/s",
        done as f64 / started.elapsed().as_secs_f64()
    );

    // A bare postcode shared by many communes: searched from all of them (their centroid).
    let shared = ["51300", "17400", "79000", "33290", "64000"];
    let mut samples = Vec::new();
    for _ in 0..200 {
        for postcode in shared {
            let t = Instant::now();
            let outcome =
                catalogue::search_sessions(&mut conn, &SearchQuery::near(Near::Text(postcode.into())), &model);
            samples.push(t.elapsed());
            std::hint::black_box(outcome.err());
        }
    }
    println!("\nshared postcode → its communes: latency {}", common::Latencies::new(samples).line());

    // Typos and short forms: no commune matches, so the suggestions are computed (the in-memory
    // index of commune names is built by the first of them, before the timing).
    lms_core::geo::warm_up_suggestions();
    let typos =
        ["Bgles", "Limoge", "Brive", "Oloron", "Ile d'Oléron", "Angoulem", "Poitier", "Nior", "La Rochele", "Bordeau"];
    let mut samples = Vec::new();
    for _ in 0..200 {
        for typed in typos {
            let t = Instant::now();
            let outcome = catalogue::search_sessions(&mut conn, &SearchQuery::near(Near::Text(typed.into())), &model);
            samples.push(t.elapsed());
            std::hint::black_box(outcome.err());
        }
    }
    let latencies = common::Latencies::new(samples);
    let p99 = latencies.percentile(99.0);
    println!("\ntypo → suggestions: latency {}", latencies.line());
    println!(
        "  target p99 ≤ {} ms: {}",
        TYPO_TARGET_P99.as_millis(),
        if p99 <= TYPO_TARGET_P99 { "met" } else { "MISSED" }
    );
}
