//! The documents checked by what they print: the text is extracted from the PDFs with
//! `pdftotext` (Debian `poppler-utils`, installed by `.ci/run`), the conformance declared in the
//! XMP metadata (written by krilla only when its PDF/A and PDF/UA validators accepted the file),
//! and the credential attached to the certificate is listed by `pdfdetach`. Without the poppler
//! tools these tests say SKIPPED, and fail under CI.

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use diesel::prelude::*;
use lms_core::db::schema::{attendance_entries, communes, half_days, settings, venues};
use lms_tests::*;

use crate::attendance_support::*;

/// The text of a PDF, whitespace collapsed (lines wrap where the layout decides), or `None` after
/// saying SKIPPED when `pdftotext` is missing.
fn pdf_text(test: &str, pdf: &Path) -> Option<String> {
    let output = match Command::new("pdftotext").args(["-enc", "UTF-8"]).arg(pdf).arg("-").output() {
        Ok(output) => output,
        Err(_) => {
            // Under CI the tool is required, unless `.ci/run` could not install it.
            let required = running_under_ci() && std::env::var_os("LMS_PDFTOTEXT_UNAVAILABLE").is_none();
            skip_for_want_of(test, "pdftotext (poppler-utils) is not installed", required);
            return None;
        }
    };
    assert!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
    Some(collapse(&String::from_utf8_lossy(&output.stdout)))
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn running_under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The PDF/A part and the PDF/UA part declared in the XMP metadata.
fn declared_conformance(bytes: &[u8]) -> (Option<String>, Option<String>) {
    let text = String::from_utf8_lossy(bytes);
    let between = |open: &str, close: &str| {
        let start = text.find(open)? + open.len();
        let end = text[start..].find(close)? + start;
        Some(text[start..end].to_owned())
    };
    (between("<pdfaid:part>", "</pdfaid:part>"), between("<pdfuaid:part>", "</pdfuaid:part>"))
}

fn assert_archival(bytes: &[u8], part: &str) {
    let (pdfa, pdfua) = declared_conformance(bytes);
    assert_eq!(pdfa.as_deref(), Some(part), "PDF/A part declared by krilla's validator");
    assert_eq!(pdfua.as_deref(), Some("1"), "PDF/UA-1 declared by krilla's validator");
    let raw = String::from_utf8_lossy(bytes);
    assert!(raw.contains("/StructTreeRoot") && raw.contains("/MarkInfo"), "a tagged PDF");
}

fn setting_rows(conn: &mut lms_core::db::DbConn) -> Vec<(String, String)> {
    settings::table.select((settings::key, settings::value)).order(settings::key.asc()).load(conn).unwrap()
}

#[test]
fn the_certificat_de_realisation_prints_the_trainee_the_hours_and_the_signatory() {
    let test = "the_certificat_de_realisation_prints_the_trainee_the_hours_and_the_signatory";
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certificat.pdf");
    let made = lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out.to_str().unwrap()],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let bytes = std::fs::read(&out).unwrap();
    assert_archival(&bytes, "2");
    let Some(text) = pdf_text(test, &out) else { return };

    let trainee = user(&mut conn, TRAINEE);
    let minutes = lms_core::attendance::attended_minutes(&mut conn, &session, std::slice::from_ref(&trainee)).unwrap();
    let hours = lms_core::documents::completion::hours_fr(minutes[&trainee]);
    for printed in [
        "Certificat de réalisation",
        "Léa Dubois salarié(e) de l'entreprise SCIC La Grappe",
        "Je soussigné(e) Camille Laborde, directrice",
        "Coopérative des Tiers-Lieux — démonstration",
        "Fait à Bordeaux",
        "Piloter un tiers-lieu",
        &format!("pour une durée réalisée de {hours}"),
    ] {
        assert!(text.contains(printed), "« {printed} » missing from: {text}");
    }
    assert!(!text.contains("à renseigner"), "no placeholder: {text}");
}

#[tokio::test]
async fn a_missing_representative_is_refused_with_the_setting_named_and_nothing_written() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    diesel::delete(settings::table.filter(settings::key.eq("organisation.representative"))).execute(&mut conn).unwrap();
    let before = setting_rows(&mut conn);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certificat.pdf");

    let refused = lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out.to_str().unwrap()],
        None,
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("[missing_setting]")
            && refused.stderr.contains("réglage manquant : organisation.representative")
            && refused.stderr.contains("lms documents setting organisation.representative"),
        "{}",
        refused.stderr
    );
    assert!(!out.exists(), "no file written");

    // The attestation of the finished certifying session is refused the same way.
    let attestation = dir.path().join("attestation.pdf");
    let refused = lms(
        &db,
        &[
            "documents",
            "attestation",
            "--session",
            "PTL-NA-DEMO-0",
            "--trainee",
            "aurelie.fontaine@example.org",
            "--out",
            attestation.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("réglage manquant : organisation.representative"), "{}", refused.stderr);
    assert!(!attestation.exists());

    // The trainee's page door says the same.
    let app = test_app(&db).await;
    let (cookie, _) = browser(&app, TRAINEE).await;
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/me/documents/{session}/completion.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("organisation.representative"), "{page}");
    assert_eq!(setting_rows(&mut conn), before, "nothing written");

    // Once set, the document is made.
    let set = lms(&db, &["documents", "setting", "organisation.representative", "Camille Laborde, directrice"], None);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let made = lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out.to_str().unwrap()],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
}

#[test]
fn the_attestation_says_whether_the_certification_was_obtained_as_the_jury_decided() {
    let test = "the_attestation_says_whether_the_certification_was_obtained_as_the_jury_decided";
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let mut texts = Vec::new();
    for (i, trainee) in [
        "aurelie.fontaine@example.org",
        "chloe.perrin@example.org",
        "damien.roche@example.org",
        "elise.vidal@example.org",
    ]
    .iter()
    .enumerate()
    {
        let out = dir.path().join(format!("attestation-{i}.pdf"));
        let made = lms(
            &db,
            &[
                "documents",
                "attestation",
                "--session",
                "PTL-NA-DEMO-0",
                "--trainee",
                trainee,
                "--out",
                out.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(made.code, 0, "{trainee}: {}", made.stderr);
        assert_archival(&std::fs::read(&out).unwrap(), "2");
        let Some(text) = pdf_text(test, &out) else { return };
        texts.push(text);
    }
    let [admitted, too_absent, deferred, undecided] = &texts[..] else { unreachable!() };
    assert!(admitted.contains("Certification obtenue, sur décision du jury du"), "{admitted}");
    assert!(admitted.contains("4 unité(s) validée(s) sur 4"), "{admitted}");
    // Admitted by the jury, but attendance below the minimum: not certified, and says why.
    assert!(too_absent.contains("certification non délivrée à ce jour"), "{too_absent}");
    assert!(too_absent.contains("assiduité insuffisante"), "{too_absent}");
    assert!(!too_absent.contains("Certification obtenue"), "{too_absent}");
    assert!(deferred.contains("Certification non obtenue à ce jour : ajournée par le jury"), "{deferred}");
    assert!(deferred.contains("3 unité(s) validée(s) sur 4"), "{deferred}");
    assert!(undecided.contains("Certification non obtenue à ce jour"), "{undecided}");
    assert!(!undecided.contains("Certification obtenue"), "{undecided}");
}

#[test]
fn the_attendance_sheet_prints_the_address_the_drawn_signatures_and_the_whole_chain_hash() {
    let test = "the_attendance_sheet_prints_the_address_the_drawn_signatures_and_the_whole_chain_hash";
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    // The finished certifying session: its trainees signed by drawing.
    let session = session(&mut conn, "PTL-NA-DEMO-0");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emargement.pdf");
    let made = lms(&db, &["attendance", "sheet", "--session", "PTL-NA-DEMO-0", "--out", out.to_str().unwrap()], None);
    assert_eq!(made.code, 0, "{}", made.stderr);
    let bytes = std::fs::read(&out).unwrap();
    assert_archival(&bytes, "2");
    let Some(text) = pdf_text(test, &out) else { return };

    let head = lms_core::attendance::ledger_position(&mut conn, &session).unwrap();
    assert!(text.replace(' ', "").contains(&head.hash), "the whole SHA-256 is printed: {text}");
    let first = past_half_days(&mut conn, &session)[0].clone();
    let (street, postcode, commune): (Option<String>, Option<String>, String) = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::id.eq(&first))
        .select((venues::address, venues::postcode, communes::name))
        .first(&mut conn)
        .unwrap();
    assert!(street.is_some(), "the demo venue has a street address");
    let address =
        lms_core::venues::VenueAddress { street: street.as_deref(), postcode: postcode.as_deref(), commune: &commune }
            .one_line();
    assert!(text.contains(&address), "« {address} » missing from: {text}");

    let drawn: i64 = attendance_entries::table
        .filter(attendance_entries::training_session_id.eq(&session))
        .filter(attendance_entries::method.eq(lms_core::attendance::SignatureMethod::DrawnSignature))
        .filter(attendance_entries::signature_data.is_not_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert!(drawn > 0, "the demo has drawn signatures");
    assert!(text.contains("tracée à"), "{text}");
    assert!(!text.contains("Signature tracée à"), "drawn, not only mentioned: {text}");
    // Each drawn signature is a figure with its text alternative in the structure tree.
    // (krilla writes a non-ASCII text string as UTF-16BE in hexadecimal.)
    let alt: String = "Signature tracée de ".encode_utf16().map(|unit| format!("{unit:04X}")).collect();
    let raw = String::from_utf8_lossy(&bytes).to_uppercase();
    assert!(raw.contains("/FIGURE") && raw.contains(&alt), "signature figures with alt text");
}

#[test]
fn the_blank_sheet_keeps_the_longest_names_and_titles_whole() {
    let test = "the_blank_sheet_keeps_the_longest_names_and_titles_whole";
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let future = future_half_day(&mut conn, &session);
    let long_name = "Société coopérative d'intérêt collectif des Tiers-Lieux de Nouvelle-Aquitaine, du Limousin et du Poitou-Charentes";
    let set = lms(&db, &["documents", "setting", "organisation.name", long_name], None);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vierge.pdf");
    let made = lms(
        &db,
        &[
            "attendance",
            "sheet",
            "--session",
            DEMO,
            "--half-day",
            &future.to_string(),
            "--blank",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert_archival(&std::fs::read(&out).unwrap(), "2");
    let Some(text) = pdf_text(test, &out) else { return };
    let head = lms_core::attendance::ledger_position(&mut conn, &session).unwrap();
    assert!(text.contains(long_name), "{text}");
    assert!(text.contains("Feuille d'émargement (à signer sur place)"), "{text}");
    assert!(text.replace(' ', "").contains(&head.hash), "{text}");
    for trainee in DEMO_TRAINEES {
        let name: String = users_name(&mut conn, trainee);
        assert!(text.contains(&name), "« {name} » missing: {text}");
    }
}

fn users_name(conn: &mut lms_core::db::DbConn, email: &str) -> String {
    use lms_core::db::schema::users;
    users::table.filter(users::email.eq(email)).select(users::display_name).first(conn).unwrap()
}

#[test]
fn the_certificate_is_pdf_a_3_with_its_credential_attached() {
    let test = "the_certificate_is_pdf_a_3_with_its_credential_attached";
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    assert_eq!(crate::certification::lms_env(&db, &keys, &["keys", "init"]).code, 0);
    let mut conn = db.conn();
    let session = crate::certification::demo_session(&mut conn).to_string();
    let issued = crate::certification::json_ok(&crate::certification::lms_env(
        &db,
        &keys,
        &["certify", "issue", "--session", &session, "--trainee", "aurelie.fontaine@example.org", "--json"],
    ));
    let pdf = dir.path().join(issued["pdf"].as_str().or_else(|| issued[0]["pdf"].as_str()).unwrap());
    let bytes = std::fs::read(&pdf).unwrap();
    assert_archival(&bytes, "3");
    assert!(String::from_utf8_lossy(&bytes).contains("/AF"), "associated file");
    let Some(text) = pdf_text(test, &pdf) else { return };
    assert!(text.contains("Aurélie Marie FONTAINE"), "{text}");
    let listed = Command::new("pdfdetach").arg("-list").arg(&pdf).output().expect("pdfdetach comes with pdftotext");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains(lms_core::documents::certificate::CREDENTIAL_ATTACHMENT), "{listed}");
}

#[test]
fn the_employer_is_recorded_by_the_office_and_printed_and_bad_input_writes_nothing() {
    let test = "the_employer_is_recorded_by_the_office_and_printed_and_bad_input_writes_nothing";
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let employer_of = |conn: &mut lms_core::db::DbConn, email: &str| {
        let trainee = user(conn, email);
        lms_core::enrolment::employer::employer_of(conn, &session, &trainee).unwrap()
    };
    assert_eq!(employer_of(&mut conn, TRAINEE).as_deref(), Some("SCIC La Grappe"), "the demo shows it");

    let set = |args: &[&str]| lms(&db, &[&["documents", "employer", "--session", DEMO][..], args].concat(), None);
    for (args, fragment) in [
        (vec!["--trainee", TRAINEE, "Ligne\nbrisée"], "employeur"),
        (vec!["--trainee", TRAINEE, &"x".repeat(161)], "160 caractères"),
        (vec!["--trainee", OUTSIDER, "SCIC"], "aucune inscription"),
        (vec!["--trainee", "personne@example.org", "SCIC"], "aucun compte"),
    ] {
        let out = set(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(fragment), "{}", out.stderr);
        assert_eq!(employer_of(&mut conn, TRAINEE).as_deref(), Some("SCIC La Grappe"), "nothing written");
    }
    let out = set(&["--trainee", TRAINEE, "  Coopérative Tiers-Lieux & Co  "]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(employer_of(&mut conn, TRAINEE).as_deref(), Some("Coopérative Tiers-Lieux & Co"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certificat.pdf");
    let made = lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out.to_str().unwrap()],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    if let Some(text) = pdf_text(test, &out) {
        assert!(text.contains("salarié(e) de l'entreprise Coopérative Tiers-Lieux & Co"), "{text}");
    }

    // Cleared: no employer line (a self-funded trainee reads none).
    assert_eq!(set(&["--trainee", TRAINEE, ""]).code, 0);
    assert_eq!(employer_of(&mut conn, TRAINEE), None);
    let made = lms(
        &db,
        &["documents", "completion", "--session", DEMO, "--trainee", TRAINEE, "--out", out.to_str().unwrap()],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    if let Some(text) = pdf_text(test, &out) {
        assert!(!text.contains("salarié(e) de l'entreprise"), "{text}");
    }
}
