//! Changes to a training session once it is planned, and often published: moving one half-day
//! (date, slot, hours or venue) with a reason kept in its history, adding or removing a trainer,
//! changing the capacity.
//!
//! Each change is one write transaction that takes the session's row lock first, checks everything
//! (a refusal writes nothing), then writes the change and a notification to each person concerned
//! (the e-mails follow the notifications). A moved half-day keeps its id and raises its
//! `sequence`, the iCalendar SEQUENCE calendars rely on to replace the event they hold.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{
    CatalogueError, MAX_CAPACITY, Slot, TrainingSessionStatus, TrainingSessionView, check_hours, find_training_session,
    non_working_reason, paris_to_utc, trainee_conflict, trainer_conflict, trainers_of, venue_region,
};
use crate::db::ids::{HalfDayChangeId, HalfDayId, TrainingSessionId, UserId, VenueId};
use crate::db::schema::{
    attendance_entries, enrolments, half_day_changes, half_days, session_trainers, training_sessions, users, venues,
};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::enrolment::{EnrolmentError, EnrolmentStatus};
use crate::mail::messages::{self, session_changed};
use crate::notifications::SessionNews;
use crate::people::Role;
use crate::rights::Actor;
use crate::{Classify, ErrorKind};

/// Shortest reason for moving a half-day, in characters (trimmed).
pub const MIN_CHANGE_REASON_CHARS: usize = 3;
/// Longest reason for moving a half-day, in characters (trimmed).
pub const MAX_CHANGE_REASON_CHARS: usize = 500;

/// Errors of the changes to a session.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Only an administrator (or the console) changes a session.
    #[error("seul un administrateur peut modifier une session")]
    Forbidden,
    /// The half-day named is not one of the session's.
    #[error("demi-journée inconnue dans cette session : « {0} » (voir `lms session show`)")]
    UnknownHalfDay(String),
    /// The half-day already has attendance recorded: moving it would falsify the sheet.
    #[error("la demi-journée du {date} ({slot}) a déjà des émargements : elle ne peut plus être déplacée")]
    HalfDayHasAttendance {
        /// Its date.
        date: NaiveDate,
        /// Its slot, in French.
        slot: &'static str,
    },
    /// The person named is already a trainer of the session.
    #[error("« {0} » anime déjà cette session")]
    AlreadyTrainer(String),
    /// The person exists but does not hold the trainer role.
    #[error("« {0} » n'a pas le rôle formateur (ajoutez-le avec `lms user add-role --role trainer`)")]
    NotTrainerRole(String),
    /// The person is not among the session's trainers.
    #[error("« {0} » n'anime pas cette session")]
    NotSessionTrainer(String),
    /// A published session keeps at least one trainer.
    #[error("« {0} » est le dernier formateur de cette session publiée : ajoutez-en un autre d'abord")]
    LastTrainer(String),
    /// The capacity asked is below the seats already confirmed.
    #[error("capacité {capacity} inférieure aux {confirmed} inscriptions confirmées")]
    CapacityBelowConfirmed {
        /// Capacity asked.
        capacity: i32,
        /// Seats confirmed.
        confirmed: i32,
    },
    /// A catalogue refusal (unknown session, venue or trainer, bad hours, holiday, conflict…).
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    /// A refusal of the promotion from the waitlist.
    #[error(transparent)]
    Enrolment(#[from] EnrolmentError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for ChangeError {
    fn kind(&self) -> ErrorKind {
        match self {
            ChangeError::Forbidden => ErrorKind::Forbidden,
            ChangeError::UnknownHalfDay(_) => ErrorKind::NotFound,
            ChangeError::HalfDayHasAttendance { .. }
            | ChangeError::AlreadyTrainer(_)
            | ChangeError::LastTrainer(_)
            | ChangeError::CapacityBelowConfirmed { .. } => ErrorKind::Conflict,
            ChangeError::NotTrainerRole(_) | ChangeError::NotSessionTrainer(_) => ErrorKind::Invalid,
            ChangeError::Catalogue(e) => e.kind(),
            ChangeError::Enrolment(e) => e.kind(),
            ChangeError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            ChangeError::Forbidden => "forbidden",
            ChangeError::UnknownHalfDay(_) => "unknown_half_day",
            ChangeError::HalfDayHasAttendance { .. } => "half_day_has_attendance",
            ChangeError::AlreadyTrainer(_) => "already_trainer",
            ChangeError::NotTrainerRole(_) => "not_a_trainer",
            ChangeError::NotSessionTrainer(_) => "not_session_trainer",
            ChangeError::LastTrainer(_) => "last_trainer",
            ChangeError::CapacityBelowConfirmed { .. } => "capacity_below_confirmed",
            ChangeError::Catalogue(e) => e.code(),
            ChangeError::Enrolment(e) => e.code(),
            ChangeError::Db(e) => e.code(),
        }
    }
}

/// Which half-day of a session: its id (as `lms session show --json` lists it) or its date and slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HalfDayRef {
    /// By id.
    Id(HalfDayId),
    /// By local date and slot.
    At(NaiveDate, Slot),
}

impl HalfDayRef {
    /// Reads an id, or `AAAA-MM-JJ:morning|afternoon`.
    pub fn parse(raw: &str) -> Result<Self, ChangeError> {
        let raw = raw.trim();
        let unknown = || ChangeError::UnknownHalfDay(raw.chars().take(60).collect());
        if let Some((date, slot)) = raw.split_once(':') {
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| unknown())?;
            let slot = Slot::from_stored(slot).map_err(|_| unknown())?;
            return Ok(HalfDayRef::At(date, slot));
        }
        raw.parse().map(HalfDayRef::Id).map_err(|_| unknown())
    }
}

/// What changes in a half-day; what is absent stays. A new slot without hours takes that slot's
/// usual hours (9:00–12:30, 13:30–17:00).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HalfDayChange {
    /// New local date.
    pub date: Option<NaiveDate>,
    /// New slot.
    pub slot: Option<Slot>,
    /// New local start and end.
    pub hours: Option<(NaiveTime, NaiveTime)>,
    /// New venue, by slug.
    pub venue_slug: Option<String>,
}

impl HalfDayChange {
    fn is_empty(&self) -> bool {
        self.date.is_none() && self.slot.is_none() && self.hours.is_none() && self.venue_slug.is_none()
    }
}

/// Where and when a half-day is held, as its history shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HalfDayPlacing {
    /// Local date.
    pub date: NaiveDate,
    /// Morning or afternoon.
    pub slot: Slot,
    /// Start, Paris time (`HH:MM`).
    pub start: String,
    /// End, Paris time (`HH:MM`).
    pub end: String,
    /// Venue slug.
    pub venue: String,
}

/// One move of a half-day, as `lms session show` lists it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HalfDayChangeView {
    /// Identifier of the history row.
    pub id: HalfDayChangeId,
    /// The half-day moved.
    pub half_day: HalfDayId,
    /// When (UTC).
    pub changed_at: NaiveDateTime,
    /// Who, by e-mail; `None` for the console.
    pub changed_by: Option<String>,
    /// Why.
    pub reason: String,
    /// Before the change.
    pub before: HalfDayPlacing,
    /// After the change.
    pub after: HalfDayPlacing,
}

/// A history row with its author (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = half_day_changes)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ChangeRow {
    id: HalfDayChangeId,
    half_day_id: HalfDayId,
    changed_at: NaiveDateTime,
    reason: String,
    before_day: NaiveDate,
    before_slot: Slot,
    before_starts_at: NaiveDateTime,
    before_ends_at: NaiveDateTime,
    before_venue_id: VenueId,
    after_day: NaiveDate,
    after_slot: Slot,
    after_starts_at: NaiveDateTime,
    after_ends_at: NaiveDateTime,
    after_venue_id: VenueId,
    #[diesel(select_expression = users::email.nullable())]
    changed_by: Option<String>,
}

fn paris_hm(utc: NaiveDateTime) -> String {
    crate::locale::to_paris(utc).format("%H:%M").to_string()
}

/// The history of a session's half-days, oldest change first (two queries, whatever its length).
pub fn half_day_changes_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
) -> Result<Vec<HalfDayChangeView>, CatalogueError> {
    let rows: Vec<ChangeRow> = half_day_changes::table
        .left_join(users::table)
        .filter(half_day_changes::training_session_id.eq(session))
        .order((half_day_changes::changed_at.asc(), half_day_changes::id.asc()))
        .select(ChangeRow::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<&VenueId> = rows.iter().flat_map(|r| [&r.before_venue_id, &r.after_venue_id]).collect();
    ids.sort();
    ids.dedup();
    let slugs: std::collections::HashMap<VenueId, String> = venues::table
        .filter(venues::id.eq_any(ids))
        .select((venues::id, venues::slug))
        .load::<(VenueId, String)>(conn)
        .map_err(DbError::from)?
        .into_iter()
        .collect();
    let slug = |id: &VenueId| slugs.get(id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|r| HalfDayChangeView {
            before: HalfDayPlacing {
                date: r.before_day,
                slot: r.before_slot,
                start: paris_hm(r.before_starts_at),
                end: paris_hm(r.before_ends_at),
                venue: slug(&r.before_venue_id),
            },
            after: HalfDayPlacing {
                date: r.after_day,
                slot: r.after_slot,
                start: paris_hm(r.after_starts_at),
                end: paris_hm(r.after_ends_at),
                venue: slug(&r.after_venue_id),
            },
            id: r.id,
            half_day: r.half_day_id,
            changed_at: r.changed_at,
            changed_by: r.changed_by,
            reason: r.reason,
        })
        .collect())
}

/// Who acts, as the history records it: an administrator, or the console (`None`).
fn ensure_admin(actor: Actor<'_>) -> Result<Option<UserId>, ChangeError> {
    if actor.is_office() { Ok(actor.person().cloned()) } else { Err(ChangeError::Forbidden) }
}

/// Locks the session and checks it may still change (not cancelled, not over).
fn lock_changeable(conn: &mut DbConn, session: &TrainingSessionId) -> Result<TrainingSessionStatus, ChangeError> {
    db::lock_row_for_update(conn, LockableTable::TrainingSessions, session.as_str())?;
    let status: TrainingSessionStatus = training_sessions::table
        .find(session)
        .select(training_sessions::status)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| CatalogueError::UnknownTrainingSession(session.to_string()))?;
    match status {
        TrainingSessionStatus::Draft | TrainingSessionStatus::Published => Ok(status),
        other => Err(CatalogueError::WrongStatus(format!(
            "une session au statut « {} » ne se modifie plus",
            other.label_fr()
        ))
        .into()),
    }
}

/// A half-day as stored (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = half_days)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct StoredHalfDay {
    id: HalfDayId,
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    venue_id: VenueId,
}

fn notify(
    conn: &mut DbConn,
    people: &[UserId],
    news: &SessionNews<'_>,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    crate::notifications::notify_about_session(conn, people, news, session, now)
}

/// Checks and trims a reason for a change.
fn checked_reason(reason: &str) -> Result<&str, ChangeError> {
    let reason = reason.trim();
    let length = reason.chars().count();
    if !(MIN_CHANGE_REASON_CHARS..=MAX_CHANGE_REASON_CHARS).contains(&length) {
        return Err(CatalogueError::Invalid(format!(
            "motif requis : {MIN_CHANGE_REASON_CHARS} à {MAX_CHANGE_REASON_CHARS} caractères (ici {length})"
        ))
        .into());
    }
    if let Some(problem) = crate::text::control_character_problem(reason) {
        return Err(CatalogueError::Invalid(format!("motif : {problem}")).into());
    }
    Ok(reason)
}

/// Moves one half-day of `session` (its date, slot, hours or venue), in one write transaction.
///
/// Refused, with nothing written: an actor who is not an administrator; a reason that is not 3 to
/// 500 characters once trimmed; no change asked, or one that changes nothing; a cancelled or
/// completed session; an unknown half-day; a half-day that already has attendance
/// (`half_day_has_attendance`); an unknown venue; hours outside the slot or an end before the
/// start; a weekend or public holiday of the venue's calendar; a start that is not in the future;
/// a clash with another half-day of the session; a trainer or a confirmed trainee busy elsewhere
/// at the new time (409 `schedule_conflict`, naming the other session).
///
/// Then the half-day changes and its `sequence` goes up by one, the session's first and last days
/// and main venue (the one with the most half-days, the earliest on a tie) follow, the change is
/// kept in the history, and each confirmed or waitlisted trainee and each trainer is notified.
pub fn reschedule_half_day(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    half_day: &HalfDayRef,
    change: &HalfDayChange,
    reason: &str,
    now: NaiveDateTime,
) -> Result<HalfDayChangeView, ChangeError> {
    let changed_by = ensure_admin(actor)?;
    let reason = checked_reason(reason)?;
    if change.is_empty() {
        return Err(CatalogueError::Invalid(
            "rien à changer : indiquez --date, --slot, --start et --end, ou --venue".into(),
        )
        .into());
    }
    let change_id = db::write_transaction(conn, |conn| -> Result<HalfDayChangeId, ChangeError> {
        lock_changeable(conn, session)?;
        let mine: Vec<StoredHalfDay> = half_days::table
            .filter(half_days::training_session_id.eq(session))
            .order(half_days::starts_at.asc())
            .select(StoredHalfDay::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        let old = mine
            .iter()
            .find(|h| match half_day {
                HalfDayRef::Id(id) => h.id == *id,
                HalfDayRef::At(date, slot) => h.day == *date && h.slot == *slot,
            })
            .cloned()
            .ok_or_else(|| {
                ChangeError::UnknownHalfDay(match half_day {
                    HalfDayRef::Id(id) => id.to_string(),
                    HalfDayRef::At(date, slot) => format!("{date}:{}", slot.as_str()),
                })
            })?;
        let has_attendance: bool = diesel::select(diesel::dsl::exists(
            attendance_entries::table.filter(attendance_entries::half_day_id.eq(&old.id)),
        ))
        .get_result(conn)
        .map_err(DbError::from)?;
        if has_attendance {
            return Err(ChangeError::HalfDayHasAttendance { date: old.day, slot: old.slot.label_fr_lower() });
        }

        let date = change.date.unwrap_or(old.day);
        let slot = change.slot.unwrap_or(old.slot);
        let (start, end) = match change.hours {
            Some(hours) => hours,
            None if slot != old.slot => slot.default_hours(),
            None => (crate::locale::to_paris(old.starts_at).time(), crate::locale::to_paris(old.ends_at).time()),
        };
        check_hours(slot, start, end)?;
        let venue = match &change.venue_slug {
            Some(slug) => crate::venues::venue_id_by_slug(conn, slug.trim())?
                .ok_or_else(|| CatalogueError::UnknownVenue(slug.chars().take(80).collect()))?,
            None => old.venue_id.clone(),
        };
        if let Some(reason) = non_working_reason(date, venue_region(conn, &venue)?) {
            return Err(CatalogueError::NonWorkingDay { date, reason }.into());
        }
        let starts_at = paris_to_utc(date, start)?;
        let ends_at = paris_to_utc(date, end)?;
        if starts_at <= now {
            return Err(CatalogueError::BadSchedule(format!(
                "le {date} ({}) est passé : une demi-journée se déplace dans le futur",
                slot.label_fr_lower()
            ))
            .into());
        }
        if date == old.day
            && slot == old.slot
            && starts_at == old.starts_at
            && ends_at == old.ends_at
            && venue == old.venue_id
        {
            return Err(CatalogueError::Invalid("rien à changer : la demi-journée est déjà ainsi".into()).into());
        }
        for other in mine.iter().filter(|h| h.id != old.id) {
            if other.day == date && other.slot == slot {
                return Err(CatalogueError::BadSchedule(format!(
                    "la session a déjà une demi-journée le {date} ({})",
                    slot.label_fr_lower()
                ))
                .into());
            }
            if other.starts_at < ends_at && starts_at < other.ends_at {
                return Err(CatalogueError::BadSchedule(format!(
                    "le {date} de {} à {} chevauche la demi-journée du {} ({}) de la session",
                    start.format("%H:%M"),
                    end.format("%H:%M"),
                    other.day,
                    other.slot.label_fr_lower()
                ))
                .into());
            }
        }

        diesel::update(half_days::table.find(&old.id))
            .set((
                half_days::day.eq(date),
                half_days::slot.eq(slot),
                half_days::starts_at.eq(starts_at),
                half_days::ends_at.eq(ends_at),
                half_days::minutes.eq(i32::try_from((ends_at - starts_at).num_minutes()).unwrap_or(0)),
                half_days::venue_id.eq(&venue),
                half_days::sequence.eq(half_days::sequence + 1),
            ))
            .execute(conn)
            .map_err(DbError::from)?;

        // Checked once the half-day has moved: a refusal rolls it back.
        let trainers = trainers_of(conn, session)?;
        for trainer in &trainers {
            if let Some(conflict) = trainer_conflict(conn, trainer, session)? {
                return Err(CatalogueError::from(conflict).into());
            }
        }
        let concerned: Vec<(UserId, EnrolmentStatus)> = enrolments::table
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::status.eq_any([EnrolmentStatus::Confirmed, EnrolmentStatus::Waitlisted]))
            .select((enrolments::trainee_id, enrolments::status))
            .load(conn)
            .map_err(DbError::from)?;
        for (trainee, status) in &concerned {
            if *status == EnrolmentStatus::Confirmed
                && let Some(conflict) = trainee_conflict(conn, trainee, session)?
            {
                return Err(CatalogueError::from(conflict).into());
            }
        }

        follow_schedule(conn, session, old.starts_at, now)?;

        let id = HalfDayChangeId::generate();
        diesel::insert_into(half_day_changes::table)
            .values((
                half_day_changes::id.eq(&id),
                half_day_changes::half_day_id.eq(&old.id),
                half_day_changes::training_session_id.eq(session),
                half_day_changes::changed_at.eq(now),
                half_day_changes::changed_by.eq(&changed_by),
                half_day_changes::reason.eq(reason),
                half_day_changes::before_day.eq(old.day),
                half_day_changes::before_slot.eq(old.slot),
                half_day_changes::before_starts_at.eq(old.starts_at),
                half_day_changes::before_ends_at.eq(old.ends_at),
                half_day_changes::before_venue_id.eq(&old.venue_id),
                half_day_changes::after_day.eq(date),
                half_day_changes::after_slot.eq(slot),
                half_day_changes::after_starts_at.eq(starts_at),
                half_day_changes::after_ends_at.eq(ends_at),
                half_day_changes::after_venue_id.eq(&venue),
            ))
            .execute(conn)
            .map_err(DbError::from)?;

        let venue_name: String = venues::table.find(&venue).select(venues::name).first(conn).map_err(DbError::from)?;
        let news = SessionNews::HalfDayMoved {
            before: (old.day, old.slot),
            after: (date, slot, start, end),
            venue_name: &venue_name,
            reason,
        };
        let concerned_mail = concerned.clone();
        let trainers_mail = trainers.clone();
        let mut told: Vec<UserId> = concerned.into_iter().map(|(user, _)| user).chain(trainers).collect();
        told.sort();
        told.dedup();
        notify(conn, &told, &news, session, now)?;
        // « Changement de planning »: trainees holding a seat get the updated invitation (same
        // UIDs, the moved half-day's SEQUENCE raised above), trainers the message alone.
        let before =
            messages::HalfDayAt { slot: old.slot, starts_at: old.starts_at, ends_at: old.ends_at, venue: old.venue_id };
        let after = messages::HalfDayAt { slot, starts_at, ends_at, venue: venue.clone() };
        for (trainee, status) in &concerned_mail {
            if *status == EnrolmentStatus::Confirmed {
                let mail = session_changed(conn, session, trainee, &before, &after, reason, true, now)?;
                crate::mail::outbox::enqueue(conn, &mail, now)?;
            }
        }
        for trainer in &trainers_mail {
            let mail = session_changed(conn, session, trainer, &before, &after, reason, false, now)?;
            crate::mail::outbox::enqueue(conn, &mail, now)?;
        }
        Ok(id)
    })?;
    half_day_changes_of(conn, session)?
        .into_iter()
        .find(|c| c.id == change_id)
        .ok_or_else(|| ChangeError::Db(DbError::Busy))
}

/// After a half-day moved: the session's first and last days, its main venue (most half-days,
/// the earliest on a tie) and, when enrolment closed at the first half-day, that closing time.
fn follow_schedule(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    old_start: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let schedule: Vec<(NaiveDate, NaiveDateTime, VenueId)> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select((half_days::day, half_days::starts_at, half_days::venue_id))
        .load(conn)?;
    let (Some(first), Some(last)) = (schedule.first(), schedule.iter().map(|h| h.0).max()) else {
        return Ok(());
    };
    let mut counts: Vec<(VenueId, usize)> = Vec::new();
    for (_, _, venue) in &schedule {
        match counts.iter_mut().find(|(v, _)| v == venue) {
            Some((_, n)) => *n += 1,
            None => counts.push((venue.clone(), 1)),
        }
    }
    // `max_by_key` keeps the last of equals: reversed, the earliest venue wins a tie.
    let main = counts.iter().rev().max_by_key(|(_, n)| *n).map(|(v, _)| v.clone()).unwrap_or(first.2.clone());
    let closes_at: Option<Option<NaiveDateTime>> =
        training_sessions::table.find(session).select(training_sessions::enrolment_closes_at).first(conn).optional()?;
    let closes_at = match closes_at.flatten() {
        // Enrolment closed when the session began (or after its new start): it still closes then.
        Some(closes) if closes == old_start || closes > first.1 => Some(first.1),
        other => other,
    };
    diesel::update(training_sessions::table.find(session))
        .set((
            training_sessions::starts_on.eq(first.0),
            training_sessions::ends_on.eq(last),
            training_sessions::main_venue_id.eq(main),
            training_sessions::enrolment_closes_at.eq(closes_at),
            training_sessions::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A trainer of a session.
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct SessionTrainer {
    /// E-mail.
    pub email: String,
    /// Display name.
    pub name: String,
}

/// A session's trainers after a change (`lms session trainers --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainersChange {
    /// The session.
    pub session: TrainingSessionId,
    /// Its reference.
    pub reference: String,
    /// The trainers now, by name.
    pub trainers: Vec<SessionTrainer>,
}

fn trainer_by_email(conn: &mut DbConn, email: &str) -> Result<UserId, ChangeError> {
    let shown: String = email.trim().chars().take(80).collect();
    let user =
        crate::people::user_id_by_email(conn, email)?.ok_or_else(|| CatalogueError::UnknownTrainer(shown.clone()))?;
    if !crate::people::has_role(conn, &user, Role::Trainer)? {
        return Err(ChangeError::NotTrainerRole(shown));
    }
    Ok(user)
}

fn trainers_change(conn: &mut DbConn, session: &TrainingSessionId) -> Result<TrainersChange, ChangeError> {
    let reference: String = training_sessions::table
        .find(session)
        .select(training_sessions::reference)
        .first(conn)
        .map_err(DbError::from)?;
    let trainers: Vec<SessionTrainer> = session_trainers::table
        .inner_join(users::table)
        .filter(session_trainers::training_session_id.eq(session))
        .order(users::display_name.asc())
        .select((users::email, users::display_name))
        .load(conn)
        .map_err(DbError::from)?;
    Ok(TrainersChange { session: session.clone(), reference, trainers })
}

/// Adds a trainer to a draft or published session, in one write transaction, and notifies them.
/// Refused, with nothing written: an actor who is not an administrator, a cancelled or completed
/// session, an unknown person (`unknown_trainer`), a person without the trainer role
/// (`not_a_trainer`), someone already a trainer of it (`already_trainer`), and a trainer teaching
/// another session at the same time (409 `schedule_conflict`, naming it).
pub fn add_trainer(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    email: &str,
    now: NaiveDateTime,
) -> Result<TrainersChange, ChangeError> {
    ensure_admin(actor)?;
    db::write_transaction(conn, |conn| {
        lock_changeable(conn, session)?;
        let trainer = trainer_by_email(conn, email)?;
        if crate::roster::is_listed_trainer(conn, &trainer, session)? {
            return Err(ChangeError::AlreadyTrainer(email.trim().chars().take(80).collect()));
        }
        diesel::insert_into(session_trainers::table)
            .values((session_trainers::training_session_id.eq(session), session_trainers::trainer_id.eq(&trainer)))
            .execute(conn)
            .map_err(DbError::from)?;
        if let Some(conflict) = trainer_conflict(conn, &trainer, session)? {
            return Err(CatalogueError::from(conflict).into());
        }
        notify(conn, &[trainer], &SessionNews::TrainerAssigned, session, now)?;
        trainers_change(conn, session)
    })
}

/// Takes a trainer off a draft or published session, in one write transaction, and notifies them.
/// Refused, with nothing written: an actor who is not an administrator, a cancelled or completed
/// session, an unknown person, someone who does not teach it (`not_session_trainer`), and the last
/// trainer of a published session (`last_trainer`).
pub fn remove_trainer(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    email: &str,
    now: NaiveDateTime,
) -> Result<TrainersChange, ChangeError> {
    ensure_admin(actor)?;
    db::write_transaction(conn, |conn| {
        let status = lock_changeable(conn, session)?;
        let shown: String = email.trim().chars().take(80).collect();
        let trainer = crate::people::user_id_by_email(conn, email)?
            .ok_or_else(|| CatalogueError::UnknownTrainer(shown.clone()))?;
        if !crate::roster::is_listed_trainer(conn, &trainer, session)? {
            return Err(ChangeError::NotSessionTrainer(shown));
        }
        if status == TrainingSessionStatus::Published && trainers_of(conn, session)?.len() <= 1 {
            return Err(ChangeError::LastTrainer(shown));
        }
        diesel::delete(
            session_trainers::table
                .filter(session_trainers::training_session_id.eq(session))
                .filter(session_trainers::trainer_id.eq(&trainer)),
        )
        .execute(conn)
        .map_err(DbError::from)?;
        notify(conn, &[trainer], &SessionNews::TrainerRemoved, session, now)?;
        trainers_change(conn, session)
    })
}

/// A session after its capacity changed (`lms session capacity --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CapacityChange {
    /// The session as listed, with its new capacity and counts.
    #[serde(flatten)]
    pub session: TrainingSessionView,
    /// The trainees promoted from the waitlist by a raise, by e-mail, in order.
    pub promoted: Vec<String>,
}

/// Sets the capacity of a draft or published session, in one write transaction. Refused, with
/// nothing written: an actor who is not an administrator, a capacity outside 1 to
/// [`MAX_CAPACITY`], a cancelled or completed session, and a capacity below the confirmed seats
/// (`capacity_below_confirmed`). A raise gives the new seats to the waitlist in order (the
/// enrolment module's promotion: each promoted trainee is notified).
pub fn change_capacity(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    capacity: i32,
    now: NaiveDateTime,
) -> Result<CapacityChange, ChangeError> {
    ensure_admin(actor)?;
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return Err(CatalogueError::Invalid(format!("capacité invalide : {capacity} (de 1 à {MAX_CAPACITY})")).into());
    }
    let promoted = db::write_transaction(conn, |conn| -> Result<Vec<UserId>, ChangeError> {
        lock_changeable(conn, session)?;
        let confirmed: i32 = training_sessions::table
            .find(session)
            .select(training_sessions::seats_taken)
            .first(conn)
            .map_err(DbError::from)?;
        if capacity < confirmed {
            return Err(ChangeError::CapacityBelowConfirmed { capacity, confirmed });
        }
        diesel::update(training_sessions::table.find(session))
            .set((training_sessions::capacity.eq(capacity), training_sessions::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(crate::enrolment::fill_free_seats(conn, session, now)?)
    })?;
    let emails: Vec<(UserId, String)> = users::table
        .filter(users::id.eq_any(&promoted))
        .select((users::id, users::email))
        .load(conn)
        .map_err(DbError::from)?;
    let promoted = promoted
        .iter()
        .filter_map(|id| emails.iter().find(|(user, _)| user == id).map(|(_, email)| email.clone()))
        .collect();
    Ok(CapacityChange { session: find_training_session(conn, session)?, promoted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_days_are_named_by_id_or_date_and_slot() {
        let at = HalfDayRef::parse("2027-03-04:afternoon").ok();
        let expected = NaiveDate::from_ymd_opt(2027, 3, 4).map(|d| HalfDayRef::At(d, Slot::Afternoon));
        assert_eq!(at, expected);
        assert!(matches!(HalfDayRef::parse("2027-03-04:soir"), Err(ChangeError::UnknownHalfDay(_))));
        assert!(matches!(HalfDayRef::parse("n'importe quoi"), Err(ChangeError::UnknownHalfDay(_))));
        let id = HalfDayId::generate();
        assert_eq!(HalfDayRef::parse(&id.to_string()).ok(), Some(HalfDayRef::Id(id)));
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(checked_reason("  Salle inondée ").ok(), Some("Salle inondée"));
        assert_eq!(checked_reason("  ok ").map_err(|e| e.code()).err(), Some("invalid_input"));
        assert!(checked_reason(&"x".repeat(501)).is_err());
    }
}
