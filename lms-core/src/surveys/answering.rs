//! Answering: what a person is asked ([`my_open_surveys`], [`survey_page`]) and **[`answer`], the
//! one way a response is written**, behind the page `/me/questionnaires/{id}` and
//! `POST /api/v1/surveys/{id}/responses` alike.
//!
//! Once per person and survey: the invitation's `answered_at` is set by a conditional update
//! (`WHERE answered_at IS NULL`) before the response is written, so two answers sent at once
//! write one. In an anonymous survey the response keeps no respondent, takes a random (not
//! time-ordered) id and a day-precision date, and the invitation's `answered_at` is a day too:
//! nothing links the answers to the person, who still cannot answer twice.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::questionnaires::{Question, QuestionKind, SCALE};
use super::{SurveyAudience, SurveyError, SurveyTiming};
use crate::access::Caller;
use crate::db::ids::{SurveyId, SurveyInvitationId, TrainingSessionId, UserId};
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::{courses, survey_invitations, survey_responses, surveys, training_sessions};
use crate::db::{self, DbConn, DbError};
use crate::locale;

/// A survey as its invitee sees it (row type, in the order selected).
#[derive(Debug, Clone, PartialEq, Serialize, Queryable)]
pub struct OpenSurvey {
    /// The survey.
    pub id: SurveyId,
    /// Its title.
    pub title: String,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// À chaud or à froid.
    pub timing: SurveyTiming,
    /// Whether answers are kept without the respondent.
    pub anonymous: bool,
    /// When it opened (UTC).
    pub opens_at: NaiveDateTime,
    /// When it closes (UTC).
    pub closes_at: NaiveDateTime,
    /// The questions (the overall satisfaction score is asked besides them).
    #[serde(serialize_with = "serialize_questions")]
    pub questions: JsonText<Vec<Question>>,
    /// The session.
    pub session_id: TrainingSessionId,
    /// The session's reference.
    pub session_reference: String,
    /// The course's title.
    pub course_title: String,
}

fn serialize_questions<S: serde::Serializer>(questions: &JsonText<Vec<Question>>, s: S) -> Result<S::Ok, S::Error> {
    questions.0.serialize(s)
}

impl OpenSurvey {
    /// The questions.
    pub fn questions(&self) -> &[Question] {
        &self.questions.0
    }

    /// The last Paris day on which it takes answers.
    pub fn last_day(&self) -> chrono::NaiveDate {
        locale::to_paris(self.closes_at - chrono::Duration::seconds(1)).date()
    }
}

macro_rules! open_survey_columns {
    () => {
        (
            surveys::id,
            surveys::title,
            surveys::audience,
            surveys::kind,
            surveys::anonymous,
            surveys::opens_at,
            surveys::closes_at,
            surveys::questions,
            training_sessions::id,
            training_sessions::reference,
            courses::title,
        )
    };
}

/// The surveys `person` was invited to, has not answered and may answer at `now`, closing soonest
/// first.
pub fn my_open_surveys(conn: &mut DbConn, person: &UserId, now: NaiveDateTime) -> Result<Vec<OpenSurvey>, DbError> {
    survey_invitations::table
        .inner_join(surveys::table.inner_join(training_sessions::table.inner_join(courses::table)))
        .filter(survey_invitations::person_id.eq(person))
        .filter(survey_invitations::answered_at.is_null())
        .filter(surveys::opens_at.le(now))
        .filter(surveys::closes_at.gt(now))
        .order((surveys::closes_at.asc(), surveys::id.asc()))
        .select(open_survey_columns!())
        .load(conn)
        .map_err(DbError::from)
}

/// Where a survey stands for its invitee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyState {
    /// Not open yet.
    NotYetOpen,
    /// Awaiting the answer.
    Open,
    /// Answered (the day is all that is kept for an anonymous survey).
    Answered,
    /// Closed without an answer.
    Closed,
}

/// A survey for its page: the survey and where it stands for the caller.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyPage {
    /// The survey.
    pub survey: OpenSurvey,
    /// Where it stands.
    pub state: SurveyState,
    /// When the caller answered (a day for an anonymous survey).
    pub answered_at: Option<NaiveDateTime>,
}

/// The survey `id` as the caller sees it; a survey they were not invited to is not found (the
/// two are not told apart).
pub fn survey_page(
    conn: &mut DbConn,
    caller: &Caller,
    id: &SurveyId,
    now: NaiveDateTime,
) -> Result<SurveyPage, SurveyError> {
    db::read_transaction(conn, |conn| {
        let found: Option<(OpenSurvey, Option<NaiveDateTime>)> = survey_invitations::table
            .inner_join(surveys::table.inner_join(training_sessions::table.inner_join(courses::table)))
            .filter(survey_invitations::person_id.eq(&caller.user.id))
            .filter(surveys::id.eq(id))
            .select((open_survey_columns!(), survey_invitations::answered_at))
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let (survey, answered_at) = found.ok_or(SurveyError::NotFound)?;
        let state = if answered_at.is_some() {
            SurveyState::Answered
        } else if now < survey.opens_at {
            SurveyState::NotYetOpen
        } else if now >= survey.closes_at {
            SurveyState::Closed
        } else {
            SurveyState::Open
        };
        Ok(SurveyPage { survey, state, answered_at })
    })
}

/// A response as sent: the overall score and one value per question id. Values are JSON: a
/// number (or a number's digits) for a scale, the chosen option for a choice, the comment for a
/// text; a question left out is unanswered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// The overall satisfaction, 1 to 5.
    pub satisfaction: Option<Value>,
    /// Answers by question id.
    pub answers: BTreeMap<String, Value>,
}

/// What was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnswerReceipt {
    /// The survey.
    pub survey: SurveyId,
    /// Whether the response was recorded without the respondent.
    pub anonymous: bool,
    /// When it was recorded (a day for an anonymous survey).
    pub submitted_at: NaiveDateTime,
}

fn scale_value(value: &Value) -> Option<i64> {
    let number = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }?;
    SCALE.contains(&number).then_some(number)
}

/// Checks `answer` against `questions`: the overall score, every id known, every required one
/// answered, each value fitting its question. Returns the answers as stored.
fn checked(questions: &[Question], answer: &Answer) -> Result<(i32, BTreeMap<String, Value>), SurveyError> {
    let satisfaction = answer.satisfaction.as_ref().and_then(scale_value).ok_or(SurveyError::InvalidSatisfaction)?;
    if let Some(unknown) = answer.answers.keys().find(|id| !questions.iter().any(|q| &q.id == *id)) {
        return Err(SurveyError::UnknownQuestion(unknown.chars().take(40).collect()));
    }
    let mut stored = BTreeMap::new();
    for question in questions {
        let Some(value) = answer.answers.get(&question.id).filter(|v| !v.is_null()) else {
            if question.required {
                return Err(SurveyError::MissingAnswer(question.label.clone()));
            }
            continue;
        };
        let refuse = |reason: String| SurveyError::InvalidAnswer { question: question.label.clone(), reason };
        let kept = match question.kind {
            QuestionKind::Scale => {
                Value::from(scale_value(value).ok_or_else(|| refuse("une note entière de 1 à 5 est attendue".into()))?)
            }
            QuestionKind::Choice => {
                let chosen = value.as_str().map(str::trim).unwrap_or_default();
                let option = question
                    .options
                    .iter()
                    .find(|o| o.trim() == chosen)
                    .ok_or_else(|| refuse(format!("choisissez parmi : {}", locale::list_fr(&question.options))))?;
                Value::from(option.trim())
            }
            QuestionKind::Text => {
                let text = value.as_str().ok_or_else(|| refuse("un texte est attendu".into()))?.trim();
                if text.is_empty() {
                    return Err(refuse("le commentaire est vide".into()));
                }
                let limit = question.text_limit();
                if text.chars().count() > limit {
                    return Err(refuse(format!("le commentaire dépasse {limit} caractères")));
                }
                if let Some(problem) = crate::text::control_character_problem(text) {
                    return Err(refuse(problem));
                }
                Value::from(text)
            }
        };
        stored.insert(question.id.clone(), kept);
    }
    // The range was checked by `scale_value`.
    Ok((i32::try_from(satisfaction).unwrap_or(1), stored))
}

/// The survey row `answer` needs (row type).
#[derive(Queryable)]
struct Target {
    invitation: SurveyInvitationId,
    answered_at: Option<NaiveDateTime>,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    anonymous: bool,
    questions: JsonText<Vec<Question>>,
}

/// Records the caller's response to survey `id`: not invited → not found; already answered →
/// conflict; not open or closed → refused; any answer not fitting its question → refused, nothing
/// written. One write transaction.
pub fn answer(
    conn: &mut DbConn,
    caller: &Caller,
    id: &SurveyId,
    answer: &Answer,
    now: NaiveDateTime,
) -> Result<AnswerReceipt, SurveyError> {
    db::write_transaction(conn, |conn| {
        let target: Target = survey_invitations::table
            .inner_join(surveys::table)
            .filter(survey_invitations::person_id.eq(&caller.user.id))
            .filter(surveys::id.eq(id))
            .select((
                survey_invitations::id,
                survey_invitations::answered_at,
                surveys::opens_at,
                surveys::closes_at,
                surveys::anonymous,
                surveys::questions,
            ))
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or(SurveyError::NotFound)?;
        if target.answered_at.is_some() {
            return Err(SurveyError::AlreadyAnswered);
        }
        if now < target.opens_at {
            return Err(SurveyError::NotYetOpen);
        }
        if now >= target.closes_at {
            let last = locale::to_paris(target.closes_at - chrono::Duration::seconds(1)).date();
            return Err(SurveyError::Closed(locale::date_fr(last)));
        }
        let (satisfaction, answers) = checked(&target.questions.0, answer)?;
        let answers = to_json_text(&answers)?;
        let (response_id, respondent, at) = if target.anonymous {
            (uuid::Uuid::new_v4().to_string(), None, now.date().and_time(NaiveTime::MIN))
        } else {
            (uuid::Uuid::now_v7().to_string(), Some(&caller.user.id), now)
        };
        let claimed = diesel::update(
            survey_invitations::table
                .filter(survey_invitations::id.eq(&target.invitation))
                .filter(survey_invitations::answered_at.is_null()),
        )
        .set(survey_invitations::answered_at.eq(Some(at)))
        .execute(conn)
        .map_err(DbError::from)?;
        if claimed == 0 {
            return Err(SurveyError::AlreadyAnswered);
        }
        diesel::insert_into(survey_responses::table)
            .values((
                survey_responses::id.eq(&response_id),
                survey_responses::survey_id.eq(id),
                survey_responses::respondent_id.eq(respondent),
                survey_responses::satisfaction.eq(satisfaction),
                survey_responses::answers.eq(&answers),
                survey_responses::submitted_at.eq(at),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(AnswerReceipt { survey: id.clone(), anonymous: target.anonymous, submitted_at: at })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Vec<Question> {
        let Ok(file) = super::super::questionnaires::QuestionnaireFile::parse(
            super::super::questionnaires::DEFAULT_QUESTIONNAIRES_TOML,
        ) else {
            panic!("defaults")
        };
        file.questionnaire[0].questions.clone()
    }

    fn full() -> Answer {
        let mut answers = BTreeMap::new();
        for id in ["objectifs", "contenu", "formateur", "organisation"] {
            answers.insert(id.to_owned(), Value::from(4));
        }
        answers.insert("recommandation".into(), Value::from("Oui, sans hésiter"));
        Answer { satisfaction: Some(Value::from("5")), answers }
    }

    #[test]
    fn a_full_answer_is_kept_normalised_and_every_bad_one_is_refused() {
        let Ok((score, stored)) = checked(&questions(), &full()) else { panic!("refused") };
        assert_eq!(score, 5);
        assert_eq!(stored.get("objectifs"), Some(&Value::from(4)));
        type Change = Box<dyn Fn(&mut Answer)>;
        let cases: Vec<(Change, &str)> = vec![
            (Box::new(|a| a.satisfaction = Some(Value::from(6))), "invalid_satisfaction"),
            (Box::new(|a| a.satisfaction = None), "invalid_satisfaction"),
            (
                Box::new(|a| {
                    a.answers.insert("inconnue".into(), Value::from(1));
                }),
                "unknown_question",
            ),
            (
                Box::new(|a| {
                    a.answers.remove("contenu");
                }),
                "missing_answer",
            ),
            (
                Box::new(|a| {
                    a.answers.insert("contenu".into(), Value::from(0));
                }),
                "invalid_answer",
            ),
            (
                Box::new(|a| {
                    a.answers.insert("recommandation".into(), Value::from("Peut-être"));
                }),
                "invalid_answer",
            ),
            (
                Box::new(|a| {
                    a.answers.insert("commentaire".into(), Value::from("  "));
                }),
                "invalid_answer",
            ),
            (
                Box::new(|a| {
                    a.answers.insert("commentaire".into(), Value::from("x".repeat(2001)));
                }),
                "invalid_answer",
            ),
        ];
        for (change, code) in cases {
            let mut answer = full();
            change(&mut answer);
            match checked(&questions(), &answer) {
                Err(error) => assert_eq!(crate::Classify::code(&error), code, "{error}"),
                Ok(_) => panic!("accepted, expected {code}"),
            }
        }
    }
}
