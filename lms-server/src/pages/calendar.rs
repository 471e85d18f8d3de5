//! Calendars: the subscribed feed `GET /calendar/{token}.ics` (no login: the token is the
//! secret), and the `/me` controls that make, replace or revoke its address.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use lms_core::calendar::feed;
use minijinja::context;

use super::{base_context, render};
use crate::error::{ApiError, PageResult};
use crate::forms::{CsrfForm, NoFields};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    // The router matches whole segments only, so `{file}` is `TOKEN.ics` and the handler
    // removes the extension (anything else is a 404).
    Routes::new()
        .get("/calendar/{file}", calendar_feed)
        .post("/me/agenda", make_feed)
        .post("/me/agenda/revoquer", revoke_feed)
}

async fn calendar_feed(State(state): State<AppState>, Path(file): Path<String>) -> PageResult {
    let Some(token) = file.strip_suffix(".ics").map(str::to_owned) else {
        return Err(ApiError::not_found().into());
    };
    let public_url = state.public_url().to_owned();
    let ics = state.db(move |conn| feed::feed_for_token(conn, &token, &public_url, lms_core::db::now())).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            // Personal data: no shared cache may keep it.
            (header::CACHE_CONTROL, "private, max-age=300"),
            (header::CONTENT_DISPOSITION, "inline; filename=\"agenda.ics\""),
        ],
        ics.into_bytes(),
    )
        .into_response())
}

async fn make_feed(State(state): State<AppState>, CsrfForm { caller, .. }: CsrfForm<NoFields>) -> PageResult {
    let user = caller.user.id.clone();
    let made = state.db(move |conn| feed::create_or_rotate_feed(conn, &user, lms_core::db::now())).await?;
    let url = feed::feed_url(state.public_url(), &made.token);
    // Shown here once: only the token's hash is kept, so this page is the only place it appears.
    Ok(render(
        &state,
        "calendar_feed.html",
        context! {
            feed_url => url,
            webcal_url => url.replacen("https://", "webcal://", 1).replacen("http://", "webcal://", 1),
            replaced => made.replaced,
            ..base_context(Some(&caller))
        },
    ))
}

async fn revoke_feed(State(state): State<AppState>, CsrfForm { caller, .. }: CsrfForm<NoFields>) -> PageResult {
    let user = caller.user.id.clone();
    state.db(move |conn| feed::revoke_feed(conn, &user, lms_core::db::now())).await?;
    Ok(Redirect::to("/me?info=calendar_revoked").into_response())
}
