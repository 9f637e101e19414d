//! The append-only audit log: who changed what, when, with before and after.

use chrono::{DateTime, Utc};

use crate::{bind_args, db, now, on_conn, Result, SqlBuilder, Tx};

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
    on_conn!(tx, c => sqlx::query(
        "INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(e.agency_id).bind(now()).bind(e.actor).bind(e.action).bind(e.subject_type)
        .bind(e.subject_id).bind(e.before).bind(e.after)
        .execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    Ok(())
}

/// Newest first; `before_id` continues a page.
pub async fn events_page(
    tx: &mut Tx,
    agency_id: i64,
    subject: Option<(&str, i64)>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut q = SqlBuilder::new(
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
    on_conn!(tx, c => bind_args!(sqlx::query_as(&q.sql), &q.args).fetch_all(c).await).map_err(db)
}

/// One event per subject, all with the same action and `after`, thousands per statement
/// (bulk workflows audit every credential they touch without a query per row; the ids go
/// as one JSON parameter, see [`crate::args::json_ids`]).
pub async fn record_many(
    tx: &mut Tx,
    agency_id: i64,
    actor: &str,
    action: &str,
    subject_type: &str,
    subject_ids: &[i64],
    after: Option<&str>,
) -> Result<()> {
    let ids = crate::args::json_ids(tx.backend(), "$7");
    let sql = format!(
        "INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
         SELECT $1, $2, $3, $4, $5, s.id, $6 FROM {ids} AS s"
    );
    let at = now();
    for chunk in subject_ids.chunks(crate::JSON_BATCH) {
        let json = serde_json::Value::from(chunk).to_string();
        on_conn!(tx, c => sqlx::query(&sql)
            .bind(agency_id).bind(at).bind(actor).bind(action).bind(subject_type).bind(after).bind(json.as_str())
            .execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    }
    Ok(())
}
