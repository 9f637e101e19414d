//! The append-only audit log: who changed what, when, with before and after, chained per
//! agency with SHA-256 so a change made behind the application's back shows
//! (`credence_domain::audit_chain` states the rule and the canonical form).
//!
//! Recording an event does not insert it: [`record`] and [`record_many`] queue it on the
//! transaction, and [`Tx::commit`] appends the queue just before it commits ([`append`]).
//! Each new event names the hash of the agency's newest one, so the writers of one agency
//! must append one at a time or the chain would fork: on PostgreSQL they take an advisory
//! lock per agency, held until the commit; SQLite has one writer already. Taking the lock at
//! commit rather than at the first event keeps it short, and makes it the last lock the
//! transaction takes, so it cannot deadlock with the row locks of its work. The newest hash
//! is read once per transaction and the hashes of a whole bulk workflow are computed here,
//! then inserted as one statement per batch.

use std::fmt::Write as _;

use chrono::{DateTime, SubsecRound, Utc};
use credence_domain::audit_chain::{self, canonical, canonical_json, link, BrokenLink, Chain};
use credence_domain::ids::{AgencyId, AnyId, AuditEventId, Id, IdKind, Kind};

use crate::query::{json_rows, JsonType};
use crate::{query, Backend, Conn, Query, Result, StoreError, Tx};

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
    /// `None` for events from before the chain (see `audit_chain`).
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

pub struct NewEvent<'a> {
    pub agency_id: AgencyId,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: AnyId,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Events recorded in a transaction and not yet appended: one per subject id, all with the
/// same fields otherwise.
#[derive(Debug)]
pub(crate) struct Pending {
    agency_id: AgencyId,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject_type: &'static str,
    subject_ids: Vec<i64>,
    before: Option<String>,
    after: Option<String>,
}

/// The time of an event recorded now. PostgreSQL keeps microseconds, so that is all the
/// hash may cover: it must match what is read back.
fn event_time() -> DateTime<Utc> {
    crate::now().trunc_subsecs(6)
}

/// Records one event, appended when the transaction commits.
pub async fn record(tx: &mut Tx, e: NewEvent<'_>) -> Result<()> {
    tx.audit.push(Pending {
        agency_id: e.agency_id,
        at: event_time(),
        actor: e.actor.to_string(),
        action: e.action.to_string(),
        subject_type: e.subject.kind.subject_type(),
        subject_ids: vec![e.subject.row],
        before: e.before,
        after: e.after,
    });
    Ok(())
}

/// One event per subject, all with the same action and `after`, appended when the
/// transaction commits as one statement per [`crate::JSON_BATCH`] events (bulk workflows
/// audit every credential they touch without a query per row).
pub async fn record_many<K: IdKind>(
    tx: &mut Tx,
    agency_id: AgencyId,
    actor: &str,
    action: &str,
    subject_ids: &[Id<K>],
    after: Option<&str>,
) -> Result<()> {
    if subject_ids.is_empty() {
        return Ok(());
    }
    tx.audit.push(Pending {
        agency_id,
        at: event_time(),
        actor: actor.to_string(),
        action: action.to_string(),
        subject_type: K::KIND.subject_type(),
        subject_ids: subject_ids.iter().map(|id| id.get()).collect(),
        before: None,
        after: after.map(str::to_string),
    });
    Ok(())
}

/// What a page of events is narrowed to; each part optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventFilter<'a> {
    pub subject: Option<AnyId>,
    /// Exactly this actor label (`user:ada@example.org`).
    pub actor: Option<&'a str>,
    pub action: Option<&'a str>,
}

/// Newest first; `before_id` continues a page.
pub async fn events_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    filter: EventFilter<'_>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut q = Query::new(
        "SELECT id, at, actor, action, subject_type, subject_id, before_json, after_json, prev_hash, hash FROM audit_events WHERE agency_id = ",
    );
    q.bind(agency_id);
    // Row numbers are per table, so the kind narrows the subject precisely.
    if let Some(s) = filter.subject {
        q.push(" AND subject_id = ")
            .bind(s.row)
            .push(" AND subject_type = ")
            .bind(s.kind.subject_type());
    }
    if let Some(a) = filter.actor {
        q.push(" AND actor = ").bind(a);
    }
    if let Some(a) = filter.action {
        q.push(" AND action = ").bind(a);
    }
    if let Some(b) = before_id {
        q.push(" AND id < ").bind(b);
    }
    q.push(" ORDER BY id DESC LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// Every distinct value of `column` (`actor` or `action`) in the agency's log, in order. A
/// log of millions of events has a few dozen of each, so this skips from one value to the
/// next through the index on (agency, column) instead of reading every event.
pub async fn distinct_values(
    db: &mut impl Conn,
    agency_id: AgencyId,
    column: EventColumn,
) -> Result<Vec<String>> {
    let c = column.name();
    let sql = format!(
        "WITH RECURSIVE v (value) AS (
             SELECT MIN({c}) FROM audit_events WHERE agency_id = $1
             UNION ALL
             SELECT (SELECT MIN({c}) FROM audit_events WHERE agency_id = $1 AND {c} > v.value)
             FROM v WHERE v.value IS NOT NULL
         )
         SELECT value FROM v WHERE value IS NOT NULL"
    );
    query(&sql).arg(agency_id).scalars(db).await
}

/// A column [`distinct_values`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventColumn {
    Actor,
    Action,
}

impl EventColumn {
    fn name(self) -> &'static str {
        match self {
            EventColumn::Actor => "actor",
            EventColumn::Action => "action",
        }
    }
}

/// Names people know the subjects of `kind` by, for the rows in `rows` of the agency:
/// members as "Last, First", credentials as "Last, First — Type", types, groups, courses,
/// templates by name, logins by e-mail. Kinds without a name answer nothing (their public id
/// is shown).
pub async fn subject_names(
    db: &mut impl Conn,
    agency_id: AgencyId,
    kind: Kind,
    rows: &[i64],
) -> Result<Vec<(i64, String)>> {
    let select = match kind {
        Kind::Member => "SELECT id, last_name || ', ' || first_name AS name FROM members x",
        Kind::Credential => {
            "SELECT x.id, m.last_name || ', ' || m.first_name || ' — ' || t.name AS name
             FROM credentials x JOIN members m ON m.id = x.member_id
             JOIN credential_types t ON t.id = x.credential_type_id"
        }
        Kind::Certificate => {
            "SELECT x.id, m.last_name || ', ' || m.first_name || ' — ' || t.name AS name
             FROM certificates x JOIN members m ON m.id = x.member_id
             JOIN credentials c ON c.id = x.credential_id
             JOIN credential_types t ON t.id = c.credential_type_id"
        }
        Kind::TrainingRecord => {
            "SELECT x.id, m.last_name || ', ' || m.first_name || COALESCE(' — ' || co.name, '') AS name
             FROM training_records x JOIN members m ON m.id = x.member_id
             LEFT JOIN courses co ON co.id = x.course_id"
        }
        Kind::Token => "SELECT id, COALESCE(label, 'API token') AS name FROM api_tokens x",
        Kind::CredentialType => "SELECT id, name FROM credential_types x",
        Kind::Group => "SELECT id, name FROM agency_groups x",
        Kind::Course => "SELECT id, name FROM courses x",
        Kind::Template => "SELECT id, name FROM certificate_templates x",
        Kind::User => "SELECT id, email AS name FROM users x",
        Kind::Agency => "SELECT id, name FROM agencies x",
        _ => return Ok(Vec::new()),
    };
    let agency_column = if kind == Kind::Agency {
        "x.id"
    } else {
        "x.agency_id"
    };
    let mut out = Vec::new();
    crate::query::fetch_in_batches(
        db,
        rows,
        |chunk| {
            let mut q = Query::new(format!("{select} WHERE +{agency_column} = "));
            q.bind(agency_id).push(" AND x.id IN ").bind_ids(chunk);
            q
        },
        |found: Vec<(i64, String)>| out.extend(found),
    )
    .await?;
    Ok(out)
}

/// The member each of these logins speaks for, as "Last, First": `(email, name)`.
pub async fn login_member_names(
    db: &mut impl Conn,
    agency_id: AgencyId,
    emails: &[String],
) -> Result<Vec<(String, String)>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT u.email, m.last_name || ', ' || m.first_name AS name
         FROM users u JOIN members m ON m.id = u.member_id
         WHERE u.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND u.email IN ")
        .bind_json_texts(db.backend(), emails);
    q.fetch_all(db).await
}

/// Advisory-lock keys of the chains, one per agency (beside the sweep's `0x5357…`).
const CHAIN_LOCK: i64 = 0x4155_0000_0000;

/// Rows per statement when walking a chain.
const WALK_BATCH: i64 = 5_000;

/// Appends the events a transaction recorded, chained, just before it commits.
pub(crate) async fn append(tx: &mut Tx, pending: Vec<Pending>) -> Result<()> {
    // Locks in a fixed order, so two transactions that audit several agencies cannot each
    // hold one the other waits for.
    let mut agencies: Vec<AgencyId> = pending.iter().map(|p| p.agency_id).collect();
    agencies.sort_unstable();
    agencies.dedup();
    if tx.backend() == Backend::Postgres {
        for agency_id in &agencies {
            query("SELECT pg_advisory_xact_lock($1)")
                .arg(CHAIN_LOCK + agency_id.get())
                .execute(tx)
                .await?;
        }
    }
    for agency_id in agencies {
        let batches: Vec<&Pending> = pending
            .iter()
            .filter(|p| p.agency_id == agency_id)
            .collect();
        let count = batches.iter().map(|p| p.subject_ids.len()).sum();
        // Under the lock, so the ids of one agency's events rise in the order of the chain.
        let mut ids = new_ids(tx, count).await?.into_iter();
        let mut head = chain_head(tx, agency_id).await?;
        for p in batches {
            let payload = |text: &Option<String>| {
                text.as_deref()
                    .map(canonical_json)
                    .transpose()
                    .map_err(|_| {
                        StoreError::Corrupt(format!("the {} audit payload is not JSON", p.action))
                    })
            };
            let (before, after) = (payload(&p.before)?, payload(&p.after)?);
            for chunk in p.subject_ids.chunks(crate::JSON_BATCH) {
                // Hex hashes and integers need no escaping: the rows are written directly.
                let mut rows = String::with_capacity(2 + chunk.len() * 160);
                rows.push('[');
                for (i, &subject_id) in chunk.iter().enumerate() {
                    let id = ids.next().ok_or_else(|| {
                        StoreError::Corrupt("fewer audit event ids than events".into())
                    })?;
                    let hash = link(
                        &head,
                        &canonical(&audit_chain::Event {
                            id,
                            agency_id: agency_id.get(),
                            at: p.at,
                            actor: &p.actor,
                            action: &p.action,
                            subject_type: p.subject_type,
                            subject_id,
                            before: before.as_deref(),
                            after: after.as_deref(),
                        }),
                    );
                    if i > 0 {
                        rows.push(',');
                    }
                    let _ = write!(rows, "[{id},{subject_id},\"{head}\",\"{hash}\"]");
                    head = hash;
                }
                rows.push(']');
                let from = json_rows(
                    tx.backend(),
                    "$8",
                    &[
                        ("id", JsonType::BigInt),
                        ("subject_id", JsonType::BigInt),
                        ("prev_hash", JsonType::Text),
                        ("hash", JsonType::Text),
                    ],
                );
                query(format!(
                    "INSERT INTO audit_events (id, agency_id, at, actor, action, subject_type, subject_id, before_json, after_json, prev_hash, hash)
                     SELECT r.id, $1, $2, $3, $4, $5, r.subject_id, $6, $7, r.prev_hash, r.hash FROM {from} AS r"
                ))
                .arg(agency_id)
                .arg(p.at)
                .arg(p.actor.as_str())
                .arg(p.action.as_str())
                .arg(p.subject_type)
                .arg(&p.before)
                .arg(&p.after)
                .arg(rows)
                .execute(tx)
                .await?;
            }
        }
    }
    Ok(())
}

/// `count` new event ids in ascending order.
async fn new_ids(tx: &mut Tx, count: usize) -> Result<Vec<i64>> {
    match tx.backend() {
        Backend::Postgres => {
            let mut ids = crate::query::next_values(tx, "audit_events", count).await?;
            ids.sort_unstable();
            Ok(ids)
        }
        // The one writer: the next rowids are free.
        Backend::Sqlite => {
            let last: i64 = query("SELECT COALESCE(MAX(id), 0) FROM audit_events")
                .scalar(tx)
                .await?;
            let count =
                i64::try_from(count).map_err(|_| StoreError::Corrupt("too many events".into()))?;
            Ok((last + 1..=last + count).collect())
        }
    }
}

/// The hash the agency's next event names as its `prev_hash`: its newest stored hash, or,
/// while none is stored, the hash the chain's rule gives its events from before the chain
/// (read once, at the agency's first write after migration 16).
async fn chain_head(tx: &mut Tx, agency_id: AgencyId) -> Result<String> {
    let newest: Option<String> = query(
        "SELECT hash FROM audit_events WHERE agency_id = $1 AND hash IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .arg(agency_id)
    .scalar_optional(tx)
    .await?;
    if let Some(hash) = newest {
        return Ok(hash);
    }
    let mut chain = Chain::new();
    walk(tx, agency_id, |event| {
        chain.follow(event);
        true
    })
    .await?;
    Ok(chain.head().to_string())
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    id: i64,
    agency_id: i64,
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject_type: String,
    subject_id: i64,
    before_json: Option<String>,
    after_json: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// Hands the agency's events to `each` in id order, a batch per statement, until it
/// answers false.
async fn walk(
    db: &mut impl Conn,
    agency_id: AgencyId,
    mut each: impl FnMut(&audit_chain::Stored<'_>) -> bool,
) -> Result<()> {
    let mut after_id = 0;
    loop {
        let rows: Vec<ChainRow> = query(
            "SELECT id, agency_id, at, actor, action, subject_type, subject_id, before_json, after_json, prev_hash, hash
             FROM audit_events WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .arg(agency_id)
        .arg(after_id)
        .arg(WALK_BATCH)
        .fetch_all(db)
        .await?;
        for r in &rows {
            let event = audit_chain::Stored {
                id: r.id,
                agency_id: r.agency_id,
                at: r.at,
                actor: &r.actor,
                action: &r.action,
                subject_type: &r.subject_type,
                subject_id: r.subject_id,
                before_json: r.before_json.as_deref(),
                after_json: r.after_json.as_deref(),
                prev_hash: r.prev_hash.as_deref(),
                hash: r.hash.as_deref(),
            };
            if !each(&event) {
                return Ok(());
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == WALK_BATCH => after_id = last.id,
            _ => return Ok(()),
        }
    }
}

/// What checking an agency's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Events checked before the first broken link, or all of them.
    pub events: u64,
    /// The hash of the newest event checked: keep it to prove later that nothing up to it
    /// changed.
    pub head: String,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Checks every link of the agency's chain in id order, stopping at the first broken one.
pub async fn verify_chain(db: &mut impl Conn, agency_id: AgencyId) -> Result<ChainReport> {
    let mut chain = Chain::new();
    let mut broken = None;
    walk(db, agency_id, |event| match chain.check(event) {
        Ok(()) => true,
        Err(link) => {
            broken = Some(link);
            false
        }
    })
    .await?;
    Ok(ChainReport {
        events: chain.events(),
        head: chain.head().to_string(),
        broken,
    })
}
