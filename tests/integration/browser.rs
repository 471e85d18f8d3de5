//! Journeys in a real headless Chromium (375 px wide), with and without JavaScript, against a
//! server started here with the demo data. See `lms_tests::browser`.

use lms_tests::browser::{Browser, bounded, browser_available, unlabelled_fields};
use lms_tests::{Seed, TestDb, spawn_server};

fn skip_loudly() -> bool {
    match browser_available() {
        Ok(()) => false,
        Err(reason) => {
            // CI installs the browser; it may skip only when that install failed (and said so).
            assert!(
                std::env::var("CI").is_err() || std::env::var("LMS_BROWSER_UNAVAILABLE").is_ok(),
                "CI must run the browser journeys: {reason}"
            );
            eprintln!("\n!!!!! BROWSER JOURNEYS SKIPPED: {reason} !!!!!\n");
            true
        }
    }
}

async fn assert_page_quality(browser: &Browser, javascript: bool, what: &str) {
    let html = browser.html().await;
    let missing = unlabelled_fields(&html);
    browser.check(missing.is_empty(), &format!("{what}: fields without a label: {missing:?}")).await;
    if javascript && let Err(report) = browser.fits_phone_width().await {
        browser.check(false, &format!("{what}: wider than 375 px: {report}")).await;
    }
}

async fn trainee_finds_enrols_and_gets_convocation(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("journey1-find-and-enrol", javascript).await;

    browser.open(&format!("{base}/")).await;
    assert_page_quality(&browser, javascript, "home").await;
    browser.screenshot("home").await;

    // A postcode shared by three communes near Angoulême: the page offers the candidates.
    browser.fill("near", "16400").await;
    browser.select("minutes", "30").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("Choisissez votre commune").await;
    browser.check(html.contains("Choisissez votre commune") && html.contains("Puymoyen"), "candidates shown").await;
    browser.screenshot("ambiguous-postcode").await;
    browser.click_link("Puymoyen (16, 16400)").await;
    let html = browser.wait_for_text("à moins de 30 minutes").await;
    browser.check(html.contains("à moins de 30 minutes de Puymoyen"), "results for the chosen commune").await;
    browser
        .check(html.contains("La Kabane") && html.contains("min en voiture"), "nearby session with its estimate")
        .await;
    // Ranked by estimated time: the first card's band starts no later than the next ones'.
    let bands: Vec<u32> = html
        .match_indices("<strong>≈ ")
        .filter_map(|(i, m)| html[i + m.len()..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    browser.check(!bands.is_empty(), "at least one result").await;
    browser.screenshot("results").await;

    // Sign up from the results page, then come back to the session.
    browser.click_link("Créer un compte").await;
    browser.wait_for_text("Créer un compte stagiaire").await;
    assert_page_quality(&browser, javascript, "signup").await;
    browser.fill("name", "Agnès Navigatrice").await;
    browser.fill("email", "agnes@example.org").await;
    browser.fill("password", "un mot de passe solide").await;
    browser.fill("password_confirmation", "un mot de passe solide").await;
    browser.screenshot("signup").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Bienvenue").await;
    browser.check(browser.url().await.contains("/me"), "landed on /me after sign-up").await;

    browser.open(&format!("{base}/?near=Puymoyen%20(16)&minutes=30")).await;
    browser.click(".cards li h3 a").await;
    browser.wait_for_text("Calendrier").await;
    assert_page_quality(&browser, javascript, "session").await;
    browser.screenshot("session").await;
    browser.select("funding_source", "cpf").await;
    browser.fill("positioning_answers", "Je coordonne un café associatif.").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Votre inscription est confirmée").await;
    browser.screenshot("enrolled").await;

    browser.open(&format!("{base}/me")).await;
    let html = browser.html().await;
    browser
        .check(html.contains("Inscription confirmée") && html.contains("Convocation"), "/me lists the enrolment")
        .await;
    assert_page_quality(&browser, javascript, "me").await;
    browser.screenshot("me").await;
    browser.click_link("Convocation").await;
    let html = browser.wait_for_text("Convocation à la formation").await;
    browser
        .check(html.contains("Convocation à la formation") && html.contains("Agnès Navigatrice"), "convocation")
        .await;
    browser.screenshot("convocation").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_1_a_trainee_finds_a_session_signs_up_and_enrols() {
    if skip_loudly() {
        return;
    }
    bounded(trainee_finds_enrols_and_gets_convocation(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_1_works_without_javascript() {
    if skip_loudly() {
        return;
    }
    bounded(trainee_finds_enrols_and_gets_convocation(false)).await;
}

async fn log_in(browser: &Browser, base: &str, email: &str) {
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", email).await;
    browser.fill("password", "tiers-lieux-demo").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mon espace</h1>").await;
}

async fn log_out(browser: &Browser) {
    browser.click("header form.inline button").await;
    browser.wait_for_text("Vous êtes déconnecté").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_2_the_last_seat_the_waitlist_and_a_promotion() {
    if skip_loudly() {
        return;
    }
    bounded(last_seat_waitlist_and_promotion()).await;
}

async fn last_seat_waitlist_and_promotion() {
    let db = TestDb::new(Seed::Demo);
    let session = crate::enrolment::published_session(&mut db.conn(), 2);
    let base = format!("http://{}", spawn_server(&db).await);
    let page = format!("{base}/sessions/{session}");
    let mut browser = Browser::start("journey2-waitlist", false).await;

    for (email, expected) in [
        ("lea.dubois@example.org", "Votre inscription est confirmée"),
        ("karim.benali@example.org", "Votre inscription est confirmée"),
        ("sophie.martin@example.org", "liste d'attente"),
    ] {
        log_in(&browser, &base, email).await;
        browser.open(&page).await;
        browser.click("form.stack button").await;
        browser.wait_for_text(expected).await;
        browser.screenshot(email.split('@').next().unwrap_or("trainee")).await;
        log_out(&browser).await;
    }

    // The first trainee cancels: the waitlisted one gets the seat in the same transaction.
    log_in(&browser, &base, "lea.dubois@example.org").await;
    browser.open(&page).await;
    browser.click("form[action$='/cancel'] button").await;
    browser.wait_for_text("Votre inscription est annulée").await;
    browser.screenshot("first-cancels").await;
    log_out(&browser).await;

    log_in(&browser, &base, "sophie.martin@example.org").await;
    let html = browser.wait_for_text("Inscription confirmée").await;
    browser.check(html.contains("Une place s"), "promotion notified on /me").await;
    browser.screenshot("promoted").await;
    browser.close().await;
}
