//! The public information pages every French organisation publishes: mentions légales,
//! confidentialité (RGPD), accessibilité, contact and conditions générales. Linked from every
//! page's footer; what they say of the organisation comes from `lms_core::legal`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::{base_context, render};
use crate::auth::MaybeCaller;
use crate::error::PageResult;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/mentions-legales", legal_notice)
        .get("/confidentialite", privacy)
        .get("/accessibilite", accessibility)
        .get("/contact", contact)
        .get("/conditions-generales", terms)
        .get("/favicon.ico", favicon)
        .get("/static/favicon.svg", favicon)
}

async fn page(state: AppState, caller: MaybeCaller, template: &'static str) -> PageResult {
    let information = state.db(lms_core::legal::legal_information).await?;
    Ok(render(&state, template, context! { legal => information, ..base_context(caller.0.as_ref()) }))
}

async fn legal_notice(State(state): State<AppState>, caller: MaybeCaller) -> PageResult {
    page(state, caller, "legal_notice.html").await
}

async fn privacy(State(state): State<AppState>, caller: MaybeCaller) -> PageResult {
    page(state, caller, "privacy.html").await
}

async fn accessibility(State(state): State<AppState>, caller: MaybeCaller) -> PageResult {
    page(state, caller, "accessibility.html").await
}

async fn contact(State(state): State<AppState>, caller: MaybeCaller) -> PageResult {
    page(state, caller, "contact.html").await
}

async fn terms(State(state): State<AppState>, caller: MaybeCaller) -> PageResult {
    page(state, caller, "terms.html").await
}

/// The site's icon (an SVG: browsers ask `/favicon.ico` first and accept SVG there).
async fn favicon() -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")],
        crate::templates::FAVICON_SVG,
    )
        .into_response()
}
