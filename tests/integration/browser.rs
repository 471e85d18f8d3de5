//! Journeys in a real headless Chromium (375 px wide), with and without JavaScript, against a
//! server started here with the demo data. See `lms_tests::browser`.
//!
//! 1. a trainee finds a session near home, signs up, enrols and gets the convocation;
//! 2. the last seat, the waitlist and a promotion;
//! 3. a trainer shows the check-in code, a trainee checks in from their own phone, the trainer
//!    marks the others and co-signs, and the sheet shows the result;
//! 4. anyone verifies an issued and a revoked certificate.

use chrono::Duration;
use lms_core::certification::issuing;
use lms_core::certification::keys::Signer;
use lms_tests::browser::{Browser, bounded, skip_without_browser};
use lms_tests::{Seed, TestDb, spawn_server};

use crate::attendance_support::{DEMO, DEMO_TRAINEES, TRAINER, open_half_day_started, schedule, session, user};

async fn trainee_finds_enrols_and_gets_convocation(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("journey1-find-and-enrol", javascript).await;

    browser.open(&format!("{base}/")).await;
    browser.assert_page_quality("home").await;
    browser.screenshot("home").await;

    // A postcode shared by three communes near Angoulême: searched from all of them at once.
    browser.fill("near", "16400").await;
    browser.select("minutes", "30").await;
    browser.click("form.search button").await;
    let html = browser.wait_for_text("à moins de 30 minutes").await;
    browser.check(html.contains("à moins de 30 minutes de 16400"), "results for the postcode's communes").await;
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
    browser.assert_page_quality("signup").await;
    browser.fill("name", "Agnès Navigatrice").await;
    browser.fill("email", "agnes@example.org").await;
    browser.fill("password", "un mot de passe solide").await;
    browser.fill("password_confirmation", "un mot de passe solide").await;
    browser.screenshot("signup").await;
    browser.click("form.stack button").await;
    // Sign-up answers the same whether or not the address had an account: log in next.
    browser.wait_for_text("Inscription reçue").await;
    browser.assert_page_quality("signup-received").await;
    browser.fill("email", "agnes@example.org").await;
    browser.fill("password", "un mot de passe solide").await;
    browser.click("form.stack button").await;
    browser.wait_for_text("Mes inscriptions").await;
    browser.check(browser.url().await.contains("/me"), "landed on /me after sign-up and login").await;

    browser.open(&format!("{base}/?near=Puymoyen%20(16)&minutes=30")).await;
    browser.click(".cards li h3 a").await;
    browser.wait_for_text("Calendrier").await;
    browser.assert_page_quality("session").await;
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
    browser.assert_page_quality("me").await;
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
    if skip_without_browser() {
        return;
    }
    bounded(trainee_finds_enrols_and_gets_convocation(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_1_works_without_javascript() {
    if skip_without_browser() {
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
    if skip_without_browser() {
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
    // Cancelling goes through a confirmation page that says what will happen.
    browser.click("a[href$='/cancel']").await;
    browser.wait_for_text("Confirmer l'annulation").await;
    browser.assert_page_quality("cancel-confirmation").await;
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

// ------------------------------------------------------------------ journey 3: check-in and co-signature

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_3_a_trainee_checks_in_with_the_code_and_the_trainer_cosigns() {
    if skip_without_browser() {
        return;
    }
    bounded(checkin_marks_and_cosign(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_3_works_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(checkin_marks_and_cosign(false)).await;
}

async fn checkin_marks_and_cosign(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    // The demo's PTL-NA-DEMO-1 is under way; its next half-day is moved to have started three
    // minutes ago, as on a training morning (the server reads the real clock). Three minutes is
    // within the grace period, so the trainee checking in is on time.
    let (session, half_day, label, trainees) = {
        let mut conn = db.conn();
        let session = session(&mut conn, DEMO);
        let half_day = open_half_day_started(&mut conn, &session, Duration::minutes(3));
        // How the trainee's space names it (its calendar day and slot are those of the fixture).
        let moved = schedule(&mut conn, &session).into_iter().find(|h| h.id == half_day).unwrap();
        let slot = moved.slot.label_fr_lower();
        let label = format!("{}, {slot} — ", lms_core::locale::short_date_fr(moved.date));
        let trainees: Vec<String> = DEMO_TRAINEES.iter().map(|email| user(&mut conn, email).to_string()).collect();
        (session, half_day, label, trainees)
    };
    let base = format!("http://{}", spawn_server(&db).await);
    let sheet = format!("{base}/trainer/sessions/{session}/half-days/{half_day}");
    let mut trainer = Browser::start("journey3-trainer", javascript).await;
    let mut trainee = Browser::start("journey3-trainee", javascript).await;

    // The trainer finds today's half-day from their space and shows the code.
    log_in(&trainer, &base, TRAINER).await;
    trainer.click_link("Espace formateur").await;
    trainer.wait_for_text("Mes sessions</h1>").await;
    trainer.assert_page_quality("trainer sessions").await;
    trainer.screenshot("my-sessions").await;
    trainer.click(&format!("a[href='/trainer/sessions/{session}']")).await;
    trainer.wait_for_text("Demi-journées</h2>").await;
    trainer.assert_page_quality("trainer session").await;
    trainer.screenshot("session").await;
    trainer.click(&format!("a[href='/trainer/sessions/{session}/half-days/{half_day}']")).await;
    let html = trainer.wait_for_text("Afficher le code d'émargement").await;
    trainer.check(html.contains(">En cours</span>"), "the half-day is under way").await;
    trainer.assert_page_quality("open sheet").await;
    trainer.screenshot("sheet-open").await;
    trainer.click_link("Afficher le code d'émargement (QR code)").await;
    trainer.wait_for_text("Scannez le QR code").await;
    let code = trainer.text("p.code").await;
    trainer
        .check(code.chars().filter(char::is_ascii_alphanumeric).count() == 6, &format!("a 6-character code: {code}"))
        .await;
    trainer.assert_page_quality("check-in code").await;
    trainer.screenshot("code").await;

    // The trainee, on their own phone, types the code as shown (with its space).
    log_in(&trainee, &base, DEMO_TRAINEES[0]).await;
    trainee.click_link("Émarger (code de la demi-journée)").await;
    trainee.wait_for_text("Je signe ma présence").await;
    trainee.assert_page_quality("check-in form").await;
    trainee.fill("code", &code).await;
    trainee.screenshot("code-typed").await;
    trainee.click("form.stack button").await;
    let html = trainee.wait_for_text("C'est signé").await;
    trainee.check(!html.contains("minutes de retard"), "checked in on time").await;
    trainee.assert_page_quality("checked in").await;
    trainee.screenshot("signed").await;

    // The code screen counts the signature (each visit shows a fresh code).
    trainer.open(&format!("{sheet}/checkin")).await;
    trainer.wait_for_text(&format!("1 / {} stagiaires ont signé", DEMO_TRAINEES.len())).await;
    trainer.screenshot("one-signed").await;

    // The trainer marks the others and records the sheet.
    trainer.click_link("Retour à la feuille").await;
    let html = trainer.wait_for_text("Enregistrer la feuille").await;
    trainer.check(html.contains("✓ code sur téléphone"), "the trainee's check-in on the sheet").await;
    trainer.check(trainer.value(&format!("status-{}", trainees[0])).await == "present", "checked in: present").await;
    trainer.select(&format!("status-{}", trainees[1]), "late").await;
    trainer.fill(&format!("minutes-{}", trainees[1]), "15").await;
    trainer.select(&format!("status-{}", trainees[2]), "absent").await;
    trainer.select(&format!("status-{}", trainees[3]), "excused").await;
    trainer.fill(&format!("reason-{}", trainees[3]), "Rendez-vous médical").await;
    trainer.select(&format!("status-{}", trainees[4]), "present").await;
    trainer.select(&format!("status-{}", trainees[5]), "absent").await;
    trainer.screenshot("marked").await;
    trainer.click("form.sheet-form > button[type='submit']").await;
    trainer.wait_for_text("Les statuts ont été enregistrés").await;
    trainer.assert_page_quality("recorded sheet").await;
    trainer.screenshot("recorded").await;

    // Co-signing closes the half-day.
    trainer.click("#cosign-confirm").await;
    trainer.click("form[action$='/cosign'] button").await;
    let html = trainer.wait_for_text("Demi-journée contresignée").await;
    trainer.check(html.contains(">Contresignée</span>"), "the half-day is closed").await;
    trainer.check(html.contains("Contresignée par "), "who co-signed, and when").await;
    trainer.check(html.contains("✓ code sur téléphone"), "the check-in stays on the sheet").await;
    for expected in
        ["Présent·e (code sur téléphone)", "En retard (15 min)", "Absence excusée (Rendez-vous médical)", "Absent·e"]
    {
        trainer.check(html.contains(expected), &format!("history shows « {expected} »")).await;
    }
    for (trainee_id, status) in trainees.iter().zip(["present", "late", "absent", "excused", "present", "absent"]) {
        let shown = trainer.value(&format!("status-{trainee_id}")).await;
        trainer.check(shown == status, &format!("status of {trainee_id}: {shown}, expected {status}")).await;
    }
    trainer.check(html.contains("id=\"correction_reason\""), "a correction now asks for a reason").await;
    trainer.assert_page_quality("co-signed sheet").await;
    trainer.screenshot("cosigned").await;

    // The session overview and the trainee's own space agree.
    trainer.open(&format!("{base}/trainer/sessions/{session}")).await;
    let html = trainer.wait_for_text("Demi-journées</h2>").await;
    let total = DEMO_TRAINEES.len();
    trainer.check(html.contains(&format!("{total}/{total} renseignés · 3 présents")), "overview counts").await;
    trainer.screenshot("overview").await;
    trainee.open(&format!("{base}/me")).await;
    let html = trainee.wait_for_text("Mon suivi de formation").await;
    let line = html.split(&label).nth(1).and_then(|rest| rest.split("</li>").next()).unwrap_or_default().to_owned();
    trainee
        .check(line.starts_with("Présent·e") && line.ends_with("· signé · contresigné"), &format!("/me shows {line}"))
        .await;
    trainee.assert_page_quality("me after check-in").await;
    trainee.screenshot("me").await;
    trainer.close().await;
    trainee.close().await;
}

// ------------------------------------------------------------------ journey 4: public verification

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_4_anyone_verifies_a_valid_and_a_revoked_certificate() {
    if skip_without_browser() {
        return;
    }
    bounded(verify_valid_and_revoked(true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_4_works_without_javascript() {
    if skip_without_browser() {
        return;
    }
    bounded(verify_valid_and_revoked(false)).await;
}

async fn verify_valid_and_revoked(javascript: bool) {
    let db = TestDb::new(Seed::Demo);
    // Two eligible candidates of the finished demo session get their certificates (a throw-away
    // signing key: the page reads the register, not the key); the second is then revoked.
    let pdfs = tempfile::tempdir().unwrap();
    let (valid, revoked) = {
        let mut conn = db.conn();
        let session = crate::certification::demo_session(&mut conn);
        let options = crate::certification::options(pdfs.path());
        let signer = Signer::ephemeral();
        let [first, second] = crate::certification::ELIGIBLE
            .map(|email| issuing::issue_certificate(&mut conn, &signer, &session, email, &options).unwrap());
        lms_core::certification::registry::revoke_certificate(&mut conn, &signer, &second.number, "Erreur matérielle")
            .unwrap();
        (first, second)
    };
    let base = format!("http://{}", spawn_server(&db).await);
    let mut browser = Browser::start("journey4-verify", javascript).await;

    browser.open(&format!("{base}/verify/{}", valid.code)).await;
    let html = browser.wait_for_text(&valid.number).await;
    for expected in ["Certificat valide", "Aurélie Marie FONTAINE", "Piloter un tiers-lieu", "RS5142", "Unité 4"] {
        browser.check(html.contains(expected), &format!("valid certificate shows « {expected} »")).await;
    }
    browser.check(!html.contains("révoqué"), "a valid certificate is not shown revoked").await;
    browser.check(html.contains("Se connecter"), "no login needed").await;
    browser.assert_page_quality("valid certificate").await;
    browser.screenshot("valid").await;

    browser.open(&format!("{base}/verify/{}", revoked.code)).await;
    let html = browser.wait_for_text(&revoked.number).await;
    for expected in ["Certificat révoqué le", "Erreur matérielle", "Bastien LEROY-MERCIER", "Piloter un tiers-lieu"]
    {
        browser.check(html.contains(expected), &format!("revoked certificate shows « {expected} »")).await;
    }
    browser.check(!html.contains("Certificat valide"), "a revoked certificate is not shown valid").await;
    browser.assert_page_quality("revoked certificate").await;
    browser.screenshot("revoked").await;

    // A mistyped code: a readable French page, nothing certified.
    browser.open(&format!("{base}/verify/inconnu{}", &valid.code[7..])).await;
    let html = browser.html().await;
    browser.check(html.contains("Page introuvable"), "unknown code: a readable message").await;
    browser.check(!html.contains("RS5142-") && !html.contains("Titulaire"), "unknown code shows no certificate").await;
    browser.screenshot("unknown").await;
    browser.close().await;
}
