//! « Accrochage »: the holders file the certifier sends the Caisse des Dépôts within three months
//! of each award (art. L6113-8 and R6113-17-2 Code du travail), namespace
//! `urn:cdc:cpf:pc5:schema:1.0.0`, and the import of its processing report. A CREATION flux
//! declares the passes of valid certificates; a SUPPRESSION flux withdraws, under the same
//! `idTechnique`, the passes of certificates revoked after the CDC received them.
//!
//! The file follows the version of the CDC's schema chosen by the setting
//! `accrochage.flux_version` ([`FluxVersion`]): 1.1.2 by default, the only official XSD found
//! (`../shared/standards/cdc-cpf-accrochage-1.1.2.xsd`, which every generated file is validated
//! against in the tests), or 1.1.5, which adds `cpf:action` and so is the only one that can carry a
//! SUPPRESSION. `accrochage.xsd` beside this file is the project's copy of the 1.1.2 structure
//! with that one addition. `idTechnique` is the certificate number, unique and stable, which is
//! how the processing report is matched back; `dateDebutValidite` is the jury's decision date.

use std::path::Path;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Paris;
use diesel::prelude::*;
use quick_xml::events::Event;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ExportError, XmlOut, commit_file, is_xml_text, write_temporary};
use crate::certification::identity::BIRTH_PLACE_MAX_CHARS;
use crate::certification::registry::CertificateStatus;
use crate::db::ids::CertificateId;
use crate::db::json_text::to_json_text;
use crate::db::schema::{accrochage_batches, accrochage_items, certificates, certifications, jury_decisions, users};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::{self, SettingKey};
use crate::geo::countries::{Country, find_country, is_cog_country_code};

/// The project's schema: the CDC's 1.1.2 structure plus the optional `cpf:action` of 1.1.5.
pub const ACCROCHAGE_XSD: &str = include_str!("accrochage.xsd");
/// XML namespace of the file.
pub const NAMESPACE: &str = "urn:cdc:cpf:pc5:schema:1.0.0";
/// Setting holding the uploader's CDC client id (8 characters).
pub const EMITTER_SETTING: &str = "accrochage.emitter_client_id";

crate::text_enum! {
    /// The version of the CDC's schema a flux follows (setting `accrochage.flux_version`).
    pub enum FluxVersion: "version du flux Accrochage" {
        /// 1.1.2, the default: the official XSD found; it has no `cpf:action`, so it only declares.
        V112 = "1.1.2", "1.1.2 (sans cpf:action : déclarations seulement)";
        /// 1.1.5: adds `cpf:action` (CREATION or SUPPRESSION).
        V115 = "1.1.5", "1.1.5 (avec cpf:action : déclarations et retraits)";
    }
}

impl FluxVersion {
    /// The version when the setting is not set.
    pub const DEFAULT: FluxVersion = FluxVersion::V112;

    /// Whether the flux carries `cpf:action` (without it, a file can only declare passes).
    pub fn has_action(self) -> bool {
        self != FluxVersion::V112
    }
}

/// Result of an export.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccrochageExport {
    /// `idFlux` (the batch id).
    pub batch_id: String,
    /// CREATION or SUPPRESSION.
    pub action: FluxAction,
    /// File written.
    pub file: String,
    /// Holders (passes) in the file.
    pub holders: usize,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Awards sent later than the three-month deadline.
    pub warnings: Vec<String>,
}

/// A certificate with its holder's registry identity and its certification's CDC identifiers
/// (the columns of `holder_query!`, in order).
#[derive(Debug, Queryable)]
struct HolderRow {
    id: CertificateId,
    number: String,
    awarded_on: NaiveDate,
    decided_on: NaiveDate,
    email: String,
    _display_name: String,
    birth_name: Option<String>,
    usage_name: Option<String>,
    first_names: Option<String>,
    birth_date: Option<NaiveDate>,
    birth_insee: Option<String>,
    birth_place: Option<String>,
    birth_country: Option<String>,
    sex: Option<String>,
    certification_code: String,
    registry: String,
    cdc_certifier_id: Option<String>,
    cdc_contract_id: Option<String>,
}

/// The passes of one certification, in file order.
struct CertificationGroup {
    code: String,
    registry: String,
    certifier_id: String,
    contract_id: String,
    holders: Vec<Holder>,
}

struct Holder {
    certificate: CertificateId,
    number: String,
    valid_from: NaiveDate,
    birth_name: String,
    usage_name: Option<String>,
    first_names: Vec<String>,
    birth_date: NaiveDate,
    sex: String,
    born_in: BirthPlace,
    birth_place: Option<String>,
}

/// Where a holder was born, as the file names it.
enum BirthPlace {
    /// A French commune, by INSEE code.
    Commune(String),
    /// Abroad: the INSEE « code pays » stands where a commune's code would.
    Abroad(&'static Country),
}

impl BirthPlace {
    fn insee_code(&self) -> &str {
        match self {
            BirthPlace::Commune(insee) => insee,
            BirthPlace::Abroad(country) => country.cog,
        }
    }
}

fn check_len(problems: &mut Vec<String>, who: &str, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.push(format!("{who} : {field} dépasse {max} caractères"));
    }
    if !is_xml_text(value) {
        problems.push(format!("{who} : {field} contient des caractères interdits"));
    }
}

/// Which flux a batch is: declaring passes, or withdrawing passes declared earlier.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FluxAction {
    /// `CREATION`: passes of valid certificates.
    Creation,
    /// `SUPPRESSION`: passes of revoked certificates the CDC holds, same `idTechnique`.
    Suppression,
}

impl FluxAction {
    /// The value of `cpf:action` (also stored in `accrochage_batches.action`).
    pub fn as_str(self) -> &'static str {
        match self {
            FluxAction::Creation => "CREATION",
            FluxAction::Suppression => "SUPPRESSION",
        }
    }
}

/// The holders with every field a pass needs, in file order; callers add the filters.
macro_rules! holder_query {
    () => {
        certificates::table
            .inner_join(users::table.on(users::id.eq(certificates::holder_id)))
            .inner_join(certifications::table)
            .inner_join(jury_decisions::table.on(jury_decisions::id.eq(certificates::jury_decision_id)))
            .order((certifications::code.asc(), certificates::number.asc()))
            .select((
                certificates::id,
                certificates::number,
                certificates::awarded_on,
                jury_decisions::decided_on,
                users::email,
                users::display_name,
                users::birth_name,
                users::usage_name,
                users::first_names,
                users::birth_date,
                users::birth_commune_insee,
                users::birth_place_label,
                users::birth_country_code,
                users::sex,
                certifications::code,
                certifications::registry,
                certifications::cdc_certifier_id,
                certifications::cdc_contract_id,
            ))
    };
}

/// Generates the holders file for awards dated `from`..=`to` (valid certificates), records the
/// batch, and writes `out`. Refuses, listing every problem, if any holder lacks a mandatory field
/// or a value is out of range; warns about awards older than three months.
pub fn export_accrochage(
    conn: &mut DbConn,
    from: NaiveDate,
    to: NaiveDate,
    out: &Path,
    now: NaiveDateTime,
) -> Result<AccrochageExport, ExportError> {
    if to < from {
        return Err(ExportError::Invalid(format!("période inversée : {from} > {to}")));
    }
    db::write_transaction(conn, |conn| {
        let rows: Vec<HolderRow> = holder_query!()
            .filter(certificates::status.eq(CertificateStatus::Valid))
            .filter(certificates::awarded_on.ge(from))
            .filter(certificates::awarded_on.le(to))
            .load(conn)
            .map_err(DbError::from)?;
        if rows.is_empty() {
            return Err(ExportError::Invalid(format!("aucun certificat valide décerné du {from} au {to}")));
        }
        write_flux(conn, FluxAction::Creation, rows, Some((from, to)), out, now)
    })
}

/// Generates the SUPPRESSION file: every revoked certificate whose pass the CDC holds and that no
/// earlier SUPPRESSION withdrew, with the same `idTechnique` as when it was declared; records the
/// batch (so a second run does not withdraw it again) and writes `out`. A pass counts as held once
/// a CREATION carried it, unless the processing report rejected it there: a pass sent but not
/// yet acknowledged is withdrawn too, since a withdrawal the CDC finds nothing to match is harmless
/// while a revoked certification left in the Passeport de compétences is not. A SUPPRESSION the
/// CDC rejected is sent again. Refuses when there is nothing to withdraw.
pub fn export_accrochage_suppressions(
    conn: &mut DbConn,
    out: &Path,
    now: NaiveDateTime,
) -> Result<AccrochageExport, ExportError> {
    db::write_transaction(conn, |conn| {
        let declared = accrochage_items::table
            .inner_join(accrochage_batches::table)
            .filter(accrochage_batches::action.eq(FluxAction::Creation.as_str()))
            .filter(accrochage_items::result.ne(PassResult::Rejected))
            .select(accrochage_items::certificate_id);
        let withdrawn = accrochage_items::table
            .inner_join(accrochage_batches::table)
            .filter(accrochage_batches::action.eq(FluxAction::Suppression.as_str()))
            .filter(accrochage_items::result.ne(PassResult::Rejected))
            .select(accrochage_items::certificate_id);
        let rows: Vec<HolderRow> = holder_query!()
            .filter(certificates::status.eq(CertificateStatus::Revoked))
            .filter(certificates::id.eq_any(declared))
            .filter(diesel::dsl::not(certificates::id.eq_any(withdrawn)))
            .load(conn)
            .map_err(DbError::from)?;
        if rows.is_empty() {
            return Err(ExportError::Invalid(
                "aucun passage à retirer : aucun certificat révoqué n'a été déclaré à la Caisse des Dépôts sans avoir déjà été retiré"
                    .into(),
            ));
        }
        write_flux(conn, FluxAction::Suppression, rows, None, out, now)
    })
}

/// Checks the holders, renders the flux, records the batch and writes `out` (inside the caller's
/// transaction). `period` is the award window asked for; a SUPPRESSION records the award dates
/// its passes span instead.
fn write_flux(
    conn: &mut DbConn,
    action: FluxAction,
    rows: Vec<HolderRow>,
    period: Option<(NaiveDate, NaiveDate)>,
    out: &Path,
    now: NaiveDateTime,
) -> Result<AccrochageExport, ExportError> {
    let today = Paris.from_utc_datetime(&now).date_naive();
    let mut settings = organisation::all_settings(conn)?;
    let emitter = settings.remove(&SettingKey::AccrochageEmitter);
    let version = match settings.get(&SettingKey::AccrochageFluxVersion) {
        None => FluxVersion::DEFAULT,
        Some(stored) => stored.parse::<FluxVersion>().map_err(|e| ExportError::Refused(vec![e.to_string()]))?,
    };
    if action == FluxAction::Suppression && !version.has_action() {
        return Err(ExportError::Refused(vec![format!(
            "un flux SUPPRESSION demande cpf:action, que la version {} du schéma n'a pas : \
             choisissez la version 1.1.5 (lms export setting {} 1.1.5)",
            version.as_str(),
            SettingKey::AccrochageFluxVersion.as_str()
        )]));
    }
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let valid_id = |id: &str| id.len() == 8 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    match &emitter {
        Some(id) if valid_id(id) => {}
        Some(id) => problems.push(format!("identifiant CDC de l'émetteur « {id} » : 8 caractères alphanumériques")),
        None => problems.push(format!("identifiant CDC de l'émetteur manquant (réglage {EMITTER_SETTING})")),
    }
    let awarded = rows.iter().map(|r| r.awarded_on);
    let (Some(first_award), Some(last_award)) = (awarded.clone().min(), awarded.max()) else {
        return Err(ExportError::Invalid("aucun passage".into()));
    };
    let (from, to) = period.unwrap_or((first_award, last_award));
    // Group by certification, keeping the order of the query.
    let mut groups: Vec<CertificationGroup> = Vec::new();
    for row in rows {
        let HolderRow {
            id,
            number,
            awarded_on,
            decided_on,
            email,
            _display_name: _,
            birth_name,
            usage_name,
            first_names,
            birth_date,
            birth_insee: insee,
            birth_place: place,
            birth_country: country,
            sex,
            certification_code: code,
            registry,
            cdc_certifier_id: certifier_id,
            cdc_contract_id: contract_id,
        } = row;
        let who = format!("{number} ({email})");
        // The three-month deadline is for declaring an award; a withdrawal is due whenever it happens.
        let deadline = awarded_on.checked_add_months(Months::new(3)).unwrap_or(awarded_on);
        if action == FluxAction::Creation && deadline < today {
            warnings
                .push(format!("{number} décerné le {awarded_on} : plus de trois mois (échéance légale le {deadline})"));
        }
        if groups.last().is_none_or(|g| g.code != code) {
            match (&certifier_id, &contract_id) {
                (Some(c), Some(k)) if valid_id(c) && !k.is_empty() && k.len() <= 20 => {}
                _ => problems.push(format!(
                    "{code} : identifiant CDC du certificateur (8 caractères) ou n° de contrat (1 à 20) manquant ou invalide"
                )),
            }
            groups.push(CertificationGroup {
                code: code.clone(),
                registry: registry.clone(),
                certifier_id: certifier_id.clone().unwrap_or_default(),
                contract_id: contract_id.clone().unwrap_or_default(),
                holders: Vec::new(),
            });
        }
        let birth_name = birth_name.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let first: Vec<String> =
            first_names.as_deref().unwrap_or_default().split_whitespace().map(str::to_owned).collect();
        let insee = insee.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let mut missing = Vec::new();
        if birth_name.is_none() {
            missing.push("nom de naissance");
        }
        if first.is_empty() {
            missing.push("prénom");
        }
        if birth_date.is_none() {
            missing.push("date de naissance");
        }
        if insee.is_none() && country.is_none() {
            missing.push("commune ou pays de naissance");
        }
        if !matches!(sex.as_deref(), Some("M" | "F")) {
            missing.push("sexe (M ou F)");
        }
        if !missing.is_empty() {
            problems.push(format!("{who} : {} manquant(s)", missing.join(", ")));
            continue;
        }
        let (Some(birth_name), Some(birth_date), Some(sex)) = (birth_name, birth_date, sex) else {
            continue;
        };
        check_len(&mut problems, &who, "nom de naissance", &birth_name, 60);
        if let Some(usage) = &usage_name {
            check_len(&mut problems, &who, "nom d'usage", usage, 60);
        }
        for (index, name) in first.iter().take(3).enumerate() {
            check_len(&mut problems, &who, &format!("prénom {}", index + 1), name, 60);
        }
        if let Some(place) = &place {
            check_len(&mut problems, &who, "lieu de naissance", place, BIRTH_PLACE_MAX_CHARS);
        }
        // A country stored before countries were checked (or by hand) is checked again here.
        let born_in = match (insee, country) {
            (Some(insee), _) if is_cog_country_code(&insee) => match find_country(&insee) {
                Some(country) if !country.is_france() => BirthPlace::Abroad(country),
                _ => {
                    problems.push(format!("{who} : code pays INSEE de naissance inconnu « {insee} »"));
                    continue;
                }
            },
            (Some(insee), _) if insee.len() == 5 && insee.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                BirthPlace::Commune(insee)
            }
            (Some(insee), _) => {
                problems.push(format!("{who} : code INSEE de naissance « {insee} » hors format (5 caractères)"));
                continue;
            }
            (None, Some(code)) => match find_country(&code) {
                Some(country) if !country.is_france() => BirthPlace::Abroad(country),
                _ => {
                    problems.push(format!("{who} : pays de naissance inconnu « {code} »"));
                    continue;
                }
            },
            (None, None) => continue,
        };
        if birth_date.year() < 1900 || birth_date >= awarded_on {
            problems.push(format!("{who} : date de naissance {birth_date} hors limites"));
        }
        if let Some(group) = groups.last_mut() {
            group.holders.push(Holder {
                certificate: id,
                number,
                valid_from: decided_on,
                birth_name,
                usage_name: usage_name.filter(|u| !u.trim().is_empty()),
                first_names: first,
                birth_date,
                sex,
                born_in,
                birth_place: place.filter(|p| !p.trim().is_empty()),
            });
        }
    }
    // The schema has room for one certificateur per flux.
    let mut certifiers: Vec<(&str, &str)> =
        groups.iter().map(|g| (g.certifier_id.as_str(), g.contract_id.as_str())).collect();
    certifiers.sort_unstable();
    certifiers.dedup();
    if certifiers.len() > 1 {
        let listed: Vec<String> = certifiers.iter().map(|(id, contract)| format!("{id}/{contract}")).collect();
        problems.push(format!(
            "ces passages relèvent de {} certificateurs ou contrats ({}) : le schéma de la Caisse des Dépôts \
             n'en admet qu'un par fichier",
            certifiers.len(),
            listed.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(ExportError::Refused(problems));
    }
    let batch_id = uuid::Uuid::now_v7().to_string();
    let stamp = Paris.from_utc_datetime(&now).format("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let emitter = emitter.unwrap_or_default();
    let bytes = render(&batch_id, &stamp, version, action, &emitter, &groups);
    let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let holders: usize = groups.iter().map(|g| g.holders.len()).sum();
    let temporary = write_temporary(out, &bytes)?;
    let recorded = record_batch(conn, &batch_id, action, now, (from, to), &sha256, &groups);
    if let Err(error) = recorded {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    if let Err(error) = commit_file(&temporary, out) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error);
    }
    Ok(AccrochageExport { batch_id, action, file: out.display().to_string(), holders, sha256, warnings })
}

fn record_batch(
    conn: &mut DbConn,
    batch_id: &str,
    action: FluxAction,
    now: NaiveDateTime,
    (from, to): (NaiveDate, NaiveDate),
    sha256: &str,
    groups: &[CertificationGroup],
) -> Result<(), ExportError> {
    let count: usize = groups.iter().map(|g| g.holders.len()).sum();
    diesel::insert_into(accrochage_batches::table)
        .values((
            accrochage_batches::id.eq(batch_id),
            accrochage_batches::action.eq(action.as_str()),
            accrochage_batches::generated_at.eq(now),
            accrochage_batches::period_from.eq(from),
            accrochage_batches::period_to.eq(to),
            accrochage_batches::xml_sha256.eq(sha256),
            accrochage_batches::item_count.eq(i32::try_from(count).unwrap_or(i32::MAX)),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    let items: Vec<(String, String)> = groups
        .iter()
        .flat_map(|g| g.holders.iter())
        .map(|h| (uuid::Uuid::now_v7().to_string(), h.certificate.to_string()))
        .collect();
    // Multi-row inserts go through the concrete connection (MultiConnection cannot batch).
    for chunk in items.chunks(1_000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(id, certificate)| {
                (
                    accrochage_items::id.eq(id.as_str()),
                    accrochage_items::batch_id.eq(batch_id),
                    accrochage_items::certificate_id.eq(certificate.as_str()),
                    accrochage_items::result.eq(PassResult::Pending.as_str()),
                )
            })
            .collect();
        crate::on_inner_connection!(conn, |inner| diesel::insert_into(accrochage_items::table)
            .values(&values)
            .execute(inner))
        .map_err(DbError::from)?;
    }
    Ok(())
}

/// The flux: one certificateur (checked by the caller), its certifications and their passes.
fn render(
    batch_id: &str,
    stamp: &str,
    version: FluxVersion,
    action: FluxAction,
    emitter: &str,
    groups: &[CertificationGroup],
) -> Vec<u8> {
    let mut xml = XmlOut::new();
    xml.open_with("cpf:flux", &[("xmlns:cpf", NAMESPACE), ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")]);
    xml.leaf("cpf:idFlux", batch_id);
    xml.leaf("cpf:horodatage", stamp);
    if version.has_action() {
        xml.leaf("cpf:action", action.as_str());
    }
    xml.open("cpf:emetteur");
    xml.leaf("cpf:idClient", emitter);
    xml.open("cpf:certificateurs");
    xml.open("cpf:certificateur");
    if let Some(first) = groups.first() {
        xml.leaf("cpf:idClient", &first.certifier_id);
        xml.leaf("cpf:idContrat", &first.contract_id);
    }
    xml.open("cpf:certifications");
    for group in groups {
        xml.open("cpf:certification");
        xml.leaf("cpf:type", &group.registry);
        xml.leaf("cpf:code", &group.code);
        xml.leaf("cpf:natureDeposant", "CERTIFICATEUR");
        xml.open("cpf:passageCertifications");
        for holder in &group.holders {
            render_pass(&mut xml, holder);
        }
        xml.close("cpf:passageCertifications");
        xml.close("cpf:certification");
    }
    xml.close("cpf:certifications");
    xml.close("cpf:certificateur");
    xml.close("cpf:certificateurs");
    xml.close("cpf:emetteur");
    xml.close("cpf:flux");
    xml.finish()
}

fn render_pass(xml: &mut XmlOut, h: &Holder) {
    xml.open("cpf:passageCertification");
    xml.leaf("cpf:idTechnique", &h.number);
    xml.leaf("cpf:obtentionCertification", "PAR_ADMISSION");
    xml.leaf("cpf:donneeCertifiee", "true");
    xml.leaf("cpf:dateDebutValidite", &h.valid_from.format("%Y-%m-%d").to_string());
    xml.nil("cpf:dateFinValidite");
    xml.leaf("cpf:presenceNiveauLangueEuro", "false");
    xml.leaf("cpf:presenceNiveauNumeriqueEuro", "false");
    xml.nil("cpf:scoring");
    xml.nil("cpf:mentionValidee");
    xml.open("cpf:modalitesInscription");
    xml.leaf("cpf:modaliteAcces", "FORMATION_CONTINUE_HORS_CONTRAT_DE_PROFESSIONNALISATION");
    xml.close("cpf:modalitesInscription");
    xml.open("cpf:identificationTitulaire");
    xml.open("cpf:titulaire");
    xml.leaf("cpf:nomNaissance", &h.birth_name);
    match &h.usage_name {
        Some(usage) => xml.leaf("cpf:nomUsage", usage),
        None => xml.nil("cpf:nomUsage"),
    }
    for (index, name) in h.first_names.iter().take(3).enumerate() {
        xml.leaf(&format!("cpf:prenom{}", index + 1), name);
    }
    xml.leaf("cpf:anneeNaissance", &h.birth_date.year().to_string());
    xml.leaf("cpf:moisNaissance", &format!("{:02}", h.birth_date.month()));
    xml.leaf("cpf:jourNaissance", &format!("{:02}", h.birth_date.day()));
    xml.leaf("cpf:sexe", &h.sex);
    xml.open("cpf:codeCommuneNaissance");
    xml.open("cpf:codeInseeNaissance");
    xml.leaf("cpf:codeInsee", h.born_in.insee_code());
    xml.close("cpf:codeInseeNaissance");
    xml.close("cpf:codeCommuneNaissance");
    if let Some(place) = &h.birth_place {
        xml.leaf("cpf:libelleCommuneNaissance", place);
    }
    if let BirthPlace::Abroad(country) = h.born_in {
        xml.leaf("cpf:codePaysNaissance", country.iso3);
        xml.leaf("cpf:libellePaysNaissance", country.name);
    }
    xml.close("cpf:titulaire");
    xml.close("cpf:identificationTitulaire");
    xml.close("cpf:passageCertification");
}

crate::text_enum! {
    /// What the Caisse des Dépôts said about one pass sent.
    pub enum PassResult: "résultat de passage" {
        /// Sent, no processing report yet.
        Pending = "pending", "en attente";
        /// In `passagesOK`.
        Accepted = "accepted", "accepté";
        /// In `passagesKO`, with its messages.
        Rejected = "rejected", "rejeté";
    }
}

/// One pass named in a processing report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedPass {
    /// Certificate number (`idTechnique`).
    pub number: String,
    /// Under `passagesOK` (else `passagesKO`).
    pub accepted: bool,
    /// `messageErreur`s.
    pub messages: Vec<String>,
}

/// Where a certificate's last pass stands.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PassState {
    /// Certificate number.
    pub number: String,
    /// Result of its latest batch.
    pub result: PassResult,
}

/// Result of importing a processing report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportImport {
    /// Passes marked accepted.
    pub accepted: usize,
    /// Passes marked rejected, with their messages.
    pub rejected: Vec<RejectedPass>,
}

/// A pass the CDC rejected.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectedPass {
    /// Certificate number (`idTechnique`).
    pub number: String,
    /// Error messages.
    pub messages: Vec<String>,
}

/// Parses a processing report: passes under `passagesOK` / `passagesKO`, each named by its
/// `idTechnique`, KO ones with `messageErreur`s. Namespace prefixes are ignored.
pub fn parse_report(xml: &str) -> Result<Vec<ReportedPass>, ExportError> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut section: Option<bool> = None;
    let mut passes: Vec<ReportedPass> = Vec::new();
    loop {
        match reader.read_event() {
            Err(e) => return Err(ExportError::Invalid(format!("rapport de traitement illisible : {e}"))),
            Ok(Event::Eof) => break,
            Ok(Event::Start(start)) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                match name.as_str() {
                    "passagesOK" => section = Some(true),
                    "passagesKO" => section = Some(false),
                    _ => {}
                }
                stack.push(name);
            }
            Ok(Event::End(_)) => {
                if let Some(name) = stack.pop()
                    && (name == "passagesOK" || name == "passagesKO")
                {
                    section = None;
                }
            }
            Ok(Event::Text(text)) => {
                let value = text
                    .decode()
                    .map_err(|e| ExportError::Invalid(format!("rapport de traitement illisible : {e}")))?;
                let value = quick_xml::escape::unescape(&value)
                    .map_err(|e| ExportError::Invalid(format!("rapport de traitement illisible : {e}")))?
                    .trim()
                    .to_owned();
                let (Some(current), Some(ok)) = (stack.last(), section) else { continue };
                match current.as_str() {
                    "idTechnique" => passes.push(ReportedPass { number: value, accepted: ok, messages: Vec::new() }),
                    "messageErreur" => {
                        if let Some(pass) = passes.last_mut() {
                            pass.messages.push(value);
                        }
                    }
                    _ => {}
                }
            }
            Ok(_) => {}
        }
    }
    if passes.is_empty() {
        return Err(ExportError::Invalid("aucun passage (passagesOK / passagesKO) dans ce rapport".into()));
    }
    Ok(passes)
}

/// Imports a processing report: marks each pass of the latest batch holding it accepted or
/// rejected. Unknown ids are refused (all listed) and nothing is written.
pub fn import_report(conn: &mut DbConn, xml: &str, now: NaiveDateTime) -> Result<ReportImport, ExportError> {
    let passes = parse_report(xml)?;
    db::write_transaction(conn, |conn| {
        let mut problems = Vec::new();
        let mut updates = Vec::new();
        for ReportedPass { number, accepted: ok, messages } in &passes {
            let item: Option<(String, String)> = accrochage_items::table
                .inner_join(accrochage_batches::table)
                .inner_join(certificates::table)
                .filter(certificates::number.eq(number))
                .order(accrochage_batches::generated_at.desc())
                .select((accrochage_items::id, accrochage_batches::id))
                .first(conn)
                .optional()
                .map_err(DbError::from)?;
            match item {
                None => problems.push(format!(
                    "« {} » : aucun envoi ne contient ce passage",
                    number.chars().take(40).collect::<String>()
                )),
                Some((item, batch)) => {
                    if !ok && messages.is_empty() {
                        problems.push(format!("{number} : passage refusé sans messageErreur"));
                    }
                    updates.push((item, batch, *ok, messages.clone(), number.clone()));
                }
            }
        }
        if !problems.is_empty() {
            return Err(ExportError::Refused(problems));
        }
        let mut result = ReportImport { accepted: 0, rejected: Vec::new() };
        for (item, batch, ok, messages, number) in updates {
            let messages_json = (!messages.is_empty()).then(|| to_json_text(&messages)).transpose()?;
            diesel::update(accrochage_items::table.find(&item))
                .set((
                    accrochage_items::result.eq(if ok { PassResult::Accepted } else { PassResult::Rejected }),
                    accrochage_items::messages.eq(messages_json),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
            diesel::update(accrochage_batches::table.find(&batch))
                .set(accrochage_batches::report_imported_at.eq(Some(now)))
                .execute(conn)
                .map_err(DbError::from)?;
            if ok {
                result.accepted += 1;
            } else {
                result.rejected.push(RejectedPass { number, messages });
            }
        }
        Ok(result)
    })
}

/// Where each certificate's last pass stands (`pending`, `accepted`, `rejected`), by number.
pub fn pass_results(conn: &mut DbConn) -> Result<Vec<PassState>, ExportError> {
    let rows: Vec<(String, PassResult, NaiveDateTime)> = accrochage_items::table
        .inner_join(accrochage_batches::table)
        .inner_join(certificates::table)
        .order((certificates::number.asc(), accrochage_batches::generated_at.desc()))
        .select((certificates::number, accrochage_items::result, accrochage_batches::generated_at))
        .load(conn)
        .map_err(DbError::from)?;
    let mut out: Vec<PassState> = Vec::new();
    for (number, result, _) in rows {
        if out.last().is_none_or(|p| p.number != number) {
            out.push(PassState { number, result });
        }
    }
    Ok(out)
}
