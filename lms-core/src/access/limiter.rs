//! Attempt counters shared by every limiter (logins, sign-ups, check-in codes, complaints),
//! stored in the database so that every server instance sees the same counts.
//!
//! An attempt is *reserved* before the expensive or sensitive work (hashing a password, looking
//! up a code): the counter is raised atomically, and a caller over the limit is refused without
//! the work being done. Counting first is what makes the limit hold when many attempts arrive at
//! the same instant; a success then gives its reservation back ([`release`]).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::{self, DbConn, DbError};

/// One counter an attempt is charged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// The counter's key, e.g. `login:account+address:…`.
    pub key: String,
    /// Attempts allowed within the window.
    pub max: i32,
    /// Window over which attempts are counted; also how long a lock lasts.
    pub window: Duration,
}

impl Limit {
    /// A counter of `max` attempts per `minutes`.
    pub fn new(key: impl Into<String>, max: i32, minutes: i64) -> Self {
        // Keys are stored as text: control characters (NUL cannot be stored on PostgreSQL) are
        // dropped and the length bounded, whatever the attempt carried.
        let key: String = key.into().chars().filter(|c| !c.is_control()).take(400).collect();
        Limit { key, max, window: Duration::minutes(minutes) }
    }
}

/// Why an attempt was refused: a counter is over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked {
    /// Minutes until the attempt may be made again (rounded up).
    pub minutes: i64,
}

fn minutes_until(until: NaiveDateTime, now: NaiveDateTime) -> i64 {
    ((until - now).num_seconds() + 59).max(60) / 60
}

/// True when one of the counters is locked right now (a read, no write).
pub fn locked(conn: &mut DbConn, limits: &[Limit], now: NaiveDateTime) -> Result<Option<Locked>, DbError> {
    let keys: Vec<&str> = limits.iter().map(|l| l.key.as_str()).collect();
    let locks: Vec<Option<NaiveDateTime>> = login_attempts::table
        .filter(login_attempts::attempt_key.eq_any(keys))
        .select(login_attempts::locked_until)
        .load(conn)?;
    Ok(locks
        .into_iter()
        .flatten()
        .filter(|until| *until > now)
        .max()
        .map(|until| Locked { minutes: minutes_until(until, now) }))
}

/// Charges one attempt to every counter, atomically. `Ok(Err(locked))` when a counter was
/// already locked or has just gone over its limit (it is then locked for its window); nothing
/// else should be done for this attempt.
pub fn reserve(conn: &mut DbConn, limits: &[Limit], now: NaiveDateTime) -> Result<Result<(), Locked>, DbError> {
    // Two first attempts racing to create the same counter: the loser's insert fails on the key
    // and it starts again, now finding the row to update.
    let mut tries = 0;
    loop {
        tries += 1;
        match db::write_transaction(conn, |conn| reserve_once(conn, limits, now)) {
            Err(error) if tries < 4 && error.unique_violation().is_some() => continue,
            other => return other,
        }
    }
}

fn reserve_once(conn: &mut DbConn, limits: &[Limit], now: NaiveDateTime) -> Result<Result<(), Locked>, DbError> {
    if let Some(lock) = locked(conn, limits, now)? {
        return Ok(Err(lock));
    }
    let mut refusal = None;
    let mut within = Vec::new();
    for limit in limits {
        // A counter whose window has passed starts again.
        diesel::delete(
            login_attempts::table
                .filter(login_attempts::attempt_key.eq(&limit.key))
                .filter(login_attempts::window_start.le(now - limit.window)),
        )
        .execute(conn)?;
        // The increment is one statement: concurrent reservations of one counter are serialised
        // by the database (the row lock on PostgreSQL, the write lock on SQLite) and none is
        // lost; the count read after it, under that lock, includes every earlier one.
        let updated = diesel::update(login_attempts::table.find(&limit.key))
            .set(login_attempts::failures.eq(login_attempts::failures + 1))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(login_attempts::table)
                .values((
                    login_attempts::attempt_key.eq(&limit.key),
                    login_attempts::window_start.eq(now),
                    login_attempts::failures.eq(1),
                    login_attempts::locked_until.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        let count: i32 = login_attempts::table.find(&limit.key).select(login_attempts::failures).first(conn)?;
        if count > limit.max {
            let until = now + limit.window;
            diesel::update(login_attempts::table.find(&limit.key))
                .set(login_attempts::locked_until.eq(Some(until)))
                .execute(conn)?;
            refusal = Some(Locked { minutes: minutes_until(until, now) });
        } else {
            within.push(limit);
        }
    }
    match refusal {
        Some(lock) => {
            // A refused attempt was not made: only the counter that refused it keeps it.
            release(conn, &[], &within)?;
            Ok(Err(lock))
        }
        None => Ok(Ok(())),
    }
}

/// Gives a reservation back after a success: `forget` counters are cleared (a success proves the
/// attempt legitimate), `refund` counters go down by one.
pub fn release(conn: &mut DbConn, forget: &[&Limit], refund: &[&Limit]) -> Result<(), DbError> {
    let forget: Vec<&str> = forget.iter().map(|l| l.key.as_str()).collect();
    if !forget.is_empty() {
        diesel::delete(login_attempts::table.filter(login_attempts::attempt_key.eq_any(forget))).execute(conn)?;
    }
    for limit in refund {
        diesel::update(
            login_attempts::table
                .filter(login_attempts::attempt_key.eq(&limit.key))
                .filter(login_attempts::failures.gt(0)),
        )
        .set(login_attempts::failures.eq(login_attempts::failures - 1))
        .execute(conn)?;
    }
    Ok(())
}

/// Complaints (`/reclamation`, `POST /api/v1/complaints`) allowed from one client address per
/// [`COMPLAINT_WINDOW_MINUTES`]: a shared office connection may send several, a script may not.
pub const MAX_COMPLAINTS_PER_ADDRESS: i32 = 10;
/// Complaints allowed in the name of one e-mail address per [`COMPLAINT_WINDOW_MINUTES`], whoever
/// sends them: each one mails an acknowledgement to that address, which nobody may flood.
pub const MAX_COMPLAINTS_PER_EMAIL: i32 = 5;
/// Window of the complaint limiter.
pub const COMPLAINT_WINDOW_MINUTES: i64 = 60;

/// The counters a complaint is charged to: its (normalised) e-mail address and, when known, the
/// client address.
pub fn complaint_limits(email: &str, client_ip: Option<&str>) -> Vec<Limit> {
    let mut limits =
        vec![Limit::new(format!("complaint:email:{email}"), MAX_COMPLAINTS_PER_EMAIL, COMPLAINT_WINDOW_MINUTES)];
    if let Some(ip) = client_ip {
        limits.push(Limit::new(
            format!("complaint:address:{}", address_key(ip)),
            MAX_COMPLAINTS_PER_ADDRESS,
            COMPLAINT_WINDOW_MINUTES,
        ));
    }
    limits
}

/// The client address as a limiter key part: IPv6 by /64 (one subscriber holds a whole /64).
pub fn address_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.chars().filter(|c| !c.is_control()).take(64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_share_their_64_prefix_and_mapped_ipv4_is_ipv4() {
        assert_eq!(address_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_key("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_eq!(address_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(address_key("192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn keys_cannot_carry_control_characters() {
        assert_eq!(Limit::new("a\0b\u{1b}c", 1, 1).key, "abc");
        assert_eq!(Limit::new("x".repeat(1000), 1, 1).key.len(), 400);
    }

    #[test]
    fn a_lock_is_announced_in_whole_minutes() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).map(|d| d.naive_utc()).unwrap_or_default();
        assert_eq!(minutes_until(now + Duration::seconds(1), now), 1);
        assert_eq!(minutes_until(now + Duration::minutes(15), now), 15);
        assert_eq!(minutes_until(now + Duration::seconds(901), now), 16);
    }
}
