//! A trainee answers a satisfaction questionnaire in a real headless Chromium (375 px wide)
//! without JavaScript: from `/me`, the demo's anonymous « à froid » questionnaire of the finished
//! session PTL-NA-DEMO-0, radio groups in fieldsets, a thank-you state, then « déjà répondu ».

use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

async fn answer_a_questionnaire() {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("survey", false).await;
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", "damien.roche@example.org").await;
    browser.fill("password", "tiers-lieux-demo").await;
    browser.click("form.stack button").await;
    let html = browser.wait_for_text("Questionnaires de satisfaction à remplir").await;
    browser.check(html.contains("Et depuis la formation ?"), "the open questionnaire is listed on /me").await;
    browser.assert_page_quality("me with a questionnaire").await;
    browser.click_link("Et depuis la formation ?").await;
    let html = browser.wait_for_text("Envoyer mes réponses").await;
    browser.check(html.contains("Ce questionnaire est anonyme"), "says it is anonymous").await;
    browser.check(html.contains("<legend>"), "radio groups have legends").await;
    browser.assert_page_quality("questionnaire").await;
    browser.screenshot("questionnaire").await;
    browser.click("#satisfaction-4").await;
    browser.click("#q-mise_en_pratique-4").await;
    browser.click("#q-situation-2").await;
    browser.fill("q-commentaire", "Le réseau des tiers-lieux m'a beaucoup servi.").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Votre réponse est enregistrée").await;
    browser.assert_page_quality("thanks").await;
    browser.screenshot("questionnaire-thanks").await;
    let url = browser.url().await;
    browser.open(url.trim_end_matches("?merci=1")).await;
    let html = browser.wait_for_text("Vous avez déjà répondu").await;
    browser.check(!html.contains("Envoyer mes réponses"), "no form once answered").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_a_trainee_answers_a_questionnaire_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(answer_a_questionnaire()).await;
}
