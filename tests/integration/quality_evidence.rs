//! The Qualiopi evidence bundle (`lms quality evidence`): every documented indicator gets a CSV
//! and a PDF read back here, an empty period still gets its files saying nothing was recorded,
//! and every bad input is refused with nothing written.

use std::path::Path;
use std::process::Command;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::db::schema::{survey_invitations, survey_responses, surveys, training_sessions};
use lms_tests::{Seed, TestDb, lms};
use serde_json::Value;

use crate::certification::{DEMO_SESSION, ELIGIBLE, demo_session, options};

/// The last half-day of a session, by reference.
pub fn session_end(conn: &mut DbConn, reference: &str) -> NaiveDate {
    training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::ends_on)
        .first(conn)
        .expect("session")
}

/// Records an à chaud trainee questionnaire on `reference`, opened on its last day, with one
/// invitation per entry of `scores` (`None`: asked, no answer), in place of the demo's survey of
/// that session. Written through the tables, so that the figures under test are exactly these.
pub fn seed_satisfaction(conn: &mut DbConn, reference: &str, scores: &[Option<i32>]) {
    let session: String = training_sessions::table
        .filter(training_sessions::reference.eq(reference))
        .select(training_sessions::id)
        .first(conn)
        .expect("session");
    let opens_at: NaiveDateTime = session_end(conn, reference).and_hms_opt(16, 0, 0).unwrap();
    diesel::delete(surveys::table.filter(surveys::training_session_id.eq(&session))).execute(conn).unwrap();
    let survey = uuid::Uuid::now_v7().to_string();
    diesel::insert_into(surveys::table)
        .values((
            surveys::id.eq(&survey),
            surveys::training_session_id.eq(&session),
            surveys::audience.eq("trainee"),
            surveys::kind.eq("a_chaud"),
            surveys::title.eq("Votre avis à chaud"),
            surveys::questions.eq("[]"),
            surveys::anonymous.eq(false),
            surveys::opens_at.eq(opens_at),
            surveys::closes_at.eq(opens_at + chrono::Duration::days(14)),
            surveys::created_at.eq(opens_at),
        ))
        .execute(conn)
        .unwrap();
    for score in scores {
        let answered = score.map(|_| opens_at + chrono::Duration::hours(1));
        diesel::insert_into(survey_invitations::table)
            .values((
                survey_invitations::id.eq(uuid::Uuid::now_v7().to_string()),
                survey_invitations::survey_id.eq(&survey),
                survey_invitations::invited_at.eq(opens_at),
                survey_invitations::answered_at.eq(answered),
            ))
            .execute(conn)
            .unwrap();
        if let Some(score) = score {
            diesel::insert_into(survey_responses::table)
                .values((
                    survey_responses::id.eq(uuid::Uuid::now_v7().to_string()),
                    survey_responses::survey_id.eq(&survey),
                    survey_responses::satisfaction.eq(*score),
                    survey_responses::answers.eq("{}"),
                    survey_responses::submitted_at.eq(opens_at + chrono::Duration::hours(1)),
                ))
                .execute(conn)
                .unwrap();
        }
    }
}

/// Issues the first eligible demo candidate's certificate.
pub fn certify_one(db: &TestDb, dir: &Path) {
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = lms_core::certification::keys::Signer::ephemeral();
    lms_core::certification::issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &options(dir))
        .unwrap();
}

fn json(output: &lms_tests::CliOutput) -> Value {
    assert_eq!(output.code, 0, "stdout: {} stderr: {}", output.stdout, output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &lms_tests::CliOutput, words: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert!(output.stderr.starts_with("erreur ["), "{}", output.stderr);
    assert!(output.stderr.contains(words), "{words}: {}", output.stderr);
    assert_eq!(output.stderr.trim_end().lines().count(), 1, "{}", output.stderr);
}

/// Header and rows of a CSV file.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let at = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("column {column} in {header:?}"));
    &row[at]
}

/// The text of a PDF, whitespace collapsed, or `None` (SKIPPED) without `pdftotext`.
fn pdf_text(test: &str, pdf: &Path) -> Option<String> {
    let Ok(output) = Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(pdf).arg("-").output() else {
        eprintln!("SKIPPED {test}: pdftotext (poppler-utils) is not installed");
        return None;
    };
    assert!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8_lossy(&output.stdout).split_whitespace().collect::<Vec<_>>().join(" "))
}

fn archival(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.contains("<pdfaid:part>2</pdfaid:part>") && text.contains("<pdfuaid:part>1</pdfuaid:part>")
}

const EXPECTED: [(&str, u8); 12] = [
    ("01-offre-publiee", 1),
    ("01-resultats-publies", 1),
    ("02-indicateurs-resultats", 2),
    ("03-resultats-certification", 3),
    ("08-positionnement-admission", 8),
    ("11-acquis-competences", 11),
    ("11-assiduite", 11),
    ("26-amenagements-handicap", 26),
    ("30-questionnaires-satisfaction", 30),
    ("30-resultats-par-question", 30),
    ("31-reclamations", 31),
    ("32-actions-amelioration", 32),
];

#[test]
fn the_bundle_proves_each_indicator_from_recorded_data() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    certify_one(&db, dir.path());
    let end = {
        let mut conn = db.conn();
        seed_satisfaction(&mut conn, DEMO_SESSION, &[Some(4), Some(5), None]);
        session_end(&mut conn, DEMO_SESSION)
    };
    let out = dir.path().join("dossier").join("qualite");
    // The parent does not exist: refused, nothing created.
    refused(&lms(&db, &["quality", "evidence", "--out", out.to_str().unwrap()], None), "parent");
    assert!(!out.parent().unwrap().exists());
    let out = dir.path().join("qualite");
    let written = json(&lms(&db, &["quality", "evidence", "--out", out.to_str().unwrap(), "--json"], None));
    let files: Vec<&str> = written["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for (stem, _) in EXPECTED {
        assert!(
            files.contains(&format!("{stem}.csv").as_str()) && files.contains(&format!("{stem}.pdf").as_str()),
            "{stem}: {files:?}"
        );
    }
    assert!(files.contains(&"index.csv") && files.contains(&"LISEZMOI.txt"));
    for file in &files {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary folder left: {leftovers:?}");

    // Index: each file with its indicator, title, rows, date and organisation.
    let (header, index) = read_csv(&out.join("index.csv"));
    assert_eq!(header, ["fichier", "indicateur", "titre", "lignes", "généré le", "organisme"]);
    // Other parts of the domain add their providers: these files at least, each listed once.
    assert!(index.len() >= EXPECTED.len() * 2, "{index:?}");
    assert_eq!(index.len(), files.len() - 2, "every file but the index and the guide is listed");
    for (stem, indicator) in EXPECTED {
        let entry = index.iter().find(|r| r[0] == format!("{stem}.csv")).unwrap();
        assert_eq!(entry[1], indicator.to_string(), "{stem}");
        assert_eq!(entry[5], "Coopérative des Tiers-Lieux — démonstration");
        let (_, rows) = read_csv(&out.join(format!("{stem}.csv")));
        assert_eq!(entry[3], rows.len().to_string(), "{stem}: row count in the index");
    }

    // 1: the published offer with its update date; the results page.
    let (header, offer) = read_csv(&out.join("01-offre-publiee.csv"));
    let ptl = offer.iter().find(|r| r[0] == "PTL").expect("PTL in the offer");
    assert!(!cell(&header, ptl, "Objectifs").is_empty() && cell(&header, ptl, "Prix").contains('€'), "{ptl:?}");
    assert!(!cell(&header, ptl, "Modalités d'admission").is_empty());
    let (_, page) = read_csv(&out.join("01-resultats-publies.csv"));
    assert!(page[0][1].ends_with("/resultats"));

    // 2: outcome indicators by course, the deferred candidate presented, satisfaction with its rate.
    let (header, outcomes) = read_csv(&out.join("02-indicateurs-resultats.csv"));
    let ptl = outcomes.iter().find(|r| r[0] == "PTL").expect("PTL outcomes");
    assert!(!cell(&header, ptl, "Formation").is_empty());
    assert_eq!(cell(&header, ptl, "Présentés"), "5");
    assert_eq!(cell(&header, ptl, "Certifiés"), "1");
    assert_eq!(cell(&header, ptl, "Taux de certification"), "20\u{202F}%");
    assert_eq!(cell(&header, ptl, "Satisfaction"), "4,5 / 5");
    assert_eq!(cell(&header, ptl, "Réponses"), "2");
    assert_eq!(cell(&header, ptl, "Interrogés"), "3");
    assert_eq!(cell(&header, ptl, "Taux de réponse"), "66,7\u{202F}%");
    assert_eq!(outcomes.last().unwrap()[0], "Total");

    // 3: per session, presented = admitted + deferred + refused.
    let (header, sessions) = read_csv(&out.join("03-resultats-certification.csv"));
    let demo = sessions.iter().find(|r| r[0] == DEMO_SESSION).expect("demo session");
    assert_eq!(
        [
            cell(&header, demo, "Présentés"),
            cell(&header, demo, "Admis"),
            cell(&header, demo, "Ajournés"),
            cell(&header, demo, "Refusés"),
            cell(&header, demo, "Certifiés")
        ],
        ["5", "4", "1", "0", "1"]
    );
    assert_eq!(cell(&header, demo, "Fin de session"), end.to_string());

    // 11: results per competence and hours per trainee.
    let (header, competences) = read_csv(&out.join("11-acquis-competences.csv"));
    let demo: Vec<&Vec<String>> = competences.iter().filter(|r| r[0] == DEMO_SESSION).collect();
    assert!(!demo.is_empty(), "{competences:?}");
    assert!(demo.iter().any(|r| cell(&header, r, "Acquise").parse::<i64>().unwrap() > 0));
    let (header, attendance) = read_csv(&out.join("11-assiduite.csv"));
    let aurelie = attendance
        .iter()
        .find(|r| r[0] == DEMO_SESSION && r[2].contains("Aurélie"))
        .unwrap_or_else(|| panic!("{attendance:?}"));
    assert!(cell(&header, aurelie, "Heures prévues").ends_with('h'), "{aurelie:?}");
    assert!(cell(&header, aurelie, "Taux d'assiduité").ends_with('%'), "{aurelie:?}");

    // The PDFs: archival and tagged, saying what the CSV says.
    let pdf = out.join("02-indicateurs-resultats.pdf");
    assert!(archival(&std::fs::read(&pdf).unwrap()), "PDF/A-2 and PDF/UA-1 declared");
    if let Some(text) = pdf_text("the_bundle_proves_each_indicator_from_recorded_data", &pdf) {
        assert!(text.contains("Indicateurs de résultats par formation"), "{text}");
        assert!(text.contains("Indicateur Qualiopi n° 2") && text.contains("Coopérative des Tiers-Lieux"), "{text}");
        assert!(text.contains("PTL"), "{text}");
    }
    let readme = std::fs::read_to_string(out.join("LISEZMOI.txt")).unwrap();
    assert!(readme.contains("Indicateur 3") && readme.contains("03-resultats-certification.pdf"), "{readme}");

    // A second run into the same, now full, folder is refused and changes nothing; --force
    // replaces the bundle's files and leaves the others.
    let before = std::fs::read(out.join("index.csv")).unwrap();
    refused(&lms(&db, &["quality", "evidence", "--out", out.to_str().unwrap()], None), "pas vide");
    std::fs::write(out.join("notes.txt"), "à garder").unwrap();
    let text = lms(&db, &["quality", "evidence", "--out", out.to_str().unwrap(), "--force"], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("02-indicateurs-resultats.csv"), "prints the index: {}", text.stdout);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "à garder");
    assert_eq!(std::fs::read(out.join("index.csv")).unwrap().len(), before.len());
}

#[test]
fn a_period_without_data_still_gets_every_file_saying_so() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vide");
    std::fs::create_dir(&out).unwrap();
    let written = json(&lms(
        &db,
        &[
            "quality",
            "evidence",
            "--out",
            out.to_str().unwrap(),
            "--from",
            "2001-01-01",
            "--to",
            "2001-12-31",
            "--json",
        ],
        None,
    ));
    assert_eq!(written["period"]["from"], "2001-01-01");
    let mut shape = written.clone();
    shape["dir"] = "[dir]".into();
    shape["generated_at"] = "[timestamp]".into();
    for entry in shape["index"].as_array_mut().unwrap() {
        entry["generated_on"] = "[date]".into();
    }
    insta::assert_json_snapshot!("cli_quality_evidence", shape);
    let index = written["index"].as_array().unwrap();
    for (stem, _) in
        EXPECTED.iter().filter(|(stem, _)| stem.starts_with("02") || stem.starts_with("03") || stem.starts_with("11"))
    {
        let entry = index.iter().find(|e| e["file"] == format!("{stem}.csv")).unwrap();
        assert_eq!(entry["rows"], 0, "{stem}");
        let (_, rows) = read_csv(&out.join(format!("{stem}.csv")));
        assert_eq!(rows.len(), 1, "{stem}");
        assert_eq!(rows[0][0], "Aucune donnée enregistrée.", "{stem}");
    }
    let pdf = out.join("03-resultats-certification.pdf");
    assert!(archival(&std::fs::read(&pdf).unwrap()));
    if let Some(text) = pdf_text("a_period_without_data_still_gets_every_file_saying_so", &pdf) {
        assert!(text.contains("Aucune donnée enregistrée"), "{text}");
    }
    let readme = std::fs::read_to_string(out.join("LISEZMOI.txt")).unwrap();
    assert!(readme.contains("aucune donnée enregistrée") && readme.contains("2001"), "{readme}");
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qualite");
    let path = out.to_str().unwrap();
    refused(&lms(&db, &["quality", "evidence", "--out", path, "--from", "2026-13-01"], None), "AAAA-MM-JJ");
    refused(&lms(&db, &["quality", "evidence", "--out", path, "--to", "demain"], None), "--to");
    refused(
        &lms(&db, &["quality", "evidence", "--out", path, "--from", "2026-06-01", "--to", "2026-05-31"], None),
        "période",
    );
    assert!(!out.exists(), "nothing created");

    let file = dir.path().join("fichier.txt");
    std::fs::write(&file, "déjà là").unwrap();
    refused(&lms(&db, &["quality", "evidence", "--out", file.to_str().unwrap()], None), "n'est pas un dossier");
    refused(
        &lms(&db, &["quality", "evidence", "--out", file.to_str().unwrap(), "--force"], None),
        "n'est pas un dossier",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "déjà là");

    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("autre.csv"), "a,b\n").unwrap();
    refused(&lms(&db, &["quality", "evidence", "--out", path], None), "n'est pas vide");
    let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "the folder is left as it was");
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".part"));
    assert_eq!(leftovers.count(), 0);
}
