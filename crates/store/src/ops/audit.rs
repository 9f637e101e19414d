//! The append-only audit log: who changed what, when, with before and after.

use chrono::{DateTime, Utc};

use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

pub struct NewEvent<'a> {
    pub agency_id: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn record(tx: &mut Tx, e: NewEvent<'_>) -> Result<()> {
    query("INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)").arg(e.agency_id).arg(now()).arg(e.actor).arg(e.action).arg(e.subject_type).arg(e.subject_id).arg(e.before).arg(e.after)
        .execute(tx).await?;
    Ok(())
}

/// Newest first; `before_id` continues a page.
pub async fn events_page(
    db: &mut impl Conn,
    agency_id: i64,
    subject: Option<(&str, i64)>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut q = Query::new(
        "SELECT id, at, actor, action, subject_type, subject_id, before_json, after_json FROM audit_events WHERE agency_id = ",
    );
    q.bind(agency_id);
    if let Some((subject_type, id)) = subject {
        q.push(" AND subject_id = ")
            .bind(id)
            .push(" AND subject_type = ")
            .bind(subject_type);
    }
    if let Some(b) = before_id {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// One event per subject, all with the same action and `after`, thousands per statement
/// (bulk workflows audit every credential they touch without a query per row; the ids go
/// as one JSON parameter, see [`crate::query::json_ids`]).
pub async fn record_many(
    tx: &mut Tx,
    agency_id: i64,
    actor: &str,
    action: &str,
    subject_type: &str,
    subject_ids: &[i64],
    after: Option<&str>,
) -> Result<()> {
    let ids = crate::query::json_ids(tx.backend(), "$7");
    let sql = format!(
        "INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
         SELECT $1, $2, $3, $4, $5, s.id, $6 FROM {ids} AS s"
    );
    let at = now();
    for chunk in subject_ids.chunks(crate::JSON_BATCH) {
        let json = serde_json::Value::from(chunk).to_string();
        query(&sql)
            .arg(agency_id)
            .arg(at)
            .arg(actor)
            .arg(action)
            .arg(subject_type)
            .arg(after)
            .arg(json.as_str())
            .execute(tx)
            .await?;
    }
    Ok(())
}
