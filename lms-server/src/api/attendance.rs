//! Attendance (émargement) over JSON: the trainer's sessions, a session's half-days with absence
//! alerts, a half-day's sheet, recording a whole sheet in one request, co-signing, check-in codes,
//! drawn signatures; the trainee's check-in and own attendance. Who may do what is decided in
//! `lms_core::rights`; every refusal is `{"error": {"code", "message"}}`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lms_core::access::ClientInfo;
use lms_core::attendance::checkin;
use lms_core::attendance::recording::{self, SheetInput, SheetLine};
use lms_core::attendance::sheets;
use lms_core::attendance::{Actor, AttendanceError};
use lms_core::db::ids::HalfDayId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use super::json::ApiJson;
use super::openapi::ErrorResponse;
use super::views::{HalfDayInfo, LedgerPosition, SessionHeader, Sheet, convert};
use crate::auth::{ApiCaller, ApiSessionTrainer, Client};
use crate::error::ApiError;
use crate::extract::resolve_session;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/trainer/sessions", my_sessions)
        .get("/sessions/{id}/half-days", half_days)
        .get("/sessions/{id}/half-days/{half_day}/sheet", sheet)
        .put("/sessions/{id}/half-days/{half_day}/sheet", record_sheet)
        .post("/sessions/{id}/half-days/{half_day}/cosign", cosign)
        .post("/sessions/{id}/half-days/{half_day}/checkin-codes", issue_code)
        .post("/sessions/{id}/half-days/{half_day}/signatures", drawn_signature)
        .post("/checkin", check_in)
        .get("/me/attendance", my_attendance)
}

/// The path of a half-day's routes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct HalfDayPath {
    /// Training session id.
    id: String,
    /// Half-day id.
    half_day: String,
}

/// The refusals every trainer write shares in the contract (described, never built: errors are
/// rendered by `crate::error::ApiError`).
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a description only: errors are rendered by crate::error::ApiError")]
pub(super) enum TrainerWriteRefusals {
    /// No valid token.
    #[response(status = 401, description = "No valid token.")]
    Unauthenticated(ErrorResponse),
    /// The caller does not teach the session.
    #[response(status = 403, description = "Not the session's trainer.")]
    NotTheTrainer(ErrorResponse),
    /// No pooled connection in time.
    #[response(status = 503, description = "Database busy, retry.")]
    Busy(ErrorResponse),
}

/// The refusals of a JSON body before it reaches the handler (described, never built).
#[derive(IntoResponses)]
#[allow(dead_code, reason = "a description only: errors are rendered by crate::error::ApiError")]
pub(super) enum JsonBodyRefusals {
    /// Not JSON that parses.
    #[response(status = 400, description = "Malformed JSON.")]
    Malformed(ErrorResponse),
    /// Over the body limit.
    #[response(status = 413, description = "Body too large.")]
    TooLarge(ErrorResponse),
    /// Another content type.
    #[response(status = 415, description = "Not JSON.")]
    NotJson(ErrorResponse),
}

/// A half-day id from the path; anything malformed is simply not a half-day of the session.
pub fn half_day_id(raw: &str) -> Result<HalfDayId, ApiError> {
    HalfDayId::parse(raw).map_err(|_| ApiError::from(AttendanceError::WrongHalfDay))
}

/// The base URL printed in check-in QR codes: the configured public URL, read once at start
/// (never the request's `Host` header, which a client chooses).
pub fn public_base(state: &AppState) -> String {
    state.public_url().to_owned()
}

/// A session on the trainer's list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TaughtSessionResponse {
    /// Identifier.
    id: String,
    /// Human reference.
    reference: String,
    /// Course code.
    course_code: String,
    /// Course title.
    course_title: String,
    /// First day (`YYYY-MM-DD`).
    start: String,
    /// Last day (`YYYY-MM-DD`).
    end: String,
    /// Session status.
    status: String,
    /// Trainers' display names.
    trainers: Vec<String>,
    /// `teaches`, `oversees` or `console`.
    right: String,
    /// Confirmed trainees.
    trainees: i64,
    /// Half-days scheduled.
    half_days: i64,
    /// Half-days waiting for the trainer's co-signature.
    half_days_to_cosign: i64,
    /// Start of the next half-day (UTC).
    next_half_day_at: Option<String>,
}

/// The sessions the caller teaches (or oversees).
#[utoipa::path(
    get,
    path = "/api/v1/trainer/sessions",
    tag = "attendance",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's sessions.", body = Vec<TaughtSessionResponse>),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Not a trainer or administrator.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn my_sessions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TaughtSessionResponse>>, ApiError> {
    Ok(Json(convert(state.db(move |conn| sheets::sessions_for(conn, &caller, lms_core::db::now())).await?)?))
}

/// The absence alert threshold.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AlertQuery {
    /// Consecutive absent half-days that raise an alert (default 2).
    threshold: Option<u32>,
}

/// A half-day of a session's schedule with what has been recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct HalfDaySummary {
    /// Identifier.
    id: String,
    /// Local date (`YYYY-MM-DD`).
    date: String,
    /// `morning` or `afternoon`.
    slot: String,
    /// Start (UTC).
    starts_at: String,
    /// End (UTC).
    ends_at: String,
    /// Scheduled minutes.
    minutes: i64,
    /// Venue name.
    venue: String,
    /// Venue commune.
    commune: String,
    /// Module.
    module: Option<String>,
    /// `upcoming`, `in_progress`, `awaiting_cosign` or `closed`.
    state: String,
    /// Trainees with a status.
    recorded: i64,
    /// Trainees who attended.
    attended: i64,
    /// Trainees absent.
    absent: i64,
    /// Trainees who signed themselves.
    signed: i64,
    /// Who co-signed.
    cosigned_by: Option<String>,
    /// When (UTC).
    cosigned_at: Option<String>,
}

/// A trainee absent on the last consecutive half-days.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AbsenceAlert {
    /// User id.
    trainee: String,
    /// Name.
    name: String,
    /// E-mail.
    email: String,
    /// Consecutive absent half-days.
    consecutive: u32,
    /// Of which excused.
    excused: u32,
    /// Since (`YYYY-MM-DD`).
    since: String,
}

/// A session's attendance at a glance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionAttendanceResponse {
    /// The session.
    session: SessionHeader,
    /// `teaches`, `oversees` or `console`.
    right: String,
    /// Confirmed trainees.
    trainees: i64,
    /// The half-days, in order.
    half_days: Vec<HalfDaySummary>,
    /// The threshold used.
    alert_threshold: u32,
    /// Absence alerts.
    alerts: Vec<AbsenceAlert>,
    /// Chain position.
    ledger: LedgerPosition,
}

/// A session's half-days with absence alerts.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/half-days",
    tag = "attendance",
    params(("id" = String, Path, description = "Training session id."), AlertQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The session's attendance.", body = SessionAttendanceResponse),
        (status = 400, description = "Invalid query string.", body = ErrorResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Neither its trainer nor an administrator.", body = ErrorResponse),
        (status = 404, description = "No such session.", body = ErrorResponse),
        (status = 422, description = "Invalid threshold.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn half_days(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<AlertQuery>,
) -> Result<Json<SessionAttendanceResponse>, ApiError> {
    let session = resolve_session(&state, id).await?;
    let threshold = query.threshold.unwrap_or(sheets::DEFAULT_ABSENCE_ALERT);
    Ok(Json(convert(
        state
            .db(move |conn| {
                sheets::session_attendance(conn, Actor::Person(&caller), &session, threshold, lms_core::db::now())
            })
            .await?,
    )?))
}

/// A half-day's attendance sheet.
#[utoipa::path(
    get,
    path = "/api/v1/sessions/{id}/half-days/{half_day}/sheet",
    tag = "attendance",
    params(HalfDayPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The sheet.", body = Sheet),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Neither its trainer nor an administrator.", body = ErrorResponse),
        (status = 404, description = "No such session or half-day of it.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn sheet(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(HalfDayPath { id, half_day }): Path<HalfDayPath>,
) -> Result<Json<Sheet>, ApiError> {
    let session = resolve_session(&state, id).await?;
    let half_day = half_day_id(&half_day)?;
    Ok(Json(convert(
        state
            .db(move |conn| {
                sheets::half_day_sheet(conn, Actor::Person(&caller), &session, &half_day, lms_core::db::now())
            })
            .await?,
    )?))
}

/// One line of a sheet in a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SheetLineBody {
    /// User id or e-mail address.
    trainee: String,
    /// `present`, `late`, `left_early`, `absent` or `excused`.
    status: String,
    /// Minutes late or left early.
    #[serde(default)]
    minutes: i32,
    /// Reason of an excused absence.
    #[serde(default)]
    reason: Option<String>,
}

/// A whole sheet in one request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SheetBody {
    /// One line per trainee.
    entries: Vec<SheetLineBody>,
    /// `trainer_entry` (default) or `paper_scan`.
    #[serde(default)]
    method: Option<String>,
    /// SHA-256 of the scanned paper sheet (with `paper_scan`).
    #[serde(default)]
    evidence_sha256: Option<String>,
    /// Why a co-signed half-day is corrected.
    #[serde(default)]
    correction_reason: Option<String>,
}

impl SheetBody {
    /// The core's input: method and statuses read, nothing else decided here.
    pub(super) fn into_input(self) -> Result<SheetInput, AttendanceError> {
        let method = recording::sheet_method(self.method.as_deref())?;
        let mut lines = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            lines.push(SheetLine::parse(entry.trainee, &entry.status, entry.minutes, entry.reason)?);
        }
        Ok(SheetInput {
            lines,
            method,
            evidence_sha256: self.evidence_sha256,
            correction_reason: self.correction_reason,
        })
    }
}

/// What recording a sheet did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SheetOutcomeResponse {
    /// New entries recorded.
    recorded: u64,
    /// Lines identical to the current status, left alone.
    unchanged: u64,
    /// The new entries' ids.
    entries: Vec<String>,
    /// Chain position after recording.
    ledger: LedgerPosition,
}

/// Records a whole sheet in one request (the session's trainer).
#[utoipa::path(
    put,
    path = "/api/v1/sessions/{id}/half-days/{half_day}/sheet",
    tag = "attendance",
    params(HalfDayPath),
    request_body = SheetBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded.", body = SheetOutcomeResponse),
        (status = 404, description = "No such session, half-day or trainee.", body = ErrorResponse),
        (status = 409, description = "Half-day not open for recording (upcoming, co-signed without a correction reason…).", body = ErrorResponse),
        (status = 422, description = "Invalid sheet.", body = ErrorResponse),
        TrainerWriteRefusals,
        JsonBodyRefusals,
    ),
)]
pub(super) async fn record_sheet(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    Path(HalfDayPath { half_day, .. }): Path<HalfDayPath>,
    ApiJson(body): ApiJson<SheetBody>,
) -> Result<Json<SheetOutcomeResponse>, ApiError> {
    let half_day = half_day_id(&half_day)?;
    let input = body.into_input()?;
    Ok(Json(convert(
        state
            .db(move |conn| recording::record_sheet(conn, &caller, &session, &half_day, &input, lms_core::db::now()))
            .await?,
    )?))
}

/// The co-signature just recorded.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CosignBody {
    /// The co-signature's attendance entry.
    entry: String,
    /// The sheet after it.
    sheet: Sheet,
}

/// Co-signs a half-day's sheet (the session's trainer), closing it.
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/half-days/{half_day}/cosign",
    tag = "attendance",
    params(HalfDayPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Co-signed.", body = CosignBody),
        (status = 404, description = "No such session or half-day of it.", body = ErrorResponse),
        (status = 409, description = "Not ready to co-sign (upcoming, statuses missing, already co-signed).", body = ErrorResponse),
        TrainerWriteRefusals,
    ),
)]
pub(super) async fn cosign(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    Path(HalfDayPath { half_day, .. }): Path<HalfDayPath>,
) -> Result<(StatusCode, Json<CosignBody>), ApiError> {
    let half_day = half_day_id(&half_day)?;
    let done = state
        .db(move |conn| recording::cosign_and_read_sheet(conn, &caller, &session, &half_day, lms_core::db::now()))
        .await?;
    Ok((StatusCode::CREATED, Json(CosignBody { entry: done.entry.to_string(), sheet: convert(done.sheet)? })))
}

/// A check-in code as issued by the core.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuedCode {
    code: String,
    session: String,
    half_day: String,
    expires_at: String,
    refresh_seconds: i64,
    url: String,
}

/// A check-in code to show (once: only its hash is kept), with the URL a phone opens and its QR code.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct CodeBody {
    /// The code.
    code: String,
    /// Training session id.
    session: String,
    /// Half-day id.
    half_day: String,
    /// When it expires (UTC).
    expires_at: String,
    /// Seconds after which to show a new one.
    refresh_seconds: i64,
    /// The URL a phone opens.
    url: String,
    /// Its QR code (SVG).
    qr_svg: String,
}

/// Issues a check-in code for a half-day (the session's trainer).
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/half-days/{half_day}/checkin-codes",
    tag = "attendance",
    params(HalfDayPath),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new code.", body = CodeBody),
        (status = 404, description = "No such session or half-day of it.", body = ErrorResponse),
        (status = 409, description = "Half-day not open for check-in.", body = ErrorResponse),
        TrainerWriteRefusals,
    ),
)]
pub(super) async fn issue_code(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    Path(HalfDayPath { half_day, .. }): Path<HalfDayPath>,
) -> Result<(StatusCode, Json<CodeBody>), ApiError> {
    let half_day = half_day_id(&half_day)?;
    let base = public_base(&state);
    let code = state
        .db(move |conn| checkin::issue_checkin_code(conn, &caller, &session, &half_day, &base, lms_core::db::now()))
        .await?;
    let qr_svg = code.qr_svg(240)?;
    let code: IssuedCode = convert(code)?;
    Ok((
        StatusCode::CREATED,
        Json(CodeBody {
            code: code.code,
            session: code.session,
            half_day: code.half_day,
            expires_at: code.expires_at,
            refresh_seconds: code.refresh_seconds,
            url: code.url,
            qr_svg,
        }),
    ))
}

/// A signature drawn on the trainer's device.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SignatureBody {
    /// User id or e-mail address.
    trainee: String,
    /// `{"width", "height", "strokes"}`, as an object or as the text of one.
    #[schema(value_type = Object)]
    signature: serde_json::Value,
}

impl SignatureBody {
    /// The signature may come as a JSON object or as the text of one.
    pub(super) fn signature_text(&self) -> String {
        match &self.signature {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

/// What recording a drawn signature did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SignatureOutcomeResponse {
    /// The attendance entry.
    entry: String,
    /// SHA-256 of the signature (hex).
    signature_sha256: String,
    /// The status recorded (`present`, `late`…).
    status: String,
}

/// Records a trainee's signature drawn on the trainer's device (the session's trainer).
#[utoipa::path(
    post,
    path = "/api/v1/sessions/{id}/half-days/{half_day}/signatures",
    tag = "attendance",
    params(HalfDayPath),
    request_body = SignatureBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Recorded.", body = SignatureOutcomeResponse),
        (status = 404, description = "No such session, half-day or trainee.", body = ErrorResponse),
        (status = 409, description = "Half-day not open, or already signed.", body = ErrorResponse),
        (status = 422, description = "Invalid signature.", body = ErrorResponse),
        TrainerWriteRefusals,
        JsonBodyRefusals,
    ),
)]
pub(super) async fn drawn_signature(
    State(state): State<AppState>,
    ApiSessionTrainer(caller, session): ApiSessionTrainer,
    Path(HalfDayPath { half_day, .. }): Path<HalfDayPath>,
    ApiJson(body): ApiJson<SignatureBody>,
) -> Result<(StatusCode, Json<SignatureOutcomeResponse>), ApiError> {
    let half_day = half_day_id(&half_day)?;
    let signature = body.signature_text();
    let outcome = state
        .db(move |conn| {
            recording::record_drawn_signature(
                conn,
                &caller,
                &session,
                &half_day,
                &body.trainee,
                &signature,
                lms_core::db::now(),
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(convert(outcome)?)))
}

/// A check-in code typed or scanned by the trainee.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckinBody {
    /// The code shown by the trainer.
    code: String,
}

/// What a successful check-in recorded.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckinResponse {
    /// Training session id.
    session: String,
    /// Course title.
    course_title: String,
    /// The half-day.
    half_day: HalfDayInfo,
    /// `present` or `late`.
    status: String,
    /// Minutes late.
    late_minutes: i64,
    /// The attendance entry.
    entry: String,
    /// When (UTC).
    recorded_at: String,
    /// SHA-256 of the evidence (hex).
    evidence_sha256: String,
}

/// Checks the caller (a trainee) in with a code shown by the trainer.
#[utoipa::path(
    post,
    path = "/api/v1/checkin",
    tag = "attendance",
    request_body = CheckinBody,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Checked in.", body = CheckinResponse),
        (status = 400, description = "Malformed JSON.", body = ErrorResponse),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 403, description = "Not enrolled in that session.", body = ErrorResponse),
        (status = 404, description = "Unknown code.", body = ErrorResponse),
        (status = 409, description = "Code expired, half-day closed, or already signed.", body = ErrorResponse),
        (status = 413, description = "Body too large.", body = ErrorResponse),
        (status = 415, description = "Not JSON.", body = ErrorResponse),
        (status = 422, description = "Body of the wrong shape.", body = ErrorResponse),
        (status = 429, description = "Too many wrong codes.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn check_in(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Client(client): Client,
    ApiJson(body): ApiJson<CheckinBody>,
) -> Result<(StatusCode, Json<CheckinResponse>), ApiError> {
    let client = ClientInfo { ip: client.ip, user_agent: client.user_agent };
    let outcome =
        state.db(move |conn| checkin::check_in(conn, &caller, &body.code, &client, lms_core::db::now())).await?;
    Ok((StatusCode::CREATED, Json(convert(outcome)?)))
}

/// A half-day as the trainee sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MyHalfDayAttendance {
    /// Half-day id.
    half_day: String,
    /// Local date (`YYYY-MM-DD`).
    date: String,
    /// `morning` or `afternoon`.
    slot: String,
    /// Start (UTC).
    starts_at: String,
    /// End (UTC).
    ends_at: String,
    /// Scheduled minutes.
    minutes: i64,
    /// My status, once recorded.
    status: Option<String>,
    /// Minutes attended.
    attended_minutes: i64,
    /// Whether I signed.
    signed: bool,
    /// Whether the half-day is closed.
    closed: bool,
}

/// The caller's attendance in one session.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct MyAttendanceResponse {
    /// The session.
    session: SessionHeader,
    /// Minutes scheduled.
    scheduled_minutes: i64,
    /// Minutes of the half-days already past.
    elapsed_minutes: i64,
    /// Minutes attended.
    attended_minutes: i64,
    /// The half-days.
    half_days: Vec<MyHalfDayAttendance>,
    /// Whether the completion certificate can be downloaded.
    completion_available: bool,
    /// Whether the attendance attestation can be downloaded.
    attestation_available: bool,
}

/// The caller's own attendance, per session.
#[utoipa::path(
    get,
    path = "/api/v1/me/attendance",
    tag = "attendance",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One item per session the caller is enrolled in.", body = Vec<MyAttendanceResponse>),
        (status = 401, description = "No valid token.", body = ErrorResponse),
        (status = 503, description = "Database busy, retry.", body = ErrorResponse),
    ),
)]
pub(super) async fn my_attendance(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<MyAttendanceResponse>>, ApiError> {
    Ok(Json(convert(state.db(move |conn| sheets::my_attendance(conn, &caller.user.id, lms_core::db::now())).await?)?))
}
