//! The public catalogue (`/formations`): every course still offered, each with its next public
//! sessions. Two reads whatever the number of courses: the courses, then their upcoming sessions.

use chrono::NaiveDate;
use serde::Serialize;

use super::{
    CatalogueError, CourseView, TrainingSessionFilter, TrainingSessionStatus, TrainingSessionView,
    list_offered_courses, list_training_sessions,
};
use crate::db::{self, DbConn};

/// One course of the public catalogue and its next sessions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OfferedCourse {
    /// The course.
    pub course: CourseView,
    /// Its published sessions starting on or after the day asked, by start date.
    pub sessions: Vec<TrainingSessionView>,
}

/// The public catalogue as of `today`: the courses not archived, by code, each with its
/// published sessions from `today` on (one read transaction).
pub fn offer_page(conn: &mut DbConn, today: NaiveDate) -> Result<Vec<OfferedCourse>, CatalogueError> {
    db::read_transaction(conn, |conn| {
        let courses = list_offered_courses(conn)?;
        let sessions = list_training_sessions(
            conn,
            &TrainingSessionFilter {
                status: Some(TrainingSessionStatus::Published),
                from: Some(today),
                offered_only: true,
                ..Default::default()
            },
        )?;
        let mut offered: Vec<OfferedCourse> =
            courses.into_iter().map(|course| OfferedCourse { course, sessions: Vec::new() }).collect();
        for session in sessions {
            if let Some(entry) = offered.iter_mut().find(|o| o.course.code == session.course) {
                entry.sessions.push(session);
            }
        }
        Ok(offered)
    })
}
