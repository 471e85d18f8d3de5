//! The trainee's self check-in: `/checkin?code=…` (what the trainer's QR code opens) and
//! `/me/checkin` (type the code shown). Opening the link never signs by itself — a prefetching
//! browser must not sign for anyone — the trainee confirms with one button (a form, no JavaScript).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lms_core::attendance::checkin;
use lms_core::locale::{date_fr, time_fr};
use minijinja::context;
use serde::Deserialize;

use super::{base_context, render};
use crate::auth::{Client, PageCaller};
use crate::error::PageResult;
use crate::forms::CsrfForm;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/checkin", form_page).get("/me/checkin", form_page).post("/me/checkin", check_in)
}

#[derive(Debug, Deserialize)]
struct CodeQuery {
    code: Option<String>,
}

async fn form_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<CodeQuery>,
) -> Response {
    let code: String = query.code.unwrap_or_default().chars().filter(|c| c.is_ascii_alphanumeric()).take(12).collect();
    render(&state, "checkin.html", context! { code => code, ..base_context(Some(&caller)) })
}

#[derive(Debug, Deserialize)]
struct CheckinForm {
    #[serde(default)]
    code: String,
}

async fn check_in(
    State(state): State<AppState>,
    Client(client): Client,
    CsrfForm { caller, form }: CsrfForm<CheckinForm>,
) -> PageResult {
    let who = caller.clone();
    let code = form.code.clone();
    let outcome = state.db(move |conn| checkin::check_in(conn, &who, &code, &client, lms_core::db::now())).await;
    match outcome {
        Ok(done) => Ok(render(
            &state,
            "checkin.html",
            context! {
                done => context! {
                    course_title => done.course_title,
                    half_day => format!(
                        "{}, {}",
                        date_fr(done.half_day.date),
                        done.half_day.slot.label_fr_lower()
                    ),
                    venue => done.half_day.venue,
                    at => time_fr(done.recorded_at),
                    late_minutes => done.late_minutes,
                    evidence => done.evidence_sha256,
                },
                ..base_context(Some(&caller))
            },
        )),
        Err(error) if error.status != StatusCode::FORBIDDEN => {
            let status = error.status;
            let mut page = render(
                &state,
                "checkin.html",
                context! {
                    code => form.code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-').take(12).collect::<String>(),
                    error => error.message,
                    ..base_context(Some(&caller))
                },
            );
            *page.status_mut() = status;
            Ok(page)
        }
        Err(error) => Err(error.into()),
    }
}
