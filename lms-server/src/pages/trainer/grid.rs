//! The competence grid of a session (trainees × competences) and one trainee's results with
//! history; recording results from either page.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use lms_core::assessment::AssessmentResult;
use lms_core::assessment::grid::{self, ResultInput};
use lms_core::attendance::{Actor, records};
use minijinja::context;
use serde::Serialize;

use super::{InfoQuery, at_fr, info};
use crate::auth::{PageCaller, PageSessionTrainer};
use crate::error::{ApiError, PageResult};
use crate::extract::SessionPath;
use crate::forms::CsrfForm;
use crate::pages::{base_context, render};
use crate::state::AppState;

#[derive(Serialize)]
struct GridCellView {
    code: String,
    result: String,
    label: &'static str,
    title: String,
}

#[derive(Serialize)]
struct GridRowView {
    id: String,
    name: String,
    acquired: usize,
    cells: Vec<GridCellView>,
}

/// Grid choices: stored value and the short label of the grid's buttons.
const RESULT_CHOICES: [(&str, &str); 3] = [
    (AssessmentResult::Acquired.as_str(), "Acquise"),
    (AssessmentResult::InProgress.as_str(), "En cours"),
    (AssessmentResult::NotAcquired.as_str(), "Non acquise"),
];

pub(super) async fn grid_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let who = caller.clone();
    let grid = state.db(move |conn| grid::assessment_grid(conn, Actor::Person(&who), &session)).await?;
    let codes: Vec<String> = grid.units.iter().flat_map(|u| u.competences.iter()).map(|c| c.code.clone()).collect();
    let rows: Vec<GridRowView> = grid
        .trainees
        .iter()
        .map(|t| GridRowView {
            id: t.trainee.to_string(),
            name: t.name.clone(),
            acquired: t.acquired,
            cells: codes
                .iter()
                .map(|code| {
                    let cell = t.results.get(code);
                    GridCellView {
                        code: code.clone(),
                        result: cell.map(|c| c.result.as_str().to_owned()).unwrap_or_default(),
                        label: cell.map(|c| c.result.label_fr()).unwrap_or("Non évaluée"),
                        title: cell
                            .map(|c| format!("{} — {}, {}", c.result.label_fr(), c.assessor, at_fr(c.assessed_at)))
                            .unwrap_or_else(|| "Non évaluée".into()),
                    }
                })
                .collect(),
        })
        .collect();
    Ok(render(
        &state,
        "trainer_grid.html",
        context! {
            session => grid.session,
            certification => grid.certification,
            units => grid.units,
            competences => grid.competences,
            rows => rows,
            can_write => grid.right.can_write(),
            right => records::right_label(grid.right),
            choices => RESULT_CHOICES,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

pub(super) async fn trainee_results_page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    SessionPath(session): SessionPath,
    Path((_, trainee)): Path<(String, String)>,
    Query(query): Query<InfoQuery>,
) -> PageResult {
    let who = caller.clone();
    let grid::TraineeResultsView { record, right } =
        state.db(move |conn| grid::trainee_results_view(conn, Actor::Person(&who), &session, &trainee)).await?;
    let units: Vec<_> = record
        .units
        .iter()
        .map(|u| {
            context! {
                number => u.number,
                title => u.title,
                validated => u.validated,
                competences => u.competences.iter().map(|c| context! {
                    code => c.code,
                    label => c.label,
                    result => c.current.as_ref().map(|r| r.result.as_str()).unwrap_or(""),
                    evidence => c.current.as_ref().and_then(|r| r.evidence.clone()).unwrap_or_default(),
                    history => c.history.iter().rev().map(|h| context! {
                        result => h.result.label_fr(),
                        evidence => h.evidence,
                        assessor => h.assessor,
                        at => at_fr(h.assessed_at),
                    }).collect::<Vec<_>>(),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    Ok(render(
        &state,
        "trainer_trainee.html",
        context! {
            session => record.session,
            certification => record.certification,
            trainee => record.trainee.to_string(),
            name => record.name,
            email => record.email,
            acquired => record.acquired,
            total => record.total,
            units => units,
            can_write => right.can_write(),
            choices => RESULT_CHOICES,
            info => info(query.info.as_deref()),
            ..base_context(Some(&caller))
        },
    ))
}

/// Reads the grid form: `result:<trainee>:<code>` (and `evidence:<trainee>:<code>` on a trainee's
/// page), plus `back` (where to return: `grid` or a trainee id).
fn parse_results_form(fields: &[(String, String)]) -> (String, Result<Vec<ResultInput>, ApiError>) {
    let mut back = String::new();
    let mut evidence: HashMap<(String, String), String> = HashMap::new();
    let mut results: Vec<(String, String, String)> = Vec::new();
    for (key, value) in fields {
        match key.split_once(':') {
            Some(("result", rest)) => {
                if let Some((trainee, code)) = rest.split_once(':')
                    && !value.trim().is_empty()
                {
                    results.push((trainee.to_owned(), code.to_owned(), value.trim().to_owned()));
                }
            }
            Some(("evidence", rest)) => {
                if let Some((trainee, code)) = rest.split_once(':') {
                    evidence.insert((trainee.to_owned(), code.to_owned()), value.clone());
                }
            }
            _ if key == "back" => back = value.clone(),
            _ => {}
        }
    }
    let mut inputs = Vec::with_capacity(results.len());
    for (trainee, code, raw) in results {
        match AssessmentResult::parse(&raw) {
            Ok(result) => inputs.push(ResultInput {
                evidence: evidence.remove(&(trainee.clone(), code.clone())),
                trainee,
                competence: code,
                result,
            }),
            Err(error) => return (back, Err(error.into())),
        }
    }
    (back, Ok(inputs))
}

pub(super) async fn record_results(
    State(state): State<AppState>,
    PageSessionTrainer(_, session): PageSessionTrainer,
    CsrfForm { caller, form: fields }: CsrfForm<Vec<(String, String)>>,
) -> PageResult {
    let (back, inputs) = parse_results_form(&fields);
    let inputs = inputs?;
    let target = match lms_core::db::ids::UserId::parse(&back) {
        Ok(trainee) => format!("/trainer/sessions/{session}/assessments/{trainee}"),
        Err(_) => format!("/trainer/sessions/{session}/assessments"),
    };
    let outcome =
        state.db(move |conn| grid::record_results(conn, &caller, &session, &inputs, lms_core::db::now())).await?;
    let code = if outcome.recorded > 0 { "assessed" } else { "assessed_unchanged" };
    Ok(Redirect::to(&format!("{target}?info={code}")).into_response())
}
