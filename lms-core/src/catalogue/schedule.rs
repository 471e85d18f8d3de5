//! Schedules of half-days: the `date,slot,start,end,venue,module` file that `lms session create
//! --schedule` reads, and the checks every schedule passes before it is written.
//!
//! Slot bounds (local Paris time): a morning runs between 07:00 and 14:00, an afternoon between
//! 12:00 and 21:00; the overlap of the two windows lets a morning run late or an afternoon start
//! early, while two half-days of one day may never overlap. A half-day lasts at least 30 minutes.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use super::{CatalogueError, Slot, TrainingSessionStatus};
use crate::db::ids::{TrainingSessionId, UserId};
use crate::db::schema::{enrolments, half_days, session_trainers, training_sessions};
use crate::db::{DbConn, DbError};
use crate::enrolment::EnrolmentStatus;

/// Longest file accepted (two half-days a day for [`super::MAX_SESSION_DAYS`] days).
pub const MAX_HALF_DAYS: usize = 2 * super::MAX_SESSION_DAYS as usize;
/// Shortest half-day, in minutes.
pub const MIN_HALF_DAY_MINUTES: i64 = 30;

/// One half-day of a schedule being planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedHalfDay {
    /// Line of the file it comes from (for refusals), when it comes from a file.
    pub line: Option<usize>,
    /// Local date.
    pub date: NaiveDate,
    /// Morning or afternoon.
    pub slot: Slot,
    /// Local start time.
    pub start: NaiveTime,
    /// Local end time.
    pub end: NaiveTime,
    /// Venue slug.
    pub venue_slug: String,
    /// Module taught, if named.
    pub module: Option<String>,
}

impl PlannedHalfDay {
    /// Wraps a refusal with this half-day's line, when it has one.
    pub(crate) fn refuse(&self, error: CatalogueError) -> CatalogueError {
        match self.line {
            Some(line) => CatalogueError::AtLine { line, source: Box::new(error) },
            None => error,
        }
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// Earliest start and latest end of a slot, local time.
pub fn slot_bounds(slot: Slot) -> (NaiveTime, NaiveTime) {
    match slot {
        Slot::Morning => (hm(7, 0), hm(14, 0)),
        Slot::Afternoon => (hm(12, 0), hm(21, 0)),
    }
}

/// Checks one half-day's hours against its slot.
pub fn check_hours(slot: Slot, start: NaiveTime, end: NaiveTime) -> Result<(), CatalogueError> {
    if end <= start {
        return Err(CatalogueError::BadSchedule(format!(
            "la fin ({}) doit suivre le début ({})",
            end.format("%H:%M"),
            start.format("%H:%M")
        )));
    }
    if (end - start).num_minutes() < MIN_HALF_DAY_MINUTES {
        return Err(CatalogueError::BadSchedule(format!(
            "une demi-journée dure au moins {MIN_HALF_DAY_MINUTES} minutes"
        )));
    }
    let (earliest, latest) = slot_bounds(slot);
    if start < earliest || end > latest {
        return Err(CatalogueError::BadSchedule(format!(
            "un créneau « {} » se tient entre {} et {} (ici {}–{})",
            slot.label_fr_lower(),
            earliest.format("%H:%M"),
            latest.format("%H:%M"),
            start.format("%H:%M"),
            end.format("%H:%M")
        )));
    }
    Ok(())
}

/// Checks a whole schedule without the database: not empty, not too long, sane hours, no
/// half-day given twice and no two half-days overlapping.
pub fn check_schedule(half_days: &[PlannedHalfDay]) -> Result<(), CatalogueError> {
    if half_days.is_empty() {
        return Err(CatalogueError::BadSchedule("le calendrier ne compte aucune demi-journée".into()));
    }
    if half_days.len() > MAX_HALF_DAYS {
        return Err(CatalogueError::BadSchedule(format!(
            "le calendrier compte {} demi-journées (au plus {MAX_HALF_DAYS})",
            half_days.len()
        )));
    }
    let mut seen: HashSet<(NaiveDate, Slot)> = HashSet::new();
    for (index, h) in half_days.iter().enumerate() {
        check_hours(h.slot, h.start, h.end).map_err(|e| h.refuse(e))?;
        if !seen.insert((h.date, h.slot)) {
            return Err(h.refuse(CatalogueError::BadSchedule(format!(
                "la demi-journée du {} ({}) figure deux fois",
                h.date,
                h.slot.label_fr_lower()
            ))));
        }
        if let Some(other) = half_days[..index].iter().find(|o| o.date == h.date && o.start < h.end && h.start < o.end)
        {
            return Err(h.refuse(CatalogueError::BadSchedule(format!(
                "le {} de {} à {} chevauche {}",
                h.date,
                h.start.format("%H:%M"),
                h.end.format("%H:%M"),
                match other.line {
                    Some(line) => format!("la ligne {line}"),
                    None => format!("le créneau {}", other.slot.label_fr_lower()),
                }
            ))));
        }
    }
    Ok(())
}

const SCHEDULE_HEADER: [&str; 6] = ["date", "slot", "start", "end", "venue", "module"];

/// Reads a schedule file: UTF-8 CSV with the header `date,slot,start,end,venue,module`, dates as
/// `AAAA-MM-JJ`, hours as `HH:MM`, `slot` `morning` or `afternoon`, `venue` a slug and `module`
/// free text (may be empty). Every refusal names its line; the checks of [`check_schedule`] run too.
pub fn parse_schedule_csv(text: &str) -> Result<Vec<PlannedHalfDay>, CatalogueError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(CatalogueError::BadSchedule("le fichier est vide : aucune demi-journée".into()));
    }
    let mut reader =
        csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let header = reader.headers().map_err(|e| CatalogueError::BadSchedule(format!("en-tête illisible : {e}")))?.clone();
    if header.iter().collect::<Vec<_>>() != SCHEDULE_HEADER {
        return Err(CatalogueError::AtLine {
            line: 1,
            source: Box::new(CatalogueError::BadSchedule(format!("en-tête attendu « {} »", SCHEDULE_HEADER.join(",")))),
        });
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            CatalogueError::AtLine {
                line,
                source: Box::new(CatalogueError::BadSchedule("ligne mal formée (6 colonnes attendues)".into())),
            }
        })?;
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let at =
            |message: String| CatalogueError::AtLine { line, source: Box::new(CatalogueError::BadSchedule(message)) };
        if out.len() >= MAX_HALF_DAYS {
            return Err(at(format!("au plus {MAX_HALF_DAYS} demi-journées par session")));
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let date = NaiveDate::parse_from_str(field(0), "%Y-%m-%d")
            .map_err(|_| at(format!("date invalide « {} » (attendu AAAA-MM-JJ)", short(field(0)))))?;
        let slot = Slot::from_stored(field(1))
            .map_err(|_| at(format!("créneau invalide « {} » (morning ou afternoon)", short(field(1)))))?;
        let time = |raw: &str| {
            NaiveTime::parse_from_str(raw, "%H:%M")
                .map_err(|_| at(format!("heure invalide « {} » (attendu HH:MM)", short(raw))))
        };
        let start = time(field(2))?;
        let end = time(field(3))?;
        let venue_slug = field(4).to_string();
        if venue_slug.is_empty() {
            return Err(at("lieu manquant".into()));
        }
        let module = field(5);
        if module.chars().count() > 200 || module.chars().any(char::is_control) {
            return Err(at("module trop long ou contenant des caractères de contrôle".into()));
        }
        out.push(PlannedHalfDay {
            line: Some(line),
            date,
            slot,
            start,
            end,
            venue_slug,
            module: (!module.is_empty()).then(|| module.to_string()),
        });
    }
    check_schedule(&out)?;
    Ok(out)
}

fn short(raw: &str) -> String {
    raw.chars().take(40).collect()
}

/// Two half-days at the same time for one person: the other session and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// The other session.
    pub session: TrainingSessionId,
    /// Its reference.
    pub reference: String,
    /// The date of the clash.
    pub date: NaiveDate,
    /// The other session's half-day on that date.
    pub slot: Slot,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "conflit d’horaire avec la session {} le {} ({})",
            self.reference,
            self.date,
            self.slot.label_fr_lower()
        )
    }
}

impl From<Conflict> for CatalogueError {
    fn from(conflict: Conflict) -> Self {
        CatalogueError::ScheduleConflict(conflict)
    }
}

/// Whether confirming `trainee` on `session` would put them on two half-days at the same time:
/// the first half-day of another session (not cancelled) where they hold a confirmed seat and
/// that overlaps one of `session`'s half-days. The enrolment use case calls it inside its
/// transaction, before a seat is taken, and refuses with [`CatalogueError::ScheduleConflict`]
/// (409 `schedule_conflict`).
pub fn trainee_conflict(
    conn: &mut DbConn,
    trainee: &UserId,
    session: &TrainingSessionId,
) -> Result<Option<Conflict>, CatalogueError> {
    let others: Vec<TrainingSessionId> = enrolments::table
        .filter(enrolments::trainee_id.eq(trainee))
        .filter(enrolments::status.eq(EnrolmentStatus::Confirmed))
        .filter(enrolments::training_session_id.ne(session))
        .select(enrolments::training_session_id)
        .load(conn)
        .map_err(DbError::from)?;
    first_overlap(conn, session, &others)
}

/// Whether `trainer` would teach two half-days at the same time with `session`: the first
/// half-day of another session (not cancelled) they teach that overlaps one of `session`'s
/// half-days. Session creation calls it inside its transaction, once the schedule and the
/// trainers are written, and refuses with [`CatalogueError::ScheduleConflict`] (409
/// `schedule_conflict`), which rolls everything back.
pub fn trainer_conflict(
    conn: &mut DbConn,
    trainer: &UserId,
    session: &TrainingSessionId,
) -> Result<Option<Conflict>, CatalogueError> {
    let others: Vec<TrainingSessionId> = session_trainers::table
        .filter(session_trainers::trainer_id.eq(trainer))
        .filter(session_trainers::training_session_id.ne(session))
        .select(session_trainers::training_session_id)
        .load(conn)
        .map_err(DbError::from)?;
    first_overlap(conn, session, &others)
}

/// The earliest half-day of one of `others` (sessions not cancelled) that overlaps a half-day of
/// `session`: the one overlap rule shared by trainees and trainers.
fn first_overlap(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    others: &[TrainingSessionId],
) -> Result<Option<Conflict>, CatalogueError> {
    if others.is_empty() {
        return Ok(None);
    }
    let mine: Vec<Span> = half_days::table
        .filter(half_days::training_session_id.eq(session))
        .select(Span::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    let (Some(first), Some(last)) = (mine.iter().map(|h| h.starts_at).min(), mine.iter().map(|h| h.ends_at).max())
    else {
        return Ok(None);
    };
    let candidates: Vec<OtherHalfDay> = half_days::table
        .inner_join(training_sessions::table)
        .filter(half_days::training_session_id.eq_any(others))
        .filter(training_sessions::status.ne(TrainingSessionStatus::Cancelled))
        .filter(half_days::starts_at.lt(last))
        .filter(half_days::ends_at.gt(first))
        .order(half_days::starts_at.asc())
        .select(OtherHalfDay::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    Ok(candidates
        .into_iter()
        .find(|other| mine.iter().any(|h| other.span.starts_at < h.ends_at && h.starts_at < other.span.ends_at))
        .map(|other| Conflict {
            session: other.session,
            reference: other.reference,
            date: other.date,
            slot: other.slot,
        }))
}

/// When a half-day runs.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = half_days)]
struct Span {
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
}

/// A half-day of another session the person holds a seat in.
#[derive(Debug, Queryable, Selectable)]
struct OtherHalfDay {
    #[diesel(select_expression = training_sessions::id)]
    session: TrainingSessionId,
    #[diesel(select_expression = training_sessions::reference)]
    reference: String,
    #[diesel(select_expression = half_days::day)]
    date: NaiveDate,
    #[diesel(select_expression = half_days::slot)]
    slot: Slot,
    #[diesel(embed)]
    span: Span,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "date,slot,start,end,venue,module\n";

    fn code(text: &str) -> String {
        match parse_schedule_csv(text) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_a_schedule() {
        let text = format!(
            "{HEAD}2027-03-04,morning,09:00,12:30,tiers-a,Accueil\n2027-03-04,afternoon,13:30,17:00,tiers-b,\n"
        );
        let days = parse_schedule_csv(&text).unwrap_or_default();
        assert_eq!(days.len(), 2);
        assert_eq!(days[0].line, Some(2));
        assert_eq!(days[1].module, None);
        assert_eq!(days[1].venue_slug, "tiers-b");
    }

    #[test]
    fn refuses_with_line_numbers() {
        assert!(code(HEAD).contains("aucune demi-journée"));
        assert!(code("").contains("fichier est vide"));
        assert!(code(&format!("{HEAD}2027-03-04,morning,12:00,11:00,a,\n")).starts_with("ligne 2 : la fin"));
        assert!(code(&format!("{HEAD}2027-03-04,morning,09:00,14:30,a,\n")).starts_with("ligne 2 : un créneau"));
        assert!(code(&format!("{HEAD}2027-03-04,afternoon,11:00,15:00,a,\n")).starts_with("ligne 2 : un créneau"));
        let dup = format!("{HEAD}2027-03-04,morning,09:00,12:00,a,\n2027-03-04,morning,09:00,12:00,a,\n");
        assert!(code(&dup).starts_with("ligne 3 : la demi-journée"));
        let overlap = format!("{HEAD}2027-03-04,morning,09:00,13:30,a,\n2027-03-04,afternoon,13:00,17:00,b,\n");
        assert!(code(&overlap).starts_with("ligne 3 : le 2027-03-04"));
        assert!(code(&format!("{HEAD}2027-13-04,morning,09:00,12:00,a,\n")).starts_with("ligne 2 : date invalide"));
        assert!(code(&format!("{HEAD}2027-03-04,evening,09:00,12:00,a,\n")).starts_with("ligne 2 : créneau invalide"));
        assert!(code(&format!("{HEAD}2027-03-04,morning,09:00,12:00\n")).starts_with("ligne 2 : ligne mal formée"));
        assert!(code("day,slot\n2027-03-04,morning\n").starts_with("ligne 1 : en-tête"));
    }
}
