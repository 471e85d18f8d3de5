//! The rotating check-in code a trainer (or the office) shows: the code, its QR code and who
//! signed so far.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderName, HeaderValue, header};
use lms_core::attendance::checkin;
use lms_core::locale::{date_fr, time_fr};
use minijinja::context;
use serde::Deserialize;

use super::half_day_key;
use crate::auth::PageCaller;
use crate::error::PageResult;
use crate::extract::SessionPath;
use crate::pages::{base_context, render};
use crate::state::AppState;

/// Shows a fresh code and its QR code. Each visit issues a new code (only its hash is stored, so
/// an old one cannot be shown again). Who may is the core's decision
/// (`rights::ensure_can_show_checkin_code`: the session's trainers and the office).
///
/// The code is renewed before it expires: where JavaScript runs, `trainer.js` fetches this page
/// again and swaps the code in place (the page is not reloaded, so the screen does not flash and
/// keeps its scroll). Without JavaScript the page offers a new code by a link, or, once the
/// trainer asks for it (`?renouveler=auto`: a timed reload is the person's choice, WCAG 2.2.1), a
/// `Refresh` header reloads it. Never by default: the header would reload the page even where the
/// script already renews the code.
pub(super) async fn checkin_code(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Path((_, half_day)): Path<(String, String)>,
    Query(query): Query<RenewalQuery>,
) -> PageResult {
    let reloads = query.renouveler.as_deref() == Some("auto");
    let half_day = half_day_key(&half_day)?;
    let (who, base) = (caller.clone(), crate::api::public_base(&state));
    let checkin::CodeScreen { code, sheet } =
        state.db(move |conn| checkin::code_screen(conn, &who, &session, &half_day, &base, lms_core::db::now())).await?;
    let qr = code.qr_svg(260)?;
    let signed = sheet.rows.iter().filter(|r| r.signature.is_some()).count();
    let grouped = format!("{} {}", &code.code[..3], &code.code[3..]);
    let mut response = render(
        &state,
        "trainer_checkin.html",
        context! {
            session => sheet.session,
            half_day_id => sheet.half_day.id.to_string(),
            half_day_label => format!("{}, {}", date_fr(sheet.half_day.date), sheet.half_day.slot.label_fr_lower()),
            code => grouped,
            url => code.url,
            qr_svg => qr,
            expires_at => time_fr(code.expires_at),
            refresh_seconds => code.refresh_seconds,
            signed => signed,
            trainees => sheet.rows.iter().filter(|r| r.enrolled).count(),
            reloads => reloads,
            ..base_context(Some(&caller))
        },
    );
    if reloads && let Ok(value) = HeaderValue::from_str(&code.refresh_seconds.to_string()) {
        response.headers_mut().insert(HeaderName::from_static("refresh"), value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `?renouveler=auto`: the page reloads itself to renew the code (for browsers without
/// JavaScript, on the trainer's request).
#[derive(Debug, Deserialize)]
pub(super) struct RenewalQuery {
    renouveler: Option<String>,
}
