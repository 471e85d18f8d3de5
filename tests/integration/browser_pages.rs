//! Every public page and the error pages in a real headless Chromium at 375 px, with and without
//! JavaScript: each fits the phone, labels its fields and passes axe-core with no violation.

use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

use crate::attendance_support::TRAINEE;

async fn check_page(browser: &mut Browser, url: &str, heading: &str, name: &str) {
    browser.open(url).await;
    let html = browser.wait_for_text(heading).await;
    browser.check(html.contains("href=\"/mentions-legales\""), &format!("{name}: footer links")).await;
    browser.assert_page_quality(name).await;
    browser.screenshot(name).await;
}

async fn public_and_error_pages(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("public-pages", javascript).await;
    for (path, heading, name) in [
        ("/", "Se former dans un tiers-lieu", "home"),
        ("/formations", "Nos formations", "catalogue"),
        ("/resultats", "Nos résultats", "results"),
        ("/mentions-legales", "Mentions légales", "legal-notice"),
        ("/confidentialite", "Confidentialité et données personnelles", "privacy"),
        ("/accessibilite", "Déclaration d'accessibilité", "accessibility"),
        ("/contact", "Nous contacter", "contact"),
        ("/conditions-generales", "Conditions générales", "terms"),
        ("/login", "Connexion", "login"),
        ("/mot-de-passe-oublie", "Mot de passe oublié", "password-reset"),
        ("/nulle-part", "Page introuvable", "not-found-anonymous"),
    ] {
        check_page(&mut browser, &format!("{base}{path}"), heading, name).await;
    }

    // Signed in, an error page keeps « Mon espace » and offers the way back.
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", TRAINEE).await;
    browser.fill("password", "tiers-lieux-demo").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mes inscriptions").await;
    browser.open(&format!("{base}/formations")).await;
    browser.wait_for_text("Nos formations").await;
    browser.open(&format!("{base}/sessions/PAS-DE-SESSION")).await;
    let html = browser.wait_for_text("Page introuvable").await;
    browser.check(html.contains("Se déconnecter"), "signed-in header on the error page").await;
    check_page(&mut browser, &format!("{base}/trainer"), "Accès refusé", "forbidden-signed-in").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_and_error_pages_pass_axe_at_phone_width() {
    if skip_without_browser() {
        return;
    }
    bounded(public_and_error_pages(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_and_error_pages_work_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(public_and_error_pages(false)).await;
}
