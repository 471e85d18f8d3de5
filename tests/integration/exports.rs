//! Regulatory exports: Accrochage (schema-valid, refusals, warnings, processing report,
//! SUPPRESSION of revoked passes), LHEO.

use diesel::prelude::*;
use lms_core::certification::keys::Signer;
use lms_core::certification::{issuing, registry};
use lms_core::db::schema::{accrochage_batches, accrochage_items, users};
use lms_core::exports::accrochage;
use lms_tests::{Seed, TestDb};

use crate::certification::{ELIGIBLE, demo_session, json_ok, lms_env, options};

/// Validates `xml` against the project's Accrochage schema (in step with the CDC's 1.1.2, plus
/// `cpf:action`) and, with xmllint, against the CDC's official 1.1.2 XSD when it has no `cpf:action`.
fn assert_schema_valid(xml: &str) {
    if !xml.contains("<cpf:action>") {
        crate::xml_validation::assert_valid("exports", crate::xml_validation::Standard::Accrochage112, xml);
    }
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
    // The validator is not a rubber stamp: an invalid sex, a missing or repeated element, a short
    // id, an unknown action, a second certificateur fail.
    let schema = xmlschema::parse_schema(accrochage::ACCROCHAGE_XSD).unwrap();
    for broken in [
        xml.replace("<cpf:sexe>F</cpf:sexe>", "<cpf:sexe>X</cpf:sexe>"),
        xml.replace("</cpf:horodatage>", "</cpf:horodatage><cpf:action>CREATE</cpf:action>"),
        xml.replacen("<cpf:donneeCertifiee>true</cpf:donneeCertifiee>", "", 1),
        xml.replacen(
            "<cpf:donneeCertifiee>true</cpf:donneeCertifiee>",
            "<cpf:donneeCertifiee>true</cpf:donneeCertifiee><cpf:donneeCertifiee>true</cpf:donneeCertifiee>",
            1,
        ),
        xml.replace("<cpf:idClient>DEMO0001</cpf:idClient>", "<cpf:idClient>DEMO01</cpf:idClient>"),
        xml.replace("<cpf:codePaysNaissance>MAR<", "<cpf:codePaysNaissance>MA<"),
        xml.replace("</cpf:certificateur>", "</cpf:certificateur><cpf:certificateur/>"),
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
    assert!(results.iter().any(|p| p.number == numbers[0] && p.result == accrochage::PassResult::Accepted));
    assert!(results.iter().any(|p| p.number == numbers[1] && p.result == accrochage::PassResult::Rejected));
    // A report naming an unknown pass changes nothing.
    std::fs::write(&report_file, report.replace(&numbers[0], "RS5142-1999-0001")).unwrap();
    let out = lms_env(&db, &keys, &["export", "accrochage-report", report_file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("RS5142-1999-0001"));
}

/// Issues both eligible holders' certificates today; returns their numbers in ELIGIBLE order.
fn issue_both_numbers(db: &TestDb, dir: &std::path::Path) -> Vec<String> {
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = Signer::ephemeral();
    ELIGIBLE
        .iter()
        .map(|email| issuing::issue_certificate(&mut conn, &signer, &session, email, &options(dir)).unwrap().number)
        .collect()
}

/// The XML with what changes from run to run (flux id, time stamp, award year and day, the first
/// pass's jury date) replaced.
fn normalised(xml: &str, numbers: &[String]) -> String {
    let today = lms_core::catalogue::paris_today().to_string();
    let mut text = xml.replace(&today, "AWARD-DATE");
    for (index, number) in numbers.iter().enumerate() {
        text = text.replace(number, &format!("NUMBER-{index}"));
    }
    let between = |text: &str, open: &str, close: &str, with: &str| -> String {
        match (text.find(open), text.find(close)) {
            (Some(a), Some(b)) => format!("{}{open}{with}{}", &text[..a], &text[b..]),
            _ => panic!("{open} missing in {text}"),
        }
    };
    let text = between(&text, "<cpf:idFlux>", "</cpf:idFlux>", "FLUX-ID");
    let text = between(&text, "<cpf:dateDebutValidite>", "</cpf:dateDebutValidite>", "JURY-DATE");
    between(&text, "<cpf:horodatage>", "</cpf:horodatage>", "TIMESTAMP")
}

fn batch_actions(conn: &mut lms_core::db::DbConn) -> Vec<String> {
    accrochage_batches::table
        .order(accrochage_batches::generated_at.asc())
        .select(accrochage_batches::action)
        .load(conn)
        .unwrap()
}

/// Snapshot of a SUPPRESSION flux (version 1.1.5): the pass as it was declared, under `cpf:action`
/// SUPPRESSION.
const SUPPRESSION_SHAPE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cpf:flux xmlns:cpf="urn:cdc:cpf:pc5:schema:1.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <cpf:idFlux>FLUX-ID</cpf:idFlux>
  <cpf:horodatage>TIMESTAMP</cpf:horodatage>
  <cpf:action>SUPPRESSION</cpf:action>
  <cpf:emetteur>
    <cpf:idClient>DEMO0001</cpf:idClient>
    <cpf:certificateurs>
      <cpf:certificateur>
        <cpf:idClient>DEMO0001</cpf:idClient>
        <cpf:idContrat>MCFCERDEMO01</cpf:idContrat>
        <cpf:certifications>
          <cpf:certification>
            <cpf:type>RS</cpf:type>
            <cpf:code>RS5142</cpf:code>
            <cpf:natureDeposant>CERTIFICATEUR</cpf:natureDeposant>
            <cpf:passageCertifications>
              <cpf:passageCertification>
                <cpf:idTechnique>NUMBER-1</cpf:idTechnique>
                <cpf:obtentionCertification>PAR_ADMISSION</cpf:obtentionCertification>
                <cpf:donneeCertifiee>true</cpf:donneeCertifiee>
                <cpf:dateDebutValidite>JURY-DATE</cpf:dateDebutValidite>
                <cpf:dateFinValidite xsi:nil="true"/>
                <cpf:presenceNiveauLangueEuro>false</cpf:presenceNiveauLangueEuro>
                <cpf:presenceNiveauNumeriqueEuro>false</cpf:presenceNiveauNumeriqueEuro>
                <cpf:scoring xsi:nil="true"/>
                <cpf:mentionValidee xsi:nil="true"/>
                <cpf:modalitesInscription>
                  <cpf:modaliteAcces>FORMATION_CONTINUE_HORS_CONTRAT_DE_PROFESSIONNALISATION</cpf:modaliteAcces>
                </cpf:modalitesInscription>
                <cpf:identificationTitulaire>
                  <cpf:titulaire>
                    <cpf:nomNaissance>Leroy</cpf:nomNaissance>
                    <cpf:nomUsage>Leroy-Mercier</cpf:nomUsage>
                    <cpf:prenom1>Bastien</cpf:prenom1>
                    <cpf:anneeNaissance>1979</cpf:anneeNaissance>
                    <cpf:moisNaissance>11</cpf:moisNaissance>
                    <cpf:jourNaissance>03</cpf:jourNaissance>
                    <cpf:sexe>M</cpf:sexe>
                    <cpf:codeCommuneNaissance>
                      <cpf:codeInseeNaissance>
                        <cpf:codeInsee>87085</cpf:codeInsee>
                      </cpf:codeInseeNaissance>
                    </cpf:codeCommuneNaissance>
                  </cpf:titulaire>
                </cpf:identificationTitulaire>
              </cpf:passageCertification>
            </cpf:passageCertifications>
          </cpf:certification>
        </cpf:certifications>
      </cpf:certificateur>
    </cpf:certificateurs>
  </cpf:emetteur>
</cpf:flux>
"#;

#[test]
fn suppression_withdraws_declared_revoked_passes_once_and_never_the_undeclared() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let numbers = issue_both_numbers(&db, dir.path());
    let mut conn = db.conn();
    let today = lms_core::catalogue::paris_today();
    lms_core::documents::organisation::set_setting(&mut conn, "accrochage.flux_version", "1.1.5").unwrap();
    // Revoked before any declaration: nothing to withdraw, nothing written.
    registry::revoke_certificate(
        &mut conn,
        &lms_core::certification::keys::Signer::ephemeral(),
        &numbers[0],
        "Erreur de jury",
    )
    .unwrap();
    let out = dir.path().join("suppression.xml");
    let refused = lms_env(&db, &keys, &["export", "accrochage", "--suppressions", "--out", out.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("aucun passage à retirer"), "{}", refused.stderr);
    assert!(!out.exists());
    assert!(batch_actions(&mut conn).is_empty());
    // The revoked certificate is not declared by a later CREATION.
    let creation = dir.path().join("creation.xml");
    let created = accrochage::export_accrochage(&mut conn, today, today, &creation, lms_core::db::now()).unwrap();
    assert_eq!((created.holders, created.action), (1, accrochage::FluxAction::Creation));
    let xml = std::fs::read_to_string(&creation).unwrap();
    assert!(xml.contains(&numbers[1]) && !xml.contains(&numbers[0]), "{xml}");
    // The declared one is revoked later: withdrawn under the same idTechnique.
    registry::revoke_certificate(
        &mut conn,
        &lms_core::certification::keys::Signer::ephemeral(),
        &numbers[1],
        "Fraude au dossier",
    )
    .unwrap();
    let result = json_ok(&lms_env(
        &db,
        &keys,
        &["export", "accrochage", "--suppressions", "--out", out.to_str().unwrap(), "--json"],
    ));
    assert_eq!(result["action"], "SUPPRESSION");
    assert_eq!(result["holders"], 1);
    assert!(result["warnings"].as_array().unwrap().is_empty());
    let xml = std::fs::read_to_string(&out).unwrap();
    assert_schema_valid(&xml);
    assert!(xml.contains(&format!("<cpf:idTechnique>{}</cpf:idTechnique>", numbers[1])), "{xml}");
    assert!(!xml.contains(&numbers[0]), "never declared, never withdrawn: {xml}");
    let snapshot = normalised(&xml, &numbers);
    assert_eq!(snapshot, SUPPRESSION_SHAPE, "\n{snapshot}");
    let schema = xmlschema::parse_schema(accrochage::ACCROCHAGE_XSD).unwrap();
    let broken = xml.replace("<cpf:action>SUPPRESSION</cpf:action>", "<cpf:action>RETRAIT</cpf:action>");
    assert!(!xmlschema::validate(&oxml::parse(&broken).unwrap(), &schema).is_valid());
    assert_eq!(batch_actions(&mut conn), ["CREATION", "SUPPRESSION"]);
    // Running it again withdraws nothing twice: refused, the file of the first run untouched.
    let again = dir.path().join("again.xml");
    let refused = lms_env(&db, &keys, &["export", "accrochage", "--suppressions", "--out", again.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr.trim_end().lines().count(), 1, "{}", refused.stderr);
    assert!(!again.exists());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), xml);
    assert_eq!(batch_actions(&mut conn).len(), 2);
    // And no CREATION declares either of them again.
    let error =
        accrochage::export_accrochage(&mut conn, today, today, &creation, lms_core::db::now()).unwrap_err().to_string();
    assert!(error.contains("aucun certificat valide"), "{error}");
    // Usage: --suppressions takes no period; a CREATION needs both dates.
    let usage = lms_env(
        &db,
        &keys,
        &["export", "accrochage", "--suppressions", "--from", &today.to_string(), "--out", again.to_str().unwrap()],
    );
    assert_eq!(usage.code, 2, "{usage:?}");
    let usage = lms_env(&db, &keys, &["export", "accrochage", "--out", again.to_str().unwrap()]);
    assert_eq!(usage.code, 2, "{usage:?}");
    assert!(!again.exists());
}

#[test]
fn suppression_follows_the_processing_reports() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let numbers = issue_both_numbers(&db, dir.path());
    let mut conn = db.conn();
    let today = lms_core::catalogue::paris_today();
    lms_core::documents::organisation::set_setting(&mut conn, "accrochage.flux_version", "1.1.5").unwrap();
    // Each step a minute later, so that "the latest batch holding a pass" is unambiguous.
    let start = lms_core::db::now();
    let at = |minutes: i64| start + chrono::Duration::minutes(minutes);
    accrochage::export_accrochage(&mut conn, today, today, &dir.path().join("c.xml"), at(0)).unwrap();
    // The CDC accepted the first pass and rejected the second: only the first is on file there.
    let report = |ok: &str, ko: Option<&str>| {
        let ko = ko
            .map(|n| {
                format!(
                    "<passagesKO><passageKO><idTechnique>{n}</idTechnique>\
                     <messageErreur>Refus</messageErreur></passageKO></passagesKO>"
                )
            })
            .unwrap_or_default();
        format!("<accuse><passagesOK><passageOK><idTechnique>{ok}</idTechnique></passageOK></passagesOK>{ko}</accuse>")
    };
    accrochage::import_report(&mut conn, &report(&numbers[0], Some(&numbers[1])), at(1)).unwrap();
    for number in &numbers {
        registry::revoke_certificate(
            &mut conn,
            &lms_core::certification::keys::Signer::ephemeral(),
            number,
            "Décision annulée",
        )
        .unwrap();
    }
    let first = dir.path().join("s1.xml");
    let withdrawn = accrochage::export_accrochage_suppressions(&mut conn, &first, at(2)).unwrap();
    assert_eq!((withdrawn.holders, withdrawn.action), (1, accrochage::FluxAction::Suppression));
    let xml = std::fs::read_to_string(&first).unwrap();
    assert_schema_valid(&xml);
    assert!(xml.contains(&numbers[0]) && !xml.contains(&numbers[1]), "{xml}");
    // The CDC rejects the withdrawal: it is still due, and is sent again.
    let rejected = format!(
        "<accuse><passagesKO><passageKO><idTechnique>{}</idTechnique>\
         <messageErreur>Passage inconnu</messageErreur></passageKO></passagesKO></accuse>",
        numbers[0]
    );
    accrochage::import_report(&mut conn, &rejected, at(3)).unwrap();
    let second = dir.path().join("s2.xml");
    let again = accrochage::export_accrochage_suppressions(&mut conn, &second, at(4)).unwrap();
    assert_eq!(again.holders, 1);
    assert!(std::fs::read_to_string(&second).unwrap().contains(&numbers[0]));
    // Accepted this time: nothing left to withdraw.
    accrochage::import_report(&mut conn, &report(&numbers[0], None), at(5)).unwrap();
    let error = accrochage::export_accrochage_suppressions(&mut conn, &dir.path().join("s3.xml"), at(6))
        .unwrap_err()
        .to_string();
    assert!(error.contains("aucun passage à retirer"), "{error}");
    assert!(!dir.path().join("s3.xml").exists());
    assert_eq!(batch_actions(&mut conn), ["CREATION", "SUPPRESSION", "SUPPRESSION"]);
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
    crate::xml_validation::assert_valid(
        "lheo_lists_the_offer_with_places",
        crate::xml_validation::Standard::Lheo,
        &xml,
    );
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
