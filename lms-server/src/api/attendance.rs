//! Attendance (émargement) over JSON: the trainer's sessions, a session's half-days with absence
//! alerts, a half-day's sheet, recording a whole sheet in one request, co-signing, check-in codes,
//! drawn signatures; the trainee's check-in and own attendance. Who may do what is decided in
//! `lms_core::attendance::authz`; every refusal is `{"error": {"code", "message"}}`.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use lms_core::access::ClientInfo;
use lms_core::attendance::checkin::{self, CheckinOutcome};
use lms_core::attendance::recording::{self, SheetInput, SheetLine, SheetOutcome, SignatureOutcome};
use lms_core::attendance::sheets::{self, MyAttendance, SessionAttendance, Sheet, TaughtSession};
use lms_core::attendance::{Actor, AttendanceError, AttendanceStatus, SignatureMethod};
use lms_core::db::ids::HalfDayId;
use serde::{Deserialize, Serialize};

use super::catalogue::session_id;
use super::json::ApiJson;
use crate::auth::{ApiCaller, ApiSessionTrainer, Client};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/trainer/sessions", get(my_sessions))
        .route("/sessions/{id}/half-days", get(half_days))
        .route("/sessions/{id}/half-days/{half_day}/sheet", get(sheet).put(record_sheet))
        .route("/sessions/{id}/half-days/{half_day}/cosign", post(cosign))
        .route("/sessions/{id}/half-days/{half_day}/checkin-codes", post(issue_code))
        .route("/sessions/{id}/half-days/{half_day}/signatures", post(drawn_signature))
        .route("/checkin", post(check_in))
        .route("/me/attendance", get(my_attendance))
}

/// A half-day id from the path; anything malformed is simply not a half-day of the session.
pub fn half_day_id(raw: &str) -> Result<HalfDayId, ApiError> {
    HalfDayId::parse(raw).map_err(|_| ApiError::from(AttendanceError::WrongHalfDay))
}

/// Reads a JSON body only once the caller is known to teach the session, so that a refused caller
/// gets 403 whatever they sent (the rule is `lms_core::attendance::ensure_trainer_of`; the use case
/// checks it again inside its transaction).
pub async fn trainer_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    caller: &lms_core::access::Caller,
    session: &lms_core::db::ids::TrainingSessionId,
    request: Request,
) -> Result<T, ApiError> {
    let (who, target) = (caller.clone(), session.clone());
    state.db(move |conn| lms_core::attendance::ensure_trainer_of(conn, &who, &target)).await?;
    let ApiJson(body) = ApiJson::<T>::from_request(request, state).await?;
    Ok(body)
}

/// The base URL printed in check-in QR codes: `LMS_PUBLIC_URL` when set, else this request's host.
pub fn public_base(headers: &HeaderMap, secure: bool) -> String {
    if std::env::var(lms_core::certification::issuing::PUBLIC_URL_ENV).is_ok_and(|v| !v.trim().is_empty()) {
        return lms_core::certification::issuing::public_url_from_env();
    }
    match headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| !h.contains(['/', ' ', '"', '<'])) {
        Some(host) => format!("{}://{host}", if secure { "https" } else { "http" }),
        None => lms_core::certification::issuing::public_url_from_env(),
    }
}

async fn my_sessions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TaughtSession>>, ApiError> {
    Ok(Json(state.db(move |conn| sheets::sessions_for(conn, &caller, lms_core::db::now())).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertQuery {
    threshold: Option<u32>,
}

async fn half_days(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<AlertQuery>,
) -> Result<Json<SessionAttendance>, ApiError> {
    let session = session_id(&id)?;
    let threshold = query.threshold.unwrap_or(sheets::DEFAULT_ABSENCE_ALERT);
    Ok(Json(
        state
            .db(move |conn| {
                sheets::session_attendance(conn, Actor::Person(&caller), &session, threshold, lms_core::db::now())
            })
            .await?,
    ))
}

async fn sheet(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path((id, half_day)): Path<(String, String)>,
) -> Result<Json<Sheet>, ApiError> {
    let session = session_id(&id)?;
    let half_day = half_day_id(&half_day)?;
    Ok(Json(
        state
            .db(move |conn| {
                sheets::half_day_sheet(conn, Actor::Person(&caller), &session, &half_day, lms_core::db::now())
            })
            .await?,
    ))
}

/// One line of a sheet in a request.
#[derive(Debug, Deserialize)]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SheetBody {
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
        let method = match self.method.as_deref() {
            None => SignatureMethod::TrainerEntry,
            Some(raw) => SignatureMethod::parse(raw)?,
        };
        let mut lines = Vec::with_capacity(self.entries.len());
        for entry in self.entries {
            lines.push(SheetLine {
                status: AttendanceStatus::parse(&entry.status).map_err(|e| AttendanceError::InSheet {
                    trainee: entry.trainee.chars().take(120).collect(),
                    source: Box::new(e),
                })?,
                trainee: entry.trainee,
                minutes: entry.minutes,
                reason: entry.reason,
            });
        }
        Ok(SheetInput {
            lines,
            method,
            evidence_sha256: self.evidence_sha256,
            correction_reason: self.correction_reason,
        })
    }
}

async fn record_sheet(
    State(state): State<AppState>,
    ApiSessionTrainer(caller): ApiSessionTrainer,
    Path((id, half_day)): Path<(String, String)>,
    request: Request,
) -> Result<Json<SheetOutcome>, ApiError> {
    let session = session_id(&id)?;
    let body: SheetBody = trainer_body(&state, &caller, &session, request).await?;
    let half_day = half_day_id(&half_day)?;
    let input = body.into_input()?;
    Ok(Json(
        state
            .db(move |conn| recording::record_sheet(conn, &caller, &session, &half_day, &input, lms_core::db::now()))
            .await?,
    ))
}

/// The co-signature just recorded.
#[derive(Debug, Serialize)]
struct CosignBody {
    entry: String,
    sheet: Sheet,
}

async fn cosign(
    State(state): State<AppState>,
    ApiSessionTrainer(caller): ApiSessionTrainer,
    Path((id, half_day)): Path<(String, String)>,
) -> Result<(StatusCode, Json<CosignBody>), ApiError> {
    let session = session_id(&id)?;
    let half_day = half_day_id(&half_day)?;
    let body = state
        .db(move |conn| {
            let now = lms_core::db::now();
            let entry = recording::cosign_sheet(conn, &caller, &session, &half_day, now)?;
            let sheet = sheets::half_day_sheet(conn, Actor::Person(&caller), &session, &half_day, now)?;
            Ok::<_, AttendanceError>(CosignBody { entry: entry.to_string(), sheet })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(body)))
}

/// A check-in code to show, with the URL a phone opens and its QR code.
#[derive(Debug, Serialize)]
struct CodeBody {
    #[serde(flatten)]
    code: checkin::IssuedCode,
    url: String,
    qr_svg: String,
}

async fn issue_code(
    State(state): State<AppState>,
    ApiSessionTrainer(caller): ApiSessionTrainer,
    headers: HeaderMap,
    Path((id, half_day)): Path<(String, String)>,
) -> Result<(StatusCode, Json<CodeBody>), ApiError> {
    let session = session_id(&id)?;
    let half_day = half_day_id(&half_day)?;
    let code = state
        .db(move |conn| checkin::issue_checkin_code(conn, &caller, &session, &half_day, lms_core::db::now()))
        .await?;
    let url = format!("{}/checkin?code={}", public_base(&headers, state.secure_cookies()), code.code);
    let qr_svg = lms_core::documents::qr::qr_svg(&url, 240)?;
    Ok((StatusCode::CREATED, Json(CodeBody { code, url, qr_svg })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SignatureBody {
    /// User id or e-mail address.
    trainee: String,
    /// `{"width", "height", "strokes"}`.
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

async fn drawn_signature(
    State(state): State<AppState>,
    ApiSessionTrainer(caller): ApiSessionTrainer,
    Path((id, half_day)): Path<(String, String)>,
    request: Request,
) -> Result<(StatusCode, Json<SignatureOutcome>), ApiError> {
    let session = session_id(&id)?;
    let body: SignatureBody = trainer_body(&state, &caller, &session, request).await?;
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
    Ok((StatusCode::CREATED, Json(outcome)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckinBody {
    code: String,
}

async fn check_in(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Client(client): Client,
    ApiJson(body): ApiJson<CheckinBody>,
) -> Result<(StatusCode, Json<CheckinOutcome>), ApiError> {
    let client = ClientInfo { ip: client.ip, user_agent: client.user_agent };
    let outcome =
        state.db(move |conn| checkin::check_in(conn, &caller, &body.code, &client, lms_core::db::now())).await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

async fn my_attendance(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<MyAttendance>>, ApiError> {
    Ok(Json(state.db(move |conn| sheets::my_attendance(conn, &caller.user.id, lms_core::db::now())).await?))
}
