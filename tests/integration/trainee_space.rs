//! The trainee's day over HTTP: a session page that shows only what can be done, cancelling through
//! a confirmation page, returning to the session after sign-up and login, and `/me` with a part
//! per role (progress, next half-days at their own venue, a trainer's and an administrator's home).

use axum::http::StatusCode;
use lms_core::catalogue::{self, NewTrainingSession, PlannedDay, TrainingSessionView};
use lms_core::enrolment::{self, EnrolmentStatus};
use lms_core::people::{self, NewUser, Role};
use lms_tests::*;

const DEMO_PASSWORD: &str = "tiers-lieux-demo";

fn demo_session(db: &TestDb, reference: &str) -> TrainingSessionView {
    catalogue::list_training_sessions(&mut db.conn(), &Default::default())
        .unwrap()
        .into_iter()
        .find(|s| s.reference == reference)
        .unwrap()
}

fn status_of(db: &TestDb, session: &TrainingSessionView, email: &str) -> Option<EnrolmentStatus> {
    let mut conn = db.conn();
    let user = people::find_user_by_email(&mut conn, email).unwrap();
    enrolment::standing(&mut conn, &session.id, &user.id).unwrap().map(|s| s.status)
}

async fn login(app: &axum::Router, email: &str) -> String {
    format!("lms_session={}", browser_login(app, email, DEMO_PASSWORD).await)
}

#[tokio::test]
async fn a_session_under_way_or_finished_offers_no_form_and_no_seats() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    for (reference, says) in [("PTL-NA-DEMO-1", "Session en cours."), ("PTL-NA-DEMO-0", "Session terminée.")] {
        let session = demo_session(&db, reference);
        let (status, _, page) = send(&app, get(&format!("/sessions/{}", session.id))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(says), "{reference}: {page}");
        assert!(!page.contains("places restantes") && !page.contains("place restante"), "{reference}");
        assert!(!page.contains("Se connecter pour s'inscrire") && !page.contains("/enrol\""), "{reference}");
    }
    // A trainee of the finished session is offered no cancellation (the core would refuse it).
    let finished = demo_session(&db, "PTL-NA-DEMO-0");
    let cookies = login(&app, "lea.dubois@example.org").await;
    let (_, _, page) = send(&app, get_with_cookies(&format!("/sessions/{}", finished.id), &cookies)).await;
    assert!(!page.contains(&format!("/sessions/{}/cancel", finished.id)), "{page}");
    // One under way offers an abandonment, not an enrolment.
    let under_way = demo_session(&db, "PTL-NA-DEMO-1");
    let (_, _, page) = send(&app, get_with_cookies(&format!("/sessions/{}", under_way.id), &cookies)).await;
    assert!(page.contains("Signaler mon abandon") && !page.contains("/enrol\""), "{page}");
}

#[tokio::test]
async fn cancelling_is_confirmed_on_its_own_page_and_the_seat_goes_to_the_waitlist() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let full = demo_session(&db, "ANIM-DEMO-SAINTES");
    let cookies = login(&app, "claire.bernard@example.org").await;
    let (_, _, page) = send(&app, get_with_cookies(&format!("/sessions/{}", full.id), &cookies)).await;
    assert!(page.contains(&format!("href=\"/sessions/{}/cancel\"", full.id)), "{page}");

    // GET only shows what will happen: nothing changes.
    let (status, _, confirm) = send(&app, get_with_cookies(&format!("/sessions/{}/cancel", full.id), &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("première personne de la liste d'attente"), "{confirm}");
    assert!(confirm.contains("ANIM-DEMO-SAINTES") && confirm.contains("Confirmer l'annulation"), "{confirm}");
    assert_eq!(status_of(&db, &full, "claire.bernard@example.org"), Some(EnrolmentStatus::Confirmed));

    // Without the form token: refused, nothing written.
    let (status, _, _) =
        send(&app, form_request(&format!("/sessions/{}/cancel", full.id), &[("csrf", "faux")], &cookies)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&db, &full, "claire.bernard@example.org"), Some(EnrolmentStatus::Confirmed));
    assert_eq!(status_of(&db, &full, "lucas.girard@example.org"), Some(EnrolmentStatus::Waitlisted));

    let csrf = csrf_field(&confirm);
    let (status, headers, _) =
        send(&app, form_request(&format!("/sessions/{}/cancel", full.id), &[("csrf", &csrf)], &cookies)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers["location"].to_str().unwrap().ends_with("info=cancelled"));
    assert_eq!(status_of(&db, &full, "claire.bernard@example.org"), Some(EnrolmentStatus::Cancelled));
    assert_eq!(status_of(&db, &full, "lucas.girard@example.org"), Some(EnrolmentStatus::Confirmed));

    // The promoted trainee's notification names the session: course, reference, dates.
    let lucas = login(&app, "lucas.girard@example.org").await;
    let (_, _, me) = send(&app, get_with_cookies("/me", &lucas)).await;
    let promoted = me.lines().find(|l| l.contains("Une place s&#x27;est libérée")).unwrap_or_default();
    assert!(
        promoted.contains(&full.course_title.replace('\'', "&#x27;")) && promoted.contains("ANIM-DEMO-SAINTES"),
        "{me}"
    );
    assert!(promoted.contains(&lms_core::locale::date_range_fr(full.start, full.end)), "{promoted}");

    // Nothing left to cancel: the confirmation page refuses.
    let (status, _, _) = send(&app, get_with_cookies(&format!("/sessions/{}/cancel", full.id), &cookies)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_abandonment_keeps_the_hours_attended_on_me() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let under_way = demo_session(&db, "PTL-NA-DEMO-1");
    let cookies = login(&app, "lea.dubois@example.org").await;
    let (status, _, confirm) =
        send(&app, get_with_cookies(&format!("/sessions/{}/cancel", under_way.id), &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("enregistré comme un abandon") && confirm.contains("restent acquises"), "{confirm}");
    assert!(confirm.contains("Confirmer mon abandon"));
    let csrf = csrf_field(&confirm);
    let (status, headers, _) =
        send(&app, form_request(&format!("/sessions/{}/cancel", under_way.id), &[("csrf", &csrf)], &cookies)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"].to_str().unwrap(), "/me?info=abandoned");
    assert_eq!(status_of(&db, &under_way, "lea.dubois@example.org"), Some(EnrolmentStatus::Abandoned));
    let (_, _, me) = send(&app, get_with_cookies("/me?info=abandoned", &cookies)).await;
    let line = me.split("me-session").find(|part| part.contains("PTL-NA-DEMO-1")).unwrap();
    assert!(line.contains("Abandon le") && line.contains("conservées malgré l'abandon"), "{line}");
    assert!(line.contains("Heures suivies : <strong>") && !line.contains("<strong>0\u{a0}h</strong>"), "{line}");
}

#[tokio::test]
async fn signing_up_and_logging_in_from_a_session_return_to_it_and_nowhere_else() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let open = demo_session(&db, "ECO-DEMO-LIBOURNE");
    let path = format!("/sessions/{}", open.id);
    let (_, _, page) = send(&app, get(&path)).await;
    assert!(page.contains(&format!("href=\"/signup?next={path}\"")), "{page}");

    let (_, headers, form) = send(&app, get(&format!("/signup?next={path}"))).await;
    let escaped = path.replace('/', "&#x2f;");
    assert!(form.contains(&format!("name=\"next\" value=\"{escaped}\"")), "{form}");
    let csrf_cookie = format!("lms_csrf={}", set_cookie(&headers, "lms_csrf").unwrap());
    let csrf = csrf_field(&form);
    let sign_up = |email: &'static str, next: String| {
        let fields = [
            ("name", "Inès Navarro".to_owned()),
            ("email", email.to_owned()),
            ("password", "un mot de passe solide".to_owned()),
            ("password_confirmation", "un mot de passe solide".to_owned()),
            ("next", next),
            ("csrf", csrf.clone()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        form_request("/signup", &fields, &csrf_cookie)
    };
    let (status, headers, _) = send(&app, sign_up("ines.navarro@example.org", path.clone())).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to_login = headers["location"].to_str().unwrap().to_owned();
    assert_eq!(to_login, format!("/login?info=signup_received&next={path}"));

    let (_, headers, login_page) = send(&app, get(&to_login)).await;
    assert!(login_page.contains(&format!("name=\"next\" value=\"{escaped}\"")), "{login_page}");
    let csrf_cookie = format!("lms_csrf={}", set_cookie(&headers, "lms_csrf").unwrap());
    let csrf = csrf_field(&login_page);
    let (status, headers, _) = send(
        &app,
        form_request(
            "/login",
            &[
                ("email", "ines.navarro@example.org"),
                ("password", "un mot de passe solide"),
                ("csrf", &csrf),
                ("next", &path),
            ],
            &csrf_cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"].to_str().unwrap(), path);

    // Another site is never a destination: the sign-up and the login fall back to /me.
    let (status, headers, _) = send(&app, sign_up("jade.morel@example.org", "//evil.example".into())).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"].to_str().unwrap(), "/login?info=signup_received");
    let (_, _, login_page) = send(&app, get("/login?next=//evil.example")).await;
    assert!(!login_page.contains("evil.example"), "{login_page}");
    let (status, headers, _) = send(
        &app,
        form_request(
            "/login",
            &[
                ("email", "ines.navarro@example.org"),
                ("password", "un mot de passe solide"),
                ("csrf", &csrf),
                ("next", "//evil.example"),
            ],
            &csrf_cookie,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"].to_str().unwrap(), "/me");
}

#[tokio::test]
async fn me_shows_one_line_per_session_with_progress_and_each_half_day_at_its_venue() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    // A two-venue session soon: one day at each venue.
    let mut conn = db.conn();
    let mut first = catalogue::paris_today() + chrono::Duration::days(60);
    while matches!(
        chrono::Datelike::weekday(&first),
        chrono::Weekday::Fri | chrono::Weekday::Sat | chrono::Weekday::Sun
    ) {
        first = first.succ_opt().unwrap();
    }
    let days = catalogue::consecutive_weekdays(first, 2).unwrap();
    let session = catalogue::create_training_session(
        &mut conn,
        &NewTrainingSession {
            course_code: "ANIM".into(),
            days: vec![
                PlannedDay { date: days[0], venue_slug: "cowork-etc-saintes".into() },
                PlannedDay { date: days[1], venue_slug: "fabrique-pola-begles".into() },
            ],
            capacity: 5,
            trainer_emails: vec![],
            publish: true,
            reference: Some("ANIM-DEUX-LIEUX".into()),
        },
    )
    .unwrap();
    let user = people::add_user(
        &mut conn,
        &NewUser {
            email: "rose.lambert@example.org".into(),
            display_name: "Rose Lambert".into(),
            role: Role::Trainee,
            password: "un mot de passe solide".into(),
        },
    )
    .unwrap();
    let caller = lms_core::access::caller_for(&mut conn, &user.id).unwrap();
    enrolment::enrol_as(&mut conn, &session.id, &caller, &Default::default(), lms_core::db::now()).unwrap();
    drop(conn);
    let cookies =
        format!("lms_session={}", browser_login(&app, "rose.lambert@example.org", "un mot de passe solide").await);
    let (status, _, me) = send(&app, get_with_cookies("/me", &cookies)).await;
    assert_eq!(status, StatusCode::OK);
    let next = me.split("id=\"prochaines\"").nth(1).unwrap().split("</section>").next().unwrap();
    let saintes = next.find("href=\"/lieux/cowork-etc-saintes\"").expect(next);
    let begles = next.find("href=\"/lieux/fabrique-pola-begles\"").expect(next);
    assert!(saintes < begles, "{next}");
    assert_eq!(me.matches("ANIM-DEUX-LIEUX").count(), 1, "one line per session: {me}");
    assert!(me.contains("href=\"/me/certificates\""));
    assert!(me.contains("la formation n'a pas encore commencé"), "{me}");
    let content = me.split("Mon espace</h1>").nth(1).unwrap().split("id=\"agenda\"").next().unwrap();
    assert!(!content.contains("ayant eu lieu") && !content.contains(" · "), "{content}");

    // Léa, under way in the certifying session: hours against the 80 % rule.
    let lea = login(&app, "lea.dubois@example.org").await;
    let (_, _, me) = send(&app, get_with_cookies("/me", &lea)).await;
    let line = me.split("me-session").find(|part| part.contains("PTL-NA-DEMO-1")).unwrap();
    assert!(line.contains("Heures suivies") && line.contains("80&nbsp;%"), "{line}");
    assert_eq!(me.matches("— session PTL-NA-DEMO-1").count(), 1, "{me}");
}

#[tokio::test]
async fn a_trainer_and_an_administrator_get_their_own_home() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let under_way = demo_session(&db, "PTL-NA-DEMO-1");
    let trainer = login(&app, "formatrice.charente@demo.tierslieux.example.org").await;
    let (_, _, me) = send(&app, get_with_cookies("/me", &trainer)).await;
    assert!(me.contains("Mes sessions à animer"), "{me}");
    assert!(me.contains(&format!("href=\"/trainer/sessions/{}\"", under_way.id)), "{me}");
    assert!(!me.contains("Mes prochaines demi-journées") && !me.contains("Vous n'êtes inscrit·e"), "{me}");

    let admin = login(&app, "admin@demo.tierslieux.example.org").await;
    let (_, _, me) = send(&app, get_with_cookies("/me", &admin)).await;
    let waiting = me.split("id=\"a-traiter\"").nth(1).expect(&me);
    assert!(
        waiting.contains("Demandes d'admission à examiner") && waiting.contains("IMPACT-DEMO-LIMOGES"),
        "{waiting}"
    );
    assert!(!me.contains("Mes sessions à animer"));

    // Someone with both roles sees both parts.
    people::grant_role(&mut db.conn(), "formatrice.charente@demo.tierslieux.example.org", Role::Admin).unwrap();
    let (_, _, me) = send(&app, get_with_cookies("/me", &trainer)).await;
    assert!(me.contains("Mes sessions à animer") && me.contains("id=\"a-traiter\""), "{me}");
}
