//! The append-only audit log: who changed what, when, with before and after.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, AnyId, AuditEventId, Id, IdKind};

use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: i64,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

pub struct NewEvent<'a> {
    pub agency_id: AgencyId,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: AnyId,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub async fn record(tx: &mut Tx, e: NewEvent<'_>) -> Result<()> {
    query("INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)").arg(e.agency_id).arg(now()).arg(e.actor).arg(e.action).arg(e.subject.kind.subject_type()).arg(e.subject.row).arg(e.before).arg(e.after)
        .execute(tx).await?;
    Ok(())
}

/// Newest first; `before_id` continues a page.
pub async fn events_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    subject: Option<AnyId>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut q = Query::new(
        "SELECT id, at, actor, action, subject_type, subject_id, before_json, after_json FROM audit_events WHERE agency_id = ",
    );
    q.bind(agency_id);
    // Row numbers are per table, so the kind narrows the subject precisely.
    if let Some(s) = subject {
        q.push(" AND subject_id = ")
            .bind(s.row)
            .push(" AND subject_type = ")
            .bind(s.kind.subject_type());
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
pub async fn record_many<K: IdKind>(
    tx: &mut Tx,
    agency_id: AgencyId,
    actor: &str,
    action: &str,
    subject_ids: &[Id<K>],
    after: Option<&str>,
) -> Result<()> {
    let ids = crate::query::json_ids(tx.backend(), "$7");
    let sql = format!(
        "INSERT INTO audit_events (agency_id, at, actor, action, subject_type, subject_id, after_json)
         SELECT $1, $2, $3, $4, $5, s.id, $6 FROM {ids} AS s"
    );
    let at = now();
    for chunk in subject_ids.chunks(crate::JSON_BATCH) {
        let rows: Vec<i64> = chunk.iter().map(|id| id.get()).collect();
        let json = serde_json::Value::from(rows).to_string();
        query(&sql)
            .arg(agency_id)
            .arg(at)
            .arg(actor)
            .arg(action)
            .arg(K::KIND.subject_type())
            .arg(after)
            .arg(json.as_str())
            .execute(tx)
            .await?;
    }
    Ok(())
}
