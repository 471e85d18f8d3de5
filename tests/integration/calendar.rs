//! Calendars: invitations and cancellations read back with a real iCalendar parser, the personal
//! feed (trainee and trainer half-days, rotation, revocation, no leak), the PDF convocation.

use axum::http::StatusCode;
use chrono::NaiveDate;
use diesel::prelude::*;
use lms_core::DbConn;
use lms_core::calendar::{self, CalendarError, feed};
use lms_core::db::ids::{HalfDayId, TrainingSessionId, UserId};
use lms_core::db::schema::{calendar_feeds, half_days};
use lms_tests::*;

const PUBLIC_URL: &str = "https://formation.example.org";
const HOST: &str = "formation.example.org";
const DEMO: &str = "PTL-NA-DEMO-1";
const TRAINEE: &str = "lea.dubois@example.org";
const TRAINER: &str = "formatrice.charente@demo.tierslieux.example.org";
const PASSWORD: &str = "tiers-lieux-demo";

/// One VEVENT as a calendar client reads it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) uid: String,
    pub(crate) sequence: u32,
    pub(crate) dtstart: String,
    dtstart_tzid: Option<String>,
    dtend_tzid: Option<String>,
    pub(crate) status: String,
    summary: String,
    location: String,
    pub(crate) description: String,
    attendee: Option<String>,
    organizer: Option<String>,
}

/// A calendar object as a client reads it.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) method: String,
    pub(crate) events: Vec<Event>,
    timezones: Vec<String>,
    tz_parts: Vec<String>,
}

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\,", ",").replace("\\;", ";").replace("\\\\", "\\")
}

/// Checks the line format (CRLF, 75 octets) and reads the object with the `icalendar` parser.
pub(crate) fn parse(text: &str) -> Parsed {
    assert!(text.ends_with("\r\n"), "CRLF line ends");
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "line longer than 75 octets: {line:?}");
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
    }
    let unfolded = icalendar::parser::unfold(text);
    let calendar = icalendar::parser::read_calendar(&unfolded).expect("a valid iCalendar object");
    let method = calendar
        .properties
        .iter()
        .find(|p| p.name.as_ref() == "METHOD")
        .map(|p| p.val.as_ref().to_owned())
        .unwrap_or_default();
    let mut events = Vec::new();
    let mut timezones = Vec::new();
    let mut tz_parts = Vec::new();
    for component in &calendar.components {
        match component.name.as_ref() {
            "VTIMEZONE" => {
                timezones.push(component.find_prop("TZID").map(|p| p.val.as_ref().to_owned()).unwrap_or_default());
                tz_parts.extend(component.components.iter().map(|c| c.name.as_ref().to_owned()));
            }
            "VEVENT" => {
                let value =
                    |name: &str| component.find_prop(name).map(|p| unescape(p.val.as_ref())).unwrap_or_default();
                let tzid = |name: &str| {
                    component.find_prop(name).and_then(|p| {
                        p.params
                            .iter()
                            .find(|x| x.key.as_ref() == "TZID")
                            .and_then(|x| x.val.as_ref())
                            .map(|v| v.as_ref().to_owned())
                    })
                };
                events.push(Event {
                    uid: value("UID"),
                    sequence: value("SEQUENCE").parse().expect("SEQUENCE is a number"),
                    dtstart: value("DTSTART"),
                    dtstart_tzid: tzid("DTSTART"),
                    dtend_tzid: tzid("DTEND"),
                    status: value("STATUS"),
                    summary: value("SUMMARY"),
                    location: value("LOCATION"),
                    description: value("DESCRIPTION"),
                    attendee: component.find_prop("ATTENDEE").map(|p| p.val.as_ref().to_owned()),
                    organizer: component.find_prop("ORGANIZER").map(|p| p.val.as_ref().to_owned()),
                });
            }
            other => panic!("unexpected component {other}"),
        }
    }
    Parsed { method, events, timezones, tz_parts }
}

fn session(conn: &mut DbConn, reference: &str) -> TrainingSessionId {
    lms_core::attendance::records::find_session(conn, reference).unwrap()
}

fn user(conn: &mut DbConn, email: &str) -> UserId {
    lms_core::people::user_id_by_email(conn, email).unwrap().unwrap()
}

fn half_days_of(conn: &mut DbConn, session: &TrainingSessionId) -> Vec<HalfDayId> {
    half_days::table
        .filter(half_days::training_session_id.eq(session))
        .order(half_days::starts_at.asc())
        .select(half_days::id)
        .load(conn)
        .unwrap()
}

fn uid(half_day: &HalfDayId) -> String {
    format!("halfday-{half_day}@{HOST}")
}

fn invitation(conn: &mut DbConn, session: &TrainingSessionId, trainee: &UserId) -> Parsed {
    let ics = calendar::invitation_for_enrolment(conn, session, trainee, PUBLIC_URL, lms_core::db::now()).unwrap();
    assert_eq!(ics.content_type(), "text/calendar; charset=utf-8; method=REQUEST");
    parse(ics.as_str())
}

fn feed_rows(conn: &mut DbConn) -> Vec<(String, String, Option<chrono::NaiveDateTime>)> {
    calendar_feeds::table
        .order(calendar_feeds::user_id.asc())
        .select((calendar_feeds::user_id, calendar_feeds::token_hash, calendar_feeds::revoked_at))
        .load(conn)
        .unwrap()
}

#[test]
fn an_invitation_is_a_request_with_one_stable_event_per_half_day_in_paris_time() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let lea = user(&mut conn, TRAINEE);
    let expected: Vec<String> = half_days_of(&mut conn, &session).iter().map(uid).collect();
    assert!(expected.len() >= 20, "the demo session has twenty days");

    let first = invitation(&mut conn, &session, &lea);
    assert_eq!(first.method, "REQUEST");
    assert_eq!(first.timezones, vec!["Europe/Paris".to_owned()]);
    assert!(first.tz_parts.contains(&"DAYLIGHT".to_owned()) && first.tz_parts.contains(&"STANDARD".to_owned()));
    assert_eq!(first.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>(), expected);
    for event in &first.events {
        assert_eq!(event.sequence, 0);
        assert_eq!(event.status, "CONFIRMED");
        assert_eq!(event.dtstart_tzid.as_deref(), Some("Europe/Paris"));
        assert_eq!(event.dtend_tzid.as_deref(), Some("Europe/Paris"));
        assert!(event.summary.starts_with("Piloter un tiers-lieu"), "{}", event.summary);
        assert!(event.attendee.as_deref() == Some("mailto:lea.dubois@example.org"), "{:?}", event.attendee);
        assert!(event.organizer.as_deref().is_some_and(|o| o.starts_with("mailto:")));
        assert!(event.description.contains("https://formation.example.org/me"), "{}", event.description);
    }
    // Where: the venue's name and street address.
    let brive = first.events.iter().find(|e| e.location.contains("Le 400")).expect("a half-day at Le 400");
    assert!(brive.location.contains("19100"), "{}", brive.location);

    // A reschedule raises the stored revision: the same UID comes back with that SEQUENCE.
    let moved = half_days_of(&mut conn, &session)[3].clone();
    diesel::update(half_days::table.find(&moved)).set(half_days::sequence.eq(3)).execute(&mut conn).unwrap();
    let second = invitation(&mut conn, &session, &lea);
    assert_eq!(second.events.iter().map(|e| e.uid.clone()).collect::<Vec<_>>(), expected, "UIDs are stable");
    for event in &second.events {
        assert_eq!(event.sequence, if event.uid == uid(&moved) { 3 } else { 0 }, "{}", event.uid);
    }
}

#[test]
fn summer_and_winter_half_days_are_on_the_paris_clock() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let lea = user(&mut conn, TRAINEE);
    let days = half_days_of(&mut conn, &session);
    let at = |d: &str, h: u32, m: u32| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().and_hms_opt(h, m, 0).unwrap();
    // Stored in UTC: 07:00 UTC is 09:00 in Paris in July (UTC+2), 08:00 UTC is 09:00 in January (UTC+1).
    for (id, start, end) in [
        (&days[0], at("2027-07-06", 7, 0), at("2027-07-06", 10, 30)),
        (&days[1], at("2027-01-12", 8, 0), at("2027-01-12", 11, 30)),
    ] {
        diesel::update(half_days::table.find(id))
            .set((half_days::starts_at.eq(start), half_days::ends_at.eq(end)))
            .execute(&mut conn)
            .unwrap();
    }
    let parsed = invitation(&mut conn, &session, &lea);
    let start_of = |id: &HalfDayId| parsed.events.iter().find(|e| e.uid == uid(id)).unwrap().dtstart.clone();
    assert_eq!(start_of(&days[0]), "20270706T090000");
    assert_eq!(start_of(&days[1]), "20270112T090000");
}

#[test]
fn cancellations_cancel_every_half_day_or_one_with_a_higher_sequence() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, DEMO);
    let lea = user(&mut conn, TRAINEE);
    let days = half_days_of(&mut conn, &session);
    diesel::update(half_days::table.find(&days[2])).set(half_days::sequence.eq(4)).execute(&mut conn).unwrap();
    let now = lms_core::db::now();

    let ics = calendar::cancellation_for_session(&mut conn, &session, &lea, PUBLIC_URL, now).unwrap();
    assert_eq!(ics.content_type(), "text/calendar; charset=utf-8; method=CANCEL");
    let parsed = parse(ics.as_str());
    assert_eq!(parsed.method, "CANCEL");
    assert_eq!(parsed.events.len(), days.len());
    for event in &parsed.events {
        assert_eq!(event.status, "CANCELLED");
        assert_eq!(event.sequence, if event.uid == uid(&days[2]) { 5 } else { 1 });
    }

    let one = parse(calendar::cancellation_for_half_day(&mut conn, &days[2], &lea, PUBLIC_URL, now).unwrap().as_str());
    assert_eq!(one.method, "CANCEL");
    assert_eq!(one.events.len(), 1);
    assert_eq!((one.events[0].uid.clone(), one.events[0].sequence), (uid(&days[2]), 5));
    assert_eq!(one.events[0].status, "CANCELLED");

    // Refusals: someone not enrolled, an unknown session or half-day, a public URL with no host.
    let hugo = user(&mut conn, "hugo.blanc@example.org");
    let refused = calendar::invitation_for_enrolment(&mut conn, &session, &hugo, PUBLIC_URL, now).unwrap_err();
    assert!(matches!(refused, CalendarError::NotEnrolled), "{refused:?}");
    assert!(matches!(
        calendar::cancellation_for_session(&mut conn, &session, &hugo, PUBLIC_URL, now),
        Err(CalendarError::NotEnrolled)
    ));
    let unknown = TrainingSessionId::parse("0190b7c2-0000-7000-8000-000000000000").unwrap();
    assert!(matches!(
        calendar::invitation_for_enrolment(&mut conn, &unknown, &lea, PUBLIC_URL, now),
        Err(CalendarError::UnknownTrainingSession)
    ));
    let unknown_day = HalfDayId::parse("0190b7c2-0000-7000-8000-000000000000").unwrap();
    assert!(matches!(
        calendar::cancellation_for_half_day(&mut conn, &unknown_day, &lea, PUBLIC_URL, now),
        Err(CalendarError::UnknownHalfDay)
    ));
    assert!(matches!(
        calendar::invitation_for_enrolment(&mut conn, &session, &lea, "formation.example.org", now),
        Err(CalendarError::InvalidPublicUrl(_))
    ));
}

/// The feed token shown on the page that (re)generates it.
fn token_from_page(page: &str) -> String {
    let start = page.find("/calendar/").expect("feed URL on the page") + "/calendar/".len();
    let rest = &page[start..];
    rest[..rest.find(".ics").expect(".ics")].to_owned()
}

#[tokio::test]
async fn the_feed_shows_a_persons_half_days_rotates_revokes_and_leaks_nothing() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let demo = session(&mut conn, DEMO);
    let saintes = session(&mut conn, "ANIM-DEMO-SAINTES");
    let other = session(&mut conn, "PTL-NA-DEMO-2");
    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, TRAINEE, PASSWORD).await);

    let (status, _, me) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(me.contains("Mon agenda") && me.contains("Obtenir l'adresse de mon agenda"), "{me}");
    let csrf = csrf_field(&me);

    // Without the form token, nothing is made.
    let (status, _, _) = send(&app, form_request("/me/agenda", &[("csrf", "nope")], &cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(feed_rows(&mut conn).is_empty());

    let (status, _, page) = send(&app, form_request("/me/agenda", &[("csrf", &csrf)], &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("http://127.0.0.1:8080/calendar/") && page.contains("webcal://"), "{page}");
    let token = token_from_page(&page);
    let stored = feed_rows(&mut conn);
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].1.contains(&token), "only the token's hash is stored");

    let (status, headers, body) = send(&app, get(&format!("/calendar/{token}.ics"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/calendar; charset=utf-8");
    assert!(headers["cache-control"].to_str().unwrap().starts_with("private"));
    let parsed = parse(&body);
    assert_eq!(parsed.method, "PUBLISH");
    let uids: Vec<String> = parsed.events.iter().map(|e| e.uid.clone()).collect();
    let expected: Vec<String> =
        half_days_of(&mut conn, &demo).iter().map(|h| format!("halfday-{h}@127.0.0.1")).collect();
    assert_eq!(uids, expected, "exactly Léa's half-days, nobody else's");
    let (_, _, me) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert!(me.contains("active depuis") && me.contains("Révoquer"), "{me}");

    // A trainer's feed: the sessions she teaches (two here), as trainer.
    let trainer = user(&mut conn, TRAINER);
    let made = feed::create_or_rotate_feed(&mut conn, &trainer, lms_core::db::now()).unwrap();
    let (status, _, body) = send(&app, get(&format!("/calendar/{}.ics", made.token))).await;
    assert_eq!(status, StatusCode::OK);
    let trainer_uids: Vec<String> = parse(&body).events.iter().map(|e| e.uid.clone()).collect();
    for id in half_days_of(&mut conn, &demo).iter().chain(&half_days_of(&mut conn, &saintes)) {
        assert!(trainer_uids.contains(&format!("halfday-{id}@127.0.0.1")), "trainer's half-day {id} missing");
    }
    for id in half_days_of(&mut conn, &other) {
        assert!(!trainer_uids.contains(&format!("halfday-{id}@127.0.0.1")), "someone else's session leaked");
    }

    // Rotation: a new address, the old one answers 404.
    let (status, _, page) = send(&app, form_request("/me/agenda", &[("csrf", &csrf)], &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("l'ancienne ne fonctionne plus"));
    let rotated = token_from_page(&page.replace("&#x2f;", "/"));
    assert_ne!(rotated, token);
    assert_eq!(send(&app, get(&format!("/calendar/{token}.ics"))).await.0, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, get(&format!("/calendar/{rotated}.ics"))).await.0, StatusCode::OK);

    // Revocation: 404 afterwards, and asking again writes nothing.
    let (status, headers, _) = send(&app, form_request("/me/agenda/revoquer", &[("csrf", &csrf)], &cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/me?info=calendar_revoked");
    let before = feed_rows(&mut conn);
    let (status, _, body) = send(&app, get(&format!("/calendar/{rotated}.ics"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("Léa") && !body.contains("BEGIN:VCALENDAR"), "no information leaks");
    assert_eq!(feed_rows(&mut conn), before, "nothing written");
    assert!(matches!(
        feed::feed_for_token(&mut conn, &rotated, PUBLIC_URL, lms_core::db::now()),
        Err(CalendarError::UnknownFeed)
    ));
    let (_, _, me) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert!(me.contains("Obtenir l'adresse de mon agenda"), "revoked: a new one can be made");

    // Malformed or unknown addresses: the same 404.
    for path in [
        "/calendar/nope.ics",
        "/calendar/inconnu",
        &format!("/calendar/{rotated}"),
        &format!("/calendar/{}.ics", "A".repeat(43)),
    ] {
        assert_eq!(send(&app, get(path)).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(feed_rows(&mut conn), before, "nothing written");
}

#[test]
fn a_cancelled_session_stays_in_the_feed_as_cancelled() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, "ANIM-DEMO-SAINTES");
    let claire = user(&mut conn, "claire.bernard@example.org");
    let made = feed::create_or_rotate_feed(&mut conn, &claire, lms_core::db::now()).unwrap();
    let cancelled = lms(&db, &["session", "cancel", "ANIM-DEMO-SAINTES", "--reason", "Lieu indisponible"], None);
    assert_eq!(cancelled.code, 0, "{}", cancelled.stderr);
    let ics = feed::feed_for_token(&mut conn, &made.token, PUBLIC_URL, lms_core::db::now()).unwrap();
    let parsed = parse(ics.as_str());
    let cancelled: Vec<String> = half_days_of(&mut conn, &session).iter().map(uid).collect();
    assert!(!cancelled.is_empty());
    for uid in &cancelled {
        let event = parsed.events.iter().find(|e| &e.uid == uid).expect("a cancelled half-day stays in the feed");
        assert_eq!((event.status.as_str(), event.sequence), ("CANCELLED", 1));
        assert!(event.description.starts_with("Cette demi-journée est annulée."));
    }
    // Her other sessions are untouched.
    for event in parsed.events.iter().filter(|e| !cancelled.contains(&e.uid)) {
        assert_eq!((event.status.as_str(), event.sequence), ("CONFIRMED", 0));
    }
}

#[tokio::test]
async fn the_convocation_pdf_is_the_trainees_own_with_every_venue_address() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let demo = session(&mut conn, DEMO);
    let lea = user(&mut conn, TRAINEE);
    let caller = lms_core::access::caller_for(&mut conn, &lea).unwrap();
    let data = lms_core::enrolment::convocation_document(&mut conn, &demo, &caller, lms_core::db::now()).unwrap();
    assert_eq!(data.half_days.len(), half_days_of(&mut conn, &demo).len());
    let brive = data.half_days.iter().find(|h| h.venue_name == "Le 400").expect("a half-day at Le 400");
    assert!(brive.address.contains("19100 Brive-la-Gaillarde"), "{}", brive.address);
    assert!(data.half_days.iter().all(|h| h.hours.contains(" h ")));
    assert!(!data.what_to_bring.is_empty());
    assert!(data.trainers.iter().any(|t| t == "Inès Marchand"));
    let bytes = lms_core::documents::convocation::render_pdf(&data).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));

    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, TRAINEE, PASSWORD).await);
    let (status, headers, body) = send(&app, get_with_cookies(&format!("/me/convocations/{DEMO}.pdf"), &cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"].to_str().unwrap().contains("convocation-"));
    assert!(body.starts_with("%PDF-"));
    let (_, _, page) = send(&app, get_with_cookies(&format!("/me/convocations/{demo}"), &cookie)).await;
    assert!(page.contains(&format!("/me/convocations/{demo}.pdf")), "the page links its PDF");
    let (_, _, me) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert!(me.contains(&format!("/me/convocations/{demo}.pdf")), "/me links the PDF");

    // Someone else's convocation is not there, in either form.
    let hugo = format!("lms_session={}", browser_login(&app, "hugo.blanc@example.org", PASSWORD).await);
    for path in [format!("/me/convocations/{DEMO}.pdf"), format!("/me/convocations/{DEMO}")] {
        assert_eq!(send(&app, get_with_cookies(&path, &hugo)).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(send(&app, get_with_cookies("/me/convocations/NO-SUCH.pdf", &cookie)).await.0, StatusCode::NOT_FOUND);
}

#[test]
fn the_invitation_format_is_a_contract() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let session = session(&mut conn, "ANIM-DEMO-SAINTES");
    let claire = user(&mut conn, "claire.bernard@example.org");
    let ics =
        calendar::invitation_for_enrolment(&mut conn, &session, &claire, PUBLIC_URL, lms_core::db::now()).unwrap();
    // Ids, stamps and dates change with every run: replace them, keep everything else.
    let unfolded = icalendar::parser::unfold(ics.as_str());
    let redacted: Vec<String> = unfolded
        .split("\r\n")
        .map(|line| {
            let (head, value) = line.split_once(':').unwrap_or((line, ""));
            match head {
                "UID" => format!("UID:halfday-[id]@{}", value.rsplit('@').next().unwrap_or_default()),
                "DTSTAMP" => "DTSTAMP:[now]".to_owned(),
                h if h.starts_with("DTSTART;") || h.starts_with("DTEND;") => {
                    format!("{head}:[date]T{}", value.split('T').nth(1).unwrap_or_default())
                }
                _ => line.to_owned(),
            }
        })
        .collect();
    insta::assert_snapshot!("calendar_invitation", redacted.join("\n"));
}
