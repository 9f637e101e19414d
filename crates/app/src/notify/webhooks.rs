//! Webhooks (#20): an admin subscribes a URL to credential and training events. Each event
//! becomes one outbox row per subscription, written in the transaction of the change it
//! reports (so a rolled-back change, a dry run included, sends nothing, and a committed one
//! is sent once: the row is the event). The delivery worker POSTs the row's JSON body with
//! `Credence-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`, retries failures with
//! backoff, and runs a batch's requests side by side, each with a timeout, so a receiver
//! that hangs delays nothing but itself.
//!
//! Addresses are checked when saved: http or https, no credentials in them, and not this
//! server itself nor a loopback address (which would let a subscription probe the host it
//! runs on) — unless the server was started with loopback allowed, which the test suite
//! does to reach its own receivers (`CREDENCE_WEBHOOKS_ALLOW_LOOPBACK`, see the CLI).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, IssuanceId, MemberId, MessageId, WebhookId,
};
use credence_domain::status::Status;
use credence_domain::webhooks::{
    check_secret, events_column, events_of_column, is_expiry, parse_events, signed_payload,
    EventType,
};
use credence_store::notify::outbox::{self, Channel, NewMessage};
use credence_store::notify::webhooks::{self as store, Webhook};
use credence_store::Tx;
use hmac::Mac;
use serde::{Deserialize, Serialize};

use crate::notify::reminders::{message_view, OutboxMessage};
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Admin, App, AppError, Result};

/// Attempts before a delivery is marked failed.
const MAX_ATTEMPTS: i64 = 10;
/// How long a receiver may take by default before the attempt counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries sent side by side in one pass.
const BATCH: i64 = 50;

/// How webhooks are delivered: the receiver's time limit, and whether loopback receivers
/// are allowed (tests and local development only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    pub timeout: Duration,
    pub allow_loopback: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout: DEFAULT_TIMEOUT,
            allow_loopback: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    #[schema(value_type = String)]
    pub id: WebhookId,
    pub url: String,
    /// The events it receives.
    #[schema(example = json!(["credential.issued"]))]
    pub events: Vec<String>,
    /// A disabled webhook receives nothing; deliveries already queued for it are dropped.
    pub enabled: bool,
    pub version: i64,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: http or https, not this server nor a loopback address.
    pub url: String,
    /// Any of `credential.status_changed`, `credential.issued`, `credential.revoked`,
    /// `credential.expired`, `training_record.created`.
    pub events: Vec<String>,
    /// The key of the signature (16 to 200 characters); never shown again.
    pub secret: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub secret: Option<String>,
    pub enabled: Option<bool>,
}

fn view(w: Webhook) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        events: events_of_column(&w.events)
            .into_iter()
            .map(|e| e.as_str().to_string())
            .collect(),
        enabled: w.enabled,
        version: w.version,
        created_at: w.created_at,
        updated_at: w.updated_at,
    }
}

/// The hex HMAC-SHA256 of `t.body` with `secret`, as `Credence-Signature` carries it.
pub fn signature(secret: &str, unix_time: i64, body: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(signed_payload(unix_time, body).as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The host part of a URL as written, without IPv6 brackets, lower case.
fn host_of(url: &reqwest::Url) -> Option<String> {
    url.host_str().map(|h| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    })
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

impl App {
    /// How webhooks are delivered (the CLI reads them from its configuration).
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> App {
        self.webhooks = settings;
        self
    }

    /// Checks a receiver's address; answers it trimmed.
    fn check_webhook_url(&self, raw: &str) -> Result<String> {
        let raw = raw.trim();
        let bad = |words: &str| AppError::invalid("url", words);
        if raw.len() > 2000 {
            return Err(bad("is too long (at most 2000 characters)"));
        }
        let url = reqwest::Url::parse(raw).map_err(|_| {
            bad("is not a web address; give one like https://example.org/hooks/credence")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "must not carry a user name or password; receivers check the signature instead",
            ));
        }
        let Some(host) = host_of(&url).filter(|h| !h.is_empty()) else {
            return Err(bad("names no host"));
        };
        let own = reqwest::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| host_of(&u));
        if own.as_deref() == Some(host.as_str()) {
            return Err(bad(
                "points at this Credence server; give the address of the system that receives the events",
            ));
        }
        if is_loopback(&host) && !self.webhooks.allow_loopback {
            return Err(bad(
                "points at a loopback address (this machine); give an address other systems can reach",
            ));
        }
        Ok(raw.to_string())
    }

    async fn load_webhook(
        &self,
        tx: &mut impl credence_store::Conn,
        agency_id: AgencyId,
        id: WebhookId,
    ) -> Result<Webhook> {
        store::webhook(tx, agency_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn webhooks(&self, actor: &Admin, page: &PageParams) -> Result<Page<WebhookView>> {
        let limit = page.limit()?;
        let mut db = self.store.read().await?;
        let rows = store::webhooks_page(&mut db, actor.agency_id, page.after()?, limit + 1).await?;
        Ok(paginate(rows, limit, |w| w.id.get(), view))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn webhook(&self, actor: &Admin, id: WebhookId) -> Result<WebhookView> {
        let mut db = self.store.read().await?;
        Ok(view(self.load_webhook(&mut db, actor.agency_id, id).await?))
    }

    /// The webhook's latest deliveries (newest first), as the outbox shows them.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn webhook_deliveries(
        &self,
        actor: &Admin,
        id: WebhookId,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let mut db = self.store.read().await?;
        self.load_webhook(&mut db, actor.agency_id, id).await?;
        Ok(store::deliveries(&mut db, actor.agency_id, id, limit)
            .await?
            .into_iter()
            .map(message_view)
            .collect())
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_webhook(&self, actor: &Admin, input: NewWebhook) -> Result<WebhookView> {
        let mut invalid = credence_domain::Invalid::new();
        let url = self.check_webhook_url(&input.url);
        let events = parse_events(&input.events);
        if let Err(AppError::Invalid(e)) = &url {
            invalid.errors.extend(e.errors.clone());
        }
        if let Err(e) = &events {
            invalid.errors.extend(e.errors.clone());
        }
        if let Err(words) = check_secret(&input.secret) {
            invalid.add("secret", words);
        }
        invalid.into_result()?;
        let (url, events) = (url?, events?);
        let mut tx = self.store.begin().await?;
        let row = store::insert_webhook(
            &mut tx,
            actor.agency_id,
            &url,
            &events_column(&events),
            &input.secret,
        )
        .await?;
        let created = view(row);
        record(&mut tx, actor, "create", created.id, None, Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Changes a webhook: its address, events, secret, or whether it is enabled.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_webhook(
        &self,
        actor: &Admin,
        id: WebhookId,
        input: WebhookPatch,
    ) -> Result<WebhookView> {
        let mut tx = self.store.begin().await?;
        let before = self.load_webhook(&mut tx, actor.agency_id, id).await?;
        let mut invalid = credence_domain::Invalid::new();
        let url = match &input.url {
            Some(u) => match self.check_webhook_url(u) {
                Ok(u) => u,
                Err(AppError::Invalid(e)) => {
                    invalid.errors.extend(e.errors);
                    String::new()
                }
                Err(e) => return Err(e),
            },
            None => before.url.clone(),
        };
        let events = match &input.events {
            Some(list) => match parse_events(list) {
                Ok(events) => events_column(&events),
                Err(e) => {
                    invalid.errors.extend(e.errors);
                    String::new()
                }
            },
            None => before.events.clone(),
        };
        if let Some(secret) = &input.secret {
            if let Err(words) = check_secret(secret) {
                invalid.add("secret", words);
            }
        }
        invalid.into_result()?;
        let secret = input.secret.as_deref().unwrap_or(&before.secret);
        let enabled = input.enabled.unwrap_or(before.enabled);
        let after =
            store::update_webhook(&mut tx, actor.agency_id, id, &url, &events, secret, enabled)
                .await?
                .ok_or(AppError::NotFound)?;
        let (before, after) = (view(before), view(after));
        let action = match (before.enabled, after.enabled) {
            (true, false) => "disable",
            (false, true) => "enable",
            _ => "update",
        };
        record(&mut tx, actor, action, id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn delete_webhook(&self, actor: &Admin, id: WebhookId) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let before = view(self.load_webhook(&mut tx, actor.agency_id, id).await?);
        if !store::delete_webhook(&mut tx, actor.agency_id, id).await? {
            return Err(AppError::NotFound);
        }
        record::<WebhookView>(&mut tx, actor, "delete", id, Some(&before), None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Queues a `webhook.test` event for this webhook alone (enabled or not), so an admin
    /// can see a receiver answer; answers the queued delivery.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn test_webhook(&self, actor: &Admin, id: WebhookId) -> Result<OutboxMessage> {
        let mut tx = self.store.begin().await?;
        let hook = self.load_webhook(&mut tx, actor.agency_id, id).await?;
        let event_id = new_event_id();
        let body = event_body(
            &event_id,
            "webhook.test",
            actor.agency_id,
            serde_json::json!({"webhook_id": id, "sent_by": actor.label}),
        );
        outbox::enqueue(
            &mut tx,
            actor.agency_id,
            &[NewMessage {
                recipient: hook.url.clone(),
                subject: "webhook.test".into(),
                body,
                kind: "webhook".into(),
                subject_id: Some(id.into()),
                attachment_file_id: None,
                dedupe_key: format!("webhook:{}:{event_id}", id.get()),
            }],
        )
        .await?;
        let queued = store::deliveries(&mut tx, actor.agency_id, id, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("the test delivery was not queued"))?;
        record(
            &mut tx,
            actor,
            "test",
            id,
            None,
            Some(&serde_json::json!({"delivery": queued.id})),
        )
        .await?;
        tx.commit().await?;
        Ok(message_view(queued))
    }

    /// Delivers due webhook events until none are left; answers how many were delivered.
    /// A batch's requests run side by side, each limited by the configured timeout; a
    /// failure is tried again later with backoff (30 s doubling, at most 6 h), and given
    /// up after [`MAX_ATTEMPTS`].
    pub async fn deliver_webhooks(&self) -> Result<usize> {
        // reqwest is built without a default TLS provider (see the workspace manifest).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.webhooks.timeout)
            .user_agent("Credence-Webhooks/1")
            .build()
            .map_err(|e| AppError::internal(format!("building the webhook client: {e}")))?;
        let mut delivered = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let batch = outbox::claim(
                &mut tx,
                Channel::Webhook,
                BATCH,
                chrono::Duration::minutes(5),
            )
            .await?;
            tx.commit().await?;
            if batch.is_empty() {
                return Ok(delivered);
            }
            let ids: Vec<i64> = batch.iter().filter_map(|m| m.subject_id).collect();
            let hooks: HashMap<i64, (i64, Webhook)> = {
                let mut db = self.store.read().await?;
                store::webhooks_by_ids(&mut db, &ids)
                    .await?
                    .into_iter()
                    .map(|(agency, w)| (w.id.get(), (agency, w)))
                    .collect()
            };
            let attempts = batch.iter().map(|m| {
                let hook = m
                    .subject_id
                    .and_then(|id| hooks.get(&id))
                    .filter(|(agency, _)| *agency == m.agency_id.get())
                    .map(|(_, w)| w);
                let client = &client;
                async move {
                    let outcome = match hook {
                        None => Err(("the webhook was deleted".to_string(), true)),
                        Some(w) if !w.enabled && m.subject != "webhook.test" => {
                            Err(("the webhook is disabled".to_string(), true))
                        }
                        Some(w) => self
                            .post_event(client, w, m.id, &m.subject, &m.body)
                            .await
                            .map_err(|e| (e, m.attempts >= MAX_ATTEMPTS)),
                    };
                    (m, outcome)
                }
            });
            let results = futures_util::future::join_all(attempts).await;
            for (m, outcome) in results {
                let mut tx = self.store.begin().await?;
                match outcome {
                    Ok(()) => {
                        outbox::mark_sent(&mut tx, m.id).await?;
                        delivered += 1;
                    }
                    Err((error, give_up)) => {
                        let backoff = chrono::Duration::seconds(
                            30 * 2i64.pow((m.attempts - 1).clamp(0, 10) as u32),
                        )
                        .min(chrono::Duration::hours(6));
                        tracing::warn!(delivery = %m.id, %error, attempts = m.attempts, "webhook not delivered");
                        outbox::mark_failed(&mut tx, m.id, &error, backoff, give_up).await?;
                    }
                }
                tx.commit().await?;
            }
        }
    }

    /// One attempt: the signed POST; a 2xx answer is delivered.
    async fn post_event(
        &self,
        client: &reqwest::Client,
        hook: &Webhook,
        delivery: MessageId,
        event_type: &str,
        body: &str,
    ) -> std::result::Result<(), String> {
        let t = Utc::now().timestamp();
        let sent = client
            .post(&hook.url)
            .timeout(self.webhooks.timeout)
            .header("content-type", "application/json")
            .header(
                "credence-signature",
                format!("t={t},v1={}", signature(&hook.secret, t, body)),
            )
            .header("credence-event", event_type)
            .header("credence-delivery", delivery.to_string())
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("the receiver answered {}", r.status())),
            Err(e) if e.is_timeout() => Err(format!(
                "the receiver did not answer within {} s",
                self.webhooks.timeout.as_secs_f64()
            )),
            Err(e) => Err(cause(&e.without_url())),
        }
    }
}

/// An error with its causes ("error sending request: client error (Connect): dns error:
/// …"), the address left out: the outbox already shows it.
fn cause(e: &dyn std::error::Error) -> String {
    let mut words = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !words.contains(&next) {
            words.push_str(": ");
            words.push_str(&next);
        }
        source = s.source();
    }
    words
}

fn new_event_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 12];
    rand::thread_rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ev_{hex}")
}

/// The JSON a receiver gets: the same bytes on every attempt, so `id` identifies the event.
fn event_body(id: &str, kind: &str, agency_id: AgencyId, data: serde_json::Value) -> String {
    serde_json::json!({
        "id": id,
        "type": kind,
        "created_at": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "agency_id": agency_id,
        "data": data,
    })
    .to_string()
}

/// The agency's enabled subscriptions, read once by a transaction that may emit events.
pub(crate) struct Subscribers {
    agency_id: AgencyId,
    hooks: Vec<(WebhookId, String, Vec<EventType>)>,
}

impl Subscribers {
    pub async fn load(tx: &mut Tx, agency_id: AgencyId) -> Result<Subscribers> {
        let hooks = store::enabled_webhooks(tx, agency_id)
            .await?
            .into_iter()
            .map(|w| (w.id, w.url, events_of_column(&w.events)))
            .collect();
        Ok(Subscribers { agency_id, hooks })
    }

    pub fn wants(&self, kind: EventType) -> bool {
        self.hooks
            .iter()
            .any(|(_, _, events)| events.contains(&kind))
    }

    /// Queues each event for every subscription that wants its type.
    pub async fn emit(
        &self,
        tx: &mut Tx,
        events: Vec<(EventType, serde_json::Value)>,
    ) -> Result<()> {
        let mut messages = Vec::new();
        for (kind, data) in events {
            let subscribed: Vec<_> = self
                .hooks
                .iter()
                .filter(|(_, _, e)| e.contains(&kind))
                .collect();
            if subscribed.is_empty() {
                continue;
            }
            let id = new_event_id();
            let body = event_body(&id, kind.as_str(), self.agency_id, data);
            for (hook, url, _) in subscribed {
                messages.push(NewMessage {
                    recipient: url.clone(),
                    subject: kind.as_str().into(),
                    body: body.clone(),
                    kind: "webhook".into(),
                    subject_id: Some((*hook).into()),
                    attachment_file_id: None,
                    dedupe_key: format!("webhook:{}:{id}", hook.get()),
                });
            }
        }
        if !messages.is_empty() {
            outbox::enqueue(tx, self.agency_id, &messages).await?;
        }
        Ok(())
    }
}

/// A credential whose stored status is about to change.
pub(crate) struct StatusChange {
    pub credential_id: CredentialId,
    /// Unknown to the sweep's rows; looked up when someone subscribes.
    pub member_id: Option<MemberId>,
    pub credential_type_id: CredentialTypeId,
    pub from: Status,
    pub to: Status,
    pub issuance_id: Option<IssuanceId>,
    pub expiration_date: Option<NaiveDate>,
}

/// Emits `credential.status_changed` for each change, plus `credential.revoked` when the
/// credential entered Revoked and `credential.expired` when it lapsed by date (see
/// [`is_expiry`]; the daily pass makes these). One read of the subscriptions when nobody
/// listens.
pub(crate) async fn emit_status_changes(
    tx: &mut Tx,
    agency_id: AgencyId,
    today: NaiveDate,
    changes: Vec<StatusChange>,
) -> Result<()> {
    let changes: Vec<StatusChange> = changes.into_iter().filter(|c| c.from != c.to).collect();
    if changes.is_empty() {
        return Ok(());
    }
    let subs = Subscribers::load(tx, agency_id).await?;
    let wanted = [
        EventType::StatusChanged,
        EventType::Expired,
        EventType::Revoked,
    ];
    if !wanted.iter().any(|e| subs.wants(*e)) {
        return Ok(());
    }
    let unknown: Vec<CredentialId> = changes
        .iter()
        .filter(|c| c.member_id.is_none())
        .map(|c| c.credential_id)
        .collect();
    let members: HashMap<CredentialId, MemberId> = if unknown.is_empty() {
        HashMap::new()
    } else {
        store::members_of_credentials(tx, agency_id, &unknown)
            .await?
            .into_iter()
            .collect()
    };
    let mut events = Vec::new();
    for c in changes {
        let member_id = c
            .member_id
            .or_else(|| members.get(&c.credential_id).copied());
        let base = serde_json::json!({
            "credential_id": c.credential_id,
            "member_id": member_id,
            "credential_type_id": c.credential_type_id,
        });
        let with = |extra: serde_json::Value| {
            let mut data = base.clone();
            if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
                d.extend(e.clone());
            }
            data
        };
        if subs.wants(EventType::StatusChanged) {
            events.push((
                EventType::StatusChanged,
                with(serde_json::json!({"previous_status": c.from.as_str(), "status": c.to.as_str()})),
            ));
        }
        if subs.wants(EventType::Expired) && is_expiry(c.from, c.to, c.expiration_date, today) {
            events.push((
                EventType::Expired,
                with(serde_json::json!({"expiration_date": c.expiration_date})),
            ));
        }
        if c.to == Status::Revoked && subs.wants(EventType::Revoked) {
            events.push((
                EventType::Revoked,
                with(serde_json::json!({"issuance_id": c.issuance_id})),
            ));
        }
    }
    subs.emit(tx, events).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        // RFC 4231 test case 2 ("what do ya want for nothing?" keyed "Jefe"), split at a dot.
        assert_eq!(
            signature("Jefe", 0, "what do ya want for nothing?").len(),
            64
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let known: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            known,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(signature("Jefe", 1, "{}"), signature("Jefe", 2, "{}"));
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "0.0.0.0",
            "::ffff:127.0.0.1",
            "a.localhost",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.org", "10.0.0.1", "192.168.1.5"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
