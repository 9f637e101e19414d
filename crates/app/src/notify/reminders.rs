//! Reminders (workflow 8): before a credential expires and before an open period is due, at
//! the agency's offsets (default 90, 60, 30 and 7 days, and once when it lapses) or the
//! credential type's own when it sets them, to the member, with a copy to the member's
//! supervisor when the agency says so (`copy_supervisors`), plus one daily digest to the
//! agency's admins. Messages go through the outbox,
//! whose unique key makes each one go once whatever the number of instances; delivery
//! retries with backoff until the SMTP server takes them.

use credence_domain::ids::{AgencyId, AnyId, Kind, MessageId};
use std::sync::Arc;
use std::time::Duration;

use chrono::Days;
use credence_domain::reminders::{
    due_threshold, parse_offsets, supervisor_copy_key, supervisor_copy_to, Threshold,
};
use credence_store::notify::outbox::{self, Approaching, NewMessage};
use lettre::message::Mailbox;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::page::{paginate, Page, PageParams};
use crate::{App, AppError, Officer, Reader, Result};

/// Lapse reminders are sent only this many days after the date, so catching up on old
/// history does not flood inboxes.
const LAPSE_GRACE_DAYS: i64 = 7;
/// Attempts before a message is marked failed.
const MAX_ATTEMPTS: i64 = 10;

/// Sends e-mail over SMTP (`smtp://host:port`).
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A file sent with a message.
struct Attachment {
    name: String,
    content_type: String,
    bytes: Vec<u8>,
}

/// How long an SMTP conversation may take before it is given up.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a claim on an outbox message keeps other instances off it: longer than an SMTP
/// conversation may take, so no two instances send it at once. An instance killed while
/// sending holds its message up for this long (it was five minutes, for a batch of 50).
const MAIL_LEASE: chrono::Duration = chrono::Duration::seconds(30);

/// A pass stops after this many failed messages in a row (the server is likely down).
const FAILURES_BEFORE_PAUSE: usize = 5;

impl Mailer {
    /// Checks and opens the configuration; a malformed URL or sender is an error at start.
    pub fn from_url(url: &str, from: &str) -> std::result::Result<Mailer, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("CREDENCE_SMTP_URL {url:?} must look like smtp://host:port"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("CREDENCE_SMTP_URL {url:?} has an invalid port"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(format!("CREDENCE_SMTP_URL {url:?} has an invalid host"));
        }
        let from: Mailbox = from
            .parse()
            .map_err(|_| format!("the sender address {from:?} is not an e-mail address"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Mailer { transport, from })
    }

    /// Sends one outbox message. Its Message-ID is made from the outbox row, the same on
    /// every attempt: a message sent again after a crash between the server's acceptance and
    /// our record of it (the one moment delivery cannot be made exactly-once) is the same
    /// message, which mail systems recognise as such.
    async fn send(
        &self,
        outbox_id: MessageId,
        to: &str,
        subject: &str,
        body: &str,
        attachment: Option<Attachment>,
    ) -> std::result::Result<(), String> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("bad recipient {to:?}: {e}"))?;
        let message_id = format!("<outbox.{outbox_id}@{}>", self.from.email.domain());
        let builder = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(to)
            .subject(subject);
        let message = match attachment {
            None => builder.body(body.to_string()),
            Some(a) => {
                let content_type = lettre::message::header::ContentType::parse(&a.content_type)
                    .map_err(|e| e.to_string())?;
                builder.multipart(
                    lettre::message::MultiPart::mixed()
                        .singlepart(lettre::message::SinglePart::plain(body.to_string()))
                        .singlepart(
                            lettre::message::Attachment::new(a.name).body(a.bytes, content_type),
                        ),
                )
            }
        }
        .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// What a message of `kind` is about: certificates are sent as certificates, every other
/// message is about a credential.
fn message_subject_kind(kind: &str) -> Kind {
    match kind {
        "certificate" => Kind::Certificate,
        "invitation" | "password_reset" => Kind::User,
        "webhook" => Kind::Webhook,
        _ => Kind::Credential,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    #[schema(value_type = String)]
    pub id: MessageId,
    pub to: String,
    pub subject: String,
    /// `expiration`, `period_due`, `digest`, `certificate`, `invitation`, `password_reset` or
    /// `webhook` (then `to` is the receiver's address and `subject` the event type).
    pub kind: String,
    #[schema(value_type = Option<String>)]
    pub subject_id: Option<AnyId>,
    /// queued, sending, sent or failed.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct OutboxFilter {
    pub status: Option<String>,
}

/// One reminder about one credential at one threshold, before it is addressed.
struct Reminder {
    subject: String,
    /// The sentence saying what is due, to the member.
    line: String,
    /// The same, about the member, to their supervisor.
    about: String,
    /// The member's outbox key: once per credential and threshold.
    key: String,
}

fn reminder(a: &Approaching, kind: &str, threshold: Threshold) -> Reminder {
    let what = &a.type_name;
    let who = format!("{} {}", a.first_name, a.last_name);
    let (subject, line, about) = match (kind, threshold) {
        ("expiration", Threshold::Lapsed) => (
            format!("{what} has expired"),
            format!("Your {what} credential expired on {}.", a.date),
            format!("{who}'s {what} credential expired on {}.", a.date),
        ),
        ("expiration", Threshold::DaysBefore(_)) => (
            format!("{what} expires on {}", a.date),
            format!("Your {what} credential expires on {}.", a.date),
            format!("{who}'s {what} credential expires on {}.", a.date),
        ),
        (_, Threshold::Lapsed) => (
            format!("{what} training is overdue"),
            format!("The training for {what} was due on {}.", a.date),
            format!("{who}'s training for {what} was due on {}.", a.date),
        ),
        (_, Threshold::DaysBefore(_)) => (
            format!("{what} training is due on {}", a.date),
            format!("The training for {what} is due on {}.", a.date),
            format!("{who}'s training for {what} is due on {}.", a.date),
        ),
    };
    let scope = match kind {
        // Row numbers, as every key written before typed ids: a changed key would send again.
        "expiration" => format!("exp:{}:{}", a.credential_id.get(), a.date),
        _ => format!("due:{}:{}", a.period_id.map_or(0, |p| p.get()), a.date),
    };
    Reminder {
        subject,
        line,
        about,
        key: format!("{scope}:{}", threshold.key()),
    }
}

fn member_message(a: &Approaching, kind: &str, r: &Reminder) -> Option<NewMessage> {
    Some(NewMessage {
        recipient: a.email.clone()?,
        subject: r.subject.clone(),
        body: format!(
            "Hello {},\n\n{}\nPlease check your credentials in Credence.\n",
            a.first_name, r.line
        ),
        kind: kind.into(),
        subject_id: Some(a.credential_id.into()),
        attachment_file_id: None,
        dedupe_key: r.key.clone(),
    })
}

/// The copy of a member's reminder to their supervisor, when the agency sends one
/// ([`supervisor_copy_to`] decides).
fn supervisor_message(a: &Approaching, kind: &str, r: &Reminder, copy: bool) -> Option<NewMessage> {
    let to = supervisor_copy_to(copy, a.email.as_deref(), a.supervisor_email.as_deref())?;
    Some(NewMessage {
        recipient: to.to_string(),
        subject: format!("{} {}: {}", a.first_name, a.last_name, r.subject),
        body: format!(
            "Hello {},\n\nYou are receiving a copy of a reminder as {} {}'s supervisor.\n{}\n",
            a.supervisor_first_name.as_deref().unwrap_or(""),
            a.first_name,
            a.last_name,
            r.about
        ),
        kind: kind.into(),
        subject_id: Some(a.credential_id.into()),
        attachment_file_id: None,
        dedupe_key: supervisor_copy_key(&r.key),
    })
}

impl App {
    /// Uses `mailer` to deliver the outbox.
    pub fn with_mailer(mut self, mailer: Mailer) -> App {
        self.mailer = Some(Arc::new(mailer));
        self
    }

    /// Whether a mail server is configured; without one, messages are only queued.
    pub fn sends_mail(&self) -> bool {
        self.mailer.is_some()
    }

    /// Queues reminders for the agency with this slug.
    pub async fn queue_reminders_for(&self, agency_slug: &str) -> Result<u64> {
        let agency = {
            let mut tx = self.store.read().await?;
            credence_store::auth::identity::agency_by_slug(&mut tx, agency_slug)
                .await?
                .ok_or(AppError::NotFound)?
        };
        self.queue_reminders(agency.id).await
    }

    /// Queues the reminders due today for one agency; returns how many messages are new.
    /// The selection is two indexed range queries (by expiration date and by due date).
    pub async fn queue_reminders(&self, agency_id: AgencyId) -> Result<u64> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx_for(&mut tx, agency_id, "system:reminders").await?;
        let agency_offsets = parse_offsets(&outbox::reminder_offsets(&mut tx, agency_id).await?);
        let copy = outbox::copy_supervisors(&mut tx, agency_id).await?;
        // Far enough ahead for the furthest threshold of the agency or any of its types.
        let furthest = outbox::type_reminder_offsets(&mut tx, agency_id)
            .await?
            .iter()
            .flat_map(|text| parse_offsets(text))
            .chain(agency_offsets.iter().copied())
            .max()
            .unwrap_or(0);
        let horizon = ctx.today + Days::new(u64::from(furthest));
        let lapsed_since = ctx.today - Days::new(LAPSE_GRACE_DAYS as u64);
        let mut digest = Digest::default();
        let mut added = 0;
        for kind in ["expiration", "period_due"] {
            let mut page = outbox::ApproachingPage {
                after: None,
                limit: REMINDER_PAGE,
            };
            loop {
                let rows = match kind {
                    "expiration" => {
                        outbox::expiring_between(&mut tx, agency_id, lapsed_since, horizon, page)
                            .await?
                    }
                    _ => {
                        outbox::periods_due_between(&mut tx, agency_id, lapsed_since, horizon, page)
                            .await?
                    }
                };
                let mut messages = Vec::new();
                for a in &rows {
                    // A type's own thresholds win over the agency's.
                    let own = a.reminder_offsets.as_deref().map(parse_offsets);
                    let offsets = own.as_deref().unwrap_or(&agency_offsets);
                    let Some(threshold) =
                        due_threshold(a.date, ctx.today, offsets, LAPSE_GRACE_DAYS)
                    else {
                        continue;
                    };
                    let r = reminder(a, kind, threshold);
                    let to_member = member_message(a, kind, &r);
                    let to_supervisor = supervisor_message(a, kind, &r, copy);
                    if to_member.is_some() || to_supervisor.is_some() {
                        let copied = match &to_supervisor {
                            Some(m) => format!(", copied to {}", m.recipient),
                            None => String::new(),
                        };
                        digest.note(format!(
                            "- {} {}: {} ({}{copied})",
                            a.first_name,
                            a.last_name,
                            r.subject,
                            threshold.key()
                        ));
                    }
                    messages.extend(to_member);
                    messages.extend(to_supervisor);
                }
                added += outbox::enqueue(&mut tx, agency_id, &messages).await?;
                match rows.last() {
                    Some(last) if rows.len() as i64 == page.limit => {
                        page.after = Some((last.date, last.credential_id));
                    }
                    _ => break,
                }
            }
        }
        if added > 0 {
            // Admins get one digest a day rather than a message per credential.
            let body = format!(
                "Reminders sent to members on {}:\n\n{}\n",
                ctx.today,
                digest.text()
            );
            let admins: Vec<NewMessage> = outbox::admin_emails(&mut tx, agency_id)
                .await?
                .into_iter()
                .map(|email| NewMessage {
                    attachment_file_id: None,
                    dedupe_key: format!("digest:{}:{email}", ctx.today),
                    recipient: email,
                    subject: format!("Credential reminders for {}", ctx.today),
                    body: body.clone(),
                    kind: "digest".into(),
                    subject_id: None,
                })
                .collect();
            added += outbox::enqueue(&mut tx, agency_id, &admins).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// Sends due messages until none are left; returns how many were sent. Without a mailer
    /// the messages stay queued.
    pub async fn deliver_outbox(&self) -> Result<usize> {
        let Some(mailer) = self.mailer.clone() else {
            return Ok(0);
        };
        let mut sent = 0;
        let mut failures_in_a_row = 0;
        // One message per claim: a claim then covers exactly the message being sent, so an
        // instance killed mid-pass holds up only that one (for the lease), and `attempts`
        // counts the tries actually begun.
        while failures_in_a_row < FAILURES_BEFORE_PAUSE {
            let mut tx = self.store.begin().await?;
            let claimed = outbox::claim(&mut tx, outbox::Channel::Mail, 1, MAIL_LEASE).await?;
            tx.commit().await?;
            let Some(m) = claimed.into_iter().next() else {
                break;
            };
            let result = match self.attachment(&m).await {
                Ok(attachment) => {
                    mailer
                        .send(m.id, &m.recipient, &m.subject, &m.body, attachment)
                        .await
                }
                Err(e) => Err(e.to_string()),
            };
            let mut tx = self.store.begin().await?;
            match result {
                Ok(()) => {
                    outbox::mark_sent(&mut tx, m.id).await?;
                    sent += 1;
                    failures_in_a_row = 0;
                }
                Err(error) => {
                    failures_in_a_row += 1;
                    let backoff = chrono::Duration::seconds(
                        60 * 2i64.pow((m.attempts - 1).clamp(0, 8) as u32),
                    )
                    .min(chrono::Duration::hours(6));
                    tracing::warn!(message = %m.id, %error, attempts = m.attempts, "e-mail not delivered; will retry");
                    outbox::mark_failed(&mut tx, m.id, &error, backoff, m.attempts >= MAX_ATTEMPTS)
                        .await?;
                }
            }
            tx.commit().await?;
        }
        // After several failures in a row the server is likely unreachable: the rest waits
        // for the next pass, and the failed ones for their backoff.
        Ok(sent)
    }

    /// The file a message carries, read from storage.
    async fn attachment(&self, m: &outbox::Message) -> Result<Option<Attachment>> {
        let Some(file_id) = m.attachment_file_id else {
            return Ok(None);
        };
        let mut tx = self.store.read().await?;
        let file = credence_store::documents::certificates::file(&mut tx, m.agency_id, file_id)
            .await?
            .ok_or(AppError::NotFound)?;
        drop(tx);
        Ok(Some(Attachment {
            bytes: self.files.get(&file.storage_key).await?,
            name: file.original_name,
            content_type: file.content_type,
        }))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn outbox(
        &self,
        actor: &Reader,
        filter: &OutboxFilter,
        page: &PageParams,
    ) -> Result<Page<OutboxMessage>> {
        let limit = page.limit()?;
        if let Some(s) = filter.status.as_deref() {
            if !["queued", "sending", "sent", "failed"].contains(&s) {
                return Err(AppError::invalid(
                    "status",
                    "must be queued, sending, sent or failed",
                ));
            }
        }
        let mut tx = self.store.read().await?;
        let rows = outbox::messages_page(
            &mut tx,
            actor.agency_id,
            filter.status.as_deref(),
            page.after()?,
            limit + 1,
        )
        .await?;
        Ok(paginate(rows, limit, |m| m.id.get(), message_view))
    }

    /// Queues a failed message again, to be sent as soon as the mail server takes it
    /// (admins and officers). A message that is not failed (sent, queued or being sent) is a
    /// conflict; another agency's is not found. Audited.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn retry_message(&self, actor: &Officer, id: MessageId) -> Result<OutboxMessage> {
        let mut tx = self.store.begin().await?;
        let before = outbox::message(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let Some(after) = outbox::requeue_failed(&mut tx, actor.agency_id, id).await? else {
            return Err(AppError::Conflict(format!(
                "only a failed message can be retried; this one is {}",
                before.status
            )));
        };
        let audited = |m: &outbox::Message| serde_json::json!({"status": m.status, "attempts": m.attempts, "last_error": m.last_error});
        crate::ops::audit::record(
            &mut tx,
            actor,
            "retry",
            id,
            Some(&audited(&before)),
            Some(&audited(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(message_view(after))
    }
}

pub(crate) fn message_view(m: outbox::Message) -> OutboxMessage {
    OutboxMessage {
        id: m.id,
        to: m.recipient,
        subject: m.subject,
        subject_id: m.subject_id.map(|row| AnyId {
            kind: message_subject_kind(&m.kind),
            row,
        }),
        kind: m.kind,
        status: m.status,
        attempts: m.attempts,
        last_error: m.last_error,
        sent_at: m.sent_at,
        created_at: m.created_at,
    }
}

/// Approaching dates read per page by the reminder pass.
const REMINDER_PAGE: i64 = 5_000;

/// Lines of the admins' daily digest: one per reminder up to [`Digest::MAX_LINES`], then a
/// count, so a day with thousands of reminders is still a readable e-mail (the outbox lists
/// every message).
#[derive(Default)]
struct Digest {
    lines: Vec<String>,
    more: usize,
}

impl Digest {
    const MAX_LINES: usize = 500;

    fn note(&mut self, line: String) {
        if self.lines.len() < Self::MAX_LINES {
            self.lines.push(line);
        } else {
            self.more += 1;
        }
    }

    fn text(&self) -> String {
        let mut text = self.lines.join("\n");
        if self.more > 0 {
            text.push_str(&format!(
                "\n… and {} more; the outbox lists every message.",
                self.more
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_digest_lists_five_hundred_reminders_then_counts_the_rest() {
        let mut digest = Digest::default();
        for n in 0..502 {
            digest.note(format!("- reminder {n}"));
        }
        let text = digest.text();
        assert_eq!(text.lines().count(), Digest::MAX_LINES + 1);
        assert!(text.starts_with("- reminder 0\n"));
        assert!(text.contains("- reminder 499\n"));
        assert!(!text.contains("reminder 500"));
        assert!(text.ends_with("… and 2 more; the outbox lists every message."));
        let mut short = Digest::default();
        short.note("- one".into());
        assert_eq!(short.text(), "- one");
    }

    #[test]
    fn smtp_urls_are_checked() {
        assert!(Mailer::from_url("smtp://127.0.0.1:2525", "credence@example.org").is_ok());
        assert!(Mailer::from_url("http://mail", "credence@example.org").is_err());
        assert!(Mailer::from_url("smtp://mail:port", "credence@example.org").is_err());
        assert!(Mailer::from_url("smtp://127.0.0.1:25", "not an address").is_err());
    }
}
