//! Outcome indicators a certified training organisation publishes (Qualiopi indicators 2 and 3):
//! per course (code and title), enrolled, completed, abandoned, presented to the certification,
//! certified, the rates, and the trainees' satisfaction with its response rate.
//!
//! Definitions, in one place (`/resultats`, `lms report outcomes` and the quality evidence read
//! them from here):
//! - **period**: a session belongs to the period when its last half-day (`ends_on`) falls between
//!   `from` and `to` inclusive; its enrolments, jury decisions and certificates go with it. By
//!   default the period is the twelve months ending today (Paris date) — [`Period::resolve`].
//!   Satisfaction counts the à chaud questionnaires opened in the period
//!   ([`crate::surveys::figures`]).
//! - **enrolled**: confirmed, completed and abandoned enrolments (waitlisted, requested, refused
//!   and cancelled ones never started); the completion rate is completed / (completed + abandoned).
//! - **presented**: candidates whose latest jury decision is admitted, refused **or deferred** —
//!   a deferred candidate sat and did not obtain it (yet), so leaving them out would flatter the
//!   rate. `sat_certification` is the same figure, kept under its first name.
//! - **certified**: valid certificates of those candidates; the certification rate is certified /
//!   presented (`obtention_rate` is the same figure, kept under its first name).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Months, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::ReportError;
use crate::certification::jury::JuryVerdict;
use crate::certification::registry::CertificateStatus;
use crate::db::schema::{certificates, courses, enrolments, jury_decisions, training_sessions};
use crate::db::{DbConn, DbError};
use crate::enrolment::EnrolmentStatus;
use crate::surveys::figures::SatisfactionFigures;

/// The dates a report covers, both included.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

impl Period {
    /// The period from `from` to `to`, refused when it ends before it starts.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, ReportError> {
        if from > to {
            return Err(ReportError::Invalid(format!(
                "la période commence le {} après sa fin le {} : vérifiez --from et --to.",
                crate::locale::date_fr(from),
                crate::locale::date_fr(to)
            )));
        }
        Ok(Period { from, to })
    }

    /// The twelve months ending on `today`, today included.
    pub fn twelve_months_to(today: NaiveDate) -> Self {
        let from = today.checked_sub_months(Months::new(12)).and_then(|d| d.succ_opt()).unwrap_or(today);
        Period { from, to: today }
    }

    /// The period the doors ask for: either end may be left out; `to` defaults to today (Paris
    /// date of `now`), `from` to twelve months before `to`.
    pub fn resolve(from: Option<NaiveDate>, to: Option<NaiveDate>, now: NaiveDateTime) -> Result<Self, ReportError> {
        let to = to.unwrap_or_else(|| crate::attendance::records::paris_date(now));
        match from {
            Some(from) => Period::new(from, to),
            None => Ok(Period::twelve_months_to(to)),
        }
    }

    /// Reads a date typed at a door (`AAAA-MM-JJ`), naming the option it came from.
    pub fn parse_date(option: &str, raw: &str) -> Result<NaiveDate, ReportError> {
        NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| ReportError::Invalid(format!("{option} : « {raw} » n'est pas une date au format AAAA-MM-JJ.")))
    }
}

/// Published indicators, for one course or for everything.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomeIndicators {
    /// Course code, or `null` for all courses.
    pub course: Option<String>,
    /// Course title, or `null` for all courses.
    pub title: Option<String>,
    /// Enrolments that started.
    pub enrolled: i64,
    /// Went to the end.
    pub completed: i64,
    /// Dropped out.
    pub abandoned: i64,
    /// Completion rate, percent (one decimal), when anyone finished or dropped out.
    pub completion_rate: Option<f64>,
    /// Presented to the certification (latest jury decision admitted, refused or deferred); the
    /// same figure as `presented`.
    pub sat_certification: i64,
    /// Presented to the certification (latest jury decision admitted, refused or deferred).
    pub presented: i64,
    /// Of the presented, admitted by the jury.
    pub admitted: i64,
    /// Of the presented, deferred (ajournés).
    pub deferred: i64,
    /// Of the presented, refused.
    pub refused: i64,
    /// Certified (valid certificates of presented candidates).
    pub certified: i64,
    /// Certified over presented, percent (one decimal); the same figure as `certification_rate`.
    pub obtention_rate: Option<f64>,
    /// Certified over presented, percent (one decimal).
    pub certification_rate: Option<f64>,
    /// Satisfaction scores given.
    pub satisfaction_responses: i64,
    /// Mean satisfaction out of 5 (one decimal).
    pub satisfaction_mean: Option<f64>,
    /// Trainees asked for their satisfaction.
    pub satisfaction_invited: i64,
    /// Trainees who answered.
    pub satisfaction_answered: i64,
    /// Answered over asked, percent (one decimal).
    pub satisfaction_response_rate: Option<f64>,
}

impl OutcomeIndicators {
    /// Whether anything was recorded for it in the period.
    pub fn has_data(&self) -> bool {
        self.enrolled > 0 || self.presented > 0 || self.certified > 0 || self.satisfaction_invited > 0
    }
}

/// The report: every course with something recorded in the period, and the total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutcomesReport {
    /// The period covered.
    pub period: Period,
    /// When the figures were computed (UTC).
    pub updated_at: NaiveDateTime,
    /// The Paris date of `updated_at`, as published.
    pub updated_on: NaiveDate,
    /// All courses together.
    pub total: OutcomeIndicators,
    /// Per course, by code.
    pub by_course: Vec<OutcomeIndicators>,
}

impl OutcomesReport {
    /// Whether anything at all was recorded in the period.
    pub fn has_data(&self) -> bool {
        self.total.has_data()
    }
}

/// The certification results of one session that ended in the period (indicator 3 evidence).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionCertification {
    /// Session reference.
    pub session: String,
    /// Course code.
    pub course: String,
    /// Last half-day.
    pub ends_on: NaiveDate,
    /// Presented (latest decision admitted, refused or deferred).
    pub presented: i64,
    /// Admitted.
    pub admitted: i64,
    /// Deferred.
    pub deferred: i64,
    /// Refused.
    pub refused: i64,
    /// Valid certificates of presented candidates.
    pub certified: i64,
}

/// A rate in percent with one decimal, when the denominator is not zero.
pub fn rate(numerator: i64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| ((numerator as f64) * 1000.0 / (denominator as f64)).round() / 10.0)
}

/// One jury decision of a session in the period.
#[derive(Debug, Queryable)]
struct DecisionRow {
    session: String,
    trainee: String,
    decision: JuryVerdict,
    decided_on: NaiveDate,
    recorded_at: NaiveDateTime,
}

/// A session that ended in the period.
#[derive(Debug, Queryable)]
struct SessionRow {
    id: String,
    reference: String,
    code: String,
    title: String,
    ends_on: NaiveDate,
}

/// What was recorded for the sessions of a period, loaded in a fixed number of queries.
struct PeriodFacts {
    sessions: Vec<SessionRow>,
    /// (session id, status) → enrolments.
    statuses: HashMap<(String, EnrolmentStatus), i64>,
    /// (session id, trainee) → latest decision.
    latest: HashMap<(String, String), DecisionRow>,
    /// (session id, holder) with a valid certificate.
    certified: HashSet<(String, String)>,
}

impl PeriodFacts {
    fn load(conn: &mut DbConn, period: Period) -> Result<Self, DbError> {
        let in_period = training_sessions::ends_on.ge(period.from).and(training_sessions::ends_on.le(period.to));
        let sessions: Vec<SessionRow> = training_sessions::table
            .inner_join(courses::table)
            .filter(in_period)
            .order((courses::code, training_sessions::ends_on, training_sessions::reference))
            .select((
                training_sessions::id,
                training_sessions::reference,
                courses::code,
                courses::title,
                training_sessions::ends_on,
            ))
            .load(conn)?;
        let counted: Vec<(String, EnrolmentStatus, i64)> = enrolments::table
            .inner_join(training_sessions::table)
            .filter(in_period)
            .filter(enrolments::status.eq_any(EnrolmentStatus::STARTED))
            .group_by((enrolments::training_session_id, enrolments::status))
            .select((enrolments::training_session_id, enrolments::status, diesel::dsl::count_star()))
            .load(conn)?;
        let statuses = counted.into_iter().map(|(s, status, n)| ((s, status), n)).collect();
        let decisions: Vec<DecisionRow> = jury_decisions::table
            .inner_join(training_sessions::table)
            .filter(in_period)
            .select((
                jury_decisions::training_session_id,
                jury_decisions::trainee_id,
                jury_decisions::decision,
                jury_decisions::decided_on,
                jury_decisions::recorded_at,
            ))
            .load(conn)?;
        let mut latest: HashMap<(String, String), DecisionRow> = HashMap::new();
        for row in decisions {
            let key = (row.session.clone(), row.trainee.clone());
            let newer = latest
                .get(&key)
                .is_none_or(|kept| (row.decided_on, row.recorded_at) > (kept.decided_on, kept.recorded_at));
            if newer {
                latest.insert(key, row);
            }
        }
        let holders: Vec<(Option<String>, String)> = certificates::table
            .inner_join(training_sessions::table)
            .filter(in_period)
            .filter(certificates::status.eq(CertificateStatus::Valid))
            .select((certificates::training_session_id, certificates::holder_id))
            .load(conn)?;
        let certified = holders
            .into_iter()
            .filter_map(|(session, holder)| session.map(|s| (s, holder)))
            .filter(|key| latest.contains_key(key))
            .collect();
        Ok(PeriodFacts { sessions, statuses, latest, certified })
    }

    fn count(&self, sessions: &HashSet<&str>, status: EnrolmentStatus) -> i64 {
        self.statuses.iter().filter(|((s, st), _)| *st == status && sessions.contains(s.as_str())).map(|(_, n)| n).sum()
    }

    /// (presented, admitted, deferred, refused, certified) over `sessions`.
    fn certification(&self, sessions: &HashSet<&str>) -> (i64, i64, i64, i64, i64) {
        let (mut admitted, mut deferred, mut refused) = (0, 0, 0);
        for decision in self.latest.values().filter(|d| sessions.contains(d.session.as_str())) {
            match decision.decision {
                JuryVerdict::Admitted => admitted += 1,
                JuryVerdict::Deferred => deferred += 1,
                JuryVerdict::Refused => refused += 1,
            }
        }
        let certified = self.certified.iter().filter(|(s, _)| sessions.contains(s.as_str())).count() as i64;
        (admitted + deferred + refused, admitted, deferred, refused, certified)
    }

    fn indicators(&self, course: Option<(&str, &str)>, said: SatisfactionFigures) -> OutcomeIndicators {
        let sessions: HashSet<&str> = self
            .sessions
            .iter()
            .filter(|s| course.is_none_or(|(code, _)| code == s.code))
            .map(|s| s.id.as_str())
            .collect();
        let (confirmed, completed, abandoned) = (
            self.count(&sessions, EnrolmentStatus::Confirmed),
            self.count(&sessions, EnrolmentStatus::Completed),
            self.count(&sessions, EnrolmentStatus::Abandoned),
        );
        let (presented, admitted, deferred, refused, certified) = self.certification(&sessions);
        OutcomeIndicators {
            course: course.map(|(code, _)| code.to_owned()),
            title: course.map(|(_, title)| title.to_owned()),
            enrolled: confirmed + completed + abandoned,
            completed,
            abandoned,
            completion_rate: rate(completed, completed + abandoned),
            sat_certification: presented,
            presented,
            admitted,
            deferred,
            refused,
            certified,
            obtention_rate: rate(certified, presented),
            certification_rate: rate(certified, presented),
            satisfaction_responses: said.scores,
            satisfaction_mean: said.mean(),
            satisfaction_invited: said.invited,
            satisfaction_answered: said.answered,
            satisfaction_response_rate: said.response_rate(),
        }
    }
}

/// Computes the outcome indicators of the sessions that ended in `period`, per course and in
/// total; `now` is written as the update date. One read transaction, a fixed number of queries.
pub fn outcomes_report(conn: &mut DbConn, period: Period, now: NaiveDateTime) -> Result<OutcomesReport, ReportError> {
    crate::db::read_transaction(conn, |conn| {
        let facts = PeriodFacts::load(conn, period)?;
        let satisfaction =
            crate::surveys::figures::trainee_satisfaction_by_course(conn, Some(period.from), Some(period.to))?;
        let mut titles: BTreeMap<String, String> =
            facts.sessions.iter().map(|s| (s.code.clone(), s.title.clone())).collect();
        let missing: Vec<&String> = satisfaction.keys().filter(|code| !titles.contains_key(*code)).collect();
        if !missing.is_empty() {
            let found: Vec<(String, String)> = courses::table
                .filter(courses::code.eq_any(missing))
                .select((courses::code, courses::title))
                .load(conn)
                .map_err(DbError::from)?;
            titles.extend(found);
        }
        let mut all = SatisfactionFigures::default();
        satisfaction.values().for_each(|figures| all.add(figures));
        let by_course: Vec<OutcomeIndicators> = titles
            .iter()
            .map(|(code, title)| {
                let said = satisfaction.get(code).cloned().unwrap_or_default();
                facts.indicators(Some((code, title)), said)
            })
            .filter(OutcomeIndicators::has_data)
            .collect();
        Ok(OutcomesReport {
            period,
            updated_at: now,
            updated_on: crate::attendance::records::paris_date(now),
            total: facts.indicators(None, all),
            by_course,
        })
    })
}

/// The certification results of each session that ended in `period` and has a jury decision,
/// by course then end date (the same definitions as [`outcomes_report`]).
pub fn certification_by_session(conn: &mut DbConn, period: Period) -> Result<Vec<SessionCertification>, ReportError> {
    crate::db::read_transaction(conn, |conn| {
        let facts = PeriodFacts::load(conn, period)?;
        Ok(facts
            .sessions
            .iter()
            .filter_map(|session| {
                let only: HashSet<&str> = HashSet::from([session.id.as_str()]);
                let (presented, admitted, deferred, refused, certified) = facts.certification(&only);
                (presented > 0).then(|| SessionCertification {
                    session: session.reference.clone(),
                    course: session.code.clone(),
                    ends_on: session.ends_on,
                    presented,
                    admitted,
                    deferred,
                    refused,
                    certified,
                })
            })
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::Period;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn the_default_period_is_twelve_months_ending_today() {
        let period = Period::twelve_months_to(day(2026, 12, 6));
        assert_eq!((period.from, period.to), (day(2025, 12, 7), day(2026, 12, 6)));
        let leap = Period::twelve_months_to(day(2025, 2, 28));
        assert_eq!(leap.from, day(2024, 2, 29));
    }

    #[test]
    fn a_period_ending_before_it_starts_is_refused() {
        assert!(Period::new(day(2026, 2, 1), day(2026, 1, 31)).is_err());
        assert!(Period::new(day(2026, 1, 31), day(2026, 1, 31)).is_ok());
        assert!(Period::parse_date("--from", "31/01/2026").is_err());
    }
}

/// What `/resultats` publishes: the outcome indicators over the default period (twelve months
/// ending today) and the complaints handled with the improvement actions they led to.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublishedResults {
    /// The outcome indicators.
    pub outcomes: OutcomesReport,
    /// Complaints over twelve months, the share answered in time, improvement actions.
    pub complaints: crate::complaints::ComplaintsSummary,
}

/// Reads what `/resultats` publishes, in one read transaction.
pub fn published_results(conn: &mut DbConn, now: NaiveDateTime) -> Result<PublishedResults, ReportError> {
    let period = Period::resolve(None, None, now)?;
    crate::db::read_transaction(conn, |conn| {
        let outcomes = outcomes_report(conn, period, now)?;
        let complaints = crate::complaints::public_summary(conn, now)?;
        Ok(PublishedResults { outcomes, complaints })
    })
}
