//! `lms restore` never loses an acknowledged write: refused while a server holds the database,
//! and after a `kill -9` every write the server acknowledged is in the restored database or in
//! the `.before-restore` safety copy. Also: a backup from a newer version is refused, and errors
//! name the file.
//!
//! `lms backup` / `lms restore` are SQLite-only (PostgreSQL: pg_dump / pg_restore), so on the
//! PostgreSQL pass these tests only check that `lms restore` refuses and says so, then skip loudly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use diesel::connection::SimpleConnection;
use lms_tests::{
    Backend, Seed, ServerProcess, TestDb, backend, binary, lms, lms_with_url, skip_unless_backend, spawn_server,
};
use serde_json::Value;

const PASSWORD: &str = "un mot de passe solide";

/// On PostgreSQL: `lms restore` refuses (one line, pointing at pg_restore); returns true to skip.
fn skip_on_postgres(test: &str) -> bool {
    if backend() != Backend::Postgres {
        return false;
    }
    let db = TestDb::new(Seed::Empty);
    let refused = lms(&db, &["restore", "/nonexistent/sauvegarde.db"], None);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("pg_restore"), "{}", refused.stderr);
    assert_eq!(refused.stderr.trim_end().lines().count(), 1, "{}", refused.stderr);
    skip_unless_backend(Backend::Sqlite, test, "lms backup/restore are SQLite-only; PostgreSQL uses pg_dump/pg_restore")
}

fn sqlite_path(db: &TestDb) -> PathBuf {
    match &db.url {
        lms_core::DatabaseUrl::Sqlite(path) => path.clone(),
        lms_core::DatabaseUrl::Postgres(_) => panic!("SQLite database expected"),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", path.display()))
}

/// The e-mails of the accounts in a SQLite file, read with `lms user list --json`.
fn emails_in(path: &Path) -> Vec<String> {
    let out = lms_with_url(Some(&format!("sqlite://{}", path.display())), &["user", "list", "--json"], None);
    assert_eq!(out.code, 0, "{}: {}", path.display(), out.stderr);
    let users: Value = serde_json::from_str(&out.stdout).expect("JSON");
    users.as_array().expect("array").iter().map(|u| u["email"].as_str().expect("email").to_owned()).collect()
}

/// Signs up `count` accounts through the server; returns the e-mails it acknowledged (202).
/// Each from its own loopback address, under the per-address sign-up limit.
async fn sign_up(_client: &reqwest::Client, base: &str, prefix: &str, count: usize) -> Vec<String> {
    let mut acknowledged = Vec::new();
    for index in 0..count {
        let email = format!("{prefix}{index}@example.org");
        let octet = u8::try_from(prefix.len() * 16 % 200 + index % 50 + 2).unwrap();
        let from = std::net::IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 2, octet));
        let client = reqwest::Client::builder().local_address(from).build().unwrap();
        let response = client
            .post(format!("{base}/api/v1/accounts"))
            .json(&serde_json::json!({"email": email, "name": email, "password": PASSWORD}))
            .send()
            .await
            .expect("sign up");
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{email}");
        acknowledged.push(email);
    }
    acknowledged
}

#[tokio::test]
async fn restore_is_refused_while_the_server_runs_and_keeps_every_acknowledged_write_after_kill_9() {
    if skip_on_postgres("restore_is_refused_while_the_server_runs…") {
        return;
    }
    let db = TestDb::sqlite(Seed::Empty);
    let path = sqlite_path(&db);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("sauvegarde.db");
    let mut server = ServerProcess::start(&db.url_string).await;
    let client = reqwest::Client::new();

    let before_backup = sign_up(&client, &server.base, "avant", 5).await;
    let out = lms(&db, &["backup", "--out", backup.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "backup is safe while the server runs: {}", out.stderr);
    let after_backup = sign_up(&client, &server.base, "apres", 20).await;

    // Refused while the server holds the database: one French line, nothing changed.
    let refused = lms(&db, &["restore", backup.to_str().unwrap()], None);
    assert_eq!(refused.code, 1, "restore must be refused while lms-server runs: {}", refused.stdout);
    assert_eq!(refused.stderr.trim_end().lines().count(), 1, "{}", refused.stderr);
    assert!(refused.stderr.starts_with("erreur [database_in_use] : "), "{}", refused.stderr);
    assert!(refused.stderr.contains("utilisée par un autre processus"), "{}", refused.stderr);
    assert!(!with_suffix(&path, ".before-restore").exists(), "nothing written by a refused restore");
    // The server still works on the same file, and sees every write.
    let more = sign_up(&client, &server.base, "pendant", 3).await;
    let status = client.get(format!("{}/healthz", server.base)).send().await.expect("healthz").status();
    assert_eq!(status, StatusCode::OK);

    server.kill_9();
    let wal = with_suffix(&path, "-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    eprintln!("after kill -9: {} holds {wal_bytes} bytes", wal.display());

    let restored = lms(&db, &["restore", backup.to_str().unwrap(), "--json"], None);
    assert_eq!(restored.code, 0, "restore after the server stopped: {}", restored.stderr);
    assert!(!wal.exists(), "the old -wal is gone once the safety copy holds it");

    let now = emails_in(&path);
    for email in &before_backup {
        assert!(now.contains(email), "{email} (in the backup) restored");
    }
    assert_eq!(now.len(), before_backup.len(), "restored to the backup");
    let safety = with_suffix(&path, ".before-restore");
    let kept = emails_in(&safety);
    let acknowledged: Vec<&String> = before_backup.iter().chain(&after_backup).chain(&more).collect();
    let lost: Vec<&&String> =
        acknowledged.iter().filter(|email| !now.contains(email) && !kept.contains(email)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost by the restore: {lost:?}");
    assert_eq!(kept.len(), acknowledged.len(), "the safety copy is the database as the server left it");
}

#[tokio::test]
async fn several_servers_share_one_sqlite_file_and_block_a_restore_together() {
    if skip_on_postgres("several_servers_share_one_sqlite_file…") {
        return;
    }
    let db = TestDb::sqlite(Seed::Empty);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("sauvegarde.db");
    assert_eq!(lms(&db, &["backup", "--out", backup.to_str().unwrap()], None).code, 0);
    let first = spawn_server(&db).await;
    let second = spawn_server(&db).await;
    let client = reqwest::Client::new();
    for address in [first, second] {
        let status = client.get(format!("http://{address}/healthz")).send().await.expect("healthz").status();
        assert_eq!(status, StatusCode::OK, "both servers run on the same file");
    }
    let refused = lms(&db, &["restore", backup.to_str().unwrap()], None);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(refused.stderr.contains("utilisée par un autre processus"), "{}", refused.stderr);
}

#[test]
fn a_backup_from_a_newer_version_is_refused_and_nothing_changes() {
    if skip_on_postgres("a_backup_from_a_newer_version_is_refused…") {
        return;
    }
    let db = TestDb::sqlite(Seed::Empty);
    let path = sqlite_path(&db);
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("future.db");
    assert_eq!(lms(&db, &["backup", "--out", backup.to_str().unwrap()], None).code, 0);
    {
        let mut conn = lms_core::db::connect(&lms_core::DatabaseUrl::Sqlite(backup.clone())).unwrap();
        conn.batch_execute(
            "INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('29991231000001', CURRENT_TIMESTAMP)",
        )
        .unwrap();
    }
    let added = lms(
        &db,
        &["user", "add", "--email", "reste@example.org", "--name", "Reste", "--role", "admin", "--password-stdin"],
        Some("un mot de passe solide\n"),
    );
    assert_eq!(added.code, 0, "{}", added.stderr);
    let refused = lms(&db, &["restore", backup.to_str().unwrap()], None);
    assert_eq!(refused.code, 1, "a backup made by a newer version must be refused: {}", refused.stdout);
    assert!(refused.stderr.contains("plus récente"), "{}", refused.stderr);
    assert!(refused.stderr.contains("29991231000001"), "{}", refused.stderr);
    assert!(refused.stderr.contains(backup.to_str().unwrap()), "names the file: {}", refused.stderr);
    assert_eq!(emails_in(&path), vec!["reste@example.org".to_owned()], "database untouched");
    assert!(!with_suffix(&path, ".before-restore").exists());
}

#[test]
fn backup_and_restore_errors_name_the_file_not_the_database_url() {
    if skip_on_postgres("backup_and_restore_errors_name_the_file…") {
        return;
    }
    let db = TestDb::sqlite(Seed::Empty);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absente.db");
    let out = lms(&db, &["restore", missing.to_str().unwrap()], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(missing.to_str().unwrap()), "{}", out.stderr);
    assert!(!out.stderr.contains("DATABASE_URL"), "not a URL problem: {}", out.stderr);
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "SQLite format 3\0 but nothing else").unwrap();
    let out = lms(&db, &["restore", junk.to_str().unwrap()], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(junk.to_str().unwrap()), "{}", out.stderr);
    assert!(!out.stderr.contains("DATABASE_URL"), "{}", out.stderr);
    let existing = dir.path().join("existe.db");
    std::fs::write(&existing, "x").unwrap();
    let out = lms(&db, &["backup", "--out", existing.to_str().unwrap()], None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(existing.to_str().unwrap()) && !out.stderr.contains("DATABASE_URL"), "{}", out.stderr);
}

#[test]
fn a_command_at_work_blocks_a_restore_and_waits_for_one() {
    if skip_on_postgres("a_command_at_work_blocks_a_restore_and_waits_for_one") {
        return;
    }
    let db = TestDb::new(Seed::Reference);
    let database = sqlite_path(&db);
    // A restore in progress (the exclusive lock): a command waits instead of reading a file
    // that is being replaced…
    let restoring = lms_core::db::lock::try_exclusive(&database).unwrap();
    let mut command = Command::new(binary("lms"))
        .args(["venue", "list"])
        .env("DATABASE_URL", &db.url_string)
        .env("LMS_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(command.try_wait().unwrap().is_none(), "the command did not wait for the restore");
    // …and goes on as soon as it is over.
    drop(restoring);
    let started = Instant::now();
    loop {
        if let Some(status) = command.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the command never resumed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While a command holds the database, a restore is refused: the test holds the shared lock
    // the way `lms` does.
    let working = lms_core::db::lock::hold_shared(&db.url).unwrap();
    let backup = database.with_extension("backup.db");
    assert_eq!(lms(&db, &["backup", "--out", backup.to_str().unwrap()], None).code, 0);
    let refused = lms(&db, &["restore", backup.to_str().unwrap()], None);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("utilisée par un autre processus"), "{}", refused.stderr);
    drop(working);
    assert_eq!(lms(&db, &["restore", backup.to_str().unwrap()], None).code, 0);
}
