//! Courses as data: `lms course import|show --toml|archive`, the round trip of every demo
//! course, upserts, refusals that write nothing, archiving's effects, the enrolment deadline and
//! the public catalogue page `/formations`.

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::catalogue::{self, CourseFile};
use lms_core::db::schema::{courses, training_sessions};
use lms_core::enrolment::{self, EnrolmentRequest};
use lms_tests::{CliOutput, Seed, TestDb, get, lms, send, test_app};
use serde_json::Value;

fn json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stdout: {} stderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput, code: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert!(output.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", output.stderr);
    assert_eq!(output.stderr.trim_end().lines().count(), 1, "{}", output.stderr);
}

fn next_weekday_in(days: i64) -> String {
    let mut date = catalogue::paris_today() + chrono::Duration::days(days);
    while matches!(chrono::Datelike::weekday(&date), chrono::Weekday::Sat | chrono::Weekday::Sun) {
        date = date.succ_opt().unwrap();
    }
    date.to_string()
}

/// A complete course on request, in the import format; `{extra}` lines go in the table.
fn course_toml(code: &str, extra: &str) -> String {
    format!(
        r#"[[course]]
code = "{code}"
title = "Documenter les pratiques d'un tiers-lieu"
summary = "Un jour pour documenter ce qui se fait dans son lieu."
objectives = ["Choisir ce qui vaut d'être documenté", "Publier une fiche de pratique"]
prerequisites = ["Participer à la vie d'un tiers-lieu"]
public = "Membres et animateur·rices de tiers-lieux."
content = ["1. Pourquoi documenter", "2. Outils et licences"]
duration_days = 1
duration_hours = 7
modalities = "Présentiel, dans un tiers-lieu de la région."
price_cents = 35000
pricing_note = "350 € net de taxe."
accessibility = "Ouverte aux personnes en situation de handicap."
evaluation_modalities = "Fiche de pratique publiée en fin de journée."
nsf_code = "310p"
formacode = "13175"
rome_codes = ["K1802", "M1503"]
nature = "action_formation"
objective_category = "other"
modules = ["Pourquoi documenter", "Outils et licences"]
enrolment_deadline_days = 10
admission = "on_request"
positioning_questions = ["Que voulez-vous documenter ?"]
{extra}
[course.contact]
name = "Équipe pédagogique"
email = "formation@example.org"
phone = "05 46 00 00 00"

[[course.programme]]
module = "Pourquoi documenter"
content = ["Communs et documentation", "Exemples de fiches"]
"#
    )
}

fn import(db: &TestDb, text: &str) -> CliOutput {
    lms(db, &["course", "import", "-", "--json"], Some(text))
}

fn course_rows(db: &TestDb) -> Vec<Value> {
    json(&lms(db, &["course", "list", "--json"], None)).as_array().unwrap().clone()
}

#[test]
fn every_demo_course_round_trips_through_show_toml_and_import() {
    let db = TestDb::new(Seed::Demo);
    let before = course_rows(&db);
    assert_eq!(before.len(), 6);
    for course in &before {
        let code = course["code"].as_str().unwrap();
        let shown = lms(&db, &["course", "show", code, "--toml"], None);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        // The printed text is the import format, and reads back to the stored course.
        let mut conn = db.conn();
        let stored = catalogue::find_course(&mut conn, code).unwrap().to_spec();
        let parsed = CourseFile::parse(&shown.stdout).unwrap();
        assert_eq!(parsed.courses, vec![stored.clone()], "{code}");
        let report = json(&import(&db, &shown.stdout));
        assert_eq!(report, serde_json::json!({"created": 0, "updated": 1}), "{code}");
        assert_eq!(catalogue::find_course(&mut conn, code).unwrap().to_spec(), stored, "{code}");
    }
    assert_eq!(course_rows(&db), before, "importing what show prints changes nothing");
}

#[test]
fn import_creates_then_updates_by_code_and_leaves_sessions_alone() {
    let db = TestDb::new(Seed::Demo);
    let report = json(&import(&db, &course_toml("DOC", "")));
    assert_eq!(report, serde_json::json!({"created": 1, "updated": 0}));
    let shown = json(&lms(&db, &["course", "show", "DOC", "--json"], None));
    assert_eq!(shown["admission"], "on_request");
    assert_eq!(shown["enrolment_deadline_days"], 10);
    assert_eq!(shown["rome_codes"], serde_json::json!(["K1802", "M1503"]));
    assert_eq!(shown["contact"]["email"], "formation@example.org");
    assert_eq!(shown["programme"][0]["module"], "Pourquoi documenter");
    assert_eq!(shown["archived_at"], Value::Null);

    // Changing the price and duration of a course that has sessions rewrites none of them.
    let session_before = json(&lms(&db, &["session", "show", "ECO-DEMO-LIBOURNE", "--json"], None));
    let eco = lms(&db, &["course", "show", "ECO", "--toml"], None).stdout;
    let changed =
        eco.replace("price_cents = 70000", "price_cents = 90000").replace("duration_days = 2", "duration_days = 3");
    assert_ne!(changed, eco);
    let two = format!("{changed}\n{}", course_toml("DOC", "").replace("price_cents = 35000", "price_cents = 0"));
    assert_eq!(json(&import(&db, &two)), serde_json::json!({"created": 0, "updated": 2}));
    let eco = json(&lms(&db, &["course", "show", "ECO", "--json"], None));
    assert_eq!((eco["price_cents"].as_i64(), eco["duration_days"].as_i64()), (Some(90000), Some(3)));
    assert_eq!(json(&lms(&db, &["course", "show", "DOC", "--json"], None))["price_cents"], 0);
    assert_eq!(json(&lms(&db, &["session", "show", "ECO-DEMO-LIBOURNE", "--json"], None)), session_before);

    // The readable summary names what an operator checks.
    let summary = lms(&db, &["course", "show", "DOC"], None);
    assert!(summary.stdout.contains("Admission : Sur demande"), "{}", summary.stdout);
    assert!(summary.stdout.contains("10 jour(s) avant"), "{}", summary.stdout);
}

#[test]
fn every_bad_course_file_is_one_clear_refusal_and_writes_nothing() {
    let db = TestDb::new(Seed::Demo);
    let good = course_toml("DOC", "");
    let cases: Vec<(String, &str)> = vec![
        (course_toml("DOC", "colour = \"bleu\""), "colour"),
        (good.replace("formacode = \"13175\"", "formacode = \"1317\""), "formacode"),
        (good.replace("price_cents = 35000", "price_cents = -1"), "price_cents"),
        (format!("{good}\n{good}"), "deux fois"),
        (course_toml("DOC", "certification = \"RS0000\""), "certification inconnue"),
        (good.replace("\"M1503\"", "\"M150\""), "rome_codes"),
        (good.replace("nsf_code = \"310p\"", "nsf_code = \"31\""), "nsf_code"),
        (
            good.replace("positioning_questions = [\"Que voulez-vous documenter ?\"]", "positioning_questions = []"),
            "positioning_questions",
        ),
        (good.replace("admission = \"on_request\"", "admission = \"maybe\""), "mode d'admission"),
        (good.replace("enrolment_deadline_days = 10", "enrolment_deadline_days = -2"), "enrolment_deadline_days"),
        (good.replace("email = \"formation@example.org\"", "email = \"pas-un-courriel\""), "contact.email"),
        (good.replace("module = \"Pourquoi documenter\"", "module = \"Ailleurs\""), "programme"),
        (good.replace("nature = \"action_formation\"", "nature = \"stage\""), "nature"),
        ("pas du toml [".to_owned(), "fichier de formations"),
    ];
    let before = course_rows(&db);
    for (text, needle) in cases {
        // Each file also carries a valid update of ECO, which must not be written either.
        let eco = lms(&db, &["course", "show", "ECO", "--toml"], None)
            .stdout
            .replace("price_cents = 70000", "price_cents = 1");
        let output = import(&db, &format!("{eco}\n{text}"));
        refused(&output, "invalid_input");
        assert!(output.stderr.contains(needle), "{needle}: {}", output.stderr);
        assert_eq!(course_rows(&db), before, "{needle}: nothing written");
    }
    // The refusal names the course and the field.
    let output = import(&db, &good.replace("formacode = \"13175\"", "formacode = \"ABCDE\""));
    assert!(output.stderr.contains("formation DOC, champ formacode"), "{}", output.stderr);
}

#[tokio::test]
async fn an_archived_course_leaves_the_offer_but_its_sessions_keep_working() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (status, _, page) = send(&app, get("/formations")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Modèle économique et pilotage financier"), "ECO is offered");

    let archived = json(&lms(&db, &["course", "archive", "ECO", "--json"], None));
    assert!(archived["archived_at"].is_string());
    let listed = course_rows(&db);
    let eco = listed.iter().find(|c| c["code"] == "ECO").unwrap();
    assert!(eco["archived_at"].is_string(), "course list shows the archived state");
    let table = lms(&db, &["course", "list"], None).stdout;
    assert!(table.lines().any(|l| l.contains("ECO") && l.contains("archivée")), "{table}");

    let (_, _, page) = send(&app, get("/formations")).await;
    assert!(!page.contains("Modèle économique et pilotage financier"), "ECO left /formations");
    let (_, _, home) = send(&app, get("/")).await;
    assert!(!home.contains("ECO-DEMO"), "ECO's sessions left the home page");
    assert!(!home.contains("Modèle économique et pilotage financier"), "and its course the search form");
    let (status, _, found) = send(&app, get("/api/v1/sessions/search?near=64000&minutes=120")).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(!found.contains("ECO-DEMO-PAU"), "search leaves it out: {found}");

    // Its sessions keep working; no new one may be created.
    assert_eq!(lms(&db, &["session", "show", "ECO-DEMO-LIBOURNE", "--json"], None).code, 0);
    let (status, _, _) = send(&app, get("/sessions/ECO-DEMO-LIBOURNE")).await;
    assert_eq!(status, StatusCode::OK);
    let start = next_weekday_in(60);
    let before: i64 = training_sessions::table.count().get_result(&mut db.conn()).unwrap();
    let output = lms(
        &db,
        &[
            "session",
            "create",
            "--course",
            "ECO",
            "--venue",
            "rupellab-la-rochelle",
            "--start",
            &start,
            "--days",
            "2",
            "--capacity",
            "5",
        ],
        None,
    );
    refused(&output, "wrong_status");
    assert!(output.stderr.contains("archivée"), "{}", output.stderr);
    assert_eq!(training_sessions::table.count().get_result::<i64>(&mut db.conn()).unwrap(), before);

    // Archiving twice keeps the first time; an unknown code is refused.
    assert_eq!(json(&lms(&db, &["course", "archive", "ECO", "--json"], None))["archived_at"], archived["archived_at"]);
    refused(&lms(&db, &["course", "archive", "NOPE"], None), "unknown_course");
}

#[tokio::test]
async fn the_catalogue_page_lists_courses_with_their_next_sessions_and_venues() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let (status, _, page) = send(&app, get("/formations")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<h1>Nos formations</h1>"));
    assert!(page.contains("href=\"/courses/PTL\""), "links the course page");
    assert!(page.contains("href=\"/lieux/limouzi-lab-limoges\""), "links the main venue of a session");
    assert!(page.contains("Sur demande, après positionnement"), "IMPACT's admission mode");
    assert!(page.contains("RS5142"), "the certification prepared");
    assert!(page.contains("href=\"/formations\""), "the navigation links it");
    let (_, _, home) = send(&app, get("/")).await;
    assert!(home.contains("href=\"/formations\""));
    // Drafts are not public.
    assert!(!page.contains("BROUILLON"), "no draft session");
    // The course page shows the offer's new facts.
    let (status, _, page) = send(&app, get("/courses/IMPACT")).await;
    assert_eq!(status, StatusCode::OK);
    for fact in [
        "Sur demande, après positionnement",
        "7 jours avant le début",
        "K1802",
        "Programme par module",
        "formation@demo.tierslieux.example.org",
    ] {
        assert!(page.contains(fact), "{fact}");
    }
}

#[tokio::test]
async fn enrolment_closes_the_course_deadline_before_the_first_half_day() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = lms_core::attendance::records::find_session(&mut conn, "ECO-DEMO-LIBOURNE").unwrap();
    let (closes, first_start): (Option<chrono::NaiveDateTime>, chrono::NaiveDateTime) = training_sessions::table
        .inner_join(lms_core::db::schema::half_days::table)
        .filter(training_sessions::id.eq(&session))
        .order(lms_core::db::schema::half_days::starts_at.asc())
        .select((training_sessions::enrolment_closes_at, lms_core::db::schema::half_days::starts_at))
        .first(&mut conn)
        .unwrap();
    let deadline: i32 = courses::table
        .filter(courses::code.eq("ECO"))
        .select(courses::enrolment_deadline_days)
        .first(&mut conn)
        .unwrap();
    assert_eq!(deadline, 7);
    let closes = closes.unwrap();
    assert_eq!(closes, first_start - chrono::Duration::days(7));

    let trainee = lms_core::people::add_user_without_password(
        &mut conn,
        "ponctuelle@example.org",
        "Ponctuelle",
        lms_core::people::Role::Trainee,
    )
    .unwrap();
    let caller = lms_core::access::caller_for(&mut conn, &trainee.id).unwrap();
    let request = EnrolmentRequest::default();
    let error = enrolment::enrol_as(&mut conn, &session, &caller, &request, closes).unwrap_err();
    assert_eq!(lms_core::Classify::code(&error), "enrolment_closed");
    let outcome =
        enrolment::enrol_as(&mut conn, &session, &caller, &request, closes - chrono::Duration::minutes(1)).unwrap();
    assert!(outcome.created);

    // The page says so once the deadline is past, and offers no form.
    let app = test_app(&db).await;
    let (_, _, page) = send(&app, get("/sessions/ECO-DEMO-PAU")).await;
    assert!(page.contains("Inscriptions ouvertes jusqu'au"), "{page}");
    diesel::update(training_sessions::table.filter(training_sessions::reference.eq("ECO-DEMO-PAU")))
        .set(training_sessions::enrolment_closes_at.eq(Some(lms_core::db::now() - chrono::Duration::hours(1))))
        .execute(&mut conn)
        .unwrap();
    let (status, _, page) = send(&app, get("/sessions/ECO-DEMO-PAU")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Inscriptions closes le"), "{page}");
    assert!(!page.contains("/enrol\""), "no enrolment form");
}
