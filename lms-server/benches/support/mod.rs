//! Shared by the server benchmarks: the optimised `lms-server` started on a free port of
//! 127.0.0.1 on a bench database, plain HTTP/1.1 requests, and what `/proc` says of a process.

#![allow(dead_code, reason = "each bench uses part of this module")]
#![allow(clippy::expect_used, clippy::unwrap_used, reason = "a benchmark stops on any failure")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lms_core::DatabaseUrl;

/// A numeric setting from the environment.
pub fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The URL as `DATABASE_URL` takes it.
pub fn database_url_string(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(raw) => raw.clone(),
    }
}

/// One request on a new connection; the whole response, or `None` if the server did not answer.
pub fn http_request(address: &str, request: &str) -> Option<String> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// `GET path`, on a new connection.
pub fn http_get(address: &str, path: &str) -> Option<String> {
    http_request(address, &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"))
}

/// A field of `/proc/PID/status` in KiB (`VmRSS:`, `VmHWM:`, `RssAnon:`…), 0 once it has exited.
pub fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The release server this bench starts, and where it listens.
pub struct Server {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Server {
    /// Starts `lms-server` on the database and waits (60 s at most) until `/healthz` answers.
    pub fn start(binary: &str, url: &DatabaseUrl) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(binary)
            .env("DATABASE_URL", database_url_string(url))
            .env("LMS_BIND", &address)
            .env("LMS_LOG", "warn")
            .env("LMS_STARTUP_DATA", "none")
            .stdout(Stdio::null())
            .spawn()
            .expect("start lms-server");
        let server = Server { child, address };
        let started = Instant::now();
        while !http_get(&server.address, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            if started.elapsed() > Duration::from_secs(60) {
                server.stop();
                panic!("lms-server did not answer /healthz within 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Graceful stop (SIGTERM to the pid this bench started), killed after 10 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
