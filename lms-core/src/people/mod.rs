//! People: accounts, roles (trainee, trainer, admin) and passwords.
//!
//! Passwords are hashed with argon2id and the hash never leaves this module: views carry no hash,
//! and verification happens here.

use std::collections::BTreeMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::ids::UserId;
use crate::db::schema::{user_roles, users};
use crate::db::{self, DbConn, DbError};
use crate::{Classify, ErrorKind};

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 copes, but an unbounded input is a denial-of-service lever).
pub const MAX_PASSWORD_CHARS: usize = 256;

crate::text_enum! {
    /// What a person may do.
    pub enum Role: "rôle" {
        /// Stagiaire: finds sessions, enrols, signs attendance.
        Trainee = "trainee", "Stagiaire";
        /// Formateur: records attendance, assesses competences.
        Trainer = "trainer", "Formateur·rice";
        /// Administrator: runs the organisation.
        Admin = "admin", "Administrateur·rice";
    }
}

impl Role {
    /// Parses `trainee`, `trainer` or `admin`.
    pub fn parse(raw: &str) -> Result<Self, PeopleError> {
        Role::from_stored(raw.trim()).map_err(|_| {
            PeopleError::Invalid(format!(
                "rôle inconnu « {} » (attendu : trainee, trainer ou admin)",
                raw.trim().chars().take(40).collect::<String>()
            ))
        })
    }
}

/// Errors of people use cases.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// The password breaks the rules.
    #[error("{0}")]
    WeakPassword(String),
    /// Someone already has this e-mail address.
    #[error("un compte existe déjà pour {0}")]
    EmailTaken(String),
    /// No account with that e-mail.
    #[error("aucun compte pour {0}")]
    UnknownUser(String),
    /// The account does not hold the role to remove.
    #[error("{email} n'a pas le rôle {role}")]
    RoleNotHeld {
        /// The account.
        email: String,
        /// The role.
        role: &'static str,
    },
    /// Hashing failed (should not happen).
    #[error("échec du hachage du mot de passe")]
    Hashing,
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for PeopleError {
    fn kind(&self) -> ErrorKind {
        match self {
            PeopleError::Invalid(_) | PeopleError::WeakPassword(_) => ErrorKind::Invalid,
            PeopleError::EmailTaken(_) => ErrorKind::Conflict,
            PeopleError::UnknownUser(_) => ErrorKind::NotFound,
            PeopleError::RoleNotHeld { .. } => ErrorKind::Conflict,
            PeopleError::Hashing => ErrorKind::Internal,
            PeopleError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            PeopleError::Invalid(_) => "invalid_user",
            PeopleError::WeakPassword(_) => "weak_password",
            PeopleError::EmailTaken(_) => "email_taken",
            PeopleError::UnknownUser(_) => "unknown_user",
            PeopleError::RoleNotHeld { .. } => "role_not_held",
            PeopleError::Hashing => "hashing_failed",
            PeopleError::Db(e) => e.code(),
        }
    }
}

/// A user as stored (row type; the password hash is deliberately not part of it: only
/// [`stored_credentials`] reads it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct UserRow {
    /// Identifier.
    pub id: UserId,
    /// Lower-cased e-mail address.
    pub email: String,
    /// Name shown on pages.
    pub display_name: String,
    /// Disabled accounts cannot log in.
    pub is_active: bool,
    /// Creation time (UTC).
    pub created_at: chrono::NaiveDateTime,
}

/// A person as shown to administrators and scripts (`lms user list --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserView {
    /// Identifier.
    pub id: UserId,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Roles, sorted.
    pub roles: Vec<Role>,
    /// Whether the account may log in.
    pub active: bool,
    /// Creation time (UTC, RFC 3339).
    pub created_at: String,
}

/// Input of [`add_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail address (case-insensitive, stored lower-cased).
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Initial role.
    pub role: Role,
    /// Clear-text password, checked against the rules then hashed.
    pub password: String,
}

/// Normalises and checks an e-mail address (a pragmatic check: one `@`, a dot in the domain; no
/// control or invisible format character, see [`crate::text::email_character_problem`]).
pub fn normalize_email(raw: &str) -> Result<String, PeopleError> {
    // Checked first, and the address is not echoed: it may hold an escape or a bidi override.
    if let Some(problem) = crate::text::email_character_problem(raw) {
        return Err(PeopleError::Invalid(format!("adresse e-mail invalide : {problem}")));
    }
    let email = raw.trim().to_lowercase();
    let invalid = || {
        PeopleError::Invalid(format!("adresse e-mail invalide « {} »", raw.trim().chars().take(80).collect::<String>()))
    };
    if email.len() < 3 || email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || email.contains(['<', '>', '"', '\'', ';', ','])
    {
        return Err(invalid());
    }
    Ok(email)
}

/// Folds runs of white space (line breaks included) and checks a display name: 1 to 120 characters, none of those
/// [`crate::text::name_character_problem`] refuses.
fn normalize_display_name(raw: &str) -> Result<String, PeopleError> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(problem) = crate::text::name_character_problem(&name) {
        return Err(PeopleError::Invalid(problem));
    }
    let chars = name.chars().count();
    if chars == 0 || chars > 120 {
        return Err(PeopleError::Invalid("le nom doit faire de 1 à 120 caractères".into()));
    }
    Ok(name)
}

/// The minimum password rules: length, not one repeated character, not the e-mail address.
pub fn check_password_rules(password: &str, email: &str) -> Result<(), PeopleError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PeopleError::WeakPassword(format!(
            "le mot de passe doit faire au moins {MIN_PASSWORD_CHARS} caractères"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PeopleError::WeakPassword(format!(
            "le mot de passe ne peut dépasser {MAX_PASSWORD_CHARS} caractères"
        )));
    }
    let mut distinct: Vec<char> = password.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(PeopleError::WeakPassword("le mot de passe doit contenir au moins 4 caractères différents".into()));
    }
    if password.trim().eq_ignore_ascii_case(email.trim()) {
        return Err(PeopleError::WeakPassword("le mot de passe ne peut pas être l'adresse e-mail".into()));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (CPU-heavy: call from a blocking thread).
pub fn hash_password(password: &str) -> Result<String, PeopleError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PeopleError::Hashing)
}

/// Checks a password against a stored hash (false on any mismatch or malformed hash).
pub fn password_matches(password: &str, stored_hash: &str) -> bool {
    PasswordHash::new(stored_hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// A validated account with its password already hashed, ready to insert. Hashing is the slow
/// part, so a server does it before taking a database connection.
#[derive(Debug, Clone)]
pub struct PreparedUser {
    email: String,
    display_name: String,
    role: Role,
    password_hash: String,
}

impl NewUser {
    /// Checks every field and the password rules without hashing (cheap): the normalised e-mail
    /// address and display name.
    pub fn validate(&self) -> Result<(String, String), PeopleError> {
        let email = normalize_email(&self.email)?;
        let display_name = normalize_display_name(&self.display_name)?;
        check_password_rules(&self.password, &email)?;
        Ok((email, display_name))
    }

    /// Checks every field and the password rules, then hashes the password (CPU-heavy).
    pub fn prepare(&self) -> Result<PreparedUser, PeopleError> {
        let (email, display_name) = self.validate()?;
        let password_hash = hash_password(&self.password)?;
        Ok(PreparedUser { email, display_name, role: self.role, password_hash })
    }
}

impl PreparedUser {
    /// The normalised e-mail address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The normalised display name.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The same account with another initial role.
    pub fn with_role(&self, role: Role) -> PreparedUser {
        PreparedUser { role, ..self.clone() }
    }
}

/// Stores a prepared account (refused if the e-mail is taken).
pub fn insert_prepared_user(conn: &mut DbConn, prepared: &PreparedUser) -> Result<UserView, PeopleError> {
    db::write_transaction(conn, |conn| {
        insert_user(conn, &prepared.email, &prepared.display_name, Some(&prepared.password_hash), &[prepared.role])
    })?;
    find_user_by_email(conn, &prepared.email)
}

/// Creates an account with one role. The password is checked, then hashed before the transaction.
pub fn add_user(conn: &mut DbConn, new: &NewUser) -> Result<UserView, PeopleError> {
    let prepared = new.prepare()?;
    insert_prepared_user(conn, &prepared)
}

/// Creates an account without a password (it cannot log in until one is set): for people an
/// administrator registers, e.g. trainees enrolled by their employer.
pub fn add_user_without_password(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    role: Role,
) -> Result<UserView, PeopleError> {
    let email = normalize_email(email)?;
    let display_name = normalize_display_name(display_name)?;
    db::write_transaction(conn, |conn| insert_user(conn, &email, &display_name, None, &[role]))?;
    find_user_by_email(conn, &email)
}

/// Inserts a user with a precomputed hash inside the caller's transaction (fixtures, sign-up).
pub(crate) fn insert_user(
    conn: &mut DbConn,
    email: &str,
    display_name: &str,
    password_hash: Option<&str>,
    roles: &[Role],
) -> Result<UserId, PeopleError> {
    let id = UserId::generate();
    let now = db::now();
    let inserted = diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::email.eq(email),
            users::display_name.eq(display_name),
            users::password_hash.eq(password_hash),
            users::is_active.eq(true),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(DbError::from);
    match inserted {
        Ok(_) => {}
        Err(e) if e.unique_violation().is_some() => return Err(PeopleError::EmailTaken(email.to_owned())),
        Err(e) => return Err(e.into()),
    }
    for role in roles {
        diesel::insert_into(user_roles::table)
            .values((user_roles::user_id.eq(&id), user_roles::role.eq(role.as_str()), user_roles::granted_at.eq(now)))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    Ok(id)
}

fn roles_of(conn: &mut DbConn, ids: &[UserId]) -> Result<BTreeMap<UserId, Vec<Role>>, DbError> {
    let rows: Vec<(UserId, String)> = user_roles::table
        .filter(user_roles::user_id.eq_any(ids))
        .select((user_roles::user_id, user_roles::role))
        .load(conn)?;
    let mut map: BTreeMap<UserId, Vec<Role>> = BTreeMap::new();
    for (id, role) in rows {
        if let Ok(role) = Role::parse(&role) {
            map.entry(id).or_default().push(role);
        }
    }
    for roles in map.values_mut() {
        roles.sort();
    }
    Ok(map)
}

fn to_view(row: UserRow, roles: Vec<Role>) -> UserView {
    UserView {
        id: row.id,
        email: row.email,
        name: row.display_name,
        roles,
        active: row.is_active,
        created_at: row.created_at.and_utc().to_rfc3339(),
    }
}

/// One account by e-mail address.
pub fn find_user_by_email(conn: &mut DbConn, email: &str) -> Result<UserView, PeopleError> {
    let email = normalize_email(email)?;
    let row = users::table
        .filter(users::email.eq(&email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| PeopleError::UnknownUser(email.clone()))?;
    let mut roles = roles_of(conn, std::slice::from_ref(&row.id))?;
    let user_roles = roles.remove(&row.id).unwrap_or_default();
    Ok(to_view(row, user_roles))
}

/// Every account, by e-mail, optionally only those with `role`.
pub fn list_users(conn: &mut DbConn, role: Option<Role>) -> Result<Vec<UserView>, PeopleError> {
    let mut query = users::table.select(UserRow::as_select()).order(users::email.asc()).into_boxed();
    if let Some(role) = role {
        query = query.filter(
            users::id.eq_any(user_roles::table.filter(user_roles::role.eq(role.as_str())).select(user_roles::user_id)),
        );
    }
    let rows = query.load(conn).map_err(DbError::from)?;
    let ids: Vec<UserId> = rows.iter().map(|r| r.id.clone()).collect();
    let mut roles = roles_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let r = roles.remove(&row.id).unwrap_or_default();
            to_view(row, r)
        })
        .collect())
}

/// Grants a role (idempotent).
pub fn grant_role(conn: &mut DbConn, email: &str, role: Role) -> Result<UserView, PeopleError> {
    let user = find_user_by_email(conn, email)?;
    if !user.roles.contains(&role) {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(&user.id),
                user_roles::role.eq(role.as_str()),
                user_roles::granted_at.eq(db::now()),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    find_user_by_email(conn, email)
}

/// Takes a role away (refused if the account does not hold it).
pub fn revoke_role(conn: &mut DbConn, email: &str, role: Role) -> Result<UserView, PeopleError> {
    let user = find_user_by_email(conn, email)?;
    let removed = diesel::delete(
        user_roles::table.filter(user_roles::user_id.eq(&user.id)).filter(user_roles::role.eq(role.as_str())),
    )
    .execute(conn)
    .map_err(DbError::from)?;
    if removed == 0 {
        return Err(PeopleError::RoleNotHeld { email: user.email, role: role.as_str() });
    }
    find_user_by_email(conn, email)
}

/// Stores a password hash made by [`hash_password`] (inside the caller's transaction).
pub fn store_password_hash(conn: &mut DbConn, user: &UserId, hash: &str) -> Result<(), PeopleError> {
    let updated = diesel::update(users::table.find(user))
        .set((users::password_hash.eq(Some(hash)), users::updated_at.eq(db::now())))
        .execute(conn)
        .map_err(DbError::from)?;
    if updated == 0 {
        return Err(PeopleError::UnknownUser(user.to_string()));
    }
    Ok(())
}

/// What is needed to check a password without holding a database connection.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    user: Option<(UserId, Option<String>, bool)>,
}

impl StoredCredentials {
    /// Checks the password (CPU-heavy). Unknown or disabled accounts and accounts without a
    /// password answer false, after the same amount of work as a real check.
    pub fn verify(&self, password: &str) -> bool {
        match &self.user {
            Some((_, Some(hash), true)) => password_matches(password, hash),
            _ => {
                let _ = password_matches(password, DUMMY_HASH);
                false
            }
        }
    }

    /// The account these credentials belong to, if it exists.
    pub fn user_id(&self) -> Option<&UserId> {
        self.user.as_ref().map(|(id, _, _)| id)
    }
}

/// Loads what [`StoredCredentials::verify`] needs.
pub fn stored_credentials(conn: &mut DbConn, email: &str) -> Result<StoredCredentials, PeopleError> {
    let Ok(email) = normalize_email(email) else {
        return Ok(StoredCredentials { user: None });
    };
    let user = users::table
        .filter(users::email.eq(&email))
        .select((users::id, users::password_hash, users::is_active))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    Ok(StoredCredentials { user })
}

/// An account by id.
pub fn find_user(conn: &mut DbConn, id: &UserId) -> Result<UserView, PeopleError> {
    let row = users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?
        .ok_or_else(|| PeopleError::UnknownUser(id.to_string()))?;
    let mut roles = roles_of(conn, std::slice::from_ref(&row.id))?;
    let user_roles = roles.remove(&row.id).unwrap_or_default();
    Ok(to_view(row, user_roles))
}

/// Checks an e-mail and password in one call (CPU-heavy: call from a blocking thread). Unknown
/// accounts, disabled accounts and wrong passwords give the same answer, so this cannot be used
/// to discover who has an account.
pub fn authenticate(conn: &mut DbConn, email: &str, password: &str) -> Result<Option<UserView>, PeopleError> {
    let credentials = stored_credentials(conn, email)?;
    if !credentials.verify(password) {
        return Ok(None);
    }
    match credentials.user_id() {
        Some(id) => find_user(conn, id).map(Some),
        None => Ok(None),
    }
}

/// A valid argon2id hash of a random string, verified when the account does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Ck4W5c5kzCjk4LYwFx9W1nN8J4ZHdXyK0bJ2nM3YV8k";

/// Replaces a password after checking the rules.
pub fn set_password(conn: &mut DbConn, email: &str, password: &str) -> Result<(), PeopleError> {
    let email = normalize_email(email)?;
    check_password_rules(password, &email)?;
    let hash = hash_password(password)?;
    let updated = diesel::update(users::table.filter(users::email.eq(&email)))
        .set((users::password_hash.eq(Some(hash)), users::updated_at.eq(db::now())))
        .execute(conn)
        .map_err(DbError::from)?;
    if updated == 0 {
        return Err(PeopleError::UnknownUser(email));
    }
    Ok(())
}

/// User id for an e-mail address, if any.
pub fn user_id_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserId>, DbError> {
    // Stored addresses are normalised: text that is not one matches nobody (and text PostgreSQL
    // cannot even compare, such as NUL, never reaches it).
    let Ok(email) = normalize_email(email) else {
        return Ok(None);
    };
    users::table.filter(users::email.eq(email)).select(users::id).first(conn).optional().map_err(DbError::from)
}

/// True if the user holds `role`.
pub fn has_role(conn: &mut DbConn, user: &UserId, role: Role) -> Result<bool, DbError> {
    diesel::select(diesel::dsl::exists(
        user_roles::table.filter(user_roles::user_id.eq(user)).filter(user_roles::role.eq(role.as_str())),
    ))
    .get_result(conn)
    .map_err(DbError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_normalised_and_checked() {
        assert_eq!(normalize_email("  Alice@Example.FR ").ok().as_deref(), Some("alice@example.fr"));
        for bad in ["", "alice", "@example.fr", "alice@", "alice@fr", "a b@x.fr", "a@b@c.fr", "<script>@x.fr", "a@.fr"]
        {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_addresses_with_invisible_characters_are_refused_naming_the_code_point() {
        for (bad, code) in [
            ("zo\u{200B}e@example.org", "U+200B"),
            ("\u{FEFF}zoe@example.org", "U+FEFF"),
            ("zoe@exam\u{00AD}ple.org", "U+00AD"),
            ("zoe\u{202E}gro.elpmaxe@x.fr", "U+202E"),
            ("zoe\u{200D}@example.org", "U+200D"),
            ("zoe\u{1B}[31m@example.org", "U+001B"),
        ] {
            let message = normalize_email(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(code) && message.contains("e-mail"), "{bad:?}: {message}");
            assert!(!message.contains(bad.trim()), "the address is not echoed: {message}");
        }
    }

    #[test]
    fn display_names_refuse_bidi_and_invisible_characters_but_keep_joiners() {
        for (bad, code) in [
            ("Zoé \u{202E}fdp.exe\u{202C}", "U+202E"),
            ("Zoé\u{2066}x", "U+2066"),
            ("\u{200F}עברית", "U+200F"),
            ("\u{FEFF}\u{200B}invisible", "U+FEFF"),
            ("Zo\u{2060}é", "U+2060"),
            ("Zo\u{00AD}é", "U+00AD"),
            ("bip\u{7}", "U+0007"),
        ] {
            let message = normalize_display_name(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains(code), "{bad:?}: {message}");
        }
        for good in ["Zoé  Martin", "👩🏽\u{200D}🏫 Awa", "می\u{200C}خواهم", "العربية עברית", "Ligne\nsuivante"]
        {
            assert!(normalize_display_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn password_rules_refuse_weak_passwords() {
        assert!(check_password_rules("court", "a@b.fr").is_err());
        assert!(check_password_rules("aaaaaaaaaaaa", "a@b.fr").is_err());
        assert!(check_password_rules("alice@b.fr", "alice@b.fr").is_err());
        assert!(check_password_rules(&"ab1!".repeat(100), "a@b.fr").is_err());
        assert!(check_password_rules("tiers-lieu 2026", "a@b.fr").is_ok());
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let hash = hash_password("tiers-lieu 2026").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("tiers-lieu 2026", &hash));
        assert!(!password_matches("tiers-lieu 2027", &hash));
        assert!(!password_matches("x", "not a hash"));
    }
}
