//! Rendering a message from its templates: one text and one HTML template per kind, each
//! extending a base layout that carries the organisation's identity and contact, and a link to
//! the person's page (`/me`).
//!
//! The templates are embedded with `include_str!`. The site's public address is not known where
//! messages are written (the core never reads the environment): links are rendered with
//! [`PUBLIC_URL_MARKER`], which the sending door replaces with its configured address
//! ([`with_public_url`]).

use std::sync::OnceLock;

use minijinja::Environment;
use serde::Serialize;

use super::{MailError, MailKind};
use crate::documents::organisation::OrganisationIdentity;

/// Stands for the site's public address in stored messages, until the sender fills it in.
pub const PUBLIC_URL_MARKER: &str = "%%LMS_PUBLIC_URL%%";

/// Replaces [`PUBLIC_URL_MARKER`] in a stored body with the site's address (no trailing slash).
pub fn with_public_url(body: &str, public_url: &str) -> String {
    body.replace(PUBLIC_URL_MARKER, public_url.trim_end_matches('/'))
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.txt", include_str!("templates/base.txt")),
    ("base.html", include_str!("templates/base.html")),
    ("convocation.txt", include_str!("templates/convocation.txt")),
    ("convocation.html", include_str!("templates/convocation.html")),
    ("waitlisted.txt", include_str!("templates/waitlisted.txt")),
    ("waitlisted.html", include_str!("templates/waitlisted.html")),
    ("session_cancelled.txt", include_str!("templates/session_cancelled.txt")),
    ("session_cancelled.html", include_str!("templates/session_cancelled.html")),
    ("password_reset.txt", include_str!("templates/password_reset.txt")),
    ("password_reset.html", include_str!("templates/password_reset.html")),
    ("reminder_trainee.txt", include_str!("templates/reminder_trainee.txt")),
    ("reminder_trainee.html", include_str!("templates/reminder_trainee.html")),
    ("reminder_cosign.txt", include_str!("templates/reminder_cosign.txt")),
    ("reminder_cosign.html", include_str!("templates/reminder_cosign.html")),
    ("session_changed.txt", include_str!("templates/session_changed.txt")),
    ("session_changed.html", include_str!("templates/session_changed.html")),
    ("request_refused.txt", include_str!("templates/request_refused.txt")),
    ("request_refused.html", include_str!("templates/request_refused.html")),
    ("enrolment_cancelled.txt", include_str!("templates/enrolment_cancelled.txt")),
    ("enrolment_cancelled.html", include_str!("templates/enrolment_cancelled.html")),
    ("complaint_acknowledgement.txt", include_str!("templates/complaint_acknowledgement.txt")),
    ("complaint_acknowledgement.html", include_str!("templates/complaint_acknowledgement.html")),
    ("complaint_answer.txt", include_str!("templates/complaint_answer.txt")),
    ("complaint_answer.html", include_str!("templates/complaint_answer.html")),
    ("adjustment_request.txt", include_str!("templates/adjustment_request.txt")),
    ("adjustment_request.html", include_str!("templates/adjustment_request.html")),
    ("survey_invitation.txt", include_str!("templates/survey_invitation.txt")),
    ("survey_invitation.html", include_str!("templates/survey_invitation.html")),
    ("survey_reminder.txt", include_str!("templates/survey_reminder.txt")),
    ("survey_reminder.html", include_str!("templates/survey_reminder.html")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // HTML templates are escaped (names and reasons are typed by people), text ones are not.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") { minijinja::AutoEscape::Html } else { minijinja::AutoEscape::None }
        });
        env.set_keep_trailing_newline(true);
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                // A template that does not parse is a bug caught by the unit tests below; it is
                // reported when used rather than taking the process down.
                tracing::error!(%error, template = name, "modèle d'e-mail illisible");
            }
        }
        env
    })
}

/// The organisation as the base layout shows it (sender, address, contact).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Signature {
    /// Name of the organisation.
    pub name: String,
    /// Postal address on one line, when set.
    pub address: Option<String>,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
}

impl Signature {
    /// The signature from the organisation's identity (read through `documents::organisation`).
    pub fn from_identity(identity: &OrganisationIdentity) -> Self {
        let locality = [identity.postcode.as_deref(), identity.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let address = [identity.address.clone(), (!locality.is_empty()).then_some(locality)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
        Signature {
            name: identity.name.clone().unwrap_or_else(|| "L'organisme de formation".into()),
            address: (!address.is_empty()).then_some(address),
            email: identity.email.clone(),
            phone: identity.phone.clone(),
        }
    }
}

/// A rendered message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
}

/// The template stem of each kind (a promotion is a convocation with another opening line).
fn stem(kind: MailKind) -> &'static str {
    match kind {
        MailKind::Convocation | MailKind::Promotion => "convocation",
        MailKind::Waitlisted => "waitlisted",
        MailKind::SessionCancelled => "session_cancelled",
        MailKind::PasswordReset => "password_reset",
        MailKind::ReminderTrainee => "reminder_trainee",
        MailKind::ReminderCosign => "reminder_cosign",
        MailKind::SessionChanged => "session_changed",
        MailKind::RequestRefused => "request_refused",
        MailKind::EnrolmentCancelled => "enrolment_cancelled",
        MailKind::SurveyInvitation => "survey_invitation",
        MailKind::SurveyReminder => "survey_reminder",
        MailKind::ComplaintAcknowledgement => "complaint_acknowledgement",
        MailKind::ComplaintAnswer => "complaint_answer",
        MailKind::AdjustmentRequest => "adjustment_request",
    }
}

/// Renders the text and HTML bodies of `kind` with `data` (the kind's own fields), the
/// recipient's name and the organisation's signature.
pub fn render<T: Serialize>(
    kind: MailKind,
    recipient: &str,
    signature: &Signature,
    data: &T,
) -> Result<Rendered, MailError> {
    let env = environment();
    let context = minijinja::context! {
        kind => kind.as_str(),
        recipient => recipient,
        org => signature,
        public_url => PUBLIC_URL_MARKER,
        data => minijinja::Value::from_serialize(data),
    };
    let one = |extension: &str| -> Result<String, MailError> {
        let name = format!("{}.{extension}", stem(kind));
        env.get_template(&name)
            .and_then(|template| template.render(&context))
            .map_err(|e| MailError::Template(format!("{name} : {e}")))
    };
    Ok(Rendered { text: one("txt")?, html: one("html")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_html_is_escaped() {
        for (name, source) in TEMPLATES {
            let mut env = Environment::new();
            assert!(env.add_template(name, source).is_ok(), "{name}");
        }
        let signature = Signature { name: "Coop <b>".into(), address: None, email: Some("a@b.fr".into()), phone: None };
        let data = serde_json::json!({"token_link": "x", "valid_minutes": 60});
        let Ok(rendered) = render(MailKind::PasswordReset, "Ana <script>", &signature, &data) else {
            panic!("render failed")
        };
        assert!(rendered.html.contains("Ana &lt;script&gt;"), "{}", rendered.html);
        assert!(rendered.text.contains("Ana <script>"));
        assert!(rendered.text.contains(&format!("{PUBLIC_URL_MARKER}/me")));
        assert_eq!(with_public_url("<%%LMS_PUBLIC_URL%%/me>", "https://x.fr/"), "<https://x.fr/me>");
    }
}
