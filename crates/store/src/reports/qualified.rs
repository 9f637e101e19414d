//! "Who was qualified on D": the people a report names (a group's members on that day, or
//! the type's tracks) with the issuances of the type whose dates cover the day. The SQL
//! narrows by index to the rows that can matter; the app decides with
//! `credence_domain::history` (revocations are compared in the agency's local dates there).

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId,
};

use crate::{query, Conn, Result};

/// One member and, when there is one, an issuance of the type whose dates cover the day:
/// a member with several such issuances has one row for each, a member with none one row
/// with the issuance columns empty. Rows come ordered by member name.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct QualifiedRow {
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    /// The member's membership period that covers the day (a group report only).
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    /// Their track of the type, and when it was created (they were assigned it).
    pub credential_id: Option<CredentialId>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub issuance_id: Option<IssuanceId>,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const ISSUANCE_COLUMNS: &str = "c.id AS credential_id, c.created_at AS assigned_at,
    i.id AS issuance_id, i.issue_date, i.expiration_date, i.credential_number, i.revoked_at";

/// Issuances of the track whose dates cover `$3`; revocation is left to the caller.
const COVERING_ISSUANCES: &str =
    "LEFT JOIN issuances i ON i.agency_id = c.agency_id AND i.credential_id = c.id
    AND i.issue_date <= $3 AND (i.expiration_date IS NULL OR i.expiration_date >= $3)";

/// The members of `group_id` on `on` (membership periods covering the day), each with
/// their track of the type and its issuances covering the day.
pub async fn group_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
    on: NaiveDate,
    type_id: CredentialTypeId,
) -> Result<Vec<QualifiedRow>> {
    let sql = format!(
        "SELECT p.member_id, m.first_name, m.last_name, p.from_date, p.to_date, {ISSUANCE_COLUMNS}
         FROM group_membership_periods p
         JOIN members m ON m.id = p.member_id AND m.agency_id = p.agency_id
         LEFT JOIN credentials c ON c.agency_id = p.agency_id AND c.member_id = p.member_id AND c.credential_type_id = $4
         {COVERING_ISSUANCES}
         WHERE p.agency_id = $1 AND p.group_id = $2 AND p.from_date <= $3 AND (p.to_date IS NULL OR p.to_date > $3)
         ORDER BY m.sort_name, p.member_id, i.id"
    );
    query(sql)
        .arg(agency_id)
        .arg(group_id)
        .arg(on)
        .arg(type_id)
        .fetch_all(db)
        .await
}

/// Every track of the type (whoever was ever assigned it), each with its issuances covering
/// `on`.
pub async fn tracks_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    on: NaiveDate,
    type_id: CredentialTypeId,
) -> Result<Vec<QualifiedRow>> {
    let sql = format!(
        "SELECT c.member_id, m.first_name, m.last_name, NULL AS from_date, NULL AS to_date, {ISSUANCE_COLUMNS}
         FROM credentials c
         JOIN members m ON m.id = c.member_id AND m.agency_id = c.agency_id
         {COVERING_ISSUANCES}
         WHERE c.agency_id = $1 AND c.credential_type_id = $2
         ORDER BY c.member_sort_name, c.member_id, i.id"
    );
    query(sql)
        .arg(agency_id)
        .arg(type_id)
        .arg(on)
        .fetch_all(db)
        .await
}
