//! Attendance (émargement): an append-only ledger per training session, hash-chained so that any
//! later edit, deletion or insertion of stored rows is detectable (art. R6332-26 Code du travail:
//! attendance sheets prove that each sequence took place).
//!
//! Each entry's hash is SHA-256 over a canonical text encoding of the entry followed by the previous
//! entry's hash; the session row keeps the head (last sequence number and hash) so that removing the
//! last entries is detected too. A correction never edits: it appends an entry that supersedes.
//!
//! Around the ledger:
//! - [`ledger`]: the chain itself, its one append path and its verification;
//! - [`authz`]: who may read or write a session's attendance, re-exported from
//!   [`crate::rights`] (the only home of that rule); who is in a session is [`crate::roster`];
//! - [`sheets`]: what trainers and trainees read (sessions, half-days, sheets with history,
//!   absence alerts, hours actually attended);
//! - [`recording`]: what trainers write (a whole sheet in one transaction, drawn signatures,
//!   co-signature of a complete sheet);
//! - [`checkin`]: the trainee's self check-in with a short-lived code;
//! - [`signature`]: the vector format of drawn signatures;
//! - [`records`]: the data printed on the feuille d'émargement and the certificat de réalisation.

pub mod checkin;
pub mod ledger;
pub mod recording;
pub mod records;
pub mod sheets;
pub mod signature;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, half_days};
use crate::db::{self, DbConn, DbError};
use crate::roster::is_confirmed_trainee;
use crate::{Classify, ErrorKind};

pub use crate::rights as authz;
pub use crate::rights::{Actor, SessionRight, ensure_can_read, ensure_trainer_of};
pub use ledger::{
    EntryKind, GENESIS_HASH, LedgerPosition, LedgerProblem, LedgerReport, entry_hash_at, ledger_position, sha256_hex,
    verify_ledger,
};
pub use sheets::{attended_minutes, attended_minutes_with_schedule};

use ledger::{Ledger, NewEntry};

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
        /// The trainer's co-signature of a whole half-day (only on [`EntryKind::TrainerCosign`]
        /// entries; never accepted from input).
        Cosign = "cosign", "contresignature du formateur";
    }
}

impl SignatureMethod {
    /// Parses user input (the stored form, surrounding spaces ignored). A co-signature is not a
    /// way to record a status: it is refused like any unknown text.
    pub fn parse(raw: &str) -> Result<Self, AttendanceError> {
        match SignatureMethod::from_stored(raw.trim()) {
            Ok(method) if method != SignatureMethod::Cosign => Ok(method),
            _ => Err(AttendanceError::Invalid(format!(
                "mode d'émargement inconnu « {} »",
                raw.chars().take(30).collect::<String>()
            ))),
        }
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

fn is_cosigned(conn: &mut DbConn, half_day: &HalfDayId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        attendance_entries::table
            .filter(attendance_entries::half_day_id.eq(half_day))
            .filter(attendance_entries::kind.eq(EntryKind::TrainerCosign)),
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
    let row: Option<HalfDayRow> = half_days::table
        .find(half_day)
        .select(HalfDayRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    match row {
        Some(row) if &row.training_session_id == session => Ok(HalfDayContext {
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            minutes: row.minutes,
            closed: is_cosigned(conn, half_day)?,
        }),
        _ => Err(AttendanceError::WrongHalfDay),
    }
}

/// The stored fields of a half-day a writer checks.
#[derive(Queryable, Selectable)]
#[diesel(table_name = half_days)]
struct HalfDayRow {
    training_session_id: TrainingSessionId,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    minutes: i32,
}

/// The latest `trainee_status` entry of one trainee on one half-day.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attendance_entries)]
struct LatestEntry {
    #[diesel(column_name = subject_id)]
    trainee: UserId,
    id: AttendanceEntryId,
    status: Option<AttendanceStatus>,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<String>,
}

fn latest_status_entry(
    conn: &mut DbConn,
    half_day: &HalfDayId,
    trainee: &UserId,
) -> Result<Option<LatestEntry>, DbError> {
    attendance_entries::table
        .filter(attendance_entries::half_day_id.eq(half_day))
        .filter(attendance_entries::subject_id.eq(trainee))
        .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
        .order(attendance_entries::seq.desc())
        .select(LatestEntry::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)
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
        latest.status == Some(self.status)
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

impl StatusEntry<'_> {
    /// Appends this status to the session's chain.
    fn append_to(&self, conn: &mut DbConn, ledger: &mut Ledger) -> Result<AttendanceEntryId, DbError> {
        ledger.append(
            conn,
            &NewEntry {
                half_day: self.half_day,
                subject: self.trainee,
                kind: EntryKind::TraineeStatus,
                status: Some(self.clean.status),
                late_minutes: self.clean.late_minutes,
                left_early_minutes: self.clean.left_early_minutes,
                reason: self.clean.reason.as_deref(),
                method: self.method,
                signature_data: self.signature_data,
                evidence_sha256: self.evidence_sha256,
                supersedes: self.supersedes,
                correction_reason: self.correction_reason,
                recorded_by: self.recorded_by,
                recorded_at: self.recorded_at,
            },
        )
    }
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
        let mut ledger = Ledger::open(conn, session)?;
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
        let id = StatusEntry {
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
        }
        .append_to(conn, &mut ledger)?;
        ledger.close(conn)?;
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
        let mut ledger = Ledger::open(conn, session)?;
        let context = load_half_day(conn, session, half_day)?;
        if now < context.starts_at {
            return Err(AttendanceError::NotStarted);
        }
        if context.closed {
            return Err(AttendanceError::ClosedHalfDay);
        }
        let id = ledger.append(
            conn,
            &NewEntry {
                half_day,
                subject: trainer,
                kind: EntryKind::TrainerCosign,
                status: None,
                late_minutes: 0,
                left_early_minutes: 0,
                reason: None,
                method: SignatureMethod::Cosign,
                signature_data: None,
                evidence_sha256: None,
                supersedes: None,
                correction_reason: None,
                recorded_by: trainer,
                recorded_at: now,
            },
        )?;
        ledger.close(conn)?;
        Ok(id)
    })
}

/// The latest `trainee_status` entry of every trainee on one half-day, in one query: what a whole
/// sheet compares its lines with (one round trip instead of one per trainee).
fn latest_status_entries(
    conn: &mut DbConn,
    half_day: &HalfDayId,
) -> Result<std::collections::HashMap<UserId, LatestEntry>, DbError> {
    let rows: Vec<LatestEntry> = attendance_entries::table
        .filter(attendance_entries::half_day_id.eq(half_day))
        .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
        .order(attendance_entries::seq.asc())
        .select(LatestEntry::as_select())
        .load(conn)?;
    // In chain order, so the last entry of each trainee wins.
    Ok(rows.into_iter().map(|entry| (entry.trainee.clone(), entry)).collect())
}
