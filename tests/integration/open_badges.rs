//! Open Badges 3.0 by the rules: the credential passes 1EdTech's JSON schema, its VC-JWT envelope
//! follows OB 3.0 §8.2 and its signature verifies with the published JWKS through an independent
//! implementation (ed25519-dalek directly, not our verify function); the issuer and the achievement
//! resolve; revocation is published in a Bitstring Status List that the CLI and the server check;
//! « Mes certificats » shows a holder their own certificates and nobody else's.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use lms_core::access;
use lms_core::certification::issuing;
use lms_core::certification::keys::KeyStore;
use lms_core::db::schema::{certificates, credential_status_lists};
use lms_tests::{Seed, TestDb, send, workspace_root};
use serde_json::Value;

use crate::certification::{ELIGIBLE, demo_session, json_ok, lms_env, options, setup_cli};

const PUBLIC_URL: &str = "https://formation.example.org";

/// The router configured like production: the keys folder and the public URL of the CLI.
async fn app_with_keys(db: &TestDb, keys: &Path) -> axum::Router {
    let mut config = lms_server::Config::for_tests(db.url.clone());
    config.keys_dir = keys.to_path_buf();
    config.public_url = PUBLIC_URL.into();
    let state = lms_server::AppState::open(&config).await.unwrap();
    lms_server::app(state)
}

fn get_accepting(uri: &str, accept: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder().uri(uri).header("accept", accept).body(axum::body::Body::empty()).unwrap()
}

fn get_with(uri: &str, header: &str, value: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::builder().uri(uri).header(header, value).body(axum::body::Body::empty()).unwrap()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies a compact JWS with ed25519-dalek and the key of the JWKS the `kid` names.
fn verify_independently(jwt: &str, jwks: &Value) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    let kid = header["kid"].as_str().unwrap();
    let (url, thumbprint) = kid.split_once('#').expect("kid is a URL with the thumbprint as fragment");
    assert_eq!(url, format!("{PUBLIC_URL}/.well-known/jwks.json"));
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == thumbprint).expect("kid in the JWKS");
    let x: [u8; 32] = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap().try_into().unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let signature: [u8; 64] = URL_SAFE_NO_PAD.decode(parts[2]).unwrap().try_into().unwrap();
    key.verify_strict(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &ed25519_dalek::Signature::from_bytes(&signature),
    )
    .expect("the signature verifies with the published key");
    decode_part(parts[1])
}

fn schema_path() -> PathBuf {
    workspace_root().parent().unwrap().join("shared/standards/ob-3.0-achievementcredential.schema.json")
}

/// Validates against 1EdTech's schema (draft 2019-09, formats checked). Without the schema file
/// the check is skipped loudly, and fails under CI.
fn assert_passes_ob3_schema(test: &str, credential: &Value) {
    let path = schema_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        let required = lms_tests::under_ci();
        lms_tests::say_skipped(test, &format!("OB 3.0 schema missing at {}", path.display()));
        assert!(!required, "the OB 3.0 schema must be present under CI: {}", path.display());
        return;
    };
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::draft201909::options().should_validate_formats(true).build(&schema).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(credential).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "OB 3.0 schema errors:\n{}", errors.join("\n"));
}

/// Replaces values that change with each run (uuids, dates, hashes, the verification code) by
/// placeholders; stable URLs stay, so a changed `id` shows up in the snapshot.
fn redact(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                let varying = matches!(key.as_str(), "validFrom" | "nbf" | "identityHash" | "salt")
                    || member.as_str().is_some_and(|text| text.starts_with("urn:uuid:") || text.contains("/verify/"));
                if varying {
                    *member = Value::String(format!("[{key}]"));
                } else {
                    redact(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[tokio::test]
async fn the_credential_passes_the_ob3_schema_follows_the_envelope_rules_and_verifies_independently() {
    let db = TestDb::new(Seed::Demo);
    let (_dir, keys, session) = setup_cli(&db);
    let issued =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--trainee", ELIGIBLE[0], "--json"]));
    let jwt = issued[0]["credential"].as_str().unwrap().to_owned();
    let app = app_with_keys(&db, &keys).await;
    let (status, _, body) = send(&app, lms_tests::get("/.well-known/jwks.json")).await;
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&body).unwrap();

    let header = decode_part(jwt.split('.').next().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT", "OB 3.0: typ is JWT if present");
    let payload = verify_independently(&jwt, &jwks);
    assert_passes_ob3_schema("the_credential_passes_the_ob3_schema", &payload);

    // Registered claims mirror the credential (OB 3.0 §8.2.4.1).
    let subject_id = payload["credentialSubject"]["id"].as_str().unwrap();
    assert!(subject_id.starts_with("urn:uuid:"), "{subject_id}");
    assert_eq!(payload["sub"], subject_id);
    assert_eq!(payload["iss"], payload["issuer"]["id"]);
    assert_eq!(payload["jti"], payload["id"]);
    assert!(payload["nbf"].is_i64());
    assert_eq!(payload["issuer"]["id"], format!("{PUBLIC_URL}/issuer"));
    let mut conn = db.conn();
    let holder = lms_core::people::user_id_by_email(&mut conn, ELIGIBLE[0]).unwrap().unwrap();
    assert_eq!(subject_id, format!("urn:uuid:{holder}"));
    let status_entry = &payload["credentialStatus"];
    assert_eq!(status_entry["type"], "BitstringStatusListEntry");
    assert_eq!(status_entry["statusPurpose"], "revocation");
    assert_eq!(status_entry["statusListCredential"], format!("{PUBLIC_URL}/credentials/status/1"));
    assert_eq!(status_entry["statusListIndex"], "0");
    assert!(!jwt.contains(ELIGIBLE[0]), "the e-mail is only present hashed");

    let mut redacted = payload.clone();
    redact(&mut redacted);
    insta::assert_json_snapshot!("open_badges_credential", redacted);
}

#[tokio::test]
async fn the_issuer_and_the_achievement_resolve_as_json_ld_and_html() {
    let db = TestDb::new(Seed::Demo);
    let (_dir, keys, session) = setup_cli(&db);
    let issued =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--trainee", ELIGIBLE[0], "--json"]));
    let payload = decode_part(issued[0]["credential"].as_str().unwrap().split('.').nth(1).unwrap());
    let app = app_with_keys(&db, &keys).await;
    let local = |url: &str| url.strip_prefix(PUBLIC_URL).unwrap().to_owned();

    let issuer_path = local(payload["issuer"]["id"].as_str().unwrap());
    for accept in ["application/json", "application/ld+json"] {
        let (status, headers, body) = send(&app, get_accepting(&issuer_path, accept)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "application/ld+json");
        let profile: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(profile["id"], payload["issuer"]["id"]);
        assert_eq!(profile["name"], payload["issuer"]["name"]);
        assert_eq!(profile["type"][0], "Profile");
        let mut redacted = profile;
        redact(&mut redacted);
        insta::assert_json_snapshot!("open_badges_issuer_profile", redacted);
    }
    let (status, headers, _) = send(&app, get_accepting(&issuer_path, "text/html,application/xhtml+xml")).await;
    assert_eq!(status, 303, "browsers get the home page");
    assert_eq!(headers["location"], "/");

    let achievement = &payload["credentialSubject"]["achievement"];
    let achievement_path = local(achievement["id"].as_str().unwrap());
    let (status, _, body) = send(&app, get_accepting(&achievement_path, "application/json")).await;
    assert_eq!(status, 200, "{body}");
    let served: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["id"], achievement["id"]);
    assert_eq!(served["name"], achievement["name"]);
    assert_eq!(served["resultDescription"], achievement["resultDescription"]);
    let (status, headers, body) = send(&app, get_accepting(&achievement_path, "text/html")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains("Piloter un tiers-lieu") && body.contains("Unité 1"), "{body}");
    let (status, _, _) = send(&app, get_accepting("/achievements/rs0000", "application/json")).await;
    assert_eq!(status, 404);
}

fn stored_status_list(conn: &mut lms_core::DbConn) -> Option<String> {
    credential_status_lists::table
        .filter(credential_status_lists::list_number.eq(1))
        .select(credential_status_lists::credential_jwt)
        .first(conn)
        .unwrap()
}

/// Bit `index` of the list published at `/credentials/status/1`, decoded with flate2 directly
/// after checking the list's signature independently.
async fn published_bit(app: &axum::Router, jwks: &Value, index: usize) -> bool {
    let (status, headers, jwt) = send(app, lms_tests::get("/credentials/status/1")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/vc+jwt");
    let list = verify_independently(&jwt, jwks);
    assert_eq!(list["type"][1], "BitstringStatusListCredential");
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
    let compressed = URL_SAFE_NO_PAD.decode(encoded.strip_prefix('u').unwrap()).unwrap();
    let mut bits = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(compressed.as_slice()), &mut bits).unwrap();
    assert_eq!(bits.len(), 16 * 1024, "131,072 entries");
    bits[index / 8] & (0x80 >> (index % 8)) != 0
}

#[tokio::test]
async fn revocation_is_published_in_the_status_list_and_every_verifier_sees_it() {
    let db = TestDb::new(Seed::Demo);
    let (_dir, keys, session) = setup_cli(&db);
    let issued =
        json_ok(&lms_env(&db, &keys, &["certify", "issue", "--session", &session, "--all-eligible", "--json"]));
    let issued = issued.as_array().unwrap();
    assert_eq!(issued.len(), 2);
    let mut conn = db.conn();
    let mut indexes: Vec<(Option<i32>, Option<i64>)> = certificates::table
        .order(certificates::number.asc())
        .select((certificates::status_list, certificates::status_index))
        .load(&mut conn)
        .unwrap();
    indexes.sort();
    assert_eq!(indexes, vec![(Some(1), Some(0)), (Some(1), Some(1))], "gapless indexes, stored");
    let app = app_with_keys(&db, &keys).await;
    let (_, _, body) = send(&app, lms_tests::get("/.well-known/jwks.json")).await;
    let jwks: Value = serde_json::from_str(&body).unwrap();
    let index_of = |c: &Value| -> usize {
        let payload = decode_part(c["credential"].as_str().unwrap().split('.').nth(1).unwrap());
        payload["credentialStatus"]["statusListIndex"].as_str().unwrap().parse().unwrap()
    };
    let (revoked, kept) = (&issued[0], &issued[1]);
    assert!(!published_bit(&app, &jwks, index_of(revoked)).await);

    // Refused revocations write nothing, not even the list.
    let before = stored_status_list(&mut conn);
    let number = revoked["number"].as_str().unwrap();
    let bad = lms_env(&db, &keys, &["certify", "revoke", number, "--reason", "x"]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    let unknown = lms_env(&db, &keys, &["certify", "revoke", "RS5142-1999-0001", "--reason", "Erreur de jury"]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert_eq!(stored_status_list(&mut conn), before);

    json_ok(&lms_env(&db, &keys, &["certify", "revoke", number, "--reason", "Erreur de jury", "--json"]));
    assert!(published_bit(&app, &jwks, index_of(revoked)).await, "the list says revoked");
    assert!(!published_bit(&app, &jwks, index_of(kept)).await, "and only that one");
    let after_revocation = stored_status_list(&mut conn);
    let again = lms_env(&db, &keys, &["certify", "revoke", number, "--reason", "Erreur de jury"]);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(stored_status_list(&mut conn), after_revocation, "a refused second revocation signs nothing");

    let code = revoked["code"].as_str().unwrap();
    let verified = lms_env(&db, &keys, &["certify", "verify", code, "--json"]);
    assert_eq!(verified.code, 1);
    let report: Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(report["status"], "revoked");
    assert_eq!(report["published_revoked"], true);
    let (_, _, body) = send(&app, lms_tests::get(&format!("/api/v1/certificates/{code}"))).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "revoked");

    // The published list is checked, not only the register: a register put back to "valid"
    // behind the list's back still verifies as revoked.
    diesel::update(certificates::table.filter(certificates::number.eq(number)))
        .set((
            certificates::status.eq("valid"),
            certificates::revoked_at.eq(None::<chrono::NaiveDateTime>),
            certificates::revocation_reason.eq(None::<String>),
        ))
        .execute(&mut conn)
        .unwrap();
    let verified = lms_env(&db, &keys, &["certify", "verify", code, "--json"]);
    assert_eq!(verified.code, 1);
    let report: Value = serde_json::from_str(&verified.stdout).unwrap();
    assert_eq!(report["status"], "revoked");
    assert!(report["problems"].to_string().contains("liste de statut"), "{report}");
    let (_, _, body) = send(&app, lms_tests::get(&format!("/api/v1/certificates/{code}"))).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["status"], "revoked");

    // The other certificate still verifies, list included.
    let kept_report = json_ok(&lms_env(&db, &keys, &["certify", "verify", kept["code"].as_str().unwrap(), "--json"]));
    assert_eq!(kept_report["status"], "valid");
    assert_eq!(kept_report["published_revoked"], false);
    let (status, _, _) = send(&app, lms_tests::get("/credentials/status/2")).await;
    assert_eq!(status, 404);
    let (status, _, _) = send(&app, lms_tests::get("/credentials/status/x")).await;
    assert_eq!(status, 404);
}

fn login_cookie(conn: &mut lms_core::DbConn, email: &str) -> String {
    let user = lms_core::people::find_user_by_email(conn, email).unwrap();
    let now = lms_core::db::now();
    let login = access::open_login_session(conn, user, &access::ClientInfo::default(), now).unwrap();
    format!("lms_session={}", login.token)
}

#[tokio::test]
async fn a_holder_sees_and_downloads_their_own_certificates_and_nobody_elses() {
    let db = TestDb::new(Seed::Demo);
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let store = KeyStore::at(&keys);
    store.init().unwrap();
    let signer = store.signing_key().unwrap();
    let mut conn = db.conn();
    let session = demo_session(&mut conn);
    let issued = issuing::issue_certificate(&mut conn, &signer, &session, ELIGIBLE[0], &options(dir.path())).unwrap();
    let holder = login_cookie(&mut conn, ELIGIBLE[0]);
    let other = login_cookie(&mut conn, ELIGIBLE[1]);
    let app = app_with_keys(&db, &keys).await;

    let (status, _, page) = send(&app, get_with("/me/certificates", "cookie", &holder)).await;
    assert_eq!(status, 200);
    let page = page.replace("&#x2f;", "/");
    assert!(page.contains("<h1>Mes certificats</h1>"));
    assert!(
        page.contains(&issued.number) && page.contains("Piloter un tiers-lieu") && page.contains("Certificat valide")
    );
    assert!(page.contains("Décision du jury"));
    assert!(page.contains(&format!("value=\"{PUBLIC_URL}/verify/{}\"", issued.code)), "copyable verification link");
    assert!(page.contains("<label for=\"lien-1\">"), "the link's field is labelled");
    let (_, _, empty) = send(&app, get_with("/me/certificates", "cookie", &other)).await;
    assert!(!empty.contains(&issued.number) && empty.contains("pas encore de certificat"));

    let file = |ext: &str| format!("/me/certificates/{}.{ext}", issued.number);
    let (status, headers, pdf) = send(&app, get_with(&file("pdf"), "cookie", &holder)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(pdf.starts_with("%PDF"));
    let (status, headers, jwt) = send(&app, get_with(&file("jwt"), "cookie", &holder)).await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(jwt, issued.credential);
    let (status, _, json) = send(&app, get_with(&file("json"), "cookie", &holder)).await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["credentialSubject"]["achievement"]["humanCode"], "RS5142");

    for ext in ["pdf", "jwt", "json"] {
        let (status, _, body) = send(&app, get_with(&file(ext), "cookie", &other)).await;
        assert_eq!(status, 404, "another trainee's certificate is a 404");
        assert!(!body.contains(&issued.code));
        let (status, headers, _) = send(&app, lms_tests::get(&file(ext))).await;
        assert_eq!(status, 303);
        assert!(headers["location"].to_str().unwrap().starts_with("/login"));
    }
    let (status, _, _) = send(&app, get_with(&file("exe"), "cookie", &holder)).await;
    assert_eq!(status, 404);

    // The API lists the same, for a bearer token.
    let user = lms_core::people::find_user_by_email(&mut conn, ELIGIBLE[0]).unwrap();
    let token = access::create_api_token(&mut conn, &user, lms_core::db::now()).unwrap();
    let (status, _, body) =
        send(&app, get_with("/api/v1/me/certificates", "authorization", &format!("Bearer {token}"))).await;
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["number"], issued.number.as_str());
    assert_eq!(listed[0]["status"], "valid");
    assert!(listed[0]["decided_on"].is_string());
    let (status, _, _) = send(&app, lms_tests::get("/api/v1/me/certificates")).await;
    assert_eq!(status, 401);
}
