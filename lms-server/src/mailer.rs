//! Outgoing e-mail through SMTP, when `LMS_SMTP_URL` is set. Never required: without it, the
//! notification on the person's page is the only channel. Sending happens after the transaction
//! that decided it, in the background, and a failure is logged, never shown to the requester.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lms_core::notifications::EmailMessage;

/// An SMTP sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds credentials: never print it.
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds a sender from `smtp://[user:pass@]host[:port]` (or `smtps://…`) and a From address.
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("LMS_SMTP_URL invalide : {e}"))?
            .build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("LMS_MAIL_FROM invalide : {e}"))?;
        Ok(Mailer { transport, from })
    }

    /// Sends one message; errors are logged (the caller has already answered).
    pub async fn send(&self, message: EmailMessage) {
        let to = match format!("{} <{}>", message.to_name.replace(['<', '>', '"'], ""), message.to).parse::<Mailbox>() {
            Ok(to) => to,
            Err(error) => {
                tracing::warn!(%error, "adresse de destination invalide, e-mail non envoyé");
                return;
            }
        };
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(message.body);
        match email {
            Ok(email) => {
                if let Err(error) = self.transport.send(email).await {
                    tracing::warn!(%error, "échec de l'envoi d'un e-mail");
                }
            }
            Err(error) => tracing::warn!(%error, "e-mail mal formé, non envoyé"),
        }
    }
}
