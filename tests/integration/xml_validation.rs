//! Every XML file the LMS generates, validated against the official schemas kept in
//! `../shared/standards/` (LHEO 2.3, the CDC's Accrochage 1.1.2) with `xmllint`, on both backends:
//! the demo offer, a session across several venues, holders born in France and abroad. Without
//! `xmllint` or the schemas the checks say SKIPPED loudly, and fail under CI. Also: bad identity
//! input is refused and writes nothing; a SIRET with a wrong check digit stops the LHEO export.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::prelude::*;
use lms_core::certification::identity;
use lms_core::certification::keys::Signer;
use lms_core::certification::{issuing, registry};
use lms_core::db::schema::{jury_decisions, settings, users, venues};
use lms_core::documents::organisation;
use lms_core::exports::{accrochage, lheo};
use lms_tests::{Seed, TestDb};

use crate::certification::{ELIGIBLE, demo_session, json_ok, lms_env, options};

/// The official schemas this suite validates against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Standard {
    Lheo,
    Accrochage112,
}

impl Standard {
    fn path(self) -> PathBuf {
        let file = match self {
            Standard::Lheo => "lheo-2.3.xsd",
            Standard::Accrochage112 => "cdc-cpf-accrochage-1.1.2.xsd",
        };
        lms_tests::workspace_root().parent().unwrap_or(Path::new("/")).join("shared/standards").join(file)
    }
}

/// What `xmllint --schema` says of `xml`: `None` when the tool or the schema is missing (after
/// saying SKIPPED, or failing under CI), else its verdict with its messages.
pub(crate) fn xmllint(test: &str, standard: Standard, xml: &str) -> Option<Result<(), String>> {
    let schema = standard.path();
    if !schema.is_file() {
        lms_tests::skip_for_want_of(
            test,
            &format!("no official schema at {}", schema.display()),
            lms_tests::under_ci(),
        );
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let file = dir.path().join("generated.xml");
    std::fs::write(&file, xml).ok()?;
    let output = match Command::new("xmllint").arg("--noout").arg("--schema").arg(&schema).arg(&file).output() {
        Ok(output) => output,
        Err(error) => {
            lms_tests::skip_for_want_of(
                test,
                &format!("xmllint cannot run ({error}): install libxml2-utils"),
                lms_tests::under_ci(),
            );
            return None;
        }
    };
    let messages = String::from_utf8_lossy(&output.stderr).into_owned();
    Some(if output.status.success() { Ok(()) } else { Err(messages) })
}

/// Fails unless `xml` validates against `standard` (skips loudly without xmllint).
pub(crate) fn assert_valid(test: &str, standard: Standard, xml: &str) {
    if let Some(Err(messages)) = xmllint(test, standard, xml) {
        panic!("{test}: invalid against {standard:?}:\n{messages}\n{xml}");
    }
}

/// Validates against the project's own Accrochage schema (a Rust validator, no tool needed).
fn assert_project_schema_valid(xml: &str) {
    let schema = xmlschema::parse_schema(accrochage::ACCROCHAGE_XSD).expect("schema");
    let report = xmlschema::validate(&oxml::parse(xml).expect("well-formed"), &schema);
    assert!(report.is_valid(), "{report}\n{xml}");
}

fn export_lheo_text(db: &TestDb, dir: &Path) -> String {
    let out = dir.join("offre.xml");
    lheo::export_lheo(&mut db.conn(), &out, lms_core::db::now()).expect("LHEO export");
    std::fs::read_to_string(&out).expect("written")
}

#[test]
fn the_demo_offer_validates_against_the_official_lheo_schema() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let xml = export_lheo_text(&db, dir.path());
    assert_valid("the_demo_offer_validates_against_the_official_lheo_schema", Standard::Lheo, &xml);
    assert!(xml.contains(r#"<code-public-vise ref="V10">83056</code-public-vise>"#), "{xml}");
    // The NSF group, never the speciality's letter; the stamp an xs:dateTime.
    assert!(xml.contains("<code-NSF>341</code-NSF>") && !xml.contains("<code-NSF>341p"), "{xml}");
    assert!(xml.contains(r#"horodatage-export="20"#) && xml.contains("Z\">"), "{xml}");
    // The validator is not a rubber stamp: the old mistakes fail it.
    let test = "the_demo_offer_validates_against_the_official_lheo_schema";
    for broken in [
        xml.replacen("<code-NSF>341</code-NSF>", "<code-NSF>341p</code-NSF>", 1),
        xml.replacen(
            r#"<code-public-vise ref="V10">83056</code-public-vise>"#,
            "<code-public-vise>0</code-public-vise>",
            1,
        ),
    ] {
        if let Some(verdict) = xmllint(test, Standard::Lheo, &broken) {
            assert!(verdict.is_err(), "should be refused:\n{broken}");
        }
    }
}

#[test]
fn a_session_across_several_venues_with_a_long_street_validates() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db.conn();
    // The demo's certifying session moves through four venues; one of them gets a long street.
    let long_street = "Zone artisanale des Grands Champs, bâtiment C, entrée par la cour de l'ancienne laiterie";
    diesel::update(venues::table.filter(venues::slug.eq("le-plan-bis-poitiers")))
        .set(venues::address.eq(Some(long_street)))
        .execute(&mut conn)
        .unwrap();
    let xml = export_lheo_text(&db, dir.path());
    assert_valid("a_session_across_several_venues_with_a_long_street_validates", Standard::Lheo, &xml);
    let action_start = xml.find(r#"<action numero="PTL-NA-DEMO-0">"#).expect("the multi-venue session");
    let action = &xml[action_start..action_start + xml[action_start..].find("</action>").unwrap()];
    assert_eq!(action.matches("<lieu-de-formation>").count(), 4, "{action}");
    // The street on lines of 50 characters at most, never the commune's name in its place.
    assert!(action.contains("<ligne>Zone artisanale des Grands Champs, bâtiment C,</ligne>"), "{action}");
    assert!(action.contains("<ligne>entrée par la cour de l&apos;ancienne laiterie</ligne>"), "{action}");
    assert!(action.contains("<ligne>27 Rue Grosse Horloge</ligne>"), "{action}");
    // Several sessions of one course: several actions in one formation.
    let formation_start = xml.find(r#"<formation numero="PTL">"#).unwrap();
    let formation = &xml[formation_start..formation_start + xml[formation_start..].find("</formation>").unwrap()];
    assert!(formation.matches("<action ").count() >= 2, "{formation}");
}

#[test]
fn lheo_refuses_a_stored_siret_with_a_wrong_check_digit() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let mut conn = db.conn();
    // Written behind the setting's back (as an old version or a hand edit would).
    diesel::update(settings::table.filter(settings::key.eq("organisation.siret")))
        .set(settings::value.eq("73282932000075"))
        .execute(&mut conn)
        .unwrap();
    let out = dir.path().join("offre.xml");
    let error = lheo::export_lheo(&mut conn, &out, lms_core::db::now()).unwrap_err().to_string();
    assert!(error.contains("clé de contrôle"), "{error}");
    assert!(!out.exists());
    // Through the setting, the same check refuses it outright.
    let refused = organisation::set_setting(&mut conn, "organisation.siret", "73282932000075").unwrap_err();
    assert!(refused.to_string().contains("clé de contrôle"), "{refused}");
}

/// Issues the two eligible demo holders' certificates today and returns the flux text.
fn accrochage_flux(db: &TestDb, dir: &Path) -> String {
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = Signer::ephemeral();
    for email in ELIGIBLE {
        issuing::issue_certificate(&mut conn, &signer, &session, email, &options(dir)).unwrap();
    }
    let today = lms_core::catalogue::paris_today();
    let out = dir.join("flux.xml");
    accrochage::export_accrochage(&mut conn, today, today, &out, lms_core::db::now()).unwrap();
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn holders_born_in_france_and_abroad_validate_against_the_cdc_schema() {
    let test = "holders_born_in_france_and_abroad_validate_against_the_cdc_schema";
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let xml = accrochage_flux(&db, dir.path());
    assert_valid(test, Standard::Accrochage112, &xml);
    assert_project_schema_valid(&xml);
    // 1.1.2 has no cpf:action; exactly one certificateur.
    assert!(!xml.contains("cpf:action"), "{xml}");
    assert_eq!(xml.matches("<cpf:certificateur>").count(), 1, "{xml}");
    // Aurélie, born in Casablanca: the INSEE country code where a commune's would be, and the country.
    for expected in [
        "<cpf:codeInsee>99350</cpf:codeInsee>",
        "<cpf:libelleCommuneNaissance>Casablanca</cpf:libelleCommuneNaissance>",
        "<cpf:codePaysNaissance>MAR</cpf:codePaysNaissance>",
        "<cpf:libellePaysNaissance>Maroc</cpf:libellePaysNaissance>",
        // Bastien, born in Limoges.
        "<cpf:codeInsee>87085</cpf:codeInsee>",
    ] {
        assert!(xml.contains(expected), "{expected}\n{xml}");
    }
    // dateDebutValidite is the jury's decision date, not the day the certificate was issued.
    let mut conn = db.conn();
    let decided: Vec<chrono::NaiveDate> = jury_decisions::table
        .inner_join(users::table.on(users::id.eq(jury_decisions::trainee_id)))
        .filter(users::email.eq_any(ELIGIBLE))
        .select(jury_decisions::decided_on)
        .load(&mut conn)
        .unwrap();
    assert_eq!(decided.len(), 2);
    for day in &decided {
        assert!(xml.contains(&format!("<cpf:dateDebutValidite>{day}</cpf:dateDebutValidite>")), "{day}\n{xml}");
    }
    assert!(!xml.contains(&format!("<cpf:dateDebutValidite>{}", lms_core::catalogue::paris_today())), "{xml}");
    // The official schema is not a rubber stamp: a 2-letter country, two certificateurs fail it.
    for broken in [
        xml.replace("<cpf:codePaysNaissance>MAR<", "<cpf:codePaysNaissance>MA<"),
        xml.replace("<cpf:certificateurs>", "<cpf:certificateurs><cpf:certificateur/>"),
    ] {
        if let Some(verdict) = xmllint(test, Standard::Accrochage112, &broken) {
            assert!(verdict.is_err(), "should be refused:\n{broken}");
        }
    }
}

#[test]
fn the_flux_version_decides_cpf_action() {
    let test = "the_flux_version_decides_cpf_action";
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let signer = Signer::ephemeral();
    let numbers: Vec<String> = ELIGIBLE
        .iter()
        .map(|email| {
            issuing::issue_certificate(&mut conn, &signer, &session, email, &options(dir.path())).unwrap().number
        })
        .collect();
    let today = lms_core::catalogue::paris_today();
    accrochage::export_accrochage(&mut conn, today, today, &dir.path().join("c.xml"), lms_core::db::now()).unwrap();
    registry::revoke_certificate(&mut conn, &signer, &numbers[0], "Erreur de jury").unwrap();
    // 1.1.2 cannot say SUPPRESSION: refused, nothing written, nothing recorded.
    let out = dir.path().join("s.xml");
    let refused = lms_env(&db, &keys, &["export", "accrochage", "--suppressions", "--out", out.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("1.1.5") && refused.stderr.contains("accrochage.flux_version"),
        "{}",
        refused.stderr
    );
    assert!(!out.exists());
    // An unknown version is refused by the one validation of settings.
    let bad = lms_env(&db, &keys, &["export", "setting", "accrochage.flux_version", "2.0"]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("1.1.2, 1.1.5"), "{}", bad.stderr);
    assert_eq!(lms_env(&db, &keys, &["export", "setting", "accrochage.flux_version", "1.1.5"]).code, 0);
    let written = json_ok(&lms_env(
        &db,
        &keys,
        &["export", "accrochage", "--suppressions", "--out", out.to_str().unwrap(), "--json"],
    ));
    assert_eq!(written["action"], "SUPPRESSION");
    let xml = std::fs::read_to_string(&out).unwrap();
    assert!(xml.contains("<cpf:action>SUPPRESSION</cpf:action>"), "{xml}");
    assert_project_schema_valid(&xml);
    // Against the CDC's 1.1.2 schema, cpf:action is the one thing that does not belong.
    if let Some(verdict) = xmllint(test, Standard::Accrochage112, &xml) {
        let messages = verdict.expect_err("1.1.2 has no cpf:action");
        assert!(messages.contains("action"), "{messages}");
        let without_action = xml.replace("<cpf:action>SUPPRESSION</cpf:action>", "");
        assert_valid(test, Standard::Accrochage112, &without_action);
    }
}

#[test]
fn a_birth_abroad_is_accepted_by_country_and_bad_places_write_nothing() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let email = ELIGIBLE[1];
    let before = identity::show_identity(&mut db.conn(), email).unwrap();
    let set = |extra: &[&str]| {
        let mut args = vec![
            "certify",
            "identity",
            "--trainee",
            email,
            "--birth-name",
            "Leroy",
            "--first-names",
            "Bastien",
            "--birth-date",
            "1979-11-03",
            "--sex",
            "M",
            "--json",
        ];
        args.extend_from_slice(extra);
        lms_env(&db, &keys, &args)
    };
    let long_label = "L".repeat(61);
    for (extra, expected) in [
        (vec!["--birth-country", "ZZ"], "pays de naissance inconnu"),
        (vec!["--birth-country", "XYZ"], "pays de naissance inconnu"),
        (vec!["--birth-insee", "99999"], "n'est pas un code pays INSEE"),
        (vec!["--birth-insee", "99100"], "désigne la France"),
        (vec!["--birth-insee", "99350", "--birth-country", "BEL"], "se contredisent"),
        (vec!["--birth-insee", "87085", "--birth-place", long_label.as_str()], "60 caractères"),
    ] {
        let refused = set(&extra);
        assert_eq!(refused.code, 1, "{extra:?}: {refused:?}");
        assert!(refused.stderr.contains(expected), "{extra:?}: {}", refused.stderr);
        assert_eq!(identity::show_identity(&mut db.conn(), email).unwrap(), before, "{extra:?} wrote");
    }
    // Born abroad, given by its INSEE country code or its ISO codes: stored as ISO alpha-3.
    for extra in [["--birth-insee", "99350"], ["--birth-country", "MA"], ["--birth-country", "mar"]] {
        let mut args = extra.to_vec();
        args.extend(["--birth-place", "Rabat"]);
        let shown = json_ok(&set(&args));
        assert_eq!(shown["birth_country_code"], "MAR", "{extra:?}");
        assert!(shown["birth_commune_insee"].is_null(), "{extra:?}");
    }
    // A 60-character label is the registry's limit, and it is exported.
    let sixty = "Ville-de-naissance-au-nom-très-long-".to_string() + &"x".repeat(24);
    assert_eq!(sixty.chars().count(), 60);
    json_ok(&set(&["--birth-country", "SEN", "--birth-place", &sixty]));
    let xml = accrochage_flux(&db, dir.path());
    assert!(xml.contains(&format!("<cpf:libelleCommuneNaissance>{sixty}<")), "{xml}");
    assert!(xml.contains("<cpf:codeInsee>99341</cpf:codeInsee>"), "{xml}");
    assert_valid("a_birth_abroad_is_accepted_by_country_and_bad_places_write_nothing", Standard::Accrochage112, &xml);
    assert_project_schema_valid(&xml);
}
