//! Templates and static assets, embedded in the binary so one file is the whole server.

use std::sync::LazyLock;

use minijinja::{Environment, Value};

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("signup.html", include_str!("../templates/signup.html")),
    ("password.html", include_str!("../templates/password.html")),
    ("password_reset.html", include_str!("../templates/password_reset.html")),
    ("password_reset_token.html", include_str!("../templates/password_reset_token.html")),
    ("security.html", include_str!("../templates/security.html")),
    ("me.html", include_str!("../templates/me.html")),
    ("calendar_feed.html", include_str!("../templates/calendar_feed.html")),
    ("course.html", include_str!("../templates/course.html")),
    ("course_details.html", include_str!("../templates/course_details.html")),
    ("session.html", include_str!("../templates/session.html")),
    ("convocation.html", include_str!("../templates/convocation.html")),
    ("verify.html", include_str!("../templates/verify.html")),
    ("outcomes.html", include_str!("../templates/outcomes.html")),
    ("me_certificates.html", include_str!("../templates/me_certificates.html")),
    ("achievement.html", include_str!("../templates/achievement.html")),
    ("me_records.html", include_str!("../templates/me_records.html")),
    ("checkin.html", include_str!("../templates/checkin.html")),
    ("trainer_sessions.html", include_str!("../templates/trainer_sessions.html")),
    ("trainer_session.html", include_str!("../templates/trainer_session.html")),
    ("trainer_sheet.html", include_str!("../templates/trainer_sheet.html")),
    ("trainer_checkin.html", include_str!("../templates/trainer_checkin.html")),
    ("trainer_signature.html", include_str!("../templates/trainer_signature.html")),
    ("trainer_grid.html", include_str!("../templates/trainer_grid.html")),
    ("trainer_trainee.html", include_str!("../templates/trainer_trainee.html")),
    ("venue.html", include_str!("../templates/venue.html")),
    ("formations.html", include_str!("../templates/formations.html")),
];

/// The stylesheet served at `/static/style.css`.
pub const STYLE_CSS: &str = include_str!("../static/style.css");

/// The one template environment of the process, built on first use.
pub fn shared() -> &'static Environment<'static> {
    static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(environment);
    &ENVIRONMENT
}

/// Builds the template environment (auto-escaping on for `.html`).
fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        if let Err(error) = env.add_template(name, source) {
            // A broken template is a build defect; fail loudly at start, not per request.
            panic!("template {name} invalide : {error}");
        }
    }
    env.add_filter("date_fr", |value: String| -> String {
        chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").map(lms_core::locale::date_fr).unwrap_or(value)
    });
    env.add_filter("short_date_fr", |value: String| -> String {
        chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").map(lms_core::locale::short_date_fr).unwrap_or(value)
    });
    env.add_filter("euros", |cents: i64| -> String { lms_core::locale::euros_fr(cents) });
    env.add_filter("plural", |count: i64, singular: String, plural: String| -> Value {
        Value::from(if count > 1 { plural } else { singular })
    });
    env
}
