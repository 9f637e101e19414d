//! Readiness: for a page of people (a group's members on a day, or the agency's active
//! members), the issuances of a qualification's types whose dates cover the day. As in
//! [`super::qualified`], the SQL narrows by index to the rows that can matter and the app
//! decides with `credence_domain::history` and `credence_domain::qualification`.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId, IssuanceId, MemberId};

use super::qualified::After;
use crate::{query, Conn, Query, Result};

/// A member readiness lists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Person {
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub sort_name: String,
}

/// The next `limit` members of `group_id` (by name, after `after`) whose membership period
/// covers `on`. `CROSS JOIN` fixes SQLite's join order as in `qualified::group_on`.
pub async fn group_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
    on: NaiveDate,
    after: &After,
    limit: i64,
) -> Result<Vec<Person>> {
    query(
        "SELECT p.member_id, m.first_name, m.last_name, m.sort_name
         FROM group_membership_periods p CROSS JOIN members m
         WHERE p.agency_id = $1 AND p.group_id = $2 AND p.from_date <= $3
             AND (p.to_date IS NULL OR p.to_date > $3)
             AND m.id = p.member_id AND m.agency_id = p.agency_id
             AND (m.sort_name, m.id) > ($4, $5)
         ORDER BY m.sort_name, m.id LIMIT $6",
    )
    .arg(agency_id)
    .arg(group_id)
    .arg(on)
    .arg(after.sort_name.as_str())
    .arg(after.member_id)
    .arg(limit)
    .fetch_all(db)
    .await
}

/// The next `limit` active members of the agency by name after `after`, read in order from
/// `members_sort_idx`.
pub async fn active_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after: &After,
    limit: i64,
) -> Result<Vec<Person>> {
    query(
        "SELECT id AS member_id, first_name, last_name, sort_name FROM members
         WHERE agency_id = $1 AND active AND (sort_name, id) > ($2, $3)
         ORDER BY sort_name, id LIMIT $4",
    )
    .arg(agency_id)
    .arg(after.sort_name.as_str())
    .arg(after.member_id)
    .arg(limit)
    .fetch_all(db)
    .await
}

/// An issuance of one of the asked types whose dates cover the day; whether it was revoked
/// by then is the caller's to decide.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CoveringIssuance {
    pub member_id: MemberId,
    pub credential_type_id: CredentialTypeId,
    pub id: IssuanceId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The issuances of `types` held by `members` with `issue_date <= on <= expiration_date`
/// (no expiration: never expires): each member's track of each type by
/// `credentials_member_type_key`, then its issuances by `issuances_credential_idx`.
///
/// The types (a qualification names at most 50) go as one placeholder each, so both
/// databases use them in the index condition and read only the tracks asked about; as a
/// JSON list PostgreSQL read every track of each member and filtered the types last (3×
/// the issuance lookups for a three-type rule among ten).
pub async fn issuances_covering(
    db: &mut impl Conn,
    agency_id: AgencyId,
    members: &[MemberId],
    types: &[CredentialTypeId],
    on: NaiveDate,
) -> Result<Vec<CoveringIssuance>> {
    if members.is_empty() || types.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.backend();
    let mut q = Query::new(
        "SELECT c.member_id, c.credential_type_id, i.id, i.issue_date, i.expiration_date, i.revoked_at
         FROM credentials c CROSS JOIN issuances i
         WHERE c.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND c.member_id IN ")
        .bind_json_ids(backend, members)
        .push(" AND c.credential_type_id IN ")
        .bind_list(types.iter().copied())
        .push(" AND i.agency_id = c.agency_id AND i.credential_id = c.id AND i.issue_date <= ")
        .bind(on)
        .push(" AND (i.expiration_date IS NULL OR i.expiration_date >= ")
        .bind(on)
        .push(")");
    q.fetch_all(db).await
}
