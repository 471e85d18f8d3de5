//! `/trainer/...`: the trainer's pages — my sessions, a session's half-days with absence alerts,
//! a half-day's sheet (record every status in one form, co-sign, history), the rotating check-in
//! code, drawn signatures, the paper fallback, PDF sheets, and the competence grid.
//!
//! Every page works without JavaScript; `/static/trainer.js` only adds the signature pad and
//! hashing a scanned sheet in the browser. Who may see or change what is decided in
//! `lms_core::attendance::authz`: administrators read everything here, and write nothing.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDateTime;
use lms_core::assessment::AssessmentResult;
use lms_core::assessment::grid::{self, ResultInput};
use lms_core::attendance::checkin;
use lms_core::attendance::recording::{self, SheetInput, SheetLine};
use lms_core::attendance::records::{self, RenderedDocument};
use lms_core::attendance::sheets::{self, HalfDayState, Sheet};
use lms_core::attendance::{Actor, AttendanceError, AttendanceStatus, SignatureMethod};
use lms_core::locale::{date_fr, short_date_fr, time_fr, to_paris};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, error_page, render};
use crate::api::{half_day_id, public_base, session_id};
use crate::auth::{self, PageCaller, PageSessionTrainer};
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/trainer", get(my_sessions))
        .route("/trainer/sessions/{id}", get(session_page))
        .route("/trainer/sessions/{id}/sheet.pdf", get(session_sheet_pdf))
        .route("/trainer/sessions/{id}/half-days/{half_day}", get(sheet_page))
        .route("/trainer/sessions/{id}/half-days/{half_day}/statuses", post(record_statuses))
        .route("/trainer/sessions/{id}/half-days/{half_day}/cosign", post(cosign))
        .route("/trainer/sessions/{id}/half-days/{half_day}/checkin", get(checkin_code))
        .route("/trainer/sessions/{id}/half-days/{half_day}/signature/{trainee}", get(signature_page).post(sign))
        .route("/trainer/sessions/{id}/half-days/{half_day}/sheet.pdf", get(half_day_sheet_pdf))
        .route("/trainer/sessions/{id}/half-days/{half_day}/blank.pdf", get(blank_sheet_pdf))
        .route("/trainer/sessions/{id}/assessments", get(grid_page).post(record_results))
        .route("/trainer/sessions/{id}/assessments/{trainee}", get(trainee_results_page))
        .route("/static/trainer.js", get(script))
}

/// The optional script: signature pad and in-browser hashing of a scanned sheet.
pub const TRAINER_JS: &str = include_str!("../../static/trainer.js");

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        TRAINER_JS,
    )
        .into_response()
}

/// Fixed French messages for `?info=` codes of these pages (user text is never echoed).
fn info(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "recorded" => "Les statuts ont été enregistrés dans le registre d'émargement.",
        "unchanged" => "Aucun changement : ces statuts étaient déjà enregistrés.",
        "cosigned" => "Demi-journée contresignée : elle est close. Une correction demandera désormais un motif.",
        "signed" => "Signature enregistrée.",
        "assessed" => "Résultats enregistrés.",
        "assessed_unchanged" => "Aucun changement : ces résultats étaient déjà enregistrés.",
        other => return super::info_message(Some(other)),
    })
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    info: Option<String>,
    seuil: Option<String>,
}

fn at_fr(utc: NaiveDateTime) -> String {
    format!("{} à {}", date_fr(to_paris(utc).date()), time_fr(utc))
}

fn short_hash(hash: &str) -> String {
    hash.chars().take(12).collect()
}

/// A PDF download (attachment, never cached by shared caches), with its SHA-256 in a header.
pub fn pdf_response(document: RenderedDocument) -> Response {
    let disposition = format!("attachment; filename=\"{}\"", document.file_name);
    let mut response =
        ([(header::CONTENT_TYPE, "application/pdf"), (header::CACHE_CONTROL, "private, no-store")], document.bytes)
            .into_response();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&document.sha256) {
        response.headers_mut().insert(HeaderName::from_static("x-document-sha256"), value);
    }
    response
}

/// Refuses (403/404) a form from someone who does not teach the session, before its content is
/// looked at (the rule is `lms_core::attendance::ensure_trainer_of`; use cases check it again).
async fn ensure_teaches(state: &AppState, caller: &lms_core::access::Caller, id: &str) -> Result<(), ApiError> {
    let session = session_id(id)?;
    let who = caller.clone();
    state.db(move |conn| lms_core::attendance::ensure_trainer_of(conn, &who, &session)).await
}

// ------------------------------------------------------------------ my sessions

#[derive(Serialize)]
struct SessionCard {
    id: String,
    reference: String,
    course_title: String,
    dates: String,
    status: lms_core::catalogue::TrainingSessionStatus,
    trainees: i64,
    half_days: i64,
    to_cosign: i64,
    next: Option<String>,
    teaches: bool,
}

async fn my_sessions(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    let who = caller.clone();
    let found = state.db(move |conn| sheets::sessions_for(conn, &who, lms_core::db::now())).await;
    let sessions = match found {
        Ok(sessions) => sessions,
        Err(error) => return error_page(&state, error),
    };
    let cards: Vec<SessionCard> = sessions
        .into_iter()
        .map(|s| SessionCard {
            id: s.session.id.to_string(),
            reference: s.session.reference,
            course_title: s.session.course_title,
            dates: format!("{} – {}", short_date_fr(s.session.start), short_date_fr(s.session.end)),
            status: s.session.status,
            trainees: s.trainees,
            half_days: s.half_days,
            to_cosign: s.half_days_to_cosign,
            next: s.next_half_day_at.map(at_fr),
            teaches: s.right.can_write(),
        })
        .collect();
    render(&state, "trainer_sessions.html", context! { sessions => cards, ..base_context(Some(&caller)) })
}

// ------------------------------------------------------------------ a session

#[derive(Serialize)]
struct HalfDayLine {
    id: String,
    date: String,
    slot: &'static str,
    hours: String,
    venue: String,
    module: Option<String>,
    state: HalfDayState,
    state_label: &'static str,
    recorded: i64,
    attended: i64,
    absent: i64,
    signed: i64,
    cosigned: Option<String>,
}

#[derive(Serialize)]
struct AlertLine {
    name: String,
    email: String,
    consecutive: u32,
    excused: u32,
    since: String,
}

async fn session_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
    Query(query): Query<InfoQuery>,
) -> Response {
    let Ok(session) = session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let threshold = match query.seuil.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => sheets::DEFAULT_ABSENCE_ALERT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                return error_page(
                    &state,
                    AttendanceError::Invalid("le seuil d'alerte est un nombre de demi-journées".into()).into(),
                );
            }
        },
    };
    let who = caller.clone();
    let found = state
        .db(move |conn| sheets::session_attendance(conn, Actor::Person(&who), &session, threshold, lms_core::db::now()))
        .await;
    let attendance = match found {
        Ok(attendance) => attendance,
        Err(error) => return error_page(&state, error),
    };
    let half_days: Vec<HalfDayLine> = attendance
        .half_days
        .iter()
        .map(|h| HalfDayLine {
            id: h.id.to_string(),
            date: date_fr(h.date),
            slot: h.slot.label_fr(),
            hours: format!("{} – {}", time_fr(h.starts_at), time_fr(h.ends_at)),
            venue: format!("{} ({})", h.venue, h.commune),
            module: h.module.clone(),
            state: h.state,
            state_label: h.state.label_fr(),
            recorded: h.recorded,
            attended: h.attended,
            absent: h.absent,
            signed: h.signed,
            cosigned: match (&h.cosigned_by, h.cosigned_at) {
                (Some(by), Some(at)) => Some(format!("par {by}, le {}", at_fr(at))),
                _ => None,
            },
        })
        .collect();
    let alerts: Vec<AlertLine> = attendance
        .alerts
        .iter()
        .map(|a| AlertLine {
            name: a.name.clone(),
            email: a.email.clone(),
            consecutive: a.consecutive,
            excused: a.excused,
            since: date_fr(a.since),
        })
        .collect();
    render(
        &state,
        "trainer_session.html",
        context! {
            session => attendance.session,
            dates => format!("{} – {}", short_date_fr(attendance.session.start), short_date_fr(attendance.session.end)),
            right => records::right_label(attendance.right),
            can_write => attendance.right.can_write(),
            trainees => attendance.trainees,
            half_days => half_days,
            alerts => alerts,
            threshold => attendance.alert_threshold,
            ledger => attendance.ledger,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    )
}

async fn session_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
) -> Response {
    let Ok(session) = session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    match state
        .db(move |conn| {
            records::attendance_sheet_pdf(conn, Actor::Person(&caller), &session, None, lms_core::db::now())
        })
        .await
    {
        Ok(document) => pdf_response(document),
        Err(error) => error_page(&state, error),
    }
}

// ------------------------------------------------------------------ a half-day's sheet

#[derive(Serialize)]
struct HistoryLine {
    seq: i64,
    status: String,
    method: &'static str,
    recorded_by: String,
    recorded_at: String,
    correction_reason: Option<String>,
    superseded: bool,
    hash: String,
}

#[derive(Serialize)]
struct SheetLineView {
    trainee: String,
    name: String,
    email: String,
    enrolled: bool,
    status: String,
    status_label: String,
    minutes: String,
    reason: String,
    method: Option<&'static str>,
    recorded_at: Option<String>,
    signature: Option<String>,
    signed: bool,
    history: Vec<HistoryLine>,
}

fn status_text(status: Option<AttendanceStatus>, late: i32, left: i32, reason: Option<&str>) -> String {
    match status {
        None => "Non renseigné".into(),
        Some(AttendanceStatus::Late) => format!("En retard ({late} min)"),
        Some(AttendanceStatus::LeftEarly) => format!("Parti·e plus tôt ({left} min)"),
        Some(AttendanceStatus::Excused) => format!("Absence excusée ({})", reason.unwrap_or("")),
        Some(other) => other.label_fr().into(),
    }
}

/// What a trainer submitted for one trainee, to show back when the form is refused.
#[derive(Debug, Clone, Default)]
struct Submitted {
    status: String,
    minutes: String,
    reason: String,
}

fn sheet_context(sheet: &Sheet, submitted: &HashMap<String, Submitted>) -> Vec<SheetLineView> {
    sheet
        .rows
        .iter()
        .map(|row| {
            let id = row.trainee.to_string();
            let minutes = match row.status {
                Some(AttendanceStatus::Late) => row.late_minutes.to_string(),
                Some(AttendanceStatus::LeftEarly) => row.left_early_minutes.to_string(),
                _ => String::new(),
            };
            let mine = submitted.get(&id).cloned();
            SheetLineView {
                status: mine
                    .as_ref()
                    .map(|s| s.status.clone())
                    .unwrap_or_else(|| row.status.map(|s| s.as_str().to_owned()).unwrap_or_default()),
                minutes: mine.as_ref().map(|s| s.minutes.clone()).unwrap_or(minutes),
                reason: mine
                    .as_ref()
                    .map(|s| s.reason.clone())
                    .unwrap_or_else(|| row.reason.clone().unwrap_or_default()),
                status_label: status_text(row.status, row.late_minutes, row.left_early_minutes, row.reason.as_deref()),
                method: row.method.map(SignatureMethod::label_fr),
                recorded_at: row.recorded_at.map(time_fr),
                signed: row.signature.is_some(),
                signature: row.signature.as_ref().map(|s| {
                    format!(
                        "{} à {}{}",
                        s.method.label_fr(),
                        time_fr(s.at),
                        s.evidence_sha256
                            .as_deref()
                            .map(|h| format!(" — empreinte {}…", short_hash(h)))
                            .unwrap_or_default()
                    )
                }),
                history: row
                    .history
                    .iter()
                    .map(|h| HistoryLine {
                        seq: h.seq,
                        status: status_text(h.status, h.late_minutes, h.left_early_minutes, h.reason.as_deref()),
                        method: h.method.map(SignatureMethod::label_fr).unwrap_or(""),
                        recorded_by: h.recorded_by.clone(),
                        recorded_at: at_fr(h.recorded_at),
                        correction_reason: h.correction_reason.clone(),
                        superseded: h.superseded,
                        hash: short_hash(&h.entry_hash),
                    })
                    .collect(),
                trainee: id,
                name: row.name.clone(),
                email: row.email.clone(),
                enrolled: row.enrolled,
            }
        })
        .collect()
}

/// What the sheet page shows besides the sheet itself.
struct SheetExtras {
    error: Option<ApiError>,
    submitted: HashMap<String, Submitted>,
    info: Option<&'static str>,
    form: HashMap<&'static str, String>,
}

async fn render_sheet(
    state: &AppState,
    caller: &lms_core::access::Caller,
    id: &str,
    half_day: &str,
    extras: SheetExtras,
) -> Response {
    let (Ok(session), Ok(half_day)) = (session_id(id), half_day_id(half_day)) else {
        return error_page(state, ApiError::not_found());
    };
    let who = caller.clone();
    let found = state
        .db(move |conn| sheets::half_day_sheet(conn, Actor::Person(&who), &session, &half_day, lms_core::db::now()))
        .await;
    let sheet = match found {
        Ok(sheet) => sheet,
        Err(error) => return error_page(state, error),
    };
    let rows = sheet_context(&sheet, &extras.submitted);
    let statuses: Vec<(&str, &str)> = AttendanceStatus::ALL.iter().map(|s| (s.as_str(), s.label_fr())).collect();
    let (status, message) = match &extras.error {
        Some(error) => (error.status, Some(error.message.clone())),
        None => (StatusCode::OK, None),
    };
    let mut response = render(
        state,
        "trainer_sheet.html",
        context! {
            session => sheet.session,
            half_day => context! {
                id => sheet.half_day.id.to_string(),
                date => date_fr(sheet.half_day.date),
                slot => sheet.half_day.slot.label_fr(),
                hours => format!("{} – {}", time_fr(sheet.half_day.starts_at), time_fr(sheet.half_day.ends_at)),
                venue => sheet.half_day.venue,
                address => sheet.half_day.venue_address,
                module => sheet.half_day.module,
            },
            state => sheet.state,
            state_label => sheet.state.label_fr(),
            right => records::right_label(sheet.right),
            can_write => sheet.right.can_write(),
            can_record => sheet.can_record,
            can_cosign => sheet.can_cosign,
            missing => sheet.missing,
            closed => sheet.state == HalfDayState::Closed,
            in_progress => sheet.state == HalfDayState::InProgress,
            upcoming => sheet.state == HalfDayState::Upcoming,
            rows => rows,
            cosign => sheet.cosign.as_ref().map(|c| context! {
                name => c.name,
                at => at_fr(c.at),
                seq => c.seq,
                hash => c.entry_hash,
            }),
            ledger => sheet.ledger,
            statuses => statuses,
            error => message,
            form => extras.form,
            info => extras.info,
            ..base_context(Some(caller))
        },
    );
    *response.status_mut() = status;
    response
}

async fn sheet_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path((id, half_day)): Path<(String, String)>,
    Query(query): Query<InfoQuery>,
) -> Response {
    let extras =
        SheetExtras { error: None, submitted: HashMap::new(), info: info(query.info.as_deref()), form: HashMap::new() };
    render_sheet(&state, &caller, &id, &half_day, extras).await
}

/// What the sheet form gave: each line as submitted (to show it again), the other fields, and
/// the sheet to record (or why it cannot be).
type ParsedSheetForm = (HashMap<String, Submitted>, HashMap<&'static str, String>, Result<SheetInput, AttendanceError>);

/// Reads the sheet form: `status-<trainee>`, `minutes-<trainee>`, `reason-<trainee>` for each
/// line, plus `method`, `evidence_sha256`, `correction_reason` and `csrf`.
fn parse_sheet_form(fields: &[(String, String)]) -> ParsedSheetForm {
    let mut lines: HashMap<String, Submitted> = HashMap::new();
    let mut form: HashMap<&'static str, String> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (key, value) in fields {
        let (kind, trainee) = match key.split_once('-') {
            Some((kind @ ("status" | "minutes" | "reason"), trainee)) => (kind, trainee.to_owned()),
            _ => {
                for known in ["method", "evidence_sha256", "correction_reason", "csrf"] {
                    if key == known {
                        form.insert(known, value.clone());
                    }
                }
                continue;
            }
        };
        if !lines.contains_key(&trainee) {
            order.push(trainee.clone());
        }
        let line = lines.entry(trainee).or_default();
        match kind {
            "status" => line.status = value.trim().to_owned(),
            "minutes" => line.minutes = value.trim().to_owned(),
            _ => line.reason = value.clone(),
        }
    }
    let parsed = (|| {
        let method = match form.get("method").map(|m| m.trim()).filter(|m| !m.is_empty()) {
            None => SignatureMethod::TrainerEntry,
            Some(raw) => SignatureMethod::parse(raw)?,
        };
        let mut sheet_lines = Vec::new();
        for trainee in &order {
            let Some(line) = lines.get(trainee) else { continue };
            if line.status.is_empty() {
                continue;
            }
            let in_line =
                |e: AttendanceError| AttendanceError::InSheet { trainee: trainee.clone(), source: Box::new(e) };
            let status = AttendanceStatus::parse(&line.status).map_err(in_line)?;
            let minutes =
                if line.minutes.is_empty() || !matches!(status, AttendanceStatus::Late | AttendanceStatus::LeftEarly) {
                    0
                } else {
                    line.minutes
                        .parse::<i32>()
                        .map_err(|_| in_line(AttendanceError::Invalid("les minutes s'écrivent en chiffres".into())))?
                };
            sheet_lines.push(SheetLine {
                trainee: trainee.clone(),
                status,
                minutes,
                reason: Some(line.reason.clone()),
            });
        }
        if sheet_lines.is_empty() {
            return Err(AttendanceError::Invalid("choisissez un statut pour au moins un·e stagiaire".into()));
        }
        Ok(SheetInput {
            lines: sheet_lines,
            method,
            evidence_sha256: form.get("evidence_sha256").cloned(),
            correction_reason: form.get("correction_reason").cloned(),
        })
    })();
    (lines, form, parsed)
}

async fn record_statuses(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    Path((id, half_day)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (submitted, mut form, parsed) = parse_sheet_form(&fields);
    let csrf = form.remove("csrf").unwrap_or_default();
    if let Err(error) = auth::check_form_token(&caller, &csrf) {
        return error_page(&state, error.into());
    }
    if let Err(error) = ensure_teaches(&state, &caller, &id).await {
        return error_page(&state, error);
    }
    let refused = |error: ApiError, submitted, form| SheetExtras { error: Some(error), submitted, info: None, form };
    let input = match parsed {
        Ok(input) => input,
        Err(error) => {
            return render_sheet(&state, &caller, &id, &half_day, refused(error.into(), submitted, form)).await;
        }
    };
    let (Ok(session), Ok(half_day_key)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let outcome = state
        .db(move |conn| recording::record_sheet(conn, &who, &session, &half_day_key, &input, lms_core::db::now()))
        .await;
    match outcome {
        Ok(outcome) => {
            let code = if outcome.recorded > 0 { "recorded" } else { "unchanged" };
            Redirect::to(&format!("/trainer/sessions/{id}/half-days/{half_day}?info={code}")).into_response()
        }
        Err(error) if error.status == StatusCode::FORBIDDEN || error.status == StatusCode::NOT_FOUND => {
            error_page(&state, error)
        }
        Err(error) => render_sheet(&state, &caller, &id, &half_day, refused(error, submitted, form)).await,
    }
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn cosign(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    Path((id, half_day)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(error) = auth::check_form_token(&caller, &form.csrf) {
        return error_page(&state, error.into());
    }
    let (Ok(session), Ok(half_day_key)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    match state.db(move |conn| recording::cosign_sheet(conn, &who, &session, &half_day_key, lms_core::db::now())).await
    {
        Ok(_) => Redirect::to(&format!("/trainer/sessions/{id}/half-days/{half_day}?info=cosigned")).into_response(),
        Err(error) if error.status == StatusCode::CONFLICT => {
            let extras =
                SheetExtras { error: Some(error), submitted: HashMap::new(), info: None, form: HashMap::new() };
            render_sheet(&state, &caller, &id, &half_day, extras).await
        }
        Err(error) => error_page(&state, error),
    }
}

async fn half_day_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path((id, half_day)): Path<(String, String)>,
) -> Response {
    let (Ok(session), Ok(half_day)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    match state
        .db(move |conn| {
            records::attendance_sheet_pdf(conn, Actor::Person(&caller), &session, Some(&half_day), lms_core::db::now())
        })
        .await
    {
        Ok(document) => pdf_response(document),
        Err(error) => error_page(&state, error),
    }
}

async fn blank_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path((id, half_day)): Path<(String, String)>,
) -> Response {
    let (Ok(session), Ok(half_day)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    match state
        .db(move |conn| {
            records::blank_sheet_pdf(conn, Actor::Person(&caller), &session, &half_day, lms_core::db::now())
        })
        .await
    {
        Ok(document) => pdf_response(document),
        Err(error) => error_page(&state, error),
    }
}

// ------------------------------------------------------------------ check-in code and signatures

/// Shows a fresh code and its QR code. Each visit issues a new code (only its hash is stored, so
/// an old one cannot be shown again); the `Refresh` header reloads the page before the code
/// expires, which works without JavaScript.
async fn checkin_code(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    headers: HeaderMap,
    Path((id, half_day)): Path<(String, String)>,
) -> Response {
    let (Ok(session), Ok(half_day_key)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let target = session.clone();
    let issued = state
        .db(move |conn| {
            let now = lms_core::db::now();
            let code = checkin::issue_checkin_code(conn, &who, &target, &half_day_key, now)?;
            let sheet = sheets::half_day_sheet(conn, Actor::Person(&who), &target, &half_day_key, now)?;
            Ok::<_, AttendanceError>((code, sheet))
        })
        .await;
    let (code, sheet) = match issued {
        Ok(found) => found,
        Err(error) => return error_page(&state, error),
    };
    let url = format!("{}/checkin?code={}", public_base(&headers, state.secure_cookies()), code.code);
    let qr = match lms_core::documents::qr::qr_svg(&url, 260) {
        Ok(svg) => svg,
        Err(error) => return error_page(&state, error.into()),
    };
    let signed = sheet.rows.iter().filter(|r| r.signature.is_some()).count();
    let grouped = format!("{} {}", &code.code[..3], &code.code[3..]);
    let mut response = render(
        &state,
        "trainer_checkin.html",
        context! {
            session => sheet.session,
            half_day_id => half_day,
            half_day_label => format!("{}, {}", date_fr(sheet.half_day.date), sheet.half_day.slot.label_fr_lower()),
            code => grouped,
            url => url,
            qr_svg => qr,
            expires_at => time_fr(code.expires_at),
            refresh_seconds => code.refresh_seconds,
            signed => signed,
            trainees => sheet.rows.iter().filter(|r| r.enrolled).count(),
            ..base_context(Some(&caller))
        },
    );
    if let Ok(value) = HeaderValue::from_str(&code.refresh_seconds.to_string()) {
        response.headers_mut().insert(HeaderName::from_static("refresh"), value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn signature_page(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    Path((id, half_day, trainee)): Path<(String, String, String)>,
) -> Response {
    let (Ok(session), Ok(half_day_key)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let found = state
        .db(move |conn| sheets::half_day_sheet(conn, Actor::Person(&who), &session, &half_day_key, lms_core::db::now()))
        .await;
    let sheet = match found {
        Ok(sheet) => sheet,
        Err(error) => return error_page(&state, error),
    };
    if !sheet.right.can_write() {
        return error_page(
            &state,
            AttendanceError::Forbidden("seul·e un·e formateur·rice de la session fait signer").into(),
        );
    }
    let Some(row) = sheet.rows.iter().find(|r| r.trainee.as_str() == trainee && r.enrolled) else {
        return error_page(&state, AttendanceError::NotATrainee.into());
    };
    if !sheet.can_record || sheet.cosign.is_some() {
        let error = if sheet.cosign.is_some() { AttendanceError::ClosedHalfDay } else { AttendanceError::NotStarted };
        return error_page(&state, error.into());
    }
    render(
        &state,
        "trainer_signature.html",
        context! {
            session => sheet.session,
            half_day_id => half_day,
            half_day_label => format!("{}, {}", date_fr(sheet.half_day.date), sheet.half_day.slot.label_fr_lower()),
            trainee => row.trainee.to_string(),
            name => row.name,
            already => row.signature.is_some(),
            ..base_context(Some(&caller))
        },
    )
}

#[derive(Debug, Deserialize)]
struct SignatureForm {
    csrf: String,
    #[serde(default)]
    signature: String,
}

async fn sign(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    Path((id, half_day, trainee)): Path<(String, String, String)>,
    Form(form): Form<SignatureForm>,
) -> Response {
    if let Err(error) = auth::check_form_token(&caller, &form.csrf) {
        return error_page(&state, error.into());
    }
    let (Ok(session), Ok(half_day_key)) = (session_id(&id), half_day_id(&half_day)) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let outcome = state
        .db(move |conn| {
            recording::record_drawn_signature(
                conn,
                &who,
                &session,
                &half_day_key,
                &trainee,
                &form.signature,
                lms_core::db::now(),
            )
        })
        .await;
    match outcome {
        Ok(_) => Redirect::to(&format!("/trainer/sessions/{id}/half-days/{half_day}?info=signed")).into_response(),
        Err(error) => error_page(&state, error),
    }
}

// ------------------------------------------------------------------ assessment grid

#[derive(Serialize)]
struct GridCellView {
    code: String,
    result: String,
    label: &'static str,
    title: String,
}

#[derive(Serialize)]
struct GridRowView {
    id: String,
    name: String,
    acquired: usize,
    cells: Vec<GridCellView>,
}

/// Grid choices: stored value and the short label of the grid's buttons.
const RESULT_CHOICES: [(&str, &str); 3] = [
    (AssessmentResult::Acquired.as_str(), "Acquise"),
    (AssessmentResult::InProgress.as_str(), "En cours"),
    (AssessmentResult::NotAcquired.as_str(), "Non acquise"),
];

async fn grid_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<String>,
    Query(query): Query<InfoQuery>,
) -> Response {
    let Ok(session) = session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let found = state.db(move |conn| grid::assessment_grid(conn, Actor::Person(&who), &session)).await;
    let grid = match found {
        Ok(grid) => grid,
        Err(error) => return error_page(&state, error),
    };
    let codes: Vec<String> = grid.units.iter().flat_map(|u| u.competences.iter()).map(|c| c.code.clone()).collect();
    let rows: Vec<GridRowView> = grid
        .trainees
        .iter()
        .map(|t| GridRowView {
            id: t.trainee.to_string(),
            name: t.name.clone(),
            acquired: t.acquired,
            cells: codes
                .iter()
                .map(|code| {
                    let cell = t.results.get(code);
                    GridCellView {
                        code: code.clone(),
                        result: cell.map(|c| c.result.as_str().to_owned()).unwrap_or_default(),
                        label: cell.map(|c| c.result.label_fr()).unwrap_or("Non évaluée"),
                        title: cell
                            .map(|c| format!("{} — {}, {}", c.result.label_fr(), c.assessor, at_fr(c.assessed_at)))
                            .unwrap_or_else(|| "Non évaluée".into()),
                    }
                })
                .collect(),
        })
        .collect();
    render(
        &state,
        "trainer_grid.html",
        context! {
            session => grid.session,
            certification => grid.certification,
            units => grid.units,
            competences => grid.competences,
            rows => rows,
            can_write => grid.right.can_write(),
            right => records::right_label(grid.right),
            choices => RESULT_CHOICES,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    )
}

async fn trainee_results_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path((id, trainee)): Path<(String, String)>,
    Query(query): Query<InfoQuery>,
) -> Response {
    let Ok(session) = session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let found = state
        .db(move |conn| {
            let record = grid::trainee_assessment(conn, Actor::Person(&who), &session, &trainee)?;
            let right = lms_core::attendance::ensure_can_read(conn, Actor::Person(&who), &session)?;
            Ok::<_, lms_core::assessment::AssessmentError>((record, right))
        })
        .await;
    let (record, right) = match found {
        Ok(found) => found,
        Err(error) => return error_page(&state, error),
    };
    let units: Vec<_> = record
        .units
        .iter()
        .map(|u| {
            context! {
                number => u.number,
                title => u.title,
                validated => u.validated,
                competences => u.competences.iter().map(|c| context! {
                    code => c.code,
                    label => c.label,
                    result => c.current.as_ref().map(|r| r.result.as_str()).unwrap_or(""),
                    evidence => c.current.as_ref().and_then(|r| r.evidence.clone()).unwrap_or_default(),
                    history => c.history.iter().rev().map(|h| context! {
                        result => h.result.label_fr(),
                        evidence => h.evidence,
                        assessor => h.assessor,
                        at => at_fr(h.assessed_at),
                    }).collect::<Vec<_>>(),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    render(
        &state,
        "trainer_trainee.html",
        context! {
            session => record.session,
            certification => record.certification,
            trainee => record.trainee.to_string(),
            name => record.name,
            email => record.email,
            acquired => record.acquired,
            total => record.total,
            units => units,
            can_write => right.can_write(),
            choices => RESULT_CHOICES,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    )
}

/// Reads the grid form: `result:<trainee>:<code>` (and `evidence:<trainee>:<code>` on a trainee's
/// page), plus `csrf` and `back` (where to return: `grid` or a trainee id).
fn parse_results_form(fields: &[(String, String)]) -> (String, String, Vec<ResultInput>, Option<ApiError>) {
    let mut csrf = String::new();
    let mut back = String::new();
    let mut evidence: HashMap<(String, String), String> = HashMap::new();
    let mut results: Vec<(String, String, String)> = Vec::new();
    for (key, value) in fields {
        match key.split_once(':') {
            Some(("result", rest)) => {
                if let Some((trainee, code)) = rest.split_once(':')
                    && !value.trim().is_empty()
                {
                    results.push((trainee.to_owned(), code.to_owned(), value.trim().to_owned()));
                }
            }
            Some(("evidence", rest)) => {
                if let Some((trainee, code)) = rest.split_once(':') {
                    evidence.insert((trainee.to_owned(), code.to_owned()), value.clone());
                }
            }
            _ if key == "csrf" => csrf = value.clone(),
            _ if key == "back" => back = value.clone(),
            _ => {}
        }
    }
    let mut inputs = Vec::with_capacity(results.len());
    for (trainee, code, raw) in results {
        match AssessmentResult::parse(&raw) {
            Ok(result) => inputs.push(ResultInput {
                evidence: evidence.remove(&(trainee.clone(), code.clone())),
                trainee,
                competence: code,
                result,
            }),
            Err(error) => return (csrf, back, inputs, Some(error.into())),
        }
    }
    (csrf, back, inputs, None)
}

async fn record_results(
    State(state): State<AppState>,
    PageSessionTrainer(caller): PageSessionTrainer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (csrf, back, inputs, malformed) = parse_results_form(&fields);
    if let Err(error) = auth::check_form_token(&caller, &csrf) {
        return error_page(&state, error.into());
    }
    if let Err(error) = ensure_teaches(&state, &caller, &id).await {
        return error_page(&state, error);
    }
    if let Some(error) = malformed {
        return error_page(&state, error);
    }
    let Ok(session) = session_id(&id) else {
        return error_page(&state, ApiError::not_found());
    };
    let who = caller.clone();
    let outcome = state.db(move |conn| grid::record_results(conn, &who, &session, &inputs, lms_core::db::now())).await;
    let target = match lms_core::db::ids::UserId::parse(&back) {
        Ok(trainee) => format!("/trainer/sessions/{id}/assessments/{trainee}"),
        Err(_) => format!("/trainer/sessions/{id}/assessments"),
    };
    match outcome {
        Ok(outcome) => {
            let code = if outcome.recorded > 0 { "assessed" } else { "assessed_unchanged" };
            Redirect::to(&format!("{target}?info={code}")).into_response()
        }
        Err(error) => error_page(&state, error),
    }
}
