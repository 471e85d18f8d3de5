//! Self check-in: the trainer's device shows a short code (and its QR code) that rotates; the
//! trainee types it, or scans it, on their own phone while logged in.
//!
//! Rules:
//! - a code is bound to one half-day (hence one session) and is issued only while that half-day is
//!   under way, by a trainer of the session or an administrator;
//! - it expires [`CODE_VALIDITY_SECONDS`] after issue (and never after the half-day ends); the
//!   trainer's page fetches a new one every [`ROTATION_SECONDS`], so a code photographed and sent
//!   to someone elsewhere is soon worthless;
//! - only its SHA-256 is stored: a copy of the database does not give valid codes;
//! - a trainee signs a half-day once: replaying a code (or a newer one) is refused;
//! - the entry records the time, the code used, and the phone's address and browser as evidence,
//!   with the SHA-256 of that evidence.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;

use super::ledger::Ledger;
use super::recording::already_signed;
use super::sheets::{HalfDayInfo, Sheet, half_day_info, half_day_sheet, session_header};
use super::{
    AttendanceError, AttendanceStatus, HalfDayContext, SignatureMethod, StatusEntry, clean_status, latest_status_entry,
    load_half_day, sha256_hex,
};
use crate::access::limiter::{self, Limit, Locked};
use crate::access::{Caller, ClientInfo};
use crate::db::ids::{AttendanceEntryId, HalfDayId, TrainingSessionId};
use crate::db::schema::{checkin_codes, half_days};
use crate::db::{self, DbConn, DbError};
use crate::rights::{Actor, ensure_can_show_checkin_code};
use crate::roster::is_confirmed_trainee;

/// How long a code is accepted after it is shown.
pub const CODE_VALIDITY_SECONDS: i64 = 120;
/// How often the trainer's page shows a new code.
pub const ROTATION_SECONDS: i64 = 45;
/// Characters of a code.
pub const CODE_LENGTH: usize = 6;
/// A trainee checking in later than this after the start is recorded late, with the minutes.
pub const LATE_AFTER_MINUTES: i64 = 10;
/// Crockford's base32 alphabet: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A code just issued, to show once (it cannot be read back: only its hash is kept).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IssuedCode {
    /// The code, as typed (`K7M2QX`).
    pub code: String,
    /// The session.
    pub session: TrainingSessionId,
    /// The half-day it is bound to.
    pub half_day: HalfDayId,
    /// When it stops being accepted (UTC).
    pub expires_at: NaiveDateTime,
    /// When the trainer's page should show a new one (seconds).
    pub refresh_seconds: i64,
    /// The URL a phone opens to check in with this code ([`checkin_url`]).
    pub url: String,
}

impl IssuedCode {
    /// The QR code of [`IssuedCode::url`], as SVG at least `size` pixels wide.
    pub fn qr_svg(&self, size: u32) -> Result<String, AttendanceError> {
        Ok(crate::documents::qr::qr_svg(&self.url, size)?)
    }
}

/// The URL a phone opens to check in with `code`: always under the configured public base URL
/// (given by the caller, read once at start), never under a host named by a request.
pub fn checkin_url(public_base: &str, code: &str) -> String {
    format!("{}/checkin?code={code}", public_base.trim().trim_end_matches('/'))
}

/// A code issued for a half-day (the latest one when a code was issued twice).
#[derive(Queryable, Selectable)]
#[diesel(table_name = checkin_codes)]
struct StoredCode {
    id: String,
    half_day_id: HalfDayId,
    expires_at: NaiveDateTime,
}

fn code_hash(code: &str) -> String {
    sha256_hex(format!("checkin:{code}").as_bytes())
}

/// Normalises what a trainee typed: case, spaces and dashes ignored, and the letters Crockford
/// base32 leaves out read as the digits they look like.
pub fn normalize_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (code.len() == CODE_LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// When codes are issued and accepted for a half-day: while it is under way and not co-signed.
pub(super) fn ensure_code_window(context: &HalfDayContext, now: NaiveDateTime) -> Result<(), AttendanceError> {
    if now < context.starts_at {
        return Err(AttendanceError::NotStarted);
    }
    if now >= context.ends_at {
        return Err(AttendanceError::HalfDayOver);
    }
    if context.closed {
        return Err(AttendanceError::ClosedHalfDay);
    }
    Ok(())
}

fn random_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LENGTH).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

/// Issues a new code for a half-day under way, with its check-in URL under `public_base`. Only a
/// trainer of the session or an administrator ([`crate::rights::ensure_can_show_checkin_code`]).
pub fn issue_checkin_code(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    public_base: &str,
    now: NaiveDateTime,
) -> Result<IssuedCode, AttendanceError> {
    db::write_transaction(conn, |conn| {
        ensure_can_show_checkin_code(conn, caller, session)?;
        let context = load_half_day(conn, session, half_day)?;
        ensure_code_window(&context, now)?;
        // Expired codes of this half-day are of no use any more; keep the table small.
        diesel::delete(
            checkin_codes::table
                .filter(checkin_codes::half_day_id.eq(half_day))
                .filter(checkin_codes::expires_at.le(now)),
        )
        .execute(conn)
        .map_err(DbError::from)?;
        let code = random_code();
        let expires_at = (now + Duration::seconds(CODE_VALIDITY_SECONDS)).min(context.ends_at);
        diesel::insert_into(checkin_codes::table)
            .values((
                checkin_codes::id.eq(uuid::Uuid::now_v7().to_string()),
                checkin_codes::half_day_id.eq(half_day),
                checkin_codes::code_hash.eq(code_hash(&code)),
                checkin_codes::issued_by.eq(&caller.user.id),
                checkin_codes::issued_at.eq(now),
                checkin_codes::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
        Ok(IssuedCode {
            url: checkin_url(public_base, &code),
            code,
            session: session.clone(),
            half_day: half_day.clone(),
            expires_at,
            refresh_seconds: ROTATION_SECONDS,
        })
    })
}

/// The trainer's check-in screen: a fresh code and the sheet (who signed so far).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CodeScreen {
    /// The code just issued.
    pub code: IssuedCode,
    /// The half-day's sheet.
    pub sheet: Sheet,
}

/// [`issue_checkin_code`], then the half-day's sheet, in one transaction.
pub fn code_screen(
    conn: &mut DbConn,
    caller: &Caller,
    session: &TrainingSessionId,
    half_day: &HalfDayId,
    public_base: &str,
    now: NaiveDateTime,
) -> Result<CodeScreen, AttendanceError> {
    db::write_transaction(conn, |conn| {
        let code = issue_checkin_code(conn, caller, session, half_day, public_base, now)?;
        let sheet = half_day_sheet(conn, Actor::Person(caller), session, half_day, now)?;
        Ok(CodeScreen { code, sheet })
    })
}

/// What a successful check-in recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckinOutcome {
    /// The session.
    pub session: TrainingSessionId,
    /// Its course title.
    pub course_title: String,
    /// The half-day signed.
    pub half_day: HalfDayInfo,
    /// `present`, or `late` after [`LATE_AFTER_MINUTES`].
    pub status: AttendanceStatus,
    /// Minutes late.
    pub late_minutes: i32,
    /// The ledger entry.
    pub entry: AttendanceEntryId,
    /// When (UTC).
    pub recorded_at: NaiveDateTime,
    /// SHA-256 of the evidence stored with the entry.
    pub evidence_sha256: String,
}

/// Wrong codes allowed per account within [`CHECKIN_WINDOW_MINUTES`].
pub const MAX_WRONG_CODES_PER_ACCOUNT: i32 = 10;
/// Wrong codes allowed per client address (a room of trainees shares one) within the window.
pub const MAX_WRONG_CODES_PER_ADDRESS: i32 = 60;
/// Window of the check-in limiter, and how long its lock lasts.
pub const CHECKIN_WINDOW_MINUTES: i64 = 15;

fn checkin_limits(caller: &Caller, client: &ClientInfo) -> Vec<Limit> {
    let mut limits = vec![Limit::new(
        format!("checkin:account:{}", caller.user.id),
        MAX_WRONG_CODES_PER_ACCOUNT,
        CHECKIN_WINDOW_MINUTES,
    )];
    if let Some(ip) = &client.ip {
        limits.push(Limit::new(
            format!("checkin:address:{}", limiter::address_key(ip)),
            MAX_WRONG_CODES_PER_ADDRESS,
            CHECKIN_WINDOW_MINUTES,
        ));
    }
    limits
}

/// The trainee signs the half-day a code was issued for.
pub fn check_in(
    conn: &mut DbConn,
    caller: &Caller,
    raw_code: &str,
    client: &ClientInfo,
    now: NaiveDateTime,
) -> Result<CheckinOutcome, AttendanceError> {
    let code = normalize_code(raw_code).ok_or(AttendanceError::UnknownCheckinCode)?;
    // Every well-formed code is a guess until proven right: it is counted before the lookup, so
    // that parallel guesses cannot all be tried.
    let limits = checkin_limits(caller, client);
    if let Err(Locked { minutes }) = limiter::reserve(conn, &limits, now)? {
        return Err(AttendanceError::TooManyCheckinAttempts { minutes });
    }
    let hash = code_hash(&code);
    db::write_transaction(conn, |conn| {
        let issued: Option<StoredCode> = checkin_codes::table
            .filter(checkin_codes::code_hash.eq(&hash))
            .order(checkin_codes::expires_at.desc())
            .select(StoredCode::as_select())
            .first(conn)
            .optional()
            .map_err(DbError::from)?;
        let Some(StoredCode { id: code_id, half_day_id: half_day, expires_at }) = issued else {
            return Err(AttendanceError::UnknownCheckinCode);
        };
        let session: TrainingSessionId = half_days::table
            .find(&half_day)
            .select(half_days::training_session_id)
            .first(conn)
            .map_err(DbError::from)?;
        let trainee = &caller.user.id;
        // Someone who is not a trainee of the code's session learns nothing about the code, not
        // even that it exists.
        if !is_confirmed_trainee(conn, &session, trainee)? {
            return Err(AttendanceError::UnknownCheckinCode);
        }
        if expires_at <= now {
            return Err(AttendanceError::ExpiredCheckinCode);
        }
        let mut ledger = Ledger::open(conn, &session)?;
        // A right code: this account's wrong guesses are forgiven.
        let (account, address) = limits.split_at(1);
        let address: Vec<&Limit> = address.iter().collect();
        limiter::release(conn, &[&account[0]], &address)?;
        let context = load_half_day(conn, &session, &half_day)?;
        ensure_code_window(&context, now)?;
        if already_signed(conn, &half_day, trainee)? {
            return Err(AttendanceError::AlreadySigned);
        }
        let late = (now - context.starts_at).num_minutes();
        let (status, late_minutes) = if late > LATE_AFTER_MINUTES {
            let capped = late.min(240).min(i64::from(context.minutes));
            (AttendanceStatus::Late, i32::try_from(capped).unwrap_or(240))
        } else {
            (AttendanceStatus::Present, 0)
        };
        let clean = clean_status(status, late_minutes, 0, None)?;
        let evidence = serde_json::json!({
            "checkin_code": code_id,
            "ip": client.ip,
            "user_agent": client.user_agent.as_deref().map(|ua| ua.chars().take(300).collect::<String>()),
        })
        .to_string();
        let evidence_sha256 = sha256_hex(evidence.as_bytes());
        let previous = latest_status_entry(conn, &half_day, trainee)?;
        let entry = StatusEntry {
            half_day: &half_day,
            trainee,
            clean: &clean,
            method: SignatureMethod::SelfCheckin,
            signature_data: Some(&evidence),
            evidence_sha256: Some(&evidence_sha256),
            supersedes: previous.as_ref().map(|p| &p.id),
            correction_reason: None,
            recorded_by: trainee,
            recorded_at: now,
        }
        .append_to(conn, &mut ledger)?;
        ledger.close(conn)?;
        Ok(CheckinOutcome {
            course_title: session_header(conn, &session)?.course_title,
            half_day: half_day_info(conn, &session, &half_day)?,
            session,
            status,
            late_minutes,
            entry,
            recorded_at: now,
            evidence_sha256,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_short_unambiguous_and_forgiving_to_type() {
        for _ in 0..50 {
            let code = random_code();
            assert_eq!(normalize_code(&code).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize_code(" k7m-2qx ").as_deref(), Some("K7M2QX"));
        assert_eq!(normalize_code("O1IL23").as_deref(), Some("011123"));
        for bad in ["", "K7M2Q", "K7M2QXX", "K7M2Q!", "ÉÉÉÉÉÉ", "UUUUUU"] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
        assert_ne!(code_hash("K7M2QX"), code_hash("K7M2QY"));
    }
}
