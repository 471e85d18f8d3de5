//! The trainee's day in a real headless Chromium (375 px wide), with and without JavaScript: from
//! a session page, sign up and come back to it, enrol, read `/me` (progress, next half-days at
//! their venue), cancel through the confirmation page; a finished session offers no form; a
//! trainer's and an administrator's own `/me`. See `lms_tests::browser`.

use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

fn session_id(db: &TestDb, reference: &str) -> String {
    lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default())
        .expect("sessions")
        .into_iter()
        .find(|s| s.reference == reference)
        .map(|s| s.id.to_string())
        .expect("demo session")
}

async fn log_in(browser: &Browser, base: &str, email: &str) {
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", email).await;
    browser.fill("password", "tiers-lieux-demo").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mon espace</h1>").await;
}

async fn trainee_day(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let open = session_id(&db, "ECO-DEMO-LIBOURNE");
    let finished = session_id(&db, "PTL-NA-DEMO-0");
    let journey = if javascript { "trainee-day" } else { "trainee-day-nojs" };
    let mut browser = Browser::start(journey, javascript).await;

    // From the session page: sign up, then log in, and land back on the session.
    browser.open(&format!("{base}/sessions/{open}")).await;
    browser.wait_for_text("Calendrier").await;
    browser.assert_page_quality("session (anonymous)").await;
    browser.screenshot("session-anonymous").await;
    browser.click_link("créer un compte").await;
    browser.wait_for_text("Créer un compte stagiaire").await;
    browser.assert_page_quality("signup").await;
    browser.fill("name", "Inès Navarro").await;
    browser.fill("email", "ines.navarro@example.org").await;
    browser.fill("password", "un mot de passe solide").await;
    browser.fill("password_confirmation", "un mot de passe solide").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Inscription reçue").await;
    browser.assert_page_quality("login after signup").await;
    browser.fill("email", "ines.navarro@example.org").await;
    browser.fill("password", "un mot de passe solide").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Calendrier").await;
    browser.check(browser.url().await.ends_with(&format!("/sessions/{open}")), "back on the session").await;

    // Enrol, then read /me.
    browser.click("form.stack button").await;
    browser.wait_for_text("Votre inscription est confirmée").await;
    browser.assert_page_quality("enrolled").await;
    browser.screenshot("enrolled").await;
    browser.open(&format!("{base}/me")).await;
    let html = browser.wait_for_text("Mes prochaines demi-journées").await;
    browser.check(html.contains("href=\"/lieux/"), "next half-days link their venue").await;
    browser.check(html.contains("prévues au total"), "planned hours shown").await;
    browser.check(html.contains("href=\"/me/certificates\""), "link to the certificates").await;
    browser.assert_page_quality("me (trainee)").await;
    browser.screenshot("me-trainee").await;

    // Cancel through the confirmation page.
    browser.open(&format!("{base}/sessions/{open}")).await;
    browser.click_link("Annuler mon inscription").await;
    let html = browser.wait_for_text("Ce qui va se passer").await;
    browser.check(html.contains("votre place libérée"), "says what happens").await;
    browser.assert_page_quality("cancel confirmation").await;
    browser.screenshot("cancel-confirmation").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Votre inscription est annulée").await;
    browser.screenshot("cancelled").await;

    // A finished session offers no form.
    browser.open(&format!("{base}/sessions/{finished}")).await;
    let html = browser.wait_for_text("Session terminée").await;
    browser.check(!html.contains("/enrol\"") && !html.contains("places restantes"), "no form, no seats").await;
    browser.assert_page_quality("finished session").await;
    browser.screenshot("finished").await;
    browser.close().await;

    // A trainer's and an administrator's own home.
    let mut staff = Browser::start(&format!("{journey}-staff"), javascript).await;
    log_in(&staff, &base, "formatrice.charente@demo.tierslieux.example.org").await;
    let html = staff.wait_for_text("Mes sessions à animer").await;
    staff.check(html.contains("href=\"/trainer/sessions/"), "the trainer's sessions link their pages").await;
    staff.assert_page_quality("me (trainer)").await;
    staff.screenshot("me-trainer").await;
    staff.click("header form.inline button").await;
    staff.wait_for_text("Vous êtes déconnecté").await;
    log_in(&staff, &base, "admin@demo.tierslieux.example.org").await;
    let html = staff.wait_for_text("À traiter").await;
    staff.check(html.contains("IMPACT-DEMO-LIMOGES"), "pending admission requests").await;
    staff.assert_page_quality("me (admin)").await;
    staff.screenshot("me-admin").await;
    staff.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_trainee_day_from_session_page_to_cancellation() {
    if skip_without_browser() {
        return;
    }
    bounded(trainee_day(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_trainee_day_works_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(trainee_day(false)).await;
}
