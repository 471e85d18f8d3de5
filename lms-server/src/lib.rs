//! The HTTP door of tierslieux-lms: a JSON API under `/api/v1`, French HTML pages, static assets.
//!
//! Handlers parse the request, call one use case of `lms-core` on a blocking thread
//! ([`AppState::db`]) and render the result. No SQL and no business rule lives here.

mod api;
mod auth;
mod certificates;
mod config;
mod error;
mod mailer;
mod pages;
mod state;
mod templates;

use std::net::SocketAddr;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[doc(hidden)]
pub use api::fuzz_api_bodies;
pub use config::{Config, LogFormat};
pub use error::ApiError;
pub use state::AppState;

/// Largest request body accepted (forms and JSON are small; signatures stay well under this).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Builds the router with every route and layer.
pub fn app(state: AppState) -> Router {
    let security_headers = [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("permissions-policy", "geolocation=(self), camera=(), microphone=()"),
    ];
    let mut router = Router::new()
        .route("/healthz", get(pages::healthz))
        .merge(pages::router())
        .nest("/api/v1", api::router())
        .merge(certificates::router())
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::same_origin_only))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outside the limit, so that its bare 413 is answered like every other refusal (and then
        // gets the security headers below).
        .layer(axum::middleware::from_fn_with_state(state, pages::explain_payload_too_large));
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    let x_request_id = HeaderName::from_static("x-request-id");
    router
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, std::time::Duration::from_secs(15)))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    let request_id =
                        request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([axum::http::header::AUTHORIZATION, axum::http::header::COOKIE]))
}

/// Sets up structured logs (`LMS_LOG` filter, `LMS_LOG_FORMAT=json|text`).
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Opens (and on first start creates, migrates and fills) the database, then serves until a
/// shutdown signal, letting requests in flight finish.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let state = AppState::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", config.bind))?;
    let address = listener.local_addr().context("adresse d'écoute inconnue")?;
    tracing::info!(%address, database = %config.database.redacted(), "lms-server prêt");
    axum::serve(listener, app(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("le serveur s'est arrêté sur une erreur")?;
    tracing::info!("lms-server arrêté proprement");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("signal d'arrêt reçu : fin des requêtes en cours");
}
