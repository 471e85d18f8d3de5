//! The outbox table: queueing a message inside the caller's transaction, claiming due messages
//! for sending (a lease, so that two workers never send the same row and a crashed worker's rows
//! come back), recording the result with exponential back-off, and the administrator's list and
//! retry (`lms mail list|retry`).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{Attachment, MailError, MailKind, OutboxStatus, OutgoingMail};
use crate::db::ids::OutboxMessageId;
use crate::db::json_text::{JsonText, to_json_text};
use crate::db::schema::outbox_messages;
use crate::db::{self, DbConn, DbError};

/// How long a worker holds a claimed message before another may take it (a crashed worker).
pub const LEASE_MINUTES: i64 = 5;
/// Attempts before a message is given up (`failed`), unless the door says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MINUTES: i64 = 60;
/// Longest error text kept with a message.
const MAX_ERROR_CHARS: usize = 500;

/// Queues `mail`, to be sent as soon as a worker runs. Call it INSIDE the transaction of the
/// change that causes the message, so that both are written or neither. A message whose
/// `dedupe_key` is already queued is not queued again (returns `None`).
pub fn enqueue(conn: &mut DbConn, mail: &OutgoingMail, now: NaiveDateTime) -> Result<Option<OutboxMessageId>, DbError> {
    let id = OutboxMessageId::generate();
    let attachments = to_json_text(&mail.attachments)?;
    // Two producers may queue the same deduplicated message at once (reminders on two servers):
    // the UNIQUE index on `dedupe_key` decides, and the second insert quietly does nothing rather
    // than failing its whole transaction.
    let inserted = crate::on_inner_connection!(conn, |inner| diesel::insert_into(outbox_messages::table)
        .values((
            outbox_messages::id.eq(&id),
            outbox_messages::kind.eq(mail.kind),
            outbox_messages::recipient_email.eq(&mail.to_email),
            outbox_messages::recipient_name.eq(&mail.to_name),
            outbox_messages::sender_name.eq(&mail.sender_name),
            outbox_messages::reply_to.eq(mail.reply_to.as_deref()),
            outbox_messages::subject.eq(&mail.subject),
            outbox_messages::text_body.eq(&mail.text_body),
            outbox_messages::html_body.eq(&mail.html_body),
            outbox_messages::attachments.eq(&attachments),
            outbox_messages::status.eq(OutboxStatus::Pending),
            outbox_messages::attempts.eq(0),
            outbox_messages::next_attempt_at.eq(now),
            outbox_messages::dedupe_key.eq(mail.dedupe_key.as_deref()),
            outbox_messages::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(inner))
    .map_err(DbError::from)?;
    if inserted == 0 {
        return Ok(None);
    }
    Ok(Some(id))
}

/// A message claimed by a worker: everything needed to send it (row type).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_messages)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ClaimedMessage {
    /// Identifier (also the stable part of its `Message-ID`).
    pub id: OutboxMessageId,
    /// What it is about.
    pub kind: MailKind,
    /// Recipient address.
    pub recipient_email: String,
    /// Recipient name.
    pub recipient_name: String,
    /// The organisation's name.
    pub sender_name: String,
    /// Reply address.
    pub reply_to: Option<String>,
    /// Subject.
    pub subject: String,
    /// Text body (links carry [`super::render::PUBLIC_URL_MARKER`]).
    pub text_body: String,
    /// HTML body (likewise).
    pub html_body: String,
    /// Files.
    pub attachments: JsonText<Vec<Attachment>>,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// When it was queued (its `Date`).
    pub created_at: NaiveDateTime,
}

/// Claims up to `limit` due messages for one worker: pending ones whose time has come, and
/// those whose previous worker's lease ran out. Each becomes `sending` with a lease of
/// [`LEASE_MINUTES`] and one more attempt. On PostgreSQL the rows another worker is claiming at
/// that instant are skipped (`FOR UPDATE SKIP LOCKED`); on SQLite claims are serialised by the
/// write lock. Either way a row is claimed by one worker at a time.
pub fn claim(conn: &mut DbConn, limit: i64, now: NaiveDateTime) -> Result<Vec<ClaimedMessage>, DbError> {
    db::write_transaction(conn, |conn| {
        let ids = db::claim_due_outbox_ids(conn, now, limit.clamp(1, 100))?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox_messages::table.filter(outbox_messages::id.eq_any(&ids)))
            .set((
                outbox_messages::status.eq(OutboxStatus::Sending),
                outbox_messages::locked_until.eq(Some(now + Duration::minutes(LEASE_MINUTES))),
                outbox_messages::attempts.eq(outbox_messages::attempts + 1),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        outbox_messages::table
            .filter(outbox_messages::id.eq_any(&ids))
            .order(outbox_messages::created_at.asc())
            .select(ClaimedMessage::as_select())
            .load(conn)
            .map_err(DbError::from)
    })
}

/// Records that the SMTP server accepted a claimed message. A password-reset link is wiped from
/// the stored copy once sent: the outbox must not keep a working token.
pub fn mark_sent(conn: &mut DbConn, id: &OutboxMessageId, now: NaiveDateTime) -> Result<(), DbError> {
    db::write_transaction(conn, |conn| {
        diesel::update(outbox_messages::table.find(id))
            .set((
                outbox_messages::status.eq(OutboxStatus::Sent),
                outbox_messages::sent_at.eq(Some(now)),
                outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                outbox_messages::last_error.eq(None::<String>),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        diesel::update(outbox_messages::table.find(id).filter(outbox_messages::kind.eq(MailKind::PasswordReset)))
            .set((
                outbox_messages::text_body.eq("[lien effacé après l'envoi]"),
                outbox_messages::html_body.eq("<p>[lien effacé après l'envoi]</p>"),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(())
    })
}

/// The wait before attempt `attempts + 1`: 1, 2, 4… times `base`, at most
/// [`MAX_BACKOFF_MINUTES`].
pub fn backoff(attempts: i32, base: Duration) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let wait = base * 2_i32.saturating_pow(exponent);
    wait.min(Duration::minutes(MAX_BACKOFF_MINUTES))
}

/// Records a failed attempt: the message waits [`backoff`] before the next one, or becomes
/// `failed` after `max_attempts`. The error is kept for `lms mail list`.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &OutboxMessageId,
    error: &str,
    max_attempts: i32,
    backoff_base: Duration,
    now: NaiveDateTime,
) -> Result<OutboxStatus, DbError> {
    db::write_transaction(conn, |conn| {
        let attempts: i32 =
            outbox_messages::table.find(id).select(outbox_messages::attempts).first(conn).map_err(DbError::from)?;
        let status = if attempts >= max_attempts { OutboxStatus::Failed } else { OutboxStatus::Pending };
        diesel::update(outbox_messages::table.find(id))
            .set((
                outbox_messages::status.eq(status),
                outbox_messages::next_attempt_at.eq(now + backoff(attempts, backoff_base)),
                outbox_messages::locked_until.eq(None::<NaiveDateTime>),
                outbox_messages::last_error.eq(Some(crate::text::printable(error, MAX_ERROR_CHARS))),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(status)
    })
}

/// A message as an administrator sees it (`lms mail list`; also its row type).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = outbox_messages)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct OutboxView {
    /// Identifier.
    pub id: OutboxMessageId,
    /// What it is about.
    pub kind: MailKind,
    /// Recipient address.
    #[diesel(column_name = recipient_email)]
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was queued (UTC).
    pub created_at: NaiveDateTime,
    /// When it was sent (UTC).
    pub sent_at: Option<NaiveDateTime>,
}

/// The outbox, newest first, optionally only one status (`sending` counts as `pending`: it is
/// on its way).
pub fn list(conn: &mut DbConn, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<OutboxView>, MailError> {
    let mut query = outbox_messages::table.into_boxed();
    match status {
        Some(OutboxStatus::Pending | OutboxStatus::Sending) => {
            query = query.filter(outbox_messages::status.eq_any([OutboxStatus::Pending, OutboxStatus::Sending]));
        }
        Some(other) => query = query.filter(outbox_messages::status.eq(other)),
        None => {}
    }
    query
        .order((outbox_messages::created_at.desc(), outbox_messages::id.desc()))
        .limit(limit.clamp(1, 10_000))
        .select(OutboxView::as_select())
        .load(conn)
        .map_err(|e| DbError::from(e).into())
}

/// `lms mail retry ID`: a failed or pending message becomes due now (its attempts count again
/// from zero when it had failed). A sent message is refused ([`MailError::AlreadySent`]); one
/// being sent right now too, to never send it twice.
pub fn retry(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> Result<OutboxView, MailError> {
    let id = OutboxMessageId::parse(id).map_err(|_| MailError::UnknownMessage(crate::text::printable(id, 64)))?;
    db::write_transaction(conn, |conn| {
        let current: OutboxView = outbox_messages::table
            .find(&id)
            .select(OutboxView::as_select())
            .first(conn)
            .optional()
            .map_err(DbError::from)?
            .ok_or_else(|| MailError::UnknownMessage(id.to_string()))?;
        match current.status {
            OutboxStatus::Sent => return Err(MailError::AlreadySent),
            OutboxStatus::Sending => {
                return Err(MailError::Invalid("ce message est en cours d'envoi : attendez la fin de l'essai".into()));
            }
            OutboxStatus::Pending | OutboxStatus::Failed => {}
        }
        let attempts = if current.status == OutboxStatus::Failed { 0 } else { current.attempts };
        diesel::update(outbox_messages::table.find(&id))
            .set((
                outbox_messages::status.eq(OutboxStatus::Pending),
                outbox_messages::next_attempt_at.eq(now),
                outbox_messages::attempts.eq(attempts),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        outbox_messages::table
            .find(&id)
            .select(OutboxView::as_select())
            .first(conn)
            .map_err(|e| DbError::from(e).into())
    })
}

/// Renders the deferred documents of a claimed message (see [`super::Attachment::render`]), in a
/// read transaction outside any write lock, just before it is sent. A document that can no longer
/// be rendered (the trainee gave up the seat meanwhile) is left out, and the message goes without it.
pub fn render_deferred(
    conn: &mut DbConn,
    attachments: Vec<super::Attachment>,
    now: NaiveDateTime,
) -> Result<Vec<super::Attachment>, DbError> {
    use crate::db::schema::users;
    let mut ready = Vec::with_capacity(attachments.len());
    for mut file in attachments {
        match file.render.take() {
            None => ready.push(file),
            Some(super::DeferredDocument::Convocation { session, trainee }) => {
                let (name, email): (String, String) = users::table
                    .find(&trainee)
                    .select((users::display_name, users::email))
                    .first(conn)
                    .map_err(DbError::from)?;
                match crate::enrolment::convocation_pdf_for_trainee(conn, &session, &trainee, &name, &email, now) {
                    Ok(pdf) => {
                        file.content = pdf;
                        ready.push(file);
                    }
                    Err(crate::enrolment::EnrolmentError::Db(error)) => return Err(error),
                    Err(error) => tracing::warn!(%error, "convocation non jointe : plus de place à convoquer"),
                }
            }
        }
    }
    Ok(ready)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let minute = Duration::minutes(1);
        let waits: Vec<i64> = (1..=8).map(|a| backoff(a, minute).num_minutes()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0, Duration::seconds(1)), Duration::seconds(1));
        assert_eq!(backoff(1000, minute), Duration::minutes(MAX_BACKOFF_MINUTES));
    }
}
