//! The public page of a tiers-lieu: `/lieux/{slug}` (the place, its address, access, contact and
//! upcoming sessions). An unknown slug gets the French 404 page.

use axum::extract::{Path, State};
use lms_core::{catalogue, venues};
use minijinja::context;

use super::{base_context, render};
use crate::auth::MaybeCaller;
use crate::error::PageResult;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/lieux/{slug}", venue_page)
}

async fn venue_page(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(slug): Path<String>,
) -> PageResult {
    let venue = state.db(move |conn| venues::public_venue(conn, &slug, catalogue::paris_today())).await?;
    let kinds = venue.summary.kinds.iter().map(|k| k.label_fr()).collect::<Vec<_>>().join(", ");
    Ok(render(
        &state,
        "venue.html",
        context! {
            kinds => kinds,
            venue => venue,
            ..base_context(caller.as_ref())
        },
    ))
}
