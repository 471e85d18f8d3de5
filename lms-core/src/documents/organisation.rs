//! The training organisation's identity printed on every regulatory document (feuille
//! d'émargement, certificat de réalisation, attestation de fin de formation), kept in the
//! `settings` table under `organisation.*` keys (the same keys the LHEO export reads).
//!
//! A document never invents an identity: an unset field prints a visible placeholder saying how to
//! set it (`lms documents setting KEY VALUE`).

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::settings;
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Organisation settings, with their French labels.
pub const ORGANISATION_SETTINGS: &[(&str, &str)] = &[
    ("organisation.name", "raison sociale"),
    ("organisation.siret", "SIRET (14 chiffres)"),
    ("organisation.nda", "numéro de déclaration d'activité (11 chiffres)"),
    ("organisation.address", "adresse"),
    ("organisation.postcode", "code postal"),
    ("organisation.city", "ville"),
    ("organisation.email", "courriel de contact"),
    ("organisation.phone", "téléphone de contact"),
    ("organisation.representative", "représentant·e légal·e : nom et qualité (signataire des certificats)"),
];

/// Errors while setting the identity.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// Not one of [`ORGANISATION_SETTINGS`].
    #[error("réglage inconnu « {0} » (réglages possibles : {list})", list = ORGANISATION_SETTINGS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", "))]
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
        let keys: Vec<&str> = ORGANISATION_SETTINGS.iter().map(|(k, _)| *k).collect();
        let stored: BTreeMap<String, String> = settings::table
            .filter(settings::key.eq_any(keys))
            .select((settings::key, settings::value))
            .load::<(String, String)>(conn)?
            .into_iter()
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let get = |key: &str| stored.get(key).cloned();
        Ok(OrganisationIdentity {
            name: get("organisation.name"),
            siret: get("organisation.siret"),
            nda: get("organisation.nda"),
            address: get("organisation.address"),
            postcode: get("organisation.postcode"),
            city: get("organisation.city"),
            email: get("organisation.email"),
            phone: get("organisation.phone"),
            representative: get("organisation.representative"),
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
    pub fn missing(&self) -> Vec<&'static str> {
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
        ORGANISATION_SETTINGS.iter().zip(values).filter(|(_, v)| v.is_none()).map(|((k, _), _)| *k).collect()
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

/// Every organisation setting with its value.
pub fn organisation_settings(conn: &mut DbConn) -> Result<Vec<SettingView>, DbError> {
    let stored: BTreeMap<String, String> =
        settings::table.select((settings::key, settings::value)).load::<(String, String)>(conn)?.into_iter().collect();
    Ok(ORGANISATION_SETTINGS
        .iter()
        .map(|(key, label)| SettingView { key, label, value: stored.get(*key).cloned() })
        .collect())
}

/// Sets (or, with an empty value, removes) one organisation setting.
pub fn set_organisation_setting(conn: &mut DbConn, key: &str, value: &str) -> Result<(), SettingError> {
    let key = key.trim();
    if !ORGANISATION_SETTINGS.iter().any(|(k, _)| *k == key) {
        return Err(SettingError::UnknownKey(key.chars().take(60).collect()));
    }
    let value = value.trim();
    if value.chars().count() > 300 || value.chars().any(char::is_control) {
        return Err(SettingError::Invalid(format!("{key} : valeur trop longue ou illisible (300 caractères au plus)")));
    }
    let digits = |n: usize| value.len() == n && value.bytes().all(|b| b.is_ascii_digit());
    if key == "organisation.siret" && !value.is_empty() && !digits(14) {
        return Err(SettingError::Invalid("organisation.siret : 14 chiffres attendus".into()));
    }
    if key == "organisation.nda" && !value.is_empty() && !digits(11) {
        return Err(SettingError::Invalid("organisation.nda : 11 chiffres attendus".into()));
    }
    db::write_transaction(conn, |conn| {
        diesel::delete(settings::table.find(key)).execute(conn).map_err(DbError::from)?;
        if !value.is_empty() {
            diesel::insert_into(settings::table)
                .values((settings::key.eq(key), settings::value.eq(value)))
                .execute(conn)
                .map_err(DbError::from)?;
        }
        Ok(())
    })
}
