//! OpenID Connect sign-in: an agency's provider, and the sign-ins under way (between leaving
//! for the provider and coming back).

use chrono::{DateTime, Utc};
use credence_domain::ids::AgencyId;

use crate::{now, query, Conn, Result, Tx};

/// An agency's identity provider as stored (the secret sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRow {
    pub agency_id: AgencyId,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub sealed_client_secret: String,
    pub create_accounts: bool,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

const PROVIDER_SELECT: &str = "SELECT agency_id, name, issuer, client_id, sealed_client_secret, create_accounts, version, updated_at FROM oidc_providers";

pub async fn provider(db: &mut impl Conn, agency_id: AgencyId) -> Result<Option<ProviderRow>> {
    query(format!("{PROVIDER_SELECT} WHERE agency_id = $1"))
        .arg(agency_id)
        .fetch_optional(db)
        .await
}

/// What an admin saves: everything but the version and time.
pub struct NewProvider<'a> {
    pub name: &'a str,
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub sealed_client_secret: &'a str,
    pub create_accounts: bool,
}

/// Saves the agency's provider, replacing the one before (its version goes up by one).
pub async fn save_provider(tx: &mut Tx, agency_id: AgencyId, p: &NewProvider<'_>) -> Result<()> {
    query(
        "INSERT INTO oidc_providers (agency_id, name, issuer, client_id, sealed_client_secret, create_accounts, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (agency_id) DO UPDATE SET name = excluded.name, issuer = excluded.issuer,
             client_id = excluded.client_id, sealed_client_secret = excluded.sealed_client_secret,
             create_accounts = excluded.create_accounts, version = oidc_providers.version + 1,
             updated_at = excluded.updated_at",
    )
    .arg(agency_id)
    .arg(p.name)
    .arg(p.issuer)
    .arg(p.client_id)
    .arg(p.sealed_client_secret)
    .arg(p.create_accounts)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(())
}

/// Removes the agency's provider and its sign-ins under way; true when there was one.
pub async fn delete_provider(tx: &mut Tx, agency_id: AgencyId) -> Result<bool> {
    query("DELETE FROM oidc_sign_ins WHERE agency_id = $1")
        .arg(agency_id)
        .execute(tx)
        .await?;
    let deleted = query("DELETE FROM oidc_providers WHERE agency_id = $1")
        .arg(agency_id)
        .execute(tx)
        .await?;
    Ok(deleted == 1)
}

/// A sign-in under way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignInRow {
    pub agency_id: AgencyId,
    pub browser_hash: String,
    pub nonce: String,
    pub code_verifier: String,
    pub next_path: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewSignIn<'a> {
    pub agency_id: AgencyId,
    pub state_hash: &'a str,
    pub browser_hash: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub next_path: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

/// Records a sign-in under way, first clearing the agency's expired ones.
pub async fn insert_sign_in(tx: &mut Tx, s: &NewSignIn<'_>) -> Result<()> {
    query("DELETE FROM oidc_sign_ins WHERE agency_id = $1 AND expires_at < $2")
        .arg(s.agency_id)
        .arg(now())
        .execute(tx)
        .await?;
    query(
        "INSERT INTO oidc_sign_ins (agency_id, state_hash, browser_hash, nonce, code_verifier, next_path, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(s.agency_id)
    .arg(s.state_hash)
    .arg(s.browser_hash)
    .arg(s.nonce)
    .arg(s.code_verifier)
    .arg(s.next_path)
    .arg(s.expires_at)
    .execute(tx)
    .await?;
    Ok(())
}

/// Takes the sign-in of `state_hash` (deleting it, so a callback is answered once).
pub async fn take_sign_in(tx: &mut Tx, state_hash: &str) -> Result<Option<SignInRow>> {
    let row: Option<SignInRow> = query(
        "SELECT agency_id, browser_hash, nonce, code_verifier, next_path, expires_at
         FROM oidc_sign_ins WHERE state_hash = $1",
    )
    .arg(state_hash)
    .fetch_optional(tx)
    .await?;
    if let Some(r) = &row {
        let deleted = query("DELETE FROM oidc_sign_ins WHERE agency_id = $1 AND state_hash = $2")
            .arg(r.agency_id)
            .arg(state_hash)
            .execute(tx)
            .await?;
        // Two callbacks at once: only the one whose delete removed the row goes on.
        if deleted == 0 {
            return Ok(None);
        }
    }
    Ok(row)
}
