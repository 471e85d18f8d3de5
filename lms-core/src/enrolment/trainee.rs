//! What a trainee sees of their own enrolments: status or rank, next half-days, convocation.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::{EnrolmentError, EnrolmentStatus};
use crate::access::Caller;
use crate::catalogue::{self, Slot, TrainingSessionDetail, TrainingSessionFilter, TrainingSessionView};
use crate::db::ids::{HalfDayId, TrainingSessionId, UserId};
use crate::db::schema::{communes, courses, enrolments, half_days, training_sessions, venues};
use crate::db::{self, DbConn, DbError};
use crate::documents::convocation::{ConvocationData, ConvocationHalfDay, DEFAULT_WHAT_TO_BRING, render_pdf};
use crate::documents::organisation::OrganisationIdentity;
use crate::locale;
use crate::notifications::{self, NotificationView};
use crate::venues::{VenueAddress, accessibility_fr};

/// One of my enrolments.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyEnrolment {
    /// The session.
    pub session: TrainingSessionView,
    /// My status.
    pub status: EnrolmentStatus,
    /// My rank on the waitlist.
    pub waitlist_position: Option<i64>,
    /// When I dropped out of the session under way, if I did.
    pub abandoned_at: Option<NaiveDateTime>,
    /// The minutes I attended, for an abandonment (they stay on the record).
    pub attended_minutes: Option<i64>,
}

/// Where a person stands in one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standing {
    /// Their enrolment's status.
    pub status: EnrolmentStatus,
    /// Their rank on the waitlist, when waitlisted.
    pub waitlist_position: Option<i64>,
}

impl Standing {
    /// Whether the enrolment is still live (a seat, a ticket or a pending request), so that it
    /// may be cancelled (a request is then withdrawn).
    pub fn is_active(&self) -> bool {
        matches!(self.status, EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted | EnrolmentStatus::Requested)
    }
}

/// A person's enrolment status and waitlist ticket in one session (row type).
#[derive(Queryable, Selectable)]
#[diesel(table_name = enrolments)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct StandingRow {
    training_session_id: TrainingSessionId,
    status: EnrolmentStatus,
    waitlist_seq: Option<i64>,
    abandoned_at: Option<NaiveDateTime>,
}

/// A trainee's standing in one session, if enrolled at all.
pub fn standing(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
) -> Result<Option<Standing>, EnrolmentError> {
    let row: Option<StandingRow> = enrolments::table
        .filter(enrolments::training_session_id.eq(session))
        .filter(enrolments::trainee_id.eq(trainee))
        .select(StandingRow::as_select())
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    let Some(StandingRow { status, waitlist_seq, .. }) = row else { return Ok(None) };
    let waitlist_position = match waitlist_seq {
        Some(seq) => Some(super::waitlist_position(conn, session, seq)?),
        None => None,
    };
    Ok(Some(Standing { status, waitlist_position }))
}

/// Every enrolment of a trainee (cancelled ones last), by session start.
pub fn my_enrolments(conn: &mut DbConn, trainee: &UserId) -> Result<Vec<MyEnrolment>, EnrolmentError> {
    let rows: Vec<StandingRow> = enrolments::table
        .filter(enrolments::trainee_id.eq(trainee))
        .select(StandingRow::as_select())
        .load(conn)
        .map_err(DbError::from)?;
    let ids: Vec<TrainingSessionId> = rows.iter().map(|r| r.training_session_id.clone()).collect();
    let sessions =
        catalogue::list_training_sessions(conn, &TrainingSessionFilter { ids: Some(ids), ..Default::default() })?;
    let mut mine = Vec::with_capacity(rows.len());
    for StandingRow { training_session_id: session_id, status, waitlist_seq: seq, abandoned_at } in rows {
        let Some(session) = sessions.iter().find(|s| s.id == session_id).cloned() else { continue };
        // Only waitlisted enrolments need a rank (usually none or one).
        let waitlist_position = match seq {
            Some(seq) => Some(super::waitlist_position(conn, &session_id, seq)?),
            None => None,
        };
        // Only abandonments show their hours here (rare); the others have their records page.
        let attended_minutes = match status {
            EnrolmentStatus::Abandoned => {
                let minutes = crate::attendance::attended_minutes(conn, &session_id, std::slice::from_ref(trainee))?;
                Some(minutes.get(trainee).copied().unwrap_or(0))
            }
            _ => None,
        };
        mine.push(MyEnrolment { session, status, waitlist_position, abandoned_at, attended_minutes });
    }
    let rank = |s: EnrolmentStatus| match s {
        EnrolmentStatus::Confirmed | EnrolmentStatus::Waitlisted => 0,
        EnrolmentStatus::Completed => 1,
        _ => 2,
    };
    mine.sort_by_key(|e| (rank(e.status), e.session.start));
    Ok(mine)
}

/// One of my next half-days, with where to go (also its row type: fields in the order selected).
#[derive(Debug, Clone, Serialize, PartialEq, Queryable)]
pub struct MyHalfDay {
    /// Half-day.
    pub half_day: HalfDayId,
    /// Session.
    pub session: TrainingSessionId,
    /// Course title.
    pub course_title: String,
    /// Local date.
    pub date: NaiveDate,
    /// `morning` or `afternoon`.
    pub slot: Slot,
    /// Start (UTC).
    pub starts_at: NaiveDateTime,
    /// End (UTC).
    pub ends_at: NaiveDateTime,
    /// Module.
    pub module: Option<String>,
    /// Venue name.
    pub venue_name: String,
    /// Venue street address, when known.
    pub address: Option<String>,
    /// Venue postcode.
    pub postcode: Option<String>,
    /// Venue commune.
    pub commune: String,
    /// Venue slug (its page is `/lieux/{slug}`). Out of the serialised form, which is the API's
    /// contract; the pages read it.
    #[serde(skip)]
    pub venue: String,
}

impl MyHalfDay {
    /// The venue's address on one line (see [`VenueAddress::one_line`]).
    pub fn one_line_address(&self) -> String {
        VenueAddress { street: self.address.as_deref(), postcode: self.postcode.as_deref(), commune: &self.commune }
            .one_line()
    }
}

/// The next half-days of the sessions where the trainee is confirmed (one query).
pub fn my_next_half_days(
    conn: &mut DbConn,
    trainee: &UserId,
    now: NaiveDateTime,
    limit: i64,
) -> Result<Vec<MyHalfDay>, EnrolmentError> {
    half_days::table
        .inner_join(training_sessions::table.inner_join(courses::table))
        .inner_join(venues::table.inner_join(communes::table))
        .filter(
            half_days::training_session_id.eq_any(
                enrolments::table
                    .filter(enrolments::trainee_id.eq(trainee))
                    .filter(enrolments::status.eq(EnrolmentStatus::Confirmed))
                    .select(enrolments::training_session_id),
            ),
        )
        .filter(half_days::ends_at.gt(now))
        .filter(training_sessions::status.ne(crate::catalogue::TrainingSessionStatus::Cancelled))
        .order(half_days::starts_at.asc())
        .limit(limit.clamp(1, 200))
        .select((
            half_days::id,
            half_days::training_session_id,
            courses::title,
            half_days::day,
            half_days::slot,
            half_days::starts_at,
            half_days::ends_at,
            half_days::module,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            venues::slug,
        ))
        .load(conn)
        .map_err(|e| DbError::from(e).into())
}

/// What a convocation states: who is invited, to what, when and where.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Convocation {
    /// Trainee's name.
    pub trainee_name: String,
    /// Trainee's e-mail.
    pub trainee_email: String,
    /// The session with its schedule.
    pub session: TrainingSessionDetail,
    /// Course objectives, as published.
    pub objectives: Vec<String>,
    /// Course duration in hours.
    pub duration_hours: f64,
    /// Where each half-day is held: its own venue's address and access, in schedule order.
    pub places: Vec<HalfDayPlace>,
}

/// Where one half-day is held, beyond the venue's name: what a convocation must say to get there.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HalfDayPlace {
    /// The half-day.
    pub half_day: HalfDayId,
    /// Venue slug (its page is `/lieux/{slug}`).
    pub venue: String,
    /// Venue name.
    pub venue_name: String,
    /// Street, postcode and commune on one line.
    pub address: String,
    /// Step-free access (PMR), when known.
    pub pmr: Option<bool>,
    /// Access details given by the venue, if any (blank is none).
    pub access_note: Option<String>,
}

impl HalfDayPlace {
    /// PMR access and the access note in one French sentence, when either is known.
    pub fn accessibility_fr(&self) -> Option<String> {
        accessibility_fr(self.pmr, self.access_note.as_deref())
    }
}

/// A half-day's venue as stored (row type: fields in the order selected).
#[derive(Queryable)]
struct HalfDayPlaceRow {
    half_day: HalfDayId,
    venue: String,
    venue_name: String,
    address: Option<String>,
    postcode: Option<String>,
    commune: String,
    pmr: Option<bool>,
    access_note: Option<String>,
}

/// Every half-day of a session with its own venue (one query), in schedule order.
fn half_day_places(conn: &mut DbConn, session: &TrainingSessionId) -> Result<Vec<HalfDayPlace>, DbError> {
    let rows: Vec<HalfDayPlaceRow> = half_days::table
        .inner_join(venues::table.inner_join(communes::table))
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select((
            half_days::id,
            venues::slug,
            venues::name,
            venues::address,
            venues::postcode,
            communes::name,
            venues::accessible_pmr,
            venues::accessibility_note,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| HalfDayPlace {
            address: VenueAddress {
                street: row.address.as_deref(),
                postcode: row.postcode.as_deref(),
                commune: &row.commune,
            }
            .one_line(),
            half_day: row.half_day,
            venue: row.venue,
            venue_name: row.venue_name,
            pmr: row.pmr,
            access_note: row.access_note.filter(|n| !n.trim().is_empty()),
        })
        .collect())
}

/// The convocation of the caller, who must hold (or have held to the end) a seat in the session
/// ([`EnrolmentError::NotEnrolled`] otherwise). One read transaction.
pub fn convocation(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
) -> Result<Convocation, EnrolmentError> {
    convocation_of(conn, session, &caller.user.id, &caller.user.name, &caller.user.email)
}

/// [`convocation`] of a trainee named by the core itself (the convocation e-mail).
fn convocation_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    name: &str,
    email: &str,
) -> Result<Convocation, EnrolmentError> {
    db::read_transaction(conn, |conn| {
        if !standing(conn, session, trainee)?.is_some_and(|s| s.status.has_convocation()) {
            return Err(EnrolmentError::NotEnrolled);
        }
        let detail = catalogue::show_training_session(conn, session).map_err(|e| match e {
            catalogue::CatalogueError::UnknownTrainingSession(_) => EnrolmentError::UnknownTrainingSession,
            other => other.into(),
        })?;
        let course = catalogue::find_course(conn, &detail.session.course)?;
        let places = half_day_places(conn, session)?;
        Ok(Convocation {
            places,
            trainee_name: name.to_owned(),
            trainee_email: email.to_owned(),
            objectives: course.objectives,
            duration_hours: detail.scheduled_hours,
            session: detail,
        })
    })
}

/// The printable convocation of the caller (the same rights as [`convocation`]): every half-day
/// with its venue's address and access note, what to bring, whom to call. One read transaction.
pub fn convocation_document(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<ConvocationData, EnrolmentError> {
    document_of(conn, session, &caller.user.id, &caller.user.name, &caller.user.email, now)
}

/// The printable convocation as a PDF for a trainee named by the core itself, not by a caller:
/// the convocation e-mail attaches it, inside the transaction that gave the seat.
pub(crate) fn convocation_pdf_for_trainee(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    name: &str,
    email: &str,
    now: NaiveDateTime,
) -> Result<Vec<u8>, EnrolmentError> {
    let data = document_of(conn, session, trainee, name, email, now)?;
    Ok(render_pdf(&data)?)
}

fn document_of(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    trainee: &UserId,
    name: &str,
    email: &str,
    now: NaiveDateTime,
) -> Result<ConvocationData, EnrolmentError> {
    db::read_transaction(conn, |conn| {
        let convocation = convocation_of(conn, session, trainee, name, email)?;
        let organisation = OrganisationIdentity::load(conn)?;
        let contact = [organisation.email.clone(), organisation.phone.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ");
        let detail = convocation.session;
        let half_days = detail
            .half_days
            .iter()
            .map(|h| {
                let place = convocation.places.iter().find(|p| p.half_day == h.id);
                ConvocationHalfDay {
                    date: h.date,
                    slot: h.slot.label_fr_lower().to_owned(),
                    hours: format!("{} – {}", locale::time_fr(h.starts_at), locale::time_fr(h.ends_at)),
                    module: h.module.clone(),
                    venue_name: h.venue_name.clone(),
                    // The schedule and the places are read in one transaction: a half-day has its place.
                    address: place.map(|p| p.address.clone()).unwrap_or_else(|| h.commune.clone()),
                    access_note: place.and_then(HalfDayPlace::accessibility_fr),
                }
            })
            .collect();
        Ok(ConvocationData {
            organisation: organisation.header_lines(),
            organisation_name: organisation.display_name(),
            organisation_contact: if contact.is_empty() { organisation.display_name() } else { contact },
            trainee_name: convocation.trainee_name,
            trainee_email: convocation.trainee_email,
            course_title: detail.session.course_title.clone(),
            session_reference: detail.session.reference.clone(),
            start: detail.session.start,
            end: detail.session.end,
            duration_hours: convocation.duration_hours,
            half_days,
            // Courses have no field for it yet: every convocation says the same.
            what_to_bring: DEFAULT_WHAT_TO_BRING.to_owned(),
            trainers: detail.trainers.clone(),
            disability_referent: crate::adjustments::referent_contact(conn)?,
            issued_on: locale::to_paris(now).date(),
        })
    })
}

/// The convocation as a PDF (for `/me/convocations/{id}.pdf` and the convocation e-mail).
pub fn convocation_pdf(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<Vec<u8>, EnrolmentError> {
    let data = convocation_document(conn, session, caller, now)?;
    Ok(render_pdf(&data)?)
}

/// What a person sees of their own training: enrolments, next half-days, latest notifications.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MyOverview {
    /// Every enrolment (cancelled ones last).
    pub enrolments: Vec<MyEnrolment>,
    /// The next half-days where they hold a seat.
    pub next_half_days: Vec<MyHalfDay>,
    /// The latest notifications, newest first, as they were before this read.
    pub notifications: Vec<NotificationView>,
}

/// Whether reading the overview marks the notifications as seen (the page does; the API, read by
/// scripts, does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeReading {
    /// Mark every unread notification as seen.
    MarkSeen,
    /// Leave them unread.
    Peek,
}

/// The caller's overview, at most `limit` half-days and notifications, in one transaction (a
/// write transaction when the notifications are marked as seen).
pub fn my_overview(
    conn: &mut DbConn,
    caller: &Caller,
    limit: i64,
    reading: NoticeReading,
    now: NaiveDateTime,
) -> Result<MyOverview, EnrolmentError> {
    let me = &caller.user.id;
    let read = |conn: &mut DbConn| -> Result<MyOverview, EnrolmentError> {
        let enrolments = my_enrolments(conn, me)?;
        let next_half_days = my_next_half_days(conn, me, now, limit)?;
        let notifications = notifications::recent_notifications(conn, me, limit)?;
        if reading == NoticeReading::MarkSeen {
            notifications::mark_all_read(conn, me, now)?;
        }
        Ok(MyOverview { enrolments, next_half_days, notifications })
    };
    match reading {
        NoticeReading::MarkSeen => db::write_transaction(conn, read),
        NoticeReading::Peek => db::read_transaction(conn, read),
    }
}

/// A session page: the public session, its course, whether it takes enrolments, and where the
/// viewer stands in it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SessionPage {
    /// The session with its schedule and trainers.
    pub detail: TrainingSessionDetail,
    /// Its course, as published.
    pub course: catalogue::CourseView,
    /// Whether it takes enrolments now.
    pub open: bool,
    /// Why not, when it does not ([`super::EnrolmentFacts::closure`]).
    pub closure: Option<super::EnrolmentClosure>,
    /// When its enrolments close (UTC): the first half-day's start less the course's deadline.
    pub closes_at: Option<NaiveDateTime>,
    /// The viewer's enrolment in it, if any.
    pub standing: Option<Standing>,
    /// What the viewer's withdrawal would do, when they may withdraw ([`super::withdrawal_effect`]).
    pub withdrawal: Option<super::WithdrawalEffect>,
    /// Its schedule grouped by venue.
    pub venues: Vec<catalogue::VenuePeriods>,
}

/// Everything a session page shows at `now`, for anyone (`viewer` is `None`) or a logged-in person, in one
/// read transaction. Drafts are unknown to everyone ([`catalogue::public_session`]).
pub fn session_page(
    conn: &mut DbConn,
    viewer: Option<&Caller>,
    session: &TrainingSessionId,
    now: NaiveDateTime,
) -> Result<SessionPage, EnrolmentError> {
    db::read_transaction(conn, |conn| {
        let detail = catalogue::public_session(conn, session)?;
        let facts = super::enrolment_facts(conn, session)?;
        let closure = facts.closure(now);
        let course = catalogue::find_course(conn, &detail.session.course)?;
        let venues = catalogue::periods_by_venue(conn, &detail.half_days)?;
        let standing = match viewer {
            Some(viewer) => standing(conn, session, &viewer.user.id)?,
            None => None,
        };
        let withdrawal = standing.and_then(|s| super::withdrawal_effect(s.status, &facts, now).ok());
        Ok(SessionPage {
            withdrawal,
            open: closure.is_none(),
            closure,
            closes_at: facts.closes_at,
            detail,
            course,
            standing,
            venues,
        })
    })
}

/// What the caller's withdrawal from a session would do, for the confirmation page: asked before
/// [`super::cancel`], which decides the same way ([`super::withdrawal_effect`]).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WithdrawalPreview {
    /// The session.
    pub session: TrainingSessionView,
    /// The caller's enrolment now.
    pub status: EnrolmentStatus,
    /// A cancellation, or an abandonment that keeps the hours attended.
    pub effect: super::WithdrawalEffect,
    /// Whether the freed seat goes to the first trainee on the waitlist.
    pub seat_goes_to_waitlist: bool,
    /// The minutes attended so far (kept on the record), for an abandonment.
    pub attended_minutes: Option<i64>,
}

/// What [`super::cancel`] would do for the caller at `now`, refused as it would be (nothing live,
/// session over). One read transaction; nothing is written.
pub fn withdrawal_preview(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    caller: &Caller,
    now: NaiveDateTime,
) -> Result<WithdrawalPreview, EnrolmentError> {
    let me = &caller.user.id;
    db::read_transaction(conn, |conn| {
        let view = catalogue::list_training_sessions(
            conn,
            &TrainingSessionFilter { id: Some(session.clone()), ..Default::default() },
        )?
        .into_iter()
        .next()
        .ok_or(EnrolmentError::UnknownTrainingSession)?;
        let status = standing(conn, session, me)?.ok_or(EnrolmentError::NotEnrolled)?.status;
        let facts = super::enrolment_facts(conn, session)?;
        let effect = super::withdrawal_effect(status, &facts, now)?;
        let attended_minutes = match effect {
            super::WithdrawalEffect::Abandon => {
                let minutes = crate::attendance::attended_minutes(conn, session, std::slice::from_ref(me))?;
                Some(minutes.get(me).copied().unwrap_or(0))
            }
            super::WithdrawalEffect::Cancel => None,
        };
        Ok(WithdrawalPreview {
            seat_goes_to_waitlist: status == EnrolmentStatus::Confirmed && view.waitlisted > 0,
            session: view,
            status,
            effect,
            attended_minutes,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Classify, ErrorKind};

    #[test]
    fn a_storage_failure_while_reading_the_catalogue_keeps_its_kind() {
        // A database outage must answer 503 (retry), never a 422 blaming the input.
        let error = EnrolmentError::from(catalogue::CatalogueError::Db(DbError::Busy));
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        let error = EnrolmentError::from(catalogue::CatalogueError::UnknownCourse("X".into()));
        assert_eq!((error.kind(), error.code()), (ErrorKind::NotFound, "unknown_course"));
    }
}
