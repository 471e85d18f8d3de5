//! Search over HTTP under load: `cargo bench -p lms-server --bench http_load`.
//!
//! Starts the optimised `lms-server` binary on 127.0.0.1 (a free port) on the national data set
//! (see `lms-core/benches/common`), then drives `GET /api/v1/sessions/search` with `wrk` from a
//! second process for a bounded time, cycling over 2,000 places drawn by population. Reports
//! throughput, latency percentiles, non-2xx answers and the server's peak resident memory, then
//! stops the server with SIGTERM. Needs `wrk` (`apt-get install wrk`).
//!
//! Settings (environment): `LMS_BENCH_DURATION` seconds (default 20), `LMS_BENCH_CONNECTIONS`
//! (default 32), `LMS_BENCH_THREADS` wrk threads (default 2), `LMS_BENCH_MINUTES` (default 20),
//! `LMS_DB_POOL_SIZE` passed to the server, `LMS_BENCH_DATABASE_URL` the data set.
//! Target on the 2-core reference machine with SQLite: at least 2,000 searches/s.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

#[path = "../../lms-core/benches/common/mod.rs"]
mod common;
mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use lms_core::DatabaseUrl;
use lms_core::catalogue::Near;

const TARGET_RATE: f64 = 2_000.0;

/// Percent-encodes a query-string value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A field of `/proc/PID/smaps_rollup`, in KiB.
fn rollup_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|rollup| {
            rollup.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of a process so far (`/proc/PID/stat`, clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses and may hold spaces.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    if Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
        eprintln!("wrk is missing: apt-get install wrk");
        std::process::exit(1);
    }
    let duration = support::setting("LMS_BENCH_DURATION", 20);
    let connections = support::setting("LMS_BENCH_CONNECTIONS", 32);
    let threads = support::setting("LMS_BENCH_THREADS", 2);
    let minutes = support::setting("LMS_BENCH_MINUTES", 20);

    let url = common::bench_database();
    let mut conn = common::ensure_dataset(&url);
    let summary = common::dataset_summary(&mut conn);
    let places = common::sample_places(&mut conn, 2_000, 7);
    drop(conn);

    let paths: Vec<String> = places
        .iter()
        .map(|near| match near {
            Near::Text(text) => format!("/api/v1/sessions/search?near={}&minutes={minutes}", encode(text)),
            Near::Point { lat, lon } => format!("/api/v1/sessions/search?lat={lat}&lon={lon}&minutes={minutes}"),
        })
        .collect();
    let script_path = common::target_dir().join("bench-data").join("search-paths.lua");
    let mut script = String::from("paths = {\n");
    for path in &paths {
        script.push_str(&format!("  \"{path}\",\n"));
    }
    script.push_str(
        "}\nlocal threads = 0\nfunction setup(thread)\n  thread:set(\"offset\", threads * 997)\n  threads = threads + 1\nend\n\
         function init(args)\n  counter = offset or 0\nend\n\
         function request()\n  counter = counter + 1\n  return wrk.format(\"GET\", paths[(counter % #paths) + 1])\nend\n",
    );
    std::fs::write(&script_path, script).expect("wrk script");

    let server = support::Server::start(env!("CARGO_BIN_EXE_lms-server"), &url);
    let (pid, address) = (server.pid(), server.address.clone());
    let sample = support::http_get(&address, &paths[0]).unwrap_or_default();
    assert!(sample.starts_with("HTTP/1.1 200"), "a sample search fails: {sample}");

    // Peak memory, sampled while the load runs (VmHWM too, which the kernel keeps).
    let running = Arc::new(AtomicBool::new(true));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (running, peak_rss) = (Arc::clone(&running), Arc::clone(&peak_rss));
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                peak_rss.fetch_max(support::memory_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let target = format!("http://{address}");
    let script = script_path.to_string_lossy().into_owned();
    let warm = Command::new("wrk")
        .args(["-t", "2", "-c", "16", "-d", "3s", "-s", &script, &target])
        .stdout(Stdio::null())
        .status();
    assert!(warm.is_ok_and(|s| s.success()), "wrk warm-up failed");
    let output = Command::new("wrk")
        .args([
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{duration}s"),
            "--latency",
            "-s",
            &script,
            &target,
        ])
        .output()
        .expect("wrk");
    running.store(false, Ordering::Relaxed);
    let _ = sampler.join();
    let hwm = support::memory_kib(pid, "VmHWM:");
    let rss_after = support::memory_kib(pid, "VmRSS:");
    let rollup = |field: &str| rollup_kib(pid, field);
    let (pss, pss_anon, pss_file) = (rollup("Pss:"), rollup("Pss_Anon:"), rollup("Pss_File:"));
    let server_cpu = cpu_seconds(pid);
    server.stop();

    let report = String::from_utf8_lossy(&output.stdout);
    let rate: f64 = report
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    println!(
        "HTTP search bench — {} — {}",
        support::database_url_string(&url).split("://").next().unwrap_or(""),
        common::machine()
    );
    println!("data set: {summary}");
    println!(
        "wrk: {threads} threads, {connections} connections, {duration} s, {} places cycled, minutes={minutes}, server pool {}",
        paths.len(),
        std::env::var("LMS_DB_POOL_SIZE").unwrap_or_else(|_| "default".into())
    );
    println!("{}", report.trim_end());
    println!(
        "server memory: peak RSS {:.1} MiB (VmHWM), {:.1} MiB sampled max, {:.1} MiB at the end",
        hwm as f64 / 1024.0,
        peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    if matches!(url, DatabaseUrl::Sqlite(_)) {
        println!(
            "  RSS counts the memory-mapped database once per pooled connection; proportional set size \
             {:.1} MiB = {:.1} MiB private heap + {:.1} MiB of the database file (kernel page cache, shared)",
            pss as f64 / 1024.0,
            pss_anon as f64 / 1024.0,
            pss_file as f64 / 1024.0
        );
    } else {
        println!(
            "  proportional set size {:.1} MiB, of which {:.1} MiB private heap (PostgreSQL's own processes not counted)",
            pss as f64 / 1024.0,
            pss_anon as f64 / 1024.0
        );
    }
    let requests: f64 = report
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    if requests > 0.0 {
        println!(
            "server CPU: {:.3} ms per search (user + system over the whole run, warm-up included)",
            server_cpu * 1e3 / requests
        );
    }
    println!(
        "target ≥ {TARGET_RATE:.0} searches/s: {} ({:.2}× the target)",
        if rate >= TARGET_RATE { "met" } else { "MISSED" },
        rate / TARGET_RATE
    );
}
