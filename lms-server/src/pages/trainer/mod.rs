//! `/trainer/...`: the trainer's pages — my sessions, a session's half-days with absence alerts,
//! a half-day's sheet (record every status in one form, co-sign, history), the rotating check-in
//! code, drawn signatures, the paper fallback, PDF sheets, and the competence grid.
//!
//! Every page works without JavaScript; `/static/trainer.js` only adds the signature pad and
//! hashing a scanned sheet in the browser. Who may see or change what is decided in
//! `lms_core::rights`: administrators read everything here, and write nothing.
//!
//! One module per concern: [`sessions`] (the list and one session), [`sheets`] (a half-day's
//! sheet, co-signature, PDF sheets), [`checkin_codes`], [`signatures`] and [`grid`]
//! (competences); this file holds the router and what they share.

mod checkin_codes;
mod grid;
mod incidents;
mod sessions;
mod sheets;
mod signatures;

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use lms_core::attendance::records::RenderedDocument;
use lms_core::db::ids::HalfDayId;
use lms_core::locale::{date_fr, time_fr, to_paris};
use serde::Deserialize;

use crate::error::{ApiError, PageError};
use crate::routes::Routes;

pub fn router() -> Routes {
    Routes::new()
        .get("/trainer", sessions::my_sessions)
        .get("/trainer/sessions/{id}", sessions::session_page)
        .get("/trainer/sessions/{id}/sheet.pdf", sessions::session_sheet_pdf)
        .get("/trainer/sessions/{id}/half-days/{half_day}", sheets::sheet_page)
        .post("/trainer/sessions/{id}/half-days/{half_day}/statuses", sheets::record_statuses)
        .post("/trainer/sessions/{id}/half-days/{half_day}/cosign", sheets::cosign)
        .get("/trainer/sessions/{id}/half-days/{half_day}/checkin", checkin_codes::checkin_code)
        .get("/trainer/sessions/{id}/half-days/{half_day}/signature/{trainee}", signatures::signature_page)
        .post("/trainer/sessions/{id}/half-days/{half_day}/signature/{trainee}", signatures::sign)
        .get("/trainer/sessions/{id}/half-days/{half_day}/sheet.pdf", sheets::half_day_sheet_pdf)
        .get("/trainer/sessions/{id}/half-days/{half_day}/blank.pdf", sheets::blank_sheet_pdf)
        .get("/trainer/sessions/{id}/assessments", grid::grid_page)
        .post("/trainer/sessions/{id}/assessments", grid::record_results)
        .get("/trainer/sessions/{id}/assessments/{trainee}", grid::trainee_results_page)
        .get("/trainer/sessions/{id}/incident", incidents::incident_form)
        .post("/trainer/sessions/{id}/incident", incidents::record_incident)
        .get("/static/trainer.js", script)
}

/// The optional script: signature pad and in-browser hashing of a scanned sheet.
pub const TRAINER_JS: &str = include_str!("../../../static/trainer.js");

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

/// The half-day of the path; one that does not parse is simply not a page (404).
fn half_day_key(raw: &str) -> Result<HalfDayId, PageError> {
    crate::api::half_day_id(raw).map_err(|_| PageError(ApiError::not_found()))
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
