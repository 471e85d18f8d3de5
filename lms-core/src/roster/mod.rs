//! Who is in a training session: its confirmed trainees (those who sign the attendance sheets
//! and are assessed), the trainees who started it (entitled to documents about the hours they
//! attended), its trainers, and the names behind user ids. The one home of these queries, read
//! by [`crate::attendance`] and [`crate::assessment`].

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::schema::{enrolments, session_trainers, users};
use crate::db::{DbConn, DbError};
use crate::enrolment::EnrolmentStatus;

/// Enrolment statuses whose trainees sign attendance and are assessed.
pub const SIGNING: [EnrolmentStatus; 2] = EnrolmentStatus::SEATED;

/// Enrolment statuses that entitle a trainee to documents about the hours they attended (one who
/// abandoned still gets the certificate of the hours done).
pub const STARTED: [EnrolmentStatus; 3] = EnrolmentStatus::STARTED;

/// A person of a session's roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Member {
    /// User id.
    pub id: UserId,
    /// Display name.
    #[diesel(column_name = display_name)]
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// Confirmed (or completed) trainees of a session, by name.
pub fn confirmed_trainees(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<Member>, DbError> {
    enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::status.eq_any(SIGNING))
        .order((users::display_name.asc(), users::email.asc()))
        .select(Member::as_select())
        .load(conn)
        .map_err(DbError::from)
}

/// True when `trainee` is a confirmed (or completed) trainee of `session`.
pub fn is_confirmed_trainee(conn: &mut DbConn, session: &TrainingSessionId, trainee: &UserId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        enrolments::table
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::trainee_id.eq(trainee))
            .filter(enrolments::status.eq_any(SIGNING)),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// The name of `trainee` when they started `session` (seated, completed or abandoned), else `None`.
pub fn started_trainee_name(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<String>, DbError> {
    enrolments::table
        .inner_join(users::table)
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .filter(enrolments::status.eq_any(STARTED))
        .select(users::display_name)
        .first(conn)
        .optional()
        .map_err(DbError::from)
}

/// Sessions where `trainee` holds one of `statuses`.
pub fn sessions_of_trainee(
    conn: &mut DbConn,
    trainee: &UserId,
    statuses: &[EnrolmentStatus],
) -> Result<Vec<TrainingSessionId>, DbError> {
    enrolments::table
        .filter(enrolments::trainee_id.eq(trainee))
        .filter(enrolments::status.eq_any(statuses.to_vec()))
        .select(enrolments::training_session_id)
        .load(conn)
        .map_err(DbError::from)
}

/// Confirmed trainees per session, for the sessions of `sessions` that have any.
pub fn confirmed_counts(
    conn: &mut DbConn,
    sessions: &[TrainingSessionId],
) -> Result<HashMap<TrainingSessionId, i64>, DbError> {
    let mut out = HashMap::new();
    // Chunked so the IN lists stay under both backends' bind-parameter limits.
    for chunk in sessions.chunks(2_000) {
        let counts: Vec<(TrainingSessionId, i64)> = enrolments::table
            .filter(enrolments::training_session_id.eq_any(chunk))
            .filter(enrolments::status.eq_any(SIGNING))
            .group_by(enrolments::training_session_id)
            .select((enrolments::training_session_id, diesel::dsl::count_star()))
            .load(conn)?;
        out.extend(counts);
    }
    Ok(out)
}

/// Names of the trainers of a session, in alphabetical order.
pub fn trainer_names(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<String>, DbError> {
    session_trainers::table
        .inner_join(users::table)
        .filter(session_trainers::training_session_id.eq(session))
        .order(users::display_name.asc())
        .select(users::display_name)
        .load(conn)
        .map_err(DbError::from)
}

/// The sessions `trainer` is listed on.
pub fn sessions_taught_by(conn: &mut DbConn, trainer: &UserId) -> Result<Vec<TrainingSessionId>, DbError> {
    session_trainers::table
        .filter(session_trainers::trainer_id.eq(trainer))
        .select(session_trainers::training_session_id)
        .load(conn)
        .map_err(DbError::from)
}

/// True when `trainer` is listed as a trainer of `session`.
pub fn is_listed_trainer(conn: &mut DbConn, trainer: &UserId, session: &TrainingSessionId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        session_trainers::table
            .filter(session_trainers::training_session_id.eq(session))
            .filter(session_trainers::trainer_id.eq(trainer)),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

/// Names and e-mail addresses of `ids` (unknown ids are left out).
pub fn members(conn: &mut DbConn, ids: &[UserId]) -> Result<HashMap<UserId, Member>, DbError> {
    let mut out = HashMap::new();
    let mut unique: Vec<UserId> = ids.to_vec();
    unique.sort();
    unique.dedup();
    for chunk in unique.chunks(2_000) {
        let rows: Vec<Member> = users::table.filter(users::id.eq_any(chunk)).select(Member::as_select()).load(conn)?;
        out.extend(rows.into_iter().map(|m| (m.id.clone(), m)));
    }
    Ok(out)
}

/// Resolves a person given by user id or e-mail address; `None` when nobody matches.
pub fn find_person(conn: &mut DbConn, id_or_email: &str) -> Result<Option<UserId>, DbError> {
    if let Ok(id) = UserId::parse(id_or_email) {
        let exists: bool =
            diesel::select(diesel::dsl::exists(users::table.find(&id))).get_result(conn).map_err(DbError::from)?;
        return Ok(exists.then_some(id));
    }
    crate::people::user_id_by_email(conn, id_or_email)
}
