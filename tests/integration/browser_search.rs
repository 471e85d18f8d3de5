//! Finding a session near home in a real headless Chromium (375 px wide), with and without
//! JavaScript, on the demo data: a postcode lands on results, a typo offers « Vouliez-vous
//! dire », a search with nothing within the time shows the nearest sessions beyond it, and the
//! filters (date, order, PMR) are kept by the form. See `lms_tests::browser`.

use lms_core::catalogue::{self, Near, SearchQuery};
use lms_core::geo::TravelModel;
use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

/// A demo place with no session within ten minutes but some within two hours.
fn remote_place(db: &TestDb) -> String {
    let mut conn = db.conn();
    let model = TravelModel::default();
    ["Ruffec", "Confolens", "Barbezieux-Saint-Hilaire", "Montmorillon", "Mauléon", "Nontron", "Sarlat-la-Canéda"]
        .into_iter()
        .find(|place| {
            let query = SearchQuery { minutes: Some(10), ..SearchQuery::near(Near::Text((*place).into())) };
            catalogue::search_sessions(&mut conn, &query, &model)
                .is_ok_and(|found| found.sessions.is_empty() && !found.beyond.is_empty())
        })
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("the demo data has no place with sessions only beyond ten minutes"))
}

async fn finding_a_session_near_home(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let remote = remote_place(&db);
    let base = format!("http://{}", spawn_server(&db).await);
    let journey = if javascript { "search-js" } else { "search-nojs" };
    let mut browser = Browser::start(journey, javascript).await;

    browser.open(&format!("{base}/")).await;
    browser.assert_page_quality("home").await;
    let html = browser.html().await;
    browser
        .check(
            html.contains("Utiliser ma position") == javascript,
            "« Utiliser ma position » only where the script runs",
        )
        .await;

    // A postcode shared by three communes: straight to the results, no question asked.
    browser.fill("near", "16400").await;
    browser.select("minutes", "30").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("à moins de 30 minutes").await;
    browser.check(!html.contains("Choisissez votre commune"), "no choice of commune for a postcode").await;
    browser.check(html.contains("Formations à moins de 30 min de 16400"), "the heading says what was searched").await;
    browser.check(html.contains("min en voiture"), "results with their estimate").await;
    browser.assert_page_quality("postcode results").await;
    browser.screenshot("postcode-results").await;

    // A typo: « Vouliez-vous dire … ? », and the suggestion leads to results.
    browser.fill("near", "Limoge").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("Vouliez-vous dire").await;
    browser.check(html.contains("Limoges — Haute-Vienne (87)"), "the suggestion names its département").await;
    browser.assert_page_quality("suggestions").await;
    browser.screenshot("typo-suggestions").await;
    browser.click(".error-message .candidates li a").await;
    browser.wait_for_text("Formations à moins de 30 min de Limoges").await;
    browser.assert_page_quality("suggestion followed").await;

    // Nothing within ten minutes: the nearest sessions beyond, labelled as such.
    browser.fill("near", &remote).await;
    browser.select("minutes", "10").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("au-delà de 10 minutes").await;
    browser.check(html.contains("Au-delà de la limite"), "sessions beyond the limit are labelled").await;
    browser.assert_page_quality("beyond the limit").await;
    browser.screenshot("beyond").await;

    // Filters: start date, order by date, accessible venues only; the form keeps them.
    browser.fill("near", "16400").await;
    browser.select("minutes", "60").await;
    browser.select("sort", "date").await;
    browser.click("#pmr").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("lieux accessibles PMR").await;
    browser.check(browser.url().await.contains("pmr=true"), "the PMR filter is sent").await;
    browser.check(browser.value("sort").await == "date", "the order is kept").await;
    browser.check(html.contains("type=\"checkbox\" value=\"true\" checked"), "the checkbox is kept").await;
    browser.assert_page_quality("filters").await;
    browser.screenshot("filters").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_search_near_home_with_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(finding_a_session_near_home(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_search_near_home_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(finding_a_session_near_home(false)).await;
}
