//! `/me/questionnaires/{id}`: a satisfaction questionnaire for the person invited to it. The form
//! works without JavaScript (one fieldset with its legend per radio group); after answering, a
//! thank-you state, and a later visit says it was already answered. The answer goes through the
//! core's `surveys::answer`, as `POST /api/v1/surveys/{id}/responses` does.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lms_core::access::Caller;
use lms_core::db::ids::SurveyId;
use lms_core::locale;
use lms_core::surveys::{self, Answer, QuestionKind, SurveyPage, SurveyState};
use minijinja::context;
use serde::Deserialize;

use super::{base_context, render};
use crate::auth::PageCaller;
use crate::error::{ApiError, PageResult};
use crate::forms::CsrfForm;
use crate::routes::Routes;
use crate::state::AppState;

pub fn router() -> Routes {
    Routes::new().get("/me/questionnaires/{id}", show).post("/me/questionnaires/{id}", submit)
}

#[derive(Debug, Deserialize)]
struct ShowQuery {
    merci: Option<String>,
}

fn survey_id(raw: &str) -> Result<SurveyId, ApiError> {
    SurveyId::parse(raw).map_err(|_| ApiError::not_found())
}

async fn load(state: &AppState, caller: &Caller, id: SurveyId) -> Result<SurveyPage, ApiError> {
    let who = caller.clone();
    state.db(move |conn| surveys::survey_page(conn, &who, &id, lms_core::db::now())).await
}

/// The page: `values` are the fields sent back after a refusal, so nothing typed is lost.
fn page(
    state: &AppState,
    caller: &Caller,
    survey: &SurveyPage,
    thanks: bool,
    values: &HashMap<String, String>,
    error: Option<String>,
) -> Response {
    let questions: Vec<minijinja::Value> = survey
        .survey
        .questions()
        .iter()
        .map(|q| {
            let choices: Vec<minijinja::Value> = match q.kind {
                QuestionKind::Scale => (1..=5)
                    .map(|n: i64| {
                        let end = match n {
                            1 => q.min_label.as_deref().map(|l| format!(" — {l}")),
                            5 => q.max_label.as_deref().map(|l| format!(" — {l}")),
                            _ => None,
                        };
                        context! { value => n.to_string(), label => format!("{n}{}", end.unwrap_or_default()) }
                    })
                    .collect(),
                QuestionKind::Choice => {
                    q.options.iter().map(|o| context! { value => o.clone(), label => o.clone() }).collect()
                }
                QuestionKind::Text => Vec::new(),
            };
            context! {
                id => q.id.clone(),
                label => q.label.clone(),
                kind => match q.kind { QuestionKind::Scale => "scale", QuestionKind::Text => "text", QuestionKind::Choice => "choice" },
                required => q.required,
                max_length => q.text_limit(),
                choices => choices,
                value => values.get(&format!("q_{}", q.id)).cloned(),
            }
        })
        .collect();
    let state_name = match survey.state {
        SurveyState::NotYetOpen => "not_yet_open",
        SurveyState::Open => "open",
        SurveyState::Answered => "answered",
        SurveyState::Closed => "closed",
    };
    let mut response = render(
        state,
        "questionnaire.html",
        context! {
            survey => context! {
                id => survey.survey.id.to_string(),
                title => survey.survey.title.clone(),
                course_title => survey.survey.course_title.clone(),
                session_reference => survey.survey.session_reference.clone(),
                anonymous => survey.survey.anonymous,
                last_day => locale::date_fr(survey.survey.last_day()),
            },
            state => state_name,
            thanks => thanks && survey.state == SurveyState::Answered,
            answered_on => survey.answered_at.map(|at| locale::date_fr(locale::to_paris(at).date())),
            questions => questions,
            satisfaction => values.get("satisfaction").cloned(),
            error => error.clone(),
            ..base_context(Some(caller))
        },
    );
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn show(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(raw): Path<String>,
    Query(query): Query<ShowQuery>,
) -> PageResult {
    let survey = load(&state, &caller, survey_id(&raw)?).await?;
    Ok(page(&state, &caller, &survey, query.merci.is_some(), &HashMap::new(), None))
}

/// The form's fields as the core's answer: an empty field is an unanswered question.
fn answer_of(form: &HashMap<String, String>) -> Answer {
    let answers: BTreeMap<String, serde_json::Value> = form
        .iter()
        .filter_map(|(name, value)| {
            let id = name.strip_prefix("q_")?;
            (!value.trim().is_empty()).then(|| (id.to_owned(), serde_json::Value::from(value.as_str())))
        })
        .collect();
    let satisfaction =
        form.get("satisfaction").filter(|v| !v.trim().is_empty()).map(|v| serde_json::Value::from(v.as_str()));
    Answer { satisfaction, answers }
}

async fn submit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    CsrfForm { caller, form }: CsrfForm<HashMap<String, String>>,
) -> PageResult {
    let id = survey_id(&raw)?;
    let answer = answer_of(&form);
    let (who, target) = (caller.clone(), id.clone());
    let outcome = state.db(move |conn| surveys::answer(conn, &who, &target, &answer, lms_core::db::now())).await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/me/questionnaires/{id}?merci=1")).into_response()),
        // An answer that does not fit: the form again, with what was typed and why.
        Err(error)
            if error.status == StatusCode::UNPROCESSABLE_ENTITY
                && error.code != "survey_closed"
                && error.code != "survey_not_open" =>
        {
            let survey = load(&state, &caller, id).await?;
            Ok(page(&state, &caller, &survey, false, &form, Some(error.message)))
        }
        // Already answered, closed, not open: the page says where the survey stands.
        Err(error) if error.status == StatusCode::CONFLICT || error.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let survey = load(&state, &caller, id).await?;
            let mut response = page(&state, &caller, &survey, false, &HashMap::new(), None);
            *response.status_mut() = error.status;
            Ok(response)
        }
        Err(error) => Err(error.into()),
    }
}
