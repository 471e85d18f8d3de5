//! Outcome indicators a certified training organisation publishes (Qualiopi indicators 2 and 3):
//! enrolled, completed, abandoned, sat the certification, certified, obtention rate, satisfaction.
//!
//! Definitions: « enrolled » counts confirmed, completed and abandoned enrolments (waitlisted and
//! cancelled ones never started); « sat » counts candidates with a final jury decision (admitted
//! or refused; a deferred candidate has not finished sitting); « certified » counts valid
//! certificates; the obtention rate is certified / sat.

use diesel::prelude::*;
use serde::Serialize;

use super::ReportError;
use crate::certification::jury::JuryVerdict;
use crate::certification::registry::CertificateStatus;
use crate::db::schema::{certificates, courses, enrolments, jury_decisions, training_sessions};
use crate::db::{DbConn, DbError};
use crate::enrolment::EnrolmentStatus;

/// Published indicators, for one course or for everything.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomeIndicators {
    /// Course code, or `null` for all courses.
    pub course: Option<String>,
    /// Enrolments that started.
    pub enrolled: i64,
    /// Went to the end.
    pub completed: i64,
    /// Dropped out.
    pub abandoned: i64,
    /// Completion rate, percent (one decimal), when anyone enrolled.
    pub completion_rate: Option<f64>,
    /// Sat the certification (final jury decision).
    pub sat_certification: i64,
    /// Certified (valid certificates).
    pub certified: i64,
    /// Certified over sat, percent (one decimal).
    pub obtention_rate: Option<f64>,
    /// Satisfaction responses.
    pub satisfaction_responses: i64,
    /// Mean satisfaction out of 5 (one decimal).
    pub satisfaction_mean: Option<f64>,
}

/// The report: every certifying course and the total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomesReport {
    /// All courses together.
    pub total: OutcomeIndicators,
    /// Per course code.
    pub by_course: Vec<OutcomeIndicators>,
}

fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| ((numerator as f64) * 1000.0 / (denominator as f64)).round() / 10.0)
}

/// One jury decision with the course it concerns (the columns selected in [`outcomes_report`]).
#[derive(Debug, Queryable)]
struct DecisionRow {
    course: String,
    session: String,
    trainee: String,
    decision: JuryVerdict,
    decided_on: chrono::NaiveDate,
    recorded_at: chrono::NaiveDateTime,
}

/// Computes the outcome indicators over all time.
pub fn outcomes_report(conn: &mut DbConn) -> Result<OutcomesReport, ReportError> {
    crate::db::read_transaction(conn, |conn| {
        let rows: Vec<(String, EnrolmentStatus)> = enrolments::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .filter(enrolments::status.eq_any(EnrolmentStatus::STARTED))
            .select((courses::code, enrolments::status))
            .load(conn)
            .map_err(DbError::from)?;
        let mut grouped: std::collections::BTreeMap<(String, EnrolmentStatus), i64> = std::collections::BTreeMap::new();
        for key in rows {
            *grouped.entry(key).or_default() += 1;
        }
        let statuses: Vec<(String, EnrolmentStatus, i64)> = grouped.into_iter().map(|((c, s), n)| (c, s, n)).collect();
        // Latest decision per (session, trainee) decides whether they sat.
        let decisions: Vec<DecisionRow> = jury_decisions::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .select((
                courses::code,
                jury_decisions::training_session_id,
                jury_decisions::trainee_id,
                jury_decisions::decision,
                jury_decisions::decided_on,
                jury_decisions::recorded_at,
            ))
            .load(conn)
            .map_err(DbError::from)?;
        let mut latest: std::collections::HashMap<(String, String), DecisionRow> = std::collections::HashMap::new();
        for row in decisions {
            match latest.entry((row.session.clone(), row.trainee.clone())) {
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(row);
                }
                std::collections::hash_map::Entry::Occupied(mut slot) => {
                    if (row.decided_on, row.recorded_at) > (slot.get().decided_on, slot.get().recorded_at) {
                        slot.insert(row);
                    }
                }
            }
        }
        let certified: Vec<(String, i64)> = certificates::table
            .inner_join(training_sessions::table.inner_join(courses::table))
            .filter(certificates::status.eq(CertificateStatus::Valid))
            .group_by(courses::code)
            .select((courses::code, diesel::dsl::count_star()))
            .load(conn)
            .map_err(DbError::from)?;
        let satisfaction = crate::surveys::figures::trainee_satisfaction_by_course(conn, None, None)?;
        let mut codes: Vec<String> = statuses.iter().map(|s| s.0.clone()).collect();
        codes.extend(certified.iter().map(|c| c.0.clone()));
        codes.sort();
        codes.dedup();
        let indicators = |course: Option<&str>| {
            let matches = |code: &str| course.is_none_or(|c| c == code);
            let count = |status: EnrolmentStatus| -> i64 {
                statuses.iter().filter(|(c, s, _)| matches(c) && *s == status).map(|(_, _, n)| n).sum()
            };
            let (confirmed, completed, abandoned) = (
                count(EnrolmentStatus::Confirmed),
                count(EnrolmentStatus::Completed),
                count(EnrolmentStatus::Abandoned),
            );
            let enrolled = confirmed + completed + abandoned;
            let sat = latest
                .values()
                .filter(|d| matches(&d.course) && matches!(d.decision, JuryVerdict::Admitted | JuryVerdict::Refused))
                .count() as i64;
            let certified: i64 = certified.iter().filter(|(c, _)| matches(c)).map(|(_, n)| n).sum();
            let mut said = crate::surveys::figures::SatisfactionFigures::default();
            satisfaction.iter().filter(|(c, _)| matches(c)).for_each(|(_, figures)| said.add(figures));
            OutcomeIndicators {
                course: course.map(str::to_owned),
                enrolled,
                completed,
                abandoned,
                completion_rate: rate(completed, completed + abandoned),
                sat_certification: sat,
                certified,
                obtention_rate: rate(certified, sat),
                satisfaction_responses: said.scores,
                satisfaction_mean: said.mean(),
            }
        };
        Ok(OutcomesReport { total: indicators(None), by_course: codes.iter().map(|c| indicators(Some(c))).collect() })
    })
}
