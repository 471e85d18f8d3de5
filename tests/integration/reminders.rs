//! Reminders (`lms_core::mail::reminders::enqueue_due`) at a controlled `now`: the week-before
//! and day-before reminders of confirmed trainees, once each, before the first half-day and
//! before each new period at another venue; the trainers' reminder for an ended half-day whose
//! sheet is not co-signed; `lms mail remind`; the rendered reminder (snapshot).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::attendance::recording::{self, SheetInput, SheetLine};
use lms_core::attendance::{AttendanceStatus, SignatureMethod};
use lms_core::catalogue::{self, NewTrainingSession, PlannedDay};
use lms_core::db::ids::{HalfDayId, TrainingSessionId, UserId, VenueId};
use lms_core::db::schema::{half_days, outbox_messages, training_sessions};
use lms_core::enrolment::{self, EnrolmentRequest};
use lms_core::mail::reminders::{self, ReminderReport};
use lms_core::mail::{MailKind, OutgoingMail};
use lms_core::people::{self, Role};
use lms_tests::*;

/// A published session of `days` working days at one venue, starting 20 days or more from today.
fn session(conn: &mut DbConn, offset_days: i64, capacity: i32, trainers: &[&str]) -> TrainingSessionId {
    let start = catalogue::next_working_day(
        catalogue::paris_today() + chrono::Duration::days(offset_days),
        catalogue::HolidayRegion::General,
    );
    let days = catalogue::consecutive_working_days(start, 2, catalogue::HolidayRegion::General).unwrap();
    catalogue::create_training_session(
        conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: days.into_iter().map(|date| PlannedDay { date, venue_slug: "cowork-etc-saintes".into() }).collect(),
            capacity,
            trainer_emails: trainers.iter().map(|t| (*t).to_owned()).collect(),
            publish: true,
            reference: None,
        },
    )
    .unwrap()
    .id
}

fn user(conn: &mut DbConn, email: &str, role: Role) -> UserId {
    people::add_user_without_password(conn, email, email, role).unwrap().id
}

fn enrol(conn: &mut DbConn, session: &TrainingSessionId, who: &UserId) {
    let caller = lms_core::access::caller_for(conn, who).unwrap();
    enrolment::enrol_as(conn, session, &caller, &EnrolmentRequest::default(), lms_core::db::now()).unwrap();
}

/// A session's half-days in order: id, start, end, venue.
fn schedule(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<(HalfDayId, NaiveDateTime, NaiveDateTime, VenueId)> {
    half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select((half_days::id, half_days::starts_at, half_days::ends_at, half_days::venue_id))
        .load(conn)
        .unwrap()
}

/// `hour` o'clock, Paris time, `days` days before the Paris date of `start` (as UTC).
fn paris_days_before(start: NaiveDateTime, days: i64, hour: u32) -> NaiveDateTime {
    let day = paris_day(start) - chrono::Duration::days(days);
    let local = day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap());
    // Paris's offset at that moment (the tests avoid the hour of a clock change).
    local - (lms_core::locale::to_paris(local) - local)
}

fn paris_day(utc: NaiveDateTime) -> NaiveDate {
    lms_core::locale::to_paris(utc).date()
}

/// Reminders in the outbox whose key ends with `suffix`: (kind, recipient, dedupe key).
fn reminders_for(conn: &mut DbConn, pattern: &str) -> Vec<(MailKind, String, String)> {
    let rows: Vec<(MailKind, String, Option<String>)> = outbox_messages::table
        .filter(outbox_messages::dedupe_key.like(pattern))
        .order(outbox_messages::recipient_email.asc())
        .select((outbox_messages::kind, outbox_messages::recipient_email, outbox_messages::dedupe_key))
        .load(conn)
        .unwrap();
    rows.into_iter().map(|(k, to, key)| (k, to, key.unwrap_or_default())).collect()
}

fn outbox_count(conn: &mut DbConn) -> i64 {
    outbox_messages::table.count().get_result(conn).unwrap()
}

fn run(conn: &mut DbConn, now: NaiveDateTime) -> ReminderReport {
    reminders::enqueue_due(conn, now).unwrap()
}

#[test]
fn trainees_get_a_week_before_and_a_day_before_reminder_once_and_only_when_confirmed() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    // The same dates for three sessions: one ordinary (capacity 1, a second trainee waits), one
    // whose trainee withdrew, one cancelled.
    let open = session(&mut conn, 20, 1, &[]);
    let withdrawn = session(&mut conn, 20, 5, &[]);
    let called_off = session(&mut conn, 20, 5, &[]);
    let confirmed = user(&mut conn, "confirmee@example.org", Role::Trainee);
    let waiting = user(&mut conn, "attente@example.org", Role::Trainee);
    let gone = user(&mut conn, "partie@example.org", Role::Trainee);
    let victim = user(&mut conn, "annulee@example.org", Role::Trainee);
    enrol(&mut conn, &open, &confirmed);
    enrol(&mut conn, &open, &waiting);
    enrol(&mut conn, &withdrawn, &gone);
    let caller = lms_core::access::caller_for(&mut conn, &gone).unwrap();
    enrolment::cancel(&mut conn, &withdrawn, &caller, lms_core::db::now()).unwrap();
    enrol(&mut conn, &called_off, &victim);
    catalogue::cancel_training_session(
        &mut conn,
        lms_core::rights::Actor::Console,
        &called_off,
        "Salle inondée",
        lms_core::db::now(),
    )
    .unwrap();

    let plan = schedule(&mut conn, &open);
    let (first, start) = (plan[0].0.clone(), plan[0].1);
    let pattern = format!("reminder:%:{first}");

    // Eight days before (late evening, Paris): nothing yet.
    assert_eq!(run(&mut conn, paris_days_before(start, 8, 23)).total(), 0);
    // Seven days before, just after midnight Paris: the week-before reminder, to the confirmed one.
    let week = run(&mut conn, paris_days_before(start, 7, 0));
    assert_eq!(week, ReminderReport { trainee_week_before: 1, trainee_day_before: 0, trainer_cosign: 0 });
    assert_eq!(
        reminders_for(&mut conn, &pattern),
        [(
            MailKind::ReminderTrainee,
            "confirmee@example.org".to_owned(),
            format!("reminder:j7:{}:{first}", {
                let id: String = lms_core::db::schema::enrolments::table
                    .filter(lms_core::db::schema::enrolments::trainee_id.eq(&confirmed))
                    .select(lms_core::db::schema::enrolments::id)
                    .first(&mut conn)
                    .unwrap();
                id
            })
        )]
    );
    // Run again, and later in the week: nothing more.
    assert_eq!(run(&mut conn, paris_days_before(start, 7, 0)).total(), 0);
    assert_eq!(run(&mut conn, paris_days_before(start, 3, 10)).total(), 0);
    // The day before: the day-before reminder, once.
    let day = run(&mut conn, paris_days_before(start, 1, 8));
    assert_eq!(day, ReminderReport { trainee_week_before: 0, trainee_day_before: 1, trainer_cosign: 0 });
    assert_eq!(run(&mut conn, paris_days_before(start, 1, 18)).total(), 0);
    assert_eq!(reminders_for(&mut conn, &pattern).len(), 2);
    // Never a reminder to the waiting, the withdrawn or the cancelled session's trainee.
    for who in ["attente@example.org", "partie@example.org", "annulee@example.org"] {
        let n: i64 = outbox_messages::table
            .filter(outbox_messages::recipient_email.eq(who))
            .filter(outbox_messages::kind.eq(MailKind::ReminderTrainee))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(n, 0, "{who}");
    }
}

#[test]
fn a_missed_reminder_is_sent_late_but_never_after_the_start() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let open = session(&mut conn, 20, 5, &[]);
    let trainee = user(&mut conn, "confirmee@example.org", Role::Trainee);
    enrol(&mut conn, &open, &trainee);
    let start = schedule(&mut conn, &open)[0].1;

    // The first run after the start (the server was down all week): nothing about that start.
    let before = outbox_count(&mut conn);
    assert_eq!(run(&mut conn, start).total(), 0);
    assert_eq!(run(&mut conn, start + chrono::Duration::hours(2)).total(), 0);
    assert_eq!(outbox_count(&mut conn), before);

    // Missed on the seventh day, sent on the fifth; on the day itself, before the start, the
    // day-before one is sent (and no late week-before one).
    let late = TestDb::new(Seed::Reference);
    let mut conn = late.conn();
    let open = session(&mut conn, 20, 5, &[]);
    let trainee = user(&mut conn, "confirmee@example.org", Role::Trainee);
    enrol(&mut conn, &open, &trainee);
    let start = schedule(&mut conn, &open)[0].1;
    assert_eq!(run(&mut conn, paris_days_before(start, 5, 9)).trainee_week_before, 1);
    let same_day = run(&mut conn, start - chrono::Duration::minutes(30));
    assert_eq!(same_day, ReminderReport { trainee_week_before: 0, trainee_day_before: 1, trainer_cosign: 0 });
}

#[test]
fn a_session_at_four_venues_gets_reminders_before_each_new_period() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session: TrainingSessionId = training_sessions::table
        .filter(training_sessions::reference.eq("PTL-NA-DEMO-2"))
        .select(training_sessions::id)
        .first(&mut conn)
        .unwrap();
    let plan = schedule(&mut conn, &session);
    let period_starts: Vec<_> = plan
        .iter()
        .enumerate()
        .filter(|(i, row)| *i == 0 || plan[i - 1].3 != row.3)
        .map(|(_, row)| row.clone())
        .collect();
    assert_eq!(period_starts.len(), 4, "four venues, four periods");
    for (i, (half_day, start, _, _)) in period_starts.iter().enumerate() {
        let pattern = format!("reminder:%:{half_day}");
        run(&mut conn, paris_days_before(*start, 7, 12));
        let week = reminders_for(&mut conn, &pattern);
        let to: Vec<&str> = week.iter().map(|(_, to, _)| to.as_str()).collect();
        assert_eq!(to, ["nadia.haddad@example.org", "pierre.lefebvre@example.org"], "period {i}");
        assert!(week.iter().all(|(_, _, key)| key.starts_with("reminder:j7:")), "{week:?}");
        run(&mut conn, paris_days_before(*start, 1, 12));
        run(&mut conn, paris_days_before(*start, 1, 12));
        assert_eq!(reminders_for(&mut conn, &pattern).len(), 4, "period {i}");
        let text: String = outbox_messages::table
            .filter(outbox_messages::dedupe_key.like(format!("reminder:j1:%:{half_day}")))
            .select(outbox_messages::text_body)
            .first(&mut conn)
            .unwrap();
        let opening = if i == 0 { "commence." } else { "continue dans un autre lieu." };
        assert!(text.contains(opening), "{text}");
        assert!(text.contains("Demi-journées dans ce lieu (10)"), "{text}");
    }
    // Only period starts: no half-day inside a period gets a reminder.
    let all: i64 = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::ReminderTrainee))
        .filter(outbox_messages::recipient_email.eq_any(["nadia.haddad@example.org", "pierre.lefebvre@example.org"]))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(all, 16);
}

#[test]
fn trainers_are_reminded_of_an_ended_half_day_not_co_signed() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    user(&mut conn, "formatrice@example.org", Role::Trainer);
    user(&mut conn, "formateur@example.org", Role::Trainer);
    let trainers = ["formatrice@example.org", "formateur@example.org"];
    let open = session(&mut conn, 20, 5, &trainers);
    let called_off = session(&mut conn, 40, 5, &trainers);
    let trainee = user(&mut conn, "confirmee@example.org", Role::Trainee);
    enrol(&mut conn, &open, &trainee);
    catalogue::cancel_training_session(
        &mut conn,
        lms_core::rights::Actor::Console,
        &called_off,
        "Salle inondée",
        lms_core::db::now(),
    )
    .unwrap();
    let plan = schedule(&mut conn, &open);
    let (morning, afternoon) = (&plan[0], &plan[1]);
    let cosign_keys = "reminder:cosign:%";

    // Under 30 minutes after the end: nothing yet.
    assert_eq!(run(&mut conn, morning.2 + chrono::Duration::minutes(29)).trainer_cosign, 0);
    // Past it: both trainers, once.
    let report = run(&mut conn, morning.2 + chrono::Duration::minutes(31));
    assert_eq!(report, ReminderReport { trainee_week_before: 0, trainee_day_before: 0, trainer_cosign: 2 });
    assert_eq!(run(&mut conn, morning.2 + chrono::Duration::minutes(40)).total(), 0);
    let queued = reminders_for(&mut conn, cosign_keys);
    let to: Vec<&str> = queued.iter().map(|(_, to, _)| to.as_str()).collect();
    assert_eq!(to, ["formateur@example.org", "formatrice@example.org"]);
    assert!(queued.iter().all(|(kind, _, key)| *kind == MailKind::ReminderCosign
        && key.starts_with(&format!("reminder:cosign:{}:", morning.0))));
    let text: String = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::ReminderCosign))
        .select(outbox_messages::text_body)
        .first(&mut conn)
        .unwrap();
    assert!(text.contains(&format!("/trainer/sessions/{open}/half-days/{}", morning.0)), "{text}");

    // The afternoon is recorded and co-signed before it ends: no reminder for it.
    let trainer = people::find_user_by_email(&mut conn, "formatrice@example.org").unwrap().id;
    let caller = lms_core::access::caller_for(&mut conn, &trainer).unwrap();
    let during = afternoon.1 + chrono::Duration::hours(1);
    let sheet = SheetInput {
        lines: vec![SheetLine {
            trainee: "confirmee@example.org".into(),
            status: AttendanceStatus::Present,
            minutes: 0,
            reason: None,
        }],
        method: SignatureMethod::TrainerEntry,
        evidence_sha256: None,
        correction_reason: None,
    };
    recording::record_sheet(&mut conn, &caller, &open, &afternoon.0, &sheet, during).unwrap();
    recording::cosign_sheet(&mut conn, &caller, &open, &afternoon.0, during).unwrap();
    assert_eq!(run(&mut conn, afternoon.2 + chrono::Duration::hours(2)).trainer_cosign, 0);
    // The next day's morning, not co-signed, is reminded of; a week later, old half-days are not.
    let next_morning = &plan[2];
    assert_eq!(run(&mut conn, next_morning.2 + chrono::Duration::hours(1)).trainer_cosign, 2);
    assert_eq!(run(&mut conn, plan[3].2 + chrono::Duration::days(8)).trainer_cosign, 0);
    // The cancelled session's half-days never give a reminder.
    let cancelled_plan = schedule(&mut conn, &called_off);
    assert_eq!(run(&mut conn, cancelled_plan[0].2 + chrono::Duration::hours(1)).trainer_cosign, 0);
    assert_eq!(reminders_for(&mut conn, cosign_keys).len(), 4);
}

#[test]
fn lms_mail_remind_runs_the_producer_once() {
    let db = TestDb::new(Seed::Reference);
    let out = lms(&db, &["--json", "mail", "remind"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report, serde_json::json!({"trainee_week_before": 0, "trainee_day_before": 0, "trainer_cosign": 0}));
    let text = lms(&db, &["mail", "remind"], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("Rappels mis en file : 0 à une semaine"), "{}", text.stdout);
}

fn rendered(mail: &OutgoingMail, replace: &[(String, String)]) -> String {
    let mut text = format!(
        "Kind: {}\nTo: {} <{}>\nSubject: {}\n\n{}\n----- HTML -----\n{}",
        mail.kind, mail.to_name, mail.to_email, mail.subject, mail.text_body, mail.html_body
    );
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn the_reminders_render_in_french() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    user(&mut conn, "formatrice@example.org", Role::Trainer);
    let open = session(&mut conn, 20, 5, &["formatrice@example.org"]);
    let trainee = user(&mut conn, "confirmee@example.org", Role::Trainee);
    enrol(&mut conn, &open, &trainee);
    let plan = schedule(&mut conn, &open);
    let reference = catalogue::find_training_session(&mut conn, &open).unwrap().reference;
    run(&mut conn, paris_days_before(plan[0].1, 1, 12));
    run(&mut conn, plan[0].2 + chrono::Duration::hours(1));
    let days: Vec<NaiveDate> = plan.iter().map(|row| paris_day(row.1)).collect();
    let mut replace = vec![
        (open.to_string(), "[session]".to_owned()),
        (reference, "[référence]".to_owned()),
        (plan[0].0.to_string(), "[demi-journée]".to_owned()),
    ];
    for (i, day) in days.iter().enumerate().rev() {
        replace.push((lms_core::locale::date_fr(*day), format!("[jour {}]", i / 2 + 1)));
    }
    let rows: Vec<(MailKind, String, String, String, String, String)> = outbox_messages::table
        .filter(outbox_messages::kind.eq_any([MailKind::ReminderTrainee, MailKind::ReminderCosign]))
        .order(outbox_messages::kind.desc())
        .select((
            outbox_messages::kind,
            outbox_messages::recipient_name,
            outbox_messages::recipient_email,
            outbox_messages::subject,
            outbox_messages::text_body,
            outbox_messages::html_body,
        ))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows.len(), 2);
    for (kind, to_name, to_email, subject, text_body, html_body) in rows {
        let mail = OutgoingMail {
            kind,
            to_email,
            to_name,
            sender_name: String::new(),
            reply_to: None,
            subject,
            text_body,
            html_body,
            attachments: vec![],
            dedupe_key: None,
        };
        insta::assert_snapshot!(format!("mail_{kind}"), rendered(&mail, &replace));
    }
}

#[tokio::test]
async fn the_mail_worker_queues_and_sends_reminders_once_with_two_servers() {
    let db = TestDb::new(Seed::Reference);
    let open = {
        let mut conn = db.conn();
        user(&mut conn, "formatrice@example.org", Role::Trainer);
        let open = session(&mut conn, 20, 5, &["formatrice@example.org"]);
        // Its first half-day is moved to have ended an hour ago, without a co-signature.
        let first = schedule(&mut conn, &open)[0].0.clone();
        let now = lms_core::db::now();
        diesel::update(half_days::table.find(&first))
            .set((
                half_days::starts_at.eq(now - chrono::Duration::hours(4)),
                half_days::ends_at.eq(now - chrono::Duration::hours(1)),
            ))
            .execute(&mut conn)
            .unwrap();
        open
    };
    let sink = lms_tests::smtp_sink::SmtpSink::start().await;
    for _ in 0..2 {
        let url = sink.url();
        spawn_server_with(&db, move |config| {
            config.smtp_url = Some(url);
            config.mail_poll = std::time::Duration::from_millis(100);
        })
        .await;
    }
    let received = sink.wait_for(1, std::time::Duration::from_secs(30)).await;
    let message = mail_parser::MessageParser::default().parse(&received[0]).expect("a MIME message");
    assert!(message.subject().unwrap_or_default().starts_with("À contresigner"), "{:?}", message.subject());
    let text = message.body_text(0).expect("a text/plain part");
    assert!(text.contains(&format!("/trainer/sessions/{open}/half-days/")), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(sink.messages().len(), 1, "one reminder, whichever server queued it");
    assert_eq!(reminders_for(&mut db.conn(), "reminder:cosign:%").len(), 1);
}
