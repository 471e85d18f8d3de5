//! The holder identity the registries need (Accrochage `titulaire`): birth name, usage name, first
//! names, birth date, birth commune (INSEE) or country, sex. Optional until a certificate is issued.
//! Names and the birth place follow the person-name character rule of [`crate::text`].
//!
//! A birth abroad is given by country, as an ISO 3166 code (`MA`, `MAR`) or as the INSEE « code
//! pays » a registry uses in place of a commune (`99350`); either way the country is checked against
//! [`crate::geo::countries`] and stored as its ISO alpha-3 code, the form the Accrochage file wants.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::eligibility::CertifyError;
use crate::db::schema::users;
use crate::db::{self, DbConn, DbError};
use crate::geo::countries::{Country, find_country, is_cog_country_code};

/// Identity fields to store.
#[derive(Debug, Clone, Default)]
pub struct IdentityInput {
    /// Nom de naissance.
    pub birth_name: String,
    /// Nom d'usage, if different.
    pub usage_name: Option<String>,
    /// Prénoms, space-separated, first one first.
    pub first_names: String,
    /// Date de naissance.
    pub birth_date: NaiveDate,
    /// INSEE code of the birth commune (born in France), or the INSEE « code pays » (`99xxx`) of
    /// the country of birth abroad.
    pub birth_commune_insee: Option<String>,
    /// Birth place label (commune or city abroad), up to 60 characters.
    pub birth_place_label: Option<String>,
    /// Country of birth abroad: ISO 3166 alpha-2 or alpha-3, or INSEE « code pays » (`99xxx`).
    pub birth_country_code: Option<String>,
    /// `M` or `F` (the values the registry accepts).
    pub sex: String,
}

/// The stored identity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdentityView {
    /// E-mail.
    pub email: String,
    /// Nom de naissance.
    pub birth_name: Option<String>,
    /// Nom d'usage.
    pub usage_name: Option<String>,
    /// Prénoms.
    pub first_names: Option<String>,
    /// Date de naissance.
    pub birth_date: Option<NaiveDate>,
    /// Commune de naissance (INSEE).
    pub birth_commune_insee: Option<String>,
    /// Lieu de naissance.
    pub birth_place_label: Option<String>,
    /// Pays de naissance (ISO 3166 alpha-3).
    pub birth_country_code: Option<String>,
    /// Sexe.
    pub sex: Option<String>,
}

/// The longest birth place label the registry takes (`libelleCommuneNaissance`).
pub const BIRTH_PLACE_MAX_CHARS: usize = 60;

fn clean(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An identity that passed every check that needs no database, in stored form.
#[derive(Debug, Clone, PartialEq)]
struct CheckedIdentity {
    birth_name: String,
    first_names: String,
    usage_name: Option<String>,
    label: Option<String>,
    insee: Option<String>,
    country: Option<String>,
}

/// Checks and stores a person's identity (one transaction).
pub fn set_identity(
    conn: &mut DbConn,
    email: &str,
    input: &IdentityInput,
    today: NaiveDate,
) -> Result<IdentityView, CertifyError> {
    let CheckedIdentity { birth_name, first_names, usage_name, label, insee, country } = check(input, today)?;
    let email = email.trim().to_lowercase();
    db::write_transaction(conn, |conn| {
        if let Some(code) = &insee
            && crate::geo::find_commune(conn, code)?.is_none()
        {
            return Err(CertifyError::Invalid(format!("commune INSEE inconnue « {code} »")));
        }
        let updated = diesel::update(users::table.filter(users::email.eq(&email)))
            .set((
                users::birth_name.eq(Some(&birth_name)),
                users::usage_name.eq(&usage_name),
                users::first_names.eq(Some(&first_names)),
                users::birth_date.eq(Some(input.birth_date)),
                users::birth_commune_insee.eq(&insee),
                users::birth_place_label.eq(&label),
                users::birth_country_code.eq(&country),
                users::sex.eq(Some(input.sex.trim())),
                users::updated_at.eq(db::now()),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        if updated == 0 {
            return Err(CertifyError::UnknownTrainee(email.clone()));
        }
        Ok(())
    })?;
    show_identity(conn, &email)
}

/// Every check of [`set_identity`] that needs no database (all problems reported at once).
fn check(input: &IdentityInput, today: NaiveDate) -> Result<CheckedIdentity, CertifyError> {
    let birth_name = clean(&input.birth_name);
    let first_names = clean(&input.first_names);
    let usage_name = input.usage_name.as_deref().map(clean).filter(|s| !s.is_empty());
    let label = input.birth_place_label.as_deref().map(clean).filter(|s| !s.is_empty());
    let insee = input.birth_commune_insee.as_deref().map(|s| s.trim().to_uppercase()).filter(|s| !s.is_empty());
    let country = input.birth_country_code.as_deref().map(|s| s.trim().to_uppercase()).filter(|s| !s.is_empty());
    let mut problems = Vec::new();
    for (field, value) in [("nom de naissance", &birth_name), ("prénom", &first_names)] {
        let n = value.chars().count();
        if n == 0 || n > 60 {
            problems.push(format!("{field} : de 1 à 60 caractères"));
        }
    }
    // The same character rule as every person name (no control, bidi or invisible character).
    for (field, value) in [
        ("nom de naissance", Some(&birth_name)),
        ("prénom", Some(&first_names)),
        ("nom d'usage", usage_name.as_ref()),
        ("lieu de naissance", label.as_ref()),
    ] {
        if let Some(problem) = value.and_then(|v| crate::text::name_character_problem(v)) {
            problems.push(format!("{field} : {problem}"));
        }
    }
    if usage_name.as_ref().is_some_and(|u| u.chars().count() > 60) {
        problems.push("nom d'usage : 60 caractères au plus".into());
    }
    if label.as_ref().is_some_and(|u| u.chars().count() > BIRTH_PLACE_MAX_CHARS) {
        problems.push(format!("lieu de naissance : {BIRTH_PLACE_MAX_CHARS} caractères au plus"));
    }
    if input.birth_date > today || input.birth_date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN) {
        problems.push(format!("date de naissance invraisemblable : {}", input.birth_date));
    }
    if !matches!(input.sex.trim(), "M" | "F") {
        problems.push("sexe : M ou F (valeurs du registre)".into());
    }
    let (insee, country) = match birth_place(insee.as_deref(), country.as_deref()) {
        Ok(place) => place,
        Err(problem) => {
            problems.push(problem);
            (None, None)
        }
    };
    if !problems.is_empty() {
        return Err(CertifyError::Invalid(problems.join(" ; ")));
    }
    Ok(CheckedIdentity { birth_name, first_names, usage_name, label, insee, country })
}

/// Where a person was born, in stored form: a French commune's INSEE code, or the ISO alpha-3 code
/// of a country abroad (given as ISO alpha-2/alpha-3 or as its INSEE « code pays » `99xxx`).
fn birth_place(insee: Option<&str>, country: Option<&str>) -> Result<(Option<String>, Option<String>), String> {
    let abroad = |code: &str| -> Result<&'static Country, String> {
        match find_country(code) {
            Some(country) if country.is_france() => Err(format!(
                "« {code} » désigne la France : pour une naissance en France, donnez le code INSEE de la commune"
            )),
            Some(country) => Ok(country),
            None if is_cog_country_code(code) => {
                Err(format!("« {code} » n'est pas un code pays INSEE connu (99xxx : pays de naissance à l'étranger)"))
            }
            None => Err(format!(
                "pays de naissance inconnu « {} » (code ISO 3166 à 2 ou 3 lettres, ou code pays INSEE 99xxx)",
                crate::text::printable(code, 20)
            )),
        }
    };
    match (insee, country) {
        (None, None) => Err("commune de naissance (code INSEE) ou pays de naissance requis".into()),
        (Some(code), country) if is_cog_country_code(code) => {
            let born_in = abroad(code)?;
            match country.map(abroad).transpose()? {
                Some(other) if other != born_in => Err(format!(
                    "le code pays INSEE {code} ({}) et le pays {} ({}) se contredisent",
                    born_in.name, other.iso3, other.name
                )),
                _ => Ok((None, Some(born_in.iso3.to_owned()))),
            }
        }
        (Some(code), _) if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Err(format!("code INSEE invalide « {} » (5 caractères)", crate::text::printable(code, 20)))
        }
        (Some(code), Some(country)) => match find_country(country) {
            Some(found) if found.is_france() => Ok((Some(code.to_owned()), None)),
            _ => Err(format!(
                "commune de naissance {code} (en France) et pays de naissance « {} » se contredisent",
                crate::text::printable(country, 20)
            )),
        },
        (Some(code), None) => Ok((Some(code.to_owned()), None)),
        (None, Some(country)) => abroad(country).map(|found| (None, Some(found.iso3.to_owned()))),
    }
}

/// The registry identity stored on a user (the columns selected in [`show_identity`], in order).
#[derive(Debug, Queryable)]
struct IdentityRow {
    birth_name: Option<String>,
    usage_name: Option<String>,
    first_names: Option<String>,
    birth_date: Option<NaiveDate>,
    birth_commune_insee: Option<String>,
    birth_place_label: Option<String>,
    birth_country_code: Option<String>,
    sex: Option<String>,
}

/// A person's stored identity.
pub fn show_identity(conn: &mut DbConn, email: &str) -> Result<IdentityView, CertifyError> {
    let email = email.trim().to_lowercase();
    let row: Option<IdentityRow> = users::table
        .filter(users::email.eq(&email))
        .select((
            users::birth_name,
            users::usage_name,
            users::first_names,
            users::birth_date,
            users::birth_commune_insee,
            users::birth_place_label,
            users::birth_country_code,
            users::sex,
        ))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let IdentityRow {
        birth_name,
        usage_name,
        first_names,
        birth_date,
        birth_commune_insee,
        birth_place_label,
        birth_country_code,
        sex,
    } = row.ok_or_else(|| CertifyError::UnknownTrainee(email.clone()))?;
    Ok(IdentityView {
        email,
        birth_name,
        usage_name,
        first_names,
        birth_date,
        birth_commune_insee,
        birth_place_label,
        birth_country_code,
        sex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> IdentityInput {
        IdentityInput {
            birth_name: "Martin".into(),
            usage_name: None,
            first_names: "Zoé Awa".into(),
            birth_date: NaiveDate::from_ymd_opt(1990, 4, 2).unwrap_or_default(),
            birth_commune_insee: Some("86194".into()),
            birth_place_label: None,
            birth_country_code: None,
            sex: "F".into(),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default()
    }

    #[test]
    fn identity_names_refuse_bidi_invisible_and_control_characters() {
        type Setter = fn(&mut IdentityInput, &str);
        let cases: [(Setter, &str); 4] = [
            (|i, v| i.birth_name = v.into(), "nom de naissance"),
            (|i, v| i.first_names = v.into(), "prénom"),
            (|i, v| i.usage_name = Some(v.into()), "nom d'usage"),
            (|i, v| i.birth_place_label = Some(v.into()), "lieu de naissance"),
        ];
        for (set, field) in cases {
            for (bad, code) in [
                ("Mar\u{202E}tin", "U+202E"),
                ("\u{FEFF}Martin", "U+FEFF"),
                ("Mar\u{200B}tin", "U+200B"),
                ("M\u{1B}[0m", "U+001B"),
            ] {
                let mut identity = input();
                set(&mut identity, bad);
                let message = check(&identity, today()).err().map(|e| e.to_string()).unwrap_or_default();
                assert!(message.contains(field) && message.contains(code), "{field} {bad:?}: {message}");
            }
            let mut identity = input();
            set(&mut identity, "Kh\u{200C}osravi 👩🏽\u{200D}🏫");
            assert!(check(&identity, today()).is_ok(), "{field}: joiners stay");
        }
    }

    #[test]
    fn a_birth_abroad_is_stored_as_its_iso_alpha3_code_however_it_is_given() {
        for (insee, country) in
            [(Some("99350"), None), (None, Some("MA")), (None, Some("mar")), (Some("99350"), Some("MA"))]
        {
            let mut identity = input();
            identity.birth_commune_insee = insee.map(str::to_owned);
            identity.birth_country_code = country.map(str::to_owned);
            let checked = check(&identity, today()).map_err(|e| e.to_string());
            let stored = checked.map(|c| (c.insee, c.country));
            assert_eq!(stored, Ok((None, Some("MAR".to_owned()))), "{insee:?} {country:?}");
        }
        let mut born_in_france = input();
        born_in_france.birth_country_code = Some("FR".into());
        assert_eq!(check(&born_in_france, today()).ok().and_then(|c| c.insee), Some("86194".into()));
    }

    #[test]
    fn a_country_that_does_not_exist_or_contradicts_the_place_is_refused() {
        let cases: [(Option<&str>, Option<&str>, &str); 6] = [
            (Some("99999"), None, "n'est pas un code pays INSEE"),
            (None, Some("ZZ"), "pays de naissance inconnu"),
            (None, Some("ZZZZ"), "pays de naissance inconnu"),
            (Some("99100"), None, "désigne la France"),
            (Some("99350"), Some("BEL"), "se contredisent"),
            (Some("86194"), Some("MAR"), "se contredisent"),
        ];
        for (insee, country, expected) in cases {
            let mut identity = input();
            identity.birth_commune_insee = insee.map(str::to_owned);
            identity.birth_country_code = country.map(str::to_owned);
            let message = check(&identity, today()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(expected), "{insee:?} {country:?}: {message}");
        }
    }

    #[test]
    fn a_birth_place_label_takes_up_to_60_characters() {
        let mut identity = input();
        identity.birth_place_label = Some("L".repeat(60));
        assert!(check(&identity, today()).is_ok());
        identity.birth_place_label = Some("L".repeat(61));
        let message = check(&identity, today()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("60 caractères"), "{message}");
    }
}
