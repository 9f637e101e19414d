//! The outbox: every e-mail is a row first. A unique `dedupe_key` makes "each reminder
//! once" a constraint; delivery claims rows in short transactions (with `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), so any number of instances share the work and a crash only
//! delays a message until its claim expires.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, AnyId, CredentialId, FileId, MemberId, MessageId, PeriodId};

use crate::query::{json_rows, JsonType};
use crate::{now, query, Backend, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    /// What the message is about (a credential, a certificate).
    pub subject_id: Option<AnyId>,
    pub dedupe_key: String,
    /// A file sent along (a certificate).
    pub attachment_file_id: Option<FileId>,
}

/// Queues messages; ones whose key was queued before are ignored. Returns how many are new.
pub async fn enqueue(tx: &mut Tx, agency_id: AgencyId, messages: &[NewMessage]) -> Result<u64> {
    use JsonType::{BigInt, Text};
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("recipient", Text),
            ("subject", Text),
            ("body", Text),
            ("kind", Text),
            ("subject_id", BigInt),
            ("attachment_file_id", BigInt),
            ("dedupe_key", Text),
        ],
    );
    let sql = format!(
        "INSERT INTO outbox (agency_id, recipient, subject, body, kind, subject_id, attachment_file_id, dedupe_key,
             status, attempts, next_attempt_at, created_at)
         SELECT $1, v.recipient, v.subject, v.body, v.kind, v.subject_id, v.attachment_file_id, v.dedupe_key,
             'queued', 0, $3, $3
         FROM {source} AS v ORDER BY v.ord
         ON CONFLICT (agency_id, dedupe_key) DO NOTHING"
    );
    let at = now();
    let mut added = 0;
    for chunk in messages.chunks(crate::JSON_BATCH) {
        let rows: Vec<serde_json::Value> = chunk
            .iter()
            .map(|m| {
                crate::cells![
                    m.recipient,
                    m.subject,
                    m.body,
                    m.kind,
                    m.subject_id,
                    m.attachment_file_id,
                    m.dedupe_key
                ]
            })
            .collect();
        added += query(sql.as_str())
            .arg(agency_id)
            .arg(serde_json::Value::from(rows).to_string())
            .arg(at)
            .execute(tx)
            .await?;
    }
    Ok(added)
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Message {
    pub id: MessageId,
    pub agency_id: AgencyId,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub subject_id: Option<i64>,
    pub attachment_file_id: Option<FileId>,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub(crate) const COLUMNS: &str = "id, agency_id, recipient, subject, body, kind, subject_id, attachment_file_id, status, attempts, last_error, sent_at, created_at";

/// Which deliveries a worker claims: e-mail goes through the mailer, webhooks over HTTP,
/// and neither waits for the other (without a mail server, webhooks still go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Mail,
    Webhook,
}

/// Claims up to `limit` messages of `channel` that are due, for `lease` (a crashed sender's
/// claim expires and the message is tried again). Claiming counts the attempt, so a message
/// whose sender died mid-attempt shows two attempts once it is sent: an e-mail the server had
/// accepted just before the crash may then have gone twice (with the same Message-ID).
pub async fn claim(
    tx: &mut Tx,
    channel: Channel,
    limit: i64,
    lease: Duration,
) -> Result<Vec<Message>> {
    let at = now();
    let lock = if tx.backend() == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let kind = match channel {
        Channel::Mail => "<>",
        Channel::Webhook => "=",
    };
    let sql = format!(
        "UPDATE outbox SET status = 'sending', next_attempt_at = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $2
                          AND kind {kind} 'webhook'
                      ORDER BY next_attempt_at, id LIMIT $3{lock})
         RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(at + lease)
        .arg(at)
        .arg(limit)
        .fetch_all(tx)
        .await
}

pub async fn mark_sent(tx: &mut Tx, id: MessageId) -> Result<()> {
    query("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = NULL WHERE id = $2")
        .arg(now())
        .arg(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Records a failed attempt: retried after `retry_in`, or given up (`failed`) when `give_up`.
pub async fn mark_failed(
    tx: &mut Tx,
    id: MessageId,
    error: &str,
    retry_in: Duration,
    give_up: bool,
) -> Result<()> {
    let status = if give_up { "failed" } else { "queued" };
    query("UPDATE outbox SET status = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4")
        .arg(status)
        .arg(error)
        .arg(now() + retry_in)
        .arg(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Newest first.
pub async fn messages_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    status: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Message>> {
    let mut q = Query::new(format!("SELECT {COLUMNS} FROM outbox WHERE agency_id = "));
    q.bind(agency_id);
    if let Some(s) = status {
        q.push(" AND status = ").bind(s);
    }
    if let Some(b) = before_id {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// A credential with a date a reminder may be about.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Approaching {
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub type_name: String,
    pub date: NaiveDate,
    pub period_id: Option<PeriodId>,
    /// The credential type's own thresholds, when it sets them.
    pub reminder_offsets: Option<String>,
    /// The member's supervisor, when they have an active one.
    pub supervisor_email: Option<String>,
    pub supervisor_first_name: Option<String>,
}

/// Valid issuances expiring between `from` and `to` (index on agency, expiration date).
pub async fn expiring_between(
    db: &mut impl Conn,
    agency_id: AgencyId,
    from: NaiveDate,
    to: NaiveDate,
    page: ApproachingPage,
) -> Result<Vec<Approaching>> {
    approaching(
        db,
        agency_id,
        "c.expiration_date",
        "c.revoked = FALSE",
        (from, to),
        page,
    )
    .await
}

/// Open periods not yet complete whose due date falls between `from` and `to`, unless the
/// due date is the expiration date or the track was withdrawn with its retired type.
pub async fn periods_due_between(
    db: &mut impl Conn,
    agency_id: AgencyId,
    from: NaiveDate,
    to: NaiveDate,
    page: ApproachingPage,
) -> Result<Vec<Approaching>> {
    // When the period ends with the issuance, the expiration reminder already says it.
    approaching(
        db,
        agency_id,
        "c.due_date",
        "c.progress < 100 AND c.withdrawn = FALSE AND (c.expiration_date IS NULL OR c.due_date <> c.expiration_date)",
        (from, to),
        page,
    )
    .await
}

/// A keyset page of approaching dates: after the last row of the page before (its date and
/// credential; `None` first), at most `limit` rows. The reminder pass reads them a page at
/// a time so its memory does not grow with the agency.
#[derive(Debug, Clone, Copy)]
pub struct ApproachingPage {
    pub after: Option<(NaiveDate, CredentialId)>,
    pub limit: i64,
}

async fn approaching(
    db: &mut impl Conn,
    agency_id: AgencyId,
    column: &str,
    condition: &str,
    (from, to): (NaiveDate, NaiveDate),
    page: ApproachingPage,
) -> Result<Vec<Approaching>> {
    let (keyset, limit) = match page.after {
        Some(_) => (format!(" AND ({column}, c.id) > ($4, $5)"), "$6"),
        None => (String::new(), "$4"),
    };
    let sql = format!(
        "SELECT c.id AS credential_id, c.member_id, m.email, m.first_name, m.last_name, t.name AS type_name,
             {column} AS date, c.period_id, t.reminder_offsets,
             s.email AS supervisor_email, s.first_name AS supervisor_first_name
         FROM credentials c
         JOIN members m ON m.id = c.member_id
         JOIN credential_types t ON t.id = c.credential_type_id
         LEFT JOIN members s ON s.agency_id = m.agency_id AND s.id = m.supervisor_member_id AND s.active = TRUE
         WHERE c.agency_id = $1 AND {column} >= $2 AND {column} <= $3 AND {condition} AND m.active = TRUE{keyset}
         ORDER BY {column}, c.id LIMIT {limit}"
    );
    let mut q = query(&sql).arg(agency_id).arg(from).arg(to);
    if let Some((date, id)) = page.after {
        q = q.arg(date).arg(id);
    }
    q.arg(page.limit).fetch_all(db).await
}

/// E-mail addresses of the agency's active admin logins.
pub async fn admin_emails(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<String>> {
    query("SELECT email FROM users WHERE agency_id = $1 AND role = 'admin' AND active = TRUE ORDER BY email").arg(agency_id)
        .scalars(db).await
}

/// The agency's reminder offsets text ("90,60,30,7").
pub async fn reminder_offsets(db: &mut impl Conn, agency_id: AgencyId) -> Result<String> {
    query("SELECT reminder_offsets FROM agencies WHERE id = $1")
        .arg(agency_id)
        .scalar(db)
        .await
}

/// Whether the agency copies reminders to members' supervisors.
pub async fn copy_supervisors(db: &mut impl Conn, agency_id: AgencyId) -> Result<bool> {
    query("SELECT copy_supervisors FROM agencies WHERE id = $1")
        .arg(agency_id)
        .scalar(db)
        .await
}

/// The thresholds credential types of the agency set for themselves (each type's text).
pub async fn type_reminder_offsets(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<String>> {
    query("SELECT reminder_offsets FROM credential_types WHERE agency_id = $1 AND reminder_offsets IS NOT NULL")
        .arg(agency_id)
        .scalars(db)
        .await
}

/// One message of the agency, if it has it.
pub async fn message(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: MessageId,
) -> Result<Option<Message>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Queues a failed message again, due now; `None` when the agency has no failed message with
/// that id.
pub async fn requeue_failed(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: MessageId,
) -> Result<Option<Message>> {
    let sql = format!(
        "UPDATE outbox SET status = 'queued', next_attempt_at = $1
         WHERE agency_id = $2 AND id = $3 AND status = 'failed' RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .fetch_optional(tx)
        .await
}
