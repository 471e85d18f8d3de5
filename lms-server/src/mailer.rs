//! The outbox worker: when `LMS_SMTP_URL` is set, each server instance claims due messages of the
//! outbox (`lms_core::mail::outbox::claim`), sends them through SMTP and records the outcome
//! (sent, or a retry after a back-off, or failed for good). Several instances may run on one
//! database: a claimed message is leased to one worker, so it is sent once. Without
//! `LMS_SMTP_URL` nothing is sent and messages wait in the outbox (`lms mail list`).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as LettreAttachment, Mailbox, MultiPart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use lms_core::mail::outbox::{self, ClaimedMessage};
use lms_core::mail::reminders;
use lms_core::mail::render::with_public_url;

use crate::config::Config;
use crate::state::AppState;

/// Messages claimed at once by one worker.
const BATCH: i64 = 20;
/// Longest wait for one SMTP exchange.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// An SMTP sender with the outbox settings.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
    public_url: String,
    poll: Duration,
    max_attempts: i32,
    retry_base: chrono::Duration,
    reminder_every: Duration,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The transport holds credentials: never print it.
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A sender from the configuration, or `None` without `LMS_SMTP_URL`. A malformed URL or
    /// sender address stops the start with the variable named.
    pub fn from_config(config: &Config) -> Result<Option<Self>, String> {
        let Some(url) = &config.smtp_url else { return Ok(None) };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("LMS_SMTP_URL invalide : {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = config.mail_from.parse::<Mailbox>().map_err(|e| format!("LMS_MAIL_FROM invalide : {e}"))?.email;
        let retry_base = chrono::Duration::from_std(config.mail_retry_base)
            .map_err(|e| format!("LMS_MAIL_RETRY_BASE_SECS invalide : {e}"))?;
        Ok(Some(Mailer {
            transport,
            from,
            public_url: config.public_url.clone(),
            poll: config.mail_poll,
            max_attempts: config.mail_max_attempts,
            retry_base,
            reminder_every: config.reminder_every,
        }))
    }

    /// The MIME message of an outbox row: text and HTML alternatives, files joined, a
    /// `Message-ID` derived from the row's id (stable across retries).
    fn build(&self, row: &ClaimedMessage) -> Result<Message, String> {
        let to_address =
            row.recipient_email.parse::<Address>().map_err(|e| format!("adresse du destinataire invalide : {e}"))?;
        let mut builder = Message::builder()
            .from(Mailbox::new(Some(row.sender_name.clone()), self.from.clone()))
            .to(Mailbox::new(Some(row.recipient_name.clone()), to_address))
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@{}>", row.id, self.from.domain())))
            .date(row.created_at.and_utc().into());
        if let Some(reply_to) = &row.reply_to
            && let Ok(address) = reply_to.parse::<Address>()
        {
            builder = builder.reply_to(Mailbox::new(Some(row.sender_name.clone()), address));
        }
        let alternative = MultiPart::alternative_plain_html(
            with_public_url(&row.text_body, &self.public_url),
            with_public_url(&row.html_body, &self.public_url),
        );
        let body = if row.attachments.0.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for file in &row.attachments.0 {
                let content_type = ContentType::parse(&file.content_type)
                    .map_err(|e| format!("type de pièce jointe invalide « {} » : {e}", file.content_type))?;
                // Stored calendars carry the public address as markers (see `lms_core::calendar`):
                // only this worker knows it, so it fills them in and folds the lines again.
                let content = if file.content_type.starts_with("text/calendar") {
                    lms_core::calendar::ical::with_public_address(&file.content, &self.public_url)
                        .map_err(|e| format!("invitation : {e}"))?
                } else {
                    file.content.clone()
                };
                mixed = mixed.singlepart(LettreAttachment::new(file.filename.clone()).body(content, content_type));
            }
            mixed
        };
        builder.multipart(body).map_err(|e| format!("message mal formé : {e}"))
    }

    /// Sends one claimed message and records the outcome.
    async fn deliver(&self, state: &AppState, mut row: ClaimedMessage) {
        let id = row.id.clone();
        // Documents too slow to render inside the change's transaction are rendered now.
        if row.attachments.0.iter().any(|file| file.render.is_some()) {
            let files = std::mem::take(&mut row.attachments.0);
            match state.db(move |conn| outbox::render_deferred(conn, files, lms_core::db::now())).await {
                Ok(files) => row.attachments.0 = files,
                Err(error) => {
                    // The lease runs out and another pass takes the message again.
                    tracing::warn!(message = %row.id, code = error.code, "pièce jointe non préparée");
                    return;
                }
            }
        }
        let outcome = match self.build(&row) {
            // A message that cannot be built never will be: failed at once.
            Err(error) => Err((error, 0)),
            Ok(message) => match self.transport.send(message).await {
                Ok(_) => Ok(()),
                Err(error) => Err((format!("envoi SMTP : {error}"), self.max_attempts)),
            },
        };
        let recorded = match outcome {
            Ok(()) => state.db(move |conn| outbox::mark_sent(conn, &id, lms_core::db::now())).await,
            Err((error, max_attempts)) => {
                tracing::warn!(message = %row.id, %error, "e-mail non envoyé");
                let base = self.retry_base;
                state
                    .db(move |conn| {
                        outbox::mark_failed(conn, &id, &error, max_attempts, base, lms_core::db::now()).map(|_| ())
                    })
                    .await
            }
        };
        if let Err(error) = recorded {
            // The lease runs out and another pass takes the message again.
            tracing::warn!(code = error.code, "résultat d'envoi non enregistré");
        }
    }

    /// Queues the reminders due now. A failure is logged and retried at the next run: reminders
    /// are a convenience, never a reason to stop sending.
    async fn remind(&self, state: &AppState) {
        match state.db(|conn| reminders::enqueue_due(conn, lms_core::db::now())).await {
            Ok(report) if report.total() > 0 => tracing::info!(
                week_before = report.trainee_week_before,
                day_before = report.trainee_day_before,
                cosign = report.trainer_cosign,
                "rappels mis en file"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(code = error.code, "rappels non mis en file"),
        }
    }

    /// One pass: claims a batch and sends it. Returns how many messages were claimed.
    async fn pass(&self, state: &AppState) -> usize {
        let claimed = state.db(|conn| outbox::claim(conn, BATCH, lms_core::db::now())).await;
        match claimed {
            Ok(rows) => {
                let count = rows.len();
                for row in rows {
                    self.deliver(state, row).await;
                }
                count
            }
            Err(error) => {
                tracing::warn!(code = error.code, "boîte d'envoi illisible");
                0
            }
        }
    }
}

/// A running worker: stopped by [`MailWorker::stop`].
#[derive(Debug)]
pub struct MailWorker {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl MailWorker {
    /// Starts the worker for `state`'s mailer, or `None` when no SMTP server is configured.
    pub fn start(state: &AppState) -> Option<Self> {
        let mailer = state.mailer()?.clone();
        let state = state.clone();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            tracing::info!("envoi des e-mails démarré");
            // The first reminder run is at start, then every `reminder_every`.
            let mut next_reminders = tokio::time::Instant::now();
            loop {
                if tokio::time::Instant::now() >= next_reminders {
                    mailer.remind(&state).await;
                    next_reminders = tokio::time::Instant::now() + mailer.reminder_every;
                }
                let claimed = mailer.pass(&state).await;
                if *stopped.borrow() {
                    break;
                }
                // A full batch means more may be waiting: go on at once.
                if claimed as i64 >= BATCH {
                    continue;
                }
                tokio::select! {
                    () = tokio::time::sleep(mailer.poll) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Some(MailWorker { stop, task })
    }

    /// Stops after the message being sent, if any (waits at most `grace`).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Opens the satisfaction surveys that are due (`lms_core::surveys::open_due`: invitations,
/// reminders) at start and then every `every`, in every server, **whether or not an SMTP server is
/// configured**: without one, the invitations wait in the outbox and the questionnaires are on
/// `/me` all the same. Stopped by [`SurveyTimer::stop`].
#[derive(Debug)]
pub struct SurveyTimer {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl SurveyTimer {
    /// Starts the timer.
    pub fn start(state: &AppState, every: Duration) -> Self {
        let state = state.clone();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let every = every.max(Duration::from_secs(1));
        let task = tokio::spawn(async move {
            loop {
                match state.db(|conn| lms_core::surveys::open_due(conn, lms_core::db::now())).await {
                    Ok(report) if !report.opened.is_empty() || report.reminders > 0 => tracing::info!(
                        opened = report.opened.len(),
                        reminders = report.reminders,
                        "questionnaires de satisfaction ouverts"
                    ),
                    Ok(_) => {}
                    // Retried at the next run: opening late is better than stopping.
                    Err(error) => tracing::warn!(code = error.code, "questionnaires non ouverts"),
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        SurveyTimer { stop, task }
    }

    /// Stops after the run under way, if any (waits at most `grace`).
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
    }
}
