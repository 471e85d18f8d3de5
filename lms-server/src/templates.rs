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
    ("complaint.html", include_str!("../templates/complaint.html")),
    ("trainer_incident.html", include_str!("../templates/trainer_incident.html")),
    ("password.html", include_str!("../templates/password.html")),
    ("password_reset.html", include_str!("../templates/password_reset.html")),
    ("password_reset_token.html", include_str!("../templates/password_reset_token.html")),
    ("security.html", include_str!("../templates/security.html")),
    ("me.html", include_str!("../templates/me.html")),
    ("questionnaire.html", include_str!("../templates/questionnaire.html")),
    ("calendar_feed.html", include_str!("../templates/calendar_feed.html")),
    ("adjustments.html", include_str!("../templates/adjustments.html")),
    ("adjustment_referent.html", include_str!("../templates/adjustment_referent.html")),
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
    ("legal_notice.html", include_str!("../templates/legal_notice.html")),
    ("privacy.html", include_str!("../templates/privacy.html")),
    ("accessibility.html", include_str!("../templates/accessibility.html")),
    ("contact.html", include_str!("../templates/contact.html")),
    ("terms.html", include_str!("../templates/terms.html")),
    ("cancel_confirm.html", include_str!("../templates/cancel_confirm.html")),
    ("me_staff.html", include_str!("../templates/me_staff.html")),
];

/// The site's icon, served at `/favicon.ico` and `/static/favicon.svg`.
pub const FAVICON_SVG: &str = include_str!("../static/favicon.svg");

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
        Value::from(if count.abs() > 1 { plural } else { singular })
    });
    add_typography_filters(&mut env);
    env
}

/// The French typography of `lms_core::locale`, as filters: every page writes numbers, durations,
/// elisions, ranges and lists through these, never by hand.
///
/// - `{{ commune | elide("de") }}` → `d'Angoulême` / `de Bordeaux`
/// - `{{ n | count("absent", "absents") }}` → `1 absent`, `2 absents`
/// - `{{ x | number }}` / `{{ x | number(2) }}` → `87,5` (decimal comma, grouped thousands)
/// - `{{ x | percent }}` → `87,5 %` (x in hundredths)
/// - `{{ minutes | duration }}` → `140 h`, `3 h 30`; `{{ hours | hours }}` the same from hours
/// - `{{ start | date_range(end) }}` → `le 18 décembre 2026`, `du 7 au 9 décembre 2026`
/// - `{{ names | list_fr }}` → `A, B et C`
/// - `{{ message | sentence }}` → first letter upper-case, a final full stop
fn add_typography_filters(env: &mut Environment<'static>) {
    use lms_core::locale;
    env.add_filter("elide", |next: String, word: String| -> String { locale::elide(&word, &next) });
    env.add_filter("count", |count: i64, singular: String, plural: String| -> String {
        locale::count_fr(count, &singular, &plural)
    });
    env.add_filter("number", |value: f64, decimals: Option<usize>| -> String {
        locale::decimal_fr(value, decimals.unwrap_or(1))
    });
    env.add_filter("percent", |value: f64| -> String { locale::percent_fr(value) });
    env.add_filter("duration", |minutes: i64| -> String { locale::duration_fr(minutes) });
    env.add_filter("hours", |hours: f64| -> String { locale::hours_fr(hours) });
    env.add_filter("date_range", |start: String, end: String| -> String {
        let parse = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d");
        match (parse(&start), parse(&end)) {
            (Ok(start), Ok(end)) => locale::date_range_fr(start, end),
            _ => format!("{start} – {end}"),
        }
    });
    env.add_filter("list_fr", |items: Vec<String>| -> String { locale::list_fr(&items) });
    env.add_filter("sentence", |text: String| -> String { locale::sentence_fr(&text) });
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    fn render(source: &str, ctx: minijinja::Value) -> String {
        let env = super::environment();
        env.render_str(source, ctx).unwrap_or_else(|error| format!("erreur : {error}"))
    }

    #[test]
    fn typography_filters_follow_french_rules() {
        assert_eq!(render("{{ c | elide('de') }}", context! { c => "Angoulême" }), "d'Angoulême");
        assert_eq!(render("{{ n | count('absent', 'absents') }}", context! { n => 1 }), "1 absent");
        assert_eq!(render("{{ n | count('absent', 'absents') }}", context! { n => 3 }), "3 absents");
        assert_eq!(render("{{ x | number }}", context! { x => 140.0 }), "140");
        assert_eq!(render("{{ x | percent }}", context! { x => 87.5 }), "87,5\u{202f}%");
        assert_eq!(render("{{ m | duration }}", context! { m => 210 }), "3\u{a0}h\u{a0}30");
        assert_eq!(render("{{ h | hours }}", context! { h => 140.0 }), "140\u{a0}h");
        assert_eq!(
            render("{{ a | date_range(b) }}", context! { a => "2026-12-18", b => "2026-12-18" }),
            "le 18 décembre 2026"
        );
        assert_eq!(render("{{ l | list_fr }}", context! { l => vec!["A", "B", "C"] }), "A, B et C");
        assert_eq!(render("{{ m | sentence }}", context! { m => "séance introuvable" }), "Séance introuvable.");
    }
}
