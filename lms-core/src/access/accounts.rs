//! Cutting an account off and letting people see their own ways in: sign-up that does not reveal
//! who has an account, deactivation, role removal, revocation of every login session and API
//! token, and each person's list of their own login sessions and tokens.
//!
//! Whatever proves an identity without the password — a login-session cookie, an API token — is
//! ended whenever the password changes or the account is deactivated, so that changing a stolen
//! password really shuts the thief out.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::limiter::{self, Limit, Locked};
use super::{AccessError, Caller, ClientInfo};
use crate::db::ids::{ApiTokenId, LoginSessionId, UserId};
use crate::db::schema::{api_tokens, login_sessions, users};
use crate::db::{self, DbConn, DbError};
use crate::people::{self, PeopleError, PreparedUser, Role, UserView};

/// Sign-ups allowed from one client address per [`SIGN_UP_WINDOW_MINUTES`].
pub const MAX_SIGN_UPS_PER_ADDRESS: i32 = 10;
/// Window of the sign-up limiter.
pub const SIGN_UP_WINDOW_MINUTES: i64 = 60;

/// The answer to a sign-up: the same whether the address was free (the account now exists) or
/// already had an account (nothing was written), so that sign-up cannot be used to find out who
/// has an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpReceipt {
    /// The address, normalised.
    pub email: String,
    /// The name as it will be shown.
    pub name: String,
    /// The role a sign-up gives.
    pub roles: Vec<Role>,
}

fn sign_up_limits(client: &ClientInfo) -> Vec<Limit> {
    // Without an address (in-process callers) there is nothing to key on.
    client
        .ip
        .as_deref()
        .map(|ip| {
            Limit::new(
                format!("signup:address:{}", limiter::address_key(ip)),
                MAX_SIGN_UPS_PER_ADDRESS,
                SIGN_UP_WINDOW_MINUTES,
            )
        })
        .into_iter()
        .collect()
}

/// Counts a sign-up from this client before its password is hashed; refused beyond
/// [`MAX_SIGN_UPS_PER_ADDRESS`] an hour.
pub fn reserve_sign_up(conn: &mut DbConn, client: &ClientInfo, now: NaiveDateTime) -> Result<(), AccessError> {
    match limiter::reserve(conn, &sign_up_limits(client), now)? {
        Ok(()) => Ok(()),
        Err(Locked { minutes }) => Err(AccessError::TooManyAttempts { minutes }),
    }
}

/// What a person gives to sign up. The role is not theirs to choose: a sign-up makes a trainee.
#[derive(Debug, Clone)]
pub struct SignUpRequest {
    /// E-mail address (the login).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Password (checked against the password rules).
    pub password: String,
}

impl SignUpRequest {
    fn new_user(&self) -> people::NewUser {
        people::NewUser {
            email: self.email.clone(),
            display_name: self.name.clone(),
            role: Role::Trainee,
            password: self.password.clone(),
        }
    }

    /// Checks the address, the name and the password rules (cheap, no database).
    pub fn validate(&self) -> Result<(), AccessError> {
        self.new_user().validate()?;
        Ok(())
    }

    /// Hashes the password (CPU-heavy: run it without holding a database connection).
    pub fn prepare(&self) -> Result<PreparedUser, AccessError> {
        Ok(self.new_user().prepare()?)
    }
}

/// Creates a trainee account from a prepared sign-up (the role is always trainee: other roles
/// are given by an administrator). An address that already has an account is left untouched and
/// gets the same receipt.
pub fn sign_up(conn: &mut DbConn, prepared: &PreparedUser) -> Result<SignUpReceipt, AccessError> {
    let receipt = SignUpReceipt {
        email: prepared.email().to_owned(),
        name: prepared.display_name().to_owned(),
        roles: vec![Role::Trainee],
    };
    match people::insert_prepared_user(conn, &prepared.with_role(Role::Trainee)) {
        Ok(_) | Err(PeopleError::EmailTaken(_)) => Ok(receipt),
        Err(error) => Err(error.into()),
    }
}

/// What ending someone's access did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccessEnded {
    /// The account.
    pub email: String,
    /// Login sessions closed.
    pub login_sessions: usize,
    /// API tokens revoked.
    pub api_tokens: usize,
}

/// Ends every login session and revokes every API token of `user`, except the login session
/// `keep` (the one a person is using to change their own password).
pub fn end_logins(
    conn: &mut DbConn,
    user: &UserId,
    keep: Option<&LoginSessionId>,
    now: NaiveDateTime,
) -> Result<(usize, usize), DbError> {
    let mut sessions = diesel::delete(login_sessions::table.filter(login_sessions::user_id.eq(user))).into_boxed();
    if let Some(keep) = keep {
        sessions = sessions.filter(login_sessions::id.ne(keep.clone()));
    }
    let sessions = sessions.execute(conn)?;
    let tokens =
        diesel::update(api_tokens::table.filter(api_tokens::user_id.eq(user)).filter(api_tokens::revoked_at.is_null()))
            .set(api_tokens::revoked_at.eq(Some(now)))
            .execute(conn)?;
    Ok((sessions, tokens))
}

fn user_by_email(conn: &mut DbConn, email: &str) -> Result<UserView, AccessError> {
    Ok(people::find_user_by_email(conn, email)?)
}

/// `lms user revoke-tokens`: every API token revoked and every login session closed; the
/// password still works.
pub fn revoke_all_logins(conn: &mut DbConn, email: &str, now: NaiveDateTime) -> Result<AccessEnded, AccessError> {
    db::write_transaction(conn, |conn| {
        let user = user_by_email(conn, email)?;
        let (login_sessions, api_tokens) = end_logins(conn, &user.id, None, now)?;
        Ok(AccessEnded { email: user.email, login_sessions, api_tokens })
    })
}

/// `lms user set-password`: a new password set by an administrator; every login session and API
/// token of the account ends.
pub fn set_password_and_end_logins(
    conn: &mut DbConn,
    email: &str,
    new_password: &str,
    now: NaiveDateTime,
) -> Result<AccessEnded, AccessError> {
    let user = user_by_email(conn, email)?;
    people::check_password_rules(new_password, &user.email)?;
    // Hashing is slow: done before the transaction.
    let hash = people::hash_password(new_password)?;
    db::write_transaction(conn, |conn| {
        people::store_password_hash(conn, &user.id, &hash)?;
        let (login_sessions, api_tokens) = end_logins(conn, &user.id, None, now)?;
        Ok(AccessEnded { email: user.email.clone(), login_sessions, api_tokens })
    })
}

/// `lms user deactivate`: the account can no longer log in, and every login session and token it
/// held stops working at once. Its records (enrolments, attendance, certificates) stay.
pub fn deactivate(conn: &mut DbConn, email: &str, now: NaiveDateTime) -> Result<AccessEnded, AccessError> {
    db::write_transaction(conn, |conn| {
        let user = user_by_email(conn, email)?;
        diesel::update(users::table.find(&user.id))
            .set((users::is_active.eq(false), users::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)?;
        let (login_sessions, api_tokens) = end_logins(conn, &user.id, None, now)?;
        Ok(AccessEnded { email: user.email, login_sessions, api_tokens })
    })
}

/// `lms user reactivate`: the account may log in again (with its password; nothing it held
/// before deactivation comes back).
pub fn reactivate(conn: &mut DbConn, email: &str, now: NaiveDateTime) -> Result<UserView, AccessError> {
    db::write_transaction(conn, |conn| {
        let user = user_by_email(conn, email)?;
        diesel::update(users::table.find(&user.id))
            .set((users::is_active.eq(true), users::updated_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)?;
        user_by_email(conn, email)
    })
}

/// One of my login sessions, as listed on my security page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MyLoginSession {
    /// Identifier (to end it).
    pub id: LoginSessionId,
    /// When it was opened (UTC).
    pub created_at: NaiveDateTime,
    /// Last activity (UTC, to the hour).
    pub last_seen_at: NaiveDateTime,
    /// The browser that opened it.
    pub user_agent: Option<String>,
    /// The address it was opened from.
    pub ip: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

/// One of my API tokens (never its secret).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MyApiToken {
    /// Identifier (to revoke it).
    pub id: ApiTokenId,
    /// Label.
    pub label: String,
    /// When it was issued (UTC).
    pub created_at: NaiveDateTime,
    /// Last use (UTC, to the hour), if any.
    pub last_used_at: Option<NaiveDateTime>,
    /// When it stops working (UTC).
    pub expires_at: Option<NaiveDateTime>,
}

/// My open login sessions and my live API tokens.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MyAccess {
    /// Open login sessions, most recent activity first.
    pub login_sessions: Vec<MyLoginSession>,
    /// Tokens neither revoked nor expired, newest first.
    pub api_tokens: Vec<MyApiToken>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = login_sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct LoginSessionListRow {
    id: LoginSessionId,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    user_agent: Option<String>,
    ip: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ApiTokenListRow {
    id: ApiTokenId,
    label: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
}

/// The caller's own login sessions and API tokens.
pub fn my_access(conn: &mut DbConn, caller: &Caller, now: NaiveDateTime) -> Result<MyAccess, AccessError> {
    let sessions: Vec<LoginSessionListRow> = login_sessions::table
        .filter(login_sessions::user_id.eq(&caller.user.id))
        .filter(login_sessions::expires_at.gt(now))
        .order(login_sessions::last_seen_at.desc())
        .select(LoginSessionListRow::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    let tokens: Vec<ApiTokenListRow> = api_tokens::table
        .filter(api_tokens::user_id.eq(&caller.user.id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(api_tokens::expires_at.is_null().or(api_tokens::expires_at.gt(now)))
        .order(api_tokens::created_at.desc())
        .select(ApiTokenListRow::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    Ok(MyAccess {
        login_sessions: sessions
            .into_iter()
            .map(|row| MyLoginSession {
                current: caller.login_session.as_ref() == Some(&row.id),
                id: row.id,
                created_at: row.created_at,
                last_seen_at: row.last_seen_at,
                user_agent: row.user_agent,
                ip: row.ip,
            })
            .collect(),
        api_tokens: tokens
            .into_iter()
            .map(|row| MyApiToken {
                id: row.id,
                label: row.label,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
                expires_at: row.expires_at,
            })
            .collect(),
    })
}

/// Ends one of the caller's own login sessions (another person's is "not found").
pub fn end_my_login_session(conn: &mut DbConn, caller: &Caller, id: &LoginSessionId) -> Result<(), AccessError> {
    let ended = diesel::delete(
        login_sessions::table.filter(login_sessions::id.eq(id)).filter(login_sessions::user_id.eq(&caller.user.id)),
    )
    .execute(conn)
    .map_err(DbError::from)?;
    if ended == 0 {
        return Err(AccessError::UnknownLogin);
    }
    Ok(())
}

/// Revokes one of the caller's own API tokens (another person's is "not found").
pub fn revoke_my_api_token(
    conn: &mut DbConn,
    caller: &Caller,
    id: &ApiTokenId,
    now: NaiveDateTime,
) -> Result<(), AccessError> {
    let revoked = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(&caller.user.id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(now)))
    .execute(conn)
    .map_err(DbError::from)?;
    if revoked == 0 {
        return Err(AccessError::UnknownLogin);
    }
    Ok(())
}

/// `lms user remove-role`: the role ends at once for every login session and token (roles are
/// read on every request).
pub fn remove_role(conn: &mut DbConn, email: &str, role: Role) -> Result<UserView, AccessError> {
    Ok(people::revoke_role(conn, email, role)?)
}
