//! Agency signing keys, status list entries and the facts a badge is made of (#21).

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, CredentialTypeId, IssuanceId};

use crate::{now, query, Conn, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IssuerKeyRow {
    pub agency_id: AgencyId,
    pub kid: String,
    /// The raw Ed25519 public key, base64url.
    pub public_key: String,
    /// PKCS#8, sealed (see migration 0029).
    pub sealed_private_key: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

const KEY_COLUMNS: &str = "agency_id, kid, public_key, sealed_private_key, created_at, retired_at";

/// The agency's signing key, if it has one yet.
pub async fn active_key(db: &mut impl Conn, agency_id: AgencyId) -> Result<Option<IssuerKeyRow>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM issuer_keys WHERE agency_id = $1 AND retired_at IS NULL"
    );
    query(sql).arg(agency_id).fetch_optional(db).await
}

/// Every key of the agency, the signing one and the retired ones, oldest first.
pub async fn keys_of(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<IssuerKeyRow>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM issuer_keys WHERE agency_id = $1 ORDER BY id");
    query(sql).arg(agency_id).fetch_all(db).await
}

/// The key with this id, whichever agency it belongs to.
pub async fn key_by_kid(db: &mut impl Conn, kid: &str) -> Result<Option<IssuerKeyRow>> {
    let sql = format!("SELECT {KEY_COLUMNS} FROM issuer_keys WHERE kid = $1 ORDER BY id LIMIT 1");
    query(sql).arg(kid).fetch_optional(db).await
}

/// Adds a signing key unless the agency already has one (a concurrent first use won);
/// answers whether this one was added.
pub async fn insert_active_key(
    tx: &mut Tx,
    agency_id: AgencyId,
    kid: &str,
    public_key: &str,
    sealed_private_key: &str,
) -> Result<bool> {
    let n = query(
        "INSERT INTO issuer_keys (agency_id, kid, public_key, sealed_private_key, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .arg(agency_id)
    .arg(kid)
    .arg(public_key)
    .arg(sealed_private_key)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(n == 1)
}

/// Retires the agency's signing key (kept for verifying); answers the retired key's id.
pub async fn retire_active_key(tx: &mut Tx, agency_id: AgencyId) -> Result<Option<String>> {
    query(
        "UPDATE issuer_keys SET retired_at = $1 WHERE agency_id = $2 AND retired_at IS NULL RETURNING kid",
    )
    .arg(now())
    .arg(agency_id)
    .scalar_optional(tx)
    .await
}

/// The status list entry (list number, index) of an issuance, if its badge was ever signed.
pub async fn status_entry(
    db: &mut impl Conn,
    agency_id: AgencyId,
    issuance_id: IssuanceId,
) -> Result<Option<(i64, i64)>> {
    query(
        "SELECT list_number, list_index FROM status_list_entries WHERE agency_id = $1 AND issuance_id = $2",
    )
    .arg(agency_id)
    .arg(issuance_id)
    .fetch_optional(db)
    .await
}

/// Takes the agency's next status position.
pub async fn next_status_position(tx: &mut Tx, agency_id: AgencyId) -> Result<i64> {
    query("UPDATE agencies SET status_list_next = status_list_next + 1 WHERE id = $1 RETURNING status_list_next - 1")
        .arg(agency_id)
        .scalar(tx)
        .await
}

/// Records the issuance's entry unless it already has one (a concurrent first download won).
pub async fn insert_status_entry(
    tx: &mut Tx,
    agency_id: AgencyId,
    list_number: i64,
    list_index: i64,
    issuance_id: IssuanceId,
) -> Result<()> {
    query(
        "INSERT INTO status_list_entries (agency_id, list_number, list_index, issuance_id, created_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .arg(agency_id)
    .arg(list_number)
    .arg(list_index)
    .arg(issuance_id)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(())
}

/// How many status lists the agency has handed positions on (0 before its first badge).
pub async fn status_lists_in_use(db: &mut impl Conn, agency_id: AgencyId) -> Result<i64> {
    query("SELECT COALESCE(MAX(list_number), 0) FROM status_list_entries WHERE agency_id = $1")
        .arg(agency_id)
        .scalar(db)
        .await
}

/// The set bits of one list: entries whose issuance is revoked or no longer exists.
pub async fn revoked_indexes(
    db: &mut impl Conn,
    agency_id: AgencyId,
    list_number: i64,
) -> Result<Vec<i64>> {
    query(
        "SELECT e.list_index FROM status_list_entries e
             LEFT JOIN issuances i ON i.id = e.issuance_id AND i.agency_id = e.agency_id
         WHERE e.agency_id = $1 AND e.list_number = $2 AND (i.id IS NULL OR i.revoked_at IS NOT NULL)
         ORDER BY e.list_index",
    )
    .arg(agency_id)
    .arg(list_number)
    .scalars(db)
    .await
}

/// One bit: `Some(true)` when the entry's issuance is revoked or gone, `Some(false)` when
/// it stands, `None` when no badge was given that index.
pub async fn status_bit(
    db: &mut impl Conn,
    agency_id: AgencyId,
    list_number: i64,
    list_index: i64,
) -> Result<Option<bool>> {
    query(
        "SELECT i.id IS NULL OR i.revoked_at IS NOT NULL FROM status_list_entries e
             LEFT JOIN issuances i ON i.id = e.issuance_id AND i.agency_id = e.agency_id
         WHERE e.agency_id = $1 AND e.list_number = $2 AND e.list_index = $3",
    )
    .arg(agency_id)
    .arg(list_number)
    .arg(list_index)
    .scalar_optional(db)
    .await
}

/// What a badge says about an issuance: its dates and number, the credential type (the
/// achievement) and the holder.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BadgeFacts {
    pub issuance_id: IssuanceId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub credential_type_id: CredentialTypeId,
    pub type_code: String,
    pub type_name: String,
    pub type_description: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
}

pub async fn badge_facts(
    db: &mut impl Conn,
    agency_id: AgencyId,
    issuance_id: IssuanceId,
) -> Result<Option<BadgeFacts>> {
    query(
        "SELECT i.id AS issuance_id, i.issue_date, i.expiration_date, i.credential_number, i.revoked_at,
             t.id AS credential_type_id, t.code AS type_code, t.name AS type_name, t.description AS type_description,
             m.first_name, m.last_name, m.email
         FROM issuances i
             JOIN credentials c ON c.id = i.credential_id AND c.agency_id = i.agency_id
             JOIN credential_types t ON t.id = i.credential_type_id AND t.agency_id = i.agency_id
             JOIN members m ON m.id = c.member_id AND m.agency_id = i.agency_id
         WHERE i.agency_id = $1 AND i.id = $2",
    )
    .arg(agency_id)
    .arg(issuance_id)
    .fetch_optional(db)
    .await
}
