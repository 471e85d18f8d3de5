//! The two e-mails of the register: the acknowledgement of a complaint (its reference and its
//! answer day) and the answer itself, both rendered with the shared layout and queued through
//! the outbox by the use case, in its transaction.

use serde::Serialize;

use super::Receipt;
use crate::db::{DbConn, DbError};
use crate::documents::organisation::OrganisationIdentity;
use crate::locale;
use crate::mail::render::{self, Signature};
use crate::mail::{MailKind, OutgoingMail};

fn message(
    conn: &mut DbConn,
    kind: MailKind,
    to_name: &str,
    to_email: &str,
    subject: String,
    data: &impl Serialize,
) -> Result<OutgoingMail, DbError> {
    let identity = OrganisationIdentity::load(conn)?;
    let signature = Signature::from_identity(&identity);
    let rendered = render::render(kind, to_name, &signature, data)?;
    Ok(OutgoingMail {
        kind,
        to_email: to_email.to_owned(),
        to_name: to_name.to_owned(),
        sender_name: signature.name,
        reply_to: identity.email,
        subject,
        text_body: rendered.text,
        html_body: rendered.html,
        attachments: Vec::new(),
        dedupe_key: None,
    })
}

#[derive(Serialize)]
struct AcknowledgementData<'a> {
    reference: &'a str,
    kind: &'a str,
    received_on: String,
    answer_due_on: String,
}

/// « Nous avons bien reçu votre réclamation REC-… ; réponse au plus tard le … ».
pub(super) fn acknowledgement(
    conn: &mut DbConn,
    name: &str,
    email: &str,
    receipt: &Receipt,
) -> Result<OutgoingMail, DbError> {
    let kind = receipt.kind.label_fr().to_lowercase();
    let data = AcknowledgementData {
        reference: &receipt.reference,
        kind: &kind,
        received_on: locale::date_fr(locale::to_paris(receipt.received_at).date()),
        answer_due_on: locale::date_fr(receipt.answer_due_on),
    };
    let subject = format!("Votre {kind} {} est bien reçue", receipt.reference);
    message(conn, MailKind::ComplaintAcknowledgement, name, email, subject, &data)
}

#[derive(Serialize)]
struct AnswerData<'a> {
    reference: &'a str,
    subject: &'a str,
    answer: &'a str,
}

/// The office's answer to a complaint, quoted in full.
pub(super) fn answer(
    conn: &mut DbConn,
    name: &str,
    email: &str,
    reference: &str,
    subject: &str,
    answer: &str,
) -> Result<OutgoingMail, DbError> {
    let data = AnswerData { reference, subject, answer };
    message(conn, MailKind::ComplaintAnswer, name, email, format!("Réponse à votre réclamation {reference}"), &data)
}
