//! The e-mails carry the calendars and documents: the convocation's PDF and invitation, the
//! « Changement de planning » with the updated invitation, the cancellation with `METHOD:CANCEL`,
//! read back through the real worker and SMTP sink with a MIME parser and an iCalendar parser;
//! the UIDs of mailed events are the feed's. Refusals and office cancellations tell the trainee,
//! and a refused change writes no mail.

use std::time::Duration;

use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::calendar::feed;
use lms_core::db::ids::{HalfDayId, TrainingSessionId};
use lms_core::db::json_text::JsonText;
use lms_core::db::schema::{half_days, outbox_messages};
use lms_core::mail::{Attachment, MailKind, OutboxStatus};
use lms_core::people::{self, Role};
use lms_tests::smtp_sink::SmtpSink;
use lms_tests::*;
use mail_parser::MimeHeaders;

use crate::calendar::{Parsed, parse as parse_ics};
use crate::outbox::{enrol, fast_worker, parse, set_identity, trainee, upcoming_session, wait_until};

const PUBLIC_URL: &str = "https://formation.example.org";
const HOST: &str = "formation.example.org";

fn half_days_of(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<HalfDayId> {
    half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select(half_days::id)
        .load(conn)
        .unwrap()
}

fn outbox_count(conn: &mut DbConn) -> i64 {
    outbox_messages::table.count().get_result(conn).unwrap()
}

/// A stored message as the tests read it (row type; demo messages are dated in the past and the
/// future, so tests find theirs by kind and recipient, not by order).
#[derive(Queryable)]
struct Stored {
    kind: MailKind,
    to: String,
    text: String,
    attachments: JsonText<Vec<Attachment>>,
}

fn stored(conn: &mut DbConn) -> Vec<Stored> {
    outbox_messages::table
        .order((outbox_messages::created_at.asc(), outbox_messages::id.asc()))
        .select((
            outbox_messages::kind,
            outbox_messages::recipient_email,
            outbox_messages::text_body,
            outbox_messages::attachments,
        ))
        .load(conn)
        .unwrap()
}

/// The files of a received message: (name, content type with its method, bytes).
fn files(message: &mail_parser::Message<'_>) -> Vec<(String, String, Vec<u8>)> {
    message
        .attachments()
        .map(|part| {
            let ctype = part.content_type().expect("a content type");
            let full = format!(
                "{}/{}{}",
                ctype.ctype(),
                ctype.subtype().unwrap_or_default(),
                ctype.attribute("method").map(|m| format!("; method={m}")).unwrap_or_default()
            );
            (part.attachment_name().unwrap_or_default().to_owned(), full, part.contents().to_vec())
        })
        .collect()
}

fn calendar_of(files: &[(String, String, Vec<u8>)]) -> Parsed {
    let (_, _, bytes) = files.iter().find(|(_, ctype, _)| ctype.starts_with("text/calendar")).expect("a calendar");
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    assert!(!text.contains("%%") && !text.contains(".invalid"), "the public address is filled in: {text}");
    parse_ics(&text)
}

fn uid(half_day: &HalfDayId) -> String {
    format!("halfday-{half_day}@{HOST}")
}

#[tokio::test]
async fn create_change_cancel_keep_the_feeds_uids_and_raise_the_sequence_through_the_worker() {
    let db = TestDb::new(Seed::Reference);
    set_identity(&db);
    let sink = SmtpSink::start().await;
    let (session, days, feed_uids) = {
        let mut conn = db.conn();
        let session = upcoming_session(&mut conn, 5);
        let who = trainee(&mut conn, 1);
        let trainer =
            people::add_user_without_password(&mut conn, "formatrice@example.org", "Formatrice", Role::Trainer)
                .unwrap();
        enrol(&mut conn, &session, &who).unwrap();
        let days = half_days_of(&mut conn, &session);
        let token = feed::create_or_rotate_feed(&mut conn, &who, lms_core::db::now()).unwrap().token;
        let feed = feed::feed_for_token(&mut conn, &token, PUBLIC_URL, lms_core::db::now()).unwrap();
        let feed_uids: Vec<String> = parse_ics(feed.as_str()).events.into_iter().map(|e| e.uid).collect();
        drop(conn);
        let id = session.to_string();
        assert_eq!(lms(&db, &["session", "trainers", &id, "--add", &trainer.email], None).code, 0);
        (session, days, feed_uids)
    };
    let id = session.to_string();
    let moved = days.last().unwrap().clone();
    assert_eq!(feed_uids, days.iter().map(uid).collect::<Vec<_>>(), "the feed names each half-day once");

    // A refused change (into the past) writes no mail.
    let before = outbox_count(&mut db.conn());
    let refused = lms(
        &db,
        &["session", "reschedule", &id, "--half-day", moved.as_str(), "--date", "2021-03-02", "--reason", "Essai"],
        None,
    );
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert_eq!(outbox_count(&mut db.conn()), before, "a refused change writes no mail");

    let last_day: chrono::NaiveDate =
        half_days::table.find(&moved).select(half_days::day).first(&mut db.conn()).unwrap();
    let new_day = lms_core::catalogue::next_working_day(
        last_day + chrono::Duration::days(7),
        lms_core::catalogue::HolidayRegion::General,
    );
    let output = lms(
        &db,
        &[
            "session",
            "reschedule",
            &id,
            "--half-day",
            moved.as_str(),
            "--date",
            &new_day.to_string(),
            "--reason",
            "Salle prise par un mariage",
        ],
        None,
    );
    assert_eq!(output.code, 0, "{}", output.stderr);
    let output = lms(&db, &["session", "cancel", &id, "--reason", "Trop peu d'inscrits"], None);
    assert_eq!(output.code, 0, "{}", output.stderr);

    // Convocation, then a change and a cancellation for each of the trainee and the trainer.
    spawn_server_with(&db, fast_worker(&sink)).await;
    wait_until(&db, "every message sent", |all| all.len() == 5 && all.iter().all(|m| m.status == OutboxStatus::Sent))
        .await;
    let received = sink.wait_for(5, Duration::from_secs(30)).await;
    let to_trainee = |prefix: &str| -> Vec<(String, String, Vec<u8>)> {
        let raw = received
            .iter()
            .find(|raw| {
                let message = parse(raw);
                message.subject().unwrap_or_default().starts_with(prefix)
                    && message.to().and_then(|t| t.first()).and_then(|a| a.address()) == Some("stagiaire1@example.org")
            })
            .unwrap_or_else(|| panic!("no « {prefix} » to the trainee"));
        files(&parse(raw))
    };

    // Created: the PDF convocation and a REQUEST, SEQUENCE 0, the feed's UIDs.
    let convocation = to_trainee("Convocation : ");
    let names: Vec<&str> = convocation.iter().map(|(name, _, _)| name.as_str()).collect();
    // The PDF is rendered when the message is sent (not inside the enrolment's transaction); here
    // the worker ran after the session was cancelled, so the convocation goes without it. The PDF
    // itself is checked in `admission_refusal_and_office_cancellation_…`.
    assert_eq!(names, ["invitation.ics"]);
    assert_eq!(convocation[0].1, "text/calendar; method=REQUEST");
    let created = calendar_of(&convocation);
    assert_eq!(created.method, "REQUEST");
    assert_eq!(created.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>(), feed_uids, "the feed's UIDs");
    assert!(created.events.iter().all(|e| e.sequence == 0 && e.status == "CONFIRMED"));
    assert!(created.events[0].description.contains("https://formation.example.org/me"), "the link is filled in");

    // Changed: a REQUEST with the same UIDs, the moved half-day at SEQUENCE 1.
    let change = to_trainee("Changement de planning : ");
    assert_eq!(change.len(), 1, "the updated invitation only");
    let changed = calendar_of(&change);
    assert_eq!(changed.method, "REQUEST");
    assert_eq!(changed.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>(), feed_uids);
    for event in &changed.events {
        assert_eq!(event.sequence, if event.uid == uid(&moved) { 1 } else { 0 }, "{}", event.uid);
    }
    assert!(changed.events.iter().any(|e| e.dtstart.starts_with(&new_day.format("%Y%m%d").to_string())));

    // Cancelled: METHOD:CANCEL, STATUS:CANCELLED, SEQUENCE above the last one sent.
    let cancel = to_trainee("Session annulée : ");
    let cancelled = calendar_of(&cancel);
    assert_eq!(cancelled.method, "CANCEL");
    assert_eq!(cancelled.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>(), feed_uids);
    for event in &cancelled.events {
        assert_eq!(event.status, "CANCELLED");
        assert_eq!(event.sequence, if event.uid == uid(&moved) { 2 } else { 1 }, "{}", event.uid);
    }

    // The trainer gets both messages, with no calendar (their feed follows the change).
    for raw in &received {
        let message = parse(raw);
        if message.to().and_then(|t| t.first()).and_then(|a| a.address()) == Some("formatrice@example.org") {
            assert_eq!(message.attachments().count(), 0, "{:?}", message.subject());
        }
    }
    let text_of = |prefix: &str| {
        received
            .iter()
            .map(|raw| parse(raw))
            .find(|m| m.subject().unwrap_or_default().starts_with(prefix))
            .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
            .unwrap_or_default()
    };
    let change_text = text_of("Changement de planning : ");
    assert!(change_text.contains("Motif : Salle prise par un mariage"), "{change_text}");
    assert!(change_text.contains("Avant : ") && change_text.contains("Après : "), "{change_text}");
}

#[test]
fn admission_refusal_and_office_cancellation_tell_the_trainee_in_the_same_transaction() {
    let db = TestDb::new(Seed::Demo);
    let session = "IMPACT-DEMO-LIMOGES";
    let mut conn = db.conn();
    let before = outbox_count(&mut conn);

    // A refusal without a reason is refused: nothing written, no mail.
    let output =
        lms(&db, &["enrolment", "refuse", "--session", session, "--trainee", "manon.arnaud@example.org"], None);
    assert_eq!(output.code, 1, "{}", output.stderr);
    assert_eq!(outbox_count(&mut conn), before);

    let output = lms(
        &db,
        &[
            "enrolment",
            "refuse",
            "--session",
            session,
            "--trainee",
            "manon.arnaud@example.org",
            "--reason",
            "Le prérequis d'animation n'est pas rempli",
        ],
        None,
    );
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_eq!(outbox_count(&mut conn), before + 1, "one mail");
    let all = stored(&mut conn);
    let refusal = all.iter().find(|m| m.kind == MailKind::RequestRefused).expect("a refusal mail");
    assert_eq!(refusal.to, "manon.arnaud@example.org");
    assert!(refusal.text.contains("Motif : Le prérequis d'animation n'est pas rempli"), "{}", refusal.text);

    // Admitted: the convocation with its PDF and invitation.
    let output =
        lms(&db, &["enrolment", "admit", "--session", session, "--trainee", "olivier.moreau@example.org"], None);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let all = stored(&mut conn);
    let convocation = all
        .iter()
        .find(|m| m.kind == MailKind::Convocation && m.to == "olivier.moreau@example.org")
        .expect("a convocation mail");
    let stored_files = &convocation.attachments.0;
    assert_eq!(stored_files.len(), 2);
    assert!(stored_files[0].content.is_empty() && stored_files[0].render.is_some(), "rendered when sent");
    let files = &lms_core::mail::outbox::render_deferred(&mut conn, stored_files.clone(), lms_core::db::now()).unwrap();
    assert_eq!(files[0].filename, "convocation.pdf");
    assert!(files[0].content.starts_with(b"%PDF"));
    assert_eq!(files[1].content_type, "text/calendar; charset=utf-8; method=REQUEST");

    // Cancelled by the office: the reason, and a CANCEL for the seat held.
    let count = outbox_count(&mut conn);
    let output = lms(
        &db,
        &["enrolment", "cancel", "--session", session, "--trainee", "olivier.moreau@example.org", "--reason", "  "],
        None,
    );
    assert_eq!(output.code, 1, "a blank reason is refused");
    assert_eq!(outbox_count(&mut conn), count, "and writes no mail");
    let output = lms(
        &db,
        &[
            "enrolment",
            "cancel",
            "--session",
            session,
            "--trainee",
            "olivier.moreau@example.org",
            "--reason",
            "Financement refusé par l'OPCO",
        ],
        None,
    );
    assert_eq!(output.code, 0, "{}", output.stderr);
    let all = stored(&mut conn);
    let cancelled = all.iter().rev().find(|m| m.kind == MailKind::EnrolmentCancelled).expect("a cancellation mail");
    assert_eq!(cancelled.to, "olivier.moreau@example.org");
    assert!(cancelled.text.contains("Motif : Financement refusé par l'OPCO"), "{}", cancelled.text);
    assert_eq!(cancelled.attachments.0.len(), 1);
    let ics = String::from_utf8(cancelled.attachments.0[0].content.clone()).unwrap();
    assert_eq!(cancelled.attachments.0[0].content_type, "text/calendar; charset=utf-8; method=CANCEL");
    // Stored with the markers (the worker fills them in); parsed as is, it is a valid CANCEL.
    let parsed = parse_ics(&ics);
    assert_eq!(parsed.method, "CANCEL");
    assert!(parsed.events.iter().all(|e| e.status == "CANCELLED" && e.sequence >= 1));
}

#[test]
fn an_abandonment_recorded_by_the_office_says_so() {
    let db = TestDb::new(Seed::Reference);
    let mut conn = db.conn();
    let session = upcoming_session(&mut conn, 5);
    let who = trainee(&mut conn, 1);
    enrol(&mut conn, &session, &who).unwrap();
    // The first half-day is under way: leaving now is an abandonment.
    let first = half_days_of(&mut conn, &session)[0].clone();
    let now = lms_core::db::now();
    diesel::update(half_days::table.find(&first))
        .set((
            half_days::starts_at.eq(now - chrono::Duration::hours(1)),
            half_days::ends_at.eq(now + chrono::Duration::hours(2)),
        ))
        .execute(&mut conn)
        .unwrap();
    let id = session.to_string();
    let output = lms(
        &db,
        &[
            "enrolment",
            "cancel",
            "--session",
            &id,
            "--trainee",
            "stagiaire1@example.org",
            "--reason",
            "Reprise d'emploi",
        ],
        None,
    );
    assert_eq!(output.code, 0, "{}", output.stderr);
    let all = stored(&mut conn);
    let told = all.iter().find(|m| m.kind == MailKind::EnrolmentCancelled).expect("a mail");
    assert!(told.text.contains("a enregistré votre abandon"), "{}", told.text);
    assert!(told.text.contains("Motif : Reprise d'emploi"), "{}", told.text);
    assert_eq!(told.attachments.0.len(), 1, "the seat was held: a CANCEL calendar");
    assert!(told.attachments.0[0].content_type.ends_with("method=CANCEL"));
}
