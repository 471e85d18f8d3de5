//! Venues at the console: `lms venue add|update|show|import` and `venue list --json`. Every
//! refusal is one line with its code, exit 1, and writes nothing.

use lms_tests::{CliOutput, Seed, TestDb, lms};
use serde_json::Value;

fn json(output: &CliOutput) -> Value {
    assert_eq!(output.code, 0, "stderr: {}", output.stderr);
    serde_json::from_str(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", output.stdout))
}

fn refused(output: &CliOutput, code: &str) {
    assert_eq!(output.code, 1, "stdout: {} stderr: {}", output.stdout, output.stderr);
    assert!(output.stderr.starts_with(&format!("erreur [{code}] : ")), "{}", output.stderr);
    assert_eq!(output.stderr.trim_end().lines().count(), 1, "{}", output.stderr);
}

fn venues(db: &TestDb) -> Vec<Value> {
    json(&lms(db, &["venue", "list", "--json"], None)).as_array().unwrap().clone()
}

const ADD: &[&str] = &[
    "venue",
    "add",
    "--slug",
    "la-fabrique-test",
    "--name",
    "La Fabrique d'essai",
    "--insee",
    "17300",
    "--address",
    "12 rue du Port",
    "--postcode",
    "17000",
    "--kind",
    "fablab",
    "--kind",
    "coworking",
];

/// `ADD` with `extra` flags: a flag ADD already has gets the new value, any other is appended.
fn add_with(db: &TestDb, extra: &[&str]) -> CliOutput {
    let mut args = ADD.to_vec();
    for pair in extra.chunks(2) {
        match args.iter().position(|a| *a == pair[0]) {
            Some(i) if pair[0] != "--kind" && pair.len() == 2 => args[i + 1] = pair[1],
            _ => args.extend_from_slice(pair),
        }
    }
    args.push("--json");
    lms(db, &args, None)
}

#[test]
fn add_then_show_carries_address_access_and_contact() {
    let db = TestDb::new(Seed::Reference);
    let added = json(&add_with(
        &db,
        &[
            "--pmr",
            "yes",
            "--access-note",
            "Parking vélo ; bus ligne 1, arrêt Port",
            "--email",
            "Contact@Fabrique.example.org",
            "--phone",
            "05 46 00 00 00",
            "--url",
            "https://fabrique.example.org",
        ],
    ));
    assert_eq!(added["coordinates_source"], "commune", "no coordinates given: the commune's point");
    assert_eq!(added["approximate_position"], true);
    assert_eq!(added["email"], "contact@fabrique.example.org");

    let shown = json(&lms(&db, &["venue", "show", "la-fabrique-test", "--json"], None));
    assert_eq!(shown, added);
    let mut shape = shown.clone();
    shape["id"] = Value::from("[id]");
    insta::assert_json_snapshot!("cli_venue_show", shape);

    let listed = venues(&db);
    assert_eq!(listed.len(), 67);
    let mine = listed.iter().find(|v| v["slug"] == "la-fabrique-test").unwrap();
    assert_eq!(mine["address"], "12 rue du Port");
    assert_eq!(mine["postcode"], "17000");
    assert_eq!(mine["pmr"], true);
    assert!(listed.iter().all(|v| v.get("address").is_some() && v.get("pmr").is_some()));

    let text = lms(&db, &["venue", "show", "la-fabrique-test"], None);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("Adresse : 12 rue du Port"), "{}", text.stdout);
    assert!(text.stdout.contains("Accès PMR : oui"), "{}", text.stdout);

    let exact = json(&lms(
        &db,
        &[
            "venue",
            "add",
            "--slug",
            "lieu-exact",
            "--name",
            "Lieu exact",
            "--insee",
            "17300",
            "--address",
            "1 quai Duperré",
            "--postcode",
            "17000",
            "--kind",
            "tiers_lieu",
            "--lat",
            "46.1569",
            "--lon",
            "-1.1516",
            "--json",
        ],
        None,
    ));
    assert_eq!(exact["coordinates_source"], "exact");
    assert_eq!(exact["lat"], 46.1569);
    assert_eq!(exact["lon"], -1.1516);
}

#[test]
fn bad_venues_are_refused_with_one_clear_error_and_nothing_written() {
    let db = TestDb::new(Seed::Reference);
    let before = venues(&db);
    let cases: &[(&[&str], &str)] = &[
        (&["--insee", "99999"], "unknown_commune"),
        (&["--postcode", "17100"], "postcode_mismatch"),
        (&["--postcode", "1700"], "invalid_venue"),
        (&["--kind", "salle_des_fetes"], "invalid_venue"),
        (&["--slug", "Pas Un Slug"], "invalid_venue"),
        (&["--slug", "rupellab-la-rochelle"], "duplicate_slug"),
        (&["--email", "pas-une-adresse"], "invalid_venue"),
        (&["--phone", "123"], "invalid_venue"),
        (&["--url", "javascript:alert(1)"], "invalid_venue"),
        (&["--url", "https://localhost"], "invalid_venue"),
        (&["--lat", "91", "--lon", "0"], "invalid_venue"),
        (&["--name", "   "], "invalid_venue"),
        (&["--address", "1 rue\u{1b}[31m"], "invalid_venue"),
        (&["--access-note", "\u{202e}inversé"], "invalid_venue"),
    ];
    for (extra, code) in cases {
        let output = add_with(&db, extra);
        refused(&output, code);
    }
    assert_eq!(venues(&db), before, "nothing written");
    // Latitude without longitude is a usage error.
    assert_eq!(add_with(&db, &["--lat", "46.1"]).code, 2);
}

#[test]
fn update_changes_only_the_given_fields_and_checks_the_whole() {
    let db = TestDb::new(Seed::Reference);
    json(&add_with(&db, &["--lat", "46.1569", "--lon", "-1.1516", "--email", "a@example.org"]));

    let updated = json(&lms(
        &db,
        &["venue", "update", "la-fabrique-test", "--pmr", "no", "--access-note", "Ascenseur", "--json"],
        None,
    ));
    assert_eq!(updated["pmr"], false);
    assert_eq!(updated["access_note"], "Ascenseur");
    assert_eq!(updated["address"], "12 rue du Port", "untouched");
    assert_eq!(updated["email"], "a@example.org", "untouched");
    assert_eq!(updated["coordinates_source"], "exact", "untouched");

    // A new commune needs one of its postcodes; the refusal changes nothing.
    let before = json(&lms(&db, &["venue", "show", "la-fabrique-test", "--json"], None));
    refused(&lms(&db, &["venue", "update", "la-fabrique-test", "--insee", "17415"], None), "postcode_mismatch");
    refused(&lms(&db, &["venue", "update", "la-fabrique-test", "--kind", "gymnase"], None), "invalid_venue");
    refused(&lms(&db, &["venue", "update", "la-fabrique-test", "--phone", "+44 20 7946 0000"], None), "invalid_venue");
    assert_eq!(json(&lms(&db, &["venue", "show", "la-fabrique-test", "--json"], None)), before);

    // Moving to another commune without coordinates takes that commune's point.
    let moved = json(&lms(
        &db,
        &[
            "venue",
            "update",
            "la-fabrique-test",
            "--insee",
            "17415",
            "--postcode",
            "17100",
            "--address",
            "3 cours National",
            "--email",
            "",
            "--json",
        ],
        None,
    ));
    assert_eq!(moved["commune"], "Saintes");
    assert_eq!(moved["coordinates_source"], "commune");
    assert_eq!(moved["email"], Value::Null, "an empty value clears the field");

    refused(&lms(&db, &["venue", "update", "nulle-part", "--pmr", "yes"], None), "unknown_venue");
    refused(&lms(&db, &["venue", "show", "nulle-part"], None), "unknown_venue");
}

#[test]
fn import_is_an_upsert_by_slug_all_or_nothing_with_line_numbers() {
    let db = TestDb::new(Seed::Reference);
    let good = "slug,name,insee,address,postcode,kind,pmr,access-note,email,phone,url,lat,lon\n\
        atelier-import,Atelier importé,17300,4 rue Sur-les-Murs,17000,atelier_partage;fablab,yes,Rampe,,,,,\n\
        rupellab-la-rochelle,RUPELLAB,17300,\"9 rue de la Désirée, bâtiment B\",17000,fablab,no,,info@rupellab.example.org,05 46 00 00 01,https://rupellab.example.org,,\n";
    let report = json(&lms(&db, &["venue", "import", "-", "--json"], Some(good)));
    assert_eq!(report["created"], 1);
    assert_eq!(report["updated"], 1);
    let rupellab = json(&lms(&db, &["venue", "show", "rupellab-la-rochelle", "--json"], None));
    assert_eq!(rupellab["address"], "9 rue de la Désirée, bâtiment B");
    assert_eq!(rupellab["phone"], "05 46 00 00 01");
    assert!(rupellab["source"].as_str().unwrap().contains("CGET"), "the attribution is kept");
    let atelier = json(&lms(&db, &["venue", "show", "atelier-import", "--json"], None));
    assert_eq!(atelier["kinds"], serde_json::json!(["atelier_partage", "fablab"]));
    // Importing the same file again changes nothing but counts updates.
    let again = json(&lms(&db, &["venue", "import", "-", "--json"], Some(good)));
    assert_eq!((again["created"].as_u64(), again["updated"].as_u64()), (Some(0), Some(2)));

    let before = venues(&db);
    let header = "slug,name,insee,address,postcode,kind\n";
    let first = "nouveau-lieu,Nouveau,17300,1 rue A,17000,coworking\n";
    let cases: &[(String, &str, &str)] = &[
        (format!("{header}{first}mauvais,Mauvais,99999,1 rue B,17000,fablab\n"), "unknown_commune", "ligne 3 : "),
        (format!("{header}{first}mauvais,Mauvais,17415,1 rue B,17000,fablab\n"), "postcode_mismatch", "ligne 3 : "),
        (format!("{header}{first}mauvais,Mauvais,17300,1 rue B,17000,piscine\n"), "invalid_venue", "ligne 3 : "),
        (format!("{header}{first}{first}"), "invalid_venue", "ligne 3 : "),
        (format!("{header}{first}mauvais,Mauvais,17300,,17000,fablab\n"), "invalid_venue", "ligne 3 : "),
        (format!("{header}{first}mauvais,Mauvais,17300\n"), "invalid_venue", "ligne 3 : "),
        (format!("slug,name,insee,address,postcode,kind,couleur\n{first}"), "invalid_venue", "ligne 1 : "),
        (format!("slug,name,insee,address,kind\n{first}"), "invalid_venue", "ligne 1 : "),
        (
            "slug,name,insee,address,postcode,kind,lat,lon\n\
             nouveau-lieu,Nouveau,17300,1 rue A,17000,coworking,,\n\
             x-y,X,17300,1 rue,17000,fablab,abc,1\n"
                .to_owned(),
            "invalid_venue",
            "ligne 3 : ",
        ),
        (header.to_owned(), "invalid_venue", ""),
    ];
    for (file, code, line) in cases {
        let output = lms(&db, &["venue", "import", "-"], Some(file));
        refused(&output, code);
        assert!(output.stderr.contains(line), "{file}: {}", output.stderr);
    }
    assert_eq!(venues(&db), before, "nothing written");
}

#[test]
fn fixture_venues_carry_the_published_addresses_and_say_which_have_none() {
    let db = TestDb::new(Seed::Reference);
    let all = venues(&db);
    assert_eq!(all.len(), 66);
    let with_address = all.iter().filter(|v| v["address"].is_string()).count();
    assert_eq!(with_address, 50, "the CGET rows with an ADRESSE");
    let crealab = all.iter().find(|v| v["slug"] == "crealab-angouleme").unwrap();
    assert_eq!(crealab["address"], "121 rue de Bordeaux");
    assert_eq!(crealab["postcode"], "16000");
    let rupellab = all.iter().find(|v| v["slug"] == "rupellab-la-rochelle").unwrap();
    assert_eq!(rupellab["address"], Value::Null, "no published address, none invented");
    let sources = include_str!("../../fixtures/VENUES-SOURCES.md");
    assert!(sources.contains("no published street address"));
    for v in all.iter().filter(|v| v["address"].is_null()) {
        let name = v["name"].as_str().unwrap();
        assert!(sources.contains(name), "VENUES-SOURCES.md names {name} among the places without an address");
    }
}

#[tokio::test]
async fn the_venue_page_shows_the_place_its_access_and_its_upcoming_sessions() {
    let db = TestDb::new(Seed::Demo);
    json(&lms(
        &db,
        &[
            "venue",
            "update",
            "le-400-brive-la-gaillarde",
            "--pmr",
            "yes",
            "--access-note",
            "Parking gratuit",
            "--phone",
            "05 55 00 00 00",
            "--json",
        ],
        None,
    ));
    let app = lms_tests::test_app(&db).await;
    let (status, _, page) = lms_tests::send(&app, lms_tests::get("/lieux/le-400-brive-la-gaillarde")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<html lang=\"fr\""), "a French page");
    assert!(page.contains("<h1>Le 400</h1>"), "{page}");
    assert!(page.contains("12 avenue Jean Lurçat"), "the published address");
    assert!(page.contains("19100 Brive-la-Gaillarde"));
    assert!(page.contains("Parking gratuit") && page.contains("05 55 00 00 00"));
    assert!(page.contains("href=\"/sessions/"), "upcoming sessions are linked: {page}");

    let (status, _, api) = lms_tests::send(&app, lms_tests::get("/api/v1/venues/le-400-brive-la-gaillarde")).await;
    assert_eq!(status, 200);
    let api: Value = serde_json::from_str(&api).unwrap();
    let sessions = api["upcoming_sessions"].as_array().unwrap();
    assert!(!sessions.is_empty());
    for s in sessions {
        assert!(s["half_days_here"].as_i64().unwrap() >= 1);
        assert!(s["half_days_here"].as_i64() <= s["half_days_total"].as_i64());
    }

    let (status, _, missing) = lms_tests::send(&app, lms_tests::get("/lieux/nulle-part")).await;
    assert_eq!(status, 404);
    assert!(missing.to_lowercase().contains("lieu inconnu"), "{missing}");

    // Search results link to the place.
    let (status, _, home) = lms_tests::send(&app, lms_tests::get("/?near=Saintes&minutes=60")).await;
    assert_eq!(status, 200);
    assert!(home.contains("href=\"/lieux/cowork-etc-saintes\""), "{home}");
}

#[tokio::test]
async fn a_session_across_several_venues_is_near_only_for_its_half_days_there() {
    let db = TestDb::new(Seed::Demo);
    let app = lms_tests::test_app(&db).await;
    let (status, _, body) =
        lms_tests::send(&app, lms_tests::get("/api/v1/sessions/search?near=Saintes&minutes=120")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let results = body["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["near_venue"], r["venue"]["slug"]);
        let here = r["half_days_at_near_venue"].as_u64().unwrap();
        let total = r["half_days_total"].as_u64().unwrap();
        assert!(here >= 1 && here <= total, "{r}");
        if r["venue_count"] == 1 {
            assert_eq!(here, total, "{r}");
        }
    }
    assert!(
        results.iter().any(|r| r["venue_count"].as_u64() > Some(1)
            && r["half_days_at_near_venue"].as_u64() < r["half_days_total"].as_u64()),
        "the demo's multi-venue session says how few of its half-days are near"
    );
}
