//! The hash chain itself: the one path that appends entries ([`Ledger`]), the canonical encoding
//! that is hashed, the head kept on the session row, and [`verify_ledger`].
//!
//! Every writer (a whole sheet, a drawn signature, a self check-in, a co-signature, the demo
//! fixtures through [`super::record_trainee_status`] and [`super::cosign_half_day`]) opens a
//! [`Ledger`] under the session's lock, appends, and closes it; nothing else inserts into
//! `attendance_entries`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{AttendanceError, AttendanceStatus, SignatureMethod};
use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{attendance_entries, training_sessions};
use crate::db::{self, DbConn, DbError, LockableTable};

/// `prev_hash` of the first entry of every chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

crate::text_enum! {
    /// What a ledger entry says.
    pub enum EntryKind: "type d'entrée d'émargement" {
        /// A trainee's status on a half-day (the latest one counts).
        TraineeStatus = "trainee_status", "statut de stagiaire";
        /// The trainer's co-signature, which closes the half-day.
        TrainerCosign = "trainer_cosign", "contresignature";
    }
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

/// An entry about to be chained; the ledger gives it its id, sequence number and hashes.
pub(crate) struct NewEntry<'a> {
    pub(crate) half_day: &'a HalfDayId,
    /// The trainee (status) or the trainer (co-signature).
    pub(crate) subject: &'a UserId,
    pub(crate) kind: EntryKind,
    pub(crate) status: Option<AttendanceStatus>,
    pub(crate) late_minutes: i32,
    pub(crate) left_early_minutes: i32,
    pub(crate) reason: Option<&'a str>,
    pub(crate) method: SignatureMethod,
    pub(crate) signature_data: Option<&'a str>,
    pub(crate) evidence_sha256: Option<&'a str>,
    pub(crate) supersedes: Option<&'a AttendanceEntryId>,
    pub(crate) correction_reason: Option<&'a str>,
    pub(crate) recorded_by: &'a UserId,
    pub(crate) recorded_at: NaiveDateTime,
}

/// A session's chain opened for appending, under the session row's lock (taken by
/// [`Ledger::open`], held until the transaction ends). The head is written back to the session
/// row once, by [`Ledger::close`].
pub(crate) struct Ledger {
    session: TrainingSessionId,
    seq: i64,
    head: String,
    moved: bool,
}

impl Ledger {
    /// Locks the session row and reads the head of its chain; the caller is inside a write
    /// transaction.
    pub(crate) fn open(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Ledger, AttendanceError> {
        db::lock_row_for_update(conn, LockableTable::TrainingSessions, session.as_str())?;
        let (seq, head): (i64, String) = training_sessions::table
            .find(session)
            .select((training_sessions::ledger_seq, training_sessions::ledger_head))
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(AttendanceError::UnknownTrainingSession)?;
        Ok(Ledger { session: session.clone(), seq, head, moved: false })
    }

    /// Chains `entry` after the current head and inserts it.
    pub(crate) fn append(&mut self, conn: &mut DbConn, entry: &NewEntry<'_>) -> Result<AttendanceEntryId, DbError> {
        let id = AttendanceEntryId::generate();
        let seq = self.seq + 1;
        let canonical = CanonicalEntry {
            id: id.as_str(),
            training_session_id: self.session.as_str(),
            seq,
            half_day_id: entry.half_day.as_str(),
            subject_id: entry.subject.as_str(),
            kind: entry.kind.as_str(),
            status: entry.status.map(AttendanceStatus::as_str),
            late_minutes: entry.late_minutes,
            left_early_minutes: entry.left_early_minutes,
            reason: entry.reason,
            method: entry.method.as_str(),
            signature_data: entry.signature_data,
            evidence_sha256: entry.evidence_sha256,
            supersedes_id: entry.supersedes.map(AttendanceEntryId::as_str),
            correction_reason: entry.correction_reason,
            recorded_by: entry.recorded_by.as_str(),
            recorded_at: entry.recorded_at,
        };
        let entry_hash = canonical.hash(&self.head);
        diesel::insert_into(attendance_entries::table)
            .values((
                attendance_entries::id.eq(&id),
                attendance_entries::training_session_id.eq(&self.session),
                attendance_entries::seq.eq(seq),
                attendance_entries::half_day_id.eq(entry.half_day),
                attendance_entries::subject_id.eq(entry.subject),
                attendance_entries::kind.eq(entry.kind),
                attendance_entries::status.eq(entry.status),
                attendance_entries::late_minutes.eq(entry.late_minutes),
                attendance_entries::left_early_minutes.eq(entry.left_early_minutes),
                attendance_entries::reason.eq(entry.reason),
                attendance_entries::method.eq(entry.method),
                attendance_entries::signature_data.eq(entry.signature_data),
                attendance_entries::evidence_sha256.eq(entry.evidence_sha256),
                attendance_entries::supersedes_id.eq(entry.supersedes),
                attendance_entries::correction_reason.eq(entry.correction_reason),
                attendance_entries::recorded_by.eq(entry.recorded_by),
                attendance_entries::recorded_at.eq(entry.recorded_at),
                attendance_entries::prev_hash.eq(&self.head),
                attendance_entries::entry_hash.eq(&entry_hash),
            ))
            .execute(conn)?;
        self.seq = seq;
        self.head = entry_hash;
        self.moved = true;
        Ok(id)
    }

    /// Where the chain ends now.
    pub(crate) fn position(&self) -> LedgerPosition {
        LedgerPosition { seq: self.seq, hash: self.head.clone() }
    }

    /// Writes the head back to the session row when anything was appended.
    pub(crate) fn close(self, conn: &mut DbConn) -> Result<LedgerPosition, DbError> {
        if self.moved {
            diesel::update(training_sessions::table.find(&self.session))
                .set((training_sessions::ledger_seq.eq(self.seq), training_sessions::ledger_head.eq(&self.head)))
                .execute(conn)?;
        }
        Ok(self.position())
    }
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

/// A stored entry exactly as written, every text column raw: verification must report a value
/// edited behind the application as `edited`, not fail to read it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = attendance_entries)]
struct StoredEntry {
    id: String,
    training_session_id: String,
    seq: i64,
    half_day_id: String,
    subject_id: String,
    kind: String,
    status: Option<String>,
    late_minutes: i32,
    left_early_minutes: i32,
    reason: Option<String>,
    method: String,
    signature_data: Option<String>,
    evidence_sha256: Option<String>,
    supersedes_id: Option<String>,
    correction_reason: Option<String>,
    recorded_by: String,
    recorded_at: NaiveDateTime,
    prev_hash: String,
    entry_hash: String,
}

impl StoredEntry {
    fn recomputed_hash(&self) -> String {
        CanonicalEntry {
            id: &self.id,
            training_session_id: &self.training_session_id,
            seq: self.seq,
            half_day_id: &self.half_day_id,
            subject_id: &self.subject_id,
            kind: &self.kind,
            status: self.status.as_deref(),
            late_minutes: self.late_minutes,
            left_early_minutes: self.left_early_minutes,
            reason: self.reason.as_deref(),
            method: &self.method,
            signature_data: self.signature_data.as_deref(),
            evidence_sha256: self.evidence_sha256.as_deref(),
            supersedes_id: self.supersedes_id.as_deref(),
            correction_reason: self.correction_reason.as_deref(),
            recorded_by: &self.recorded_by,
            recorded_at: self.recorded_at,
        }
        .hash(&self.prev_hash)
    }
}

/// The head kept on a session row.
#[derive(Queryable, Selectable)]
#[diesel(table_name = training_sessions)]
struct StoredHead {
    id: TrainingSessionId,
    ledger_seq: i64,
    ledger_head: String,
}

/// Recomputes every chain (or one session's), reading entries in pages so memory stays flat
/// whatever the ledger's size. Names each entry edited, deleted or inserted behind the application.
pub fn verify_ledger(conn: &mut DbConn, only: Option<&TrainingSessionId>) -> Result<LedgerReport, AttendanceError> {
    const PAGE: i64 = 5_000;
    let mut report = LedgerReport::default();
    let mut heads_query =
        training_sessions::table.select(StoredHead::as_select()).order(training_sessions::id.asc()).into_boxed();
    if let Some(id) = only {
        heads_query = heads_query.filter(training_sessions::id.eq(id.clone()));
    }
    let heads: Vec<StoredHead> = heads_query.load(conn).map_err(DbError::from)?;
    if only.is_some() && heads.is_empty() {
        return Err(AttendanceError::UnknownTrainingSession);
    }
    for StoredHead { id: session, ledger_seq: head_seq, ledger_head: head_hash } in heads {
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
                .select(StoredEntry::as_select())
                .load(conn)
                .map_err(DbError::from)?;
            let page_len = page.len();
            for row in page {
                report.entries += 1;
                let seq = row.seq;
                last_seq = seq;
                let problem = |p: &str| LedgerProblem {
                    session: session.to_string(),
                    seq,
                    entry: Some(row.id.clone()),
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
                if row.recomputed_hash() != row.entry_hash {
                    report.problems.push(problem("edited"));
                } else if row.prev_hash != prev_hash {
                    // Internally consistent but not linked to its predecessor: forged into the chain.
                    report.problems.push(problem("inserted"));
                }
                prev_hash = row.entry_hash;
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
