//! The rotating check-in code a trainer shows: the code, its QR code and who signed so far.

use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, header};
use lms_core::attendance::checkin;
use lms_core::locale::{date_fr, time_fr};
use minijinja::context;

use super::half_day_key;
use crate::auth::PageSessionTrainer;
use crate::error::PageResult;
use crate::pages::{base_context, render};
use crate::state::AppState;

/// Shows a fresh code and its QR code. Each visit issues a new code (only its hash is stored, so
/// an old one cannot be shown again); the `Refresh` header reloads the page before the code
/// expires, which works without JavaScript.
pub(super) async fn checkin_code(
    State(state): State<AppState>,
    PageSessionTrainer(caller, session): PageSessionTrainer,
    Path((_, half_day)): Path<(String, String)>,
) -> PageResult {
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
            ..base_context(Some(&caller))
        },
    );
    if let Ok(value) = HeaderValue::from_str(&code.refresh_seconds.to_string()) {
        response.headers_mut().insert(HeaderName::from_static("refresh"), value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
