//! Every public page and the error pages in a real headless Chromium at 375 px, with and without
//! JavaScript: each fits the phone, labels its fields and passes axe-core with no violation.

use lms_tests::browser::{Browser, bounded, browser_available};
use lms_tests::{Seed, TestDb, skip_for_want_of, spawn_server, under_ci};

use crate::attendance_support::TRAINEE;

fn skip_loudly() -> bool {
    match browser_available() {
        Ok(()) => false,
        Err(reason) => skip_for_want_of(
            "browser journey",
            &reason,
            under_ci() && std::env::var("LMS_BROWSER_UNAVAILABLE").is_err(),
        ),
    }
}

async fn check_page(browser: &mut Browser, javascript: bool, url: &str, heading: &str, name: &str) {
    browser.open(url).await;
    let html = browser.wait_for_text(heading).await;
    browser.check(html.contains("href=\"/mentions-legales\""), &format!("{name}: footer links")).await;
    if javascript && let Err(report) = browser.fits_phone_width().await {
        browser.check(false, &format!("{name}: wider than 375 px: {report}")).await;
    }
    browser.assert_accessible(name).await;
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
        check_page(&mut browser, javascript, &format!("{base}{path}"), heading, name).await;
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
    check_page(&mut browser, javascript, &format!("{base}/trainer"), "Accès refusé", "forbidden-signed-in").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_and_error_pages_pass_axe_at_phone_width() {
    if skip_loudly() {
        return;
    }
    bounded(public_and_error_pages(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_pages_and_error_pages_work_without_javascript() {
    if skip_loudly() {
        return;
    }
    bounded(public_and_error_pages(false)).await;
}
