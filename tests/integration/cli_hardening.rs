//! The CLI on hostile ground: a read-only database, errors that must stay one readable line, a
//! closed pipe, and keys folders or files that are too open or damaged.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use lms_tests::{Backend, CliOutput, Seed, TestDb, backend, binary, lms, lms_with_url, skip_unless_backend};

/// Runs `lms` with `LMS_KEYS_DIR` set (no database involved).
fn lms_keys(dir: &Path, args: &[&str]) -> CliOutput {
    let output = Command::new(binary("lms"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("LMS_LOG", "error")
        .env("LMS_KEYS_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("lms");
    CliOutput {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_one_error_line(out: &CliOutput) {
    assert_eq!(out.code, 1, "stdout: {}", out.stdout);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line per refusal: {:?}", out.stderr);
    // `erreur [code] : message`, with the stable code the API also returns.
    let code = out.stderr.strip_prefix("erreur [").and_then(|rest| rest.split_once("] : ")).map(|(code, _)| code);
    assert!(
        code.is_some_and(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')),
        "{:?}",
        out.stderr
    );
    assert!(!out.stderr.contains('\u{1b}'), "no colour codes: {:?}", out.stderr);
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// Read-only commands work on a database the account may not (or was told not to) change: a
/// chmod 444 file, and a chmod 444 file in a chmod 555 folder. Nothing is created or modified
/// there (which is what makes this testable as root too, whom chmod does not stop), and a write
/// is refused with one clear line.
#[cfg(unix)]
#[test]
fn read_only_commands_work_on_a_read_only_database_and_writes_are_refused_clearly() {
    if skip_unless_backend(Backend::Sqlite, "read_only_commands…", "file permissions concern the SQLite file only") {
        return;
    }
    let db = TestDb::sqlite(Seed::Reference);
    let lms_core::DatabaseUrl::Sqlite(original) = &db.url else { panic!("SQLite expected") };
    let dir = tempfile::tempdir().unwrap();
    for (case, folder_mode) in [("fichier", None), ("dossier", Some(0o555))] {
        let folder: PathBuf = dir.path().join(case);
        std::fs::create_dir(&folder).unwrap();
        let path = folder.join("lms.db");
        std::fs::copy(original, &path).unwrap();
        set_mode(&path, 0o444);
        if let Some(mode) = folder_mode {
            set_mode(&folder, mode);
        }
        let bytes = std::fs::read(&path).unwrap();
        let files = listing(&folder);
        let url = format!("sqlite://{}", path.display());
        for args in [&["session", "list"][..], &["course", "list", "--json"], &["venue", "list"]] {
            let out = lms_with_url(Some(&url), args, None);
            assert_eq!(out.code, 0, "{case}: lms {args:?} on a read-only database: {}", out.stderr);
        }
        let courses: serde_json::Value =
            serde_json::from_str(&lms_with_url(Some(&url), &["course", "list", "--json"], None).stdout)
                .expect("course list JSON");
        assert!(courses.as_array().is_some_and(|c| !c.is_empty()), "{case}: the data is read");
        let write = lms_with_url(
            Some(&url),
            &["user", "add", "--email", "ro@example.org", "--name", "RO", "--role", "admin", "--password-stdin"],
            Some("un mot de passe solide\n"),
        );
        assert_one_error_line(&write);
        assert!(write.stderr.contains("lecture seule"), "{case}: {}", write.stderr);
        if folder_mode.is_some() {
            assert_eq!(listing(&folder), files, "{case}: nothing created in a read-only folder");
        }
        assert!(std::fs::read(&path).unwrap() == bytes, "{case}: a read-only file is left byte for byte");
        set_mode(&folder, 0o755);
        set_mode(&path, 0o644);
    }
}

#[test]
fn an_internal_error_is_one_plain_line() {
    let db = TestDb::new(Seed::Empty);
    let mut conn = db.conn();
    let statement = match backend() {
        Backend::Sqlite => "DROP TABLE venues",
        Backend::Postgres => "DROP TABLE venues CASCADE",
    };
    conn.batch_execute(statement).unwrap();
    drop(conn);
    let out = lms(&db, &["venue", "list"], None);
    assert_one_error_line(&out);
}

/// An import whose every row is wrong lists every row in its refusal: megabytes on one "line".
/// The line is cut, with « … » to say so.
#[test]
fn a_huge_refusal_is_cut_to_one_readable_line() {
    let db = TestDb::new(Seed::Demo);
    let sessions: serde_json::Value =
        serde_json::from_str(&lms(&db, &["session", "list", "--json"], None).stdout).expect("session list JSON");
    let session = sessions[0]["id"].as_str().expect("a demo session").to_owned();
    let mut csv = String::from("trainee,competence,result\n");
    for index in 0..20_000 {
        csv.push_str(&format!("personne{index}@example.org,C{index},acquired\n"));
    }
    let out = lms(&db, &["assess", "import", "--session", &session, "-"], Some(&csv));
    assert_one_error_line(&out);
    let line = out.stderr.trim_end();
    let message = line.split_once("] : ").map(|(_, message)| message).unwrap_or(line);
    assert!(message.chars().count() <= 501, "{} characters", message.chars().count());
    assert!(line.ends_with('…'), "says it was cut: {line}");
}

/// A CHECK constraint of the schema (both backends) is reported in French, not in the driver's
/// words (`CHECK constraint failed: …` / `violates check constraint …`).
#[test]
fn a_check_constraint_violation_reads_as_french() {
    let db = TestDb::new(Seed::Empty);
    let mut conn = db.conn();
    let refused = diesel::sql_query(
        "INSERT INTO communes (insee, name, name_search, departement, region, population, lat, lon, half_diag_km, point_source) \
         VALUES ('99999', 'Nulle part', 'nulle part', '99', '99', 1, 123.0, 0.0, 1.0, 'bbox')",
    )
    .execute(&mut conn)
    .map_err(lms_core::DbError::from);
    let error = refused.expect_err("latitude 123 is out of range");
    assert!(error.is_constraint_violation(), "{error:?}");
    let message = error.to_string();
    assert!(message.starts_with("valeur refusée"), "{message}");
    assert!(!message.contains("CHECK constraint failed") && !message.contains("violates"), "{message}");
    assert!(message.contains("lat"), "names what was refused: {message}");
}

/// `lms … | head`: the reader goes away; lms ends quietly instead of panicking.
#[test]
fn a_closed_pipe_ends_lms_quietly() {
    let db = TestDb::new(Seed::Reference);
    let mut child = Command::new(binary("lms"))
        .args(["venue", "list"])
        .env("DATABASE_URL", &db.url_string)
        .env("LMS_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lms");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("lms");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// The same for commands that print several lines of their own (not through a table).
#[test]
fn a_closed_pipe_ends_line_by_line_commands_quietly() {
    let db = TestDb::new(Seed::Demo);
    for args in [&["session", "show", "PTL-NA-DEMO-0"][..], &["documents", "settings"][..]] {
        let mut child = Command::new(binary("lms"))
            .args(args)
            .env("DATABASE_URL", &db.url_string)
            .env("LMS_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lms");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("lms");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn keys_in_a_folder_or_file_others_can_write_are_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let init = lms_keys(&keys, &["keys", "init"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert_eq!(lms_keys(&keys, &["keys", "show"]).code, 0);

    for (mode, what) in [(0o777, "world"), (0o770, "group")] {
        set_mode(&keys, mode);
        let out = lms_keys(&keys, &["keys", "show"]);
        assert_one_error_line(&out);
        assert!(out.stderr.contains(keys.to_str().unwrap()), "{what}-writable folder named: {}", out.stderr);
        assert!(out.stderr.contains("chmod 700"), "{}", out.stderr);
    }
    set_mode(&keys, 0o700);
    let public = keys.join("signing-key.pub.jwk");
    set_mode(&public, 0o666);
    let out = lms_keys(&keys, &["keys", "show"]);
    assert_one_error_line(&out);
    assert!(out.stderr.contains(public.to_str().unwrap()) && out.stderr.contains("chmod"), "{}", out.stderr);
    set_mode(&public, 0o644);
    assert_eq!(lms_keys(&keys, &["keys", "show"]).code, 0);
}

#[cfg(unix)]
#[test]
fn keys_show_fails_on_a_damaged_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert_eq!(lms_keys(&keys, &["keys", "init"]).code, 0);
    let secret = keys.join("signing-key.ed25519");
    let original = std::fs::read(&secret).unwrap();
    // Truncated, then a well-formed secret that is not the one the public key belongs to.
    for damaged in ["00112233\n".to_owned(), format!("{}\n", "1".repeat(64))] {
        std::fs::write(&secret, &damaged).unwrap();
        let out = lms_keys(&keys, &["keys", "show"]);
        assert_one_error_line(&out);
        assert!(out.stderr.contains("invalide"), "{}", out.stderr);
    }
    std::fs::write(&secret, &original).unwrap();
    std::fs::write(keys.join("signing-key.pub.jwk"), "{ pas du JSON").unwrap();
    let out = lms_keys(&keys, &["keys", "show"]);
    assert_one_error_line(&out);
}

/// The global options come from clap with their variables: an invalid one is refused before
/// anything runs, naming the option; the folder and address can be given either way.
#[test]
fn invalid_global_settings_are_refused_at_start() {
    let db = TestDb::new(Seed::Reference);
    let output = Command::new(binary("lms"))
        .args(["venue", "list"])
        .env("DATABASE_URL", &db.url_string)
        .env("LMS_PUBLIC_URL", "formation.example.org")
        .output()
        .expect("lms");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--public-url"), "{stderr}");
    let help = Command::new(binary("lms")).arg("--help").output().expect("lms");
    let help = String::from_utf8_lossy(&help.stdout);
    for variable in ["DATABASE_URL", "LMS_KEYS_DIR", "LMS_PUBLIC_URL", "LMS_LOG"] {
        assert!(help.contains(variable), "{variable} missing from --help: {help}");
    }
    let server_help = Command::new(binary("lms-server")).arg("--help").output().expect("lms-server");
    let server_help = String::from_utf8_lossy(&server_help.stdout);
    for variable in [
        "DATABASE_URL",
        "LMS_BIND",
        "LMS_PUBLIC_URL",
        "LMS_STARTUP_DATA",
        "LMS_DB_POOL_SIZE",
        "LMS_SECURE_COOKIES",
        "LMS_SMTP_URL",
        "LMS_MAIL_FROM",
        "LMS_TRAVEL_DETOUR",
        "LMS_TRAVEL_SPEED_KMH",
        "LMS_TRAVEL_FIXED_MIN",
        "LMS_KEYS_DIR",
        "LMS_TRUSTED_PROXIES",
        "LMS_HSTS_MAX_AGE",
        "LMS_HEADER_TIMEOUT_SECS",
        "LMS_MAX_CONNECTIONS",
        "LMS_LOG",
        "LMS_LOG_FORMAT",
    ] {
        assert!(server_help.contains(&format!("[env: {variable}")), "{variable} missing from lms-server --help");
    }
    let refused = Command::new(binary("lms-server")).env("LMS_DB_POOL_SIZE", "0").output().expect("lms-server");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--db-pool-size"));
}
