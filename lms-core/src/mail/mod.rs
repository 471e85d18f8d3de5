//! E-mail: every message the organisation sends is a row of the outbox, written in the same
//! transaction as the change that causes it ([`outbox::enqueue`]), and sent later by a worker in
//! each server ([`outbox::claim`], [`outbox::mark_sent`], [`outbox::mark_failed`]).
//!
//! Messages are French, plain text plus HTML, rendered from the templates of [`render`] (one base
//! layout with the organisation's identity and a link to `/me`). The builders in [`messages`]
//! read what a message states (course, half-days, venues, contact) and return an
//! [`OutgoingMail`]; attachments (a PDF convocation, an iCalendar invitation) ride along with it.

pub mod messages;
pub mod outbox;
pub mod reminders;
pub mod render;

use serde::{Deserialize, Serialize};

use crate::db::DbError;
use crate::{Classify, ErrorKind};

crate::text_enum! {
    /// What a message is about.
    pub enum MailKind: "type de message" {
        /// Enrolment confirmed: the convocation.
        Convocation = "convocation", "Convocation";
        /// Enrolment on the waitlist.
        Waitlisted = "waitlisted", "Liste d'attente";
        /// Promoted from the waitlist: the convocation.
        Promotion = "promotion", "Place libérée";
        /// A session was called off.
        SessionCancelled = "session_cancelled", "Session annulée";
        /// A link to choose a new password.
        PasswordReset = "password_reset", "Mot de passe oublié";
        /// A trainee's reminder before a period of half-days (a week, then a day before).
        ReminderTrainee = "reminder_trainee", "Rappel avant la formation";
        /// A trainer's reminder: a half-day ended and its sheet is not co-signed.
        ReminderCosign = "reminder_cosign", "Rappel de contresignature";
        /// A half-day of a session moved (date, hours or venue).
        SessionChanged = "session_changed", "Changement de planning";
        /// An admission request was refused.
        RequestRefused = "request_refused", "Demande non retenue";
        /// The office cancelled an enrolment, or recorded an abandonment.
        EnrolmentCancelled = "enrolment_cancelled", "Inscription annulée";
        /// A satisfaction questionnaire opened for the recipient.
        SurveyInvitation = "survey_invitation", "Questionnaire de satisfaction";
        /// A reminder: a questionnaire is still unanswered.
        SurveyReminder = "survey_reminder", "Rappel de questionnaire";
        /// A complaint was received: its reference and answer deadline.
        ComplaintAcknowledgement = "complaint_acknowledgement", "Accusé de réception de réclamation";
        /// The organisation's answer to a complaint.
        ComplaintAnswer = "complaint_answer", "Réponse à une réclamation";
        /// A trainee's request for adjustments, sent to the disability referent only.
        AdjustmentRequest = "adjustment_request", "Demande d'aménagement";
    }
}

crate::text_enum! {
    /// Where a message of the outbox stands.
    pub enum OutboxStatus: "statut de message" {
        /// Waiting to be sent (first try, or a retry after its back-off).
        Pending = "pending", "En attente";
        /// Claimed by a worker, whose lease runs until `locked_until`.
        Sending = "sending", "En cours d'envoi";
        /// Accepted by the SMTP server.
        Sent = "sent", "Envoyé";
        /// Given up after the last attempt (`lms mail retry` puts it back).
        Failed = "failed", "Échec";
    }
}

/// A file joined to a message (a PDF convocation, an iCalendar invitation…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name shown to the recipient.
    pub filename: String,
    /// MIME type with its parameters, e.g. `application/pdf` or `text/calendar; method=REQUEST`.
    pub content_type: String,
    /// The bytes, stored as base64 in the outbox (empty while [`Attachment::render`] is set).
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
    /// A document to render when the message is sent rather than when it is queued: rendering a
    /// PDF takes milliseconds, and the message is queued inside the write transaction of the change
    /// (on SQLite, the one write lock), so [`outbox::render_deferred`] does it before sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub render: Option<DeferredDocument>,
}

/// A document an [`Attachment`] stands for until the sender renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "document", rename_all = "snake_case")]
pub enum DeferredDocument {
    /// A trainee's printable convocation to a session.
    Convocation {
        /// The session.
        session: crate::db::ids::TrainingSessionId,
        /// The trainee.
        trainee: crate::db::ids::UserId,
    },
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// A message ready to be queued: who it goes to, what it says (text and HTML), and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// What it is about.
    pub kind: MailKind,
    /// Recipient address.
    pub to_email: String,
    /// Recipient name.
    pub to_name: String,
    /// The organisation's name, shown as the sender.
    pub sender_name: String,
    /// The organisation's contact address, for replies.
    pub reply_to: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text_body: String,
    /// HTML body.
    pub html_body: String,
    /// Files joined to it.
    pub attachments: Vec<Attachment>,
    /// Set by producers that may run twice for one event (reminders): a second message with the
    /// same key is not queued.
    pub dedupe_key: Option<String>,
}

impl OutgoingMail {
    /// Joins a file to the message (builders call it; the convocation gets its PDF and invitation).
    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }
}

/// Errors of the mail use cases.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// No message with this id.
    #[error("message inconnu « {0} »")]
    UnknownMessage(String),
    /// The message was already sent: it is not sent twice.
    #[error("ce message a déjà été envoyé : il n'est pas renvoyé")]
    AlreadySent,
    /// Malformed input.
    #[error("{0}")]
    Invalid(String),
    /// A template could not be rendered (a bug).
    #[error("modèle de message illisible : {0}")]
    Template(String),
    /// An attachment (PDF convocation, calendar) could not be built (a bug or corrupt data).
    #[error("pièce jointe impossible à produire : {0}")]
    Attachment(String),
    /// Storage failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl Classify for MailError {
    fn kind(&self) -> ErrorKind {
        match self {
            MailError::UnknownMessage(_) => ErrorKind::NotFound,
            MailError::AlreadySent => ErrorKind::Conflict,
            MailError::Invalid(_) => ErrorKind::Invalid,
            MailError::Template(_) | MailError::Attachment(_) => ErrorKind::Internal,
            MailError::Db(e) => e.kind(),
        }
    }
    fn code(&self) -> &'static str {
        match self {
            MailError::UnknownMessage(_) => "unknown_message",
            MailError::AlreadySent => "message_already_sent",
            MailError::Invalid(_) => "invalid_input",
            MailError::Template(_) => "template_error",
            MailError::Attachment(_) => "attachment_error",
            MailError::Db(e) => e.code(),
        }
    }
}

impl From<MailError> for DbError {
    /// Producers run inside other modules' transactions, whose errors wrap [`DbError`]: a
    /// template failure becomes a query error there (it is a bug, reported as such).
    fn from(error: MailError) -> Self {
        match error {
            MailError::Db(e) => e,
            other => DbError::Query(diesel::result::Error::SerializationError(Box::new(std::io::Error::other(
                other.to_string(),
            )))),
        }
    }
}
