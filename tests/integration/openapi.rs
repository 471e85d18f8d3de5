//! The written API contract: `GET /api/v1/openapi.json` serves an OpenAPI 3.1 document that
//! describes every `/api/v1` route the router has (read from the table the router is built
//! from, as the authorisation matrix does), each refusal with the one error body, and the bearer scheme on
//! the routes that need a caller. The document itself is kept as an `insta` snapshot: a change
//! to the contract shows up in review as a change to `snapshots/`.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use lms_tests::*;
use serde_json::Value;

/// `(METHOD, /api/v1/path)` for every API route of the router.
fn api_routes_of_the_router() -> BTreeSet<(String, String)> {
    server_routes().into_iter().filter(|(_, path)| path.starts_with("/api/v1/")).collect()
}

async fn served_document() -> Value {
    let db = TestDb::new(Seed::Empty);
    let app = test_app(&db).await;
    let (status, headers, body) = send(&app, get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json")),
        "{headers:?}"
    );
    serde_json::from_str(&body).expect("the document is JSON")
}

fn documented_routes(document: &Value) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                routes.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[tokio::test]
async fn the_document_is_served_publicly_and_is_openapi_3_1() {
    let document = served_document().await;
    let version = document["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "{version}");
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(document["components"]["schemas"]["ErrorResponse"].is_object());
}

#[tokio::test]
async fn every_api_route_of_the_router_is_described_and_nothing_else() {
    let document = served_document().await;
    let in_router = api_routes_of_the_router();
    let documented = documented_routes(&document);
    let missing: Vec<_> = in_router.difference(&documented).collect();
    assert!(missing.is_empty(), "routes missing from the OpenAPI document: {missing:?}");
    let stale: Vec<_> = documented.difference(&in_router).collect();
    assert!(stale.is_empty(), "documented routes the router does not have: {stale:?}");
}

#[tokio::test]
async fn every_operation_has_a_success_and_errors_share_one_body() {
    let document = served_document().await;
    let error_ref = "#/components/schemas/ErrorResponse";
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{method} {path}: no success response");
            let secured = operation.get("security").is_some();
            if secured {
                assert!(responses.contains_key("401"), "{method} {path}: secured without a 401");
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], error_ref,
                        "{method} {path} {status}: not the error body"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let document = served_document().await;
    insta::assert_json_snapshot!("openapi_document", document);
}
