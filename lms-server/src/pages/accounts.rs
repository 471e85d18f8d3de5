//! Sign up, log in, log out, change password.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use lms_core::access;
use lms_core::access::accounts::SignUpRequest;
use minijinja::context;
use serde::Deserialize;

use super::{base_context, render};
use crate::auth::{self, Client, MaybeCaller, PageCaller};
use crate::error::{ApiError, PageResult};
use crate::forms::{AnonymousCsrfForm, CsrfForm, NoFields};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .get("/login", login_form)
        .post("/login", log_in)
        .post("/logout", log_out)
        .get("/signup", signup_form)
        .post("/signup", sign_up)
        .get("/me/password", password_form)
        .post("/me/password", change_password)
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
    info: Option<String>,
}

pub(super) fn form_page(
    state: &AppState,
    jar: CookieJar,
    template: &str,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    let (csrf, cookie) = auth::anonymous_csrf(&jar, state.secure_cookies());
    let jar = match cookie {
        Some(cookie) => jar.add(cookie),
        None => jar,
    };
    let mut page = render(state, template, context! { csrf => csrf, ..extra });
    *page.status_mut() = status;
    (jar, page).into_response()
}

async fn login_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(&auth::safe_next(query.next.as_deref())).into_response();
    }
    let info = super::info_message(query.info.as_deref());
    form_page(
        &state,
        jar,
        "login.html",
        StatusCode::OK,
        context! { info => info, ..next_context(query.next.as_deref()) },
    )
}

/// Where login and sign-up return to: a same-site relative path (anything else is `/me`, no open
/// redirect), and the query string that carries it from one form to the other.
fn next_context(next: Option<&str>) -> minijinja::Value {
    let next = auth::safe_next(next);
    context! { next_query => format!("?{}", next_parameter(&next)).trim_end_matches('?'), next => next }
}

/// `next=…` for a destination other than the default `/me`, empty otherwise.
fn next_parameter(next: &str) -> String {
    if next == "/me" { String::new() } else { format!("next={}", auth::urlencode(next)) }
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn log_in(
    State(state): State<AppState>,
    Client(client): Client,
    AnonymousCsrfForm { jar, form }: AnonymousCsrfForm<LoginForm>,
) -> Response {
    let next = auth::safe_next(form.next.as_deref());
    let email = form.email.clone();
    let outcome = match auth::check_credentials(&state, form.email, form.password, client.clone()).await {
        Ok(user) => state.db(move |conn| access::open_login_session(conn, user, &client, lms_core::db::now())).await,
        Err(error) => Err(error),
    };
    match outcome {
        // A new token at every login: a cookie planted before login is worthless (no fixation).
        Ok(login) => {
            (jar.add(auth::session_cookie(login.token, state.secure_cookies())), Redirect::to(&next)).into_response()
        }
        Err(error) => form_page(
            &state,
            jar,
            "login.html",
            error.status,
            context! { error => error.message, email => email, ..next_context(Some(&next)) },
        ),
    }
}

async fn log_out(State(state): State<AppState>, jar: CookieJar, _: CsrfForm<NoFields>) -> PageResult {
    if let Some(token) = jar.get(auth::SESSION_COOKIE).map(|c| c.value().to_owned()) {
        state.db(move |conn| access::log_out(conn, &token)).await?;
    }
    Ok((jar.add(auth::expired_session_cookie(state.secure_cookies())), Redirect::to("/login?info=logged_out"))
        .into_response())
}

async fn signup_form(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    jar: CookieJar,
    Query(query): Query<NextQuery>,
) -> Response {
    if caller.is_some() {
        return Redirect::to(&auth::safe_next(query.next.as_deref())).into_response();
    }
    form_page(&state, jar, "signup.html", StatusCode::OK, next_context(query.next.as_deref()))
}

#[derive(Debug, Deserialize)]
struct SignUpForm {
    name: String,
    email: String,
    password: String,
    password_confirmation: String,
    #[serde(default)]
    next: Option<String>,
}

async fn sign_up(
    State(state): State<AppState>,
    Client(client): Client,
    AnonymousCsrfForm { jar, form }: AnonymousCsrfForm<SignUpForm>,
) -> Response {
    let again = |state: &AppState, jar: CookieJar, status: StatusCode, message: String, form: &SignUpForm| {
        form_page(
            state,
            jar,
            "signup.html",
            status,
            context! {
                error => message,
                name => form.name.clone(),
                email => form.email.clone(),
                ..next_context(form.next.as_deref())
            },
        )
    };
    if form.password != form.password_confirmation {
        return again(
            &state,
            jar,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Les deux mots de passe ne correspondent pas.".into(),
            &form,
        );
    }
    let new = SignUpRequest { email: form.email.clone(), name: form.name.clone(), password: form.password.clone() };
    // The same answer whether the address was free or not: the login page, with the message.
    match crate::api::register(&state, new, client).await {
        Ok(_) => {
            let next = next_parameter(&auth::safe_next(form.next.as_deref()));
            let separator = if next.is_empty() { "" } else { "&" };
            Redirect::to(&format!("/login?info=signup_received{separator}{next}")).into_response()
        }
        Err(error) => again(&state, jar, error.status, error.message, &form),
    }
}

async fn password_form(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    render(&state, "password.html", base_context(Some(&caller)))
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current: String,
    new_password: String,
    new_password_confirmation: String,
}

async fn change_password(State(state): State<AppState>, CsrfForm { caller, form }: CsrfForm<PasswordForm>) -> Response {
    let refuse = |state: &AppState, status: StatusCode, message: String| {
        let mut page = render(state, "password.html", context! { error => message, ..base_context(Some(&caller)) });
        *page.status_mut() = status;
        page
    };
    if form.new_password != form.new_password_confirmation {
        return refuse(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Les deux nouveaux mots de passe ne correspondent pas.".into(),
        );
    }
    let who = caller.clone();
    let changed: Result<(), ApiError> =
        state.db(move |conn| access::change_password(conn, &who, &form.current, &form.new_password)).await;
    match changed {
        Ok(()) => Redirect::to("/me?info=password_changed").into_response(),
        Err(error) => refuse(&state, error.status, error.message),
    }
}
