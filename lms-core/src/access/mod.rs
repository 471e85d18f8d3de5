//! Access: login sessions (browser cookies), API tokens, and the failed-login limiter.
//!
//! Secrets are random 256-bit tokens given to the client once; only their SHA-256 is stored, so a
//! copy of the database does not let anyone log in. Everything lives in the database, so any
//! server instance can serve any request and logging out is immediate everywhere.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::ids::{ApiTokenId, LoginSessionId, UserId};
use crate::db::schema::{api_tokens, login_sessions};
use crate::db::{self, DbConn, DbError};
use crate::people::{self, PeopleError, UserView};
use crate::{Classify, ErrorKind};

pub mod accounts;
pub mod limiter;
pub mod password_reset;

use limiter::{Limit, Locked};

/// How long a browser login lasts without activity.
pub const LOGIN_SESSION_DAYS: i64 = 14;
/// Failed attempts allowed for one account from one client address within the window before
/// that pair is locked (the account stays open from other addresses).
pub const MAX_FAILURES_PER_ACCOUNT: i32 = 5;
/// Failed attempts allowed for one account from all addresses together within
/// [`BACKSTOP_WINDOW_MINUTES`] before the account is locked everywhere.
pub const MAX_FAILURES_PER_ACCOUNT_ANYWHERE: i32 = 50;
/// Window of the account-wide backstop, and how long its lock lasts.
pub const BACKSTOP_WINDOW_MINUTES: i64 = 60;
/// Attempts allowed per client address within the window (a classroom behind one address logs
/// in at once: attempts in flight count until they succeed).
pub const MAX_FAILURES_PER_ADDRESS: i32 = 50;
/// Window over which failures are counted, and how long a lock lasts.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// Errors of access use cases.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Wrong e-mail or password (deliberately not saying which).
    #[error("adresse e-mail ou mot de passe incorrect")]
    InvalidCredentials,
    /// Too many failures: locked for a while.
    #[error("trop de tentatives échouées : réessayez dans {minutes} minute(s)")]
    TooManyAttempts {
        /// Minutes until the lock ends.
        minutes: i64,
    },
    /// No such login session or token among the caller's own.
    #[error("connexion ou jeton introuvable (peut-être déjà fermé)")]
    UnknownLogin,
    /// The current password given to change it is wrong.
    #[error("mot de passe actuel incorrect")]
    WrongCurrentPassword,
    /// Account rules (password strength…).
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for AccessError {
    fn kind(&self) -> ErrorKind {
        match self {
            AccessError::InvalidCredentials => ErrorKind::Unauthenticated,
            AccessError::TooManyAttempts { .. } => ErrorKind::RateLimited,
            AccessError::WrongCurrentPassword => ErrorKind::Invalid,
            AccessError::UnknownLogin => ErrorKind::NotFound,
            AccessError::People(e) => e.kind(),
            AccessError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            AccessError::InvalidCredentials => "invalid_credentials",
            AccessError::TooManyAttempts { .. } => "too_many_attempts",
            AccessError::WrongCurrentPassword => "wrong_current_password",
            AccessError::UnknownLogin => "unknown_login",
            AccessError::People(e) => e.code(),
            AccessError::Db(e) => e.code(),
        }
    }
}

/// Where a login attempt comes from.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// Client address (the limiter keys on it).
    pub ip: Option<String>,
    /// Browser description, kept with the login session for the user's own review.
    pub user_agent: Option<String>,
}

/// A login just opened: the secret token goes into the cookie and is never readable again.
#[derive(Debug, Clone)]
pub struct NewLoginSession {
    /// The cookie value.
    pub token: String,
    /// When it expires.
    pub expires_at: NaiveDateTime,
    /// Who logged in.
    pub user: UserView,
}

/// A request's authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Caller {
    /// The person.
    pub user: UserView,
    /// Their login session, when authenticated by cookie.
    pub login_session: Option<LoginSessionId>,
    /// The token that forms of this login session must carry (CSRF), when authenticated by cookie.
    pub csrf_token: Option<String>,
}

impl Caller {
    /// True if the caller holds `role`.
    pub fn has_role(&self, role: people::Role) -> bool {
        self.user.roles.contains(&role)
    }
}

/// The caller for a person acting in-process, outside any login session or token (tests,
/// benchmarks, scripts linking the library). Their roles are read from the database.
pub fn caller_for(conn: &mut DbConn, user: &UserId) -> Result<Caller, AccessError> {
    Ok(Caller { user: people::find_user(conn, user)?, login_session: None, csrf_token: None })
}

/// A fresh random secret (256 bits, URL-safe).
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares two secrets in constant time.
pub fn secrets_match(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The counters a login attempt is charged to: this account from this address (the lock people
/// meet), this address whatever the account (password spraying), and this account from anywhere
/// (a slower backstop against an attacker with many addresses).
fn login_limits(email: &str, client: &ClientInfo) -> Vec<Limit> {
    let account: String = email.trim().to_lowercase().chars().filter(|c| !c.is_control()).take(254).collect();
    let address = client.ip.as_deref().map(limiter::address_key).unwrap_or_else(|| "-".into());
    vec![
        Limit::new(
            format!("login:account+address:{account}|{address}"),
            MAX_FAILURES_PER_ACCOUNT,
            FAILURE_WINDOW_MINUTES,
        ),
        Limit::new(format!("login:address:{address}"), MAX_FAILURES_PER_ADDRESS, FAILURE_WINDOW_MINUTES),
        Limit::new(format!("login:account:{account}"), MAX_FAILURES_PER_ACCOUNT_ANYWHERE, BACKSTOP_WINDOW_MINUTES),
    ]
}

/// A login attempt in progress: the limiter has counted it and the stored hash is loaded.
/// Checking the password ([`LoginAttempt::verify`]) is CPU work that needs no database connection.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    limits: Vec<Limit>,
    credentials: people::StoredCredentials,
}

impl LoginAttempt {
    /// Checks the password (CPU-heavy).
    pub fn verify(&self, password: &str) -> bool {
        self.credentials.verify(password)
    }
}

/// First step of a login: the attempt is counted *before* the password is checked, so that many
/// simultaneous guesses cannot all be checked; refused while a counter is locked.
pub fn begin_login(
    conn: &mut DbConn,
    email: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<LoginAttempt, AccessError> {
    let limits = login_limits(email, client);
    if let Err(Locked { minutes }) = limiter::reserve(conn, &limits, now)? {
        return Err(AccessError::TooManyAttempts { minutes });
    }
    Ok(LoginAttempt { limits, credentials: people::stored_credentials(conn, email)? })
}

/// Last step of a login: a failure stays counted; a success clears this account's counter for
/// this address (a success is never slowed down), gives back its share of the others, and gives
/// the account.
pub fn finish_login(
    conn: &mut DbConn,
    attempt: &LoginAttempt,
    verified: bool,
    _now: NaiveDateTime,
) -> Result<UserView, AccessError> {
    match (verified, attempt.credentials.user_id()) {
        (true, Some(user)) => {
            let (pair, others) = attempt.limits.split_at(1);
            let others: Vec<&Limit> = others.iter().collect();
            db::write_transaction(conn, |conn| limiter::release(conn, &[&pair[0]], &others))?;
            Ok(people::find_user(conn, user)?)
        }
        _ => Err(AccessError::InvalidCredentials),
    }
}

/// Checks credentials under the limiter in one call (the three steps above).
pub fn check_credentials(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<UserView, AccessError> {
    let attempt = begin_login(conn, email, client, now)?;
    let verified = attempt.verify(password);
    finish_login(conn, &attempt, verified, now)
}

/// Opens a browser login session after checking credentials.
pub fn log_in(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<NewLoginSession, AccessError> {
    let user = check_credentials(conn, email, password, client, now)?;
    open_login_session(conn, user, client, now)
}

/// Opens a login session for an account whose credentials were just checked (or just created).
pub fn open_login_session(
    conn: &mut DbConn,
    user: UserView,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<NewLoginSession, AccessError> {
    let token = random_token();
    let expires_at = now + Duration::days(LOGIN_SESSION_DAYS);
    diesel::insert_into(login_sessions::table)
        .values((
            login_sessions::id.eq(LoginSessionId::generate()),
            login_sessions::token_hash.eq(token_hash(&token)),
            login_sessions::user_id.eq(&user.id),
            login_sessions::csrf_token.eq(random_token()),
            login_sessions::created_at.eq(now),
            login_sessions::last_seen_at.eq(now),
            login_sessions::expires_at.eq(expires_at),
            login_sessions::user_agent
                .eq(client.user_agent.as_deref().map(|ua| ua.chars().take(300).collect::<String>())),
            login_sessions::ip.eq(client.ip.as_deref()),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(NewLoginSession { token, expires_at, user })
}

fn active_user(conn: &mut DbConn, id: &UserId) -> Result<Option<UserView>, AccessError> {
    match people::find_user(conn, id) {
        Ok(user) => Ok(user.active.then_some(user)),
        Err(people::PeopleError::UnknownUser(_)) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

/// A login session as checked on each request (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = login_sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct LoginSessionRow {
    id: LoginSessionId,
    user_id: UserId,
    csrf_token: String,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct ApiTokenRow {
    id: ApiTokenId,
    user_id: UserId,
    last_used_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    revoked_at: Option<NaiveDateTime>,
}

/// The caller behind a login-session cookie, if it is valid. Activity extends the session (at
/// most one write per hour per session).
pub fn caller_from_login_session(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<Caller>, AccessError> {
    if token.len() > 100 {
        return Ok(None);
    }
    let row: Option<LoginSessionRow> = login_sessions::table
        .filter(login_sessions::token_hash.eq(token_hash(token)))
        .select(LoginSessionRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let Some(LoginSessionRow { id, user_id, csrf_token, last_seen_at: last_seen, expires_at }) = row else {
        return Ok(None);
    };
    if expires_at <= now {
        diesel::delete(login_sessions::table.find(&id)).execute(conn).map_err(DbError::from)?;
        return Ok(None);
    }
    let Some(user) = active_user(conn, &user_id)? else {
        return Ok(None);
    };
    if now - last_seen > Duration::hours(1) {
        diesel::update(login_sessions::table.find(&id))
            .set((
                login_sessions::last_seen_at.eq(now),
                login_sessions::expires_at.eq(now + Duration::days(LOGIN_SESSION_DAYS)),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    Ok(Some(Caller { user, login_session: Some(id), csrf_token: Some(csrf_token) }))
}

/// Ends a login session (the cookie becomes worthless on every instance at once).
pub fn log_out(conn: &mut DbConn, token: &str) -> Result<(), AccessError> {
    diesel::delete(login_sessions::table.filter(login_sessions::token_hash.eq(token_hash(token))))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(())
}

/// Issues an API token for `Authorization: Bearer`, after checking credentials under the limiter.
pub fn issue_api_token(
    conn: &mut DbConn,
    email: &str,
    password: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<String, AccessError> {
    let user = check_credentials(conn, email, password, client, now)?;
    create_api_token(conn, &user, now)
}

/// Creates an API token (valid 90 days) for an account whose credentials were just checked.
pub fn create_api_token(conn: &mut DbConn, user: &UserView, now: NaiveDateTime) -> Result<String, AccessError> {
    let token = random_token();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(ApiTokenId::generate()),
            api_tokens::token_hash.eq(token_hash(&token)),
            api_tokens::user_id.eq(&user.id),
            api_tokens::label.eq("api"),
            api_tokens::created_at.eq(now),
            api_tokens::expires_at.eq(Some(now + Duration::days(90))),
        ))
        .execute(conn)
        .map_err(DbError::from)?;
    Ok(token)
}

/// The caller behind an API token, if it is valid.
pub fn caller_from_api_token(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<Caller>, AccessError> {
    if token.len() > 100 {
        return Ok(None);
    }
    let row: Option<ApiTokenRow> = api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash(token)))
        .select(ApiTokenRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let Some(row) = row else { return Ok(None) };
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    let Some(user) = active_user(conn, &row.user_id)? else {
        return Ok(None);
    };
    // The owner's list of tokens shows when each was last used (to the hour: one write an hour).
    if row.last_used_at.is_none_or(|last| now - last > Duration::hours(1)) {
        diesel::update(api_tokens::table.find(&row.id))
            .set(api_tokens::last_used_at.eq(Some(now)))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    Ok(Some(Caller { user, login_session: None, csrf_token: None }))
}

/// Changes a password after checking the current one; every other login session and every API
/// token of the account ends, and the current login session keeps working.
pub fn change_password(
    conn: &mut DbConn,
    caller: &Caller,
    current: &str,
    new_password: &str,
) -> Result<(), AccessError> {
    if people::authenticate(conn, &caller.user.email, current)?.is_none() {
        return Err(AccessError::WrongCurrentPassword);
    }
    people::check_password_rules(new_password, &caller.user.email)?;
    let hash = people::hash_password(new_password)?;
    db::write_transaction(conn, |conn| {
        people::store_password_hash(conn, &caller.user.id, &hash)?;
        accounts::end_logins(conn, &caller.user.id, caller.login_session.as_ref(), db::now())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_in_constant_time() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(secrets_match(&a, &a.clone()));
        assert!(!secrets_match(&a, &b));
        assert!(!secrets_match(&a, &a[..10]));
        assert_eq!(token_hash("x").len(), 64);
    }

    #[test]
    fn logins_are_limited_by_account_and_address_by_address_and_by_account() {
        let limits = login_limits("A@B.fr", &ClientInfo { ip: Some("2001:db8:1:2:3:4:5:6".into()), user_agent: None });
        let keys: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "login:account+address:a@b.fr|2001:db8:1:2::/64",
                "login:address:2001:db8:1:2::/64",
                "login:account:a@b.fr"
            ]
        );
    }

    #[test]
    fn attempt_keys_can_be_stored_whatever_was_typed() {
        // Regression (security corpus on PostgreSQL): a NUL in the e-mail made the failure
        // counter's key unstorable, and the login a 500.
        let limits = login_limits("ava\0nt\u{1b}@b.fr", &ClientInfo::default());
        assert_eq!(limits[2].key, "login:account:avant@b.fr");
    }
}
