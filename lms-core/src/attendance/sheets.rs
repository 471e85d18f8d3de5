//! What trainers and trainees read from the ledger: the sessions a trainer may open, a session's
//! half-days with their state, one half-day's sheet (every trainee's current status, signature
//! and full history), absence alerts, and the hours actually attended.
//!
//! The current status of a trainee on a half-day is always the LATEST `trainee_status` entry
//! (highest sequence number): superseded entries stay in the history and never count.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{AttendanceError, AttendanceStatus, EntryKind, LedgerPosition, SignatureMethod};
use crate::access::Caller;
use crate::catalogue::{Slot, TrainingSessionStatus};
use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, communes, courses, half_days, training_sessions, venues};
use crate::db::{self, DbConn, DbError};
use crate::locale::to_paris;
use crate::rights::{self, Actor, SessionRight};
use crate::roster::{self, Member, confirmed_trainees};
use crate::venues::VenueAddress;

/// Default number of consecutive absent half-days that raises an alert.
pub const DEFAULT_ABSENCE_ALERT: u32 = 2;

/// Where a half-day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HalfDayState {
    /// Not started: nothing can be recorded yet (the blank paper sheet can be printed).
    Upcoming,
    /// Under way: statuses and check-ins are recorded.
    InProgress,
    /// Over, not co-signed yet.
    AwaitingCosign,
    /// Co-signed by the trainer: changes only by superseding entries with a reason.
    Closed,
}

impl HalfDayState {
    fn of(starts_at: NaiveDateTime, ends_at: NaiveDateTime, closed: bool, now: NaiveDateTime) -> Self {
        if closed {
            HalfDayState::Closed
        } else if now < starts_at {
            HalfDayState::Upcoming
        } else if now < ends_at {
            HalfDayState::InProgress
        } else {
            HalfDayState::AwaitingCosign
        }
    }

    /// French label.
    pub fn label_fr(self) -> &'static str {
        match self {
            HalfDayState::Upcoming => "À venir",
            HalfDayState::InProgress => "En cours",
            HalfDayState::AwaitingCosign => "À contresigner",
            HalfDayState::Closed => "Contresignée",
        }
    }
}

/// The session fields every attendance view starts with.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionHeader {
    /// Identifier.
    pub id: TrainingSessionId,
    /// Human reference.
    pub reference: String,
    /// Course code.
    pub course_code: String,
    /// Course title, as on the programme.
    pub course_title: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Session status (`published`, `completed`…).
    pub status: TrainingSessionStatus,
    /// Trainers' names.
    pub trainers: Vec<String>,
}

/// Loads a session's header (404 when unknown).
pub fn session_header(conn: &mut DbConn, session: &TrainingSessionId) -> Result<SessionHeader, AttendanceError> {
    let row: SessionHeaderRow = training_sessions::table
        .inner_join(courses::table)
        .filter(training_sessions::id.eq(session))
        .select(SessionHeaderRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(AttendanceError::UnknownTrainingSession)?;
    Ok(SessionHeader {
        id: session.clone(),
        reference: row.reference,
        course_code: row.course_code,
        course_title: row.course_title,
        start: row.starts_on,
        end: row.ends_on,
        status: row.status,
        trainers: roster::trainer_names(conn, session)?,
    })
}

/// The stored fields behind a [`SessionHeader`].
#[derive(Queryable, Selectable)]
#[diesel(table_name = training_sessions)]
struct SessionHeaderRow {
    reference: String,
    #[diesel(select_expression = courses::code)]
    course_code: String,
    #[diesel(select_expression = courses::title)]
    course_title: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    status: TrainingSessionStatus,
}

/// A session on the trainer's list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaughtSession {
    /// The session.
    #[serde(flatten)]
    pub session: SessionHeader,
    /// What the caller may do with it.
    pub right: SessionRight,
    /// Confirmed trainees.
    pub trainees: i64,
    /// Half-days scheduled.
    pub half_days: i64,
    /// Half-days started and not co-signed yet.
    pub half_days_to_cosign: i64,
    /// Start of the next half-day not started yet (UTC).
    pub next_half_day_at: Option<NaiveDateTime>,
    /// Whether it is held today, later or is over: what orders the list. Kept out of the
    /// serialised form, which is the API's contract; the pages read it.
    #[serde(skip)]
    pub timing: SessionTiming,
}

/// Where a session stands for the trainer today, in the order the list shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionTiming {
    /// A half-day of it is held today (Paris time).
    Today,
    /// Its next half-day is on a later day.
    Upcoming,
    /// No half-day is left.
    Past,
}

impl SessionTiming {
    /// Where a session with these half-day starts (UTC) stands at `now`, and the instant that
    /// orders it among its peers: the first half-day today, the next one, or the last one.
    fn of(starts: &[NaiveDateTime], session_start: NaiveDate, now: NaiveDateTime) -> (Self, NaiveDateTime) {
        let today = to_paris(now).date();
        if let Some(first_today) = starts.iter().filter(|at| to_paris(**at).date() == today).min() {
            return (SessionTiming::Today, *first_today);
        }
        if let Some(next) = starts.iter().filter(|at| **at > now).min() {
            return (SessionTiming::Upcoming, *next);
        }
        match starts.iter().max() {
            Some(last) => (SessionTiming::Past, *last),
            // A session without a schedule yet is placed by its first day.
            None if session_start > today => (SessionTiming::Upcoming, session_start.and_time(NaiveTime::MIN)),
            None => (SessionTiming::Past, session_start.and_time(NaiveTime::MIN)),
        }
    }
}

/// The sessions a trainer teaches (every session for an administrator): those held today first,
/// then the upcoming ones by their next half-day, then the past ones, the latest first.
pub fn sessions_for(
    conn: &mut DbConn,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<Vec<TaughtSession>, AttendanceError> {
    db::read_transaction(conn, |conn| {
        let readable = rights::readable_sessions(conn, caller)?;
        let mut out = Vec::with_capacity(readable.len());
        let ids: Vec<TrainingSessionId> = readable.iter().map(|r| r.session.clone()).collect();
        let mut schedule: HashMap<TrainingSessionId, Vec<(HalfDayId, NaiveDateTime)>> = HashMap::new();
        let mut cosigned: HashSet<HalfDayId> = HashSet::new();
        let trainees = roster::confirmed_counts(conn, &ids)?;
        // Chunked so the IN lists stay under both backends' bind-parameter limits.
        for chunk in ids.chunks(2_000) {
            let rows: Vec<HalfDayStart> = half_days::table
                .filter(half_days::training_session_id.eq_any(chunk))
                .select(HalfDayStart::as_select())
                .load(conn)
                .map_err(DbError::from)?;
            for row in rows {
                schedule.entry(row.training_session_id).or_default().push((row.id, row.starts_at));
            }
            let closed: Vec<HalfDayId> = attendance_entries::table
                .filter(attendance_entries::training_session_id.eq_any(chunk))
                .filter(attendance_entries::kind.eq(EntryKind::TrainerCosign))
                .select(attendance_entries::half_day_id)
                .load(conn)
                .map_err(DbError::from)?;
            cosigned.extend(closed);
        }
        let mut keyed = Vec::with_capacity(readable.len());
        for rights::ReadableSession { session: id, right } in readable {
            let header = session_header(conn, &id)?;
            let days = schedule.remove(&id).unwrap_or_default();
            let starts: Vec<NaiveDateTime> = days.iter().map(|(_, at)| *at).collect();
            let (timing, at) = SessionTiming::of(&starts, header.start, now);
            // Past sessions read from the latest back; the others from the soonest on.
            let order =
                if timing == SessionTiming::Past { -at.and_utc().timestamp() } else { at.and_utc().timestamp() };
            keyed.push((
                (timing, order),
                TaughtSession {
                    right,
                    trainees: trainees.get(&id).copied().unwrap_or(0),
                    half_days: days.len() as i64,
                    half_days_to_cosign: days.iter().filter(|(h, at)| *at <= now && !cosigned.contains(h)).count()
                        as i64,
                    next_half_day_at: starts.iter().copied().filter(|at| *at > now).min(),
                    timing,
                    session: header,
                },
            ));
        }
        keyed.sort_by(|(a, first), (b, second)| a.cmp(b).then(first.session.reference.cmp(&second.session.reference)));
        out.extend(keyed.into_iter().map(|(_, session)| session));
        Ok(out)
    })
}

/// When a half-day of one of the listed sessions starts.
#[derive(Queryable, Selectable)]
#[diesel(table_name = half_days)]
pub(crate) struct HalfDayStart {
    pub(crate) training_session_id: TrainingSessionId,
    pub(crate) id: HalfDayId,
    pub(crate) starts_at: NaiveDateTime,
}

/// A half-day of a session's schedule with what has been recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HalfDaySummary {
    /// Identifier.
    pub id: HalfDayId,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Scheduled minutes.
    pub minutes: i32,
    /// Venue name.
    pub venue: String,
    /// Venue commune.
    pub commune: String,
    /// Venue slug (its page is `/lieux/{slug}`). Kept out of the serialised form, which is the
    /// API's contract; the pages read it.
    #[serde(skip)]
    pub venue_slug: String,
    /// Venue address on one line (street, postcode, commune). Out of the serialised form, like
    /// `venue_slug`.
    #[serde(skip)]
    pub venue_address: String,
    /// Module taught.
    pub module: Option<String>,
    /// Where it stands.
    pub state: HalfDayState,
    /// Trainees with a status.
    pub recorded: i64,
    /// Trainees present (fully or partly).
    pub attended: i64,
    /// Trainees absent (excused or not).
    pub absent: i64,
    /// Trainees whose latest status rests on their own signature.
    pub signed: i64,
    /// Who co-signed it.
    pub cosigned_by: Option<String>,
    /// When.
    pub cosigned_at: Option<NaiveDateTime>,
}

/// A trainee absent on the last consecutive half-days.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AbsenceAlert {
    /// The trainee.
    pub trainee: UserId,
    /// Name.
    pub name: String,
    /// E-mail address (to reach them).
    pub email: String,
    /// Consecutive half-days absent, up to the latest recorded one.
    pub consecutive: u32,
    /// Of which excused.
    pub excused: u32,
    /// Date of the first of them.
    pub since: NaiveDate,
}

/// A session's attendance at a glance: its half-days, the alerts and the chain's position.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionAttendance {
    /// The session.
    pub session: SessionHeader,
    /// What the caller may do.
    pub right: SessionRight,
    /// Confirmed trainees.
    pub trainees: i64,
    /// Schedule, in order.
    pub half_days: Vec<HalfDaySummary>,
    /// Consecutive half-days absent that raise an alert.
    pub alert_threshold: u32,
    /// Trainees absent on at least `alert_threshold` consecutive half-days.
    pub alerts: Vec<AbsenceAlert>,
    /// Head of the session's chain.
    pub ledger: LedgerPosition,
}

impl SessionAttendance {
    /// Absences recorded over the whole schedule (excused or not): the sum of the half-days'
    /// [`HalfDaySummary::absent`], so that the alerts and the table beneath them tell one count.
    pub fn absences_recorded(&self) -> i64 {
        self.half_days.iter().map(|h| h.absent).sum()
    }
}

/// A half-day of the schedule with its place.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = half_days)]
struct ScheduledHalfDay {
    id: HalfDayId,
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    minutes: i32,
    module: Option<String>,
    #[diesel(select_expression = venues::name)]
    venue: String,
    #[diesel(select_expression = venues::slug)]
    venue_slug: String,
    #[diesel(select_expression = venues::address)]
    address: Option<String>,
    #[diesel(select_expression = venues::postcode)]
    postcode: Option<String>,
    #[diesel(select_expression = communes::name)]
    commune: String,
}

/// One ledger entry without its (possibly large) signature data.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attendance_entries)]
pub(crate) struct EntryLine {
    pub(crate) id: AttendanceEntryId,
    pub(crate) seq: i64,
    #[diesel(column_name = half_day_id)]
    pub(crate) half_day: HalfDayId,
    #[diesel(column_name = subject_id)]
    pub(crate) subject: UserId,
    pub(crate) kind: EntryKind,
    pub(crate) status: Option<AttendanceStatus>,
    pub(crate) late_minutes: i32,
    pub(crate) left_early_minutes: i32,
    pub(crate) reason: Option<String>,
    pub(crate) method: SignatureMethod,
    pub(crate) evidence_sha256: Option<String>,
    pub(crate) correction_reason: Option<String>,
    pub(crate) recorded_by: UserId,
    pub(crate) recorded_at: NaiveDateTime,
    pub(crate) entry_hash: String,
}

/// Entries of a session (or of one half-day), in chain order.
pub(crate) fn load_entries(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: Option<&HalfDayId>,
) -> Result<Vec<EntryLine>, DbError> {
    let mut query = attendance_entries::table
        .filter(attendance_entries::training_session_id.eq(session))
        .order(attendance_entries::seq.asc())
        .select(EntryLine::as_select())
        .into_boxed();
    if let Some(half_day) = half_day {
        query = query.filter(attendance_entries::half_day_id.eq(half_day.clone()));
    }
    query.load(conn).map_err(DbError::from)
}

fn schedule(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<ScheduledHalfDay>, DbError> {
    half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select(ScheduledHalfDay::as_select())
        .load(conn)
        .map_err(DbError::from)
}

/// Latest trainee-status entry per (trainee, half-day), from entries in chain order.
pub(crate) fn latest_by_trainee(entries: &[EntryLine]) -> HashMap<(UserId, HalfDayId), &EntryLine> {
    let mut latest = HashMap::new();
    for entry in entries.iter().filter(|e| e.kind == EntryKind::TraineeStatus) {
        latest.insert((entry.subject.clone(), entry.half_day.clone()), entry);
    }
    latest
}

/// Trainees whose latest status rests on their own signature: a signing method, or a later
/// trainer entry that kept them present after they signed.
fn signature_of<'a>(entries: &'a [EntryLine], trainee: &UserId, half_day: &HalfDayId) -> Option<&'a EntryLine> {
    entries.iter().rfind(|e| {
        e.kind == EntryKind::TraineeStatus
            && &e.subject == trainee
            && &e.half_day == half_day
            && e.method.is_signature()
    })
}

/// The half-days of a session with their state and counts, the absence alerts and the chain's
/// head. Trainers of the session and administrators only.
pub fn session_attendance(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    alert_threshold: u32,
    now: NaiveDateTime,
) -> Result<SessionAttendance, AttendanceError> {
    db::read_transaction(conn, |conn| {
        let right = rights::ensure_can_read(conn, actor, session)?;
        if alert_threshold == 0 || alert_threshold > 100 {
            return Err(AttendanceError::Invalid("le seuil d'alerte va de 1 à 100 demi-journées".into()));
        }
        let header = session_header(conn, session)?;
        let rows = schedule(conn, session)?;
        let entries = load_entries(conn, session, None)?;
        let trainees = confirmed_trainees(conn, session)?;
        let latest = latest_by_trainee(&entries);
        let cosigns: HashMap<&HalfDayId, &EntryLine> =
            entries.iter().filter(|e| e.kind == EntryKind::TrainerCosign).map(|e| (&e.half_day, e)).collect();
        let cosigners: Vec<UserId> = cosigns.values().map(|e| e.subject.clone()).collect();
        let names = roster::members(conn, &cosigners)?;
        let mut half_days = Vec::with_capacity(rows.len());
        for row in &rows {
            let id = &row.id;
            let cosign = cosigns.get(id);
            let mut summary = HalfDaySummary {
                id: id.clone(),
                date: row.day,
                slot: row.slot,
                starts_at: row.starts_at,
                ends_at: row.ends_at,
                minutes: row.minutes,
                venue: row.venue.clone(),
                commune: row.commune.clone(),
                venue_slug: row.venue_slug.clone(),
                venue_address: VenueAddress {
                    street: row.address.as_deref(),
                    postcode: row.postcode.as_deref(),
                    commune: &row.commune,
                }
                .one_line(),
                module: row.module.clone(),
                state: HalfDayState::of(row.starts_at, row.ends_at, cosign.is_some(), now),
                recorded: 0,
                attended: 0,
                absent: 0,
                signed: 0,
                cosigned_by: cosign.and_then(|c| names.get(&c.subject)).map(|m| m.name.clone()),
                cosigned_at: cosign.map(|c| c.recorded_at),
            };
            for trainee in &trainees {
                let Some(entry) = latest.get(&(trainee.id.clone(), id.clone())) else { continue };
                summary.recorded += 1;
                match entry.status {
                    Some(status) if status.attended() => {
                        summary.attended += 1;
                        if signature_of(&entries, &trainee.id, id).is_some() {
                            summary.signed += 1;
                        }
                    }
                    _ => summary.absent += 1,
                }
            }
            half_days.push(summary);
        }
        let alerts = absence_alerts(&rows, &trainees, &latest, alert_threshold, now);
        let ledger = super::ledger_position(conn, session)?;
        Ok(SessionAttendance {
            session: header,
            right,
            trainees: trainees.len() as i64,
            half_days,
            alert_threshold,
            alerts,
            ledger,
        })
    })
}

/// Trainees whose latest recorded half-days, up to `threshold` or more in a row, are absences.
/// Half-days without a status for the trainee neither break nor extend a run.
fn absence_alerts(
    schedule: &[ScheduledHalfDay],
    trainees: &[Member],
    latest: &HashMap<(UserId, HalfDayId), &EntryLine>,
    threshold: u32,
    now: NaiveDateTime,
) -> Vec<AbsenceAlert> {
    let mut alerts = Vec::new();
    for trainee in trainees {
        let mut run = 0_u32;
        let mut excused = 0_u32;
        let mut since = None;
        for half_day in schedule.iter().filter(|h| h.starts_at <= now) {
            let Some(entry) = latest.get(&(trainee.id.clone(), half_day.id.clone())) else { continue };
            match entry.status {
                Some(AttendanceStatus::Absent | AttendanceStatus::Excused) => {
                    if run == 0 {
                        since = Some(half_day.day);
                        excused = 0;
                    }
                    run += 1;
                    if entry.status == Some(AttendanceStatus::Excused) {
                        excused += 1;
                    }
                }
                _ => {
                    run = 0;
                    since = None;
                }
            }
        }
        if run >= threshold
            && let Some(since) = since
        {
            alerts.push(AbsenceAlert {
                trainee: trainee.id.clone(),
                name: trainee.name.clone(),
                email: trainee.email.clone(),
                consecutive: run,
                excused,
                since,
            });
        }
    }
    alerts
}

/// The half-day fields printed at the top of a sheet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HalfDayInfo {
    /// Identifier.
    pub id: HalfDayId,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Scheduled minutes.
    pub minutes: i32,
    /// Module taught.
    pub module: Option<String>,
    /// Venue name.
    pub venue: String,
    /// Venue address (street, postcode, commune).
    pub venue_address: String,
    /// Venue slug (its page is `/lieux/{slug}`). Out of the serialised form, which is the API's
    /// contract; the pages read it.
    #[serde(skip)]
    pub venue_slug: String,
}

/// A trainee's own signature on a half-day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignatureState {
    /// How it was given.
    pub method: SignatureMethod,
    /// When.
    pub at: NaiveDateTime,
    /// SHA-256 of the evidence (drawn signature data, check-in evidence, scanned sheet).
    pub evidence_sha256: Option<String>,
    /// The ledger entry carrying it.
    pub entry: AttendanceEntryId,
}

/// One entry of a trainee's history on a half-day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    /// Position in the session's chain.
    pub seq: i64,
    /// Entry id.
    pub entry: AttendanceEntryId,
    /// Status recorded.
    pub status: Option<AttendanceStatus>,
    /// Minutes late.
    pub late_minutes: i32,
    /// Minutes left early.
    pub left_early_minutes: i32,
    /// Reason (excused absence).
    pub reason: Option<String>,
    /// How it was recorded.
    pub method: Option<SignatureMethod>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When (UTC).
    pub recorded_at: NaiveDateTime,
    /// Why it corrects a co-signed half-day.
    pub correction_reason: Option<String>,
    /// True when a later entry replaced it.
    pub superseded: bool,
    /// Its hash in the chain.
    pub entry_hash: String,
}

/// One trainee's line on a sheet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SheetRow {
    /// The trainee.
    pub trainee: UserId,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
    /// False for someone who has entries but is no longer a confirmed trainee.
    pub enrolled: bool,
    /// Current status, if any.
    pub status: Option<AttendanceStatus>,
    /// Minutes late.
    pub late_minutes: i32,
    /// Minutes left early.
    pub left_early_minutes: i32,
    /// Reason (excused absence).
    pub reason: Option<String>,
    /// How the current status was recorded.
    pub method: Option<SignatureMethod>,
    /// When (UTC).
    pub recorded_at: Option<NaiveDateTime>,
    /// The trainee's own signature, if given.
    pub signature: Option<SignatureState>,
    /// Every entry, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// The trainer's co-signature of a half-day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cosignature {
    /// The trainer.
    pub trainer: UserId,
    /// Name.
    pub name: String,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// Position in the chain.
    pub seq: i64,
    /// Hash of the co-signature entry: it covers every entry before it.
    pub entry_hash: String,
}

/// One half-day's attendance sheet.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sheet {
    /// The session.
    pub session: SessionHeader,
    /// The half-day.
    pub half_day: HalfDayInfo,
    /// Where it stands.
    pub state: HalfDayState,
    /// What the caller may do.
    pub right: SessionRight,
    /// True when the caller may record statuses now.
    pub can_record: bool,
    /// True when the caller may co-sign now (every trainee has a status).
    pub can_cosign: bool,
    /// Trainees without a status.
    pub missing: i64,
    /// One line per trainee, by name.
    pub rows: Vec<SheetRow>,
    /// The co-signature, once given.
    pub cosign: Option<Cosignature>,
    /// Head of the session's chain.
    pub ledger: LedgerPosition,
}

/// One half-day's sheet: every confirmed trainee (and anyone with entries) with their current
/// status, signature and history. Trainers of the session and administrators only.
pub fn half_day_sheet(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    now: NaiveDateTime,
) -> Result<Sheet, AttendanceError> {
    db::read_transaction(conn, |conn| {
        let right = rights::ensure_can_read(conn, actor, session)?;
        sheet_inside(conn, right, session, half_day, now)
    })
}

pub(crate) fn half_day_info(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
) -> Result<HalfDayInfo, AttendanceError> {
    let row: Option<HalfDayPlace> = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::id.eq(half_day))
        .select(HalfDayPlace::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    match row {
        Some(row) if &row.training_session_id == session => {
            let venue_address = VenueAddress {
                street: row.address.as_deref(),
                postcode: row.postcode.as_deref(),
                commune: &row.commune,
            }
            .one_line();
            Ok(HalfDayInfo {
                id: half_day.clone(),
                date: row.day,
                slot: row.slot,
                starts_at: row.starts_at,
                ends_at: row.ends_at,
                minutes: row.minutes,
                module: row.module,
                venue: row.venue,
                venue_address,
                venue_slug: row.venue_slug,
            })
        }
        _ => Err(AttendanceError::WrongHalfDay),
    }
}

/// A half-day with the full address of its venue.
#[derive(Queryable, Selectable)]
#[diesel(table_name = half_days)]
struct HalfDayPlace {
    training_session_id: TrainingSessionId,
    day: NaiveDate,
    slot: Slot,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    minutes: i32,
    module: Option<String>,
    #[diesel(select_expression = venues::name)]
    venue: String,
    #[diesel(select_expression = venues::slug)]
    venue_slug: String,
    #[diesel(select_expression = venues::address)]
    address: Option<String>,
    #[diesel(select_expression = venues::postcode)]
    postcode: Option<String>,
    #[diesel(select_expression = communes::name)]
    commune: String,
}

pub(crate) fn sheet_inside(
    conn: &mut DbConn,
    right: SessionRight,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    now: NaiveDateTime,
) -> Result<Sheet, AttendanceError> {
    let info = half_day_info(conn, session, half_day)?;
    let header = session_header(conn, session)?;
    let entries = load_entries(conn, session, Some(half_day))?;
    let confirmed = confirmed_trainees(conn, session)?;
    let mut everyone: Vec<UserId> = entries.iter().flat_map(|e| [e.subject.clone(), e.recorded_by.clone()]).collect();
    everyone.extend(confirmed.iter().map(|m| m.id.clone()));
    let names = roster::members(conn, &everyone)?;
    let name_of = |id: &UserId| names.get(id).map(|m| m.name.clone()).unwrap_or_else(|| id.to_string());

    // Confirmed trainees first, then anyone else with entries (by name): (member, enrolled).
    let mut order: Vec<(Member, bool)> = confirmed.into_iter().map(|m| (m, true)).collect();
    let listed: HashSet<UserId> = order.iter().map(|(m, _)| m.id.clone()).collect();
    let mut extra: BTreeMap<(String, UserId), String> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.kind == EntryKind::TraineeStatus && !listed.contains(&e.subject)) {
        let (name, email) = names.get(&entry.subject).map(|m| (m.name.clone(), m.email.clone())).unwrap_or_default();
        extra.insert((name, entry.subject.clone()), email);
    }
    order.extend(extra.into_iter().map(|((name, id), email)| (Member { id, name, email }, false)));

    let mut rows = Vec::with_capacity(order.len());
    for (Member { id: trainee, name, email }, enrolled) in order {
        let mine: Vec<&EntryLine> =
            entries.iter().filter(|e| e.kind == EntryKind::TraineeStatus && e.subject == trainee).collect();
        let last_seq = mine.last().map(|e| e.seq);
        let history: Vec<HistoryEntry> = mine
            .iter()
            .map(|e| HistoryEntry {
                seq: e.seq,
                entry: e.id.clone(),
                status: e.status,
                late_minutes: e.late_minutes,
                left_early_minutes: e.left_early_minutes,
                reason: e.reason.clone(),
                method: Some(e.method),
                recorded_by: name_of(&e.recorded_by),
                recorded_at: e.recorded_at,
                correction_reason: e.correction_reason.clone(),
                superseded: Some(e.seq) != last_seq,
                entry_hash: e.entry_hash.clone(),
            })
            .collect();
        let current = mine.last();
        let status = current.and_then(|e| e.status);
        let signature = signature_of(&entries, &trainee, half_day)
            .filter(|_| status.is_some_and(AttendanceStatus::attended))
            .map(|e| SignatureState {
                method: e.method,
                at: e.recorded_at,
                evidence_sha256: e.evidence_sha256.clone(),
                entry: e.id.clone(),
            });
        rows.push(SheetRow {
            trainee,
            name,
            email,
            enrolled,
            status,
            late_minutes: current.map(|e| e.late_minutes).unwrap_or(0),
            left_early_minutes: current.map(|e| e.left_early_minutes).unwrap_or(0),
            reason: current.and_then(|e| e.reason.clone()),
            method: current.map(|e| e.method),
            recorded_at: current.map(|e| e.recorded_at),
            signature,
            history,
        });
    }
    let cosign = entries.iter().find(|e| e.kind == EntryKind::TrainerCosign).map(|e| Cosignature {
        trainer: e.subject.clone(),
        name: name_of(&e.subject),
        at: e.recorded_at,
        seq: e.seq,
        entry_hash: e.entry_hash.clone(),
    });
    let state = HalfDayState::of(info.starts_at, info.ends_at, cosign.is_some(), now);
    let missing = rows.iter().filter(|r| r.enrolled && r.status.is_none()).count() as i64;
    let started = now >= info.starts_at;
    Ok(Sheet {
        session: header,
        can_record: right.can_write() && started,
        can_cosign: right.can_write() && started && cosign.is_none() && missing == 0,
        missing,
        state,
        right,
        rows,
        cosign,
        ledger: super::ledger_position(conn, session)?,
        half_day: info,
    })
}

/// Minutes attended per trainee in `session`, computed from the ledger: only the latest entry per
/// trainee and half-day counts; present counts the half-day in full, late and left-early count it
/// minus the minutes missed, absent and excused count zero.
pub fn attended_minutes(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainees: &[UserId],
) -> Result<HashMap<UserId, i64>, DbError> {
    let schedule: Vec<HalfDayMinutes> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .select(HalfDayMinutes::as_select())
        .load(conn)?;
    let minutes_of: HashMap<HalfDayId, i32> = schedule.into_iter().map(|h| (h.id, h.minutes)).collect();
    attended_minutes_with_schedule(conn, session, trainees, &minutes_of)
}

/// [`attended_minutes`] with the session's scheduled minutes per half-day already loaded.
pub fn attended_minutes_with_schedule(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainees: &[UserId],
    minutes_of: &HashMap<HalfDayId, i32>,
) -> Result<HashMap<UserId, i64>, DbError> {
    let mut totals: HashMap<UserId, i64> = HashMap::new();
    for chunk in trainees.chunks(2_000) {
        let entries: Vec<CountedEntry> = attendance_entries::table
            .filter(attendance_entries::training_session_id.eq(session))
            .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
            .filter(attendance_entries::subject_id.eq_any(chunk))
            .select(CountedEntry::as_select())
            .load(conn)?;
        let mut latest: BTreeMap<(UserId, HalfDayId), CountedEntry> = BTreeMap::new();
        for entry in entries {
            let key = (entry.subject_id.clone(), entry.half_day_id.clone());
            match latest.get(&key) {
                Some(kept) if kept.seq >= entry.seq => {}
                _ => {
                    latest.insert(key, entry);
                }
            }
        }
        for ((trainee, half_day), entry) in latest {
            let scheduled = i64::from(minutes_of.get(&half_day).copied().unwrap_or(0));
            *totals.entry(trainee).or_default() +=
                minutes_counted(entry.status, scheduled, entry.late_minutes, entry.left_early_minutes);
        }
    }
    Ok(totals)
}

/// The minutes scheduled on a half-day.
#[derive(Queryable, Selectable)]
#[diesel(table_name = half_days)]
struct HalfDayMinutes {
    id: HalfDayId,
    minutes: i32,
}

/// What a status entry counts towards the minutes attended.
#[derive(Queryable, Selectable)]
#[diesel(table_name = attendance_entries)]
struct CountedEntry {
    subject_id: UserId,
    half_day_id: HalfDayId,
    seq: i64,
    status: Option<AttendanceStatus>,
    late_minutes: i32,
    left_early_minutes: i32,
}

/// Minutes a status counts on a half-day of `scheduled` minutes.
pub fn minutes_counted(status: Option<AttendanceStatus>, scheduled: i64, late: i32, left_early: i32) -> i64 {
    match status {
        Some(AttendanceStatus::Present) => scheduled,
        Some(AttendanceStatus::Late) => (scheduled - i64::from(late)).max(0),
        Some(AttendanceStatus::LeftEarly) => (scheduled - i64::from(left_early)).max(0),
        _ => 0,
    }
}

/// A half-day as the trainee sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyHalfDayAttendance {
    /// Half-day.
    pub half_day: HalfDayId,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Scheduled minutes.
    pub minutes: i32,
    /// Current status.
    pub status: Option<AttendanceStatus>,
    /// Minutes counted.
    pub attended_minutes: i64,
    /// True when the trainee signed (code, drawing or paper).
    pub signed: bool,
    /// True once the trainer co-signed.
    pub closed: bool,
}

/// A trainee's attendance in one session.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyAttendance {
    /// The session.
    pub session: SessionHeader,
    /// Minutes scheduled in total.
    pub scheduled_minutes: i64,
    /// Minutes scheduled on half-days already started.
    pub elapsed_minutes: i64,
    /// Minutes actually attended.
    pub attended_minutes: i64,
    /// Half-days already started, in order.
    pub half_days: Vec<MyHalfDayAttendance>,
    /// The certificat de réalisation can be downloaded (at least one half-day has started).
    pub completion_available: bool,
    /// The attestation de fin de formation can be downloaded (the last half-day is over).
    pub attestation_available: bool,
}

/// Every session where `trainee` is (or was) a confirmed trainee, with their attendance.
pub fn my_attendance(
    conn: &mut DbConn,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<Vec<MyAttendance>, AttendanceError> {
    db::read_transaction(conn, |conn| {
        let sessions = roster::sessions_of_trainee(conn, trainee, &roster::SIGNING)?;
        let mut out = Vec::with_capacity(sessions.len());
        for session in sessions {
            out.push(one_attendance(conn, &session, trainee, now)?);
        }
        out.sort_by_key(|record| std::cmp::Reverse(record.session.start));
        Ok(out)
    })
}

/// One trainee's attendance in one session (no access check: callers check).
pub(crate) fn one_attendance(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    now: NaiveDateTime,
) -> Result<MyAttendance, AttendanceError> {
    let header = session_header(conn, session)?;
    let rows = schedule(conn, session)?;
    let entries: Vec<EntryLine> = load_entries(conn, session, None)?
        .into_iter()
        .filter(|e| &e.subject == trainee || e.kind == EntryKind::TrainerCosign)
        .collect();
    let latest = latest_by_trainee(&entries);
    let closed: HashSet<&HalfDayId> =
        entries.iter().filter(|e| e.kind == EntryKind::TrainerCosign).map(|e| &e.half_day).collect();
    let mut half_days = Vec::new();
    let mut attended = 0_i64;
    let mut elapsed = 0_i64;
    let scheduled: i64 = rows.iter().map(|r| i64::from(r.minutes)).sum();
    for row in rows.iter().filter(|r| r.starts_at <= now) {
        let id = &row.id;
        elapsed += i64::from(row.minutes);
        let entry = latest.get(&(trainee.clone(), id.clone()));
        let counted = entry
            .map(|e| minutes_counted(e.status, i64::from(row.minutes), e.late_minutes, e.left_early_minutes))
            .unwrap_or(0);
        attended += counted;
        let status = entry.and_then(|e| e.status);
        half_days.push(MyHalfDayAttendance {
            half_day: id.clone(),
            date: row.day,
            slot: row.slot,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            minutes: row.minutes,
            status,
            attended_minutes: counted,
            signed: status.is_some_and(AttendanceStatus::attended) && signature_of(&entries, trainee, id).is_some(),
            closed: closed.contains(id),
        });
    }
    let last_end = rows.iter().map(|r| r.ends_at).max();
    Ok(MyAttendance {
        session: header,
        scheduled_minutes: scheduled,
        elapsed_minutes: elapsed,
        attended_minutes: attended,
        completion_available: !half_days.is_empty(),
        attestation_available: last_end.is_some_and(|end| end <= now),
        half_days,
    })
}
