//! Who may act on a training session: read or write its attendance and assessments — the one
//! home of these rules, used by every door (pages, API, CLI), by [`crate::attendance`] and by
//! [`crate::assessment`].
//!
//! - a trainer reads and writes only the sessions they teach (listed in `session_trainers` and
//!   holding the trainer role);
//! - an administrator reads every session but writes none (attendance is the trainer's word); like
//!   the trainers, they may show a half-day's self check-in code (when the trainer's device fails,
//!   the office puts the code on its own screen: trainees still sign for themselves);
//! - a trainee reads only their own records;
//! - the command line is the administrator at the console, who holds the database anyway.

use diesel::prelude::*;
use serde::Serialize;

use crate::access::Caller;
use crate::attendance::AttendanceError;
use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::schema::training_sessions;
use crate::db::{DbConn, DbError};
use crate::people::Role;
use crate::roster;

/// Who is acting.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A person authenticated by the web pages or the API.
    Person(&'a Caller),
    /// The administrator at the command line.
    Console,
}

impl Actor<'_> {
    /// **Whether the actor runs the organisation**: the console, or a person with the admin role.
    /// Every use case reserved to the office (venues, courses, sessions, enrolments by the office,
    /// admission decisions) asks this, and maps a refusal to its own error.
    pub fn is_office(&self) -> bool {
        match self {
            Actor::Console => true,
            Actor::Person(caller) => caller.has_role(Role::Admin),
        }
    }

    /// The person acting, if any (`None` at the console): what histories record as the author.
    pub fn person(&self) -> Option<&UserId> {
        match self {
            Actor::Console => None,
            Actor::Person(caller) => Some(&caller.user.id),
        }
    }
}

/// What an actor may do with one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRight {
    /// A trainer of the session: reads and writes.
    Teaches,
    /// An administrator: reads only.
    Oversees,
    /// The command line: reads (documents, exports) and bulk imports.
    Console,
}

impl SessionRight {
    /// True when attendance and assessments of the session may be written.
    pub fn can_write(self) -> bool {
        self == SessionRight::Teaches
    }

    /// True when the session's self check-in code may be shown: by its trainers and by the office
    /// (a person, never the console, which has no screen for trainees to read).
    pub fn can_show_checkin_code(self) -> bool {
        matches!(self, SessionRight::Teaches | SessionRight::Oversees)
    }
}

fn session_exists(conn: &mut DbConn, session: &TrainingSessionId) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(training_sessions::table.find(session))).get_result(conn).map_err(DbError::from)
}

/// True when `trainer` is listed as a trainer of `session`.
pub fn teaches(conn: &mut DbConn, trainer: &UserId, session: &TrainingSessionId) -> Result<bool, DbError> {
    roster::is_listed_trainer(conn, trainer, session)
}

/// What `actor` may do with `session`: refused (403) unless they teach it or administer; 404 for
/// an unknown session.
pub fn ensure_can_read(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
) -> Result<SessionRight, AttendanceError> {
    if !session_exists(conn, session)? {
        return Err(AttendanceError::UnknownTrainingSession);
    }
    match actor {
        Actor::Console => Ok(SessionRight::Console),
        Actor::Person(caller) => {
            if caller.has_role(Role::Trainer) && teaches(conn, &caller.user.id, session)? {
                Ok(SessionRight::Teaches)
            } else if actor.is_office() {
                Ok(SessionRight::Oversees)
            } else {
                Err(AttendanceError::Forbidden("vous n'animez pas cette session"))
            }
        }
    }
}

/// Refused unless `caller` is a trainer of `session` (the only people who write its attendance
/// and its assessments).
pub fn ensure_trainer_of(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
) -> Result<(), AttendanceError> {
    match ensure_can_read(conn, Actor::Person(caller), session)? {
        SessionRight::Teaches => Ok(()),
        _ => Err(AttendanceError::Forbidden("seul·e un·e formateur·rice de la session peut faire cette saisie")),
    }
}

/// Refused unless `caller` may show a self check-in code for `session`
/// ([`SessionRight::can_show_checkin_code`]): a trainer of the session or an administrator.
pub fn ensure_can_show_checkin_code(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
) -> Result<SessionRight, AttendanceError> {
    let right = ensure_can_read(conn, Actor::Person(caller), session)?;
    if right.can_show_checkin_code() {
        Ok(right)
    } else {
        Err(AttendanceError::Forbidden(
            "seul·es les formateur·rices de la session et l'administration affichent ce code",
        ))
    }
}

/// Refused unless `actor` may read the records of `trainee` in `session`: the trainee themself,
/// a trainer of the session, an administrator, or the console.
pub fn ensure_can_read_trainee(
    conn: &mut DbConn,
    actor: Actor<'_>,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<(), AttendanceError> {
    match actor {
        Actor::Person(caller) if &caller.user.id == trainee => {
            if session_exists(conn, session)? {
                Ok(())
            } else {
                Err(AttendanceError::UnknownTrainingSession)
            }
        }
        _ => ensure_can_read(conn, actor, session).map(|_| ()),
    }
}

/// A session someone may open, with the right they have on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadableSession {
    /// The session.
    pub session: TrainingSessionId,
    /// What they may do with it.
    pub right: SessionRight,
}

/// Sessions a person may open on the trainer pages: those they teach, and every session for an
/// administrator. Each with the right they have on it.
pub fn readable_sessions(conn: &mut DbConn, caller: &Caller) -> Result<Vec<ReadableSession>, AttendanceError> {
    let taught: Vec<TrainingSessionId> =
        if caller.has_role(Role::Trainer) { roster::sessions_taught_by(conn, &caller.user.id)? } else { Vec::new() };
    let mut out: Vec<ReadableSession> =
        taught.iter().map(|id| ReadableSession { session: id.clone(), right: SessionRight::Teaches }).collect();
    let office = Actor::Person(caller).is_office();
    if office {
        let all: Vec<TrainingSessionId> =
            training_sessions::table.select(training_sessions::id).load(conn).map_err(DbError::from)?;
        out.extend(
            all.into_iter()
                .filter(|id| !taught.contains(id))
                .map(|id| ReadableSession { session: id, right: SessionRight::Oversees }),
        );
    }
    if out.is_empty() && !caller.has_role(Role::Trainer) && !office {
        return Err(AttendanceError::Forbidden("espace réservé aux formateur·rices"));
    }
    Ok(out)
}
