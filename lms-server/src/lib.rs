//! The HTTP door of tierslieux-lms: a JSON API under `/api/v1`, French HTML pages, static assets.
//!
//! Handlers parse the request, call one use case of `lms-core` on a blocking thread
//! ([`AppState::db`]) and render the result. No SQL and no business rule lives here.

mod api;
mod auth;
mod certificates;
mod config;
mod error;
mod extract;
mod forms;
mod mailer;
mod pages;
mod routes;
mod state;
mod templates;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

#[doc(hidden)]
pub use api::fuzz_api_bodies;
pub use config::{Config, LogFormat, ServerArgs};
pub use error::ApiError;
pub use routes::RouteEntry;
use routes::Routes;
pub use state::AppState;

/// Largest request body accepted (forms and JSON are small; signatures stay well under this).
pub const MAX_BODY_BYTES: usize = 512 * 1024;

/// Every route of the server, in the table the router is built from.
fn all_routes() -> Routes {
    Routes::new()
        .get("/healthz", pages::healthz)
        .merge(pages::router())
        .nest("/api/v1", api::router())
        .merge(certificates::router())
}

/// Every (method, path) the server answers, read from the same table as the router (the
/// authorisation matrix and the OpenAPI test check themselves against it).
pub fn route_table() -> Vec<RouteEntry> {
    all_routes().into_parts().1
}

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
    let (routes, _) = all_routes().into_parts();
    let mut router = routes
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::same_origin_only))
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // Outside the limit, so that its bare 413 — and the plain-text refusals of axum's
        // extractors — are answered like every other refusal (JSON for the API, a French page
        // elsewhere), and then get the headers below.
        .layer(axum::middleware::from_fn_with_state(state.clone(), pages::explain_refusals));
    if let Some(max_age) = state.hsts_max_age()
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={max_age}; includeSubDomains"))
    {
        router = router.layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, value));
    }
    // Pages name the logged-in person and API answers carry personal data: nothing is kept by
    // browsers or shared caches unless a route says otherwise (the stylesheet does).
    router = router
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    for (name, value) in security_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Pages, the API, calendars and exports compress well (gzip or brotli, as the client asks);
    // tiny answers are left as they are.
    router = router.layer(tower_http::compression::CompressionLayer::new());
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
    serve_on(listener, &config, state, shutdown_signal()).await;
    tracing::info!("lms-server arrêté proprement");
    Ok(())
}

/// How long requests in flight may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Serves `listener` until `shutdown` completes. Each connection must send a whole request head
/// within `config.header_timeout` (the first one and each next one on a kept-alive connection),
/// so a client trickling bytes cannot hold a connection; at most `config.max_connections` are
/// served at once, the others wait in the listen queue.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: &Config,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let mail_worker = mailer::MailWorker::start(&state);
    let survey_timer = mailer::SurveyTimer::start(&state, config.reminder_every);
    let router = app(state);
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(config.header_timeout);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(Some(config.header_timeout));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = std::sync::Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(%error, "connexion refusée");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(move |mut request: axum::http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            request
        });
        let connection = builder
            .serve_connection_with_upgrades(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            )
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connexion terminée sur une erreur");
            }
        });
    }
    drop(listener);
    tracing::info!("signal d'arrêt reçu : fin des requêtes en cours");
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("arrêt : des connexions n'ont pas fini à temps"),
    }
    if let Some(worker) = mail_worker {
        worker.stop(SHUTDOWN_GRACE).await;
    }
    survey_timer.stop(SHUTDOWN_GRACE).await;
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
}
