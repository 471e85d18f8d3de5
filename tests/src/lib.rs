//! Test harness shared by the end-to-end suite.
//!
//! The suite runs on one backend per run, chosen by `LMS_TEST_BACKEND` (`sqlite`, the default, or
//! `postgres` with `LMS_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! `.ci/run` runs it once per backend, so every test body runs on both.
//!
//! Each test gets its own database, copied from a per-process template that is migrated (and,
//! for [`Seed::Reference`] / [`Seed::Demo`], loaded) once: a file copy on SQLite, a
//! `CREATE DATABASE … TEMPLATE` on PostgreSQL.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "test harness: a failure is a test failure")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

pub mod browser;
pub mod smtp_sink;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use lms_core::{DatabaseUrl, DbConn};

/// Which backend this run tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// The local PostgreSQL.
    Postgres,
}

/// The backend selected for this run.
pub fn backend() -> Backend {
    match std::env::var("LMS_TEST_BACKEND").as_deref() {
        Ok("postgres") | Ok("postgresql") | Ok("pg") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("LMS_TEST_BACKEND invalide : {other} (sqlite ou postgres)"),
    }
}

/// Whether CI runs the suite (`CI` set, and not to `false` or `0`): tests that would skip for
/// want of a tool CI installs fail instead.
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Says that `test` does not run here, and why, on a line starting with `SKIPPED:`. Written to
/// the process's standard error directly: libtest keeps what `eprintln!` prints in a passing test
/// to itself, which would make the skip silent.
pub fn say_skipped(test: &str, reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// For a test that needs something this machine lacks (`reason` names it): fails when `required`
/// (CI expects the tool), else says SKIPPED and returns true, so that the test returns at once.
pub fn skip_for_want_of(test: &str, reason: &str, required: bool) -> bool {
    assert!(!required, "{test} must run here, but {reason}");
    say_skipped(test, reason);
    true
}

/// For a test that only means something on `wanted`: on the other backend it says SKIPPED and
/// returns true. `.ci/run` runs the suite once per backend, so the test runs in the other pass.
pub fn skip_unless_backend(wanted: Backend, test: &str, why: &str) -> bool {
    if backend() == wanted {
        return false;
    }
    say_skipped(test, &format!("runs on {wanted:?} only ({why})"));
    true
}

fn pg_admin_url() -> String {
    std::env::var("LMS_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_url_for(database: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    format!("{base}/{database}")
}

/// What a test database starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seed {
    /// Migrated, no rows.
    Empty,
    /// Communes, venues, référentiel, courses.
    Reference,
    /// Reference plus demo people and sessions.
    Demo,
}

impl Seed {
    fn name(self) -> &'static str {
        match self {
            Seed::Empty => "empty",
            Seed::Reference => "reference",
            Seed::Demo => "demo",
        }
    }
}

/// A database of its own for one test; removed on drop.
pub struct TestDb {
    /// URL for `lms-core` and the binaries.
    pub url: DatabaseUrl,
    /// The same, as a string for `--database-url` / `DATABASE_URL`.
    pub url_string: String,
    pg_database: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

struct Templates {
    dir: tempfile::TempDir,
    made: Mutex<Vec<Seed>>,
    pg_names: Mutex<Vec<String>>,
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates {
        dir: tempfile::tempdir().expect("tempdir"),
        made: Mutex::new(Vec::new()),
        pg_names: Mutex::new(Vec::new()),
    })
}

fn seed_database(conn: &mut DbConn, seed: Seed) {
    lms_core::db::run_migrations(conn).expect("migrations");
    match seed {
        Seed::Empty => {}
        Seed::Reference => {
            lms_core::fixtures::load_reference(conn).expect("reference data");
        }
        Seed::Demo => {
            lms_core::fixtures::load_demo(conn, lms_core::catalogue::paris_today()).expect("demo data");
        }
    }
}

fn template_name(seed: Seed) -> String {
    format!("lms_tpl_{}_{}", std::process::id(), seed.name())
}

impl TestDb {
    /// A fresh database with `seed`, on this run's backend.
    pub fn new(seed: Seed) -> TestDb {
        match backend() {
            Backend::Sqlite => Self::sqlite(seed),
            Backend::Postgres => Self::postgres(seed),
        }
    }

    /// A fresh SQLite database, whatever the run's backend (for tests of SQLite-only features).
    pub fn sqlite(seed: Seed) -> TestDb {
        let t = templates();
        let template = t.dir.path().join(format!("{}.db", seed.name()));
        {
            let mut made = t.made.lock().unwrap_or_else(|e| e.into_inner());
            if !made.contains(&seed) {
                let url = DatabaseUrl::Sqlite(t.dir.path().join(format!("{}-build.db", seed.name())));
                let mut conn = lms_core::db::connect(&url).expect("template connection");
                seed_database(&mut conn, seed);
                lms_core::db::sqlite_snapshot(&mut conn, &template).expect("template snapshot");
                made.push(seed);
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lms.db");
        std::fs::copy(&template, &path).expect("copy template");
        TestDb {
            url_string: format!("sqlite://{}", path.display()),
            url: DatabaseUrl::Sqlite(path),
            pg_database: None,
            _dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database (fails loudly if PostgreSQL is unreachable).
    pub fn postgres(seed: Seed) -> TestDb {
        let t = templates();
        let template = template_name(seed);
        let mut admin = PgConnection::establish(&pg_admin_url())
            .unwrap_or_else(|e| panic!("PostgreSQL injoignable ({}) : {e}", pg_admin_url()));
        {
            // CREATE DATABASE from a template refuses concurrent use of the template: serialise.
            let mut names = t.pg_names.lock().unwrap_or_else(|e| e.into_inner());
            if !names.contains(&template) {
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {template}")).expect("drop template");
                admin.batch_execute(&format!("CREATE DATABASE {template}")).expect("create template");
                let url = DatabaseUrl::parse(&pg_url_for(&template)).expect("url");
                let mut conn = lms_core::db::connect(&url).expect("template connection");
                seed_database(&mut conn, seed);
                drop(conn);
                names.push(template.clone());
            }
            let name = format!("lms_test_{}", uuid::Uuid::new_v4().simple());
            admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")).expect("create test database");
            let url_string = pg_url_for(&name);
            TestDb {
                url: DatabaseUrl::parse(&url_string).expect("url"),
                url_string,
                pg_database: Some(name),
                _dir: None,
            }
        }
    }

    /// One connection.
    pub fn conn(&self) -> DbConn {
        lms_core::db::connect(&self.url).expect("connection")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_database
            && let Ok(mut admin) = PgConnection::establish(&pg_admin_url())
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The workspace folder. (PostgreSQL templates of a run are dropped by the next `.ci/run`, which
/// removes every `lms_tpl_*` and `lms_test_*` database it finds.)
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// Path to a workspace binary (`lms`, `lms-server`), built on first use.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "lms-cli", "-p", "lms-server"])
            .current_dir(workspace_root())
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the binaries failed");
    });
    let target =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| workspace_root().join("target"));
    target.join("debug").join(name)
}

/// Output of one `lms` run.
#[derive(Debug)]
pub struct CliOutput {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `lms` with `args` against `db` (and `stdin` as standard input).
pub fn lms(db: &TestDb, args: &[&str], stdin: Option<&str>) -> CliOutput {
    lms_with_url(Some(&db.url_string), args, stdin)
}

/// Runs `lms` with an explicit database URL (or none, to use the default).
pub fn lms_with_url(url: Option<&str>, args: &[&str], stdin: Option<&str>) -> CliOutput {
    use std::io::Write;
    let mut command = Command::new(binary("lms"));
    command.args(args).env_remove("DATABASE_URL").env("LMS_LOG", "error");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn lms");
    if let Some(mut pipe) = child.stdin.take()
        && let Some(input) = stdin
    {
        pipe.write_all(input.as_bytes()).expect("stdin");
    }
    let output = child.wait_with_output().expect("lms output");
    CliOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// An in-process server for `oneshot` requests.
pub async fn test_app(db: &TestDb) -> axum::Router {
    let config = lms_server::Config::for_tests(db.url.clone());
    let state = lms_server::AppState::open(&config).await.expect("app state");
    lms_server::app(state)
}

/// Sends one request to the router; returns status, headers and body text.
pub async fn send(
    app: &axum::Router,
    request: axum::http::Request<axum::body::Body>,
) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let response = app.clone().oneshot(request).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&bytes).into_owned())
}

/// A GET request.
pub fn get(uri: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder().uri(uri).body(axum::body::Body::empty()).expect("request")
}

/// A request with a JSON body (and optional bearer token).
pub fn json_request(
    method: &str,
    uri: &str,
    body: &str,
    bearer: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut builder = axum::http::Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(axum::body::Body::from(body.to_owned())).expect("request")
}

/// A form POST with cookies, as a browser on this site sends it.
pub fn form_request(uri: &str, fields: &[(&str, &str)], cookies: &str) -> axum::http::Request<axum::body::Body> {
    let body = fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
    axum::http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookies)
        .body(axum::body::Body::from(body))
        .expect("request")
}

/// A GET with cookies.
pub fn get_with_cookies(uri: &str, cookies: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder().uri(uri).header("cookie", cookies).body(axum::body::Body::empty()).expect("request")
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The value of cookie `name` set by a response, if any.
pub fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (pair, _) = v.split_once(';').unwrap_or((v, ""));
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// The full `Set-Cookie` header for `name`, to check its attributes.
pub fn set_cookie_header(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// Extracts the hidden `csrf` field of a rendered form.
pub fn csrf_field(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().expect("csrf value").to_owned()
}

/// Logs in through the pages like a browser: returns the `lms_session` cookie value.
pub async fn browser_login(app: &axum::Router, email: &str, password: &str) -> String {
    let (_, headers, body) = send(app, get("/login")).await;
    let csrf_cookie = set_cookie(&headers, "lms_csrf").expect("csrf cookie");
    let csrf = csrf_field(&body);
    let (status, headers, _) = send(
        app,
        form_request(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf), ("next", "/me")],
            &format!("lms_csrf={csrf_cookie}"),
        ),
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::SEE_OTHER, "login refused");
    set_cookie(&headers, "lms_session").expect("session cookie")
}

/// A real server on 127.0.0.1 (random port) in this process, for concurrency tests.
pub async fn spawn_server(db: &TestDb) -> std::net::SocketAddr {
    spawn_server_with(db, |_| {}).await
}

/// [`spawn_server`] with its configuration adjusted first (trusted proxies, timeouts, limits),
/// served by the same connection loop as `lms-server`.
pub async fn spawn_server_with(db: &TestDb, adjust: impl FnOnce(&mut lms_server::Config)) -> std::net::SocketAddr {
    let mut config = lms_server::Config::for_tests(db.url.clone());
    config.pool_size = Some(12);
    adjust(&mut config);
    let state = lms_server::AppState::open(&config).await.expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        lms_server::serve_on(listener, &config, state, std::future::pending()).await;
    });
    address
}

/// Every (METHOD, path) the server answers, from the table its router is built from. Shared by
/// the authorisation matrix and the OpenAPI test, so both check the same list.
pub fn server_routes() -> std::collections::BTreeSet<(String, String)> {
    lms_server::route_table().into_iter().map(|route| (route.method, route.path)).collect()
}

/// A real `lms-server` process (the built binary) on a free port of 127.0.0.1, for tests that
/// stop, kill or run several instances; killed on drop.
pub struct ServerProcess {
    /// The process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl ServerProcess {
    /// Starts `lms-server` on `database_url` (no startup data) and waits, 30 s at most, until
    /// `/healthz` answers.
    pub async fn start(database_url: &str) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let child = Command::new(binary("lms-server"))
            .env("DATABASE_URL", database_url)
            .env("LMS_BIND", format!("127.0.0.1:{port}"))
            .env("LMS_STARTUP_DATA", "none")
            .env("LMS_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("lms-server");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(format!("{base}/healthz")).send().await
                && response.status() == axum::http::StatusCode::OK
            {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "lms-server did not start within 30 s");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        ServerProcess { child, base }
    }

    /// SIGTERM, then wait (20 s at most) for the graceful exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }

    /// `kill -9`: no shutdown, no checkpoint; on SQLite the last commits are only in the `-wal`.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
