//! Pages every visitor reaches: the legal and contact pages linked from every footer, error pages
//! that keep the visitor's header and offer the way back, and what every response carries
//! (compression, the icon, no caching of personal pages).

use axum::http::StatusCode;
use lms_tests::{Seed, TestDb, browser_login, get, get_with_cookies, lms, send, test_app};

use crate::attendance_support::TRAINEE;

const PASSWORD: &str = "tiers-lieux-demo";

const LEGAL_PAGES: [(&str, &str); 5] = [
    ("/mentions-legales", "Mentions légales"),
    ("/confidentialite", "Confidentialité et données personnelles"),
    ("/accessibilite", "Déclaration d'accessibilité"),
    ("/contact", "Nous contacter"),
    ("/conditions-generales", "Conditions générales"),
];

#[tokio::test]
async fn every_page_links_the_legal_pages_and_the_results() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    for page in ["/", "/formations", "/login", "/resultats", "/mentions-legales"] {
        let (status, _, html) = send(&app, get(page)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for link in [
            "/resultats",
            "/mentions-legales",
            "/confidentialite",
            "/accessibilite",
            "/contact",
            "/conditions-generales",
        ] {
            assert!(html.contains(&format!("href=\"{link}\"")), "{page} links {link}");
        }
    }
}

#[tokio::test]
async fn the_legal_pages_say_who_publishes_hosts_and_keeps_what() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    for (path, heading) in LEGAL_PAGES {
        let (status, _, html) = send(&app, get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(&format!("<h1>{heading}</h1>")), "{path}: {heading}");
        assert!(!html.contains("à renseigner"), "{path} never prints a placeholder");
    }
    let (_, _, notice) = send(&app, get("/mentions-legales")).await;
    assert!(notice.contains("Coopérative des Tiers-Lieux — démonstration"), "publisher from the identity");
    assert!(notice.contains("Hébergement de démonstration"), "host from the legal.host setting");
    let (_, _, privacy) = send(&app, get("/confidentialite")).await;
    assert!(privacy.contains("14 jours au plus") && privacy.contains("CNIL"), "retention and the right to complain");
    assert!(privacy.contains("formation@demo.tierslieux.example.org"), "where to exercise one's rights");

    // The host is one setting among the organisation's, with the same door and validation.
    let set = lms(&db, &["documents", "setting", "legal.host", "OVH SAS, 2 rue Kellermann, 59100 Roubaix"], None);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let (_, _, notice) = send(&app, get("/mentions-legales")).await;
    assert!(notice.contains("OVH SAS, 2 rue Kellermann"), "the new host is shown");
    let refused = lms(&db, &["documents", "setting", "legal.host", "bad\u{7}value"], None);
    assert_eq!(refused.code, 1, "a control character is refused");
    let (_, _, notice) = send(&app, get("/mentions-legales")).await;
    assert!(notice.contains("OVH SAS, 2 rue Kellermann"), "the refused value wrote nothing");
}

#[tokio::test]
async fn an_unset_identity_is_left_out_not_printed_as_a_placeholder() {
    let db = TestDb::new(Seed::Reference);
    let app = test_app(&db).await;
    for (path, _) in LEGAL_PAGES {
        let (status, _, html) = send(&app, get(path)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("à renseigner") && !html.contains("None"), "{path}");
    }
    let (_, _, contact) = send(&app, get("/contact")).await;
    assert!(contact.contains("pas encore été publiées"), "says the details are not published yet");
}

#[tokio::test]
async fn error_pages_keep_the_signed_in_header_and_offer_the_way_back() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let cookie = format!("lms_session={}", browser_login(&app, TRAINEE, PASSWORD).await);

    let request = axum::http::Request::builder()
        .uri("/sessions/PAS-DE-SESSION")
        .header("cookie", &cookie)
        .header("host", "lms.example.org")
        .header("referer", "http://lms.example.org/formations")
        .body(axum::body::Body::empty())
        .expect("request");
    let (status, _, html) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Mon espace") && html.contains("Se déconnecter"), "signed-in header kept: {html}");
    assert!(!html.contains("href=\"/login\""), "no « Se connecter » for a signed-in visitor");
    // minijinja escapes `/` in attributes as `&#x2f;`; browsers read both alike.
    let way_back = html.replace("&#x2f;", "/");
    assert!(way_back.contains("href=\"/formations\">Revenir à la page précédente"), "the way back: {html}");
    assert!(html.contains("Aller à mon espace"));

    // An unknown path (the fallback), and a refusal by a use case (403), dressed the same way.
    let (status, _, html) = send(&app, get_with_cookies("/nulle-part", &cookie)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Se déconnecter"), "fallback 404 keeps the header");
    let (status, _, html) = send(&app, get_with_cookies("/trainer", &cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a trainee on the trainer's space");
    assert!(html.contains("<h1>Accès refusé</h1>") && html.contains("Se déconnecter"), "{html}");
    let message = html.split("<p>").nth(1).unwrap_or_default();
    assert!(message.starts_with(|c: char| c.is_uppercase()), "the message reads as a sentence: {message}");

    // A referrer from another site is not offered as the way back.
    let request = axum::http::Request::builder()
        .uri("/nulle-part")
        .header("host", "lms.example.org")
        .header("referer", "http://evil.example/page")
        .body(axum::body::Body::empty())
        .expect("request");
    let (_, _, html) = send(&app, request).await;
    assert!(!html.contains("Revenir à la page précédente") && !html.contains("evil.example"));
    assert!(html.contains("href=\"/login\""), "anonymous visitors still get « Se connecter »");
}

#[tokio::test]
async fn responses_are_compressed_have_an_icon_and_personal_pages_are_not_cached() {
    let db = TestDb::new(Seed::Demo);
    let app = test_app(&db).await;
    let request = axum::http::Request::builder()
        .uri("/formations")
        .header("accept-encoding", "gzip")
        .body(axum::body::Body::empty())
        .expect("request");
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let request = axum::http::Request::builder()
        .uri("/formations")
        .header("accept-encoding", "br")
        .body(axum::body::Body::empty())
        .expect("request");
    let (_, headers, _) = send(&app, request).await;
    assert_eq!(headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some("br"));

    let (status, headers, body) = send(&app, get("/favicon.ico")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("image/svg+xml"));
    assert!(body.starts_with("<svg"));
    let (_, _, home) = send(&app, get("/")).await;
    assert!(home.contains("rel=\"icon\""));

    let cookie = format!("lms_session={}", browser_login(&app, TRAINEE, PASSWORD).await);
    for page in ["/me", "/me/securite"] {
        let (status, headers, _) = send(&app, get_with_cookies(page, &cookie)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"), "{page}");
    }
}

#[tokio::test]
async fn the_results_page_names_courses_period_bases_and_response_rates() {
    use diesel::prelude::*;
    use lms_core::db::schema::courses;

    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    crate::quality_evidence::certify_one(&db, dir.path());
    let title: String = {
        let mut conn = db.conn();
        crate::quality_evidence::seed_satisfaction(
            &mut conn,
            crate::certification::DEMO_SESSION,
            &[Some(5), Some(4), None, None],
        );
        courses::table.filter(courses::code.eq("PTL")).select(courses::title).first(&mut conn).unwrap()
    };
    let app = test_app(&db).await;
    let (status, _, html) = send(&app, get("/resultats")).await;
    assert_eq!(status, StatusCode::OK);
    let today = lms_core::catalogue::paris_today();
    let escaped = title.replace('&', "&amp;").replace('\'', "&#x27;").replace('/', "&#x2f;");
    assert!(html.contains(&escaped) || html.contains(&title), "the course's title {title}: {html}");
    assert!(html.contains("sessions terminées du"), "the period");
    assert!(html.contains(&format!("Mis à jour le {}", lms_core::locale::short_date_fr(today))), "the update date");
    assert!(
        html.contains("sur 5\u{a0}candidats présentés") || html.contains("sur 5 candidats présentés"),
        "the base of the rate: {html}"
    );
    assert!(html.contains("20\u{202f}%"), "1 certified out of 5 presented: {html}");
    assert!(html.contains("1 ajourné"), "the deferred candidate is shown");
    assert!(html.contains("4,5 / 5") && html.contains("2 réponses sur 4 stagiaires interrogés"), "{html}");
    assert!(html.contains("taux de réponse : 50\u{202f}%"), "{html}");
    assert!(!html.contains(">—<"), "never a dash alone");
    assert!(html.contains("class=\"cards\""), "cards that stack on a phone");
    // Complaints and improvement actions, from the demo register (a complaint in each state, one
    // improvement action done and one open).
    let summary = lms_core::complaints::public_summary(&mut db.conn(), lms_core::db::now()).unwrap();
    assert!(summary.received >= 4 && summary.actions_done == 1 && summary.actions_open == 1, "{summary:?}");
    assert!(html.contains("Réclamations et améliorations"), "{html}");
    let plain = html.replace('\u{a0}', " ");
    assert!(plain.contains(&format!("{} réclamations reçues", summary.received)), "{html}");
    assert!(plain.contains("1 action menée") && plain.contains("1 action en cours"), "{html}");
    assert!(html.contains("href=\"/reclamation\""), "the way to file one");

    let empty = TestDb::new(Seed::Reference);
    let app = test_app(&empty).await;
    let (status, _, html) = send(&app, get("/resultats")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("nos premiers résultats seront publiés ici"), "a sentence when there is no data: {html}");
    assert!(html.contains("Aucune réclamation reçue depuis le"), "{html}");
    assert!(!html.contains(">—<"));
}
