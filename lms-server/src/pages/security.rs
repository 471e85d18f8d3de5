//! `/me/securite`: the caller's own login sessions and API tokens, each of which they can end.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum_extra::extract::cookie::CookieJar;
use lms_core::access::accounts::{self, MyAccess};
use lms_core::db::ids::{ApiTokenId, LoginSessionId};
use lms_core::locale;
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::{base_context, info_message, render};
use crate::auth::{self, PageCaller};
use crate::error::PageResult;
use crate::extract::IdPath;
use crate::forms::{CsrfForm, NoFields};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/me/securite", overview)
        .post("/me/securite/connexions/{id}/fermer", end_login)
        .post("/me/securite/jetons/{id}/revoquer", revoke_token)
}

#[derive(Debug, Deserialize)]
struct InfoQuery {
    info: Option<String>,
}

#[derive(Serialize)]
struct LoginLine {
    id: String,
    browser: String,
    created: String,
    last_seen: String,
    ip: Option<String>,
    current: bool,
}

#[derive(Serialize)]
struct TokenLine {
    id: String,
    label: String,
    created: String,
    last_used: Option<String>,
    expires: Option<String>,
}

fn when(utc: chrono::NaiveDateTime) -> String {
    format!("{} à {}", locale::short_date_fr(locale::to_paris(utc).date()), locale::time_fr(utc))
}

/// A short description of a browser from its `User-Agent`.
fn browser_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else { return "Navigateur inconnu".into() };
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")]
        .iter()
        .find(|(marker, _)| ua.contains(marker))
        .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} sur {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("Navigateur sur {s}"),
        (None, None) => ua.chars().take(60).collect(),
    }
}

async fn overview(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let who = caller.clone();
    let access: MyAccess = state.db(move |conn| accounts::my_access(conn, &who, lms_core::db::now())).await?;
    let logins: Vec<LoginLine> = access
        .login_sessions
        .into_iter()
        .map(|l| LoginLine {
            id: l.id.to_string(),
            browser: browser_name(l.user_agent.as_deref()),
            created: when(l.created_at),
            last_seen: when(l.last_seen_at),
            ip: l.ip,
            current: l.current,
        })
        .collect();
    let tokens: Vec<TokenLine> = access
        .api_tokens
        .into_iter()
        .map(|t| TokenLine {
            id: t.id.to_string(),
            label: t.label,
            created: when(t.created_at),
            last_used: t.last_used_at.map(when),
            expires: t.expires_at.map(when),
        })
        .collect();
    Ok(render(
        &state,
        "security.html",
        context! {
            login_sessions => logins,
            api_tokens => tokens,
            info => info_message(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

async fn end_login(
    State(state): State<AppState>,
    IdPath(id): IdPath<LoginSessionId>,
    jar: CookieJar,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> PageResult {
    let current = caller.login_session.as_ref() == Some(&id);
    let who = caller.clone();
    state.db(move |conn| accounts::end_my_login_session(conn, &who, &id)).await?;
    if current {
        return Ok((
            jar.add(auth::expired_session_cookie(state.secure_cookies())),
            Redirect::to("/login?info=logged_out"),
        )
            .into_response());
    }
    Ok(Redirect::to("/me/securite?info=login_ended").into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    IdPath(id): IdPath<ApiTokenId>,
    CsrfForm { caller, .. }: CsrfForm<NoFields>,
) -> PageResult {
    state.db(move |conn| accounts::revoke_my_api_token(conn, &caller, &id, lms_core::db::now())).await?;
    Ok(Redirect::to("/me/securite?info=token_revoked").into_response())
}

#[cfg(test)]
mod tests {
    use super::browser_name;

    #[test]
    fn browsers_are_named_briefly() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(browser_name(Some(chrome)), "Chrome sur Linux");
        assert_eq!(browser_name(Some("curl/8.0")), "curl/8.0");
        assert_eq!(browser_name(None), "Navigateur inconnu");
    }
}
