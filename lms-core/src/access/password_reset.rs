//! Password reset by e-mail (`/mot-de-passe-oublie`, `POST /api/v1/password-reset`).
//!
//! Asking gives the same answer whether or not the address has an account, so the form cannot
//! be used to find out who has one. When the account exists and is active, a single-use token
//! valid [`RESET_TOKEN_MINUTES`] is written (only its SHA-256 is stored) with the e-mail carrying
//! it, in one transaction. Using the token sets the password and ends every login session and
//! API token of the account.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::limiter::{self, Limit, Locked};
use super::{ClientInfo, accounts, random_token, token_hash};
use crate::db::ids::{PasswordResetTokenId, UserId};
use crate::db::schema::{password_reset_tokens, users};
use crate::db::{self, DbConn, DbError};
use crate::people::{self, PeopleError};
use crate::{Classify, ErrorKind};

/// How long a reset link works.
pub const RESET_TOKEN_MINUTES: i64 = 60;
/// Reset requests allowed from one client address per [`RESET_WINDOW_MINUTES`].
pub const MAX_RESETS_PER_ADDRESS: i32 = 10;
/// Reset requests allowed for one address (account) per [`RESET_WINDOW_MINUTES`], whoever asks:
/// nobody can flood someone's mailbox.
pub const MAX_RESETS_PER_ACCOUNT: i32 = 3;
/// Window of the reset limiter.
pub const RESET_WINDOW_MINUTES: i64 = 60;

/// Errors of password reset.
#[derive(Debug, thiserror::Error)]
pub enum PasswordResetError {
    /// The address is not an e-mail address.
    #[error("{0}")]
    InvalidEmail(String),
    /// Too many requests from this client or for this address.
    #[error("trop de demandes : réessayez dans {minutes} minute(s)")]
    TooManyRequests {
        /// Minutes until the lock ends.
        minutes: i64,
    },
    /// The link is unknown, expired or already used.
    #[error("ce lien de réinitialisation n'est pas valable (inconnu, expiré ou déjà utilisé) : demandez-en un nouveau")]
    TokenInvalid,
    /// The new password breaks a rule.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for PasswordResetError {
    fn kind(&self) -> ErrorKind {
        match self {
            PasswordResetError::InvalidEmail(_) | PasswordResetError::TokenInvalid => ErrorKind::Invalid,
            PasswordResetError::TooManyRequests { .. } => ErrorKind::RateLimited,
            PasswordResetError::People(e) => e.kind(),
            PasswordResetError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            PasswordResetError::InvalidEmail(_) => "invalid_input",
            PasswordResetError::TooManyRequests { .. } => "too_many_attempts",
            PasswordResetError::TokenInvalid => "reset_token_invalid",
            PasswordResetError::People(e) => e.code(),
            PasswordResetError::Db(e) => e.code(),
        }
    }
}

fn reset_limits(email: &str, client: &ClientInfo) -> Vec<Limit> {
    let mut limits = vec![Limit::new(format!("reset:account:{email}"), MAX_RESETS_PER_ACCOUNT, RESET_WINDOW_MINUTES)];
    if let Some(ip) = client.ip.as_deref() {
        limits.push(Limit::new(
            format!("reset:address:{}", limiter::address_key(ip)),
            MAX_RESETS_PER_ADDRESS,
            RESET_WINDOW_MINUTES,
        ));
    }
    limits
}

/// Asks for a reset link for `email`. A malformed address is refused
/// ([`PasswordResetError::InvalidEmail`]) with nothing written. Otherwise the request is counted
/// by the limiter and, only when an active account has this address, a token and its e-mail are
/// written in one transaction; the answer (`Ok(())`) is the same either way.
pub fn request_reset(
    conn: &mut DbConn,
    email: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<(), PasswordResetError> {
    let email = people::normalize_email(email).map_err(|e| PasswordResetError::InvalidEmail(e.to_string()))?;
    if let Err(Locked { minutes }) = limiter::reserve(conn, &reset_limits(&email, client), now)? {
        return Err(PasswordResetError::TooManyRequests { minutes });
    }
    // Drawn and hashed whether or not the account exists, so both answers cost the same.
    let token = random_token();
    let hash = token_hash(&token);
    db::write_transaction(conn, |conn| {
        let user: Option<UserId> = users::table
            .filter(users::email.eq(&email))
            .filter(users::is_active.eq(true))
            .select(users::id)
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let Some(user) = user else { return Ok(()) };
        diesel::insert_into(password_reset_tokens::table)
            .values((
                password_reset_tokens::id.eq(PasswordResetTokenId::generate()),
                password_reset_tokens::user_id.eq(&user),
                password_reset_tokens::token_hash.eq(&hash),
                password_reset_tokens::created_at.eq(now),
                password_reset_tokens::expires_at.eq(now + Duration::minutes(RESET_TOKEN_MINUTES)),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        let mail = crate::mail::messages::password_reset(conn, &user, &token, RESET_TOKEN_MINUTES)?;
        crate::mail::outbox::enqueue(conn, &mail, now)?;
        Ok(())
    })
}

/// A token that may still be used (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = password_reset_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct UsableToken {
    id: PasswordResetTokenId,
    user_id: UserId,
}

fn usable_token(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> Result<UsableToken, PasswordResetError> {
    if token.is_empty() || token.len() > 100 {
        return Err(PasswordResetError::TokenInvalid);
    }
    password_reset_tokens::table
        .inner_join(users::table)
        .filter(password_reset_tokens::token_hash.eq(token_hash(token)))
        .filter(password_reset_tokens::used_at.is_null())
        .filter(password_reset_tokens::expires_at.gt(now))
        .filter(users::is_active.eq(true))
        .select(UsableToken::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or(PasswordResetError::TokenInvalid)
}

/// Whether a reset link still works (the page checks before showing the form; nothing written).
pub fn token_is_usable(conn: &mut DbConn, token: &str, now: NaiveDateTime) -> Result<bool, PasswordResetError> {
    match usable_token(conn, token, now) {
        Ok(_) => Ok(true),
        Err(PasswordResetError::TokenInvalid) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Sets a new password with a reset token. An unknown, expired or used token is refused
/// ([`PasswordResetError::TokenInvalid`]), a weak password too, with nothing written. On
/// success the token and every other pending token of the account are used up, and every login
/// session and API token of the account ends. Returns the account's address.
pub fn reset_password(
    conn: &mut DbConn,
    token: &str,
    new_password: &str,
    now: NaiveDateTime,
) -> Result<String, PasswordResetError> {
    let found = usable_token(conn, token, now)?;
    let user = people::find_user(conn, &found.user_id)?;
    people::check_password_rules(new_password, &user.email)?;
    // Hashing is slow: done before the write transaction.
    let hash = people::hash_password(new_password)?;
    db::write_transaction(conn, |conn| {
        // Guarded: of two uses racing with one token, only one finds it unused.
        let used = diesel::update(
            password_reset_tokens::table
                .find(&found.id)
                .filter(password_reset_tokens::used_at.is_null())
                .filter(password_reset_tokens::expires_at.gt(now)),
        )
        .set(password_reset_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .map_err(DbError::from)?;
        if used != 1 {
            return Err(PasswordResetError::TokenInvalid);
        }
        diesel::update(
            password_reset_tokens::table
                .filter(password_reset_tokens::user_id.eq(&user.id))
                .filter(password_reset_tokens::used_at.is_null()),
        )
        .set(password_reset_tokens::used_at.eq(Some(now)))
        .execute(conn)
        .map_err(DbError::from)?;
        people::store_password_hash(conn, &user.id, &hash)?;
        accounts::end_logins(conn, &user.id, None, now)?;
        Ok(user.email.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_are_limited_per_account_and_per_address() {
        let limits = reset_limits("a@b.fr", &ClientInfo { ip: Some("192.0.2.1".into()), user_agent: None });
        let keys: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(keys, ["reset:account:a@b.fr", "reset:address:192.0.2.1"]);
        assert_eq!(PasswordResetError::TokenInvalid.code(), "reset_token_invalid");
        assert_eq!(PasswordResetError::InvalidEmail("x".into()).kind(), ErrorKind::Invalid);
    }
}
