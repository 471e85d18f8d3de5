//! BPF figures for one calendar year (the organisation's financial year is assumed to be the
//! calendar year).
//!
//! - Hours-trainee (heures-stagiaires) are the hours actually attended in that year, from the
//!   attendance ledger (latest entry per trainee and half-day; late and left-early minutes off).
//! - A trainee counts in a line when they attended at least one minute in the year; an enrolment is
//!   counted once per line even if it spans several months.
//! - Income (cadre C) counts each confirmed, completed or abandoned enrolment whose training
//!   session starts in the year: the amounts of its funding plan, by payer
//!   (`enrolment::funding`); an enrolment without a plan counts the course price under the
//!   funding source the trainee stated (`unknown` when none).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::ReportError;
use crate::certification::eligibility::attended_minutes;
use crate::db::ids::{EnrolmentId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{courses, enrolments, half_days, training_sessions};
use crate::db::{DbConn, DbError};

/// Trainees and hours on one line of a cadre.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BpfLine {
    /// Number of trainees.
    pub trainees: u64,
    /// Hours-trainee (one decimal).
    pub hours: f64,
}

/// The BPF figures of a year.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BpfReport {
    /// Calendar year.
    pub year: i32,
    /// Every trainee with hours in the year.
    pub total: BpfLine,
    /// F-1: by trainee category (`employee`, `apprentice`, `job_seeker`, `individual`, `other`,
    /// `unknown`).
    pub by_trainee_category: BTreeMap<String, BpfLine>,
    /// F-3: by objective (`rs`, `rncp`, `cqp`, `other`).
    pub by_objective: BTreeMap<String, BpfLine>,
    /// F-4: by NSF speciality code.
    pub by_nsf: BTreeMap<String, BpfLine>,
    /// Cadre C: income in euro cents by funding source.
    pub income_cents_by_funding: BTreeMap<String, i64>,
    /// Total income in euro cents.
    pub income_cents_total: i64,
}

/// A started enrolment with what the BPF classifies it by (the columns selected in
/// [`bpf_report`], in order).
#[derive(Debug, Queryable)]
struct EnrolmentRow {
    id: EnrolmentId,
    session: TrainingSessionId,
    trainee: UserId,
    category: Option<String>,
    funding: Option<String>,
    objective: String,
    nsf: String,
    price_cents: i64,
    starts_on: NaiveDate,
}

/// Computes the BPF figures for `year`.
pub fn bpf_report(conn: &mut DbConn, year: i32) -> Result<BpfReport, ReportError> {
    if !(2000..=2100).contains(&year) {
        return Err(ReportError::Invalid(format!("année invalide : {year}")));
    }
    let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) else {
        return Err(ReportError::Invalid(format!("année invalide : {year}")));
    };
    crate::db::read_transaction(conn, |conn| {
        // Sessions overlapping the year.
        let rows: Vec<EnrolmentRow> = enrolments::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .filter(enrolments::status.eq_any(crate::enrolment::EnrolmentStatus::STARTED))
            .filter(training_sessions::starts_on.le(last))
            .filter(training_sessions::ends_on.ge(first))
            .select((
                enrolments::id,
                enrolments::training_session_id,
                enrolments::trainee_id,
                enrolments::trainee_category,
                enrolments::funding_source,
                courses::objective_category,
                courses::nsf_code,
                courses::price_cents,
                training_sessions::starts_on,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let ids: Vec<EnrolmentId> = rows.iter().map(|r| r.id.clone()).collect();
        let plans = crate::enrolment::funding::plans_of(conn, &ids)?;
        let mut sessions: Vec<TrainingSessionId> = rows.iter().map(|r| r.session.clone()).collect();
        sessions.sort();
        sessions.dedup();
        let mut minutes: HashMap<(TrainingSessionId, UserId), i64> = HashMap::new();
        for session in &sessions {
            // Only half-days of the year count; the ledger rule is eligibility's own.
            let schedule: HashMap<HalfDayId, i32> = half_days::table
                .filter(half_days::training_session_id.eq(session))
                .filter(half_days::day.ge(first))
                .filter(half_days::day.le(last))
                .select((half_days::id, half_days::minutes))
                .load::<(HalfDayId, i32)>(conn)
                .map_err(DbError::from)?
                .into_iter()
                .collect();
            let trainees: Vec<UserId> =
                rows.iter().filter(|r| &r.session == session).map(|r| r.trainee.clone()).collect();
            let attended = attended_minutes(conn, session, &trainees, &schedule)?;
            minutes.extend(attended.into_iter().map(|(trainee, m)| ((session.clone(), trainee), m)));
        }
        let mut report = BpfReport {
            year,
            total: BpfLine::default(),
            by_trainee_category: BTreeMap::new(),
            by_objective: BTreeMap::new(),
            by_nsf: BTreeMap::new(),
            income_cents_by_funding: BTreeMap::new(),
            income_cents_total: 0,
        };
        let add = |map: &mut BTreeMap<String, BpfLine>, key: &str, hours: f64| {
            let line = map.entry(key.to_owned()).or_default();
            line.trainees += 1;
            line.hours += hours;
        };
        for EnrolmentRow { id, session, trainee, category, funding, objective, nsf, price_cents: price, starts_on } in
            rows
        {
            let attended = minutes.get(&(session, trainee)).copied().unwrap_or(0);
            if attended > 0 {
                let hours = attended as f64 / 60.0;
                report.total.trainees += 1;
                report.total.hours += hours;
                add(&mut report.by_trainee_category, category.as_deref().unwrap_or("unknown"), hours);
                add(&mut report.by_objective, &objective, hours);
                add(&mut report.by_nsf, &nsf, hours);
            }
            if starts_on >= first && starts_on <= last {
                match plans.get(&id) {
                    Some(plan) => {
                        for line in plan {
                            *report.income_cents_by_funding.entry(line.payer.as_str().to_owned()).or_default() +=
                                line.amount_cents;
                            report.income_cents_total += line.amount_cents;
                        }
                    }
                    None => {
                        *report
                            .income_cents_by_funding
                            .entry(funding.unwrap_or_else(|| "unknown".into()))
                            .or_default() += price;
                        report.income_cents_total += price;
                    }
                }
            }
        }
        let round = |line: &mut BpfLine| line.hours = (line.hours * 10.0).round() / 10.0;
        round(&mut report.total);
        report.by_trainee_category.values_mut().for_each(round);
        report.by_objective.values_mut().for_each(round);
        report.by_nsf.values_mut().for_each(round);
        Ok(report)
    })
}
