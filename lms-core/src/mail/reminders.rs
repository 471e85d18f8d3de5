//! Reminders: messages that no change causes, only the passing of time. [`enqueue_due`] is run
//! periodically (by the outbox worker of each server, or `lms mail remind`) and queues what is
//! due at `now`:
//!
//! - to each confirmed trainee of a published session, a reminder seven days (J-7) and one day
//!   (J-1) before the first half-day, and again before each new period at another venue (a period
//!   is a run of consecutive half-days at one venue);
//! - to each trainer of a session, a reminder when a half-day ended more than
//!   [`COSIGN_GRACE_MINUTES`] ago and its sheet is still not co-signed.
//!
//! Every reminder carries a `dedupe_key`, so running the producer twice, or on two servers at
//! once, queues one message.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::render::{self, Signature};
use super::{MailError, MailKind, OutgoingMail, outbox};
use crate::attendance::ledger::EntryKind;
use crate::catalogue::{Slot, TrainingSessionStatus};
use crate::db::ids::{EnrolmentId, HalfDayId, TrainingSessionId, UserId, VenueId};
use crate::db::schema::{
    attendance_entries, communes, courses, enrolments, half_days, outbox_messages, session_trainers, training_sessions,
    users, venues,
};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::enrolment::EnrolmentStatus;
use crate::locale;

/// Minutes after the end of a half-day before its trainers are reminded to co-sign the sheet
/// (time to finish the sheet on the spot).
pub const COSIGN_GRACE_MINUTES: i64 = 30;

/// Days after the end of a half-day during which its trainers are reminded: older half-days are
/// left alone, so that the first run on old data does not flood anyone.
pub const COSIGN_LOOKBACK_DAYS: i64 = 7;

/// Days before a period's first half-day when the first reminder is due.
const EARLY_DAYS: i64 = 7;

/// Which reminder a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Before {
    /// Seven days before (or later if missed, until the day before).
    Week,
    /// The day before (or the day itself until the half-day starts).
    Day,
}

impl Before {
    fn key(self) -> &'static str {
        match self {
            Before::Week => "j7",
            Before::Day => "j1",
        }
    }
}

/// What one run of [`enqueue_due`] queued.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReminderReport {
    /// Trainee reminders seven days before a period.
    pub trainee_week_before: u32,
    /// Trainee reminders the day before a period.
    pub trainee_day_before: u32,
    /// Trainer reminders for a sheet not co-signed.
    pub trainer_cosign: u32,
}

impl ReminderReport {
    /// Messages queued in all.
    pub fn total(&self) -> u32 {
        self.trainee_week_before + self.trainee_day_before + self.trainer_cosign
    }
}

/// A half-day of a session to remind about (row type; fields in the order selected).
#[derive(Queryable)]
struct PlannedRow {
    id: HalfDayId,
    session: TrainingSessionId,
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    venue_id: VenueId,
    venue_name: String,
    address: Option<String>,
    postcode: Option<String>,
    commune: String,
    access_note: Option<String>,
    course: String,
    reference: String,
}

/// A confirmed trainee of a session (row type).
#[derive(Queryable)]
struct TraineeRow {
    enrolment: EnrolmentId,
    session: TrainingSessionId,
    email: String,
    name: String,
}

/// A half-day awaiting its co-signature (row type).
#[derive(Queryable)]
struct UnsignedRow {
    id: HalfDayId,
    session: TrainingSessionId,
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    course: String,
    reference: String,
}

/// A trainer of a session (row type).
#[derive(Queryable)]
struct TrainerRow {
    session: TrainingSessionId,
    trainer: UserId,
    email: String,
    name: String,
}

#[derive(Debug, Serialize)]
struct HalfDayData {
    date: String,
    slot: &'static str,
    start: String,
    end: String,
}

impl HalfDayData {
    fn new(day: NaiveDate, slot: Slot, starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> Self {
        HalfDayData {
            date: locale::date_fr(day),
            slot: slot.label_fr_lower(),
            start: locale::time_fr(starts_at),
            end: locale::time_fr(ends_at),
        }
    }
}

/// What a trainee reminder states.
#[derive(Debug, Serialize)]
struct TraineeData {
    course: String,
    reference: String,
    /// `true` the day before, `false` a week before.
    tomorrow: bool,
    /// `true` when the period is not the session's first one (another venue).
    new_venue: bool,
    first: HalfDayData,
    half_days: Vec<HalfDayData>,
    venue: String,
    address: String,
    access_note: Option<String>,
}

/// What a trainer reminder states.
#[derive(Debug, Serialize)]
struct CosignData {
    course: String,
    reference: String,
    half_day: HalfDayData,
    sheet_path: String,
}

/// A period: consecutive half-days of one session at one venue.
struct Period<'a> {
    first_of_session: bool,
    half_days: Vec<&'a PlannedRow>,
}

/// Splits a session's half-days (ordered by start) into periods by venue.
fn periods(rows: &[PlannedRow]) -> Vec<Period<'_>> {
    let mut out: Vec<Period<'_>> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some(period) if period.half_days.last().is_some_and(|last| last.venue_id == row.venue_id) => {
                period.half_days.push(row);
            }
            _ => out.push(Period { first_of_session: out.is_empty(), half_days: vec![row] }),
        }
    }
    out
}

/// Which reminder is due at `now` for a period starting at `starts_at`: the week-before one from
/// the seventh day before (Paris calendar) until two days before, the day-before one from the day
/// before until the half-day starts. A week-before reminder missed until the day before is not
/// sent: the day-before one says the same. Nothing once the half-day has started.
fn due(starts_at: NaiveDateTime, now: NaiveDateTime) -> Option<Before> {
    if now >= starts_at {
        return None;
    }
    let start_day = locale::to_paris(starts_at).date();
    let today = locale::to_paris(now).date();
    let days_before = (start_day - today).num_days();
    if days_before <= 1 {
        Some(Before::Day)
    } else if days_before <= EARLY_DAYS {
        Some(Before::Week)
    } else {
        None
    }
}

/// Queues every reminder due at `now`, once each (see the module's text). One write
/// transaction; a bounded number of queries whatever the number of sessions.
pub fn enqueue_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<ReminderReport, MailError> {
    db::write_transaction(conn, |conn| {
        let identity = OrganisationIdentity::load(conn)?;
        let signature = Signature::from_identity(&identity);
        let mut report = ReminderReport::default();
        let mut pending: Vec<(OutgoingMail, MailKind, Option<Before>)> = Vec::new();
        trainee_reminders(conn, now, &identity, &signature, &mut pending)?;
        cosign_reminders(conn, now, &identity, &signature, &mut pending)?;
        for (mail, kind, before) in pending {
            if outbox::enqueue(conn, &mail, now)?.is_some() {
                match (kind, before) {
                    (MailKind::ReminderCosign, _) => report.trainer_cosign += 1,
                    (_, Some(Before::Week)) => report.trainee_week_before += 1,
                    _ => report.trainee_day_before += 1,
                }
            }
        }
        Ok(report)
    })
}

/// The keys among `keys` already in the outbox (one query), so that a message is rendered only
/// when it will be queued.
fn existing_keys(conn: &mut DbConn, keys: &[String]) -> Result<HashSet<String>, DbError> {
    let mut found = HashSet::new();
    // Bounded chunks keep the parameter count under SQLite's and PostgreSQL's limits.
    for chunk in keys.chunks(500) {
        let rows: Vec<Option<String>> = outbox_messages::table
            .filter(outbox_messages::dedupe_key.eq_any(chunk))
            .select(outbox_messages::dedupe_key)
            .load(conn)
            .map_err(DbError::from)?;
        found.extend(rows.into_iter().flatten());
    }
    Ok(found)
}

fn trainee_reminders(
    conn: &mut DbConn,
    now: NaiveDateTime,
    identity: &OrganisationIdentity,
    signature: &Signature,
    pending: &mut Vec<(OutgoingMail, MailKind, Option<Before>)>,
) -> Result<(), MailError> {
    // Sessions with a half-day starting within the reminder window; all their half-days are read,
    // since a period's start depends on the half-day before it.
    let horizon = now + Duration::days(EARLY_DAYS + 2);
    let soon: Vec<TrainingSessionId> = half_days::table
        .filter(half_days::starts_at.gt(now))
        .filter(half_days::starts_at.le(horizon))
        .select(half_days::training_session_id)
        .distinct()
        .load(conn)
        .map_err(DbError::from)?;
    if soon.is_empty() {
        return Ok(());
    }
    let rows: Vec<PlannedRow> = half_days::table
        .inner_join(training_sessions::table.inner_join(courses::table))
        .inner_join(venues::table.inner_join(communes::table))
        .filter(training_sessions::status.eq(TrainingSessionStatus::Published))
        .filter(half_days::training_session_id.eq_any(soon))
        .order((half_days::training_session_id.asc(), half_days::starts_at.asc()))
        .select((
            half_days::id,
            half_days::training_session_id,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            venues::id,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            venues::accessibility_note,
            courses::title,
            training_sessions::reference,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    if rows.is_empty() {
        return Ok(());
    }
    // Rows come ordered by session, then start: each run of one session is its schedule.
    let schedules: Vec<&[PlannedRow]> = rows.chunk_by(|a, b| a.session == b.session).collect();
    let sessions: Vec<&TrainingSessionId> =
        schedules.iter().filter_map(|schedule| schedule.first().map(|row| &row.session)).collect();
    let trainees: Vec<TraineeRow> = enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq_any(sessions.clone()))
        .filter(enrolments::status.eq(EnrolmentStatus::Confirmed))
        .order((enrolments::training_session_id.asc(), users::display_name.asc()))
        .select((enrolments::id, enrolments::training_session_id, users::email, users::display_name))
        .load(conn)
        .map_err(DbError::from)?;
    let mut trainees_of: HashMap<&TrainingSessionId, Vec<&TraineeRow>> = HashMap::new();
    for trainee in &trainees {
        trainees_of.entry(&trainee.session).or_default().push(trainee);
    }

    // Every (trainee, period) due, with its key; then one look-up of the keys already queued.
    let mut candidates: Vec<(String, Before, &Period<'_>, &TraineeRow)> = Vec::new();
    let all_periods: Vec<(&TrainingSessionId, Vec<Period<'_>>)> =
        schedules.iter().zip(&sessions).map(|(schedule, session)| (*session, periods(schedule))).collect();
    for (session, session_periods) in &all_periods {
        let Some(people) = trainees_of.get(*session) else { continue };
        for period in session_periods {
            let Some(first) = period.half_days.first() else { continue };
            let Some(before) = due(first.starts_at, now) else { continue };
            for trainee in people {
                let key = format!("reminder:{}:{}:{}", before.key(), trainee.enrolment, first.id);
                candidates.push((key, before, period, trainee));
            }
        }
    }
    let keys: Vec<String> = candidates.iter().map(|(key, ..)| key.clone()).collect();
    let existing = existing_keys(conn, &keys)?;
    for (key, before, period, trainee) in candidates {
        if existing.contains(&key) {
            continue;
        }
        let Some(first) = period.half_days.first() else { continue };
        let address = crate::venues::VenueAddress {
            street: first.address.as_deref(),
            postcode: first.postcode.as_deref(),
            commune: &first.commune,
        }
        .one_line();
        let data = TraineeData {
            course: first.course.clone(),
            reference: first.reference.clone(),
            tomorrow: before == Before::Day,
            new_venue: !period.first_of_session,
            first: HalfDayData::new(first.day, first.slot, first.starts_at, first.ends_at),
            half_days: period
                .half_days
                .iter()
                .map(|h| HalfDayData::new(h.day, h.slot, h.starts_at, h.ends_at))
                .collect(),
            venue: format!("{} ({})", first.venue_name, first.commune),
            address,
            access_note: first.access_note.clone(),
        };
        let when = match before {
            Before::Day => "demain",
            Before::Week => "dans une semaine",
        };
        let subject = format!("Rappel : « {} » {when}, {}", first.course, locale::date_fr(first.day));
        let mail =
            build(MailKind::ReminderTrainee, &trainee.email, &trainee.name, subject, key, identity, signature, &data)?;
        pending.push((mail, MailKind::ReminderTrainee, Some(before)));
    }
    Ok(())
}

fn cosign_reminders(
    conn: &mut DbConn,
    now: NaiveDateTime,
    identity: &OrganisationIdentity,
    signature: &Signature,
    pending: &mut Vec<(OutgoingMail, MailKind, Option<Before>)>,
) -> Result<(), MailError> {
    let ended_before = now - Duration::minutes(COSIGN_GRACE_MINUTES);
    let not_older_than = now - Duration::days(COSIGN_LOOKBACK_DAYS);
    let cosigned = attendance_entries::table
        .filter(attendance_entries::kind.eq(EntryKind::TrainerCosign))
        .select(attendance_entries::half_day_id);
    let rows: Vec<UnsignedRow> = half_days::table
        .inner_join(training_sessions::table.inner_join(courses::table))
        .filter(training_sessions::status.ne(TrainingSessionStatus::Cancelled))
        .filter(training_sessions::status.ne(TrainingSessionStatus::Draft))
        .filter(half_days::ends_at.le(ended_before))
        .filter(half_days::ends_at.gt(not_older_than))
        .filter(half_days::id.ne_all(cosigned))
        .order(half_days::starts_at.asc())
        .select((
            half_days::id,
            half_days::training_session_id,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            courses::title,
            training_sessions::reference,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    if rows.is_empty() {
        return Ok(());
    }
    let sessions: Vec<&TrainingSessionId> = rows.iter().map(|r| &r.session).collect();
    let trainers: Vec<TrainerRow> = session_trainers::table
        .inner_join(users::table)
        .filter(session_trainers::training_session_id.eq_any(sessions))
        .order(users::display_name.asc())
        .select((
            session_trainers::training_session_id,
            session_trainers::trainer_id,
            users::email,
            users::display_name,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut candidates: Vec<(String, &UnsignedRow, &TrainerRow)> = Vec::new();
    for row in &rows {
        for trainer in trainers.iter().filter(|t| t.session == row.session) {
            candidates.push((format!("reminder:cosign:{}:{}", row.id, trainer.trainer), row, trainer));
        }
    }
    let keys: Vec<String> = candidates.iter().map(|(key, ..)| key.clone()).collect();
    let existing = existing_keys(conn, &keys)?;
    for (key, row, trainer) in candidates {
        if existing.contains(&key) {
            continue;
        }
        let data = CosignData {
            course: row.course.clone(),
            reference: row.reference.clone(),
            half_day: HalfDayData::new(row.day, row.slot, row.starts_at, row.ends_at),
            sheet_path: format!("/trainer/sessions/{}/half-days/{}", row.session, row.id),
        };
        let subject = format!("À contresigner : feuille du {} ({})", locale::date_fr(row.day), row.reference);
        let mail =
            build(MailKind::ReminderCosign, &trainer.email, &trainer.name, subject, key, identity, signature, &data)?;
        pending.push((mail, MailKind::ReminderCosign, None));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn build(
    kind: MailKind,
    email: &str,
    name: &str,
    subject: String,
    key: String,
    identity: &OrganisationIdentity,
    signature: &Signature,
    data: &impl Serialize,
) -> Result<OutgoingMail, MailError> {
    let rendered = render::render(kind, name, signature, data)?;
    Ok(OutgoingMail {
        kind,
        to_email: email.to_owned(),
        to_name: name.to_owned(),
        sender_name: signature.name.clone(),
        reply_to: identity.email.clone(),
        subject,
        text_body: rendered.text,
        html_body: rendered.html,
        attachments: Vec::new(),
        dedupe_key: Some(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap_or_default()
    }

    #[test]
    fn due_follows_paris_calendar_days() {
        // 2027-01-12 09:00 Paris is 08:00 UTC.
        let start = at("2027-01-12 08:00");
        assert_eq!(due(start, at("2027-01-04 22:59")), None);
        // 2027-01-05 00:00 Paris is 2027-01-04 23:00 UTC: the seventh day before.
        assert_eq!(due(start, at("2027-01-04 23:00")), Some(Before::Week));
        assert_eq!(due(start, at("2027-01-10 12:00")), Some(Before::Week));
        assert_eq!(due(start, at("2027-01-11 06:00")), Some(Before::Day));
        assert_eq!(due(start, at("2027-01-12 07:59")), Some(Before::Day));
        assert_eq!(due(start, at("2027-01-12 08:00")), None);
    }
}
