//! `/mot-de-passe-oublie`: ask for a reset link (the same answer whether or not the account
//! exists), and `/mot-de-passe-oublie/{token}`: choose a new password with the link's token.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use lms_core::access::password_reset;
use minijinja::context;
use serde::Deserialize;

use super::accounts::form_page;
use crate::auth::Client;
use crate::error::PageResult;
use crate::forms::AnonymousCsrfForm;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/mot-de-passe-oublie", request_form)
        .post("/mot-de-passe-oublie", request)
        .get("/mot-de-passe-oublie/{token}", token_form)
        .post("/mot-de-passe-oublie/{token}", reset)
}

async fn request_form(State(state): State<AppState>, jar: CookieJar) -> Response {
    form_page(&state, jar, "password_reset.html", StatusCode::OK, context! {})
}

#[derive(Debug, Deserialize)]
struct RequestForm {
    email: String,
}

async fn request(
    State(state): State<AppState>,
    Client(client): Client,
    AnonymousCsrfForm { jar, form }: AnonymousCsrfForm<RequestForm>,
) -> Response {
    let email = form.email.clone();
    match crate::api::ask_for_reset(&state, form.email, client).await {
        Ok(()) => form_page(
            &state,
            jar,
            "password_reset.html",
            StatusCode::OK,
            context! { sent => crate::api::RESET_REQUESTED },
        ),
        Err(error) => form_page(
            &state,
            jar,
            "password_reset.html",
            error.status,
            context! { error => error.message, email => email },
        ),
    }
}

async fn token_form(State(state): State<AppState>, Path(token): Path<String>, jar: CookieJar) -> PageResult {
    let check = token.clone();
    let usable = state.db(move |conn| password_reset::token_is_usable(conn, &check, lms_core::db::now())).await?;
    let (status, extra) = if usable {
        (StatusCode::OK, context! { token => token })
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, context! { invalid => true })
    };
    Ok(form_page(&state, jar, "password_reset_token.html", status, extra))
}

#[derive(Debug, Deserialize)]
struct NewPasswordForm {
    new_password: String,
    new_password_confirmation: String,
}

async fn reset(
    State(state): State<AppState>,
    Path(token): Path<String>,
    AnonymousCsrfForm { jar, form }: AnonymousCsrfForm<NewPasswordForm>,
) -> Response {
    let again = |state: &AppState, jar: CookieJar, status: StatusCode, message: String, token: String| {
        form_page(state, jar, "password_reset_token.html", status, context! { error => message, token => token })
    };
    if form.new_password != form.new_password_confirmation {
        return again(
            &state,
            jar,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Les deux nouveaux mots de passe ne correspondent pas.".into(),
            token,
        );
    }
    match crate::api::reset_with_token(&state, token.clone(), form.new_password).await {
        Ok(_) => Redirect::to("/login?info=password_reset").into_response(),
        Err(error) if error.code == "reset_token_invalid" => {
            form_page(&state, jar, "password_reset_token.html", error.status, context! { invalid => true })
        }
        Err(error) => again(&state, jar, error.status, error.message, token),
    }
}
