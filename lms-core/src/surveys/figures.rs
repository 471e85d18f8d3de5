//! The published satisfaction figures: what the trainees said in the « à chaud » questionnaires,
//! per course, with how many were asked and how many answered. The outcome indicators
//! (`/resultats`, `lms report outcomes`) and the quality evidence read them from here, so the
//! definition exists once.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{SurveyAudience, SurveyTiming};
use crate::db::schema::{courses, survey_invitations, survey_responses, surveys, training_sessions};
use crate::db::{DbConn, DbError};

/// Satisfaction of one course (or of all of them together).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SatisfactionFigures {
    /// Trainees asked (invitations to the à chaud questionnaire).
    pub invited: i64,
    /// Trainees who answered.
    pub answered: i64,
    /// Sum of the overall scores (1 to 5) given.
    pub score_sum: i64,
    /// Number of overall scores given.
    pub scores: i64,
}

impl SatisfactionFigures {
    /// Mean overall score out of 5, one decimal, when anyone answered.
    pub fn mean(&self) -> Option<f64> {
        (self.scores > 0).then(|| ((self.score_sum as f64) * 10.0 / (self.scores as f64)).round() / 10.0)
    }

    /// Answered over asked, percent with one decimal, when anyone was asked.
    pub fn response_rate(&self) -> Option<f64> {
        (self.invited > 0).then(|| ((self.answered as f64) * 1000.0 / (self.invited as f64)).round() / 10.0)
    }

    /// Adds another course's figures to these.
    pub fn add(&mut self, other: &SatisfactionFigures) {
        self.invited += other.invited;
        self.answered += other.answered;
        self.score_sum += other.score_sum;
        self.scores += other.scores;
    }
}

/// The trainees' à chaud satisfaction per course code, over the questionnaires opened between
/// `from` and `to` (inclusive; either may be open). Two grouped queries, whatever the volume.
pub fn trainee_satisfaction_by_course(
    conn: &mut DbConn,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<BTreeMap<String, SatisfactionFigures>, DbError> {
    let start = from.map(|day| day.and_time(NaiveTime::MIN));
    let end = to.and_then(|day| day.succ_opt()).map(|day| day.and_time(NaiveTime::MIN));
    let mut invitations = survey_invitations::table
        .inner_join(surveys::table.inner_join(training_sessions::table.inner_join(courses::table)))
        .filter(surveys::audience.eq(SurveyAudience::Trainee))
        .filter(surveys::kind.eq(SurveyTiming::AChaud))
        .group_by(courses::code)
        .select((courses::code, diesel::dsl::count_star(), diesel::dsl::count(survey_invitations::answered_at)))
        .into_boxed();
    let mut responses = survey_responses::table
        .inner_join(surveys::table.inner_join(training_sessions::table.inner_join(courses::table)))
        .filter(surveys::audience.eq(SurveyAudience::Trainee))
        .filter(surveys::kind.eq(SurveyTiming::AChaud))
        .group_by(courses::code)
        .select((courses::code, diesel::dsl::sum(survey_responses::satisfaction), diesel::dsl::count_star()))
        .into_boxed();
    if let Some(start) = start {
        invitations = invitations.filter(surveys::opens_at.ge(start));
        responses = responses.filter(surveys::opens_at.ge(start));
    }
    if let Some(end) = end {
        invitations = invitations.filter(surveys::opens_at.lt(end));
        responses = responses.filter(surveys::opens_at.lt(end));
    }
    let invitations: Vec<(String, i64, i64)> = invitations.load(conn)?;
    let responses: Vec<(String, Option<i64>, i64)> = responses.load(conn)?;
    let mut figures: BTreeMap<String, SatisfactionFigures> = BTreeMap::new();
    for (course, invited, answered) in invitations {
        let entry = figures.entry(course).or_default();
        entry.invited = invited;
        entry.answered = answered;
    }
    for (course, sum, count) in responses {
        let entry = figures.entry(course).or_default();
        entry.score_sum = sum.unwrap_or(0);
        entry.scores = count;
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::SatisfactionFigures;

    #[test]
    fn mean_and_rate_round_to_one_decimal_and_are_absent_without_data() {
        let figures = SatisfactionFigures { invited: 3, answered: 2, score_sum: 9, scores: 2 };
        assert_eq!(figures.mean(), Some(4.5));
        assert_eq!(figures.response_rate(), Some(66.7));
        assert_eq!(SatisfactionFigures::default().mean(), None);
        assert_eq!(SatisfactionFigures::default().response_rate(), None);
    }
}
