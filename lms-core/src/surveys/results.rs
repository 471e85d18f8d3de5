//! What the office reads: the surveys with their response rates ([`list`]), the results per
//! question ([`results`]: distribution and mean for scales, counts for choices, comments for
//! texts, the overall score), the responses for the CSV export ([`response_page`]) and the
//! quality evidence of indicator 30 ([`evidence`]).
//!
//! Results are grouped by audience and timing (trainees à chaud, trainers…): the questions of
//! different questionnaires are never mixed. Response rates and means come from
//! [`super::figures::SatisfactionFigures`], the one definition of the published figures.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::figures::SatisfactionFigures;
use super::questionnaires::{Question, QuestionKind};
use super::{SurveyAudience, SurveyError, SurveyTiming};
use crate::db::ids::{SurveyId, TrainingSessionId};
use crate::db::json_text::JsonText;
use crate::db::schema::{courses, survey_invitations, survey_responses, surveys, training_sessions, users};
use crate::db::{self, DbConn, DbError};
use crate::locale;
use crate::quality::EvidenceTable;

/// Responses read per query.
const PAGE: i64 = 1_000;

/// One survey with its figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveySummary {
    /// The survey.
    pub id: SurveyId,
    /// The session's reference.
    pub session: String,
    /// The course's code.
    pub course: String,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// À chaud or à froid.
    pub timing: SurveyTiming,
    /// Its title.
    pub title: String,
    /// Whether answers are kept without the respondent.
    pub anonymous: bool,
    /// When it opened (UTC).
    pub opens_at: NaiveDateTime,
    /// When it closes (UTC).
    pub closes_at: NaiveDateTime,
    /// People invited.
    pub invited: i64,
    /// People who answered.
    pub answered: i64,
    /// Answered over invited, percent, one decimal.
    pub response_rate: Option<f64>,
    /// Mean overall score out of 5, one decimal.
    pub satisfaction_mean: Option<f64>,
}

/// A survey (row type, in the order selected).
#[derive(Queryable)]
struct SurveyRow {
    id: SurveyId,
    session: String,
    course: String,
    audience: SurveyAudience,
    timing: SurveyTiming,
    title: String,
    anonymous: bool,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    questions: JsonText<Vec<Question>>,
}

fn survey_rows(conn: &mut DbConn, session: Option<&TrainingSessionId>) -> Result<Vec<SurveyRow>, DbError> {
    let mut query = surveys::table
        .inner_join(training_sessions::table.inner_join(courses::table))
        .order((surveys::opens_at.asc(), surveys::id.asc()))
        .select((
            surveys::id,
            training_sessions::reference,
            courses::code,
            surveys::audience,
            surveys::kind,
            surveys::title,
            surveys::anonymous,
            surveys::opens_at,
            surveys::closes_at,
            surveys::questions,
        ))
        .into_boxed();
    if let Some(session) = session {
        query = query.filter(surveys::training_session_id.eq(session));
    }
    query.load(conn).map_err(DbError::from)
}

/// Invitations and scores per survey: two grouped queries.
fn figures_by_survey(
    conn: &mut DbConn,
    session: Option<&TrainingSessionId>,
) -> Result<HashMap<SurveyId, SatisfactionFigures>, DbError> {
    let mut invitations = survey_invitations::table
        .inner_join(surveys::table)
        .group_by(survey_invitations::survey_id)
        .select((
            survey_invitations::survey_id,
            diesel::dsl::count_star(),
            diesel::dsl::count(survey_invitations::answered_at),
        ))
        .into_boxed();
    let mut scores = survey_responses::table
        .inner_join(surveys::table)
        .group_by(survey_responses::survey_id)
        .select((
            survey_responses::survey_id,
            diesel::dsl::sum(survey_responses::satisfaction),
            diesel::dsl::count_star(),
        ))
        .into_boxed();
    if let Some(session) = session {
        invitations = invitations.filter(surveys::training_session_id.eq(session));
        scores = scores.filter(surveys::training_session_id.eq(session));
    }
    let invitations: Vec<(SurveyId, i64, i64)> = invitations.load(conn)?;
    let scores: Vec<(SurveyId, Option<i64>, i64)> = scores.load(conn)?;
    let mut figures: HashMap<SurveyId, SatisfactionFigures> = HashMap::new();
    for (survey, invited, answered) in invitations {
        let entry = figures.entry(survey).or_default();
        entry.invited = invited;
        entry.answered = answered;
    }
    for (survey, sum, count) in scores {
        let entry = figures.entry(survey).or_default();
        entry.score_sum = sum.unwrap_or(0);
        entry.scores = count;
    }
    Ok(figures)
}

fn session_id(conn: &mut DbConn, raw: &str) -> Result<TrainingSessionId, SurveyError> {
    crate::attendance::records::find_session(conn, raw)
        .map_err(|_| SurveyError::UnknownSession(raw.chars().take(64).collect()))
}

/// The surveys (of one session, given its id or reference, or all), oldest first, with their
/// rates.
pub fn list(conn: &mut DbConn, session: Option<&str>) -> Result<Vec<SurveySummary>, SurveyError> {
    db::read_transaction(conn, |conn| {
        let session = session.map(|raw| session_id(conn, raw)).transpose()?;
        Ok(list_for(conn, session.as_ref())?)
    })
}

fn list_for(conn: &mut DbConn, session: Option<&TrainingSessionId>) -> Result<Vec<SurveySummary>, DbError> {
    {
        let rows = survey_rows(conn, session)?;
        let figures = figures_by_survey(conn, session)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let f = figures.get(&row.id).cloned().unwrap_or_default();
                SurveySummary {
                    id: row.id,
                    session: row.session,
                    course: row.course,
                    audience: row.audience,
                    timing: row.timing,
                    title: row.title,
                    anonymous: row.anonymous,
                    opens_at: row.opens_at,
                    closes_at: row.closes_at,
                    invited: f.invited,
                    answered: f.answered,
                    response_rate: f.response_rate(),
                    satisfaction_mean: f.mean(),
                }
            })
            .collect())
    }
}

/// A score out of 5: how many gave each value, and the mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScaleResult {
    /// Scores given.
    pub answers: i64,
    /// How many gave 1, 2, 3, 4 and 5.
    pub distribution: [i64; 5],
    /// Mean, one decimal.
    pub mean: Option<f64>,
}

impl ScaleResult {
    fn add(&mut self, value: i64) {
        if let Some(slot) = usize::try_from(value - 1).ok().and_then(|i| self.distribution.get_mut(i)) {
            *slot += 1;
            self.answers += 1;
        }
    }

    fn finish(&mut self) {
        let sum: i64 = self.distribution.iter().zip(1..).map(|(count, value)| count * value).sum();
        self.mean = SatisfactionFigures { score_sum: sum, scores: self.answers, ..Default::default() }.mean();
    }
}

/// One option of a choice and how many chose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionCount {
    /// The option.
    pub option: String,
    /// How many chose it.
    pub count: i64,
}

/// The answers to one question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionResult {
    /// The question's id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Its kind.
    pub kind: QuestionKind,
    /// How many answered it.
    pub answers: i64,
    /// Scale: the distribution and mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<ScaleResult>,
    /// Choice: the count of each option, in the questionnaire's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionCount>>,
    /// Text: the comments, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comments: Option<Vec<String>>,
}

impl QuestionResult {
    fn new(question: &Question) -> Self {
        QuestionResult {
            id: question.id.clone(),
            label: question.label.clone(),
            kind: question.kind,
            answers: 0,
            scale: (question.kind == QuestionKind::Scale).then(ScaleResult::default),
            options: (question.kind == QuestionKind::Choice)
                .then(|| question.options.iter().map(|o| OptionCount { option: o.clone(), count: 0 }).collect()),
            comments: (question.kind == QuestionKind::Text).then(Vec::new),
        }
    }

    fn add(&mut self, value: &Value) {
        self.answers += 1;
        if let (Some(scale), Some(number)) = (self.scale.as_mut(), value.as_i64()) {
            scale.add(number);
        }
        if let (Some(options), Some(chosen)) = (self.options.as_mut(), value.as_str()) {
            match options.iter_mut().find(|o| o.option == chosen) {
                Some(option) => option.count += 1,
                None => options.push(OptionCount { option: chosen.to_owned(), count: 1 }),
            }
        }
        if let (Some(comments), Some(text)) = (self.comments.as_mut(), value.as_str()) {
            comments.push(text.to_owned());
        }
    }
}

/// The results of the surveys of one audience and timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResultGroup {
    /// Who answered.
    pub audience: SurveyAudience,
    /// À chaud or à froid.
    pub timing: SurveyTiming,
    /// Surveys counted.
    pub surveys: i64,
    /// People invited.
    pub invited: i64,
    /// People who answered.
    pub answered: i64,
    /// Answered over invited, percent, one decimal.
    pub response_rate: Option<f64>,
    /// The overall score.
    pub satisfaction: ScaleResult,
    /// Each question, in the questionnaire's order.
    pub questions: Vec<QuestionResult>,
}

/// The results of the surveys of one session, or of all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyResults {
    /// The session's reference, when limited to one.
    pub session: Option<String>,
    /// One group per audience and timing.
    pub groups: Vec<ResultGroup>,
}

/// A response's score and answers (row type, in the order selected).
#[derive(Queryable)]
struct ScoredAnswers {
    id: String,
    survey: SurveyId,
    satisfaction: i32,
    answers: JsonText<BTreeMap<String, Value>>,
}

/// The results (of one session, given its id or reference, or of all), per audience and timing.
/// Responses are read page by page.
pub fn results(conn: &mut DbConn, session: Option<&str>) -> Result<SurveyResults, SurveyError> {
    db::read_transaction(conn, |conn| {
        let session = session.map(|raw| session_id(conn, raw)).transpose()?;
        Ok(results_for(conn, session)?)
    })
}

fn results_for(conn: &mut DbConn, session_id: Option<TrainingSessionId>) -> Result<SurveyResults, DbError> {
    {
        let reference = match &session_id {
            Some(id) => Some(
                training_sessions::table
                    .filter(training_sessions::id.eq(id))
                    .select(training_sessions::reference)
                    .first::<String>(conn)
                    .map_err(DbError::from)?,
            ),
            None => None,
        };
        let rows = survey_rows(conn, session_id.as_ref())?;
        let figures = figures_by_survey(conn, session_id.as_ref())?;
        let mut groups: Vec<ResultGroup> = Vec::new();
        let mut group_of: HashMap<SurveyId, usize> = HashMap::new();
        for row in &rows {
            let at = match groups.iter().position(|g| g.audience == row.audience && g.timing == row.timing) {
                Some(at) => at,
                None => {
                    groups.push(ResultGroup {
                        audience: row.audience,
                        timing: row.timing,
                        surveys: 0,
                        invited: 0,
                        answered: 0,
                        response_rate: None,
                        satisfaction: ScaleResult::default(),
                        questions: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            group_of.insert(row.id.clone(), at);
            let Some(group) = groups.get_mut(at) else { continue };
            group.surveys += 1;
            if let Some(f) = figures.get(&row.id) {
                group.invited += f.invited;
                group.answered += f.answered;
            }
            for question in &row.questions.0 {
                if !group.questions.iter().any(|q| q.id == question.id) {
                    group.questions.push(QuestionResult::new(question));
                }
            }
        }
        let mut after = String::new();
        loop {
            let mut query = survey_responses::table
                .inner_join(surveys::table)
                .filter(survey_responses::id.gt(&after))
                .order(survey_responses::id.asc())
                .limit(PAGE)
                .select((
                    survey_responses::id,
                    survey_responses::survey_id,
                    survey_responses::satisfaction,
                    survey_responses::answers,
                ))
                .into_boxed();
            if let Some(id) = &session_id {
                query = query.filter(surveys::training_session_id.eq(id));
            }
            let page: Vec<ScoredAnswers> = query.load(conn).map_err(DbError::from)?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for ScoredAnswers { survey, satisfaction, answers, .. } in page {
                let Some(group) = group_of.get(&survey).and_then(|at| groups.get_mut(*at)) else { continue };
                group.satisfaction.add(i64::from(satisfaction));
                for (id, value) in &answers.0 {
                    if let Some(question) = group.questions.iter_mut().find(|q| &q.id == id) {
                        question.add(value);
                    }
                }
            }
        }
        for group in &mut groups {
            group.satisfaction.finish();
            group.response_rate =
                SatisfactionFigures { invited: group.invited, answered: group.answered, ..Default::default() }
                    .response_rate();
            for question in &mut group.questions {
                if let Some(scale) = question.scale.as_mut() {
                    scale.finish();
                }
            }
        }
        Ok(SurveyResults { session: reference, groups })
    }
}

/// One response for the CSV export (row type, in the order selected).
#[derive(Debug, Clone, Queryable)]
pub struct ResponseRow {
    /// The response's id (the export's keyset).
    pub id: String,
    /// The session's reference.
    pub session: String,
    /// The course's code.
    pub course: String,
    /// Who answered.
    pub audience: SurveyAudience,
    /// À chaud or à froid.
    pub timing: SurveyTiming,
    /// When (a day for an anonymous survey).
    pub submitted_at: NaiveDateTime,
    /// The overall score.
    pub satisfaction: i32,
    /// The answers, as stored (JSON).
    pub answers: String,
    /// The respondent's e-mail; none in an anonymous survey.
    pub respondent_email: Option<String>,
}

/// Up to `limit` responses whose id follows `after`, by id.
pub fn response_page(conn: &mut DbConn, after: &str, limit: i64) -> Result<Vec<ResponseRow>, DbError> {
    survey_responses::table
        .inner_join(surveys::table.inner_join(training_sessions::table.inner_join(courses::table)))
        .left_join(users::table)
        .filter(survey_responses::id.gt(after))
        .order(survey_responses::id.asc())
        .limit(limit)
        .select((
            survey_responses::id,
            training_sessions::reference,
            courses::code,
            surveys::audience,
            surveys::kind,
            survey_responses::submitted_at,
            survey_responses::satisfaction,
            survey_responses::answers,
            users::email.nullable(),
        ))
        .load(conn)
        .map_err(DbError::from)
}

/// A response rate in French (« 83,3 % »), or « — » when nobody was asked.
pub fn rate_fr(rate: Option<f64>) -> String {
    rate.map(locale::percent_fr).unwrap_or_else(|| "—".into())
}

/// A mean score in French, as `/resultats` writes it (« 4,2 / 5 »), or « — » without answers.
pub fn mean_fr(mean: Option<f64>) -> String {
    mean.map(|m| format!("{}\u{a0}/\u{a0}5", locale::decimal_fr(m, 1))).unwrap_or_else(|| "—".into())
}

/// The evidence of Qualiopi indicator 30 (the collection of the stakeholders' appreciations): the
/// surveys with their response rates and mean scores, and the results per question.
pub fn evidence(conn: &mut DbConn) -> Result<Vec<EvidenceTable>, DbError> {
    let (surveys, results) =
        db::read_transaction(conn, |conn| Ok::<_, DbError>((list_for(conn, None)?, results_for(conn, None)?)))?;
    let day = |at: NaiveDateTime| locale::short_date_fr(locale::to_paris(at).date());
    let survey_table = EvidenceTable {
        indicator: 30,
        file_stem: "30-questionnaires-satisfaction".into(),
        title: "Questionnaires de satisfaction et taux de réponse".into(),
        description: "Chaque questionnaire ouvert pour une session (stagiaires et formateurs, à chaud à la fin de la \
                      session, à froid quelques semaines plus tard), avec le nombre de personnes invitées, de \
                      réponses et la satisfaction générale moyenne."
            .into(),
        columns: [
            "Session",
            "Formation",
            "Public",
            "Moment",
            "Ouvert le",
            "Clos le",
            "Anonyme",
            "Invités",
            "Réponses",
            "Taux de réponse",
            "Satisfaction moyenne",
        ]
        .map(String::from)
        .to_vec(),
        rows: surveys
            .iter()
            .map(|s| {
                vec![
                    s.session.clone(),
                    s.course.clone(),
                    s.audience.label_fr().to_owned(),
                    s.timing.label_fr().to_owned(),
                    day(s.opens_at),
                    day(s.closes_at),
                    if s.anonymous { "oui" } else { "non" }.to_owned(),
                    s.invited.to_string(),
                    s.answered.to_string(),
                    rate_fr(s.response_rate),
                    mean_fr(s.satisfaction_mean),
                ]
            })
            .collect(),
    };
    let mut rows = Vec::new();
    for group in &results.groups {
        let who = format!("{} ({})", group.audience.label_fr(), group.timing.label_fr().to_lowercase());
        let distribution = |scale: &ScaleResult| {
            scale
                .distribution
                .iter()
                .zip(1..)
                .map(|(count, value)| format!("{value} : {count}"))
                .collect::<Vec<_>>()
                .join(" ; ")
        };
        rows.push(vec![
            who.clone(),
            "Satisfaction générale".into(),
            QuestionKind::Scale.label_fr().into(),
            group.satisfaction.answers.to_string(),
            mean_fr(group.satisfaction.mean),
            distribution(&group.satisfaction),
        ]);
        for question in &group.questions {
            let detail = match (&question.scale, &question.options, &question.comments) {
                (Some(scale), _, _) => distribution(scale),
                (_, Some(options), _) => {
                    options.iter().map(|o| format!("{} : {}", o.option, o.count)).collect::<Vec<_>>().join(" ; ")
                }
                (_, _, Some(comments)) => comments.iter().map(|c| format!("« {c} »")).collect::<Vec<_>>().join(" ; "),
                _ => String::new(),
            };
            rows.push(vec![
                who.clone(),
                question.label.clone(),
                question.kind.label_fr().into(),
                question.answers.to_string(),
                question.scale.as_ref().map(|s| mean_fr(s.mean)).unwrap_or_else(|| "—".into()),
                detail,
            ]);
        }
    }
    let results_table = EvidenceTable {
        indicator: 30,
        file_stem: "30-resultats-par-question".into(),
        title: "Résultats des questionnaires, question par question".into(),
        description: "Toutes sessions confondues, par public et moment : la satisfaction générale et chaque question \
                      (répartition des notes de 1 à 5 et moyenne, choix comptés, commentaires libres)."
            .into(),
        columns: ["Public", "Question", "Type", "Réponses", "Moyenne", "Détail"].map(String::from).to_vec(),
        rows,
    };
    Ok(vec![survey_table, results_table])
}
