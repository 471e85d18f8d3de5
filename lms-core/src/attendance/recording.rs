//! What trainers write: a whole half-day sheet in one transaction (from the form, the API, or a
//! scanned paper sheet), a trainee's drawn signature, and the co-signature that closes a complete
//! sheet. Every use case checks that the caller teaches the session, validates every line before
//! writing, and writes nothing when anything is refused.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::ledger::Ledger;
use super::sheets::{HalfDayInfo, SessionHeader, Sheet, half_day_sheet, sheet_inside};
use super::signature::DrawnSignature;
use super::{
    AttendanceError, AttendanceStatus, CleanStatus, EntryKind, LedgerPosition, SignatureMethod, StatusEntry,
    clean_status, clean_text, latest_status_entries, latest_status_entry, load_half_day,
};
use crate::access::Caller;
use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::{self, DbConn, DbError};
use crate::rights::{Actor, SessionRight, ensure_trainer_of};
use crate::roster::{confirmed_trainees, is_confirmed_trainee};

/// Most lines accepted in one sheet.
pub const MAX_SHEET_LINES: usize = 500;

/// One trainee's line of a sheet being recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetLine {
    /// The trainee: user id, or e-mail address.
    pub trainee: String,
    /// Status.
    pub status: AttendanceStatus,
    /// Minutes late (with `late`) or left early (with `left_early`); ignored otherwise.
    pub minutes: i32,
    /// Reason of an excused absence.
    pub reason: Option<String>,
}

impl SheetLine {
    /// A line from raw input: the status as sent, refused with the trainee it is about.
    pub fn parse(trainee: String, status: &str, minutes: i32, reason: Option<String>) -> Result<Self, AttendanceError> {
        let status = AttendanceStatus::parse(status).map_err(|e| in_sheet(&trainee, e))?;
        Ok(SheetLine { trainee, status, minutes, reason })
    }
}

/// The evidence method of a sheet from raw input: absent means the trainer's entry.
pub fn sheet_method(raw: Option<&str>) -> Result<SignatureMethod, AttendanceError> {
    match raw {
        None => Ok(SignatureMethod::TrainerEntry),
        Some(raw) => SignatureMethod::parse(raw),
    }
}

/// A whole sheet to record.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetInput {
    /// Lines, at most one per trainee.
    pub lines: Vec<SheetLine>,
    /// `trainer_entry` (default) or `paper_scan`.
    pub method: SignatureMethod,
    /// SHA-256 of the scanned paper sheet (required with `paper_scan`, refused otherwise).
    pub evidence_sha256: Option<String>,
    /// Why a co-signed half-day is corrected (required then).
    pub correction_reason: Option<String>,
}

/// What recording a sheet did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SheetOutcome {
    /// Entries appended (lines that changed something).
    pub recorded: usize,
    /// Lines identical to the current status, left alone.
    pub unchanged: usize,
    /// The new entries, in chain order.
    pub entries: Vec<AttendanceEntryId>,
    /// Head of the chain afterwards.
    pub ledger: LedgerPosition,
}

/// Resolves a trainee given by id or e-mail address.
fn resolve_person(conn: &mut DbConn, raw: &str) -> Result<Option<UserId>, DbError> {
    if let Ok(id) = UserId::parse(raw) {
        return Ok(Some(id));
    }
    crate::people::user_id_by_email(conn, raw)
}

fn in_sheet(trainee: &str, error: AttendanceError) -> AttendanceError {
    AttendanceError::InSheet { trainee: trainee.chars().take(120).collect(), source: Box::new(error) }
}

/// A sheet whose every line follows the rules (before looking at who the trainees are).
struct CheckedSheet<'a> {
    cleaned: Vec<(&'a SheetLine, CleanStatus)>,
    evidence: Option<String>,
    correction_reason: Option<String>,
}

/// Checks a sheet's every line and field without the database (who the trainees are is checked
/// when recording).
pub fn validate_sheet(input: &SheetInput) -> Result<(), AttendanceError> {
    check_sheet(input).map(|_| ())
}

fn check_sheet(input: &SheetInput) -> Result<CheckedSheet<'_>, AttendanceError> {
    if input.lines.is_empty() {
        return Err(AttendanceError::Invalid("la feuille ne contient aucune ligne".into()));
    }
    if input.lines.len() > MAX_SHEET_LINES {
        return Err(AttendanceError::Invalid(format!("au plus {MAX_SHEET_LINES} lignes par feuille")));
    }
    let evidence = clean_text(input.evidence_sha256.as_deref()).map(|h| h.to_ascii_lowercase());
    match (input.method, &evidence) {
        (SignatureMethod::PaperScan, None) => {
            return Err(AttendanceError::Invalid(
                "une feuille papier numérisée s'enregistre avec l'empreinte SHA-256 du fichier".into(),
            ));
        }
        (SignatureMethod::TrainerEntry, Some(_)) => {
            return Err(AttendanceError::Invalid(
                "l'empreinte d'un scan ne s'indique qu'avec le mode « feuille papier numérisée »".into(),
            ));
        }
        (SignatureMethod::SelfCheckin | SignatureMethod::DrawnSignature | SignatureMethod::Cosign, _) => {
            return Err(AttendanceError::Invalid(
                "une feuille s'enregistre en saisie du formateur ou depuis une feuille papier numérisée".into(),
            ));
        }
        _ => {}
    }
    super::check_evidence(None, evidence.as_deref())?;
    let correction_reason = clean_text(input.correction_reason.as_deref());
    if correction_reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(AttendanceError::Invalid("motif de correction trop long (500 caractères au plus)".into()));
    }
    if let Some(problem) = correction_reason.as_deref().and_then(crate::text::control_character_problem) {
        return Err(AttendanceError::Invalid(format!("motif de correction : {problem}")));
    }
    let mut cleaned: Vec<(&SheetLine, CleanStatus)> = Vec::with_capacity(input.lines.len());
    for line in &input.lines {
        let clean = clean_status(line.status, line.minutes, line.minutes, line.reason.as_deref())
            .map_err(|e| in_sheet(&line.trainee, e))?;
        cleaned.push((line, clean));
    }
    Ok(CheckedSheet { cleaned, evidence, correction_reason })
}

/// Records every line of a half-day's sheet in one transaction. Only a trainer of the session,
/// only confirmed trainees, only once the half-day has started. Lines identical to the current
/// status are left alone (re-sending a sheet adds nothing). On a co-signed half-day, every change
/// supersedes the previous entry and needs `correction_reason`.
pub fn record_sheet(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    input: &SheetInput,
    now: NaiveDateTime,
) -> Result<SheetOutcome, AttendanceError> {
    db::write_transaction(conn, |conn| {
        // Who may write comes first: a refused caller learns nothing from the validation.
        ensure_trainer_of(conn, caller, session)?;
        let CheckedSheet { cleaned, evidence, correction_reason } = check_sheet(input)?;
        let mut ledger = Ledger::open(conn, session)?;
        let context = load_half_day(conn, session, half_day)?;
        if now < context.starts_at {
            return Err(AttendanceError::NotStarted);
        }
        let names: std::collections::HashMap<UserId, String> =
            confirmed_trainees(conn, session)?.into_iter().map(|m| (m.id, m.name)).collect();
        let mut seen: HashSet<UserId> = HashSet::new();
        let mut resolved: Vec<(UserId, &SheetLine, &CleanStatus)> = Vec::with_capacity(cleaned.len());
        for (line, clean) in &cleaned {
            let trainee = match resolve_person(conn, &line.trainee)? {
                Some(id) if names.contains_key(&id) => id,
                _ => return Err(in_sheet(&line.trainee, AttendanceError::NotATrainee)),
            };
            if !seen.insert(trainee.clone()) {
                return Err(in_sheet(
                    &names[&trainee],
                    AttendanceError::Invalid("figure deux fois sur la feuille".into()),
                ));
            }
            resolved.push((trainee, line, clean));
        }
        let mut latest = latest_status_entries(conn, half_day)?;
        let mut entries = Vec::new();
        let mut unchanged = 0;
        for (trainee, _, clean) in resolved {
            let previous = latest.remove(&trainee);
            if previous.as_ref().is_some_and(|p| clean.same_as(p)) {
                unchanged += 1;
                continue;
            }
            let correction = if context.closed {
                if previous.is_none() || correction_reason.is_none() {
                    return Err(in_sheet(&names[&trainee], AttendanceError::ClosedHalfDay));
                }
                correction_reason.as_deref()
            } else {
                None
            };
            let id = StatusEntry {
                half_day,
                trainee: &trainee,
                clean,
                method: input.method,
                signature_data: None,
                evidence_sha256: evidence.as_deref(),
                supersedes: previous.as_ref().map(|p| &p.id),
                correction_reason: correction,
                recorded_by: &caller.user.id,
                recorded_at: now,
            }
            .append_to(conn, &mut ledger)?;
            entries.push(id);
        }
        let ledger = ledger.close(conn)?;
        Ok(SheetOutcome { recorded: entries.len(), unchanged, entries, ledger })
    })
}

/// What recording a drawn signature did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignatureOutcome {
    /// The ledger entry.
    pub entry: AttendanceEntryId,
    /// SHA-256 of the stored canonical signature.
    pub signature_sha256: String,
    /// Status recorded (present).
    pub status: AttendanceStatus,
}

/// The trainee whose drawn signature is asked for, and the half-day it is for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignatureRequest {
    /// The session.
    pub session: SessionHeader,
    /// The half-day.
    pub half_day: HalfDayInfo,
    /// The trainee.
    pub trainee: UserId,
    /// Their name.
    pub name: String,
    /// True when the sheet already shows their own signature.
    pub already_signed: bool,
    /// True while a self check-in code may be shown for the half-day: the way to sign where the
    /// pad cannot be drawn on (no JavaScript).
    pub checkin_code_open: bool,
}

/// Whether a drawn signature may be asked of `trainee` on `half_day` now — the one home of that
/// decision, shared with [`record_drawn_signature`]: only a trainer of the session, from the start
/// of the half-day until it is co-signed, and only of a confirmed trainee.
fn signature_target(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    trainee: &str,
    now: NaiveDateTime,
) -> Result<UserId, AttendanceError> {
    let context = load_half_day(conn, session, half_day)?;
    if now < context.starts_at {
        return Err(AttendanceError::NotStarted);
    }
    if context.closed {
        return Err(AttendanceError::ClosedHalfDay);
    }
    match resolve_person(conn, trainee)? {
        Some(id) if is_confirmed_trainee(conn, session, &id)? => Ok(id),
        _ => Err(AttendanceError::NotATrainee),
    }
}

/// What the signature pad shows before a trainee signs on the trainer's device; refused when a
/// drawn signature may not be asked for now (see [`record_drawn_signature`]).
pub fn drawn_signature_request(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    trainee: &str,
    now: NaiveDateTime,
) -> Result<SignatureRequest, AttendanceError> {
    db::read_transaction(conn, |conn| {
        ensure_trainer_of(conn, caller, session)?;
        let trainee = signature_target(conn, session, half_day, trainee, now)?;
        let checkin_code_open =
            super::checkin::ensure_code_window(&load_half_day(conn, session, half_day)?, now).is_ok();
        let sheet = sheet_inside(conn, SessionRight::Teaches, session, half_day, now)?;
        let row = sheet.rows.into_iter().find(|r| r.trainee == trainee).ok_or(AttendanceError::NotATrainee)?;
        Ok(SignatureRequest {
            session: sheet.session,
            half_day: sheet.half_day,
            already_signed: row.signature.is_some(),
            checkin_code_open,
            name: row.name,
            trainee,
        })
    })
}

/// Records a trainee's signature drawn on the trainer's device: status present, the vector
/// signature in the entry and its SHA-256 as evidence. Once per trainee and half-day, from the
/// start of the half-day until it is co-signed.
pub fn record_drawn_signature(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    trainee: &str,
    signature_json: &str,
    now: NaiveDateTime,
) -> Result<SignatureOutcome, AttendanceError> {
    db::write_transaction(conn, |conn| {
        ensure_trainer_of(conn, caller, session)?;
        let signature = DrawnSignature::parse(signature_json)?;
        let canonical = signature.canonical();
        let digest = super::sha256_hex(canonical.as_bytes());
        let mut ledger = Ledger::open(conn, session)?;
        let trainee = signature_target(conn, session, half_day, trainee, now)?;
        if already_signed(conn, half_day, &trainee)? {
            return Err(AttendanceError::AlreadySigned);
        }
        let previous = latest_status_entry(conn, half_day, &trainee)?;
        let clean = clean_status(AttendanceStatus::Present, 0, 0, None)?;
        let entry = StatusEntry {
            half_day,
            trainee: &trainee,
            clean: &clean,
            method: SignatureMethod::DrawnSignature,
            signature_data: Some(&canonical),
            evidence_sha256: Some(&digest),
            supersedes: previous.as_ref().map(|p| &p.id),
            correction_reason: None,
            recorded_by: &caller.user.id,
            recorded_at: now,
        }
        .append_to(conn, &mut ledger)?;
        ledger.close(conn)?;
        Ok(SignatureOutcome { entry, signature_sha256: digest.clone(), status: AttendanceStatus::Present })
    })
}

/// True when the trainee already signed this half-day themself (code or drawing).
pub(crate) fn already_signed(conn: &mut DbConn, half_day: &HalfDayId, trainee: &UserId) -> Result<bool, DbError> {
    use crate::db::schema::attendance_entries;
    use diesel::prelude::*;
    diesel::select(diesel::dsl::exists(
        attendance_entries::table
            .filter(attendance_entries::half_day_id.eq(half_day))
            .filter(attendance_entries::subject_id.eq(trainee))
            .filter(attendance_entries::kind.eq(EntryKind::TraineeStatus))
            .filter(attendance_entries::method.eq_any([SignatureMethod::SelfCheckin, SignatureMethod::DrawnSignature])),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// The trainer co-signs a half-day, which closes it: only a trainer of the session, once the
/// half-day has started, and only when every confirmed trainee has a status.
pub fn cosign_sheet(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    now: NaiveDateTime,
) -> Result<AttendanceEntryId, AttendanceError> {
    db::write_transaction(conn, |conn| {
        ensure_trainer_of(conn, caller, session)?;
        Ledger::open(conn, session)?;
        let context = load_half_day(conn, session, half_day)?;
        if now < context.starts_at {
            return Err(AttendanceError::NotStarted);
        }
        if context.closed {
            return Err(AttendanceError::ClosedHalfDay);
        }
        let mut missing = 0;
        for trainee in confirmed_trainees(conn, session)? {
            if latest_status_entry(conn, half_day, &trainee.id)?.is_none() {
                missing += 1;
            }
        }
        if missing > 0 {
            return Err(AttendanceError::IncompleteSheet(missing));
        }
        super::cosign_half_day(conn, session, half_day, &caller.user.id, now)
    })
}

/// A co-signature just recorded, with the sheet it closed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CosignedSheet {
    /// The co-signature's ledger entry.
    pub entry: AttendanceEntryId,
    /// The sheet afterwards.
    pub sheet: Sheet,
}

/// [`cosign_sheet`], then the closed sheet, in one transaction.
pub fn cosign_and_read_sheet(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    now: NaiveDateTime,
) -> Result<CosignedSheet, AttendanceError> {
    db::write_transaction(conn, |conn| {
        let entry = cosign_sheet(conn, caller, session, half_day, now)?;
        let sheet = half_day_sheet(conn, Actor::Person(caller), session, half_day, now)?;
        Ok(CosignedSheet { entry, sheet })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaned_statuses_drop_minutes_that_do_not_apply() {
        let clean = clean_status(AttendanceStatus::Present, 15, 15, Some("  ")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((clean.late_minutes, clean.left_early_minutes, clean.reason), (0, 0, None));
        let late = clean_status(AttendanceStatus::Late, 15, 15, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((late.late_minutes, late.left_early_minutes), (15, 0));
        assert!(clean_status(AttendanceStatus::Late, 0, 0, None).is_err());
        assert!(clean_status(AttendanceStatus::LeftEarly, 241, 241, None).is_err());
        assert!(clean_status(AttendanceStatus::Excused, 0, 0, Some(" ")).is_err());
    }
}
