//! Who pays for an enrolment: the payers (BPF cadre C sources), the trainee categories (BPF
//! F-1), and the funding plan of an enrolment (amounts per payer, summing to at most the course
//! price), read back by the BPF and the CSV export.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;

use super::EnrolmentError;
use crate::db::ids::EnrolmentId;
use crate::db::schema::enrolment_fundings;
use crate::db::{DbConn, DbError};

crate::text_enum! {
    /// Who pays (all or part of) an enrolment: the sources of income of the BPF cadre C (the line
    /// each one goes on is decided by `reports::bpf::lines::IncomeLine::for_payer`). The stored
    /// texts are those `enrolments.funding_source` has always held; `employer` and `self`
    /// are accepted as input for [`FundingPayer::Employer`] and [`FundingPayer::SelfFunded`].
    pub enum FundingPayer: "financeur" {
        /// The trainee's employer (C-1).
        Employer = "company", "Employeur";
        /// An OPCO (opérateur de compétences) (C-2a for an apprentice, else C-2h).
        Opco = "opco", "OPCO";
        /// The trainee's compte personnel de formation, paid by the Caisse des Dépôts (C-2e).
        Cpf = "cpf", "Compte personnel de formation (CPF)";
        /// France Travail (C-7).
        FranceTravail = "france_travail", "France Travail";
        /// A regional council (C-6).
        Region = "region", "Région";
        /// The State (C-5).
        State = "state", "État";
        /// Another public body (C-8).
        OtherPublic = "other_public", "Autre financement public";
        /// The trainee, personally (C-9).
        SelfFunded = "self_funded", "Le stagiaire lui-même";
        /// Another training organisation (sub-contracting, C-10; its trainees are cadre G).
        OtherProvider = "other_provider", "Autre organisme de formation";
        /// Any other source (C-11).
        Other = "other", "Autre";
    }
}

crate::text_enum! {
    /// The trainee's situation, as the BPF counts it (cadre F-1).
    pub enum TraineeCategory: "catégorie de stagiaire" {
        /// An employee (salarié).
        Employee = "employee", "Salarié·e";
        /// An apprentice.
        Apprentice = "apprentice", "Apprenti·e";
        /// A job seeker.
        JobSeeker = "job_seeker", "Demandeur·se d'emploi";
        /// A private individual.
        Individual = "individual", "Particulier";
        /// Anyone else.
        Other = "other", "Autre";
    }
}

impl FundingPayer {
    /// Reads a payer as typed by a person: the stored text, or the aliases `employer` and `self`.
    pub fn parse_input(raw: &str) -> Result<FundingPayer, EnrolmentError> {
        match raw.trim().to_lowercase().as_str() {
            "employer" => Ok(FundingPayer::Employer),
            "self" => Ok(FundingPayer::SelfFunded),
            other => FundingPayer::from_stored(other).map_err(|_| {
                EnrolmentError::Invalid(format!(
                    "financeur inconnu « {} » (attendu : employer, self, {})",
                    raw.chars().take(40).collect::<String>(),
                    FundingPayer::EXPECTED
                ))
            }),
        }
    }
}

impl TraineeCategory {
    /// Reads a category as typed by a person.
    pub fn parse_input(raw: &str) -> Result<TraineeCategory, EnrolmentError> {
        TraineeCategory::from_stored(raw.trim()).map_err(|e| EnrolmentError::Invalid(e.to_string()))
    }
}

/// One line of a funding plan: a payer and what it pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Funding {
    /// Who pays.
    pub payer: FundingPayer,
    /// How much, in euro cents (more than zero).
    pub amount_cents: i64,
}

/// Reads `PAYER:EUROS` (`opco:1200`, `cpf:850.50`, `cpf:850,50`): a known payer and a positive
/// amount with at most two decimals.
pub fn parse_funding(raw: &str) -> Result<Funding, EnrolmentError> {
    let malformed = || {
        EnrolmentError::Invalid(format!(
            "financement mal formé « {} » (attendu FINANCEUR:EUROS, par exemple opco:1200 ou cpf:850,50)",
            raw.chars().take(40).collect::<String>()
        ))
    };
    let (payer, euros) = raw.split_once(':').ok_or_else(malformed)?;
    let payer = FundingPayer::parse_input(payer)?;
    let amount_cents = parse_euros(euros.trim()).ok_or_else(malformed)?;
    if amount_cents <= 0 {
        return Err(EnrolmentError::Invalid(format!("le montant de « {} » doit être positif", payer.as_str())));
    }
    Ok(Funding { payer, amount_cents })
}

/// Euros with a point or a comma and at most two decimals, in cents; `None` when malformed.
pub(crate) fn parse_euros(text: &str) -> Option<i64> {
    let text = text.replace(',', ".");
    let (units, decimals) = match text.split_once('.') {
        Some((units, decimals)) => (units, decimals),
        None => (text.as_str(), ""),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.chars().all(|c| c.is_ascii_digit());
    if !digits(units) || decimals.len() > 2 || (!decimals.is_empty() && !digits(decimals)) {
        return None;
    }
    let cents: i64 = format!("{decimals:0<2}").parse().ok()?;
    units.parse::<i64>().ok()?.checked_mul(100)?.checked_add(cents)
}

/// Checks a whole plan against the course price: positive amounts, no payer twice, the sum at
/// most the price.
pub fn check_plan(plan: &[Funding], price_cents: i64) -> Result<(), EnrolmentError> {
    let mut seen = Vec::with_capacity(plan.len());
    for funding in plan {
        if funding.amount_cents <= 0 {
            return Err(EnrolmentError::Invalid(format!(
                "le montant de « {} » doit être positif",
                funding.payer.as_str()
            )));
        }
        if seen.contains(&funding.payer) {
            return Err(EnrolmentError::DuplicatePayer(funding.payer.as_str()));
        }
        seen.push(funding.payer);
    }
    let total: i64 = plan.iter().map(|f| f.amount_cents).sum();
    if total > price_cents {
        return Err(EnrolmentError::FundingExceedsPrice {
            total: crate::locale::euros_fr(total),
            price: crate::locale::euros_fr(price_cents),
        });
    }
    Ok(())
}

/// The payer of the largest share of a plan (the first one on a tie): what
/// `enrolments.funding_source` records for an enrolment with a plan.
pub fn main_payer(plan: &[Funding]) -> Option<FundingPayer> {
    plan.iter()
        .fold(None::<&Funding>, |best, f| match best {
            Some(b) if b.amount_cents >= f.amount_cents => Some(b),
            _ => Some(f),
        })
        .map(|f| f.payer)
}

/// Replaces the funding plan of an enrolment (inside the caller's transaction; checked already).
pub(crate) fn write_plan(conn: &mut DbConn, enrolment: &EnrolmentId, plan: &[Funding]) -> Result<(), DbError> {
    diesel::delete(enrolment_fundings::table.filter(enrolment_fundings::enrolment_id.eq(enrolment))).execute(conn)?;
    for funding in plan {
        diesel::insert_into(enrolment_fundings::table)
            .values((
                enrolment_fundings::enrolment_id.eq(enrolment),
                enrolment_fundings::payer.eq(funding.payer),
                enrolment_fundings::amount_cents.eq(funding.amount_cents),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A line of a stored funding plan (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = enrolment_fundings)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct FundingRow {
    enrolment_id: EnrolmentId,
    payer: FundingPayer,
    amount_cents: i64,
}

/// The funding plans of the given enrolments, each ordered by payer (one query per 500 ids).
pub fn plans_of(conn: &mut DbConn, enrolments: &[EnrolmentId]) -> Result<HashMap<EnrolmentId, Vec<Funding>>, DbError> {
    let mut plans: HashMap<EnrolmentId, BTreeMap<FundingPayer, i64>> = HashMap::new();
    for chunk in enrolments.chunks(500) {
        let rows: Vec<FundingRow> = enrolment_fundings::table
            .filter(enrolment_fundings::enrolment_id.eq_any(chunk))
            .select(FundingRow::as_select())
            .load(conn)?;
        for FundingRow { enrolment_id, payer, amount_cents } in rows {
            plans.entry(enrolment_id).or_default().insert(payer, amount_cents);
        }
    }
    Ok(plans
        .into_iter()
        .map(|(id, lines)| {
            (id, lines.into_iter().map(|(payer, amount_cents)| Funding { payer, amount_cents }).collect())
        })
        .collect())
}

/// A plan as one text, `payer:euros;payer:euros` (euros with a point, two decimals).
pub fn plan_text(plan: &[Funding]) -> String {
    plan.iter()
        .map(|f| format!("{}:{}.{:02}", f.payer.as_str(), f.amount_cents / 100, f.amount_cents % 100))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_and_euros_are_read_with_either_decimal_mark() {
        assert_eq!(parse_funding("opco:1200").unwrap(), Funding { payer: FundingPayer::Opco, amount_cents: 120_000 });
        assert_eq!(parse_funding("cpf:850.50").unwrap().amount_cents, 85_050);
        assert_eq!(parse_funding("cpf:850,5").unwrap().amount_cents, 85_050);
        assert_eq!(parse_funding("employer:10").unwrap().payer, FundingPayer::Employer);
        assert_eq!(parse_funding("self:10").unwrap().payer, FundingPayer::SelfFunded);
    }

    #[test]
    fn malformed_funding_is_refused() {
        for bad in ["opco", "opco:", "opco:-5", "opco:1.234", "opco:abc", "opco:0", "banque:10", ":10", "opco:1e3"] {
            assert!(parse_funding(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_plan_has_each_payer_once_and_stays_within_the_price() {
        let opco = Funding { payer: FundingPayer::Opco, amount_cents: 600 };
        let employer = Funding { payer: FundingPayer::Employer, amount_cents: 400 };
        assert!(check_plan(&[opco, employer], 1000).is_ok());
        assert!(matches!(check_plan(&[opco, employer], 999), Err(EnrolmentError::FundingExceedsPrice { .. })));
        assert!(matches!(check_plan(&[opco, opco], 5000), Err(EnrolmentError::DuplicatePayer(_))));
        let nothing = Funding { payer: FundingPayer::Cpf, amount_cents: 0 };
        assert!(matches!(check_plan(&[nothing], 5000), Err(EnrolmentError::Invalid(_))));
        assert_eq!(main_payer(&[employer, opco]), Some(FundingPayer::Opco));
        assert_eq!(plan_text(&[opco, employer]), "opco:6.00;company:4.00");
    }
}
