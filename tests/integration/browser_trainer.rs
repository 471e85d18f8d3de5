//! The trainer's screens in a real headless Chromium at 375 px, with and without JavaScript
//! (see `lms_tests::browser`): the list of sessions (today's first), a session's absence alert
//! beside its half-days, the competence grid fitting the phone, the signature pad (an empty pad
//! explained in French; without JavaScript, the check-in code offered), co-signing with its
//! confirmation, the check-in code renewed in place by the script, and an administrator showing
//! the code.

use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use lms_core::attendance::checkin::ROTATION_SECONDS;
use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

use crate::attendance_support::{ADMIN, DEMO, DEMO_TRAINEES, PASSWORD, TRAINER, open_half_day_started, session, user};

async fn log_in(browser: &Browser, base: &str, email: &str) {
    browser.open(&format!("{base}/login")).await;
    browser.fill("email", email).await;
    browser.fill("password", PASSWORD).await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mon espace</h1>").await;
}

/// Runs a script in the page and returns its result.
async fn run(browser: &Browser, script: &str) -> serde_json::Value {
    browser.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("script {script}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainer_screens_fit_a_phone_and_explain_themselves() {
    if skip_without_browser() {
        return;
    }
    bounded(trainer_screens(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trainer_screens_work_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(trainer_screens(false)).await;
}

async fn trainer_screens(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    // The demo's PTL-NA-DEMO-1 gets a half-day that started a minute ago: held today.
    let (demo, half_day, trainees) = {
        let mut conn = db.conn();
        let demo = session(&mut conn, DEMO);
        let half_day = open_half_day_started(&mut conn, &demo, Duration::minutes(1));
        let trainees: Vec<String> = DEMO_TRAINEES.iter().map(|email| user(&mut conn, email).to_string()).collect();
        (demo, half_day, trainees)
    };
    let base = format!("http://{}", spawn_server(&db).await);
    let sheet = format!("{base}/trainer/sessions/{demo}/half-days/{half_day}");
    let mut trainer = Browser::start("trainer-screens", javascript).await;
    log_in(&trainer, &base, TRAINER).await;

    // Today's session comes first, under its own heading.
    trainer.click_link("Espace formateur").await;
    let html = trainer.wait_for_text("Mes sessions</h1>").await;
    let today = html.find("Aujourd'hui</h2>").or_else(|| html.find("Aujourd&#x27;hui</h2>"));
    let upcoming = html.find("À venir</h2>");
    let listed = html.find(&format!("href=\"/trainer/sessions/{demo}\""));
    trainer.check(today.is_some() && listed > today && upcoming > listed, "today's session listed first").await;
    trainer.assert_page_quality("trainer sessions").await;
    trainer.screenshot("sessions").await;

    // The absence alert tells the count the half-days show.
    trainer.click(&format!("a[href='/trainer/sessions/{demo}']")).await;
    let html = trainer.wait_for_text("Demi-journées</h2>").await;
    trainer.check(!html.contains("Aucun·e stagiaire absent·e"), "no « nobody absent » beside absences").await;
    trainer.check(html.contains("absence enregistrée") || html.contains("absences enregistrées"), "one count").await;
    trainer.check(!html.contains(" 1 absents") && !html.contains(" 1 présents"), "French plurals").await;
    trainer.assert_page_quality("session and absence alert").await;
    trainer.screenshot("session").await;

    // The competence grid: one card per trainee on the phone, no sideways scrolling.
    trainer.open(&format!("{base}/trainer/sessions/{demo}/assessments")).await;
    trainer.wait_for_text("Évaluation des compétences</h1>").await;
    trainer.assert_page_quality("competence grid").await;
    trainer.screenshot("grid").await;

    // The signature pad: an empty pad is explained; without JavaScript the code is offered.
    trainer.open(&format!("{sheet}/signature/{}", trainees[1])).await;
    trainer.wait_for_text("Signature de ").await;
    trainer.assert_page_quality("signature pad").await;
    trainer.screenshot("pad").await;
    if javascript {
        trainer.click("form.signature-form button[type='submit']").await;
        trainer.wait_for_text("Le cadre de signature est vide").await;
        let html = trainer.html().await;
        trainer.check(!html.contains("format attendu"), "no technical format in the message").await;
        trainer.assert_page_quality("empty pad refused").await;
        trainer.screenshot("pad-empty").await;
    } else {
        let offered = trainer.text(".no-script-signature").await;
        trainer.check(offered.contains("demande JavaScript"), "the page says the pad needs JavaScript").await;
        trainer.click_link("Afficher le code d'émargement (QR code)").await;
        trainer.wait_for_text("Scannez le QR code").await;
        trainer.assert_page_quality("code offered instead of the pad").await;
        trainer.screenshot("pad-nojs-code").await;
    }

    // The check-in code is renewed in place by the script (no reload); without it, the page
    // reloads itself through a meta refresh.
    trainer.open(&format!("{sheet}/checkin")).await;
    let html = trainer.wait_for_text("Scannez le QR code").await;
    trainer.assert_page_quality("check-in code").await;
    trainer.screenshot("code").await;
    if javascript {
        let first = trainer.text("p.code").await;
        run(&trainer, "window.keptAcrossRenewals = 'same page'; return null;").await;
        let deadline = Instant::now() + StdDuration::from_secs(ROTATION_SECONDS as u64 + 20);
        let renewed = loop {
            let shown = trainer.text("p.code").await;
            if shown != first && !shown.is_empty() {
                break shown;
            }
            trainer.check(Instant::now() < deadline, "the code was never renewed").await;
            tokio::time::sleep(StdDuration::from_millis(500)).await;
        };
        let kept = run(&trainer, "return window.keptAcrossRenewals || null;").await;
        trainer.check(kept.as_str() == Some("same page"), &format!("renewed without a reload ({renewed})")).await;
        trainer.assert_page_quality("check-in code renewed").await;
        trainer.screenshot("code-renewed").await;
    } else {
        // Without JavaScript, a new code by a link, or a reload every rotation when asked for.
        trainer.check(html.contains("afficher un nouveau code"), "a new code by a link").await;
        trainer.click_link(&format!("recharger la page toutes les {ROTATION_SECONDS} secondes")).await;
        trainer.wait_for_text("Arrêter le rechargement automatique").await;
        trainer.assert_page_quality("check-in code reloading itself").await;
    }

    // Co-signing asks for confirmation: the button alone does not close the half-day.
    trainer.open(&sheet).await;
    trainer.wait_for_text("Enregistrer la feuille").await;
    for trainee in &trainees {
        if trainer.value(&format!("status-{trainee}")).await.is_empty() {
            trainer.select(&format!("status-{trainee}"), "present").await;
        }
    }
    trainer.click("form.sheet-form > button[type='submit']").await;
    trainer.wait_for_text("Les statuts ont été enregistrés").await;
    trainer.click("form[action$='/cosign'] button").await;
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let html = trainer.html().await;
    trainer.check(!html.contains("Demi-journée contresignée"), "not co-signed without the confirmation").await;
    trainer.check(html.contains("id=\"cosign-confirm\""), "the confirmation is asked for").await;
    trainer.assert_page_quality("co-signature awaiting confirmation").await;
    trainer.screenshot("cosign-unconfirmed").await;
    trainer.click("#cosign-confirm").await;
    trainer.click("form[action$='/cosign'] button").await;
    let html = trainer.wait_for_text("Demi-journée contresignée").await;
    trainer.check(html.contains("Contresignée par "), "co-signed once confirmed").await;
    trainer.assert_page_quality("co-signed").await;
    trainer.screenshot("cosigned").await;
    trainer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_shows_the_checkin_code() {
    if skip_without_browser() {
        return;
    }
    bounded(admin_shows_the_code(true)).await;
    bounded(admin_shows_the_code(false)).await;
}

async fn admin_shows_the_code(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let (demo, half_day) = {
        let mut conn = db.conn();
        let demo = session(&mut conn, DEMO);
        let half_day = open_half_day_started(&mut conn, &demo, Duration::minutes(5));
        (demo, half_day)
    };
    let base = format!("http://{}", spawn_server(&db).await);
    let mut admin = Browser::start("admin-checkin-code", javascript).await;
    log_in(&admin, &base, ADMIN).await;
    admin.open(&format!("{base}/trainer/sessions/{demo}/half-days/{half_day}")).await;
    let html = admin.wait_for_text("Afficher le code d'émargement").await;
    admin.check(!html.contains("Enregistrer la feuille"), "the sheet stays read-only for the office").await;
    admin.assert_page_quality("sheet seen by the office").await;
    admin.screenshot("sheet").await;
    admin.click_link("Afficher le code d'émargement (QR code)").await;
    admin.wait_for_text("Scannez le QR code").await;
    let code = admin.text("p.code").await;
    admin.check(code.chars().filter(char::is_ascii_alphanumeric).count() == 6, &format!("a code: {code}")).await;
    admin.assert_page_quality("code shown by the office").await;
    admin.screenshot("code").await;
    admin.close().await;
}
