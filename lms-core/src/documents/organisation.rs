//! The training organisation's identity printed on every regulatory document (feuille
//! d'émargement, certificat de réalisation, attestation de fin de formation) and sent in the
//! exports (LHEO, Accrochage), kept in the `settings` table.
//!
//! This module is the one owner of that table: [`SettingKey`] lists every setting, [`set_setting`]
//! is the one write path with the one validation (SIRET with its check digit, NDA, postcode,
//! e-mail…), and [`OrganisationIdentity::load`] / [`organisation_settings`] / [`setting_value`]
//! read it. `lms documents setting` and `lms export setting` are both doors onto [`set_setting`].
//!
//! A document never invents an identity: an unset field prints a visible placeholder saying how to
//! set it (`lms documents setting KEY VALUE`).

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::settings;
use crate::db::{self, DbConn, DbError};
use crate::exports::accrochage::FluxVersion;
use crate::{Classify, ErrorKind};

crate::text_enum! {
    /// A setting of the organisation (the key in the `settings` table), with what it is.
    pub enum SettingKey: "réglage" {
        /// Raison sociale.
        Name = "organisation.name", "raison sociale";
        /// SIRET.
        Siret = "organisation.siret", "SIRET (14 chiffres)";
        /// Numéro de déclaration d'activité.
        Nda = "organisation.nda", "numéro de déclaration d'activité (11 chiffres)";
        /// Street address.
        Address = "organisation.address", "adresse";
        /// Postcode.
        Postcode = "organisation.postcode", "code postal";
        /// City.
        City = "organisation.city", "ville";
        /// Contact e-mail.
        Email = "organisation.email", "courriel de contact";
        /// Contact phone.
        Phone = "organisation.phone", "téléphone de contact";
        /// Who signs certificates.
        Representative = "organisation.representative", "représentant·e légal·e : nom et qualité (signataire des certificats)";
        /// The organisation's client id at the Caisse des Dépôts (Accrochage emitter).
        AccrochageEmitter = "accrochage.emitter_client_id", "identifiant client de l'émetteur à la Caisse des Dépôts (8 caractères)";
        /// Who hosts the site (name, address, phone), for the legal notice.
        Host = "legal.host", "hébergeur du site : nom, adresse et téléphone (mentions légales)";
        /// The version of the CDC's schema the Accrochage file follows (1.1.2 when unset).
        AccrochageFluxVersion = "accrochage.flux_version", "version du schéma du flux Accrochage (1.1.2 par défaut, 1.1.5 pour cpf:action)";
        /// Days after a session's end when the « à froid » questionnaire opens.
        SurveyColdDays = "quality.survey_cold_days", "questionnaire à froid : jours après la fin de la session (90 par défaut)";
        /// Working days the organisation gives itself to answer a complaint.
        ComplaintAnswerDays = "quality.complaint_answer_days", "réclamations : délai de réponse en jours ouvrés (10 par défaut)";
        /// The disability referent's name, told to trainees who ask for adjustments.
        DisabilityReferentName = "quality.disability_referent_name", "référent·e handicap : nom";
        /// The disability referent's e-mail: the only recipient of adjustment requests.
        DisabilityReferentEmail = "quality.disability_referent_email", "référent·e handicap : courriel (seul·e destinataire des demandes d'aménagement)";
    }
}

/// The settings printed on documents (`lms documents settings`), in order.
pub const IDENTITY_SETTINGS: [SettingKey; 9] = [
    SettingKey::Name,
    SettingKey::Siret,
    SettingKey::Nda,
    SettingKey::Address,
    SettingKey::Postcode,
    SettingKey::City,
    SettingKey::Email,
    SettingKey::Phone,
    SettingKey::Representative,
];

/// Errors while setting the identity.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// Not one of [`SettingKey`].
    #[error("réglage inconnu « {0} » (réglages possibles : {list})", list = SettingKey::EXPECTED)]
    UnknownKey(String),
    /// The value is malformed.
    #[error("{0}")]
    Invalid(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for SettingError {
    fn kind(&self) -> ErrorKind {
        match self {
            SettingError::Db(e) => e.kind(),
            _ => ErrorKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            SettingError::UnknownKey(_) => "unknown_setting",
            SettingError::Invalid(_) => "invalid_setting",
            SettingError::Db(e) => e.code(),
        }
    }
}

/// The organisation as printed on documents.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OrganisationIdentity {
    /// Raison sociale.
    pub name: Option<String>,
    /// SIRET.
    pub siret: Option<String>,
    /// Numéro de déclaration d'activité.
    pub nda: Option<String>,
    /// Street address.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Legal representative who signs certificates: name and capacity.
    pub representative: Option<String>,
}

/// What an unset field prints: the setting to fill in (`lms documents setting KEY VALUE`).
fn placeholder(key: &str) -> String {
    format!("[{key} à renseigner]")
}

impl OrganisationIdentity {
    /// Reads the identity from the settings table.
    pub fn load(conn: &mut DbConn) -> Result<Self, DbError> {
        let stored = stored_settings(conn)?;
        let get = |key: SettingKey| stored.get(&key).cloned();
        Ok(OrganisationIdentity {
            name: get(SettingKey::Name),
            siret: get(SettingKey::Siret),
            nda: get(SettingKey::Nda),
            address: get(SettingKey::Address),
            postcode: get(SettingKey::Postcode),
            city: get(SettingKey::City),
            email: get(SettingKey::Email),
            phone: get(SettingKey::Phone),
            representative: get(SettingKey::Representative),
        })
    }

    /// The name, or a visible placeholder.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| placeholder("organisation.name"))
    }

    /// The city where documents are signed (« Fait à »), or a placeholder.
    pub fn display_city(&self) -> String {
        self.city.clone().unwrap_or_else(|| placeholder("organisation.city"))
    }

    /// The signatory, or a placeholder.
    pub fn display_representative(&self) -> String {
        self.representative.clone().unwrap_or_else(|| placeholder("organisation.representative"))
    }

    /// Lines for a document header: name, address, SIRET and NDA (placeholders when unset).
    pub fn header_lines(&self) -> Vec<String> {
        let mut lines = vec![self.display_name()];
        let place = [self.postcode.clone(), self.city.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        let address = [self.address.clone(), (!place.is_empty()).then_some(place)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(if address.is_empty() { placeholder("organisation.address") } else { address });
        lines.push(format!(
            "SIRET {} — déclaration d'activité n° {}",
            self.siret.clone().unwrap_or_else(|| placeholder("organisation.siret")),
            self.nda.clone().unwrap_or_else(|| placeholder("organisation.nda"))
        ));
        let contact = [self.email.clone(), self.phone.clone()].into_iter().flatten().collect::<Vec<_>>().join(" — ");
        if !contact.is_empty() {
            lines.push(contact);
        }
        lines
    }

    /// Settings that are not filled in.
    pub fn missing(&self) -> Vec<SettingKey> {
        let values = [
            &self.name,
            &self.siret,
            &self.nda,
            &self.address,
            &self.postcode,
            &self.city,
            &self.email,
            &self.phone,
            &self.representative,
        ];
        IDENTITY_SETTINGS.into_iter().zip(values).filter(|(_, v)| v.is_none()).map(|(k, _)| k).collect()
    }
}

/// One setting as listed by `lms documents settings`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SettingView {
    /// Key.
    pub key: &'static str,
    /// What it is.
    pub label: &'static str,
    /// Value, when set.
    pub value: Option<String>,
}

/// The row of the `settings` table.
#[derive(Debug, Queryable)]
struct SettingRow {
    key: String,
    value: String,
}

/// Every known setting that holds a value (an empty value counts as unset). Keys this version
/// does not know are left alone: they may belong to a newer one.
fn stored_settings(conn: &mut DbConn) -> Result<BTreeMap<SettingKey, String>, DbError> {
    let rows: Vec<SettingRow> = settings::table.select((settings::key, settings::value)).load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|row| !row.value.trim().is_empty())
        .filter_map(|row| row.key.parse::<SettingKey>().ok().map(|key| (key, row.value)))
        .collect())
}

/// The value of one setting, when set.
pub fn setting_value(conn: &mut DbConn, key: SettingKey) -> Result<Option<String>, DbError> {
    Ok(stored_settings(conn)?.remove(&key))
}

/// Every known setting with its value, read in one go (for an export that needs several).
pub fn all_settings(conn: &mut DbConn) -> Result<BTreeMap<SettingKey, String>, DbError> {
    stored_settings(conn)
}

/// Every organisation setting printed on documents, with its value.
pub fn organisation_settings(conn: &mut DbConn) -> Result<Vec<SettingView>, DbError> {
    let stored = stored_settings(conn)?;
    Ok(IDENTITY_SETTINGS
        .into_iter()
        .map(|key| SettingView { key: key.as_str(), label: key.label_fr(), value: stored.get(&key).cloned() })
        .collect())
}

/// Default delay of the « à froid » questionnaire, in days after the session's last half-day.
pub const DEFAULT_SURVEY_COLD_DAYS: u32 = 90;
/// Longest delay of the « à froid » questionnaire, in days.
pub const MAX_SURVEY_COLD_DAYS: u32 = 365;
/// Default answer deadline of a complaint, in working days.
pub const DEFAULT_COMPLAINT_ANSWER_DAYS: u32 = 10;
/// Longest answer deadline of a complaint, in working days.
pub const MAX_COMPLAINT_ANSWER_DAYS: u32 = 60;

/// A whole number of days between `min` and `max`, written back without leading zeros.
fn day_count(value: &str, min: u32, max: u32) -> Result<String, String> {
    match value.parse::<u32>() {
        Ok(days) if (min..=max).contains(&days) => Ok(days.to_string()),
        _ => Err(format!("un nombre de jours entre {min} et {max} est attendu")),
    }
}

/// The settings of the quality loop (satisfaction, complaints, disability), with their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QualitySettings {
    /// Days after a session's end when the « à froid » questionnaire opens.
    pub survey_cold_days: u32,
    /// Working days to answer a complaint.
    pub complaint_answer_days: u32,
    /// The disability referent's name, when set.
    pub disability_referent_name: Option<String>,
    /// The disability referent's e-mail, when set: the only recipient of adjustment requests.
    pub disability_referent_email: Option<String>,
}

impl QualitySettings {
    /// Reads the quality settings; an unset or unreadable delay is its default.
    pub fn load(conn: &mut DbConn) -> Result<Self, DbError> {
        let stored = stored_settings(conn)?;
        let days = |key: SettingKey, default: u32| {
            stored.get(&key).and_then(|value| value.parse::<u32>().ok()).filter(|days| *days > 0).unwrap_or(default)
        };
        Ok(QualitySettings {
            survey_cold_days: days(SettingKey::SurveyColdDays, DEFAULT_SURVEY_COLD_DAYS),
            complaint_answer_days: days(SettingKey::ComplaintAnswerDays, DEFAULT_COMPLAINT_ANSWER_DAYS),
            disability_referent_name: stored.get(&SettingKey::DisabilityReferentName).cloned(),
            disability_referent_email: stored.get(&SettingKey::DisabilityReferentEmail).cloned(),
        })
    }
}

/// Whether a SIRET's check digit is right: the Luhn sum of its 14 digits is a multiple of 10,
/// except for La Poste's establishments (SIREN 356 000 000), numbered beyond what Luhn allows,
/// whose digits must add up to a multiple of 5.
pub fn siret_check_digit_ok(siret: &str) -> bool {
    if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = siret.bytes().map(|b| u32::from(b - b'0'));
    if siret.starts_with("356000000") {
        return digits.sum::<u32>().is_multiple_of(5);
    }
    let luhn: u32 = digits
        .rev()
        .enumerate()
        .map(
            |(index, digit)| if index % 2 == 1 { if digit * 2 > 9 { digit * 2 - 9 } else { digit * 2 } } else { digit },
        )
        .sum();
    luhn.is_multiple_of(10)
}

/// The value to store for `key`, or why it is refused. Empty means "remove the setting".
pub fn validate_setting(key: SettingKey, raw: &str) -> Result<String, SettingError> {
    let value = raw.trim();
    let refuse = |what: &str| Err(SettingError::Invalid(format!("{key} : {what}")));
    if value.chars().count() > 300 || value.chars().any(char::is_control) {
        return refuse("valeur trop longue ou illisible (300 caractères au plus)");
    }
    if let Some(problem) = crate::text::control_character_problem(value) {
        return refuse(&problem);
    }
    if value.is_empty() {
        return Ok(String::new());
    }
    let digits = |n: usize| value.len() == n && value.bytes().all(|b| b.is_ascii_digit());
    match key {
        SettingKey::Siret if !digits(14) => refuse("14 chiffres attendus"),
        SettingKey::Siret if !siret_check_digit_ok(value) => refuse("numéro SIRET invalide (clé de contrôle fausse)"),
        SettingKey::Nda if !digits(11) => refuse("11 chiffres attendus"),
        SettingKey::Postcode if !digits(5) => refuse("code postal à 5 chiffres attendu"),
        SettingKey::Email => {
            crate::people::normalize_email(value).map_err(|e| SettingError::Invalid(format!("{key} : {e}")))
        }
        SettingKey::Phone
            if value.bytes().filter(u8::is_ascii_digit).count() < 6
                || !value.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '.' | '-' | '(' | ')')) =>
        {
            refuse("numéro de téléphone attendu (chiffres, espaces, + . - ( ))")
        }
        SettingKey::AccrochageEmitter if value.len() != 8 || !value.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            refuse("8 caractères alphanumériques attendus")
        }
        SettingKey::SurveyColdDays => {
            day_count(value, 1, MAX_SURVEY_COLD_DAYS).map_err(|e| SettingError::Invalid(format!("{key} : {e}")))
        }
        SettingKey::ComplaintAnswerDays => {
            day_count(value, 1, MAX_COMPLAINT_ANSWER_DAYS).map_err(|e| SettingError::Invalid(format!("{key} : {e}")))
        }
        SettingKey::DisabilityReferentEmail => {
            crate::people::normalize_email(value).map_err(|e| SettingError::Invalid(format!("{key} : {e}")))
        }
        SettingKey::AccrochageFluxVersion => value
            .parse::<FluxVersion>()
            .map(|version| version.as_str().to_owned())
            .map_err(|e| SettingError::Invalid(format!("{key} : {e}"))),
        _ => Ok(value.to_owned()),
    }
}

/// Sets (or, with an empty value, removes) one setting, after [`validate_setting`]; a refused
/// value writes nothing.
pub fn set_setting(conn: &mut DbConn, key: &str, value: &str) -> Result<(), SettingError> {
    let key = key.trim();
    let key: SettingKey = key.parse().map_err(|_| SettingError::UnknownKey(key.chars().take(60).collect()))?;
    let value = validate_setting(key, value)?;
    db::write_transaction(conn, |conn| {
        diesel::delete(settings::table.find(key.as_str())).execute(conn).map_err(DbError::from)?;
        if !value.is_empty() {
            diesel::insert_into(settings::table)
                .values((settings::key.eq(key.as_str()), settings::value.eq(&value)))
                .execute(conn)
                .map_err(DbError::from)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_delays_are_whole_days_within_their_bounds() {
        assert_eq!(validate_setting(SettingKey::SurveyColdDays, " 090 ").unwrap(), "90");
        assert_eq!(validate_setting(SettingKey::ComplaintAnswerDays, "10").unwrap(), "10");
        for bad in ["0", "-3", "2,5", "dix", "366"] {
            assert!(validate_setting(SettingKey::SurveyColdDays, bad).is_err(), "{bad}");
        }
        assert!(validate_setting(SettingKey::ComplaintAnswerDays, "61").is_err());
        assert!(validate_setting(SettingKey::DisabilityReferentEmail, "pas-un-mail").is_err());
        assert_eq!(
            validate_setting(SettingKey::DisabilityReferentEmail, "Referent@Example.org").unwrap(),
            "referent@example.org"
        );
    }

    #[test]
    fn siret_check_digits() {
        assert!(siret_check_digit_ok("73282932000074"));
        assert!(!siret_check_digit_ok("73282932000075"));
        assert!(!siret_check_digit_ok("12345678900011"));
        // La Poste: digits adding up to a multiple of 5, Luhn or not.
        assert!(siret_check_digit_ok("35600000049837"));
        assert!(!siret_check_digit_ok("35600000000048"));
        assert!(!siret_check_digit_ok("7328293200007"));
        assert!(!siret_check_digit_ok("7328293200007a"));
    }

    #[test]
    fn each_setting_is_validated_once() {
        assert_eq!(validate_setting(SettingKey::Siret, " 73282932000074 ").ok().as_deref(), Some("73282932000074"));
        assert!(validate_setting(SettingKey::Siret, "123").is_err());
        assert!(validate_setting(SettingKey::Nda, "75 33 1234567").is_err());
        assert!(validate_setting(SettingKey::Nda, "75331234567").is_ok());
        assert!(validate_setting(SettingKey::Postcode, "3300").is_err());
        assert!(validate_setting(SettingKey::Email, "pas-un-courriel").is_err());
        assert_eq!(
            validate_setting(SettingKey::Email, "Contact@Example.org").ok().as_deref(),
            Some("contact@example.org")
        );
        assert!(validate_setting(SettingKey::Phone, "appelez-nous").is_err());
        assert!(validate_setting(SettingKey::Phone, "+33 5 00 00 00 00").is_ok());
        assert!(validate_setting(SettingKey::AccrochageEmitter, "ABC").is_err());
        assert!(validate_setting(SettingKey::AccrochageEmitter, "ABCD1234").is_ok());
        assert_eq!(validate_setting(SettingKey::AccrochageFluxVersion, " 1.1.5 ").ok().as_deref(), Some("1.1.5"));
        assert!(validate_setting(SettingKey::AccrochageFluxVersion, "2.0").is_err());
        assert_eq!(validate_setting(SettingKey::Name, "  ").ok().as_deref(), Some(""));
        assert!(validate_setting(SettingKey::Name, "Nom\u{1b}[2J").is_err());
    }
}
