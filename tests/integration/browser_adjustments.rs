//! The trainee asks for adjustments in a real headless Chromium at 375 px, without JavaScript:
//! from `/me`, the link to « Mes demandes d'aménagement », the form (an optional session, the
//! request), the confirmation and the request listed; then the disability referent reads it on
//! their page. See `lms_tests::browser`.

use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

async fn log_in(browser: &Browser, base: &str, email: &str) {
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", email).await;
    browser.fill("password", "tiers-lieux-demo").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mon espace</h1>").await;
}

async fn asking_for_adjustments() {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let session = lms_core::catalogue::list_training_sessions(&mut db.conn(), &Default::default())
        .expect("sessions")
        .into_iter()
        .find(|s| s.reference == "PTL-NA-DEMO-1")
        .map(|s| s.id.to_string())
        .expect("demo session");
    let mut browser = Browser::start("adjustments-nojs", false).await;
    log_in(&browser, &base, "lea.dubois@example.org").await;
    browser.click_link("Demander un aménagement (situation de handicap)").await;
    let html = browser.wait_for_text("Mes demandes d'aménagement").await;
    browser.check(html.contains("uniquement"), "says who reads it").await;
    browser.assert_page_quality("adjustments (empty)").await;
    browser.screenshot("adjustments-form").await;
    browser.select("session", &session).await;
    browser.fill("request", "J'ai besoin de pauses régulières et d'un siège ergonomique.").await;
    browser.click("form.stack button").await;
    let html = browser.wait_for_text("Votre demande est transmise").await;
    browser.check(html.contains("En cours d'examen") && html.contains("siège ergonomique"), "listed").await;
    browser.assert_page_quality("adjustments (sent)").await;
    browser.screenshot("adjustments-sent").await;
    browser.close().await;

    let referent = Browser::start("adjustments-referent-nojs", false).await;
    log_in(&referent, &base, "formateur.bearn@demo.tierslieux.example.org").await;
    referent.open(&format!("{base}/referent/amenagements")).await;
    let html = referent.wait_for_text("Demandes d'aménagement").await;
    referent.check(html.contains("siège ergonomique"), "the referent reads it").await;
    referent.assert_page_quality("referent page").await;
    referent.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_a_trainee_asks_for_adjustments_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(asking_for_adjustments()).await;
}
