//! What the BPF cannot compute and the office enters by hand, per financial year: charges
//! (cadre D), income received outside the LMS (cadre C), the global turnover, whether training is
//! the main activity (cadre B), external trainers (E), subcontracted training (F-2) and who filled
//! the form in (H). Each key is a [`BpfInputKey`] with its own kind of value and check; a refused
//! value writes nothing. Stored in `bpf_inputs`, one row per year and key.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::lines::IncomeLine;
use crate::db::schema::bpf_inputs;
use crate::db::{self, DbConn, DbError};
use crate::rights::Actor;
use crate::{Classify, ErrorKind};

/// One thing the office enters for a year's BPF (its key is `b.main_activity`, `c.2b`, `d.total`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BpfInputKey {
    /// B: whether training is the organisation's main activity (yes/no).
    TrainingIsMainActivity,
    /// C: income on a line received outside the LMS, added to what the LMS computes (euros).
    IncomeOutsideLms(IncomeLine),
    /// C: the organisation's whole turnover, for the share made by training (euros).
    Turnover,
    /// D: total charges of the training activity (euros).
    ChargesTotal,
    /// D: of which trainers' salaries (euros).
    TrainerSalaries,
    /// D: of which training bought in and trainers' fees (euros).
    BoughtTraining,
    /// E: people outside the organisation who trained, under a subcontract (count).
    ExternalTrainers,
    /// E: hours they trained (hours).
    ExternalTrainerHours,
    /// F-2: trainees whose training the organisation entrusted to another one (count).
    SubcontractedTrainees,
    /// F-2: their hours-trainee (hours).
    SubcontractedHours,
    /// H: who filled the form in, and how to reach them (text).
    Contact,
}

/// The kind of value a key takes, with its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// Euros, zero or more, at most two decimals.
    Euros,
    /// A whole number, zero or more.
    Count,
    /// Hours, zero or more, at most one decimal.
    Hours,
    /// Yes or no.
    YesNo,
    /// A short line of text.
    Text,
}

impl BpfInputKey {
    /// Every key, in the form's order.
    pub fn all() -> Vec<BpfInputKey> {
        let mut keys = vec![BpfInputKey::TrainingIsMainActivity];
        keys.extend(IncomeLine::ALL.into_iter().map(BpfInputKey::IncomeOutsideLms));
        keys.extend([
            BpfInputKey::Turnover,
            BpfInputKey::ChargesTotal,
            BpfInputKey::TrainerSalaries,
            BpfInputKey::BoughtTraining,
            BpfInputKey::ExternalTrainers,
            BpfInputKey::ExternalTrainerHours,
            BpfInputKey::SubcontractedTrainees,
            BpfInputKey::SubcontractedHours,
            BpfInputKey::Contact,
        ]);
        keys
    }

    /// The key as typed and stored.
    pub fn key(self) -> String {
        match self {
            BpfInputKey::TrainingIsMainActivity => "b.main_activity".into(),
            BpfInputKey::IncomeOutsideLms(line) => format!("c.{}", line.as_str()),
            BpfInputKey::Turnover => "c.turnover".into(),
            BpfInputKey::ChargesTotal => "d.total".into(),
            BpfInputKey::TrainerSalaries => "d.trainer_salaries".into(),
            BpfInputKey::BoughtTraining => "d.bought_training".into(),
            BpfInputKey::ExternalTrainers => "e.external_trainers".into(),
            BpfInputKey::ExternalTrainerHours => "e.external_hours".into(),
            BpfInputKey::SubcontractedTrainees => "f2.trainees".into(),
            BpfInputKey::SubcontractedHours => "f2.hours".into(),
            BpfInputKey::Contact => "h.contact".into(),
        }
    }

    /// What the key is, in French.
    pub fn label_fr(self) -> String {
        match self {
            BpfInputKey::TrainingIsMainActivity => "B : la formation est-elle l'activité principale (oui/non) ?".into(),
            BpfInputKey::IncomeOutsideLms(line) => {
                format!("{} : produits hors LMS — {}", line.reference(), line.label_fr())
            }
            BpfInputKey::Turnover => "C : chiffre d'affaires global de l'organisme".into(),
            BpfInputKey::ChargesTotal => "D : total des charges de l'organisme liées à l'activité de formation".into(),
            BpfInputKey::TrainerSalaries => "D : dont salaires des formateurs".into(),
            BpfInputKey::BoughtTraining => "D : dont achats de prestations de formation et honoraires".into(),
            BpfInputKey::ExternalTrainers => "E : personnes extérieures dispensant des heures (nombre)".into(),
            BpfInputKey::ExternalTrainerHours => "E : heures dispensées par les personnes extérieures".into(),
            BpfInputKey::SubcontractedTrainees => {
                "F-2 : stagiaires dont la formation a été confiée à un autre organisme".into()
            }
            BpfInputKey::SubcontractedHours => "F-2 : heures-stagiaires confiées à un autre organisme".into(),
            BpfInputKey::Contact => "H : personne ayant rempli le bilan (nom, fonction, contact)".into(),
        }
    }

    /// The kind of value the key takes.
    pub fn kind(self) -> InputKind {
        match self {
            BpfInputKey::TrainingIsMainActivity => InputKind::YesNo,
            BpfInputKey::IncomeOutsideLms(_)
            | BpfInputKey::Turnover
            | BpfInputKey::ChargesTotal
            | BpfInputKey::TrainerSalaries
            | BpfInputKey::BoughtTraining => InputKind::Euros,
            BpfInputKey::ExternalTrainers | BpfInputKey::SubcontractedTrainees => InputKind::Count,
            BpfInputKey::ExternalTrainerHours | BpfInputKey::SubcontractedHours => InputKind::Hours,
            BpfInputKey::Contact => InputKind::Text,
        }
    }
}

impl fmt::Display for BpfInputKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl std::str::FromStr for BpfInputKey {
    type Err = BpfInputError;
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let wanted = raw.trim().to_lowercase();
        BpfInputKey::all()
            .into_iter()
            .find(|key| key.key() == wanted)
            .ok_or_else(|| BpfInputError::UnknownKey(crate::text::printable(raw, 40)))
    }
}

/// A value entered for a key, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum BpfValue {
    /// Euro cents.
    Euros(i64),
    /// A count.
    Count(u64),
    /// Hours (one decimal).
    Hours(f64),
    /// Yes or no.
    YesNo(bool),
    /// Text.
    Text(String),
}

impl BpfValue {
    /// Reads `raw` as a value of `key`, or says why not.
    pub fn parse(key: BpfInputKey, raw: &str) -> Result<BpfValue, BpfInputError> {
        let raw = raw.trim();
        let invalid = |reason: &str| BpfInputError::Invalid { key: key.key(), reason: reason.to_owned() };
        match key.kind() {
            InputKind::Euros => {
                if raw.starts_with('-') {
                    return Err(invalid("un montant ne peut pas être négatif"));
                }
                crate::enrolment::funding::parse_euros(raw)
                    .map(BpfValue::Euros)
                    .ok_or_else(|| invalid("montant attendu en euros, par exemple 12500 ou 12500,50"))
            }
            InputKind::Count => {
                if raw.starts_with('-') {
                    return Err(invalid("un nombre ne peut pas être négatif"));
                }
                match raw.parse::<u64>() {
                    Ok(n) if n <= 10_000_000 => Ok(BpfValue::Count(n)),
                    _ => Err(invalid("nombre entier attendu, par exemple 3")),
                }
            }
            InputKind::Hours => {
                if raw.starts_with('-') {
                    return Err(invalid("un nombre d'heures ne peut pas être négatif"));
                }
                let text = raw.replace(',', ".");
                let (units, decimals) = text.split_once('.').unwrap_or((text.as_str(), ""));
                let digits = |s: &str| !s.is_empty() && s.len() <= 8 && s.chars().all(|c| c.is_ascii_digit());
                if !digits(units) || decimals.len() > 1 || (!decimals.is_empty() && !digits(decimals)) {
                    return Err(invalid("heures attendues avec au plus une décimale, par exemple 120 ou 120,5"));
                }
                text.parse::<f64>()
                    .map(BpfValue::Hours)
                    .map_err(|_| invalid("heures attendues avec au plus une décimale, par exemple 120 ou 120,5"))
            }
            InputKind::YesNo => match raw.to_lowercase().as_str() {
                "oui" | "yes" | "true" | "o" => Ok(BpfValue::YesNo(true)),
                "non" | "no" | "false" | "n" => Ok(BpfValue::YesNo(false)),
                _ => Err(invalid("oui ou non attendu")),
            },
            InputKind::Text => {
                if let Some(problem) = crate::text::control_character_problem(raw) {
                    return Err(invalid(&problem));
                }
                if raw.contains(['\n', '\r']) {
                    return Err(invalid("une seule ligne attendue"));
                }
                if raw.chars().count() > 200 {
                    return Err(invalid("200 caractères au plus"));
                }
                Ok(BpfValue::Text(raw.to_owned()))
            }
        }
    }

    /// The stored text (read back by [`BpfValue::parse`]).
    fn stored(&self) -> String {
        match self {
            BpfValue::Euros(cents) => format!("{}.{:02}", cents / 100, cents % 100),
            BpfValue::Count(n) => n.to_string(),
            BpfValue::Hours(h) => format!("{h:.1}"),
            BpfValue::YesNo(yes) => if *yes { "oui" } else { "non" }.into(),
            BpfValue::Text(text) => text.clone(),
        }
    }

    /// The value as the French report prints it.
    pub fn display_fr(&self) -> String {
        match self {
            BpfValue::Euros(cents) => crate::locale::euros_fr(*cents),
            BpfValue::Count(n) => n.to_string(),
            BpfValue::Hours(h) => super::hours_fr(*h),
            BpfValue::YesNo(yes) => if *yes { "oui" } else { "non" }.into(),
            BpfValue::Text(text) => text.clone(),
        }
    }
}

/// Errors of the BPF inputs.
#[derive(Debug, thiserror::Error)]
pub enum BpfInputError {
    /// Not one of [`BpfInputKey`].
    #[error("donnée du BPF inconnue « {0} » (voir la liste avec lms report bpf-input --year AAAA)")]
    UnknownKey(String),
    /// The value does not fit the key.
    #[error("valeur refusée pour {key} : {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
    /// A year outside 2000–2100.
    #[error("année invalide : {0} (attendu : 2000 à 2100)")]
    BadYear(i32),
    /// Only the office enters the BPF.
    #[error("seule l'administration renseigne le bilan pédagogique et financier")]
    Forbidden,
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for BpfInputError {
    fn kind(&self) -> ErrorKind {
        match self {
            BpfInputError::Forbidden => ErrorKind::Forbidden,
            BpfInputError::Db(e) => e.kind(),
            _ => ErrorKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            BpfInputError::UnknownKey(_) => "unknown_bpf_input",
            BpfInputError::Invalid { .. } => "invalid_bpf_input",
            BpfInputError::BadYear(_) => "invalid_year",
            BpfInputError::Forbidden => "forbidden",
            BpfInputError::Db(e) => e.code(),
        }
    }
}

/// Refuses a year the BPF cannot be about.
pub(super) fn check_year(year: i32) -> Result<(), BpfInputError> {
    if (2000..=2100).contains(&year) { Ok(()) } else { Err(BpfInputError::BadYear(year)) }
}

/// One key as listed by `lms report bpf-input --year Y`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BpfInputView {
    /// The key.
    pub key: String,
    /// What it is.
    pub label: String,
    /// Its kind of value.
    pub kind: InputKind,
    /// The value entered, if any.
    pub value: Option<BpfValue>,
}

/// The values entered for `year` (stored keys this version does not know are left alone: they
/// may belong to a newer one).
pub fn inputs_of(conn: &mut DbConn, year: i32) -> Result<BTreeMap<BpfInputKey, BpfValue>, DbError> {
    let rows: Vec<(String, String)> = bpf_inputs::table
        .filter(bpf_inputs::year.eq(year))
        .select((bpf_inputs::input_key, bpf_inputs::value))
        .load(conn)?;
    let mut values = BTreeMap::new();
    for (key, value) in rows {
        let Ok(key) = key.parse::<BpfInputKey>() else { continue };
        // Only set_input writes here, after the same check: a value that fails it is corrupt.
        let value = BpfValue::parse(key, &value).map_err(|e| {
            DbError::Query(diesel::result::Error::DeserializationError(format!("bpf_inputs {key} : {e}").into()))
        })?;
        values.insert(key, value);
    }
    Ok(values)
}

/// Every key for `year`, in the form's order, with its value when entered.
pub fn list_inputs(conn: &mut DbConn, actor: &Actor<'_>, year: i32) -> Result<Vec<BpfInputView>, BpfInputError> {
    if !actor.is_office() {
        return Err(BpfInputError::Forbidden);
    }
    check_year(year)?;
    let mut values = inputs_of(conn, year)?;
    Ok(BpfInputKey::all()
        .into_iter()
        .map(|key| BpfInputView { key: key.key(), label: key.label_fr(), kind: key.kind(), value: values.remove(&key) })
        .collect())
}

/// Enters (or, with an empty value, removes) one value of `year`'s BPF; a refused key, value or
/// year writes nothing.
pub fn set_input(
    conn: &mut DbConn,
    actor: &Actor<'_>,
    year: i32,
    key: &str,
    value: &str,
    now: NaiveDateTime,
) -> Result<BpfInputView, BpfInputError> {
    if !actor.is_office() {
        return Err(BpfInputError::Forbidden);
    }
    check_year(year)?;
    let key: BpfInputKey = key.parse()?;
    let value = if value.trim().is_empty() { None } else { Some(BpfValue::parse(key, value)?) };
    db::write_transaction(conn, |conn| {
        let stored_key = key.key();
        diesel::delete(bpf_inputs::table.find((year, &stored_key))).execute(conn).map_err(DbError::from)?;
        if let Some(value) = &value {
            diesel::insert_into(bpf_inputs::table)
                .values((
                    bpf_inputs::year.eq(year),
                    bpf_inputs::input_key.eq(&stored_key),
                    bpf_inputs::value.eq(value.stored()),
                    bpf_inputs::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(DbError::from)?;
        }
        Ok(BpfInputView { key: stored_key, label: key.label_fr(), kind: key.kind(), value })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_and_values_are_checked() {
        for key in BpfInputKey::all() {
            assert_eq!(key.key().parse::<BpfInputKey>().unwrap(), key);
        }
        assert!("c.12".parse::<BpfInputKey>().is_err());
        let total = BpfInputKey::ChargesTotal;
        assert_eq!(BpfValue::parse(total, "12 500").ok(), None);
        assert_eq!(BpfValue::parse(total, "12500,5").unwrap(), BpfValue::Euros(1_250_050));
        assert!(BpfValue::parse(total, "-1").is_err());
        assert_eq!(BpfValue::parse(BpfInputKey::ExternalTrainers, "3").unwrap(), BpfValue::Count(3));
        assert!(BpfValue::parse(BpfInputKey::ExternalTrainers, "2.5").is_err());
        assert_eq!(BpfValue::parse(BpfInputKey::SubcontractedHours, "7,5").unwrap(), BpfValue::Hours(7.5));
        assert!(BpfValue::parse(BpfInputKey::SubcontractedHours, "7.25").is_err());
        assert_eq!(BpfValue::parse(BpfInputKey::TrainingIsMainActivity, "Oui").unwrap(), BpfValue::YesNo(true));
        assert!(BpfValue::parse(BpfInputKey::TrainingIsMainActivity, "peut-être").is_err());
        assert!(BpfValue::parse(BpfInputKey::Contact, "a\u{1b}b").is_err());
        for value in [BpfValue::Euros(1_250_050), BpfValue::Hours(7.5), BpfValue::YesNo(false), BpfValue::Count(4)] {
            let key = match value {
                BpfValue::Euros(_) => total,
                BpfValue::Hours(_) => BpfInputKey::SubcontractedHours,
                BpfValue::YesNo(_) => BpfInputKey::TrainingIsMainActivity,
                _ => BpfInputKey::ExternalTrainers,
            };
            assert_eq!(BpfValue::parse(key, &value.stored()).unwrap(), value);
        }
    }
}
