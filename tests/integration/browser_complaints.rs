//! A visitor's complaint in a real headless Chromium without JavaScript, at phone width: from the
//! footer link to `/reclamation`, the form (a fieldset for the kind, labelled fields), then the
//! confirmation with the reference and the answer day. See `lms_tests::browser`.

use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

async fn complaint_journey() {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("complaint", false).await;

    browser.open(&format!("{base}/")).await;
    browser.click_link("Réclamation").await;
    let html = browser.wait_for_text("Réclamation ou difficulté").await;
    browser.check(html.contains("<legend>"), "the kind is a fieldset with its legend").await;
    browser.assert_page_quality("complaint form (anonymous)").await;
    browser.screenshot("complaint-form").await;

    browser.click("#kind-difficulty").await;
    browser.fill("name", "Jeanne Petit").await;
    browser.fill("email", "jeanne.petit@example.org").await;
    browser.fill("session", "PTL-NA-DEMO-1").await;
    browser.fill("subject", "Accès au lieu en fauteuil").await;
    browser.fill("message", "L'entrée principale a une marche : y a-t-il un autre accès ?").await;
    browser.click("form.stack button").await;
    let html = browser.wait_for_text("est enregistrée").await;
    browser.check(html.contains("REC-"), "the reference is shown").await;
    browser.check(html.contains("au plus tard le"), "the answer day is shown").await;
    browser.check(html.contains("jeanne.petit@example.org"), "where the acknowledgement goes").await;
    browser.assert_page_quality("complaint confirmation").await;
    browser.screenshot("complaint-confirmation").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_a_visitor_sends_a_complaint_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(complaint_journey()).await;
}
