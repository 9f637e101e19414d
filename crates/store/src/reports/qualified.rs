//! "Who was qualified on D": the people a report names (a group's members on that day, or
//! the type's tracks) and the issuances of the type whose dates cover the day. The SQL
//! narrows by index to the rows that can matter; the app decides with
//! `credence_domain::history` (revocations are compared in the agency's local dates there).
//!
//! The report pages by member name (keyset on the sort name and member id): a page of people
//! in name order, then the covering issuances of that page's tracks only, so a page costs the
//! same however large the agency. Join orders are fixed with `CROSS JOIN` where SQLite, which
//! has no statistics, would otherwise walk the whole agency through the name index (1.6 s for
//! 200,000 credentials) to avoid sorting a small group.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId,
};

use crate::{query, Conn, Query, Result};

/// A member the report may name, with their track of the type if they have one.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Person {
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    /// The member's sort key (the list order).
    pub sort_name: String,
    /// The membership period that covers the day (a group report only).
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    /// Their track of the type, and when it was created (they were assigned it).
    pub credential_id: Option<CredentialId>,
    pub assigned_at: Option<DateTime<Utc>>,
}

/// Where a page of the report starts: after this member in name order (the default: the
/// first page).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct After {
    pub sort_name: String,
    pub member_id: i64,
}

/// The next `limit` members (by name, after `after`) of `group_id` whose membership period
/// covers `on`, each with their track of the type. A member has one row: one track per type
/// and one membership period per group at a time (unique keys).
///
/// `CROSS JOIN` fixes SQLite's join order (periods, then members by key) so it sorts the
/// group's members rather than walking the whole agency's name index, which is slow for a
/// small group; the tracks are joined to the page only.
pub async fn group_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
    on: NaiveDate,
    type_id: CredentialTypeId,
    after: &After,
    limit: i64,
) -> Result<Vec<Person>> {
    query(
        "SELECT g.member_id, g.first_name, g.last_name, g.sort_name, g.from_date, g.to_date,
             c.id AS credential_id, c.created_at AS assigned_at
         FROM (SELECT p.member_id, m.first_name, m.last_name, m.sort_name, p.from_date, p.to_date
               FROM group_membership_periods p CROSS JOIN members m
               WHERE p.agency_id = $1 AND p.group_id = $2 AND p.from_date <= $3
                   AND (p.to_date IS NULL OR p.to_date > $3)
                   AND m.id = p.member_id AND m.agency_id = p.agency_id
                   AND (m.sort_name, m.id) > ($5, $6)
               ORDER BY m.sort_name, m.id LIMIT $7) g
         LEFT JOIN credentials c ON c.agency_id = $1 AND c.member_id = g.member_id AND c.credential_type_id = $4",
    )
    .arg(agency_id)
    .arg(group_id)
    .arg(on)
    .arg(type_id)
    .arg(after.sort_name.as_str())
    .arg(after.member_id)
    .arg(limit)
    .fetch_all(db)
    .await
}

/// The next `limit` tracks of the type by member name after `after` (whoever was ever
/// assigned it), read in order from `credentials_type_member_idx`.
pub async fn tracks_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    after: &After,
    limit: i64,
) -> Result<Vec<Person>> {
    query(
        "SELECT c.member_id, m.first_name, m.last_name, c.member_sort_name AS sort_name,
             NULL AS from_date, NULL AS to_date, c.id AS credential_id, c.created_at AS assigned_at
         FROM credentials c CROSS JOIN members m
         WHERE c.agency_id = $1 AND c.credential_type_id = $2
             AND (c.member_sort_name, c.member_id) > ($3, $4)
             AND m.id = c.member_id AND m.agency_id = c.agency_id
         ORDER BY c.member_sort_name, c.member_id LIMIT $5",
    )
    .arg(agency_id)
    .arg(type_id)
    .arg(after.sort_name.as_str())
    .arg(after.member_id)
    .arg(limit)
    .fetch_all(db)
    .await
}

/// An issuance of the type whose dates cover the day; whether it was revoked by then is the
/// caller's to decide.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CoveringIssuance {
    pub credential_id: CredentialId,
    pub id: IssuanceId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The issuances of the tracks with `issue_date <= on <= expiration_date` (no expiration:
/// never expires), by `issuances_credential_idx`.
pub async fn issuances_covering(
    db: &mut impl Conn,
    agency_id: AgencyId,
    tracks: &[CredentialId],
    on: NaiveDate,
) -> Result<Vec<CoveringIssuance>> {
    if tracks.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT credential_id, id, issue_date, expiration_date, credential_number, revoked_at
         FROM issuances WHERE agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND issue_date <= ")
        .bind(on)
        .push(" AND (expiration_date IS NULL OR expiration_date >= ")
        .bind(on)
        .push(") AND credential_id IN ")
        .bind_json_ids(db.backend(), tracks);
    q.fetch_all(db).await
}
