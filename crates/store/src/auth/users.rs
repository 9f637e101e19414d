//! Logins as administrators manage them: the list, role and active changes, and ending a
//! login's access.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, MemberId, UserId};

use crate::{now, query, Backend, Conn, Result, Tx};

/// A login as the users page and API show it (never its password hash).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub email_folded: String,
    pub role: String,
    pub member_id: Option<MemberId>,
    pub member_name: Option<String>,
    /// The login's own flag (a login of a deactivated member cannot sign in either way).
    pub active: bool,
    /// False for an invited login whose password was never set.
    pub password_set: bool,
    pub created_at: DateTime<Utc>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "u.id, u.email, u.email_folded, u.role, u.member_id,
    CASE WHEN m.id IS NULL THEN NULL ELSE m.first_name || ' ' || m.last_name END AS member_name,
    u.active, u.password_hash <> '' AS password_set, u.created_at, u.last_sign_in_at
    FROM users u LEFT JOIN members m ON m.id = u.member_id";

/// The agency's logins ordered by e-mail (folded), after `after` when given.
pub async fn users_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after: Option<&(String, i64)>,
    limit: i64,
) -> Result<Vec<UserRow>> {
    let (email, id) = after.cloned().unwrap_or_default();
    let sql = format!(
        "SELECT {COLUMNS}
         WHERE u.agency_id = $1 AND (u.email_folded > $2 OR (u.email_folded = $2 AND u.id > $3))
         ORDER BY u.email_folded, u.id LIMIT $4"
    );
    query(&sql)
        .arg(agency_id)
        .arg(email)
        .arg(id)
        .arg(limit)
        .fetch_all(db)
        .await
}

pub async fn user(db: &mut impl Conn, agency_id: AgencyId, id: UserId) -> Result<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} WHERE u.agency_id = $1 AND u.id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Serialises changes to the agency's logins until the transaction ends, so two admins
/// demoting each other at once cannot leave the agency without one (PostgreSQL; SQLite's
/// single writer already serialises them).
pub async fn lock_agency_users(tx: &mut Tx, agency_id: AgencyId) -> Result<()> {
    if tx.backend() == Backend::Postgres {
        query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .arg(format!("users:{}", agency_id.get()))
            .execute(tx)
            .await?;
    }
    Ok(())
}

pub async fn update_user(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: UserId,
    role: &str,
    active: bool,
) -> Result<()> {
    query("UPDATE users SET role = $1, active = $2 WHERE agency_id = $3 AND id = $4")
        .arg(role)
        .arg(active)
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Admin logins of the agency that can sign in: active, and their member (if any) active.
pub async fn active_admins(db: &mut impl Conn, agency_id: AgencyId) -> Result<i64> {
    query(
        "SELECT COUNT(*) FROM users u LEFT JOIN members m ON m.id = u.member_id
         WHERE u.agency_id = $1 AND u.role = 'admin' AND u.active = TRUE AND COALESCE(m.active, TRUE) = TRUE",
    )
    .arg(agency_id)
    .scalar(db)
    .await
}

/// Ends every way a deactivated login gets in: its web sessions, its unused one-time links
/// and the API tokens that speak for its member (tokens belong to a member, not a login).
/// Returns (sessions ended, tokens revoked).
pub async fn end_user_access(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: UserId,
    member_id: Option<MemberId>,
) -> Result<(u64, u64)> {
    let at = now();
    let sessions = query("DELETE FROM sessions WHERE agency_id = $1 AND user_id = $2")
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    crate::auth::links::spend_links_of(tx, agency_id, id).await?;
    let tokens = match member_id {
        Some(m) => {
            query(
                "UPDATE api_tokens SET revoked_at = $1
                 WHERE agency_id = $2 AND member_id = $3 AND revoked_at IS NULL",
            )
            .arg(at)
            .arg(agency_id)
            .arg(m)
            .execute(tx)
            .await?
        }
        None => 0,
    };
    Ok((sessions, tokens))
}

/// Ends the login's web sessions except the one whose id hash is `keep` (after a password
/// change, the person who changed it stays signed in; everyone else holding a session is out).
pub async fn end_other_sessions(tx: &mut Tx, id: UserId, keep: Option<&str>) -> Result<u64> {
    query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .arg(id)
        .arg(keep.unwrap_or(""))
        .execute(tx)
        .await
}
