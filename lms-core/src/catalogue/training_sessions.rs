//! Training sessions: dated cohorts of a course, their status and their schedule of half-days.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::Paris;
use diesel::prelude::*;

use crate::rights::Actor;
use serde::Serialize;

use super::{CatalogueError, CourseRow, CourseView, HolidayRegion, PlannedHalfDay, non_working_reason};
use crate::db::ids::{CourseId, HalfDayId, TrainingSessionId, UserId, VenueId};
use crate::db::schema::{communes, courses, enrolments, half_days, session_trainers, training_sessions, users, venues};
use crate::db::{self, DbConn, DbError};
use crate::people::Role;

/// Longest schedule accepted when creating a session (a certifying course is 20 days).
pub const MAX_SESSION_DAYS: u32 = 60;
/// Largest cohort accepted.
pub const MAX_CAPACITY: i32 = 500;

crate::text_enum! {
    /// Lifecycle of a training session.
    pub enum TrainingSessionStatus: "statut de session" {
        /// Being prepared; not visible to trainees.
        Draft = "draft", "Brouillon";
        /// Open to the public (enrolment follows its window).
        Published = "published", "Publiée";
        /// Called off.
        Cancelled = "cancelled", "Annulée";
        /// Over, with results recorded.
        Completed = "completed", "Terminée";
    }
}

impl TrainingSessionStatus {
    /// Parses the stored form.
    pub fn parse(raw: &str) -> Result<Self, CatalogueError> {
        Self::from_stored(raw).map_err(|e| CatalogueError::Invalid(e.to_string()))
    }

    /// The statuses of sessions shown to the public (published, or over).
    pub const PUBLIC: [TrainingSessionStatus; 2] = [TrainingSessionStatus::Published, TrainingSessionStatus::Completed];
}

crate::text_enum! {
    /// Morning or afternoon.
    pub enum Slot: "créneau" {
        /// Matin.
        Morning = "morning", "Matin";
        /// Après-midi.
        Afternoon = "afternoon", "Après-midi";
    }
}

impl Slot {
    /// The French label inside a sentence (« le 3 mars, matin »).
    pub fn label_fr_lower(self) -> &'static str {
        match self {
            Slot::Morning => "matin",
            Slot::Afternoon => "après-midi",
        }
    }

    /// Default local hours: 9:00–12:30 and 13:30–17:00, i.e. 7 hours a day.
    pub(crate) fn default_hours(self) -> (NaiveTime, NaiveTime) {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        match self {
            Slot::Morning => (t(9, 0), t(12, 30)),
            Slot::Afternoon => (t(13, 30), t(17, 0)),
        }
    }
}

/// One training day of a schedule being planned, and where it takes place.
#[derive(Debug, Clone)]
pub struct PlannedDay {
    /// Local date.
    pub date: NaiveDate,
    /// Venue slug.
    pub venue_slug: String,
}

/// Input of [`create_training_session`].
#[derive(Debug, Clone)]
pub struct NewTrainingSession {
    /// Course code.
    pub course_code: String,
    /// Training days; each gets a morning and an afternoon half-day.
    pub days: Vec<PlannedDay>,
    /// Seats.
    pub capacity: i32,
    /// Trainers by e-mail (they must have the trainer role).
    pub trainer_emails: Vec<String>,
    /// Publish at once.
    pub publish: bool,
    /// Human reference; generated when absent.
    pub reference: Option<String>,
}

/// `days` consecutive working days from `start` under the national calendar: Saturdays, Sundays
/// and French public holidays are skipped (see [`super::public_holiday`]), including at the start.
pub fn consecutive_weekdays(start: NaiveDate, days: u32) -> Result<Vec<NaiveDate>, CatalogueError> {
    consecutive_working_days(start, days, HolidayRegion::General)
}

/// `days` consecutive working days from `start` in `region`: weekends and the region's public
/// holidays are skipped, including at the start.
pub fn consecutive_working_days(
    start: NaiveDate,
    days: u32,
    region: HolidayRegion,
) -> Result<Vec<NaiveDate>, CatalogueError> {
    if days == 0 || days > MAX_SESSION_DAYS {
        return Err(CatalogueError::Invalid(format!("nombre de jours invalide : {days} (de 1 à {MAX_SESSION_DAYS})")));
    }
    let mut out = Vec::with_capacity(days as usize);
    let mut date = start;
    while out.len() < days as usize {
        if non_working_reason(date, region).is_none() {
            out.push(date);
        }
        date = date.succ_opt().ok_or_else(|| CatalogueError::Invalid("date hors limites".into()))?;
    }
    Ok(out)
}

/// Input of [`create_session_on_consecutive_days`]: the `--venue --start --days` form.
#[derive(Debug, Clone)]
pub struct NewConsecutiveSession {
    /// Course code.
    pub course_code: String,
    /// Venue slug.
    pub venue_slug: String,
    /// First day wished (moved to the next working day if it is not one).
    pub start: NaiveDate,
    /// Number of training days.
    pub days: u32,
    /// Seats.
    pub capacity: i32,
    /// Trainers by e-mail.
    pub trainer_emails: Vec<String>,
    /// Publish at once.
    pub publish: bool,
}

/// Creates a session of `days` working days at one venue (9:00–12:30 and 13:30–17:00), skipping
/// weekends and the public holidays of the venue's département. One transaction.
pub fn create_session_on_consecutive_days(
    conn: &mut DbConn,
    actor: Actor<'_>,
    new: &NewConsecutiveSession,
    now: NaiveDateTime,
) -> Result<TrainingSessionView, CatalogueError> {
    super::ensure_admin(actor)?;
    let id = db::write_transaction(conn, |conn| {
        let venue = crate::venues::venue_id_by_slug(conn, &new.venue_slug)?
            .ok_or_else(|| CatalogueError::UnknownVenue(new.venue_slug.chars().take(80).collect()))?;
        let region = venue_region(conn, &venue)?;
        let dates = consecutive_working_days(new.start, new.days, region)?;
        insert_training_session(
            conn,
            &NewTrainingSession {
                course_code: new.course_code.clone(),
                days: dates.into_iter().map(|date| PlannedDay { date, venue_slug: new.venue_slug.clone() }).collect(),
                capacity: new.capacity,
                trainer_emails: new.trainer_emails.clone(),
                publish: new.publish,
                reference: None,
            },
            now,
        )
    })?;
    find_training_session(conn, &id)
}

/// The holiday calendar of a venue, from its commune's département.
pub(crate) fn venue_region(conn: &mut DbConn, venue: &VenueId) -> Result<HolidayRegion, CatalogueError> {
    let departement: String = venues::table
        .inner_join(communes::table)
        .filter(venues::id.eq(venue))
        .select(communes::departement)
        .first(conn)
        .map_err(DbError::from)?;
    Ok(HolidayRegion::of_departement(&departement))
}

/// Today's date in Europe/Paris, the organisation's calendar.
pub fn paris_today() -> NaiveDate {
    chrono::Utc::now().with_timezone(&Paris).date_naive()
}

/// Converts a Paris wall-clock time to UTC (the first instant when ambiguous).
pub(crate) fn paris_to_utc(date: NaiveDate, time: NaiveTime) -> Result<NaiveDateTime, CatalogueError> {
    Paris
        .from_local_datetime(&date.and_time(time))
        .earliest()
        .map(|dt| dt.naive_utc())
        .ok_or_else(|| CatalogueError::Invalid(format!("heure inexistante à Paris : {date} {time}")))
}

/// Creates a training session with its schedule. One transaction: nothing is written on refusal.
pub fn create_training_session(
    conn: &mut DbConn,
    new: &NewTrainingSession,
) -> Result<TrainingSessionView, CatalogueError> {
    let now = db::now();
    let id = db::write_transaction(conn, |conn| insert_training_session(conn, new, now))?;
    find_training_session(conn, &id)
}

/// Input of [`create_scheduled_session`]: the `--schedule FILE.csv` form.
#[derive(Debug, Clone)]
pub struct NewScheduledSession {
    /// Course code.
    pub course_code: String,
    /// The half-days, in any order.
    pub half_days: Vec<PlannedHalfDay>,
    /// Seats.
    pub capacity: i32,
    /// Trainers by e-mail (they must have the trainer role).
    pub trainer_emails: Vec<String>,
    /// Publish at once.
    pub publish: bool,
    /// Human reference; generated when absent.
    pub reference: Option<String>,
}

/// Creates a session from a schedule of half-days at any venues and hours. Refused, with nothing
/// written, for a bad schedule ([`super::check_schedule`]), an unknown venue, a weekend or public
/// holiday of the venue's calendar, or a half-day that is not in the future.
pub fn create_scheduled_session(
    conn: &mut DbConn,
    actor: Actor<'_>,
    new: &NewScheduledSession,
    now: NaiveDateTime,
) -> Result<TrainingSessionView, CatalogueError> {
    super::ensure_admin(actor)?;
    super::check_schedule(&new.half_days)?;
    let id = db::write_transaction(conn, |conn| insert_scheduled_session(conn, new, now))?;
    find_training_session(conn, &id)
}

/// Inserts inside the caller's transaction, as of `now` (the demo loader backdates a session that
/// is already under way). Each day gets a morning and an afternoon at the default hours, and the
/// course's modules are spread over the half-days.
pub(crate) fn insert_training_session(
    conn: &mut DbConn,
    new: &NewTrainingSession,
    now: NaiveDateTime,
) -> Result<TrainingSessionId, CatalogueError> {
    if new.days.is_empty() || new.days.len() > MAX_SESSION_DAYS as usize {
        return Err(CatalogueError::Invalid("le calendrier doit compter de 1 à 60 jours".into()));
    }
    let mut dates: Vec<NaiveDate> = new.days.iter().map(|d| d.date).collect();
    dates.sort();
    dates.dedup();
    if dates.len() != new.days.len() {
        return Err(CatalogueError::Invalid("un même jour figure deux fois au calendrier".into()));
    }
    let modules: Vec<String> = match courses::table
        .filter(courses::code.eq(new.course_code.trim().to_uppercase()))
        .select(CourseRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
    {
        Some(course) => super::courses::json_list(&course.code, "modules", &course.modules)?,
        None => Vec::new(),
    };
    let mut days = new.days.clone();
    days.sort_by_key(|d| d.date);
    let total_half_days = days.len() * 2;
    let mut half_days = Vec::with_capacity(total_half_days);
    for (index, day) in days.iter().enumerate() {
        for (offset, slot) in [Slot::Morning, Slot::Afternoon].into_iter().enumerate() {
            let position = index * 2 + offset;
            let module = (!modules.is_empty()).then(|| modules[position * modules.len() / total_half_days].clone());
            let (start, end) = slot.default_hours();
            half_days.push(PlannedHalfDay {
                line: None,
                date: day.date,
                slot,
                start,
                end,
                venue_slug: day.venue_slug.clone(),
                module,
            });
        }
    }
    insert_scheduled_session(
        conn,
        &NewScheduledSession {
            course_code: new.course_code.clone(),
            half_days,
            capacity: new.capacity,
            trainer_emails: new.trainer_emails.clone(),
            publish: new.publish,
            reference: new.reference.clone(),
        },
        now,
    )
}

/// When enrolments close for a session whose first half-day starts at `first_start`: the
/// course's deadline, in whole days before that start (0: at the start itself).
pub fn enrolment_closing(first_start: NaiveDateTime, deadline_days: i32) -> NaiveDateTime {
    first_start - chrono::Duration::days(i64::from(deadline_days.max(0)))
}

/// Inserts a session and its half-days inside the caller's transaction, as of `now`.
pub(crate) fn insert_scheduled_session(
    conn: &mut DbConn,
    new: &NewScheduledSession,
    now: NaiveDateTime,
) -> Result<TrainingSessionId, CatalogueError> {
    if new.capacity <= 0 || new.capacity > MAX_CAPACITY {
        return Err(CatalogueError::Invalid(format!("capacité invalide : {} (de 1 à {MAX_CAPACITY})", new.capacity)));
    }
    super::check_schedule(&new.half_days)?;
    let course: CourseRow = courses::table
        .filter(courses::code.eq(new.course_code.trim().to_uppercase()))
        .select(CourseRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| CatalogueError::UnknownCourse(new.course_code.chars().take(40).collect()))?;
    if course.archived_at.is_some() {
        return Err(CatalogueError::WrongStatus(format!(
            "la formation {} est archivée : aucune nouvelle session ne peut être créée",
            course.code
        )));
    }

    // Venues, calendars and instants, line by line, so that a refusal names its line.
    let mut venue_ids: HashMap<String, (VenueId, HolidayRegion)> = HashMap::new();
    let mut rows = Vec::with_capacity(new.half_days.len());
    for h in &new.half_days {
        if !venue_ids.contains_key(&h.venue_slug) {
            let id = crate::venues::venue_id_by_slug(conn, &h.venue_slug)?
                .ok_or_else(|| h.refuse(CatalogueError::UnknownVenue(h.venue_slug.chars().take(80).collect())))?;
            let region = venue_region(conn, &id)?;
            venue_ids.insert(h.venue_slug.clone(), (id, region));
        }
        let (venue, region) = venue_ids[&h.venue_slug].clone();
        if let Some(reason) = non_working_reason(h.date, region) {
            return Err(h.refuse(CatalogueError::NonWorkingDay { date: h.date, reason }));
        }
        let starts_at = paris_to_utc(h.date, h.start).map_err(|e| h.refuse(e))?;
        let ends_at = paris_to_utc(h.date, h.end).map_err(|e| h.refuse(e))?;
        if starts_at <= now {
            return Err(h.refuse(CatalogueError::BadSchedule(format!(
                "le {} ({}) est passé : une session se planifie dans le futur",
                h.date,
                h.slot.label_fr_lower()
            ))));
        }
        rows.push((h, venue, starts_at, ends_at));
    }
    rows.sort_by_key(|(_, _, starts_at, _)| *starts_at);

    let mut trainer_ids = Vec::new();
    for email in &new.trainer_emails {
        let id = crate::people::user_id_by_email(conn, email)?
            .ok_or_else(|| CatalogueError::UnknownTrainer(email.chars().take(80).collect()))?;
        if !crate::people::has_role(conn, &id, Role::Trainer)? {
            return Err(CatalogueError::UnknownTrainer(email.chars().take(80).collect()));
        }
        if !trainer_ids.contains(&id) {
            trainer_ids.push(id);
        }
    }

    let (first, last) = match (rows.first(), rows.iter().map(|r| r.0.date).max()) {
        (Some(f), Some(l)) => (f, l),
        _ => return Err(CatalogueError::BadSchedule("le calendrier ne compte aucune demi-journée".into())),
    };
    let first_date = first.0.date;
    let first_start = first.2;
    let closes_at = enrolment_closing(first_start, course.enrolment_deadline_days);
    let main_venue = first.1.clone();

    let id = TrainingSessionId::generate();
    let reference = match &new.reference {
        Some(r) => r.clone(),
        None => format!("{}-{}-{}", course.code, first_date.format("%Y%m%d"), &id.as_str()[id.as_str().len() - 4..]),
    };
    let status = if new.publish { TrainingSessionStatus::Published } else { TrainingSessionStatus::Draft };
    let inserted = diesel::insert_into(training_sessions::table)
        .values((
            training_sessions::id.eq(&id),
            training_sessions::reference.eq(&reference),
            training_sessions::course_id.eq(&course.id),
            training_sessions::status.eq(status),
            training_sessions::capacity.eq(new.capacity),
            training_sessions::seats_taken.eq(0),
            training_sessions::waitlist_next_seq.eq(1_i64),
            training_sessions::starts_on.eq(first_date),
            training_sessions::ends_on.eq(last),
            training_sessions::main_venue_id.eq(&main_venue),
            training_sessions::enrolment_opens_at.eq(Some(now)),
            training_sessions::enrolment_closes_at.eq(Some(closes_at)),
            training_sessions::ledger_seq.eq(0_i64),
            training_sessions::ledger_head.eq(crate::attendance::GENESIS_HASH),
            training_sessions::created_at.eq(now),
            training_sessions::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted {
        Ok(_) => {}
        Err(e) if e.unique_violation().is_some() => {
            return Err(CatalogueError::Invalid(format!("la référence « {reference} » existe déjà")));
        }
        Err(e) => return Err(e.into()),
    }

    for (h, venue, starts_at, ends_at) in &rows {
        diesel::insert_into(half_days::table)
            .values((
                half_days::id.eq(HalfDayId::generate()),
                half_days::training_session_id.eq(&id),
                half_days::day.eq(h.date),
                half_days::slot.eq(h.slot),
                half_days::starts_at.eq(starts_at),
                half_days::ends_at.eq(ends_at),
                half_days::minutes.eq(i32::try_from((*ends_at - *starts_at).num_minutes()).unwrap_or(0)),
                half_days::venue_id.eq(venue),
                half_days::module.eq(&h.module),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    for trainer in &trainer_ids {
        diesel::insert_into(session_trainers::table)
            .values((session_trainers::training_session_id.eq(&id), session_trainers::trainer_id.eq(trainer)))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    // Checked once everything is written, inside the caller's transaction: a refusal rolls the
    // whole session back.
    for trainer in &trainer_ids {
        if let Some(conflict) = super::trainer_conflict(conn, trainer, &id)? {
            return Err(conflict.into());
        }
    }
    Ok(id)
}

/// A training session as listed (`lms session list --json`, API search results build on it).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainingSessionView {
    /// Identifier.
    pub id: TrainingSessionId,
    /// Human reference.
    pub reference: String,
    /// Course code.
    pub course: String,
    /// Course title.
    pub course_title: String,
    /// Slug of the venue of the first day.
    pub venue: String,
    /// Name of that venue.
    pub venue_name: String,
    /// Its commune.
    pub commune: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Seats.
    pub capacity: i32,
    /// Confirmed enrolments.
    pub confirmed: i64,
    /// Waitlisted enrolments.
    pub waitlisted: i64,
    /// Seats left.
    pub seats_left: i64,
    /// Status.
    pub status: TrainingSessionStatus,
}

/// A session with its course and main venue, as listed (row type; fields in the order selected).
#[derive(Queryable)]
struct SessionListRow {
    id: TrainingSessionId,
    reference: String,
    course: String,
    course_title: String,
    venue: String,
    venue_name: String,
    commune: String,
    start: NaiveDate,
    end: NaiveDate,
    capacity: i32,
    seats_taken: i32,
    status: TrainingSessionStatus,
}

/// Filters for [`list_training_sessions`].
#[derive(Debug, Clone, Default)]
pub struct TrainingSessionFilter {
    /// Only this session.
    pub id: Option<TrainingSessionId>,
    /// Only these sessions.
    pub ids: Option<Vec<TrainingSessionId>>,
    /// Only sessions of this course code.
    pub course_code: Option<String>,
    /// Only sessions in this status.
    pub status: Option<TrainingSessionStatus>,
    /// Only sessions starting on or after this date.
    pub from: Option<NaiveDate>,
    /// Only sessions of courses still offered (not archived).
    pub offered_only: bool,
}

/// Training sessions by start date, with enrolment counts (two queries, whatever the number of sessions).
pub fn list_training_sessions(
    conn: &mut DbConn,
    filter: &TrainingSessionFilter,
) -> Result<Vec<TrainingSessionView>, CatalogueError> {
    let mut query = training_sessions::table
        .inner_join(courses::table)
        .inner_join(venues::table.inner_join(communes::table))
        .select((
            training_sessions::id,
            training_sessions::reference,
            courses::code,
            courses::title,
            venues::slug,
            venues::name,
            communes::name,
            training_sessions::starts_on,
            training_sessions::ends_on,
            training_sessions::capacity,
            training_sessions::seats_taken,
            training_sessions::status,
        ))
        .order((training_sessions::starts_on.asc(), training_sessions::reference.asc()))
        .into_boxed();
    if let Some(id) = &filter.id {
        query = query.filter(training_sessions::id.eq(id.clone()));
    }
    if let Some(ids) = &filter.ids {
        query = query.filter(training_sessions::id.eq_any(ids.clone()));
    }
    if let Some(code) = &filter.course_code {
        query = query.filter(courses::code.eq(code.trim().to_uppercase()));
    }
    if let Some(status) = filter.status {
        query = query.filter(training_sessions::status.eq(status));
    }
    if filter.offered_only {
        query = query.filter(courses::archived_at.is_null());
    }
    if let Some(from) = filter.from {
        query = query.filter(training_sessions::starts_on.ge(from));
    }
    let rows: Vec<SessionListRow> = query.load(conn).map_err(DbError::from)?;
    let ids: Vec<TrainingSessionId> = rows.iter().map(|r| r.id.clone()).collect();
    let waitlisted = waitlist_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let waitlisted = waitlisted.get(&row.id).copied().unwrap_or(0);
            row.into_view(waitlisted)
        })
        .collect())
}

impl SessionListRow {
    fn into_view(self, waitlisted: i64) -> TrainingSessionView {
        TrainingSessionView {
            confirmed: i64::from(self.seats_taken),
            seats_left: i64::from(self.capacity - self.seats_taken),
            capacity: self.capacity,
            waitlisted,
            id: self.id,
            reference: self.reference,
            course: self.course,
            course_title: self.course_title,
            venue: self.venue,
            venue_name: self.venue_name,
            commune: self.commune,
            start: self.start,
            end: self.end,
            status: self.status,
        }
    }
}

fn waitlist_counts(conn: &mut DbConn, ids: &[TrainingSessionId]) -> Result<HashMap<TrainingSessionId, i64>, DbError> {
    let mut counts = HashMap::new();
    // Chunked so that the IN list stays under both backends' bind-parameter limits.
    for chunk in ids.chunks(5_000) {
        let rows: Vec<(TrainingSessionId, i64)> = enrolments::table
            .filter(enrolments::training_session_id.eq_any(chunk))
            .filter(enrolments::status.eq(crate::enrolment::EnrolmentStatus::Waitlisted))
            .group_by(enrolments::training_session_id)
            .select((enrolments::training_session_id, diesel::dsl::count_star()))
            .load(conn)?;
        counts.extend(rows);
    }
    Ok(counts)
}

/// One training session.
pub fn find_training_session(conn: &mut DbConn, id: &TrainingSessionId) -> Result<TrainingSessionView, CatalogueError> {
    let filter = TrainingSessionFilter { id: Some(id.clone()), ..Default::default() };
    list_training_sessions(conn, &filter)?.pop().ok_or_else(|| CatalogueError::UnknownTrainingSession(id.to_string()))
}

crate::text_enum! {
    /// Whether a half-day will be held (as `lms session show` reports it).
    pub enum HalfDayStatus: "statut de demi-journée" {
        /// On the calendar.
        Scheduled = "scheduled", "Prévue";
        /// Its session was cancelled.
        Cancelled = "cancelled", "Annulée";
    }
}

/// A half-day of a schedule, with its venue, for session pages and the public API (also its
/// row type: fields in the order selected).
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct HalfDayView {
    /// Identifier.
    pub id: HalfDayId,
    /// Local date.
    pub date: NaiveDate,
    /// Morning or afternoon.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Scheduled minutes.
    pub minutes: i32,
    /// Module taught.
    pub module: Option<String>,
    /// Venue slug.
    pub venue: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue commune.
    pub commune: String,
}

/// A half-day as the back office sees it (`lms session show`): the stored half-day, its hours in
/// Paris time and whether it will be held. Kept apart from [`HalfDayView`], whose shape is the
/// public API's.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScheduledHalfDay {
    /// The half-day.
    #[serde(flatten)]
    pub half_day: HalfDayView,
    /// Start, Paris time (`HH:MM`).
    pub start: String,
    /// End, Paris time (`HH:MM`).
    pub end: String,
    /// Held as planned, or cancelled with its session.
    pub status: HalfDayStatus,
}

/// `HH:MM` in Paris time of a stored UTC instant.
fn paris_hm(utc: NaiveDateTime) -> String {
    Paris.from_utc_datetime(&utc).format("%H:%M").to_string()
}

/// A session for the back office (`lms session show`): the listing fields, the schedule with
/// Paris hours and status, the trainers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionSheet {
    /// The listing fields.
    #[serde(flatten)]
    pub session: TrainingSessionView,
    /// The schedule, in order.
    pub half_days: Vec<ScheduledHalfDay>,
    /// Trainers' display names.
    pub trainers: Vec<String>,
    /// Scheduled hours in total.
    pub scheduled_hours: f64,
    /// The half-days moved since the session was planned, oldest first.
    pub changes: Vec<super::HalfDayChangeView>,
}

/// Reads a session, drafts included, as the back office shows it.
pub fn session_sheet(conn: &mut DbConn, id: &TrainingSessionId) -> Result<SessionSheet, CatalogueError> {
    let (TrainingSessionDetail { session, half_days, trainers, scheduled_hours }, changes) =
        db::read_transaction(conn, |conn| {
            Ok::<_, CatalogueError>((show_training_session(conn, id)?, super::half_day_changes_of(conn, id)?))
        })?;
    let status = if session.status == TrainingSessionStatus::Cancelled {
        HalfDayStatus::Cancelled
    } else {
        HalfDayStatus::Scheduled
    };
    let half_days = half_days
        .into_iter()
        .map(|half_day| ScheduledHalfDay {
            start: paris_hm(half_day.starts_at),
            end: paris_hm(half_day.ends_at),
            half_day,
            status,
        })
        .collect();
    Ok(SessionSheet { session, half_days, trainers, scheduled_hours, changes })
}

/// Everything about one training session: listing fields, schedule, trainers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainingSessionDetail {
    /// The listing fields.
    #[serde(flatten)]
    pub session: TrainingSessionView,
    /// The schedule, in order.
    pub half_days: Vec<HalfDayView>,
    /// Trainers' display names.
    pub trainers: Vec<String>,
    /// Scheduled hours in total.
    pub scheduled_hours: f64,
}

/// Reads a session with its schedule and trainers.
pub fn show_training_session(
    conn: &mut DbConn,
    id: &TrainingSessionId,
) -> Result<TrainingSessionDetail, CatalogueError> {
    let session = find_training_session(conn, id)?;
    let half_days: Vec<HalfDayView> = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::training_session_id.eq(id))
        .order(half_days::starts_at.asc())
        .select((
            half_days::id,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            half_days::minutes,
            half_days::module,
            venues::slug,
            venues::name,
            communes::name,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let trainers: Vec<String> = session_trainers::table
        .inner_join(users::table)
        .filter(session_trainers::training_session_id.eq(id))
        .order(users::display_name.asc())
        .select(users::display_name)
        .load(conn)
        .map_err(DbError::from)?;
    let scheduled_hours = half_days.iter().map(|h| f64::from(h.minutes)).sum::<f64>() / 60.0;
    Ok(TrainingSessionDetail { session, half_days, trainers, scheduled_hours })
}

impl TrainingSessionStatus {
    /// Whether the public (the catalogue, the session page, the API) may see a session in this
    /// status. Drafts are seen by nobody there, whoever asks: the back office (`lms session`)
    /// shows them.
    pub fn is_public(self) -> bool {
        self != TrainingSessionStatus::Draft
    }
}

/// A session as the public may see it: everything but drafts, which are unknown
/// ([`CatalogueError::UnknownTrainingSession`]). One read transaction.
pub fn public_session(conn: &mut DbConn, id: &TrainingSessionId) -> Result<TrainingSessionDetail, CatalogueError> {
    db::read_transaction(conn, |conn| {
        let detail = show_training_session(conn, id)?;
        if !detail.session.status.is_public() {
            return Err(CatalogueError::UnknownTrainingSession(id.to_string()));
        }
        Ok(detail)
    })
}

/// Where a session is held, one venue at a time: the place, and its half-days there in order.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VenuePeriods {
    /// Venue slug (its page is `/lieux/{slug}`).
    pub venue: String,
    /// Venue name.
    pub name: String,
    /// Commune.
    pub commune: String,
    /// Street address, when known.
    pub address: Option<String>,
    /// Postcode, when known.
    pub postcode: Option<String>,
    /// Accessible to people with reduced mobility, when known.
    pub accessible_pmr: Option<bool>,
    /// Access note.
    pub accessibility_note: Option<String>,
    /// The half-days held there, in order.
    pub half_days: Vec<HalfDayView>,
    /// Hours held there.
    pub hours: f64,
}

/// A venue as a session page presents it (row type; fields in the order selected).
#[derive(Queryable)]
struct VenueCard {
    slug: String,
    name: String,
    commune: String,
    address: Option<String>,
    postcode: Option<String>,
    accessible_pmr: Option<bool>,
    accessibility_note: Option<String>,
}

/// A schedule grouped by venue, venues in the order the session first goes there (one query for
/// every venue, whatever their number).
pub fn periods_by_venue(conn: &mut DbConn, half_days: &[HalfDayView]) -> Result<Vec<VenuePeriods>, CatalogueError> {
    let mut slugs: Vec<&str> = Vec::new();
    for h in half_days {
        if !slugs.contains(&h.venue.as_str()) {
            slugs.push(&h.venue);
        }
    }
    let cards: Vec<VenueCard> = venues::table
        .inner_join(communes::table)
        .filter(venues::slug.eq_any(&slugs))
        .select((
            venues::slug,
            venues::name,
            communes::name,
            venues::address,
            venues::postcode,
            venues::accessible_pmr,
            venues::accessibility_note,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    Ok(slugs
        .iter()
        .filter_map(|slug| cards.iter().find(|c| c.slug == *slug))
        .map(|card| {
            let held: Vec<HalfDayView> = half_days.iter().filter(|h| h.venue == card.slug).cloned().collect();
            VenuePeriods {
                venue: card.slug.clone(),
                name: card.name.clone(),
                commune: card.commune.clone(),
                address: card.address.clone(),
                postcode: card.postcode.clone(),
                accessible_pmr: card.accessible_pmr,
                accessibility_note: card.accessibility_note.clone(),
                hours: held.iter().map(|h| f64::from(h.minutes)).sum::<f64>() / 60.0,
                half_days: held,
            }
        })
        .collect())
}

/// A course page: the course and its upcoming published sessions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CoursePage {
    /// The course.
    pub course: CourseView,
    /// Its published sessions starting on or after `today`, by start date.
    pub sessions: Vec<TrainingSessionView>,
}

/// The course `code` and its published sessions from `today` on, in one read transaction.
pub fn course_page(conn: &mut DbConn, code: &str, today: NaiveDate) -> Result<CoursePage, CatalogueError> {
    db::read_transaction(conn, |conn| {
        let course = super::find_course(conn, code)?;
        let sessions = list_training_sessions(
            conn,
            &TrainingSessionFilter {
                course_code: Some(course.code.clone()),
                status: Some(TrainingSessionStatus::Published),
                from: Some(today),
                ..Default::default()
            },
        )?;
        Ok(CoursePage { course, sessions })
    })
}

/// Published sessions starting on or after `today`, by start date (the home page without a place).
pub fn upcoming_sessions(conn: &mut DbConn, today: NaiveDate) -> Result<Vec<TrainingSessionView>, CatalogueError> {
    list_training_sessions(
        conn,
        &TrainingSessionFilter {
            status: Some(TrainingSessionStatus::Published),
            from: Some(today),
            offered_only: true,
            ..Default::default()
        },
    )
}

/// Publishes a draft session (idempotent for a published one).
pub fn publish_training_session(
    conn: &mut DbConn,
    actor: Actor<'_>,
    id: &TrainingSessionId,
) -> Result<TrainingSessionView, CatalogueError> {
    super::ensure_admin(actor)?;
    db::write_transaction(conn, |conn| {
        let status: TrainingSessionStatus = training_sessions::table
            .find(id)
            .select(training_sessions::status)
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or_else(|| CatalogueError::UnknownTrainingSession(id.to_string()))?;
        match status {
            TrainingSessionStatus::Published => Ok(()),
            TrainingSessionStatus::Draft => {
                diesel::update(training_sessions::table.find(id))
                    .set((
                        training_sessions::status.eq(TrainingSessionStatus::Published),
                        training_sessions::updated_at.eq(db::now()),
                    ))
                    .execute(conn)
                    .map_err(DbError::from)?;
                Ok(())
            }
            other => Err(CatalogueError::WrongStatus(format!(
                "impossible de publier une session au statut « {} »",
                other.as_str()
            ))),
        }
    })?;
    find_training_session(conn, id)
}

/// Longest cancellation reason accepted, in characters.
pub const MAX_CANCEL_REASON_CHARS: usize = 500;

/// The status of a session, or [`CatalogueError::UnknownTrainingSession`].
fn session_status(conn: &mut DbConn, id: &TrainingSessionId) -> Result<TrainingSessionStatus, CatalogueError> {
    training_sessions::table
        .find(id)
        .select(training_sessions::status)
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| CatalogueError::UnknownTrainingSession(id.to_string()))
}

/// Cancels a draft or published session, in one transaction: the session becomes `cancelled`
/// with `reason` (trimmed, 1 to [`MAX_CANCEL_REASON_CHARS`] characters) and so leaves search;
/// every confirmed or waitlisted enrolment becomes `cancelled` (no promotion: there is nothing
/// left to promote to, so the seat count goes to 0); each trainee concerned and each trainer is
/// notified with the session's name and the reason (on `/me`, and by e-mail through the outbox).
/// A cancelled or completed session is refused ([`CatalogueError::WrongStatus`]) and nothing is
/// written.
pub fn cancel_training_session(
    conn: &mut DbConn,
    actor: Actor<'_>,
    id: &TrainingSessionId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<TrainingSessionView, CatalogueError> {
    super::ensure_admin(actor)?;
    use crate::enrolment::EnrolmentStatus;
    use crate::notifications::SessionNews;

    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_CANCEL_REASON_CHARS {
        return Err(CatalogueError::Invalid(format!(
            "motif d'annulation requis : 1 à {MAX_CANCEL_REASON_CHARS} caractères"
        )));
    }
    db::write_transaction(conn, |conn| {
        match session_status(conn, id)? {
            TrainingSessionStatus::Draft | TrainingSessionStatus::Published => {}
            other => {
                return Err(CatalogueError::WrongStatus(format!(
                    "impossible d'annuler une session au statut « {} »",
                    other.label_fr()
                )));
            }
        }
        let live = [EnrolmentStatus::Confirmed, EnrolmentStatus::Waitlisted];
        let mut told: Vec<UserId> = enrolments::table
            .filter(enrolments::training_session_id.eq(id))
            .filter(enrolments::status.eq_any(live))
            .select(enrolments::trainee_id)
            .load(conn)
            .map_err(DbError::from)?;
        // Those who held a seat have the half-days in their calendar: they get a CANCEL for them.
        let seated: Vec<UserId> = enrolments::table
            .filter(enrolments::training_session_id.eq(id))
            .filter(enrolments::status.eq(EnrolmentStatus::Confirmed))
            .select(enrolments::trainee_id)
            .load(conn)
            .map_err(DbError::from)?;
        told.extend(trainers_of(conn, id)?);
        told.sort();
        told.dedup();
        crate::enrolment::cancel_all_of_session(conn, id, reason, now)?;
        diesel::update(training_sessions::table.find(id))
            .set((
                training_sessions::status.eq(TrainingSessionStatus::Cancelled),
                training_sessions::cancelled_reason.eq(Some(reason)),
                training_sessions::seats_taken.eq(0),
                training_sessions::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        let news = SessionNews::SessionCancelled { reason };
        crate::notifications::notify_about_session(conn, &told, &news, id, now)?;
        for user in &told {
            let mail = crate::mail::messages::session_cancelled(conn, id, user, reason, seated.contains(user), now)?;
            crate::mail::outbox::enqueue(conn, &mail, now)?;
        }
        Ok(())
    })?;
    find_training_session(conn, id)
}

/// Takes a published session back to draft (it leaves the catalogue and search), in one
/// transaction. Refused ([`CatalogueError::WrongStatus`]) while anyone holds a seat or waits for
/// one (cancel the session instead), and for any status but `published`.
pub fn unpublish_training_session(
    conn: &mut DbConn,
    actor: Actor<'_>,
    id: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<TrainingSessionView, CatalogueError> {
    super::ensure_admin(actor)?;
    use crate::enrolment::EnrolmentStatus;
    db::write_transaction(conn, |conn| {
        let status = session_status(conn, id)?;
        if status != TrainingSessionStatus::Published {
            return Err(CatalogueError::WrongStatus(format!(
                "seule une session publiée peut repasser en brouillon (statut actuel : « {} »)",
                status.label_fr()
            )));
        }
        let live: i64 = enrolments::table
            .filter(enrolments::training_session_id.eq(id))
            .filter(enrolments::status.eq_any([EnrolmentStatus::Confirmed, EnrolmentStatus::Waitlisted]))
            .count()
            .get_result(conn)
            .map_err(DbError::from)?;
        if live > 0 {
            return Err(CatalogueError::WrongStatus(format!(
                "impossible de dépublier : {live} inscription(s) confirmée(s) ou en liste d'attente ; \
                 annulez la session (`lms session cancel`) pour prévenir les stagiaires"
            )));
        }
        diesel::update(training_sessions::table.find(id))
            .set((training_sessions::status.eq(TrainingSessionStatus::Draft), training_sessions::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(())
    })?;
    find_training_session(conn, id)
}

/// Trainers of a session.
pub fn trainers_of(conn: &mut DbConn, id: &TrainingSessionId) -> Result<Vec<UserId>, DbError> {
    session_trainers::table
        .filter(session_trainers::training_session_id.eq(id))
        .select(session_trainers::trainer_id)
        .load(conn)
        .map_err(DbError::from)
}

/// Course id of a session.
pub fn course_of(conn: &mut DbConn, id: &TrainingSessionId) -> Result<Option<CourseId>, DbError> {
    training_sessions::table.find(id).select(training_sessions::course_id).first(conn).optional().map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn weekdays_skip_the_weekend() {
        let days = consecutive_weekdays(date("2027-03-04"), 4).unwrap_or_default();
        assert_eq!(days, vec![date("2027-03-04"), date("2027-03-05"), date("2027-03-08"), date("2027-03-09")]);
        // A weekend start moves to Monday; Easter Monday 2027 (29 March) is skipped.
        assert_eq!(consecutive_weekdays(date("2027-03-06"), 1).unwrap_or_default(), vec![date("2027-03-08")]);
        let easter = consecutive_weekdays(date("2027-03-26"), 2).unwrap_or_default();
        assert_eq!(easter, vec![date("2027-03-26"), date("2027-03-30")]);
        let alsace = consecutive_working_days(date("2027-03-26"), 1, HolidayRegion::AlsaceMoselle).unwrap_or_default();
        assert_eq!(alsace, vec![date("2027-03-30")]);
        assert!(consecutive_weekdays(date("2027-03-04"), 0).is_err());
        assert!(consecutive_weekdays(date("2027-03-04"), 61).is_err());
    }

    #[test]
    fn paris_hours_become_utc() {
        // Winter: UTC+1; summer: UTC+2.
        let winter = paris_to_utc(date("2027-01-12"), NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
        assert_eq!(winter.ok().map(|d| d.to_string()).as_deref(), Some("2027-01-12 08:00:00"));
        let summer = paris_to_utc(date("2027-06-15"), NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default());
        assert_eq!(summer.ok().map(|d| d.to_string()).as_deref(), Some("2027-06-15 07:00:00"));
    }
}
