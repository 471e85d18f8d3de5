//! The Bilan pédagogique et financier (Cerfa 10443) of one year, every cadre on the form's own
//! lines: A identity, B activity, C income, D charges, E trainers, F-1 to F-4 trainees and
//! hours, G training received from another organisation, H the person in charge. The financial
//! year is assumed to be the calendar year.
//!
//! - Computed from the data: hours-trainee are the hours actually attended in the year, from the
//!   attendance ledger (latest entry per trainee and half-day; late and left-early minutes off). A
//!   trainee counts on a line when they attended at least one minute in the year; an enrolment is
//!   counted once per line even if it spans several months.
//! - Income (cadre C) counts each confirmed, completed or abandoned enrolment whose training
//!   session starts in the year: the amounts of its funding plan, by payer; an enrolment without
//!   a plan counts the course price under the funding source the trainee stated. Where each
//!   payer goes is decided in [`lines`]. Income received outside the LMS is added from the
//!   inputs.
//! - Trainers (cadre E-1): the people who co-signed, as trainers, half-days held in the year, and
//!   the hours of those half-days.
//! - Entered by the office ([`inputs`]): charges, turnover, activity answers, external trainers,
//!   subcontracted training, the contact person.
//!
//! [`form`] lays the report out as the form's sections and lines, for the text output and the PDF
//! (`documents::bpf`).

pub mod form;
pub mod inputs;
pub mod lines;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use self::inputs::{BpfInputKey, BpfValue};
use self::lines::{IncomeLine, ObjectiveLine, TraineeLine, nsf_speciality};
use super::ReportError;
use crate::attendance::{AttendanceStatus, EntryKind};
use crate::catalogue::ObjectiveCategory;
use crate::db::ids::{EnrolmentId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, courses, enrolments, half_days, training_sessions};
use crate::db::{DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::enrolment::funding::{FundingPayer, TraineeCategory};

/// How many specialities cadre F-4 lists before « autres spécialités ».
pub const LISTED_SPECIALITIES: usize = 5;

/// Trainees and hours on one line of a cadre.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BpfLine {
    /// Number of trainees.
    pub trainees: u64,
    /// Hours-trainee (one decimal).
    pub hours: f64,
}

/// A line of trainees and hours, with its place on the form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeopleLine {
    /// The line's reference (`F-1a`).
    pub line: String,
    /// The form's wording.
    pub label: String,
    /// Number of trainees.
    pub trainees: u64,
    /// Hours-trainee (one decimal).
    pub hours: f64,
}

/// A line of cadre C.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AmountLine {
    /// The line's reference (`C-2a`).
    pub line: String,
    /// The form's wording.
    pub label: String,
    /// What the LMS computed from enrolments, in euro cents.
    pub computed_cents: i64,
    /// What the office entered as received outside the LMS, in euro cents.
    pub entered_cents: i64,
    /// The amount on the form (computed + entered), in euro cents.
    pub amount_cents: i64,
}

/// Cadre B: the organisation's activity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Activity {
    /// First day of the financial year.
    pub period_from: NaiveDate,
    /// Last day of the financial year.
    pub period_to: NaiveDate,
    /// Whether training is the main activity (entered; `None` until it is).
    pub training_is_main_activity: Option<bool>,
    /// Whether training was given wholly or partly at a distance (the LMS schedules only
    /// half-days in a venue, so never).
    pub distance_learning: bool,
}

/// Cadre C: income.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Income {
    /// Lines 1 to 11, in the form's order.
    pub lines: Vec<AmountLine>,
    /// Line 2, total of 2a to 2h, in euro cents.
    pub opco_total_cents: i64,
    /// Total of lines 1 to 11, in euro cents.
    pub total_cents: i64,
    /// Of line 11: enrolments with no stated payer, in euro cents (to be checked).
    pub unstated_payer_cents: i64,
    /// The organisation's whole turnover (entered), in euro cents.
    pub turnover_cents: Option<i64>,
    /// Share of the turnover made by training, in percent (one decimal), once the turnover is
    /// entered.
    pub training_share_percent: Option<f64>,
    /// The computed income by payer (stored payer text, `unknown` when none was stated), in euro
    /// cents.
    pub by_payer: BTreeMap<String, i64>,
}

/// Cadre D: charges (entered).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Charges {
    /// Total charges of the training activity, in euro cents.
    pub total_cents: Option<i64>,
    /// Of which trainers' salaries, in euro cents.
    pub trainer_salaries_cents: Option<i64>,
    /// Of which training bought in and fees, in euro cents.
    pub bought_training_cents: Option<i64>,
}

/// People and the hours they trained.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TrainerLine {
    /// Number of people.
    pub people: u64,
    /// Hours of training given (one decimal).
    pub hours: f64,
}

/// Cadre E: the people who trained.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Trainers {
    /// E-1: the organisation's own trainers, from the ledger.
    pub internal: TrainerLine,
    /// E-2: people outside the organisation, under a subcontract (entered).
    pub external: TrainerLine,
}

/// Cadres F-1 and F-3: lines, their total and (F-1) distance learning.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PeopleLines {
    /// The lines, in the form's order.
    pub lines: Vec<PeopleLine>,
    /// Their total.
    pub total: BpfLine,
}

/// Cadre F-1: trainees by type.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TraineeTypes {
    /// Lines a to e, in the form's order.
    pub lines: Vec<PeopleLine>,
    /// Their total.
    pub total: BpfLine,
    /// Of which trained wholly or partly at a distance (the LMS schedules only half-days in a
    /// venue: always zero).
    pub distance_learning: BpfLine,
    /// Of line e: trainees with no category recorded (to be checked).
    pub without_category: u64,
}

/// One NSF speciality of cadre F-4.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpecialityLine {
    /// The three-digit NSF speciality code.
    pub code: String,
    /// Number of trainees.
    pub trainees: u64,
    /// Hours-trainee (one decimal).
    pub hours: f64,
}

/// Cadre F-4: the main specialities.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Specialities {
    /// The [`LISTED_SPECIALITIES`] specialities with most hours (then by code).
    pub lines: Vec<SpecialityLine>,
    /// Every other speciality together.
    pub others: BpfLine,
    /// Total.
    pub total: BpfLine,
}

/// Cadre H: who answers for the form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Manager {
    /// The legal representative, name and capacity (the organisation's identity).
    pub representative: Option<String>,
    /// Who filled the form in (entered).
    pub contact: Option<String>,
}

/// The BPF of a year, cadre by cadre.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BpfReport {
    /// Calendar year.
    pub year: i32,
    /// A: the organisation.
    pub a_identity: OrganisationIdentity,
    /// B: its activity.
    pub b_activity: Activity,
    /// C: income.
    pub c_income: Income,
    /// D: charges.
    pub d_charges: Charges,
    /// E: people who trained.
    pub e_trainers: Trainers,
    /// F-1: trainees by type.
    pub f1_trainees: TraineeTypes,
    /// F-2: training the organisation entrusted to another one (entered).
    pub f2_subcontracted: BpfLine,
    /// F-3: by objective.
    pub f3_objectives: PeopleLines,
    /// F-4: by NSF speciality.
    pub f4_specialities: Specialities,
    /// G: trainees whose training another organisation entrusted to this one (enrolments paid by
    /// another training organisation).
    pub g_received: BpfLine,
    /// H: the person in charge.
    pub h_manager: Manager,
    /// The inputs the form needs that are not entered yet (`lms report bpf-input`).
    pub missing_inputs: Vec<String>,
}

/// Hours as the report prints them, the French way: `1 042,5 h` (a narrow no-break space
/// between thousands, as `locale::euros_fr` writes them).
pub fn hours_fr(hours: f64) -> String {
    let text = format!("{:.1}", hours.abs());
    let (units, tenths) = text.split_once('.').unwrap_or((text.as_str(), "0"));
    let mut grouped = String::new();
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    let sign = if hours < 0.0 { "-" } else { "" };
    format!("{sign}{grouped},{tenths} h")
}

/// Trainees and minutes being added up.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    trainees: u64,
    minutes: i64,
}

impl Tally {
    fn add(&mut self, minutes: i64) {
        self.trainees += 1;
        self.minutes += minutes;
    }

    fn line(self) -> BpfLine {
        BpfLine { trainees: self.trainees, hours: hours_of(self.minutes) }
    }
}

fn hours_of(minutes: i64) -> f64 {
    (minutes as f64 / 6.0).round() / 10.0
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
    objective: ObjectiveCategory,
    nsf: String,
    price_cents: i64,
    starts_on: NaiveDate,
}

/// A trainee's status entry on a half-day of the year, with the half-day's scheduled minutes.
#[derive(Debug, Queryable)]
struct StatusRow {
    session: TrainingSessionId,
    trainee: UserId,
    half_day: HalfDayId,
    seq: i64,
    status: Option<AttendanceStatus>,
    late_minutes: i32,
    left_early_minutes: i32,
    scheduled: i32,
}

/// Computes the BPF of `year`.
pub fn bpf_report(conn: &mut DbConn, year: i32) -> Result<BpfReport, ReportError> {
    inputs::check_year(year).map_err(|e| ReportError::Invalid(e.to_string()))?;
    let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) else {
        return Err(ReportError::Invalid(format!("année invalide : {year}")));
    };
    crate::db::read_transaction(conn, |conn| {
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
        let minutes = attended_minutes_in(conn, first, last)?;
        let internal = internal_trainers(conn, first, last)?;
        let entered = inputs::inputs_of(conn, year)?;
        let identity = OrganisationIdentity::load(conn)?;

        let mut by_type: BTreeMap<TraineeLine, Tally> = BTreeMap::new();
        let mut by_objective: BTreeMap<ObjectiveLine, Tally> = BTreeMap::new();
        let mut by_speciality: BTreeMap<Option<String>, Tally> = BTreeMap::new();
        let mut total = Tally::default();
        let mut received = Tally::default();
        let mut without_category = 0;
        let mut computed: BTreeMap<IncomeLine, i64> = BTreeMap::new();
        let mut by_payer: BTreeMap<String, i64> = BTreeMap::new();
        let mut unstated_payer_cents = 0;
        for row in rows {
            let category = row.category.as_deref().and_then(|c| c.parse::<TraineeCategory>().ok());
            let stated = row.funding.as_deref().and_then(|p| p.parse::<FundingPayer>().ok());
            let plan = plans.get(&row.id);
            let payers: Vec<(Option<FundingPayer>, i64)> = match plan {
                Some(plan) => plan.iter().map(|f| (Some(f.payer), f.amount_cents)).collect(),
                None => vec![(stated, row.price_cents)],
            };
            let attended = minutes.get(&(row.session.clone(), row.trainee.clone())).copied().unwrap_or(0);
            if attended > 0 {
                total.add(attended);
                if category.is_none() {
                    without_category += 1;
                }
                by_type.entry(TraineeLine::for_category(category)).or_default().add(attended);
                by_objective.entry(ObjectiveLine::for_objective(row.objective)).or_default().add(attended);
                by_speciality.entry(nsf_speciality(&row.nsf)).or_default().add(attended);
                if payers.iter().any(|(payer, _)| *payer == Some(FundingPayer::OtherProvider)) {
                    received.add(attended);
                }
            }
            if row.starts_on >= first && row.starts_on <= last {
                for (payer, cents) in payers {
                    *computed.entry(IncomeLine::for_payer(payer, category)).or_default() += cents;
                    *by_payer.entry(payer.map_or("unknown", FundingPayer::as_str).to_owned()).or_default() += cents;
                    if payer.is_none() {
                        unstated_payer_cents += cents;
                    }
                }
            }
        }

        let euros = |key: BpfInputKey| match entered.get(&key) {
            Some(BpfValue::Euros(cents)) => Some(*cents),
            _ => None,
        };
        let count = |key: BpfInputKey| match entered.get(&key) {
            Some(BpfValue::Count(n)) => *n,
            _ => 0,
        };
        let hours = |key: BpfInputKey| match entered.get(&key) {
            Some(BpfValue::Hours(h)) => *h,
            _ => 0.0,
        };
        let income_lines: Vec<AmountLine> = IncomeLine::ALL
            .into_iter()
            .map(|line| {
                let computed_cents = computed.get(&line).copied().unwrap_or(0);
                let entered_cents = euros(BpfInputKey::IncomeOutsideLms(line)).unwrap_or(0);
                AmountLine {
                    line: line.reference(),
                    label: line.label_fr().to_owned(),
                    computed_cents,
                    entered_cents,
                    amount_cents: computed_cents + entered_cents,
                }
            })
            .collect();
        let opco_total_cents = IncomeLine::ALL
            .into_iter()
            .zip(&income_lines)
            .filter(|(line, _)| line.is_opco())
            .map(|(_, amount)| amount.amount_cents)
            .sum();
        let income_total: i64 = income_lines.iter().map(|l| l.amount_cents).sum();
        let turnover_cents = euros(BpfInputKey::Turnover);
        let training_share_percent =
            turnover_cents.filter(|t| *t > 0).map(|t| (income_total as f64 * 1000.0 / t as f64).round() / 10.0);

        let trainee_lines = people_lines(&by_type, "F-1", TraineeLine::ALL, |l| (l.as_str(), l.label_fr()));
        let objective_lines = people_lines(&by_objective, "F-3", ObjectiveLine::ALL, |l| (l.as_str(), l.label_fr()));

        let mut specialities: Vec<(String, Tally)> =
            by_speciality.iter().filter_map(|(code, tally)| code.clone().map(|code| (code, *tally))).collect();
        specialities.sort_by(|a, b| b.1.minutes.cmp(&a.1.minutes).then_with(|| a.0.cmp(&b.0)));
        let mut others = by_speciality.get(&None).copied().unwrap_or_default();
        for (_, tally) in specialities.iter().skip(LISTED_SPECIALITIES) {
            others.trainees += tally.trainees;
            others.minutes += tally.minutes;
        }
        let listed = specialities
            .into_iter()
            .take(LISTED_SPECIALITIES)
            .map(|(code, tally)| SpecialityLine { code, trainees: tally.trainees, hours: hours_of(tally.minutes) })
            .collect();

        let required = [
            BpfInputKey::TrainingIsMainActivity,
            BpfInputKey::Turnover,
            BpfInputKey::ChargesTotal,
            BpfInputKey::TrainerSalaries,
            BpfInputKey::BoughtTraining,
            BpfInputKey::ExternalTrainers,
            BpfInputKey::ExternalTrainerHours,
            BpfInputKey::SubcontractedTrainees,
            BpfInputKey::SubcontractedHours,
            BpfInputKey::Contact,
        ];
        let missing_inputs = required.into_iter().filter(|k| !entered.contains_key(k)).map(|k| k.key()).collect();

        Ok(BpfReport {
            year,
            b_activity: Activity {
                period_from: first,
                period_to: last,
                training_is_main_activity: match entered.get(&BpfInputKey::TrainingIsMainActivity) {
                    Some(BpfValue::YesNo(yes)) => Some(*yes),
                    _ => None,
                },
                distance_learning: false,
            },
            c_income: Income {
                lines: income_lines,
                opco_total_cents,
                total_cents: income_total,
                unstated_payer_cents,
                turnover_cents,
                training_share_percent,
                by_payer,
            },
            d_charges: Charges {
                total_cents: euros(BpfInputKey::ChargesTotal),
                trainer_salaries_cents: euros(BpfInputKey::TrainerSalaries),
                bought_training_cents: euros(BpfInputKey::BoughtTraining),
            },
            e_trainers: Trainers {
                internal,
                external: TrainerLine {
                    people: count(BpfInputKey::ExternalTrainers),
                    hours: hours(BpfInputKey::ExternalTrainerHours),
                },
            },
            f1_trainees: TraineeTypes {
                lines: trainee_lines,
                total: total.line(),
                distance_learning: BpfLine::default(),
                without_category,
            },
            f2_subcontracted: BpfLine {
                trainees: count(BpfInputKey::SubcontractedTrainees),
                hours: hours(BpfInputKey::SubcontractedHours),
            },
            f3_objectives: PeopleLines { lines: objective_lines, total: total.line() },
            f4_specialities: Specialities { lines: listed, others: others.line(), total: total.line() },
            g_received: received.line(),
            h_manager: Manager {
                representative: identity.representative.clone(),
                contact: match entered.get(&BpfInputKey::Contact) {
                    Some(BpfValue::Text(text)) => Some(text.clone()),
                    _ => None,
                },
            },
            a_identity: identity,
            missing_inputs,
        })
    })
}

/// The lines of a cadre in the form's order, each with its tally (zero when nobody is on it).
fn people_lines<L: Ord + Copy, const N: usize>(
    tallies: &BTreeMap<L, Tally>,
    cadre: &str,
    all: [L; N],
    describe: impl Fn(L) -> (&'static str, &'static str),
) -> Vec<PeopleLine> {
    all.into_iter()
        .map(|line| {
            let tally = tallies.get(&line).copied().unwrap_or_default();
            let (letter, label) = describe(line);
            PeopleLine {
                line: format!("{cadre}{letter}"),
                label: label.to_owned(),
                trainees: tally.trainees,
                hours: hours_of(tally.minutes),
            }
        })
        .collect()
}

/// Minutes attended per (session, trainee) on the half-days of the period: every trainee status
/// entry of those half-days in one query, the latest per trainee and half-day counting, with the
/// attendance module's rule ([`crate::attendance::sheets::minutes_counted`]).
fn attended_minutes_in(
    conn: &mut DbConn,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<HashMap<(TrainingSessionId, UserId), i64>, DbError> {
    let entries: Vec<StatusRow> = attendance_entries::table
        .inner_join(half_days::table)
        .filter(half_days::day.ge(first))
        .filter(half_days::day.le(last))
        .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
        .select((
            attendance_entries::training_session_id,
            attendance_entries::subject_id,
            attendance_entries::half_day_id,
            attendance_entries::seq,
            attendance_entries::status,
            attendance_entries::late_minutes,
            attendance_entries::left_early_minutes,
            half_days::minutes,
        ))
        .load(conn)?;
    let mut latest: HashMap<(UserId, HalfDayId), StatusRow> = HashMap::new();
    for entry in entries {
        let key = (entry.trainee.clone(), entry.half_day.clone());
        match latest.get(&key) {
            Some(kept) if kept.seq >= entry.seq => {}
            _ => {
                latest.insert(key, entry);
            }
        }
    }
    let mut minutes: HashMap<(TrainingSessionId, UserId), i64> = HashMap::new();
    for entry in latest.into_values() {
        *minutes.entry((entry.session, entry.trainee)).or_default() += crate::attendance::sheets::minutes_counted(
            entry.status,
            i64::from(entry.scheduled),
            entry.late_minutes,
            entry.left_early_minutes,
        );
    }
    Ok(minutes)
}

/// Cadre E-1: who co-signed, as trainer, half-days of the period, and the hours of those
/// half-days (each half-day once per trainer, however often they signed it).
fn internal_trainers(conn: &mut DbConn, first: NaiveDate, last: NaiveDate) -> Result<TrainerLine, DbError> {
    let signed: Vec<(UserId, HalfDayId, i32)> = attendance_entries::table
        .inner_join(half_days::table)
        .filter(half_days::day.ge(first))
        .filter(half_days::day.le(last))
        .filter(attendance_entries::kind.eq(EntryKind::TrainerCosign))
        .select((attendance_entries::subject_id, attendance_entries::half_day_id, half_days::minutes))
        .distinct()
        .load(conn)?;
    let mut seen = HashSet::new();
    let mut trainers = HashSet::new();
    let mut minutes = 0i64;
    for (trainer, half_day, scheduled) in signed {
        if seen.insert((trainer.clone(), half_day)) {
            minutes += i64::from(scheduled);
            trainers.insert(trainer);
        }
    }
    Ok(TrainerLine { people: trainers.len() as u64, hours: hours_of(minutes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_written_the_french_way() {
        assert_eq!(hours_fr(0.0), "0,0 h");
        assert_eq!(hours_fr(42.5), "42,5 h");
        assert_eq!(hours_fr(1042.2), "1\u{202f}042,2 h");
        assert_eq!(hours_fr(1_234_567.0), "1\u{202f}234\u{202f}567,0 h");
        assert_eq!(hours_of(90), 1.5);
        assert_eq!(hours_of(20), 0.3);
    }
}
