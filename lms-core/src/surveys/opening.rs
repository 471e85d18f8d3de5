//! Opening surveys: [`open_due`] is run periodically (by every server, with or without SMTP, and
//! by `lms survey open`) and does what is due at `now`, once each:
//!
//! - for each training session whose last half-day has ended, the « à chaud » surveys (trainees,
//!   and trainers when a trainer questionnaire exists), and `quality.survey_cold_days` later the
//!   « à froid » ones; the questions are copied from the course's questionnaire, else the
//!   default one; each survey closes [`ANSWER_DAYS`] after it opens;
//! - an invitation per invitee (the session's seated trainees, or its trainers), with its e-mail
//!   and a notification on `/me`, in the transaction that opens the survey;
//! - one reminder [`REMINDER_AFTER_DAYS`] after the invitation to whoever has not answered, while
//!   the survey is open.
//!
//! A survey whose answering period would already be over is not opened: the first run on old
//! data does not invite anyone to a questionnaire that is already closed. The unique
//! (session, audience, timing) and the e-mails' dedupe keys make two runs, or two servers at
//! once, open and send each thing once.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::questionnaires::questionnaire_for;
use super::{SurveyAudience, SurveyError, SurveyTiming};
use crate::catalogue::TrainingSessionStatus;
use crate::db::ids::{CourseId, QuestionnaireId, SurveyId, SurveyInvitationId, TrainingSessionId, UserId};
use crate::db::json_text::to_json_text;
use crate::db::schema::{
    enrolments, half_days, session_trainers, survey_invitations, surveys, training_sessions, users,
};
use crate::db::{self, DbConn, DbError};
use crate::documents::organisation::{OrganisationIdentity, QualitySettings};
use crate::enrolment::EnrolmentStatus;
use crate::locale;
use crate::mail::render::{self, Signature};
use crate::mail::{MailKind, OutgoingMail, outbox};
use crate::notifications::{SessionNaming, SessionNews, notify_about_session};

/// Days a survey stays open for answers: long enough for a trainee back at work to find a
/// moment, short enough for the results to describe the session while it is remembered.
pub const ANSWER_DAYS: i64 = 30;

/// Days after the invitation before one reminder goes to whoever has not answered.
pub const REMINDER_AFTER_DAYS: i64 = 7;

/// A survey opened by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenedSurvey {
    /// The survey.
    pub id: SurveyId,
    /// The session's reference.
    pub session: String,
    /// The course's title.
    pub course: String,
    /// Who answers it.
    pub audience: SurveyAudience,
    /// À chaud or à froid.
    pub timing: SurveyTiming,
    /// People invited.
    pub invited: u32,
    /// When it closes (UTC).
    pub closes_at: NaiveDateTime,
}

/// What one run of [`open_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OpeningReport {
    /// Surveys opened, with their invitations.
    pub opened: Vec<OpenedSurvey>,
    /// Reminders sent to people who had not answered.
    pub reminders: u32,
}

/// A session whose last half-day has ended (row type).
#[derive(Queryable)]
struct EndedSession {
    id: TrainingSessionId,
    ended_at: Option<NaiveDateTime>,
}

/// Opens every survey due at `now`, invites, and reminds (see the module's text). One write
/// transaction.
pub fn open_due(conn: &mut DbConn, now: NaiveDateTime) -> Result<OpeningReport, SurveyError> {
    db::write_transaction(conn, |conn| {
        let settings = QualitySettings::load(conn)?;
        let cold_days = i64::from(settings.survey_cold_days);
        // Only half-days recent enough to matter: a session with a later half-day keeps a maximum
        // after `now` and is left out by the HAVING below.
        let oldest = now - Duration::days(cold_days + ANSWER_DAYS);
        let ended: Vec<EndedSession> = half_days::table
            .inner_join(training_sessions::table)
            .filter(
                training_sessions::status.eq_any([TrainingSessionStatus::Published, TrainingSessionStatus::Completed]),
            )
            .filter(half_days::ends_at.gt(oldest))
            .group_by(half_days::training_session_id)
            .having(diesel::dsl::max(half_days::ends_at).le(now))
            .select((half_days::training_session_id, diesel::dsl::max(half_days::ends_at)))
            .load(conn)
            .map_err(DbError::from)?;
        let mut report = OpeningReport::default();
        let mut mailer = Mailer::new(conn)?;
        for session in ended {
            let Some(ended_at) = session.ended_at else { continue };
            for (timing, due) in
                [(SurveyTiming::AChaud, ended_at), (SurveyTiming::AFroid, ended_at + Duration::days(cold_days))]
            {
                if due > now || now >= due + Duration::days(ANSWER_DAYS) {
                    continue;
                }
                for audience in [SurveyAudience::Trainee, SurveyAudience::Trainer] {
                    if let Some(opened) = open_one(conn, &session.id, audience, timing, now, Some(&mut mailer))? {
                        report.opened.push(opened);
                    }
                }
            }
        }
        report.reminders = remind(conn, now, &mut mailer)?;
        Ok(report)
    })
}

/// Writes the e-mails of one run (the organisation's identity read once).
pub(crate) struct Mailer {
    identity: OrganisationIdentity,
    signature: Signature,
}

impl Mailer {
    pub(crate) fn new(conn: &mut DbConn) -> Result<Self, DbError> {
        let identity = OrganisationIdentity::load(conn)?;
        let signature = Signature::from_identity(&identity);
        Ok(Mailer { identity, signature })
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        conn: &mut DbConn,
        kind: MailKind,
        to: &Invitee,
        subject: String,
        key: String,
        data: &MailData,
        now: NaiveDateTime,
    ) -> Result<bool, SurveyError> {
        let rendered = render::render(kind, &to.name, &self.signature, data)?;
        let mail = OutgoingMail {
            kind,
            to_email: to.email.clone(),
            to_name: to.name.clone(),
            sender_name: self.signature.name.clone(),
            reply_to: self.identity.email.clone(),
            subject,
            text_body: rendered.text,
            html_body: rendered.html,
            attachments: Vec::new(),
            dedupe_key: Some(key),
        };
        Ok(outbox::enqueue(conn, &mail, now)?.is_some())
    }
}

/// What the invitation and reminder e-mails state.
#[derive(Debug, Serialize)]
struct MailData {
    course: String,
    reference: String,
    dates: String,
    title: String,
    link_path: String,
    closes_on: String,
    anonymous: bool,
    trainer: bool,
}

impl MailData {
    fn new(
        naming: &SessionNaming,
        survey: &SurveyId,
        title: &str,
        closes_at: NaiveDateTime,
        anonymous: bool,
        audience: SurveyAudience,
    ) -> Self {
        MailData {
            course: naming.title.clone(),
            reference: naming.reference.clone(),
            dates: locale::date_range_fr(naming.start, naming.end),
            title: title.to_owned(),
            link_path: format!("/me/questionnaires/{survey}"),
            closes_on: locale::date_fr(last_day(closes_at)),
            anonymous,
            trainer: audience == SurveyAudience::Trainer,
        }
    }
}

/// The last Paris day on which a survey closing at `closes_at` takes answers.
fn last_day(closes_at: NaiveDateTime) -> NaiveDate {
    locale::to_paris(closes_at - Duration::seconds(1)).date()
}

/// A person invited (row type).
#[derive(Queryable)]
struct Invitee {
    id: UserId,
    email: String,
    name: String,
}

fn invitees(conn: &mut DbConn, session: &TrainingSessionId, audience: SurveyAudience) -> Result<Vec<Invitee>, DbError> {
    match audience {
        SurveyAudience::Trainee => enrolments::table
            .inner_join(users::table)
            .filter(enrolments::training_session_id.eq(session))
            .filter(enrolments::status.eq_any(EnrolmentStatus::SEATED))
            .filter(users::is_active.eq(true))
            .order(users::display_name.asc())
            .select((users::id, users::email, users::display_name))
            .load(conn)
            .map_err(DbError::from),
        SurveyAudience::Trainer => session_trainers::table
            .inner_join(users::table)
            .filter(session_trainers::training_session_id.eq(session))
            .filter(users::is_active.eq(true))
            .order(users::display_name.asc())
            .select((users::id, users::email, users::display_name))
            .load(conn)
            .map_err(DbError::from),
        // Funders are invited one by one, by address.
        SurveyAudience::Funder => Ok(Vec::new()),
    }
}

/// Opens the survey of `session` for `audience` and `timing` at `now` unless it exists or no
/// questionnaire applies, inviting its people; with a `mailer`, each gets an e-mail and a
/// notification (the demo data opens its surveys silently).
pub(crate) fn open_one(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    audience: SurveyAudience,
    timing: SurveyTiming,
    now: NaiveDateTime,
    mailer: Option<&mut Mailer>,
) -> Result<Option<OpenedSurvey>, SurveyError> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        surveys::table
            .filter(surveys::training_session_id.eq(session))
            .filter(surveys::audience.eq(audience))
            .filter(surveys::kind.eq(timing)),
    ))
    .get_result(conn)
    .map_err(DbError::from)?;
    if exists {
        return Ok(None);
    }
    let course: CourseId = training_sessions::table
        .filter(training_sessions::id.eq(session))
        .select(training_sessions::course_id)
        .first(conn)
        .map_err(DbError::from)?;
    let Some(questionnaire) = questionnaire_for(conn, &course, audience, timing)? else { return Ok(None) };
    let people = invitees(conn, session, audience)?;
    if people.is_empty() {
        return Ok(None);
    }
    let id = SurveyId::generate();
    let closes_at = now + Duration::days(ANSWER_DAYS);
    let questions = questionnaire.questions.into_inner();
    let questionnaire_id: QuestionnaireId = questionnaire.id;
    let questions_json = to_json_text(&questions)?;
    // Two servers may open the same survey at once: the UNIQUE (session, audience, kind) decides,
    // and the second quietly opens nothing.
    let inserted = crate::on_inner_connection!(conn, |inner| diesel::insert_into(surveys::table)
        .values((
            surveys::id.eq(&id),
            surveys::training_session_id.eq(session),
            surveys::questionnaire_id.eq(Some(&questionnaire_id)),
            surveys::audience.eq(audience),
            surveys::kind.eq(timing),
            surveys::title.eq(&questionnaire.title),
            surveys::questions.eq(&questions_json),
            surveys::anonymous.eq(questionnaire.anonymous),
            surveys::opens_at.eq(now),
            surveys::closes_at.eq(closes_at),
            surveys::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(inner))
    .map_err(DbError::from)?;
    if inserted == 0 {
        return Ok(None);
    }
    for person in &people {
        diesel::insert_into(survey_invitations::table)
            .values((
                survey_invitations::id.eq(SurveyInvitationId::generate()),
                survey_invitations::survey_id.eq(&id),
                survey_invitations::person_id.eq(Some(&person.id)),
                survey_invitations::invited_at.eq(now),
            ))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    let naming = SessionNaming::load(conn, session)?;
    if let Some(mailer) = mailer {
        let data = MailData::new(&naming, &id, &questionnaire.title, closes_at, questionnaire.anonymous, audience);
        let subject = format!("Votre avis sur « {} » ({})", naming.title, naming.reference);
        for person in &people {
            let key = format!("survey:invite:{id}:{}", person.id);
            mailer.send(conn, MailKind::SurveyInvitation, person, subject.clone(), key, &data, now)?;
        }
        let ids: Vec<UserId> = people.iter().map(|p| p.id.clone()).collect();
        let news = SessionNews::SurveyOpened { survey: &id, closes_on: last_day(closes_at) };
        notify_about_session(conn, &ids, &news, session, now)?;
    }
    Ok(Some(OpenedSurvey {
        id,
        session: naming.reference,
        course: naming.title,
        audience,
        timing,
        invited: u32::try_from(people.len()).unwrap_or(u32::MAX),
        closes_at,
    }))
}

/// An invitation to remind (row type).
#[derive(Queryable)]
struct ToRemind {
    invitation: SurveyInvitationId,
    survey: SurveyId,
    session: TrainingSessionId,
    title: String,
    anonymous: bool,
    audience: SurveyAudience,
    closes_at: NaiveDateTime,
    person: UserId,
    email: String,
    name: String,
}

fn remind(conn: &mut DbConn, now: NaiveDateTime, mailer: &mut Mailer) -> Result<u32, SurveyError> {
    let rows: Vec<ToRemind> = survey_invitations::table
        .inner_join(surveys::table)
        .inner_join(users::table)
        .filter(survey_invitations::answered_at.is_null())
        .filter(survey_invitations::reminded_at.is_null())
        .filter(survey_invitations::invited_at.le(now - Duration::days(REMINDER_AFTER_DAYS)))
        .filter(surveys::closes_at.gt(now))
        .filter(surveys::opens_at.le(now))
        .filter(users::is_active.eq(true))
        .select((
            survey_invitations::id,
            surveys::id,
            surveys::training_session_id,
            surveys::title,
            surveys::anonymous,
            surveys::audience,
            surveys::closes_at,
            users::id,
            users::email,
            users::display_name,
        ))
        .load(conn)
        .map_err(DbError::from)?;
    let mut sent = 0;
    let mut namings: std::collections::HashMap<TrainingSessionId, SessionNaming> = std::collections::HashMap::new();
    for row in rows {
        let naming = match namings.get(&row.session) {
            Some(naming) => naming.clone(),
            None => {
                let naming = SessionNaming::load(conn, &row.session)?;
                namings.insert(row.session.clone(), naming.clone());
                naming
            }
        };
        let data = MailData::new(&naming, &row.survey, &row.title, row.closes_at, row.anonymous, row.audience);
        let subject = format!("Rappel : votre avis sur « {} » ({})", naming.title, naming.reference);
        let invitee = Invitee { id: row.person, email: row.email, name: row.name };
        let key = format!("survey:remind:{}", row.invitation);
        if mailer.send(conn, MailKind::SurveyReminder, &invitee, subject, key, &data, now)? {
            sent += 1;
        }
        diesel::update(survey_invitations::table.filter(survey_invitations::id.eq(&row.invitation)))
            .set(survey_invitations::reminded_at.eq(Some(now)))
            .execute(conn)
            .map_err(DbError::from)?;
    }
    Ok(sent)
}
