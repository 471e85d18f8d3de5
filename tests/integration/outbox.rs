//! The e-mail outbox: messages written in the same transaction as the change, sent by the
//! server's worker to a real SMTP server on 127.0.0.1 (the sink of the harness), kept pending
//! through an outage, sent once with two workers, listed and retried from the CLI, and the
//! rendered messages (snapshots).

use std::time::Duration;

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::catalogue::{self, NewTrainingSession, PlannedDay};
use lms_core::db::ids::{TrainingSessionId, UserId};
use lms_core::db::schema::outbox_messages;
use lms_core::enrolment::{self, EnrolmentRequest};
use lms_core::mail::outbox::{self, OutboxView};
use lms_core::mail::{MailKind, OutboxStatus};
use lms_core::people::{self, Role};
use lms_tests::smtp_sink::SmtpSink;
use lms_tests::*;

pub(crate) fn session_on(
    conn: &mut DbConn,
    start: chrono::NaiveDate,
    capacity: i32,
    publish: bool,
) -> TrainingSessionId {
    let days = catalogue::consecutive_working_days(start, 2, catalogue::HolidayRegion::General).unwrap();
    catalogue::create_training_session(
        conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: days.into_iter().map(|date| PlannedDay { date, venue_slug: "cowork-etc-saintes".into() }).collect(),
            capacity,
            trainer_emails: vec![],
            publish,
            reference: None,
        },
    )
    .unwrap()
    .id
}

pub(crate) fn upcoming_session(conn: &mut DbConn, capacity: i32) -> TrainingSessionId {
    let start = catalogue::next_working_day(
        catalogue::paris_today() + chrono::Duration::days(20),
        catalogue::HolidayRegion::General,
    );
    session_on(conn, start, capacity, true)
}

pub(crate) fn trainee(conn: &mut DbConn, i: usize) -> UserId {
    people::add_user_without_password(
        conn,
        &format!("stagiaire{i}@example.org"),
        &format!("Stagiaire {i}"),
        Role::Trainee,
    )
    .unwrap()
    .id
}

pub(crate) fn enrol(
    conn: &mut DbConn,
    session: &TrainingSessionId,
    who: &UserId,
) -> Result<(), enrolment::EnrolmentError> {
    let caller = lms_core::access::caller_for(conn, who).unwrap();
    enrolment::enrol_as(conn, session, &caller, &EnrolmentRequest::default(), lms_core::db::now()).map(|_| ())
}

pub(crate) fn messages(conn: &mut DbConn) -> Vec<OutboxView> {
    let mut all = outbox::list(conn, None, 10_000).unwrap();
    all.reverse();
    all
}

fn kinds(conn: &mut DbConn) -> Vec<(MailKind, String)> {
    messages(conn).into_iter().map(|m| (m.kind, m.to)).collect()
}

pub(crate) fn set_identity(db: &TestDb) {
    for (key, value) in [
        ("organisation.name", "Coopérative des formations en tiers-lieux"),
        ("organisation.address", "12 rue des Ateliers"),
        ("organisation.postcode", "17100"),
        ("organisation.city", "Saintes"),
        ("organisation.email", "contact@coop-formation.example.org"),
        ("organisation.phone", "05 46 00 00 00"),
    ] {
        assert_eq!(lms(db, &["documents", "setting", key, value], None).code, 0, "{key}");
    }
}

#[test]
fn enrolment_promotion_and_cancellation_write_their_message_in_the_same_transaction() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = upcoming_session(&mut conn, 1);
    let (first, second) = (trainee(&mut conn, 1), trainee(&mut conn, 2));

    enrol(&mut conn, &session, &first).unwrap();
    enrol(&mut conn, &session, &second).unwrap();
    enrol(&mut conn, &session, &second).unwrap(); // a repeat writes nothing
    assert_eq!(
        kinds(&mut conn),
        [
            (MailKind::Convocation, "stagiaire1@example.org".to_owned()),
            (MailKind::Waitlisted, "stagiaire2@example.org".to_owned())
        ]
    );
    let waitlisted: String = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::Waitlisted))
        .select(outbox_messages::text_body)
        .first(&mut conn)
        .unwrap();
    assert!(waitlisted.contains("au rang 1"), "{waitlisted}");

    // A refused enrolment (a draft session) writes no message.
    let draft = session_on(
        &mut conn,
        catalogue::next_working_day(
            catalogue::paris_today() + chrono::Duration::days(40),
            catalogue::HolidayRegion::General,
        ),
        5,
        false,
    );
    assert!(enrol(&mut conn, &draft, &first).is_err());
    assert_eq!(messages(&mut conn).len(), 2);

    // The first cancels: the second is promoted and gets the convocation.
    let caller = lms_core::access::caller_for(&mut conn, &first).unwrap();
    enrolment::cancel(&mut conn, &session, &caller, lms_core::db::now()).unwrap();
    let all = messages(&mut conn);
    assert_eq!((all[2].kind, all[2].to.as_str()), (MailKind::Promotion, "stagiaire2@example.org"));
    assert!(all[2].subject.contains("Une place s'est libérée"), "{}", all[2].subject);

    // Cancelling the session tells the one still enrolled; a refused cancellation writes nothing.
    let bad = lms(&db, &["session", "cancel", session.as_str(), "--reason", " "], None);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert_eq!(messages(&mut conn).len(), 3);
    let out = lms(&db, &["session", "cancel", session.as_str(), "--reason", "Salle inondée"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = messages(&mut conn);
    assert_eq!(all.len(), 4);
    assert_eq!((all[3].kind, all[3].to.as_str()), (MailKind::SessionCancelled, "stagiaire2@example.org"));
    let text: String = outbox_messages::table
        .filter(outbox_messages::kind.eq(MailKind::SessionCancelled))
        .select(outbox_messages::text_body)
        .first(&mut conn)
        .unwrap();
    assert!(text.contains("Motif : Salle inondée"), "{text}");

    // Without a server sending them, they all wait, and `lms mail list` shows them.
    let listed = lms(&db, &["--json", "mail", "list", "--status", "pending"], None);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 4);
    let first_listed = &listed[0];
    for key in ["id", "kind", "to", "subject", "status", "attempts", "last_error", "created_at", "sent_at"] {
        assert!(first_listed.get(key).is_some(), "{key} missing from {first_listed}");
    }
    assert_eq!(first_listed["status"], "pending");
    let none_sent = lms(&db, &["--json", "mail", "list", "--status", "sent"], None);
    assert_eq!(none_sent.stdout.trim(), "[]");
    let bad_status = lms(&db, &["mail", "list", "--status", "envoyé"], None);
    assert_eq!(bad_status.code, 2, "a value outside the list is a usage error");
}

pub(crate) fn parse(raw: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default().parse(raw).expect("a MIME message")
}

pub(crate) async fn wait_until(db: &TestDb, what: &str, check: impl Fn(&[OutboxView]) -> bool) -> Vec<OutboxView> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let all = messages(&mut db.conn());
        if check(&all) {
            return all;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn fast_worker(sink: &SmtpSink) -> impl FnOnce(&mut lms_server::Config) + use<> {
    let url = sink.url();
    move |config: &mut lms_server::Config| {
        config.smtp_url = Some(url);
        config.mail_poll = Duration::from_millis(100);
        config.mail_retry_base = Duration::from_secs(1);
        config.public_url = "https://formation.example.org".into();
    }
}

#[tokio::test]
async fn the_worker_sends_mime_messages_and_an_smtp_outage_leaves_them_pending_until_it_returns() {
    let db = TestDb::new(Seed::Reference);
    set_identity(&db);
    let mut sink = SmtpSink::start().await;
    sink.stop().await; // the SMTP server is down when the server starts
    {
        let mut conn = db.conn();
        let session = upcoming_session(&mut conn, 5);
        let who = trainee(&mut conn, 1);
        enrol(&mut conn, &session, &who).unwrap();
    }
    spawn_server_with(&db, fast_worker(&sink)).await;

    let failed = wait_until(&db, "a failed attempt", |all| all[0].attempts >= 1 && all[0].last_error.is_some()).await;
    assert_eq!(failed[0].status, OutboxStatus::Pending, "an outage is retried, not given up");
    assert!(failed[0].last_error.as_deref().unwrap_or_default().contains("SMTP"), "{:?}", failed[0].last_error);
    assert!(sink.messages().is_empty());

    sink.restart().await;
    let received = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 1);
    let sent = wait_until(&db, "the message marked sent", |all| all[0].status == OutboxStatus::Sent).await;
    assert!(sent[0].sent_at.is_some());
    assert!(sent[0].last_error.is_none());

    let message = parse(&received[0]);
    assert!(message.subject().unwrap_or_default().starts_with("Convocation : « "), "{:?}", message.subject());
    let from = message.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.name(), Some("Coopérative des formations en tiers-lieux"));
    assert_eq!(from.address(), Some("no-reply@localhost"));
    let to = message.to().and_then(|t| t.first()).expect("To");
    assert_eq!(to.address(), Some("stagiaire1@example.org"));
    let reply_to = message.reply_to().and_then(|t| t.first()).expect("Reply-To");
    assert_eq!(reply_to.address(), Some("contact@coop-formation.example.org"));
    assert_eq!(message.message_id(), Some(format!("{}@localhost", sent[0].id).as_str()));
    let text = message.body_text(0).expect("a text/plain part");
    let html = message.body_html(0).expect("a text/html part");
    assert!(text.contains("Bonjour Stagiaire 1,"), "{text}");
    assert!(text.contains("https://formation.example.org/me"), "{text}");
    assert!(text.contains("CoWork ETC"), "the venue is named: {text}");
    assert!(text.contains("05 46 00 00 00"), "whom to call: {text}");
    assert!(html.contains("href=\"https://formation.example.org/me\""), "{html}");
    assert!(!text.contains("LMS_PUBLIC_URL"), "the marker is replaced");

    // Sent once: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn two_servers_on_one_database_send_each_message_once() {
    let db = TestDb::new(Seed::Reference);
    let count = 24;
    {
        let mut conn = db.conn();
        let session = upcoming_session(&mut conn, count as i32);
        for i in 0..count {
            let who = trainee(&mut conn, i);
            enrol(&mut conn, &session, &who).unwrap();
        }
    }
    let sink = SmtpSink::start().await;
    spawn_server_with(&db, fast_worker(&sink)).await;
    spawn_server_with(&db, fast_worker(&sink)).await;
    let received = sink.wait_for(count, Duration::from_secs(60)).await;
    wait_until(&db, "every message sent", |all| all.iter().all(|m| m.status == OutboxStatus::Sent)).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = if received.len() < sink.messages().len() { sink.messages() } else { received };
    let mut ids: Vec<String> =
        received.iter().map(|raw| parse(raw).message_id().unwrap_or_default().to_owned()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(sink.messages().len(), count, "each message arrives once");
    assert_eq!(ids.len(), count, "one Message-ID per message");
    let attempts: Vec<i32> = messages(&mut db.conn()).iter().map(|m| m.attempts).collect();
    assert!(attempts.iter().all(|a| *a == 1), "{attempts:?}");
}

#[test]
fn a_crashed_workers_lease_runs_out_and_failures_back_off_then_give_up() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = upcoming_session(&mut conn, 5);
    let who = trainee(&mut conn, 1);
    enrol(&mut conn, &session, &who).unwrap();
    let now = lms_core::db::now();
    let claimed = outbox::claim(&mut conn, 10, now).unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(outbox::claim(&mut conn, 10, now).unwrap().is_empty(), "leased: nobody else takes it");
    let later = now + chrono::Duration::minutes(outbox::LEASE_MINUTES) + chrono::Duration::seconds(1);
    let again = outbox::claim(&mut conn, 10, later).unwrap();
    assert_eq!(again.len(), 1, "the lease ran out: claimable again");
    assert_eq!(again[0].attempts, 2);

    let id = again[0].id.clone();
    let status = outbox::mark_failed(&mut conn, &id, "refusé", 3, chrono::Duration::minutes(1), later).unwrap();
    assert_eq!(status, OutboxStatus::Pending);
    assert!(outbox::claim(&mut conn, 10, later).unwrap().is_empty(), "waits its back-off");
    let after = later + chrono::Duration::minutes(2) + chrono::Duration::seconds(1);
    assert_eq!(outbox::claim(&mut conn, 10, after).unwrap().len(), 1);
    let status = outbox::mark_failed(&mut conn, &id, "refusé encore", 3, chrono::Duration::minutes(1), after).unwrap();
    assert_eq!(status, OutboxStatus::Failed, "given up after the last attempt");
    let row = &messages(&mut conn)[0];
    assert_eq!((row.status, row.attempts, row.last_error.as_deref()), (OutboxStatus::Failed, 3, Some("refusé encore")));
    drop(conn);

    // `lms mail retry`: a failed message goes back to the queue; unknown ids and sent ones are refused.
    let out = lms(&db, &["mail", "retry", id.as_str()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut conn = db.conn();
    let row = &messages(&mut conn)[0];
    assert_eq!((row.status, row.attempts), (OutboxStatus::Pending, 0));
    let claimed = outbox::claim(&mut conn, 10, lms_core::db::now()).unwrap();
    assert_eq!(claimed.len(), 1, "due at once");
    outbox::mark_sent(&mut conn, &id, lms_core::db::now()).unwrap();
    drop(conn);
    let sent = lms(&db, &["mail", "retry", id.as_str()], None);
    assert_eq!(sent.code, 1);
    assert!(sent.stderr.starts_with("erreur [message_already_sent] : "), "{}", sent.stderr);
    let unknown = lms(&db, &["mail", "retry", "0190b5e3-0000-7000-8000-000000000000"], None);
    assert!(unknown.stderr.starts_with("erreur [unknown_message] : "), "{}", unknown.stderr);
    let garbage = lms(&db, &["mail", "retry", "pas-un-id"], None);
    assert!(garbage.stderr.starts_with("erreur [unknown_message] : "), "{}", garbage.stderr);
    assert_eq!(messages(&mut db.conn())[0].status, OutboxStatus::Sent, "refusals change nothing");
}

/// The rendered message with what changes from run to run replaced.
fn rendered(mail: &lms_core::mail::OutgoingMail, replace: &[(&str, &str)]) -> String {
    let mut text = format!(
        "Kind: {}\nTo: {} <{}>\nFrom: {}\nReply-To: {}\nSubject: {}\n\n{}\n----- HTML -----\n{}",
        mail.kind,
        mail.to_name,
        mail.to_email,
        mail.sender_name,
        mail.reply_to.as_deref().unwrap_or("-"),
        mail.subject,
        mail.text_body,
        mail.html_body
    );
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn each_message_renders_in_french_text_and_html() {
    let db = TestDb::new(Seed::Reference);
    set_identity(&db);
    let mut conn = db.conn();
    // A fixed date, so the schedule reads the same every day.
    let start = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let session = session_on(&mut conn, start, 5, true);
    let reference = catalogue::find_training_session(&mut conn, &session).unwrap().reference;
    let who = trainee(&mut conn, 1);
    // The convocation's PDF and invitation are those of a seat held.
    enrol(&mut conn, &session, &who).unwrap();
    let replace = [(session.as_str(), "[session]"), (reference.as_str(), "[référence]")];
    use lms_core::mail::messages;
    let now = lms_core::db::now();
    let venue = lms_core::venues::venue_id_by_slug(&mut conn, "cowork-etc-saintes").unwrap().unwrap();
    let at = |h: u32| start.and_hms_opt(h, 0, 0).unwrap();
    let before =
        messages::HalfDayAt { slot: catalogue::Slot::Morning, starts_at: at(8), ends_at: at(11), venue: venue.clone() };
    let after = messages::HalfDayAt {
        slot: catalogue::Slot::Afternoon,
        starts_at: at(13) + chrono::Duration::days(1),
        ends_at: at(16) + chrono::Duration::days(1),
        venue,
    };
    for (name, mail) in [
        ("mail_convocation", messages::convocation(&mut conn, &session, &who, false, now).unwrap()),
        ("mail_promotion", messages::convocation(&mut conn, &session, &who, true, now).unwrap()),
        ("mail_waitlisted", messages::waitlisted(&mut conn, &session, &who, 3).unwrap()),
        (
            "mail_session_cancelled",
            messages::session_cancelled(&mut conn, &session, &who, "Salle inondée", false, now).unwrap(),
        ),
        ("mail_password_reset", messages::password_reset(&mut conn, &who, "JETON", 60).unwrap()),
        (
            "mail_session_changed",
            messages::session_changed(&mut conn, &session, &who, &before, &after, "Salle prise", true, now).unwrap(),
        ),
        ("mail_request_refused", messages::request_refused(&mut conn, &session, &who, "Prérequis absents").unwrap()),
        (
            "mail_enrolment_cancelled",
            messages::enrolment_cancelled(&mut conn, &session, &who, "Absence de financement", false, true, now)
                .unwrap(),
        ),
    ] {
        insta::assert_snapshot!(name, rendered(&mail, &replace));
    }
}
