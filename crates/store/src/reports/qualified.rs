//! "Who was qualified on D": the people a report names (a group's members on that day, or
//! the type's tracks) and the issuances of the type whose dates cover the day. The SQL
//! narrows by index to the rows that can matter; the app decides with
//! `credence_domain::history` (revocations are compared in the agency's local dates there).
//!
//! Two plain reads instead of one join, unordered (the app sorts by name): with an
//! `ORDER BY` on the name, SQLite (which has no statistics) walks the whole agency through
//! the name index to avoid a sort (1.6 s for 200,000 credentials), and the issuances of one
//! type are one range of `issuances_type_dates_idx` rather than a probe per credential.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId,
};

use crate::{query, Conn, Result};

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

/// The members of `group_id` whose membership period covers `on`, each with their track of
/// the type.
pub async fn group_on(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
    on: NaiveDate,
    type_id: CredentialTypeId,
) -> Result<Vec<Person>> {
    query(
        "SELECT p.member_id, m.first_name, m.last_name, m.sort_name, p.from_date, p.to_date,
             c.id AS credential_id, c.created_at AS assigned_at
         FROM group_membership_periods p
         JOIN members m ON m.id = p.member_id AND m.agency_id = p.agency_id
         LEFT JOIN credentials c ON c.agency_id = p.agency_id AND c.member_id = p.member_id AND c.credential_type_id = $4
         WHERE p.agency_id = $1 AND p.group_id = $2 AND p.from_date <= $3 AND (p.to_date IS NULL OR p.to_date > $3)",
    )
    .arg(agency_id)
    .arg(group_id)
    .arg(on)
    .arg(type_id)
    .fetch_all(db)
    .await
}

/// Everyone with a track of the type (whoever was ever assigned it).
pub async fn tracks_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Vec<Person>> {
    query(
        "SELECT c.member_id, m.first_name, m.last_name, m.sort_name, NULL AS from_date, NULL AS to_date,
             c.id AS credential_id, c.created_at AS assigned_at
         FROM credentials c
         JOIN members m ON m.id = c.member_id AND m.agency_id = c.agency_id
         WHERE c.agency_id = $1 AND c.credential_type_id = $2",
    )
    .arg(agency_id)
    .arg(type_id)
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

/// The type's issuances with `issue_date <= on <= expiration_date` (no expiration: never
/// expires).
pub async fn issuances_covering(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    on: NaiveDate,
) -> Result<Vec<CoveringIssuance>> {
    query(
        "SELECT credential_id, id, issue_date, expiration_date, credential_number, revoked_at
         FROM issuances
         WHERE agency_id = $1 AND credential_type_id = $2 AND issue_date <= $3
             AND (expiration_date IS NULL OR expiration_date >= $3)",
    )
    .arg(agency_id)
    .arg(type_id)
    .arg(on)
    .fetch_all(db)
    .await
}
