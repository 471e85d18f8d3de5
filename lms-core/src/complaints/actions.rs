//! Improvement actions (Qualiopi indicator 32): what the organisation decided to change, who
//! carries it and by when, opened from a complaint's answer or on their own, then marked done
//! with a note. Only the office writes or reads them.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{ComplaintError, MAX_MESSAGE_CHARS, actor_name, checked_line, checked_text, ensure_office, paris_date};
use crate::db::ids::{ComplaintId, ImprovementActionId};
use crate::db::schema::{complaints, improvement_actions};
use crate::db::{self, DbConn, DbError};
use crate::rights::Actor;

/// Longest « what » of an action, in characters.
pub const MAX_WHAT_CHARS: usize = 500;
/// Longest name of the person responsible, in characters.
pub const MAX_OWNER_CHARS: usize = 120;

/// An action to open: what, who carries it, by when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAction {
    /// What will be done.
    pub what: String,
    /// Who is responsible (a name or a role).
    pub owner: String,
    /// By when.
    pub due_on: NaiveDate,
}

/// An improvement action as the office reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImprovementAction {
    /// Identifier (for `lms complaint action done`).
    pub id: ImprovementActionId,
    /// The complaint it stems from, by reference.
    pub complaint: Option<String>,
    /// What will be done.
    pub what: String,
    /// Who is responsible.
    pub owner: String,
    /// By when.
    pub due_on: NaiveDate,
    /// When it was done.
    pub done_on: Option<NaiveDate>,
    /// What was done, as noted when marking it done.
    pub done_note: Option<String>,
    /// Who opened it: a person's name, or « console ».
    pub created_by: String,
    /// When it was opened (UTC).
    pub created_at: NaiveDateTime,
    /// Not done and past its due day.
    pub late: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = improvement_actions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ActionRow {
    id: ImprovementActionId,
    what: String,
    owner: String,
    due_on: NaiveDate,
    done_on: Option<NaiveDate>,
    done_note: Option<String>,
    created_by_name: String,
    created_at: NaiveDateTime,
}

impl ActionRow {
    fn view(self, complaint: Option<String>, today: NaiveDate) -> ImprovementAction {
        let late = self.done_on.is_none() && today > self.due_on;
        ImprovementAction {
            id: self.id,
            complaint,
            what: self.what,
            owner: self.owner,
            due_on: self.due_on,
            done_on: self.done_on,
            done_note: self.done_note,
            created_by: self.created_by_name,
            created_at: self.created_at,
            late,
        }
    }
}

/// Checks an action's fields; returns them trimmed.
pub(super) fn check(action: &NewAction) -> Result<NewAction, ComplaintError> {
    Ok(NewAction {
        what: checked_text(&action.what, "l'action", MAX_WHAT_CHARS)?,
        owner: checked_line(&action.owner, "le ou la responsable de l'action", MAX_OWNER_CHARS)?,
        due_on: action.due_on,
    })
}

pub(super) fn insert(
    conn: &mut DbConn,
    actor: Actor<'_>,
    complaint: Option<&ComplaintId>,
    action: &NewAction,
    now: NaiveDateTime,
) -> Result<ImprovementActionId, DbError> {
    let id = ImprovementActionId::generate();
    diesel::insert_into(improvement_actions::table)
        .values((
            improvement_actions::id.eq(&id),
            improvement_actions::complaint_id.eq(complaint),
            improvement_actions::what.eq(&action.what),
            improvement_actions::owner.eq(&action.owner),
            improvement_actions::due_on.eq(action.due_on),
            improvement_actions::created_by.eq(actor.person()),
            improvement_actions::created_by_name.eq(actor_name(actor)),
            improvement_actions::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(id)
}

fn find(conn: &mut DbConn, id: &ImprovementActionId, today: NaiveDate) -> Result<ImprovementAction, ComplaintError> {
    let found: Option<(ActionRow, Option<String>)> = improvement_actions::table
        .left_join(complaints::table)
        .filter(improvement_actions::id.eq(id))
        .select((ActionRow::as_select(), complaints::reference.nullable()))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let (row, complaint) = found.ok_or_else(|| ComplaintError::ActionNotFound(id.to_string()))?;
    Ok(row.view(complaint, today))
}

/// Opens an improvement action, on its own or from the complaint `complaint` (a reference).
pub fn add(
    conn: &mut DbConn,
    actor: Actor<'_>,
    complaint: Option<&str>,
    action: &NewAction,
    now: NaiveDateTime,
) -> Result<ImprovementAction, ComplaintError> {
    ensure_office(actor)?;
    let action = check(action)?;
    db::write_transaction(conn, |conn| {
        let complaint = match complaint.map(str::trim).filter(|c| !c.is_empty()) {
            Some(reference) => Some(super::find_row(conn, reference)?.id),
            None => None,
        };
        let id = insert(conn, actor, complaint.as_ref(), &action, now)?;
        find(conn, &id, paris_date(now))
    })
}

/// Marks an action done today (Paris date of `now`) with a note saying what was done. An action
/// already done is refused (409), nothing written.
pub fn mark_done(
    conn: &mut DbConn,
    actor: Actor<'_>,
    id: &str,
    note: &str,
    now: NaiveDateTime,
) -> Result<ImprovementAction, ComplaintError> {
    ensure_office(actor)?;
    let id =
        ImprovementActionId::parse(id).map_err(|_| ComplaintError::ActionNotFound(crate::text::printable(id, 40)))?;
    let note = checked_text(note, "la note de réalisation", MAX_MESSAGE_CHARS)?;
    let today = paris_date(now);
    db::write_transaction(conn, |conn| {
        let current = find(conn, &id, today)?;
        if let Some(done) = current.done_on {
            return Err(ComplaintError::ActionAlreadyDone(done.to_string()));
        }
        let updated =
            diesel::update(improvement_actions::table.find(&id).filter(improvement_actions::done_on.is_null()))
                .set((improvement_actions::done_on.eq(Some(today)), improvement_actions::done_note.eq(Some(&note))))
                .execute(conn)
                .map_err(DbError::from)?;
        if updated != 1 {
            return Err(ComplaintError::ActionAlreadyDone(today.to_string()));
        }
        find(conn, &id, today)
    })
}

/// Every improvement action, open ones first, then by due day.
pub fn list(conn: &mut DbConn, actor: Actor<'_>, now: NaiveDateTime) -> Result<Vec<ImprovementAction>, ComplaintError> {
    ensure_office(actor)?;
    let today = paris_date(now);
    db::read_transaction(conn, |conn| {
        let rows: Vec<(ActionRow, Option<String>)> = improvement_actions::table
            .left_join(complaints::table)
            .order((
                improvement_actions::done_on.is_not_null().asc(),
                improvement_actions::due_on.asc(),
                improvement_actions::id.asc(),
            ))
            .select((ActionRow::as_select(), complaints::reference.nullable()))
            .load(conn)
            .map_err(DbError::from)?;
        Ok(rows.into_iter().map(|(row, complaint)| row.view(complaint, today)).collect())
    })
}

pub(super) fn of_complaint(
    conn: &mut DbConn,
    complaint: &ComplaintId,
    reference: &str,
    today: NaiveDate,
) -> Result<Vec<ImprovementAction>, DbError> {
    let rows: Vec<ActionRow> = improvement_actions::table
        .filter(improvement_actions::complaint_id.eq(complaint))
        .order((improvement_actions::created_at.asc(), improvement_actions::id.asc()))
        .select(ActionRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|row| row.view(Some(reference.to_owned()), today)).collect())
}

/// Every action, for the evidence of indicator 32 (oldest first).
pub(super) fn all(conn: &mut DbConn, today: NaiveDate) -> Result<Vec<ImprovementAction>, DbError> {
    let rows: Vec<(ActionRow, Option<String>)> = improvement_actions::table
        .left_join(complaints::table)
        .order((improvement_actions::created_at.asc(), improvement_actions::id.asc()))
        .select((ActionRow::as_select(), complaints::reference.nullable()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(row, complaint)| row.view(complaint, today)).collect())
}
