//! The `lms` command line: contracts relied on by scripts, exit codes, one-line errors.

use lms_tests::{Seed, TestDb, lms, lms_with_url};
use serde_json::Value;

fn json(output: &lms_tests::CliOutput) -> Value {
    assert_eq!(output.code, 0, "stderr: {}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn next_weekday_in(days: i64) -> String {
    let mut date = lms_core::catalogue::paris_today() + chrono::Duration::days(days);
    while matches!(chrono::Datelike::weekday(&date), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        date = date.succ_opt().unwrap();
    }
    date.to_string()
}

#[test]
fn demo_load_then_session_list_json_lists_the_demo_sessions() {
    let db = TestDb::new(Seed::Empty);
    let loaded = lms(&db, &["fixtures", "load", "--demo", "--json"], None);
    let report = json(&loaded);
    assert!(report["training_sessions"].as_u64().unwrap() >= 10);
    let again = json(&lms(&db, &["fixtures", "load", "--demo", "--json"], None));
    assert_eq!(again["training_sessions"], 0);
    assert_eq!(again["communes"], 0);

    let sessions = json(&lms(&db, &["session", "list", "--json"], None));
    let sessions = sessions.as_array().unwrap();
    assert!(sessions.len() >= 10);
    for session in sessions {
        for key in ["id", "course", "venue", "start", "end", "capacity", "confirmed", "waitlisted", "status"] {
            assert!(session.get(key).is_some(), "missing {key} in {session}");
        }
    }
    let full = sessions.iter().find(|s| s["waitlisted"].as_i64().unwrap() > 0).expect("a session with a waitlist");
    assert_eq!(full["confirmed"], full["capacity"]);

    let venues = json(&lms(&db, &["venue", "list", "--json"], None));
    for venue in venues.as_array().unwrap() {
        for key in ["id", "slug", "name", "insee", "lat", "lon"] {
            assert!(venue.get(key).is_some(), "missing {key} in {venue}");
        }
    }
    let courses = json(&lms(&db, &["course", "list", "--json"], None));
    assert!(courses.as_array().unwrap().iter().any(|c| c["code"] == "PTL" && c["title"] == "Piloter un tiers-lieu"));

    let table = lms(&db, &["session", "list"], None);
    assert_eq!(table.code, 0);
    assert!(table.stdout.contains("PTL"));
}

#[test]
fn users_sessions_and_publication_from_the_command_line() {
    let db = TestDb::new(Seed::Reference);
    let added = json(&lms(
        &db,
        &[
            "user",
            "add",
            "--email",
            "Formatrice@Example.org",
            "--name",
            "Inès Test",
            "--role",
            "trainer",
            "--password-stdin",
            "--json",
        ],
        Some("un mot de passe solide\n"),
    ));
    assert_eq!(added["email"], "formatrice@example.org");
    assert!(added.get("password_hash").is_none());
    let users = json(&lms(&db, &["user", "list", "--json"], None));
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert!(!users.to_string().contains("argon2"), "hashes never leave the core");

    let start = next_weekday_in(30);
    let created = json(&lms(
        &db,
        &[
            "session",
            "create",
            "--course",
            "ANIM",
            "--venue",
            "rupellab-la-rochelle",
            "--start",
            &start,
            "--days",
            "2",
            "--capacity",
            "12",
            "--trainer",
            "formatrice@example.org",
            "--json",
        ],
        None,
    ));
    assert_eq!(created["status"], "draft");
    assert_eq!(created["course"], "ANIM");
    assert_eq!(created["venue"], "rupellab-la-rochelle");
    assert_eq!(created["start"], start);
    assert_eq!(created["capacity"], 12);
    assert_eq!(created["confirmed"], 0);
    let id = created["id"].as_str().unwrap();
    let shown = json(&lms(&db, &["session", "show", id, "--json"], None));
    assert_eq!(shown["half_days"].as_array().unwrap().len(), 4);
    assert_eq!(shown["scheduled_hours"], 14.0);
    let published = json(&lms(&db, &["session", "publish", id, "--json"], None));
    assert_eq!(published["status"], "published");
    let listed = json(&lms(&db, &["session", "list", "--json", "--status", "published"], None));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

/// `lms session create` of two days, with `more` options after the usual ones.
fn create_args<'a>(
    course: &'a str,
    venue: &'a str,
    start: &'a str,
    capacity: &'a str,
    more: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["session", "create", "--course", course, "--venue", venue, "--start", start];
    args.extend(["--days", "2", "--capacity", capacity]);
    args.extend_from_slice(more);
    args
}

#[test]
fn refusals_exit_1_with_one_line_and_write_nothing() {
    let db = TestDb::new(Seed::Reference);
    let start = next_weekday_in(30);
    let cases: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (create_args("NOPE", "rupellab-la-rochelle", &start, "5", &[]), None, "formation inconnue"),
        (create_args("ANIM", "nulle-part", &start, "5", &[]), None, "lieu inconnu"),
        (create_args("ANIM", "rupellab-la-rochelle", &start, "0", &[]), None, "capacité"),
        (create_args("ANIM", "rupellab-la-rochelle", "2020-01-06", "5", &[]), None, "futur"),
        (
            create_args("ANIM", "rupellab-la-rochelle", &start, "5", &["--trainer", "inconnu@example.org"]),
            None,
            "formateur inconnu",
        ),
        (vec!["session", "publish", "not-a-uuid"], None, "session inconnue"),
        (vec!["session", "publish", "01a20241-8b82-75c2-aa43-aa91d940966b"], None, "session inconnue"),
        (
            vec!["user", "add", "--email", "pas-un-email", "--name", "X", "--role", "trainee", "--password-stdin"],
            Some("un mot de passe solide"),
            "adresse e-mail invalide",
        ),
        (
            vec!["user", "add", "--email", "a@example.org", "--name", "X", "--role", "trainee", "--password-stdin"],
            Some("court"),
            "au moins 10",
        ),
    ];
    for (args, stdin, expected) in cases {
        let output = lms(&db, &args, stdin);
        assert_eq!(output.code, 1, "{args:?}: {output:?}");
        assert_eq!(output.stderr.trim_end().lines().count(), 1, "{args:?}: {}", output.stderr);
        assert!(output.stderr.contains(expected), "{args:?}: {}", output.stderr);
    }
    let sessions = json(&lms(&db, &["session", "list", "--json"], None));
    assert_eq!(sessions.as_array().unwrap().len(), 0);
    let users = json(&lms(&db, &["user", "list", "--json"], None));
    assert_eq!(users.as_array().unwrap().len(), 0);
}

#[test]
fn usage_errors_exit_2() {
    let db = TestDb::new(Seed::Empty);
    for args in [
        vec!["session", "create"],
        vec!["nonsense"],
        vec!["user", "add", "--email", "a@b.fr", "--name", "x", "--role", "king", "--password-stdin"],
        vec![
            "session",
            "create",
            "--course",
            "X",
            "--venue",
            "y",
            "--start",
            "2027-13-45",
            "--days",
            "1",
            "--capacity",
            "1",
        ],
    ] {
        let output = lms(&db, &args, None);
        assert_eq!(output.code, 2, "{args:?}: {output:?}");
    }
}

#[test]
fn a_bad_database_url_gives_one_clear_line() {
    for (url, expected) in [
        ("mysql://root@localhost/lms", "non pris en charge"),
        ("postgres://nobody:hunter2@127.0.0.1:1/lms?connect_timeout=2", "impossible d'ouvrir"),
        ("/nonexistent-folder-xyz/lms.db", "n'existe pas"),
    ] {
        let output = lms_with_url(Some(url), &["venue", "list"], None);
        assert_eq!(output.code, 1, "{url}: {output:?}");
        assert_eq!(output.stderr.trim_end().lines().count(), 1, "{url}: {}", output.stderr);
        assert!(output.stderr.contains(expected), "{url}: {}", output.stderr);
        assert!(!output.stderr.contains("hunter2"), "password leaked: {}", output.stderr);
    }
    // An unmigrated database is named as such.
    let dir = tempfile::tempdir().unwrap();
    let fresh = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let output = lms_with_url(Some(&fresh), &["venue", "list"], None);
    assert_eq!(output.code, 1);
    assert!(output.stderr.contains("lms db migrate"), "{}", output.stderr);
    let migrated = lms_with_url(Some(&fresh), &["db", "migrate"], None);
    assert_eq!(migrated.code, 0, "{migrated:?}");
    assert!(migrated.stdout.contains("migration appliquée"));
}
