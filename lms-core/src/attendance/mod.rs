//! Attendance (émargement): an append-only ledger per training session, hash-chained so that any
//! later edit, deletion or insertion of stored rows is detectable (art. R6332-26 Code du travail:
//! attendance sheets prove that each sequence took place).
//!
//! Each entry's hash is SHA-256 over a canonical text encoding of the entry followed by the previous
//! entry's hash; the session row keeps the head (last sequence number and hash) so that removing the
//! last entries is detected too. A correction never edits: it appends an entry that supersedes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, enrolments, half_days, training_sessions};
use crate::db::{self, DbConn, DbError, LockableTable};
use crate::{Classify, ErrorKind};

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
    /// The trainee is not a confirmed trainee of the session.
    #[error("cette personne n'est pas stagiaire confirmé·e de la session")]
    NotATrainee,
    /// The half-day was co-signed; only a superseding entry with a reason may change it.
    #[error("demi-journée déjà contresignée : une correction doit indiquer un motif")]
    ClosedHalfDay,
    /// No such session.
    #[error("session inconnue")]
    UnknownTrainingSession,
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for AttendanceError {
    fn kind(&self) -> ErrorKind {
        match self {
            AttendanceError::Invalid(_) | AttendanceError::WrongHalfDay | AttendanceError::NotATrainee => {
                ErrorKind::Invalid
            }
            AttendanceError::NotStarted | AttendanceError::ClosedHalfDay => ErrorKind::Conflict,
            AttendanceError::UnknownTrainingSession => ErrorKind::NotFound,
            AttendanceError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AttendanceError::Invalid(_) => "invalid_attendance",
            AttendanceError::WrongHalfDay => "wrong_half_day",
            AttendanceError::NotStarted => "half_day_not_started",
            AttendanceError::NotATrainee => "not_a_trainee",
            AttendanceError::ClosedHalfDay => "half_day_closed",
            AttendanceError::UnknownTrainingSession => "unknown_session",
            AttendanceError::Db(e) => e.code(),
        }
    }
}

/// A trainee's status on a half-day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceStatus {
    /// Présent.
    Present,
    /// En retard (minutes).
    Late,
    /// Parti plus tôt (minutes).
    LeftEarly,
    /// Absent.
    Absent,
    /// Absence excusée (reason).
    Excused,
}

impl AttendanceStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AttendanceStatus::Present => "present",
            AttendanceStatus::Late => "late",
            AttendanceStatus::LeftEarly => "left_early",
            AttendanceStatus::Absent => "absent",
            AttendanceStatus::Excused => "excused",
        }
    }
}

/// How the evidence was collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureMethod {
    /// The trainee checked in from their phone with the half-day's code.
    SelfCheckin,
    /// Signature drawn on the trainer's device.
    DrawnSignature,
    /// Status entered by the trainer (absences, lateness).
    TrainerEntry,
    /// Recorded from a scanned paper sheet (its hash is the evidence).
    PaperScan,
}

impl SignatureMethod {
    fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::SelfCheckin => "self_checkin",
            SignatureMethod::DrawnSignature => "drawn_signature",
            SignatureMethod::TrainerEntry => "trainer_entry",
            SignatureMethod::PaperScan => "paper_scan",
        }
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

/// Appends one entry to the session's chain; the caller holds the session lock.
fn append(
    conn: &mut DbConn,
    entry: &CanonicalEntry<'_>,
    session: &TrainingSessionId,
    prev_hash: &str,
) -> Result<String, DbError> {
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
    diesel::update(training_sessions::table.find(session))
        .set((training_sessions::ledger_seq.eq(entry.seq), training_sessions::ledger_head.eq(&entry_hash)))
        .execute(conn)?;
    Ok(entry_hash)
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

fn is_cosigned(conn: &mut DbConn, half_day: &HalfDayId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        attendance_entries::table
            .filter(attendance_entries::half_day_id.eq(half_day))
            .filter(attendance_entries::kind.eq("trainer_cosign")),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// Records a trainee's status on a half-day (one ledger entry). Only for a confirmed trainee of the
/// session, on one of its half-days, once the half-day has started. A second entry for the same
/// trainee and half-day supersedes the first; after co-signature it needs a reason.
pub fn record_trainee_status(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    recorded_by: &UserId,
    input: &TraineeStatusInput,
    now: NaiveDateTime,
) -> Result<AttendanceEntryId, AttendanceError> {
    let clean = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let reason = clean(&input.reason);
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AttendanceError::Invalid("motif trop long (500 caractères au plus)".into()));
    }
    match input.status {
        AttendanceStatus::Late if !(1..=240).contains(&input.late_minutes) => {
            return Err(AttendanceError::Invalid("un retard se compte de 1 à 240 minutes".into()));
        }
        AttendanceStatus::LeftEarly if !(1..=240).contains(&input.left_early_minutes) => {
            return Err(AttendanceError::Invalid("un départ anticipé se compte de 1 à 240 minutes".into()));
        }
        AttendanceStatus::Excused if reason.is_none() => {
            return Err(AttendanceError::Invalid("une absence excusée demande un motif".into()));
        }
        _ => {}
    }
    let late = if input.status == AttendanceStatus::Late { input.late_minutes } else { 0 };
    let left_early = if input.status == AttendanceStatus::LeftEarly { input.left_early_minutes } else { 0 };
    if input.signature_data.as_ref().is_some_and(|s| s.len() > 200_000) {
        return Err(AttendanceError::Invalid("signature trop volumineuse".into()));
    }
    if let Some(h) = &input.evidence_sha256
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AttendanceError::Invalid("empreinte SHA-256 invalide (64 caractères hexadécimaux)".into()));
    }

    db::write_transaction(conn, |conn| {
        let (seq, head) = lock_ledger(conn, session)?;
        let half_day: Option<(TrainingSessionId, NaiveDateTime)> = half_days::table
            .find(&input.half_day)
            .select((half_days::training_session_id, half_days::starts_at))
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let starts_at = match half_day {
            Some((owner, starts_at)) if &owner == session => starts_at,
            _ => return Err(AttendanceError::WrongHalfDay),
        };
        if now < starts_at {
            return Err(AttendanceError::NotStarted);
        }
        let confirmed: bool = diesel::select(diesel::dsl::exists(
            enrolments::table
                .filter(enrolments::training_session_id.eq(session))
                .filter(enrolments::trainee_id.eq(&input.trainee))
                .filter(enrolments::status.eq_any(["confirmed", "completed"])),
        ))
        .get_result(conn)
        .map_err(DbError::from)?;
        if !confirmed {
            return Err(AttendanceError::NotATrainee);
        }
        let previous: Option<AttendanceEntryId> = attendance_entries::table
            .filter(attendance_entries::half_day_id.eq(&input.half_day))
            .filter(attendance_entries::subject_id.eq(&input.trainee))
            .filter(attendance_entries::kind.eq("trainee_status"))
            .order(attendance_entries::seq.desc())
            .select(attendance_entries::id)
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let closed = is_cosigned(conn, &input.half_day)?;
        let correction_reason = if closed {
            if previous.is_none() || reason.is_none() {
                return Err(AttendanceError::ClosedHalfDay);
            }
            reason.clone()
        } else {
            None
        };
        let id = AttendanceEntryId::generate();
        let entry = CanonicalEntry {
            id: id.as_str(),
            training_session_id: session.as_str(),
            seq: seq + 1,
            half_day_id: input.half_day.as_str(),
            subject_id: input.trainee.as_str(),
            kind: "trainee_status",
            status: Some(input.status.as_str()),
            late_minutes: late,
            left_early_minutes: left_early,
            reason: reason.as_deref(),
            method: input.method.as_str(),
            signature_data: input.signature_data.as_deref(),
            evidence_sha256: input.evidence_sha256.as_deref(),
            supersedes_id: previous.as_ref().map(AttendanceEntryId::as_str),
            correction_reason: correction_reason.as_deref(),
            recorded_by: recorded_by.as_str(),
            recorded_at: now,
        };
        append(conn, &entry, session, &head)?;
        Ok(id)
    })
}

/// The trainer co-signs a half-day, which closes it.
pub fn cosign_half_day(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    trainer: &UserId,
    now: NaiveDateTime,
) -> Result<AttendanceEntryId, AttendanceError> {
    db::write_transaction(conn, |conn| {
        let (seq, head) = lock_ledger(conn, session)?;
        let owner: Option<(TrainingSessionId, NaiveDateTime)> = half_days::table
            .find(half_day)
            .select((half_days::training_session_id, half_days::starts_at))
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        match owner {
            Some((owner, starts_at)) if &owner == session => {
                if now < starts_at {
                    return Err(AttendanceError::NotStarted);
                }
            }
            _ => return Err(AttendanceError::WrongHalfDay),
        }
        if is_cosigned(conn, half_day)? {
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
