//! Attendance (émargement): an append-only ledger per training session, hash-chained so that any
//! later edit, deletion or insertion of stored rows is detectable (art. R6332-26 Code du travail:
//! attendance sheets prove that each sequence took place).
//!
//! Each entry's hash is SHA-256 over a canonical text encoding of the entry followed by the previous
//! entry's hash; the session row keeps the head (last sequence number and hash) so that removing the
//! last entries is detected too. A correction never edits: it appends an entry that supersedes.
//!
//! Around the ledger:
//! - [`authz`]: who may read or write a session's attendance (the only home of that rule);
//! - [`sheets`]: what trainers and trainees read (sessions, half-days, sheets with history,
//!   absence alerts, hours actually attended);
//! - [`recording`]: what trainers write (a whole sheet in one transaction, drawn signatures,
//!   co-signature of a complete sheet);
//! - [`checkin`]: the trainee's self check-in with a short-lived code;
//! - [`signature`]: the vector format of drawn signatures;
//! - [`records`]: the data printed on the feuille d'émargement and the certificat de réalisation.

pub mod authz;
pub mod checkin;
pub mod recording;
pub mod records;
pub mod sheets;
pub mod signature;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, enrolments, half_days, training_sessions};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::{Classify, ErrorKind};

pub use authz::{Actor, SessionRight, ensure_can_read, ensure_trainer_of};
pub use sheets::{attended_minutes, attended_minutes_with_schedule};

/// `prev_hash` of the first entry of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Errors of attendance use cases.
#[derive(Debug, thiserror::Error)]
pub enum AttendanceError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// The half-day is not part of this session.
    #[error("cette demi-journée n'appartient pas à la session")]
    WrongHalfDay,
    /// The half-day has not started.
    #[error("impossible d'émarger avant le début de la demi-journée")]
    NotStarted,
    /// The half-day is over (self check-in and codes only work during it).
    #[error("la demi-journée est terminée : l'émargement par code n'est plus possible")]
    HalfDayOver,
    /// The trainee is not a confirmed trainee of the session.
    #[error("cette personne n'est pas stagiaire confirmé·e de la session")]
    NotATrainee,
    /// The half-day was co-signed; only a superseding entry with a reason may change it.
    #[error("demi-journée déjà contresignée : une correction doit indiquer un motif")]
    ClosedHalfDay,
    /// Some trainees have no status yet: the sheet cannot be co-signed.
    #[error("impossible de contresigner : {0} stagiaire(s) sans statut sur cette demi-journée")]
    IncompleteSheet(usize),
    /// No such session.
    #[error("session inconnue")]
    UnknownTrainingSession,
    /// The person has no training record in the session (never a confirmed trainee of it).
    #[error("aucun document : cette personne n'a pas été stagiaire de cette session")]
    NoTrainingRecord,
    /// The caller may not read or write this session's attendance.
    #[error("accès refusé : {0}")]
    Forbidden(&'static str),
    /// The check-in code matches no code ever issued.
    #[error("code d'émargement inconnu : vérifiez le code affiché par votre formateur·rice")]
    UnknownCheckinCode,
    /// The check-in code was valid but has expired.
    #[error("code d'émargement expiré : demandez le nouveau code affiché par votre formateur·rice")]
    ExpiredCheckinCode,
    /// Too many wrong check-in codes from this account or address: guessing is slowed down.
    #[error("trop de codes d'émargement erronés : réessayez dans {minutes} minute(s)")]
    TooManyCheckinAttempts {
        /// Minutes until codes are accepted again.
        minutes: i64,
    },
    /// The trainee already signed this half-day (a code cannot be replayed).
    #[error("vous avez déjà émargé cette demi-journée")]
    AlreadySigned,
    /// One line of a sheet was refused; nothing of the sheet was written.
    #[error("{trainee} : {source}")]
    InSheet {
        /// Who the line is about (name or the identifier sent).
        trainee: String,
        /// Why it was refused.
        source: Box<AttendanceError>,
    },
    /// A document could not be rendered.
    #[error(transparent)]
    Document(#[from] crate::documents::PdfError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for AttendanceError {
    fn kind(&self) -> ErrorKind {
        match self {
            AttendanceError::Invalid(_)
            | AttendanceError::WrongHalfDay
            | AttendanceError::NotATrainee
            | AttendanceError::UnknownCheckinCode
            | AttendanceError::ExpiredCheckinCode => ErrorKind::Invalid,
            AttendanceError::NotStarted
            | AttendanceError::HalfDayOver
            | AttendanceError::ClosedHalfDay
            | AttendanceError::IncompleteSheet(_)
            | AttendanceError::AlreadySigned => ErrorKind::Conflict,
            AttendanceError::UnknownTrainingSession | AttendanceError::NoTrainingRecord => ErrorKind::NotFound,
            AttendanceError::Forbidden(_) => ErrorKind::Forbidden,
            AttendanceError::TooManyCheckinAttempts { .. } => ErrorKind::RateLimited,
            AttendanceError::InSheet { source, .. } => source.kind(),
            AttendanceError::Document(e) => e.kind(),
            AttendanceError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AttendanceError::Invalid(_) => "invalid_attendance",
            AttendanceError::WrongHalfDay => "wrong_half_day",
            AttendanceError::NotStarted => "half_day_not_started",
            AttendanceError::HalfDayOver => "half_day_over",
            AttendanceError::NotATrainee => "not_a_trainee",
            AttendanceError::ClosedHalfDay => "half_day_closed",
            AttendanceError::IncompleteSheet(_) => "incomplete_sheet",
            AttendanceError::UnknownTrainingSession => "unknown_session",
            AttendanceError::NoTrainingRecord => "no_training_record",
            AttendanceError::Forbidden(_) => "forbidden",
            AttendanceError::UnknownCheckinCode => "unknown_checkin_code",
            AttendanceError::ExpiredCheckinCode => "expired_checkin_code",
            AttendanceError::AlreadySigned => "already_signed",
            AttendanceError::TooManyCheckinAttempts { .. } => "too_many_checkin_attempts",
            AttendanceError::InSheet { source, .. } => source.code(),
            AttendanceError::Document(e) => e.code(),
            AttendanceError::Db(e) => e.code(),
        }
    }
}

crate::text_enum! {
    /// A trainee's status on a half-day.
    pub enum AttendanceStatus: "statut" {
        /// Présent.
        Present = "present", "Présent·e";
        /// En retard (minutes).
        Late = "late", "En retard";
        /// Parti plus tôt (minutes).
        LeftEarly = "left_early", "Parti·e plus tôt";
        /// Absent.
        Absent = "absent", "Absent·e";
        /// Absence excusée (reason).
        Excused = "excused", "Absence excusée";
    }
}

impl AttendanceStatus {
    /// Parses user input (the stored form, surrounding spaces ignored).
    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        AttendanceStatus::from_stored(raw.trim()).map_err(|_| {
            AttendanceError::Invalid(format!(
                "statut inconnu « {} » (attendu : present, late, left_early, absent ou excused)",
                raw.chars().take(30).collect::<String>()
            ))
        })
    }

    /// True for the statuses that mean the trainee was there for at least part of the half-day.
    pub fn attended(self) -> bool {
        matches!(self, AttendanceStatus::Present | AttendanceStatus::Late | AttendanceStatus::LeftEarly)
    }
}

crate::text_enum! {
    /// How the evidence was collected.
    pub enum SignatureMethod: "mode d'émargement" {
        /// The trainee checked in from their phone with the half-day's code.
        SelfCheckin = "self_checkin", "code sur téléphone";
        /// Signature drawn on the trainer's device.
        DrawnSignature = "drawn_signature", "signature tracée";
        /// Status entered by the trainer (absences, lateness).
        TrainerEntry = "trainer_entry", "saisie du formateur";
        /// Recorded from a scanned paper sheet (its hash is the evidence).
        PaperScan = "paper_scan", "feuille papier numérisée";
    }
}

impl SignatureMethod {
    /// Parses user input (the stored form, surrounding spaces ignored).
    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        SignatureMethod::from_stored(raw.trim()).map_err(|_| {
            AttendanceError::Invalid(format!(
                "mode d'émargement inconnu « {} »",
                raw.chars().take(30).collect::<String>()
            ))
        })
    }

    /// True when the entry carries the trainee's own signature (not just the trainer's word).
    pub fn is_signature(self) -> bool {
        matches!(self, SignatureMethod::SelfCheckin | SignatureMethod::DrawnSignature | SignatureMethod::PaperScan)
    }
}

/// Input of [`record_trainee_status`].
#[derive(Debug, Clone)]
pub struct TraineeStatusInput {
    /// The half-day.
    pub half_day: HalfDayId,
    /// The trainee.
    pub trainee: UserId,
    /// Status.
    pub status: AttendanceStatus,
    /// Minutes late (only with `Late`).
    pub late_minutes: i32,
    /// Minutes left early (only with `LeftEarly`).
    pub left_early_minutes: i32,
    /// Reason (excused absence, or correction of a closed half-day).
    pub reason: Option<String>,
    /// Evidence method.
    pub method: SignatureMethod,
    /// Drawn signature data (SVG path or data URL), if any.
    pub signature_data: Option<String>,
    /// SHA-256 of external evidence (scanned sheet), if any.
    pub evidence_sha256: Option<String>,
}

/// One row of the ledger, as hashed. Field order here is the canonical order.
struct CanonicalEntry<'a> {
    id: &'a str,
    training_session_id: &'a str,
    seq: i64,
    half_day_id: &'a str,
    subject_id: &'a str,
    kind: &'a str,
    status: Option<&'a str>,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<&'a str>,
    method: &'a str,
    signature_data: Option<&'a str>,
    evidence_sha256: Option<&'a str>,
    supersedes_id: Option<&'a str>,
    correction_reason: Option<&'a str>,
    recorded_by: &'a str,
    recorded_at: NaiveDateTime,
}

impl CanonicalEntry<'_> {
    /// `key=value` lines; absent values are written `-`, text values are JSON-quoted so that a
    /// newline inside a reason cannot forge another field.
    fn hash(&self, prev_hash: &str) -> String {
        let text = |v: Option<&str>| v.map(|s| serde_json::Value::from(s).to_string()).unwrap_or_else(|| "-".into());
        let canonical = format!(
            "v1\nid={}\nsession={}\nseq={}\nhalf_day={}\nsubject={}\nkind={}\nstatus={}\nlate={}\nleft_early={}\nreason={}\nmethod={}\nsignature={}\nevidence={}\nsupersedes={}\ncorrection={}\nby={}\nat={}\nprev={}\n",
            self.id,
            self.training_session_id,
            self.seq,
            self.half_day_id,
            self.subject_id,
            self.kind,
            self.status.unwrap_or("-"),
            self.late_minutes,
            self.left_early_minutes,
            text(self.reason),
            self.method,
            text(self.signature_data),
            text(self.evidence_sha256),
            self.supersedes_id.unwrap_or("-"),
            text(self.correction_reason),
            self.recorded_by,
            self.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            prev_hash,
        );
        hex(&Sha256::digest(canonical.as_bytes()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, lower-case hex (the form evidence hashes are stored in).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Inserts one entry (without moving the session's head); returns its hash.
fn insert_entry(conn: &mut DbConn, entry: &CanonicalEntry<'_>, prev_hash: &str) -> Result<String, DbError> {
    let entry_hash = entry.hash(prev_hash);
    diesel::insert_into(attendance_entries::table)
        .values((
            attendance_entries::id.eq(entry.id),
            attendance_entries::training_session_id.eq(entry.training_session_id),
            attendance_entries::seq.eq(entry.seq),
            attendance_entries::half_day_id.eq(entry.half_day_id),
            attendance_entries::subject_id.eq(entry.subject_id),
            attendance_entries::kind.eq(entry.kind),
            attendance_entries::status.eq(entry.status),
            attendance_entries::late_minutes.eq(entry.late_minutes),
            attendance_entries::left_early_minutes.eq(entry.left_early_minutes),
            attendance_entries::reason.eq(entry.reason),
            attendance_entries::method.eq(entry.method),
            attendance_entries::signature_data.eq(entry.signature_data),
            attendance_entries::evidence_sha256.eq(entry.evidence_sha256),
            attendance_entries::supersedes_id.eq(entry.supersedes_id),
            attendance_entries::correction_reason.eq(entry.correction_reason),
            attendance_entries::recorded_by.eq(entry.recorded_by),
            attendance_entries::recorded_at.eq(entry.recorded_at),
            attendance_entries::prev_hash.eq(prev_hash),
            attendance_entries::entry_hash.eq(&entry_hash),
        ))
        .execute(conn)?;
    Ok(entry_hash)
}

/// Appends one entry to the session's chain; the caller holds the session lock.
fn append(
    conn: &mut DbConn,
    entry: &CanonicalEntry<'_>,
    session: &TrainingSessionId,
    prev_hash: &str,
) -> Result<String, DbError> {
    let entry_hash = insert_entry(conn, entry, prev_hash)?;
    diesel::update(training_sessions::table.find(session))
        .set((training_sessions::ledger_seq.eq(entry.seq), training_sessions::ledger_head.eq(&entry_hash)))
        .execute(conn)?;
    Ok(entry_hash)
}

/// The end of a session's chain while a use case appends several entries under the lock: the
/// head is written back once, at the end ([`LedgerCursor::store`]).
struct LedgerCursor {
    seq: i64,
    head: String,
}

impl LedgerCursor {
    /// Inserts `entry` (whose `seq` must be `self.seq + 1`) and moves the cursor.
    fn push(&mut self, conn: &mut DbConn, entry: &CanonicalEntry<'_>) -> Result<String, DbError> {
        let hash = insert_entry(conn, entry, &self.head)?;
        self.seq = entry.seq;
        self.head = hash.clone();
        Ok(hash)
    }

    /// Writes the head back to the session row.
    fn store(&self, conn: &mut DbConn, session: &TrainingSessionId) -> Result<(), DbError> {
        diesel::update(training_sessions::table.find(session))
            .set((training_sessions::ledger_seq.eq(self.seq), training_sessions::ledger_head.eq(&self.head)))
            .execute(conn)?;
        Ok(())
    }
}

fn lock_ledger(conn: &mut DbConn, session: &TrainingSessionId) -> Result<(i64, String), AttendanceError> {
    db::lock_row_for_update(conn, LockableTable::TrainingSessions, session.as_str())?;
    training_sessions::table
        .find(session)
        .select((training_sessions::ledger_seq, training_sessions::ledger_head))
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(AttendanceError::UnknownTrainingSession)
}

fn lock_cursor(conn: &mut DbConn, session: &TrainingSessionId) -> Result<LedgerCursor, AttendanceError> {
    let (seq, head) = lock_ledger(conn, session)?;
    Ok(LedgerCursor { seq, head })
}

fn is_cosigned(conn: &mut DbConn, half_day: &HalfDayId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        attendance_entries::table
            .filter(attendance_entries::half_day_id.eq(half_day))
            .filter(attendance_entries::kind.eq("trainer_cosign")),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// A half-day of the session being written to.
struct HalfDayContext {
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    minutes: i32,
    closed: bool,
}

/// The half-day, refused unless it belongs to `session`.
fn load_half_day(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
) -> Result<HalfDayContext, AttendanceError> {
    let row: Option<(TrainingSessionId, NaiveDateTime, NaiveDateTime, i32)> = half_days::table
        .find(half_day)
        .select((half_days::training_session_id, half_days::starts_at, half_days::ends_at, half_days::minutes))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    match row {
        Some((owner, starts_at, ends_at, minutes)) if &owner == session => {
            Ok(HalfDayContext { starts_at, ends_at, minutes, closed: is_cosigned(conn, half_day)? })
        }
        _ => Err(AttendanceError::WrongHalfDay),
    }
}

/// Enrolment statuses whose trainees sign attendance.
const SIGNING_ENROLMENTS: [crate::enrolment::EnrolmentStatus; 2] = crate::enrolment::EnrolmentStatus::SEATED;

fn is_confirmed_trainee(conn: &mut DbConn, session: &TrainingSessionId, trainee: &UserId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        enrolments::table
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::trainee_id.eq(trainee))
            .filter(enrolments::status.eq_any(SIGNING_ENROLMENTS)),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// The latest `trainee_status` entry of one trainee on one half-day.
#[derive(Debug, Clone)]
struct LatestEntry {
    id: AttendanceEntryId,
    status: Option<String>,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<String>,
}

fn latest_status_entry(
    conn: &mut DbConn,
    half_day: &HalfDayId,
    trainee: &UserId,
) -> Result<Option<LatestEntry>, DbError> {
    let row: Option<LatestEntryRow> = attendance_entries::table
        .filter(attendance_entries::half_day_id.eq(half_day))
        .filter(attendance_entries::subject_id.eq(trainee))
        .filter(attendance_entries::kind.eq("trainee_status"))
        .order(attendance_entries::seq.desc())
        .select((
            attendance_entries::id,
            attendance_entries::status,
            attendance_entries::late_minutes,
            attendance_entries::left_early_minutes,
            attendance_entries::reason,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, status, late_minutes, left_early_minutes, reason)| LatestEntry {
        id,
        status,
        late_minutes,
        left_early_minutes,
        reason,
    }))
}

/// A status checked against the rules, with the fields that do not apply zeroed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CleanStatus {
    status: AttendanceStatus,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<String>,
}

impl CleanStatus {
    /// True when `latest` already says exactly this (re-sending a sheet adds no noise to history).
    fn same_as(&self, latest: &LatestEntry) -> bool {
        latest.status.as_deref() == Some(self.status.as_str())
            && latest.late_minutes == self.late_minutes
            && latest.left_early_minutes == self.left_early_minutes
            && latest.reason == self.reason
    }
}

/// Trims a free-text field; empty becomes absent.
fn clean_text(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn clean_status(
    status: AttendanceStatus,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<&str>,
) -> Result<CleanStatus, AttendanceError> {
    let reason = clean_text(reason);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AttendanceError::Invalid("motif trop long (500 caractères au plus)".into()));
    }
    if let Some(problem) = reason.as_deref().and_then(crate::text::control_character_problem) {
        return Err(AttendanceError::Invalid(format!("motif : {problem}")));
    }
    match status {
        AttendanceStatus::Late if !(1..=240).contains(&late_minutes) => {
            return Err(AttendanceError::Invalid("un retard se compte de 1 à 240 minutes".into()));
        }
        AttendanceStatus::LeftEarly if !(1..=240).contains(&left_early_minutes) => {
            return Err(AttendanceError::Invalid("un départ anticipé se compte de 1 à 240 minutes".into()));
        }
        AttendanceStatus::Excused if reason.is_none() => {
            return Err(AttendanceError::Invalid("une absence excusée demande un motif".into()));
        }
        _ => {}
    }
    Ok(CleanStatus {
        status,
        late_minutes: if status == AttendanceStatus::Late { late_minutes } else { 0 },
        left_early_minutes: if status == AttendanceStatus::LeftEarly { left_early_minutes } else { 0 },
        reason,
    })
}

/// Checks the size of signature data and the form of an evidence hash.
fn check_evidence(signature_data: Option<&str>, evidence_sha256: Option<&str>) -> Result<(), AttendanceError> {
    if signature_data.is_some_and(|s| s.len() > 200_000) {
        return Err(AttendanceError::Invalid("signature trop volumineuse".into()));
    }
    if let Some(h) = evidence_sha256
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AttendanceError::Invalid("empreinte SHA-256 invalide (64 caractères hexadécimaux)".into()));
    }
    Ok(())
}

/// A trainee-status entry about to be chained.
struct StatusEntry<'a> {
    half_day: &'a HalfDayId,
    trainee: &'a UserId,
    clean: &'a CleanStatus,
    method: SignatureMethod,
    signature_data: Option<&'a str>,
    evidence_sha256: Option<&'a str>,
    supersedes: Option<&'a AttendanceEntryId>,
    correction_reason: Option<&'a str>,
    recorded_by: &'a UserId,
    recorded_at: NaiveDateTime,
}

fn push_status(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    cursor: &mut LedgerCursor,
    entry: &StatusEntry<'_>,
) -> Result<AttendanceEntryId, DbError> {
    let id = AttendanceEntryId::generate();
    let canonical = CanonicalEntry {
        id: id.as_str(),
        training_session_id: session.as_str(),
        seq: cursor.seq + 1,
        half_day_id: entry.half_day.as_str(),
        subject_id: entry.trainee.as_str(),
        kind: "trainee_status",
        status: Some(entry.clean.status.as_str()),
        late_minutes: entry.clean.late_minutes,
        left_early_minutes: entry.clean.left_early_minutes,
        reason: entry.clean.reason.as_deref(),
        method: entry.method.as_str(),
        signature_data: entry.signature_data,
        evidence_sha256: entry.evidence_sha256,
        supersedes_id: entry.supersedes.map(AttendanceEntryId::as_str),
        correction_reason: entry.correction_reason,
        recorded_by: entry.recorded_by.as_str(),
        recorded_at: entry.recorded_at,
    };
    cursor.push(conn, &canonical)?;
    Ok(id)
}

/// Records a trainee's status on a half-day (one ledger entry). Only for a confirmed trainee of the
/// session, on one of its half-days, once the half-day has started. A second entry for the same
/// trainee and half-day supersedes the first; after co-signature it needs a reason.
///
/// This is the trusted primitive (fixtures, imports): it does not ask who is calling. Doors use
/// [`recording::record_sheet`], which checks that the caller teaches the session.
pub fn record_trainee_status(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    recorded_by: &UserId,
    input: &TraineeStatusInput,
    now: NaiveDateTime,
) -> Result<AttendanceEntryId, AttendanceError> {
    let clean = clean_status(input.status, input.late_minutes, input.left_early_minutes, input.reason.as_deref())?;
    check_evidence(input.signature_data.as_deref(), input.evidence_sha256.as_deref())?;
    db::write_transaction(conn, |conn| {
        let mut cursor = lock_cursor(conn, session)?;
        let half_day = load_half_day(conn, session, &input.half_day)?;
        if now < half_day.starts_at {
            return Err(AttendanceError::NotStarted);
        }
        if !is_confirmed_trainee(conn, session, &input.trainee)? {
            return Err(AttendanceError::NotATrainee);
        }
        let previous = latest_status_entry(conn, &input.half_day, &input.trainee)?;
        let correction_reason = if half_day.closed {
            if previous.is_none() || clean.reason.is_none() {
                return Err(AttendanceError::ClosedHalfDay);
            }
            clean.reason.clone()
        } else {
            None
        };
        let id = push_status(
            conn,
            session,
            &mut cursor,
            &StatusEntry {
                half_day: &input.half_day,
                trainee: &input.trainee,
                clean: &clean,
                method: input.method,
                signature_data: input.signature_data.as_deref(),
                evidence_sha256: input.evidence_sha256.as_deref(),
                supersedes: previous.as_ref().map(|p| &p.id),
                correction_reason: correction_reason.as_deref(),
                recorded_by,
                recorded_at: now,
            },
        )?;
        cursor.store(conn, session)?;
        Ok(id)
    })
}

/// The trainer co-signs a half-day, which closes it.
///
/// Trusted primitive (fixtures): doors use [`recording::cosign_sheet`], which also checks that the
/// caller teaches the session and that every trainee has a status.
pub fn cosign_half_day(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    trainer: &UserId,
    now: NaiveDateTime,
) -> Result<AttendanceEntryId, AttendanceError> {
    db::write_transaction(conn, |conn| {
        let (seq, head) = lock_ledger(conn, session)?;
        let context = load_half_day(conn, session, half_day)?;
        if now < context.starts_at {
            return Err(AttendanceError::NotStarted);
        }
        if context.closed {
            return Err(AttendanceError::ClosedHalfDay);
        }
        let id = AttendanceEntryId::generate();
        let entry = CanonicalEntry {
            id: id.as_str(),
            training_session_id: session.as_str(),
            seq: seq + 1,
            half_day_id: half_day.as_str(),
            subject_id: trainer.as_str(),
            kind: "trainer_cosign",
            status: None,
            late_minutes: 0,
            left_early_minutes: 0,
            reason: None,
            method: "cosign",
            signature_data: None,
            evidence_sha256: None,
            supersedes_id: None,
            correction_reason: None,
            recorded_by: trainer.as_str(),
            recorded_at: now,
        };
        append(conn, &entry, session, &head)?;
        Ok(id)
    })
}

/// Position of a session's chain: the last sequence number and its hash. Printed on sheets so
/// that a paper copy can be matched against the data ([`entry_hash_at`]).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerPosition {
    /// Last sequence number (0 for an empty chain).
    pub seq: i64,
    /// Hash of that entry ([`GENESIS_HASH`] for an empty chain).
    pub hash: String,
}

/// The current head of a session's chain.
pub fn ledger_position(conn: &mut DbConn, session: &TrainingSessionId) -> Result<LedgerPosition, AttendanceError> {
    training_sessions::table
        .find(session)
        .select((training_sessions::ledger_seq, training_sessions::ledger_head))
        .first::<(i64, String)>(conn)
        .optional()
        .map_err(DbError::from)?
        .map(|(seq, hash)| LedgerPosition { seq, hash })
        .ok_or(AttendanceError::UnknownTrainingSession)
}

/// The stored hash of entry `seq` of a session's chain, if it exists. Together with
/// [`verify_ledger`] (which proves stored hashes are genuine), this checks a printed sheet.
pub fn entry_hash_at(conn: &mut DbConn, session: &TrainingSessionId, seq: i64) -> Result<Option<String>, DbError> {
    if seq == 0 {
        return Ok(Some(GENESIS_HASH.to_owned()));
    }
    attendance_entries::table
        .filter(attendance_entries::training_session_id.eq(session))
        .filter(attendance_entries::seq.eq(seq))
        .select(attendance_entries::entry_hash)
        .first(conn)
        .optional()
        .map_err(DbError::from)
}

/// One problem found by [`verify_ledger`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerProblem {
    /// Session whose chain is broken.
    pub session: String,
    /// Sequence number concerned.
    pub seq: i64,
    /// Entry concerned, when it exists.
    pub entry: Option<String>,
    /// `edited`, `missing`, `inserted` or `truncated`.
    pub problem: String,
}

/// Result of [`verify_ledger`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct LedgerReport {
    /// Chains checked.
    pub sessions: u64,
    /// Entries checked.
    pub entries: u64,
    /// Everything that does not match.
    pub problems: Vec<LedgerProblem>,
}

type StoredEntry = (
    AttendanceEntryId,
    TrainingSessionId,
    i64,
    HalfDayId,
    UserId,
    String,
    Option<String>,
    i32,
    i32,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<AttendanceEntryId>,
    Option<String>,
    UserId,
    NaiveDateTime,
    String,
    String,
);

/// Recomputes every chain (or one session's), reading entries in pages so memory stays flat
/// whatever the ledger's size. Names each entry edited, deleted or inserted behind the application.
pub fn verify_ledger(conn: &mut DbConn, only: Option<&TrainingSessionId>) -> Result<LedgerReport, AttendanceError> {
    const PAGE: i64 = 5_000;
    let mut report = LedgerReport::default();
    let mut heads_query = training_sessions::table
        .select((training_sessions::id, training_sessions::ledger_seq, training_sessions::ledger_head))
        .order(training_sessions::id.asc())
        .into_boxed();
    if let Some(id) = only {
        heads_query = heads_query.filter(training_sessions::id.eq(id.clone()));
    }
    let heads: Vec<(TrainingSessionId, i64, String)> = heads_query.load(conn).map_err(DbError::from)?;
    if only.is_some() && heads.is_empty() {
        return Err(AttendanceError::UnknownTrainingSession);
    }
    for (session, head_seq, head_hash) in heads {
        report.sessions += 1;
        let mut expected_seq = 1_i64;
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut last_seq = 0_i64;
        loop {
            let page: Vec<StoredEntry> = attendance_entries::table
                .filter(attendance_entries::training_session_id.eq(&session))
                .filter(attendance_entries::seq.gt(last_seq))
                .order(attendance_entries::seq.asc())
                .limit(PAGE)
                .select((
                    attendance_entries::id,
                    attendance_entries::training_session_id,
                    attendance_entries::seq,
                    attendance_entries::half_day_id,
                    attendance_entries::subject_id,
                    attendance_entries::kind,
                    attendance_entries::status,
                    attendance_entries::late_minutes,
                    attendance_entries::left_early_minutes,
                    attendance_entries::reason,
                    attendance_entries::method,
                    attendance_entries::signature_data,
                    attendance_entries::evidence_sha256,
                    attendance_entries::supersedes_id,
                    attendance_entries::correction_reason,
                    attendance_entries::recorded_by,
                    attendance_entries::recorded_at,
                    attendance_entries::prev_hash,
                    attendance_entries::entry_hash,
                ))
                .load(conn)
                .map_err(DbError::from)?;
            let page_len = page.len();
            for row in page {
                let (
                    id,
                    sid,
                    seq,
                    half_day,
                    subject,
                    kind,
                    status,
                    late,
                    left,
                    reason,
                    method,
                    signature,
                    evidence,
                    supersedes,
                    correction,
                    by,
                    at,
                    stored_prev,
                    stored_hash,
                ) = row;
                report.entries += 1;
                last_seq = seq;
                let problem = |p: &str| LedgerProblem {
                    session: session.to_string(),
                    seq,
                    entry: Some(id.to_string()),
                    problem: p.to_owned(),
                };
                if seq > expected_seq {
                    for missing in expected_seq..seq {
                        report.problems.push(LedgerProblem {
                            session: session.to_string(),
                            seq: missing,
                            entry: None,
                            problem: "missing".into(),
                        });
                    }
                }
                let recomputed = CanonicalEntry {
                    id: id.as_str(),
                    training_session_id: sid.as_str(),
                    seq,
                    half_day_id: half_day.as_str(),
                    subject_id: subject.as_str(),
                    kind: &kind,
                    status: status.as_deref(),
                    late_minutes: late,
                    left_early_minutes: left,
                    reason: reason.as_deref(),
                    method: &method,
                    signature_data: signature.as_deref(),
                    evidence_sha256: evidence.as_deref(),
                    supersedes_id: supersedes.as_ref().map(AttendanceEntryId::as_str),
                    correction_reason: correction.as_deref(),
                    recorded_by: by.as_str(),
                    recorded_at: at,
                }
                .hash(&stored_prev);
                if recomputed != stored_hash {
                    report.problems.push(problem("edited"));
                } else if stored_prev != prev_hash {
                    // Internally consistent but not linked to its predecessor: forged into the chain.
                    report.problems.push(problem("inserted"));
                }
                prev_hash = stored_hash;
                expected_seq = seq + 1;
            }
            if page_len < PAGE as usize {
                break;
            }
        }
        if last_seq != head_seq || (last_seq > 0 && prev_hash != head_hash) {
            report.problems.push(LedgerProblem {
                session: session.to_string(),
                seq: head_seq,
                entry: None,
                problem: "truncated".into(),
            });
        }
    }
    Ok(report)
}

/// The latest `trainee_status` entry of every trainee on one half-day, in one query: what a whole
/// sheet compares its lines with (one round trip instead of one per trainee).
fn latest_status_entries(
    conn: &mut DbConn,
    half_day: &HalfDayId,
) -> Result<std::collections::HashMap<UserId, LatestEntry>, DbError> {
    let rows: Vec<HalfDayStatusRow> = attendance_entries::table
        .filter(attendance_entries::half_day_id.eq(half_day))
        .filter(attendance_entries::kind.eq("trainee_status"))
        .order(attendance_entries::seq.asc())
        .select((
            attendance_entries::subject_id,
            attendance_entries::id,
            attendance_entries::status,
            attendance_entries::late_minutes,
            attendance_entries::left_early_minutes,
            attendance_entries::reason,
        ))
        .load(conn)?;
    // In chain order, so the last entry of each trainee wins.
    Ok(rows
        .into_iter()
        .map(|(subject, id, status, late_minutes, left_early_minutes, reason)| {
            (subject, LatestEntry { id, status, late_minutes, left_early_minutes, reason })
        })
        .collect())
}

/// Id, status, late and left-early minutes and reason of a ledger entry.
type LatestEntryRow = (AttendanceEntryId, Option<String>, i32, i32, Option<String>);
/// The same with the trainee it is about.
type HalfDayStatusRow = (UserId, AttendanceEntryId, Option<String>, i32, i32, Option<String>);
