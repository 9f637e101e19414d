//! Webhook subscriptions. Their deliveries are outbox rows of kind `webhook` whose
//! `subject_id` is the subscription (see `outbox`).

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, CredentialId, MemberId, WebhookId};

use crate::notify::outbox::{Message, COLUMNS as MESSAGE_COLUMNS};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    /// `,a,b,` (see `credence_domain::webhooks::events_column`).
    pub events: String,
    pub secret: String,
    pub enabled: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, url, events, secret, enabled, version, created_at, updated_at";

pub async fn insert_webhook(
    tx: &mut Tx,
    agency_id: AgencyId,
    url: &str,
    events: &str,
    secret: &str,
) -> Result<Webhook> {
    let sql = format!(
        "INSERT INTO webhooks (agency_id, url, events, secret, enabled, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, TRUE, 1, $5, $5) RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(url)
        .arg(events)
        .arg(secret)
        .arg(now())
        .fetch_one(tx)
        .await
}

/// Writes the subscription's changeable fields; `None` when it is not the agency's.
pub async fn update_webhook(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: WebhookId,
    url: &str,
    events: &str,
    secret: &str,
    enabled: bool,
) -> Result<Option<Webhook>> {
    let sql = format!(
        "UPDATE webhooks SET url = $1, events = $2, secret = $3, enabled = $4, version = version + 1, updated_at = $5
         WHERE agency_id = $6 AND id = $7 RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(url)
        .arg(events)
        .arg(secret)
        .arg(enabled)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .fetch_optional(tx)
        .await
}

/// `false` when it was not there. Its past deliveries stay in the outbox.
pub async fn delete_webhook(tx: &mut Tx, agency_id: AgencyId, id: WebhookId) -> Result<bool> {
    let n = query("DELETE FROM webhooks WHERE agency_id = $1 AND id = $2")
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    Ok(n > 0)
}

pub async fn webhook(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: WebhookId,
) -> Result<Option<Webhook>> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

pub async fn webhooks_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Webhook>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    query(&sql)
        .arg(agency_id)
        .arg(after_id.unwrap_or(0))
        .arg(limit)
        .fetch_all(db)
        .await
}

/// The agency's enabled subscriptions (few: read once per transaction that may emit).
pub async fn enabled_webhooks(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<Webhook>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM webhooks WHERE agency_id = $1 AND enabled = TRUE ORDER BY id"
    );
    query(&sql).arg(agency_id).fetch_all(db).await
}

/// The subscriptions of any agency with these ids (the delivery worker's batch).
pub async fn webhooks_by_ids(db: &mut impl Conn, ids: &[i64]) -> Result<Vec<(i64, Webhook)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(sqlx::FromRow)]
    struct Row {
        agency_id: i64,
        #[sqlx(flatten)]
        webhook: Webhook,
    }
    let mut q = Query::new(format!(
        "SELECT agency_id, {COLUMNS} FROM webhooks WHERE id IN "
    ));
    q.bind_json_ids(db.backend(), ids);
    let rows: Vec<Row> = q.fetch_all(db).await?;
    Ok(rows.into_iter().map(|r| (r.agency_id, r.webhook)).collect())
}

/// The subscription's latest deliveries, newest first.
pub async fn deliveries(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: WebhookId,
    limit: i64,
) -> Result<Vec<Message>> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM outbox WHERE agency_id = $1 AND kind = 'webhook' AND subject_id = $2
         ORDER BY id DESC LIMIT $3"
    );
    query(&sql)
        .arg(agency_id)
        .arg(id.get())
        .arg(limit)
        .fetch_all(db)
        .await
}

/// The member of each credential, for events about credentials read without it.
pub async fn members_of_credentials(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialId],
) -> Result<Vec<(CredentialId, MemberId)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::JSON_BATCH) {
        let mut q = Query::new("SELECT id, member_id FROM credentials WHERE +agency_id = ");
        q.bind(agency_id)
            .push(" AND id IN ")
            .bind_json_ids(db.backend(), chunk);
        out.extend(q.fetch_all::<(CredentialId, MemberId)>(db).await?);
    }
    Ok(out)
}
