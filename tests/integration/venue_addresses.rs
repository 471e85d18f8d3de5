//! Every page, convocation and sheet that names a venue shows that venue's address: the venue of
//! the half-day itself, not the session's main venue (issue 12). PTL-NA-DEMO-2 is held in four
//! venues; Rupellab has no street in the reference data, the three others have one.

use axum::http::StatusCode;
use lms_core::attendance::sheets;
use lms_core::catalogue::HalfDayView;
use lms_core::rights::Actor;
use lms_tests::*;

use crate::attendance_support::{OTHER_TRAINER, PASSWORD, schedule, session};

const MULTI: &str = "PTL-NA-DEMO-2";
const MULTI_TRAINEE: &str = "nadia.haddad@example.org";
const PAU: &str = "18 Rue Latapie, 64000 Pau";
const GUERET: &str = "6 Rue Maurice Rollinat, 23000 Guéret";
const LIMOGES: &str = "50 bd Gambetta, 87000 Limoges";
const LA_ROCHELLE: &str = "17000 La Rochelle";

fn first_at<'a>(half_days: &'a [HalfDayView], venue: &str) -> &'a HalfDayView {
    half_days.iter().find(|h| h.venue == venue).unwrap_or_else(|| panic!("a half-day at {venue}"))
}

#[tokio::test]
async fn the_sheet_of_a_half_day_at_a_secondary_venue_carries_that_venues_street() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let multi = session(&mut conn, MULTI);
    let half_days = schedule(&mut conn, &multi);
    let main = &half_days[0];
    let pau = first_at(&half_days, "fablab-pau-pau");
    assert_ne!(main.venue, pau.venue, "the session's first venue is not Pau");

    let sheet = sheets::half_day_sheet(&mut conn, Actor::Console, &multi, &pau.id, lms_core::db::now()).unwrap();
    assert_eq!(sheet.half_day.venue, "FabLab Pau");
    assert_eq!(sheet.half_day.venue_address, PAU);
    let first = sheets::half_day_sheet(&mut conn, Actor::Console, &multi, &main.id, lms_core::db::now()).unwrap();
    assert_eq!((first.half_day.venue.as_str(), first.half_day.venue_address.as_str()), ("Rupellab", LA_ROCHELLE));

    // The printed sheets are drawn from that same data (the PDF's text is subset-encoded, so the
    // data above is what is checked); the blank one, the only one before the half-day, renders.
    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, OTHER_TRAINER, PASSWORD).await);
    let uri = format!("/trainer/sessions/{multi}/half-days/{}/blank.pdf", pau.id);
    let (status, headers, body) = send(&app, get_with_cookies(&uri, &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(body.starts_with("%PDF-"));

    // The trainer's sheet page names the half-day's own venue, its address and its page.
    let (status, _, page) =
        send(&app, get_with_cookies(&format!("/trainer/sessions/{multi}/half-days/{}", pau.id), &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("<a href=\"/lieux/fablab-pau-pau\">FabLab Pau</a>, {PAU}")), "{page}");
}

#[tokio::test]
async fn the_trainers_session_page_gives_each_half_day_its_venue_and_address() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let multi = session(&mut conn, MULTI);
    let attendance = sheets::session_attendance(&mut conn, Actor::Console, &multi, 3, lms_core::db::now()).unwrap();
    let pau = attendance.half_days.iter().find(|h| h.venue_slug == "fablab-pau-pau").expect("Pau");
    assert_eq!(pau.venue_address, PAU);
    let half_days = schedule(&mut conn, &multi);

    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, OTHER_TRAINER, PASSWORD).await);
    let (status, _, page) = send(&app, get_with_cookies(&format!("/trainer/sessions/{multi}"), &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for (slug, name, address) in [
        ("rupellab-la-rochelle", "Rupellab", LA_ROCHELLE),
        ("la-quincaillerie-gueret", "La Quincaillerie", GUERET),
        ("fablab-pau-pau", "FabLab Pau", PAU),
        ("le-phare-limoges", "Le Phare", LIMOGES),
    ] {
        let held_there = half_days.iter().filter(|h| h.venue == slug).count();
        assert!(held_there > 0, "{slug}");
        let cell = format!("<a href=\"/lieux/{slug}\">{name}</a><br><span class=\"small\">{address}</span>");
        assert_eq!(page.matches(&cell).count(), held_there, "{slug}: {page}");
    }
}

#[tokio::test]
async fn the_convocation_page_shows_every_half_days_venue_address_and_access() {
    let db = TestDb::new(Seed::Demo);
    let updated = lms(
        &db,
        &["venue", "update", "le-phare-limoges", "--pmr", "yes", "--access-note", "Entrée par la cour, ascenseur"],
        None,
    );
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    let mut conn = db.conn();
    let multi = session(&mut conn, MULTI);
    let half_days = schedule(&mut conn, &multi);

    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, MULTI_TRAINEE, PASSWORD).await);
    let (status, _, page) = send(&app, get_with_cookies(&format!("/me/convocations/{MULTI}"), &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for (slug, name, address) in [
        ("rupellab-la-rochelle", "Rupellab", LA_ROCHELLE),
        ("la-quincaillerie-gueret", "La Quincaillerie", GUERET),
        ("fablab-pau-pau", "FabLab Pau", PAU),
        ("le-phare-limoges", "Le Phare", LIMOGES),
    ] {
        let held_there = half_days.iter().filter(|h| h.venue == slug).count();
        let cell = format!("<a href=\"/lieux/{slug}\">{name}</a><br>{address}");
        assert_eq!(page.matches(&cell).count(), held_there, "{slug}: {page}");
    }
    let access = "Accessible aux personnes à mobilité réduite. Entrée par la cour, ascenseur";
    let limoges = half_days.iter().filter(|h| h.venue == "le-phare-limoges").count();
    assert_eq!(page.matches(access).count(), limoges, "{page}");

    // The printable convocation says the same, from the same read.
    let nadia = crate::attendance_support::user(&mut conn, MULTI_TRAINEE);
    let caller = lms_core::access::caller_for(&mut conn, &nadia).unwrap();
    let data = lms_core::enrolment::convocation_document(&mut conn, &multi, &caller, lms_core::db::now()).unwrap();
    let phare = data.half_days.iter().find(|h| h.venue_name == "Le Phare").expect("Le Phare");
    assert_eq!(phare.address, LIMOGES);
    assert_eq!(phare.access_note.as_deref(), Some(access));
    let rupellab = data.half_days.iter().find(|h| h.venue_name == "Rupellab").expect("Rupellab");
    assert_eq!((rupellab.address.as_str(), rupellab.access_note.as_deref()), (LA_ROCHELLE, None));
}

#[tokio::test]
async fn me_shows_the_venue_of_each_next_half_day_not_the_sessions_first() {
    let db = TestDb::new(Seed::Demo);
    let mut conn = db.conn();
    let multi = session(&mut conn, MULTI);
    let second = schedule(&mut conn, &multi)[1].id.to_string();
    // The second half-day moves to Limoges: /me lists the next half-days, so it shows there.
    let moved = lms(
        &db,
        &[
            "session",
            "reschedule",
            MULTI,
            "--half-day",
            &second,
            "--venue",
            "le-phare-limoges",
            "--reason",
            "Salle prêtée",
        ],
        None,
    );
    assert_eq!(moved.code, 0, "{}", moved.stderr);

    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, MULTI_TRAINEE, PASSWORD).await);
    let (status, _, page) = send(&app, get_with_cookies("/me", &cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let next = &page[page.find("id=\"prochaines\"").expect("next half-days")..];
    assert_eq!(
        next.matches(&format!("<a href=\"/lieux/le-phare-limoges\">Le Phare</a>, {LIMOGES}")).count(),
        1,
        "{next}"
    );
    assert!(next.contains(&format!("<a href=\"/lieux/rupellab-la-rochelle\">Rupellab</a>, {LA_ROCHELLE}")), "{next}");
}
