//! One-time links sent by e-mail (invitations, password resets). Only the SHA-256 of a link's
//! secret is stored; spending a link is one conditional UPDATE, so two uses at once cannot
//! both succeed.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, UserId};

use crate::{now, query, Conn, Result, Tx};

/// What a live link is for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkGrant {
    pub agency_id: AgencyId,
    pub user_id: UserId,
    pub email: String,
}

/// Stores a new link for the login, spending its earlier unused ones (only the newest link
/// sent works). Returns the link's row number.
pub async fn insert_link(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    purpose: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
) -> Result<i64> {
    spend_links_of(tx, agency_id, user_id).await?;
    query(
        "INSERT INTO one_time_links (agency_id, user_id, purpose, token_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .arg(agency_id)
    .arg(user_id)
    .arg(purpose)
    .arg(token_hash)
    .arg(expires_at)
    .arg(now())
    .scalar(tx)
    .await
}

/// A link is live when it is unspent, unexpired, and its login and the login's member (if
/// any) are active.
const LIVE: &str =
    "l.token_hash = $1 AND l.purpose = $2 AND l.spent_at IS NULL AND l.expires_at > $3
    AND u.active = TRUE AND COALESCE(m.active, TRUE) = TRUE";

/// The login a live link with this hash and purpose is for.
pub async fn live_link(
    db: &mut impl Conn,
    token_hash: &str,
    purpose: &str,
) -> Result<Option<LinkGrant>> {
    let sql = format!(
        "SELECT l.agency_id, l.user_id, u.email
         FROM one_time_links l JOIN users u ON u.id = l.user_id LEFT JOIN members m ON m.id = u.member_id
         WHERE {LIVE}"
    );
    query(&sql)
        .arg(token_hash)
        .arg(purpose)
        .arg(now())
        .fetch_optional(db)
        .await
}

/// Spends the live link with this hash and purpose; `None` when there is none (unknown,
/// expired, already used, or its login deactivated).
pub async fn spend_link(tx: &mut Tx, token_hash: &str, purpose: &str) -> Result<Option<LinkGrant>> {
    // The conditions on the link itself are on the updated row, so PostgreSQL rechecks them
    // after waiting for a concurrent use: the second of two parallel uses updates nothing.
    let at = now();
    let sql = "UPDATE one_time_links SET spent_at = $3
         WHERE token_hash = $1 AND purpose = $2 AND spent_at IS NULL AND expires_at > $3
           AND user_id IN (SELECT u.id FROM users u LEFT JOIN members m ON m.id = u.member_id
                           WHERE u.active = TRUE AND COALESCE(m.active, TRUE) = TRUE)";
    let spent = query(sql)
        .arg(token_hash)
        .arg(purpose)
        .arg(at)
        .execute(tx)
        .await?;
    if spent != 1 {
        return Ok(None);
    }
    query(
        "SELECT l.agency_id, l.user_id, u.email
         FROM one_time_links l JOIN users u ON u.id = l.user_id
         WHERE l.token_hash = $1 AND l.purpose = $2",
    )
    .arg(token_hash)
    .arg(purpose)
    .fetch_optional(tx)
    .await
}

/// Spends every unused link of the login.
pub async fn spend_links_of(tx: &mut Tx, agency_id: AgencyId, user_id: UserId) -> Result<u64> {
    query(
        "UPDATE one_time_links SET spent_at = $1
         WHERE agency_id = $2 AND user_id = $3 AND spent_at IS NULL",
    )
    .arg(now())
    .arg(agency_id)
    .arg(user_id)
    .execute(tx)
    .await
}
