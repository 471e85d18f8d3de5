//! A half-day's sheet: every trainee's status recorded in one form, the history of each line,
//! the co-signature that closes it, and the PDF sheets (filled in, or blank for the paper
//! fallback).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use lms_core::access::Caller;
use lms_core::attendance::recording::{self, SheetInput, SheetLine};
use lms_core::attendance::records;
use lms_core::attendance::sheets::{self, HalfDayState, Sheet};
use lms_core::attendance::{Actor, AttendanceError, AttendanceStatus, SignatureMethod};
use lms_core::db::ids::{HalfDayId, TrainingSessionId};
use lms_core::locale::{date_fr, time_fr};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{InfoQuery, at_fr, half_day_key, info, pdf_response, short_hash};
use crate::auth::{PageCaller, PageSessionTrainer};
use crate::error::{ApiError, PageResult};
use crate::extract::SessionPath;
use crate::forms::CsrfForm;
use crate::pages::{base_context, render};
use crate::state::AppState;

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
#[derive(Default)]
struct SheetExtras {
    error: Option<ApiError>,
    submitted: HashMap<String, Submitted>,
    info: Option<&'static str>,
    form: HashMap<&'static str, String>,
}

async fn render_sheet(
    state: &AppState,
    caller: &Caller,
    session: TrainingSessionId,
    half_day: HalfDayId,
    extras: SheetExtras,
) -> PageResult {
    let who = caller.clone();
    let sheet = state
        .db(move |conn| sheets::half_day_sheet(conn, Actor::Person(&who), &session, &half_day, lms_core::db::now()))
        .await?;
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
                venue_slug => sheet.half_day.venue_slug,
                address => sheet.half_day.venue_address,
                module => sheet.half_day.module,
            },
            state => sheet.state,
            state_label => sheet.state.label_fr(),
            right => records::right_label(sheet.right),
            can_write => sheet.right.can_write(),
            can_show_code => sheet.right.can_show_checkin_code(),
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
            methods => context! {
                trainer_entry => SignatureMethod::TrainerEntry.as_str(),
                paper_scan => SignatureMethod::PaperScan.as_str(),
            },
            error => message,
            form => extras.form,
            info => extras.info,
            ..base_context(Some(caller))
        },
    );
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn sheet_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Path((_, half_day)): Path<(String, String)>,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let extras = SheetExtras { info: info(query.info.as_deref()), ..SheetExtras::default() };
    render_sheet(&state, &caller, session, half_day_key(&half_day)?, extras).await
}

/// What the sheet form gave: each line as submitted (to show it again), the other fields, and
/// the sheet to record (or why it cannot be).
struct ParsedSheetForm {
    submitted: HashMap<String, Submitted>,
    form: HashMap<&'static str, String>,
    input: Result<SheetInput, AttendanceError>,
}

/// Reads the sheet form: `status-<trainee>`, `minutes-<trainee>`, `reason-<trainee>` for each
/// line, plus `method`, `evidence_sha256` and `correction_reason`.
fn parse_sheet_form(fields: &[(String, String)]) -> ParsedSheetForm {
    let mut lines: HashMap<String, Submitted> = HashMap::new();
    let mut form: HashMap<&'static str, String> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (key, value) in fields {
        let (kind, trainee) = match key.split_once('-') {
            Some((kind @ ("status" | "minutes" | "reason"), trainee)) => (kind, trainee.to_owned()),
            _ => {
                for known in ["method", "evidence_sha256", "correction_reason"] {
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
    let input = (|| {
        let method = recording::sheet_method(form.get("method").map(|m| m.trim()).filter(|m| !m.is_empty()))?;
        let mut sheet_lines = Vec::new();
        for trainee in &order {
            let Some(line) = lines.get(trainee) else { continue };
            if line.status.is_empty() {
                continue;
            }
            let mut parsed = SheetLine::parse(trainee.clone(), &line.status, 0, Some(line.reason.clone()))?;
            if !line.minutes.is_empty() && matches!(parsed.status, AttendanceStatus::Late | AttendanceStatus::LeftEarly)
            {
                parsed.minutes = line.minutes.parse::<i32>().map_err(|_| AttendanceError::InSheet {
                    trainee: trainee.clone(),
                    source: Box::new(AttendanceError::Invalid("les minutes s'écrivent en chiffres".into())),
                })?;
            }
            sheet_lines.push(parsed);
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
    ParsedSheetForm { submitted: lines, form, input }
}

pub(super) async fn record_statuses(
    State(state): State<AppState>,
    PageSessionTrainer(_, session): PageSessionTrainer,
    Path((_, half_day)): Path<(String, String)>,
    CsrfForm { caller, form: fields }: CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let half_day = half_day_key(&half_day)?;
    let ParsedSheetForm { submitted, form, input } = parse_sheet_form(&fields);
    let refused = |error: ApiError| SheetExtras { error: Some(error), submitted, info: None, form };
    let input = match input {
        Ok(input) => input,
        Err(error) => return render_sheet(&state, &caller, session, half_day, refused(error.into())).await,
    };
    let (who, target, key) = (caller.clone(), session.clone(), half_day.clone());
    let outcome =
        state.db(move |conn| recording::record_sheet(conn, &who, &target, &key, &input, lms_core::db::now())).await;
    match outcome {
        Ok(outcome) => {
            let code = if outcome.recorded > 0 { "recorded" } else { "unchanged" };
            Ok(Redirect::to(&format!("/trainer/sessions/{session}/half-days/{half_day}?info={code}")).into_response())
        }
        Err(error) if error.status == StatusCode::FORBIDDEN || error.status == StatusCode::NOT_FOUND => {
            Err(error.into())
        }
        Err(error) => render_sheet(&state, &caller, session, half_day, refused(error)).await,
    }
}

/// The co-signature form: the button, and the box that confirms it (co-signing closes the
/// half-day for good, so a stray tap must not do it).
#[derive(Debug, Deserialize)]
pub(super) struct CosignForm {
    #[serde(default)]
    confirm: Option<String>,
}

/// Why a co-signature without its confirmation is refused (nothing is written).
const COSIGN_UNCONFIRMED: &str = "Contresignature non enregistrée : cochez la case « Je certifie cette feuille » pour confirmer la clôture de la demi-journée.";

pub(super) async fn cosign(
    State(state): State<AppState>,
    PageSessionTrainer(_, session): PageSessionTrainer,
    Path((_, half_day)): Path<(String, String)>,
    CsrfForm { caller, form }: CsrfForm<CosignForm>,
) -> PageResult {
    let half_day = half_day_key(&half_day)?;
    if form.confirm.as_deref().map(str::trim).is_none_or(str::is_empty) {
        let refusal = ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "cosign_unconfirmed",
            message: COSIGN_UNCONFIRMED.to_owned(),
            details: None,
        };
        let extras = SheetExtras { error: Some(refusal), ..SheetExtras::default() };
        return render_sheet(&state, &caller, session, half_day, extras).await;
    }
    let (who, target, key) = (caller.clone(), session.clone(), half_day.clone());
    match state.db(move |conn| recording::cosign_sheet(conn, &who, &target, &key, lms_core::db::now())).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/trainer/sessions/{session}/half-days/{half_day}?info=cosigned")).into_response())
        }
        Err(error) if error.status == StatusCode::CONFLICT => {
            let extras = SheetExtras { error: Some(error), ..SheetExtras::default() };
            render_sheet(&state, &caller, session, half_day, extras).await
        }
        Err(error) => Err(error.into()),
    }
}

/// Which PDF of one half-day.
#[derive(Clone, Copy)]
enum HalfDayPdf {
    /// The sheet as recorded.
    Recorded,
    /// The blank paper sheet.
    Blank,
}

async fn half_day_pdf(
    state: &AppState,
    caller: Caller,
    session: TrainingSessionId,
    half_day: &str,
    which: HalfDayPdf,
) -> PageResult {
    let half_day = half_day_key(half_day)?;
    let document = state
        .db(move |conn| {
            let (actor, now) = (Actor::Person(&caller), lms_core::db::now());
            match which {
                HalfDayPdf::Recorded => records::attendance_sheet_pdf(conn, actor, &session, Some(&half_day), now),
                HalfDayPdf::Blank => records::blank_sheet_pdf(conn, actor, &session, &half_day, now),
            }
        })
        .await?;
    Ok(pdf_response(document))
}

pub(super) async fn half_day_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Path((_, half_day)): Path<(String, String)>,
) -> PageResult {
    half_day_pdf(&state, caller, session, &half_day, HalfDayPdf::Recorded).await
}

pub(super) async fn blank_sheet_pdf(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Path((_, half_day)): Path<(String, String)>,
) -> PageResult {
    half_day_pdf(&state, caller, session, &half_day, HalfDayPdf::Blank).await
}
