//! The API's own response types shared by several handlers, and [`convert`], which builds them
//! from the core's types.
//!
//! Each type here mirrors, field for field, the JSON that the core type it is made from
//! serialises to today: that JSON is the contract (the integration tests check it), these types
//! are its written form (they carry the OpenAPI schemas). They are filled through JSON
//! (`serde_json::to_value` then `from_value`), never by naming the core's field types, so that a
//! core field changing from a string to an enum that serialises to the same string changes
//! nothing here. Every type denies unknown fields: a field added to a core type without its
//! mirror makes the conversion fail loudly (a 500 the tests see) instead of silently dropping it
//! from the answers.
//!
//! Identifiers are strings; dates are `YYYY-MM-DD`; times are UTC as `YYYY-MM-DDTHH:MM:SS`
//! (no offset); statuses are snake_case strings.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// Rebuilds a core value as its API mirror, through the JSON the core value serialises to.
pub(crate) fn convert<T: Serialize, U: DeserializeOwned>(core: T) -> Result<U, ApiError> {
    serde_json::to_value(core)
        .and_then(serde_json::from_value)
        .map_err(|error| ApiError::internal(&format!("réponse hors du contrat de l'API : {error}")))
}

/// A training session as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingSession {
    /// Identifier.
    pub id: String,
    /// Human reference (`PTL-NA-2027-01`).
    pub reference: String,
    /// Course code.
    pub course: String,
    /// Course title.
    pub course_title: String,
    /// Main venue's slug.
    pub venue: String,
    /// Main venue's name.
    pub venue_name: String,
    /// Main venue's commune.
    pub commune: String,
    /// First day (`YYYY-MM-DD`).
    pub start: String,
    /// Last day (`YYYY-MM-DD`).
    pub end: String,
    /// Seats.
    pub capacity: i64,
    /// Confirmed enrolments.
    pub confirmed: i64,
    /// Waitlisted enrolments.
    pub waitlisted: i64,
    /// Seats left.
    pub seats_left: i64,
    /// `draft`, `published`, `cancelled` or `completed`.
    pub status: String,
}

/// A half-day of a schedule with its venue.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HalfDay {
    /// Identifier.
    pub id: String,
    /// Local date (`YYYY-MM-DD`).
    pub date: String,
    /// `morning` or `afternoon`.
    pub slot: String,
    /// Start (UTC).
    pub starts_at: String,
    /// End (UTC).
    pub ends_at: String,
    /// Scheduled minutes.
    pub minutes: i64,
    /// Module.
    pub module: Option<String>,
    /// Venue slug.
    pub venue: String,
    /// Venue name.
    pub venue_name: String,
    /// Venue commune.
    pub commune: String,
}

/// The session fields every attendance and assessment view starts with.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionHeader {
    /// Identifier.
    pub id: String,
    /// Human reference.
    pub reference: String,
    /// Course code.
    pub course_code: String,
    /// Course title.
    pub course_title: String,
    /// First day (`YYYY-MM-DD`).
    pub start: String,
    /// Last day (`YYYY-MM-DD`).
    pub end: String,
    /// Session status (`published`…).
    pub status: String,
    /// Trainers' display names.
    pub trainers: Vec<String>,
}

/// Position of a session's attendance chain: last sequence number and its hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerPosition {
    /// Last sequence number.
    pub seq: i64,
    /// Its hash (hex).
    pub hash: String,
}

/// The half-day fields printed at the top of a sheet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HalfDayInfo {
    /// Identifier.
    pub id: String,
    /// Local date (`YYYY-MM-DD`).
    pub date: String,
    /// `morning` or `afternoon`.
    pub slot: String,
    /// Start (UTC).
    pub starts_at: String,
    /// End (UTC).
    pub ends_at: String,
    /// Scheduled minutes.
    pub minutes: i64,
    /// Module.
    pub module: Option<String>,
    /// Venue name.
    pub venue: String,
    /// Venue address.
    pub venue_address: String,
}

/// A trainee's own signature on a half-day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureState {
    /// `self_checkin`, `drawn_signature`, `trainer_entry` or `paper_scan`.
    pub method: String,
    /// When (UTC).
    pub at: String,
    /// SHA-256 of the evidence.
    pub evidence_sha256: Option<String>,
    /// Attendance entry.
    pub entry: String,
}

/// One entry of a trainee's history on a half-day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetHistoryEntry {
    /// Sequence number in the session's chain.
    pub seq: i64,
    /// Attendance entry.
    pub entry: String,
    /// `present`, `late`, `left_early`, `absent` or `excused`.
    pub status: Option<String>,
    /// Minutes late.
    pub late_minutes: i64,
    /// Minutes left early.
    pub left_early_minutes: i64,
    /// Reason of an excused absence.
    pub reason: Option<String>,
    /// How the evidence was collected.
    pub method: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When (UTC).
    pub recorded_at: String,
    /// Why it corrects an earlier entry.
    pub correction_reason: Option<String>,
    /// Whether a later entry replaces it.
    pub superseded: bool,
    /// Hash of the entry (hex).
    pub entry_hash: String,
}

/// One trainee's line on a sheet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SheetRow {
    /// Trainee's user id.
    pub trainee: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Whether still enrolled.
    pub enrolled: bool,
    /// Current status, if recorded.
    pub status: Option<String>,
    /// Minutes late.
    pub late_minutes: i64,
    /// Minutes left early.
    pub left_early_minutes: i64,
    /// Reason of an excused absence.
    pub reason: Option<String>,
    /// How the current status was collected.
    pub method: Option<String>,
    /// When it was recorded (UTC).
    pub recorded_at: Option<String>,
    /// The trainee's own signature.
    pub signature: Option<SignatureState>,
    /// Every entry, oldest first.
    pub history: Vec<SheetHistoryEntry>,
}

/// The trainer's co-signature of a half-day.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cosignature {
    /// Trainer's user id.
    pub trainer: String,
    /// Trainer's name.
    pub name: String,
    /// When (UTC).
    pub at: String,
    /// Sequence number in the chain.
    pub seq: i64,
    /// Hash of the entry (hex).
    pub entry_hash: String,
}

/// One half-day's attendance sheet.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Sheet {
    /// The session.
    pub session: SessionHeader,
    /// The half-day.
    pub half_day: HalfDayInfo,
    /// `upcoming`, `in_progress`, `awaiting_cosign` or `closed`.
    pub state: String,
    /// `teaches`, `oversees` or `console`.
    pub right: String,
    /// Whether the caller may record.
    pub can_record: bool,
    /// Whether the caller may co-sign.
    pub can_cosign: bool,
    /// Trainees without a status.
    pub missing: i64,
    /// One line per trainee.
    pub rows: Vec<SheetRow>,
    /// The co-signature, once given.
    pub cosign: Option<Cosignature>,
    /// Chain position.
    pub ledger: LedgerPosition,
}

/// A numbered competence.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Competence {
    /// Identifier.
    pub id: String,
    /// Number (`1.3`).
    pub code: String,
    /// Wording.
    pub label: String,
    /// Whether the wording is provisional.
    pub provisional_wording: bool,
}

/// A unit with its competences.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// Identifier.
    pub id: String,
    /// Number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Whether the wording is provisional.
    pub provisional_wording: bool,
    /// Competences, in order.
    pub competences: Vec<Competence>,
}

/// One result on a competence.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessedResult {
    /// `acquired`, `in_progress` or `not_acquired`.
    pub result: String,
    /// Evidence note.
    pub evidence: Option<String>,
    /// Assessor's name.
    pub assessor: String,
    /// When (UTC).
    pub assessed_at: String,
}

/// The current result of one trainee on one competence, in a grid.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridCell {
    /// `acquired`, `in_progress` or `not_acquired`.
    pub result: String,
    /// Evidence note.
    pub evidence: Option<String>,
    /// Assessor's name.
    pub assessor: String,
    /// When (UTC).
    pub assessed_at: String,
    /// Number of results recorded on this competence.
    pub history: u64,
}

/// One trainee's row of a grid.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GridTrainee {
    /// User id.
    pub trainee: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Current results by competence number.
    pub results: std::collections::BTreeMap<String, GridCell>,
    /// Competences acquired.
    pub acquired: u64,
}

/// One competence of a trainee's record, with its history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompetenceRecord {
    /// Number (`1.3`).
    pub code: String,
    /// Wording.
    pub label: String,
    /// Current result.
    pub current: Option<AssessedResult>,
    /// Every result, oldest first.
    pub history: Vec<AssessedResult>,
}

/// One unit of a trainee's record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitRecord {
    /// Number.
    pub number: i64,
    /// Title.
    pub title: String,
    /// Competences.
    pub competences: Vec<CompetenceRecord>,
    /// Whether every competence is acquired.
    pub validated: bool,
}

/// A trainee's results in one session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TraineeAssessmentResponse {
    /// The session.
    pub session: SessionHeader,
    /// Certification prepared, if any.
    pub certification: Option<String>,
    /// Trainee's user id.
    pub trainee: String,
    /// Name.
    pub name: String,
    /// E-mail.
    pub email: String,
    /// Units.
    pub units: Vec<UnitRecord>,
    /// Competences acquired.
    pub acquired: u64,
    /// Competences in the référentiel.
    pub total: u64,
}
