//! Notifications shown on a person's page (`/me`): waitlist promotions and other news. E-mail
//! delivery, when configured, is a copy of these; the page is the record.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::ids::{NotificationId, UserId};
use crate::db::schema::notifications;
use crate::db::{DbConn, DbError};

/// A notification as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct NotificationView {
    /// Identifier.
    pub id: NotificationId,
    /// Kind (`waitlist_promoted`…).
    pub kind: String,
    /// French message.
    pub message: String,
    /// Where to look.
    pub link: Option<String>,
    /// When (UTC).
    pub created_at: NaiveDateTime,
    /// When it was seen.
    pub read_at: Option<NaiveDateTime>,
}

/// The latest notifications of a person, newest first.
pub fn recent_notifications(conn: &mut DbConn, user: &UserId, limit: i64) -> Result<Vec<NotificationView>, DbError> {
    notifications::table
        .filter(notifications::user_id.eq(user))
        .order(notifications::created_at.desc())
        .limit(limit.clamp(1, 100))
        .select((
            notifications::id,
            notifications::kind,
            notifications::message,
            notifications::link,
            notifications::created_at,
            notifications::read_at,
        ))
        .load(conn)
        .map_err(DbError::from)
}

/// Marks every unread notification of a person as seen.
pub fn mark_all_read(conn: &mut DbConn, user: &UserId, now: NaiveDateTime) -> Result<usize, DbError> {
    diesel::update(
        notifications::table.filter(notifications::user_id.eq(user)).filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(now)))
    .execute(conn)
    .map_err(DbError::from)
}
