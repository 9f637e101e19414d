//! A login's second factor: its TOTP secret and last accepted step, its recovery codes, and
//! the sign-in step between a correct password and a session (a challenge).

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, UserId};

use crate::{now, query, Conn, Result, Tx};

/// A login's enrolled authenticator.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpSecret {
    /// Base32.
    pub secret: String,
    pub last_step: i64,
    pub created_at: DateTime<Utc>,
}

pub async fn totp_secret(
    db: &mut impl Conn,
    agency_id: AgencyId,
    user_id: UserId,
) -> Result<Option<TotpSecret>> {
    query(
        "SELECT secret, last_step, created_at FROM totp_secrets WHERE agency_id = $1 AND user_id = $2",
    )
    .arg(agency_id)
    .arg(user_id)
    .fetch_optional(db)
    .await
}

/// Stores the login's authenticator, replacing any earlier one.
pub async fn set_totp_secret(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    secret: &str,
    last_step: i64,
) -> Result<()> {
    remove_totp(tx, agency_id, user_id).await?;
    query(
        "INSERT INTO totp_secrets (agency_id, user_id, secret, last_step, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .arg(agency_id)
    .arg(user_id)
    .arg(secret)
    .arg(last_step)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(())
}

/// Spends the code of `step`: true when `step` is later than the last accepted one. The
/// condition is on the updated row, so of two uses of one code at once only one passes.
pub async fn spend_step(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    step: i64,
) -> Result<bool> {
    let changed = query(
        "UPDATE totp_secrets SET last_step = $3 WHERE agency_id = $1 AND user_id = $2 AND last_step < $3",
    )
    .arg(agency_id)
    .arg(user_id)
    .arg(step)
    .execute(tx)
    .await?;
    Ok(changed == 1)
}

/// Removes the login's authenticator and recovery codes.
pub async fn remove_totp(tx: &mut Tx, agency_id: AgencyId, user_id: UserId) -> Result<()> {
    for sql in [
        "DELETE FROM totp_secrets WHERE agency_id = $1 AND user_id = $2",
        "DELETE FROM recovery_codes WHERE agency_id = $1 AND user_id = $2",
    ] {
        query(sql).arg(agency_id).arg(user_id).execute(tx).await?;
    }
    Ok(())
}

/// Replaces the login's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    hashes: &[String],
) -> Result<()> {
    query("DELETE FROM recovery_codes WHERE agency_id = $1 AND user_id = $2")
        .arg(agency_id)
        .arg(user_id)
        .execute(tx)
        .await?;
    let mut insert =
        query("INSERT INTO recovery_codes (agency_id, user_id, code_hash, created_at) VALUES ");
    let at = now();
    for (i, hash) in hashes.iter().enumerate() {
        if i > 0 {
            insert.push(", ");
        }
        insert.push("(");
        insert.bind(agency_id).push(", ").bind(user_id).push(", ");
        insert.bind(hash.as_str()).push(", ").bind(at).push(")");
    }
    if !hashes.is_empty() {
        insert.execute(tx).await?;
    }
    Ok(())
}

/// Spends the unused recovery code with this hash; false when there is none.
pub async fn spend_recovery_code(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
    code_hash: &str,
) -> Result<bool> {
    let changed = query(
        "UPDATE recovery_codes SET used_at = $4
         WHERE agency_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .arg(agency_id)
    .arg(user_id)
    .arg(code_hash)
    .arg(now())
    .execute(tx)
    .await?;
    Ok(changed == 1)
}

/// How many of the login's recovery codes are unused.
pub async fn recovery_codes_left(
    db: &mut impl Conn,
    agency_id: AgencyId,
    user_id: UserId,
) -> Result<i64> {
    query(
        "SELECT COUNT(*) FROM recovery_codes WHERE agency_id = $1 AND user_id = $2 AND used_at IS NULL",
    )
    .arg(agency_id)
    .arg(user_id)
    .scalar(db)
    .await
}

/// The agency's logins that have an authenticator.
pub async fn logins_with_totp(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<UserId>> {
    query("SELECT user_id FROM totp_secrets WHERE agency_id = $1")
        .arg(agency_id)
        .scalars(db)
        .await
}

/// Ends the login's sign-in challenges.
pub async fn delete_challenges_of(
    tx: &mut Tx,
    agency_id: AgencyId,
    user_id: UserId,
) -> Result<u64> {
    query("DELETE FROM sign_in_challenges WHERE agency_id = $1 AND user_id = $2")
        .arg(agency_id)
        .arg(user_id)
        .execute(tx)
        .await
}

/// Whether the agency requires admins to sign in with a second factor.
pub async fn admins_need_two_factor(db: &mut impl Conn, agency_id: AgencyId) -> Result<bool> {
    query("SELECT require_admin_two_factor FROM agencies WHERE id = $1")
        .arg(agency_id)
        .scalar(db)
        .await
}

/// A live sign-in challenge and its login.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Challenge {
    pub agency_id: AgencyId,
    pub user_id: UserId,
    pub email: String,
    pub purpose: String,
    pub csrf_token: String,
}

/// Stores a challenge; the login's earlier ones (and anyone's expired ones) are dropped.
pub async fn insert_challenge(
    tx: &mut Tx,
    id_hash: &str,
    agency_id: AgencyId,
    user_id: UserId,
    purpose: &str,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let at = now();
    query(
        "DELETE FROM sign_in_challenges WHERE (agency_id = $1 AND user_id = $2) OR expires_at < $3",
    )
    .arg(agency_id)
    .arg(user_id)
    .arg(at)
    .execute(tx)
    .await?;
    query(
        "INSERT INTO sign_in_challenges (id, agency_id, user_id, purpose, csrf_token, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .arg(id_hash)
    .arg(agency_id)
    .arg(user_id)
    .arg(purpose)
    .arg(csrf_token)
    .arg(expires_at)
    .arg(at)
    .execute(tx)
    .await?;
    Ok(())
}

/// The unexpired challenge with this id hash whose login (and its member) is active.
pub async fn challenge(db: &mut impl Conn, id_hash: &str) -> Result<Option<Challenge>> {
    query(
        "SELECT c.agency_id, c.user_id, u.email, c.purpose, c.csrf_token
         FROM sign_in_challenges c JOIN users u ON u.id = c.user_id LEFT JOIN members m ON m.id = u.member_id
         WHERE c.id = $1 AND c.expires_at > $2 AND u.active = TRUE AND COALESCE(m.active, TRUE) = TRUE",
    )
    .arg(id_hash)
    .arg(now())
    .fetch_optional(db)
    .await
}

/// Ends a challenge; true when it was still there (so two answers at once make one session).
pub async fn delete_challenge(tx: &mut Tx, id_hash: &str) -> Result<bool> {
    let changed = query("DELETE FROM sign_in_challenges WHERE id = $1")
        .arg(id_hash)
        .execute(tx)
        .await?;
    Ok(changed == 1)
}
