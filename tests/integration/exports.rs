//! Regulatory exports: Accrochage (schema-valid, refusals, warnings, processing report), LHEO.

use diesel::prelude::*;
use lms_core::certification::issuing;
use lms_core::certification::keys::Signer;
use lms_core::db::schema::{accrochage_batches, accrochage_items, users};
use lms_core::exports::accrochage;
use lms_tests::{Seed, TestDb};

use crate::certification::{ELIGIBLE, demo_session, json_ok, lms_env, options};

/// Validates `xml` against the Accrochage schema written from the documented structure.
fn assert_schema_valid(xml: &str) {
    let schema_doc = oxml::parse(accrochage::ACCROCHAGE_XSD).expect("schema parses");
    let unsupported = xmlschema::support::unsupported(&schema_doc);
    assert!(unsupported.is_empty(), "the validator must enforce the whole schema: {unsupported:?}");
    let schema = xmlschema::parse_schema(accrochage::ACCROCHAGE_XSD).expect("schema");
    let doc = oxml::parse(xml).expect("document parses");
    let report = xmlschema::validate(&doc, &schema);
    assert!(report.is_valid(), "{report}\n{xml}");
}

fn issue_both(db: &TestDb, dir: &std::path::Path) {
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = Signer::ephemeral();
    for email in ELIGIBLE {
        issuing::issue_certificate(&mut conn, &signer, &session, email, &options(dir)).unwrap();
    }
}

#[test]
fn the_schema_catches_what_the_cdc_would_reject() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(Seed::Demo);
    issue_both(&db, dir.path());
    let out = dir.path().join("flux.xml");
    let mut conn = db.conn();
    let today = lms_core::catalogue::paris_today();
    accrochage::export_accrochage(&mut conn, today, today, &out, lms_core::db::now()).unwrap();
    let xml = std::fs::read_to_string(&out).unwrap();
    assert_schema_valid(&xml);
    // The validator is not a rubber stamp: an invalid sex, a missing element, a wrong order fail.
    let schema = xmlschema::parse_schema(accrochage::ACCROCHAGE_XSD).unwrap();
    for broken in [
        xml.replace("<cpf:sexe>F</cpf:sexe>", "<cpf:sexe>X</cpf:sexe>"),
        xml.replace("<cpf:action>CREATION</cpf:action>", "<cpf:action>CREATE</cpf:action>"),
        xml.replacen("<cpf:donneeCertifiee>true</cpf:donneeCertifiee>", "", 1),
        xml.replace("<cpf:idClient>DEMO0001</cpf:idClient>", "<cpf:idClient>DEMO01</cpf:idClient>"),
    ] {
        let report = xmlschema::validate(&oxml::parse(&broken).unwrap(), &schema);
        assert!(!report.is_valid(), "should be refused:\n{broken}");
    }
}

#[test]
fn accrochage_export_lists_every_problem_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(Seed::Demo);
    issue_both(&db, dir.path());
    let mut conn = db.conn();
    // Both holders lose a mandatory field after issuing.
    diesel::update(users::table.filter(users::email.eq(ELIGIBLE[0])))
        .set(users::sex.eq(None::<String>))
        .execute(&mut conn)
        .unwrap();
    diesel::update(users::table.filter(users::email.eq(ELIGIBLE[1])))
        .set(users::birth_name.eq(Some("X".repeat(61))))
        .execute(&mut conn)
        .unwrap();
    let out = dir.path().join("flux.xml");
    let today = lms_core::catalogue::paris_today();
    let error =
        accrochage::export_accrochage(&mut conn, today, today, &out, lms_core::db::now()).unwrap_err().to_string();
    assert!(error.contains("sexe") && error.contains("60 caractères"), "{error}");
    assert!(!out.exists());
    assert_eq!(accrochage_batches::table.count().get_result::<i64>(&mut conn).unwrap(), 0);
    assert_eq!(accrochage_items::table.count().get_result::<i64>(&mut conn).unwrap(), 0);
    // No award in the period.
    let error = accrochage::export_accrochage(
        &mut conn,
        today - chrono::Duration::days(400),
        today - chrono::Duration::days(399),
        &out,
        lms_core::db::now(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("aucun certificat"), "{error}");
}

#[test]
fn cli_export_warns_about_late_awards_and_imports_the_processing_report() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    json_ok(&lms_env(&db, &keys, &["keys", "init", "--json"]));
    let session = demo_session(&mut db.conn()).to_string();
    // Awarded on the jury's date: more than two months ago; the file is generated now.
    let jury_day = (lms_core::catalogue::paris_today() - chrono::Duration::days(80)).to_string();
    let issued = json_ok(&lms_env(
        &db,
        &keys,
        &["certify", "issue", "--session", &session, "--all-eligible", "--date", &jury_day, "--json"],
    ));
    let numbers: Vec<String> =
        issued.as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap().to_owned()).collect();
    let out = dir.path().join("flux.xml");
    let export = lms_env(
        &db,
        &keys,
        &["export", "accrochage", "--from", &jury_day, "--to", &jury_day, "--out", out.to_str().unwrap(), "--json"],
    );
    let result = json_ok(&export);
    assert_eq!(result["holders"], 2);
    assert_schema_valid(&std::fs::read_to_string(&out).unwrap());
    // 80 days is within the deadline: no warning. Generated 5 months later, both are late.
    assert!(!export.stderr.contains("attention"), "{}", export.stderr);
    let mut conn = db.conn();
    let later = lms_core::db::now() + chrono::Duration::days(150);
    let late = accrochage::export_accrochage(
        &mut conn,
        chrono::NaiveDate::parse_from_str(&jury_day, "%Y-%m-%d").unwrap(),
        chrono::NaiveDate::parse_from_str(&jury_day, "%Y-%m-%d").unwrap(),
        &dir.path().join("late.xml"),
        later,
    )
    .unwrap();
    assert_eq!(late.warnings.len(), 2, "{:?}", late.warnings);

    // Processing report: one accepted, one rejected with its message.
    let report = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpf:accuseTraitement xmlns:cpf="urn:cdc:cpf:pc5:schema:1.0.0">
  <cpf:passagesOK><cpf:passageOK><cpf:idTechnique>{}</cpf:idTechnique></cpf:passageOK></cpf:passagesOK>
  <cpf:passagesKO><cpf:passageKO><cpf:idTechnique>{}</cpf:idTechnique>
    <cpf:messageErreur>Commune de naissance inconnue</cpf:messageErreur></cpf:passageKO></cpf:passagesKO>
</cpf:accuseTraitement>"#,
        numbers[0], numbers[1]
    );
    let report_file = dir.path().join("report.xml");
    std::fs::write(&report_file, &report).unwrap();
    let imported =
        json_ok(&lms_env(&db, &keys, &["export", "accrochage-report", report_file.to_str().unwrap(), "--json"]));
    assert_eq!(imported["accepted"], 1);
    assert_eq!(imported["rejected"][0]["messages"][0], "Commune de naissance inconnue");
    let results = accrochage::pass_results(&mut conn).unwrap();
    assert!(results.contains(&(numbers[0].clone(), "accepted".into())));
    assert!(results.contains(&(numbers[1].clone(), "rejected".into())));
    // A report naming an unknown pass changes nothing.
    std::fs::write(&report_file, report.replace(&numbers[0], "RS5142-1999-0001")).unwrap();
    let out = lms_env(&db, &keys, &["export", "accrochage-report", report_file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("RS5142-1999-0001"));
}

#[test]
fn lheo_lists_the_offer_with_places() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let out = dir.path().join("offre.xml");
    let result = json_ok(&lms_env(&db, &keys, &["export", "lheo", "--out", out.to_str().unwrap(), "--json"]));
    assert!(result["sessions"].as_u64().unwrap() >= 10);
    let xml = std::fs::read_to_string(&out).unwrap();
    let doc = oxml::parse(&xml).expect("well-formed");
    drop(doc);
    assert!(xml.contains(r#"<lheo xmlns="http://lheo.gouv.fr/2.3""#));
    assert!(xml.contains("<code-RS>5142</code-RS>"));
    assert!(xml.contains("<code-INSEE-commune>") && xml.contains("<latitude>"));
    assert!(xml.contains("<numero-activite>75000000000</numero-activite>"));
    // Without the organisation's identity, the export is refused and lists what is missing.
    let empty = TestDb::new(Seed::Reference);
    let out = lms_env(&empty, &keys, &["export", "lheo", "--out", dir.path().join("x.xml").to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("organisation.siret") && out.stderr.contains("organisation.nda"), "{}", out.stderr);
    assert!(!dir.path().join("x.xml").exists());
}
