//! The route table: every route is added through [`Routes`], which builds the axum router and
//! keeps the list of (method, path) it was given. The authorisation matrix and the OpenAPI test
//! read that list ([`crate::route_table`]) instead of guessing routes from the source text.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{self, MethodRouter};

use crate::state::AppState;

/// One route of the server: an HTTP method and its path pattern (`/sessions/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteEntry {
    /// `GET`, `POST`, `PUT`, `DELETE` or `PATCH`.
    pub method: String,
    /// The path as axum matches it, with the nesting prefix.
    pub path: String,
}

/// A router under construction, and the routes added to it.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteEntry>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    /// No route yet.
    pub fn new() -> Self {
        Routes { router: Router::new(), table: Vec::new() }
    }

    fn add(mut self, method: Method, path: &str, endpoint: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, endpoint);
        self.table.push(RouteEntry { method: method.to_string(), path: path.to_owned() });
        self
    }

    /// `GET` (and `HEAD`) on `path`.
    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::GET, path, routing::get(handler))
    }

    /// `POST` on `path`.
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::POST, path, routing::post(handler))
    }

    /// `PUT` on `path`.
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::PUT, path, routing::put(handler))
    }

    /// `DELETE` on `path`.
    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &str, handler: H) -> Self {
        self.add(Method::DELETE, path, routing::delete(handler))
    }

    /// Adds another table's routes at the same level.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// Adds another table's routes under `prefix` (`/api/v1`).
    pub fn nest(mut self, prefix: &str, other: Routes) -> Self {
        self.router = self.router.nest(prefix, other.router);
        self.table.extend(
            other.table.into_iter().map(|e| RouteEntry { method: e.method, path: format!("{prefix}{}", e.path) }),
        );
        self
    }

    /// Applies `wrap` to the router built so far (a layer or an extension for these routes only).
    pub fn map_router(mut self, wrap: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = wrap(self.router);
        self
    }

    /// The router and the list of its routes.
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteEntry>) {
        (self.router, self.table)
    }
}
