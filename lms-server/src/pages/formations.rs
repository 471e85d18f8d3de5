//! The public catalogue page `/formations`: every course still offered (title, summary,
//! duration, price, admission, certification) with its next public sessions, each linking to
//! the session and to the page of its main venue.

use axum::extract::State;
use lms_core::catalogue;
use minijinja::context;

use super::{base_context, render};
use crate::auth::MaybeCaller;
use crate::error::PageResult;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/formations", formations_page)
}

async fn formations_page(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller) -> PageResult {
    let offered = state.db(move |conn| catalogue::offer_page(conn, catalogue::paris_today())).await?;
    let courses: Vec<minijinja::Value> = offered
        .into_iter()
        .map(|o| {
            context! {
                admission => o.course.admission.label_fr(),
                on_request => o.course.admission == catalogue::AdmissionMode::OnRequest,
                course => o.course,
                sessions => o.sessions,
            }
        })
        .collect();
    Ok(render(
        &state,
        "formations.html",
        context! {
            courses => courses,
            ..base_context(caller.as_ref())
        },
    ))
}
