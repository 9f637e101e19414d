//! Calendar feeds: who a secret URL belongs to, and the dates a feed lists.

use chrono::NaiveDate;
use credence_domain::ids::{AgencyId, CredentialId, GroupId, MemberId};

use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Feed {
    pub agency_id: AgencyId,
    pub owner: String,
    pub member_id: Option<MemberId>,
    pub group_id: Option<GroupId>,
}

/// Gives `owner` a feed with this secret hash, replacing (and so ending) the one it had.
pub async fn replace_feed(
    tx: &mut Tx,
    agency_id: AgencyId,
    owner: &str,
    member_id: Option<MemberId>,
    group_id: Option<GroupId>,
    secret_hash: &str,
) -> Result<()> {
    query("DELETE FROM calendar_feeds WHERE agency_id = $1 AND owner = $2")
        .arg(agency_id)
        .arg(owner)
        .execute(tx)
        .await?;
    query(
        "INSERT INTO calendar_feeds (agency_id, owner, member_id, group_id, secret_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .arg(agency_id)
    .arg(owner)
    .arg(member_id)
    .arg(group_id)
    .arg(secret_hash)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(())
}

/// Ends `owner`'s feed, if it has one (its URL answers 404 from now on).
pub async fn end_feed(tx: &mut Tx, agency_id: AgencyId, owner: &str) -> Result<u64> {
    query("DELETE FROM calendar_feeds WHERE agency_id = $1 AND owner = $2")
        .arg(agency_id)
        .arg(owner)
        .execute(tx)
        .await
}

/// The feed whose secret has this hash (the unique index answers it).
pub async fn feed_by_hash(db: &mut impl Conn, secret_hash: &str) -> Result<Option<Feed>> {
    query("SELECT agency_id, owner, member_id, group_id FROM calendar_feeds WHERE secret_hash = $1")
        .arg(secret_hash)
        .fetch_optional(db)
        .await
}

/// A date a feed lists: an expiration or an open period's due date.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FeedDate {
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub type_name: String,
    /// `expiration` or `due`.
    pub kind: String,
    pub date: NaiveDate,
}

/// Whose dates a feed lists.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    Member(MemberId),
    /// Members of the group on `on`.
    Group(GroupId, NaiveDate),
    Agency,
}

/// Expirations of valid issuances and due dates of unfinished open periods between `from`
/// and `to` (the same selection as reminders), of active members in `scope`, by date; at
/// most `limit`.
pub async fn feed_dates(
    db: &mut impl Conn,
    agency_id: AgencyId,
    scope: Scope,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<FeedDate>> {
    let mut q = Query::new("");
    for (kind, column, condition) in [
        ("expiration", "c.expiration_date", "c.revoked = FALSE"),
        (
            "due",
            "c.due_date",
            "c.progress < 100 AND c.withdrawn = FALSE AND (c.expiration_date IS NULL OR c.due_date <> c.expiration_date)",
        ),
    ] {
        if kind == "due" {
            q.push(" UNION ALL ");
        }
        q.push(&format!(
            "SELECT c.id AS credential_id, c.member_id, m.first_name, m.last_name, t.name AS type_name,
                 '{kind}' AS kind, {column} AS date
             FROM credentials c
             JOIN members m ON m.id = c.member_id
             JOIN credential_types t ON t.id = c.credential_type_id
             WHERE c.agency_id = "
        ));
        q.bind(agency_id);
        q.push(&format!(" AND {column} >= "));
        q.bind(from);
        q.push(&format!(" AND {column} <= "));
        q.bind(to);
        q.push(&format!(" AND {condition} AND m.active = TRUE"));
        match scope {
            Scope::Member(member_id) => {
                q.push(" AND c.member_id = ").bind(member_id);
            }
            Scope::Group(group_id, on) => {
                q.push(
                    " AND EXISTS (SELECT 1 FROM group_membership_periods p
                       WHERE p.agency_id = c.agency_id AND p.member_id = c.member_id AND p.group_id = ",
                )
                .bind(group_id);
                q.push(" AND p.from_date <= ").bind(on);
                q.push(" AND (p.to_date IS NULL OR p.to_date > ").bind(on);
                q.push("))");
            }
            Scope::Agency => {}
        }
    }
    q.push(" ORDER BY date, credential_id LIMIT ").bind(limit);
    q.fetch_all(db).await
}
