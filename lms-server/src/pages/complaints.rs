//! `/reclamation`: send a complaint or report a difficulty, with or without an account. A
//! signed-in visitor's form is prefilled, carries their login session's token ([`CsrfForm`]) and
//! is linked to their account; an anonymous visitor's uses the double-submit cookie
//! ([`AnonymousCsrfForm`]), as sign-up does. The answer is a confirmation with the reference and
//! the answer day. No JavaScript.

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use lms_core::access::{Caller, ClientInfo};
use lms_core::complaints::{NewComplaint, Receipt};
use lms_core::locale;
use minijinja::context;
use minijinja::value::merge_maps;
use serde::Deserialize;

use super::accounts::form_page;
use super::{base_context, render};
use crate::auth::{Client, MaybeCaller};
use crate::forms::{AnonymousCsrfForm, CsrfForm};
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/reclamation", form).post("/reclamation", submit)
}

/// The fields of the form (the `csrf` field is read by the extractors); `subject` and `message`
/// are required: a probe without them is told the form is incomplete (422) before its token is
/// looked at, as on every public form.
#[derive(Debug, Deserialize)]
struct ComplaintForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    session: String,
    subject: String,
    message: String,
}

/// Renders the page for whoever is there: a signed-in visitor with their login session's token,
/// an anonymous one through [`form_page`] (which sets the double-submit cookie).
fn page(
    state: &AppState,
    caller: Option<&Caller>,
    jar: CookieJar,
    status: StatusCode,
    extra: minijinja::Value,
) -> Response {
    match caller {
        Some(caller) => {
            let mut response = render(state, "complaint.html", merge_maps([extra, base_context(Some(caller))]));
            *response.status_mut() = status;
            response
        }
        None => form_page(state, jar, "complaint.html", status, extra),
    }
}

async fn form(State(state): State<AppState>, MaybeCaller(caller): MaybeCaller, jar: CookieJar) -> Response {
    page(&state, caller.as_ref(), jar, StatusCode::OK, context! { form => context! { kind => "complaint" } })
}

async fn submit(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Client(client): Client,
    request: Request,
) -> Response {
    if caller.is_some() {
        match CsrfForm::<ComplaintForm>::from_request(request, &state).await {
            Ok(CsrfForm { caller, form }) => handle(&state, Some(caller), CookieJar::new(), form, client).await,
            Err(refusal) => refusal,
        }
    } else {
        match AnonymousCsrfForm::<ComplaintForm>::from_request(request, &state).await {
            Ok(AnonymousCsrfForm { jar, form }) => handle(&state, None, jar, form, client).await,
            Err(refusal) => refusal.into_response(),
        }
    }
}

fn confirmation(receipt: &Receipt) -> minijinja::Value {
    context! {
        reference => receipt.reference.clone(),
        kind => receipt.kind.label_fr().to_lowercase(),
        answer_due_on => locale::date_fr(receipt.answer_due_on),
        email => receipt.email.clone(),
    }
}

async fn handle(
    state: &AppState,
    caller: Option<Caller>,
    jar: CookieJar,
    form: ComplaintForm,
    client: ClientInfo,
) -> Response {
    let kind = match crate::api::parse_complaint_kind(Some(&form.kind)) {
        Ok(kind) => kind,
        Err(error) => {
            return page(
                state,
                caller.as_ref(),
                jar,
                error.status,
                context! { error => error.message, form => echo(&form) },
            );
        }
    };
    let input = NewComplaint {
        name: form.name.clone(),
        email: form.email.clone(),
        kind,
        session: Some(form.session.clone()),
        subject: form.subject.clone(),
        message: form.message.clone(),
    };
    match crate::api::send_complaint(state, caller.clone(), input, client).await {
        Ok(receipt) => page(state, caller.as_ref(), jar, StatusCode::OK, context! { sent => confirmation(&receipt) }),
        Err(error) => {
            page(state, caller.as_ref(), jar, error.status, context! { error => error.message, form => echo(&form) })
        }
    }
}

/// What the visitor typed, shown again with the refusal (auto-escaped by the template).
fn echo(form: &ComplaintForm) -> minijinja::Value {
    context! {
        name => form.name.clone(),
        email => form.email.clone(),
        kind => if form.kind == "difficulty" { "difficulty" } else { "complaint" },
        session => form.session.clone(),
        subject => form.subject.clone(),
        message => form.message.clone(),
    }
}
