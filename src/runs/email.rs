//! E-mail copies of notifications, when `smtp.enabled`: every worker marks new notifications
//! pending and sends the due ones (one attempt each, retried with backoff; a permanent SMTP
//! refusal or a disabled recipient gives up), recording each attempt on the notification.

use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::lifecycle::Orchestrator;
use crate::settings::SmtpSettings;
use crate::store::{StoreResult, email};

/// Attempts before an e-mail is given up.
pub const MAX_ATTEMPTS: i32 = 6;

/// Notifications older than this when a worker first sees them are not mailed (enabling
/// SMTP does not mail an installation's whole history).
const LOOKBACK: chrono::Duration = chrono::Duration::hours(1);

/// The configured SMTP transport and sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The mailer `smtp` describes; `None` when e-mail is off.
    pub fn from_settings(smtp: &SmtpSettings) -> Result<Option<Self>, String> {
        if !smtp.enabled {
            return Ok(None);
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(smtp.url.expose_secret())
            .map_err(|e| format!("smtp.url: {e}"))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = smtp
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("smtp.from: {e}"))?;
        Ok(Some(Self { transport, from }))
    }
}

/// Backoff after `attempts` failed attempts: 30 s, doubling, at most 30 minutes.
fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1 << (attempts - 1).clamp(0, 6));
    chrono::Duration::seconds(secs.min(1800))
}

impl Orchestrator {
    /// Marks new notifications for e-mail and sends the due ones; returns how many were tried.
    pub async fn deliver_emails(&self, mailer: &Mailer) -> StoreResult<usize> {
        let db = &self.services.db;
        let now = Utc::now();
        email::mark_new(db, now - LOOKBACK, now).await?;
        let due = email::take_due(db, now, now + chrono::Duration::seconds(120), 20).await?;
        let tried = due.len();
        let public_url = self
            .services
            .settings
            .server
            .public_url
            .trim_end_matches('/');
        for item in due {
            let n = &item.notification;
            if item.recipient_disabled {
                email::attempted(
                    db,
                    n.id,
                    false,
                    Some("the recipient's account is disabled".into()),
                    None,
                )
                .await?;
                continue;
            }
            let link = match (n.run_id, n.fanout_id) {
                (Some(run), _) => format!("{public_url}/tenants/{}/runs/{run}", n.tenant_id),
                (None, Some(fanout)) => format!("{public_url}/fanouts/{fanout}"),
                _ => format!("{public_url}/notifications"),
            };
            let to = match item.to.parse::<Mailbox>() {
                Ok(to) => to,
                Err(e) => {
                    email::attempted(
                        db,
                        n.id,
                        false,
                        Some(format!("recipient address: {e}")),
                        None,
                    )
                    .await?;
                    continue;
                }
            };
            let body = format!(
                "{}\n\n{}\n\n{link}\n\n-- \nPolicyVault. Choose which events notify you: {public_url}/notifications\n",
                n.title, n.body
            );
            let message = Message::builder()
                .from(mailer.from.clone())
                .to(to)
                .subject(format!("[PolicyVault] {}: {}", item.tenant_name, n.title))
                .header(ContentType::TEXT_PLAIN)
                .body(body);
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    email::attempted(db, n.id, false, Some(format!("message: {e}")), None).await?;
                    continue;
                }
            };
            match mailer.transport.send(message).await {
                Ok(_) => email::attempted(db, n.id, true, None, None).await?,
                Err(e) => {
                    let attempts = n.email_attempts + 1;
                    let retry = (!e.is_permanent() && attempts < MAX_ATTEMPTS)
                        .then(|| Utc::now() + backoff(attempts));
                    tracing::warn!(notification_id = %n.id, error = %e, "e-mail not sent");
                    email::attempted(db, n.id, false, Some(e.to_string()), retry).await?;
                }
            }
        }
        Ok(tried)
    }
}
