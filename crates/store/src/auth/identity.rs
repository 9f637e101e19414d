//! Agencies, logins (users) and API tokens.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, MemberId, TokenId, UserId};

use credence_domain::validation::fold_email;

use crate::{now, query, Conn, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Agency {
    pub id: AgencyId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub expiring_soon_days: i64,
    pub created_at: DateTime<Utc>,
}

const AGENCY_COLUMNS: &str = "id, slug, name, time_zone, expiring_soon_days, created_at";

pub async fn insert_agency(
    tx: &mut Tx,
    slug: &str,
    name: &str,
    time_zone: &str,
) -> Result<AgencyId> {
    // The thresholds are written out: the column's default is older text (see migration 0020).
    let offsets =
        credence_domain::reminders::format_offsets(&credence_domain::reminders::DEFAULT_OFFSETS);
    query("INSERT INTO agencies (slug, name, time_zone, reminder_offsets, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id").arg(slug).arg(name).arg(time_zone).arg(offsets).arg(now())
        .scalar(tx).await
}

pub async fn agency_by_slug(db: &mut impl Conn, slug: &str) -> Result<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE slug = $1");
    query(&sql).arg(slug).fetch_optional(db).await
}

pub async fn agency_by_id(db: &mut impl Conn, id: AgencyId) -> Result<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE id = $1");
    query(&sql).arg(id).fetch_optional(db).await
}

pub async fn all_agencies(db: &mut impl Conn) -> Result<Vec<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies ORDER BY id");
    query(&sql).fetch_all(db).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub agency_id: AgencyId,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub member_id: Option<MemberId>,
    /// The login and, for a member login, its member are both active.
    pub active: bool,
}

pub struct NewUser<'a> {
    pub agency_id: AgencyId,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub member_id: Option<MemberId>,
}

/// Inserts a login; its e-mail is stored as given and compared folded
/// ([`credence_domain::validation::fold_email`]), so another login whose address differs only
/// in case violates `users_email_folded_key`. An empty `password_hash` is a login that has
/// no password yet (invited): no password matches it.
pub async fn insert_user(tx: &mut Tx, user: &NewUser<'_>) -> Result<UserId> {
    query(
        "INSERT INTO users (agency_id, email, email_folded, password_hash, role, member_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .arg(user.agency_id)
    .arg(user.email.trim())
    .arg(fold_email(user.email))
    .arg(user.password_hash)
    .arg(user.role)
    .arg(user.member_id)
    .arg(now())
    .scalar(tx)
    .await
}

/// The login with this e-mail, whatever its case.
pub async fn user_by_email(db: &mut impl Conn, email: &str) -> Result<Option<User>> {
    let sql = format!("{USER_SELECT} WHERE u.email_folded = $1");
    query(&sql).arg(fold_email(email)).fetch_optional(db).await
}

pub async fn user_by_id(db: &mut impl Conn, id: UserId) -> Result<Option<User>> {
    let sql = format!("{USER_SELECT} WHERE u.id = $1");
    query(&sql).arg(id).fetch_optional(db).await
}

const USER_SELECT: &str = "SELECT u.id, u.agency_id, u.email, u.password_hash, u.role, u.member_id,
        u.active AND COALESCE(m.active, TRUE) AS active
    FROM users u LEFT JOIN members m ON m.id = u.member_id";

/// Notes a successful sign-in of the login.
pub async fn note_sign_in(tx: &mut Tx, user_id: UserId) -> Result<()> {
    query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .arg(now())
        .arg(user_id)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn set_password(tx: &mut Tx, user_id: UserId, password_hash: &str) -> Result<()> {
    query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .arg(password_hash)
        .arg(user_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// The facts a request's bearer token resolves to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenGrant {
    pub id: TokenId,
    pub agency_id: AgencyId,
    pub role: String,
    pub member_id: Option<MemberId>,
    pub last_used_at: Option<DateTime<Utc>>,
}

pub struct NewToken<'a> {
    pub agency_id: AgencyId,
    pub token_hash: &'a str,
    pub role: &'a str,
    pub member_id: Option<MemberId>,
    pub label: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert_token(tx: &mut Tx, token: &NewToken<'_>) -> Result<TokenId> {
    query(
        "INSERT INTO api_tokens (agency_id, token_hash, role, member_id, label, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .arg(token.agency_id)
    .arg(token.token_hash)
    .arg(token.role)
    .arg(token.member_id)
    .arg(token.label)
    .arg(token.expires_at)
    .arg(now())
    .scalar(tx)
    .await
}

/// The live token with this hash: not revoked, not expired, and, when it speaks for a
/// member, that member still active.
pub async fn token_by_hash(db: &mut impl Conn, token_hash: &str) -> Result<Option<TokenGrant>> {
    query(
        "SELECT t.id, t.agency_id, t.role, t.member_id, t.last_used_at
         FROM api_tokens t LEFT JOIN members m ON m.id = t.member_id
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)
           AND COALESCE(m.active, TRUE) = TRUE",
    )
    .arg(token_hash)
    .arg(now())
    .fetch_optional(db)
    .await
}

/// Notes that a token was used now.
pub async fn touch_token(tx: &mut Tx, id: TokenId) -> Result<()> {
    query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .arg(now())
        .arg(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// An API token as administrators see it (never its secret).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: TokenId,
    pub label: Option<String>,
    pub role: String,
    pub member_id: Option<MemberId>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// The agency's tokens that are not revoked (expired ones included, so they can be seen and
/// cleaned up), newest first, before `before` when given.
pub async fn tokens_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<TokenRow>> {
    query(
        "SELECT id, label, role, member_id, created_at, last_used_at, expires_at FROM api_tokens
         WHERE agency_id = $1 AND revoked_at IS NULL AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .arg(agency_id)
    .arg(before.unwrap_or(i64::MAX))
    .arg(limit)
    .fetch_all(db)
    .await
}

/// Revokes one token of the agency; false when there is no such live token.
pub async fn revoke_token(tx: &mut Tx, agency_id: AgencyId, id: TokenId) -> Result<bool> {
    let changed = query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE agency_id = $2 AND id = $3 AND revoked_at IS NULL",
    )
    .arg(now())
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(changed == 1)
}

/// Ends every way a member signs in or calls the API: their tokens are revoked and the web
/// sessions of logins linked to them end. Returns (tokens revoked, sessions ended).
pub async fn end_member_access(
    tx: &mut Tx,
    agency_id: AgencyId,
    member_id: MemberId,
) -> Result<(u64, u64)> {
    let tokens = query(
        "UPDATE api_tokens SET revoked_at = $1 WHERE agency_id = $2 AND member_id = $3 AND revoked_at IS NULL",
    )
    .arg(now())
    .arg(agency_id)
    .arg(member_id)
    .execute(tx)
    .await?;
    let sessions = query(
        "DELETE FROM sessions WHERE agency_id = $1
         AND user_id IN (SELECT id FROM users WHERE agency_id = $1 AND member_id = $2)",
    )
    .arg(agency_id)
    .arg(member_id)
    .execute(tx)
    .await?;
    Ok((tokens, sessions))
}

/// A live web session and the login behind it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionGrant {
    pub agency_id: AgencyId,
    pub user_id: UserId,
    pub email: String,
    pub role: String,
    pub member_id: Option<MemberId>,
    pub csrf_token: String,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn insert_session(
    tx: &mut Tx,
    id_hash: &str,
    user: &User,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    let now = now();
    query("INSERT INTO sessions (id, agency_id, user_id, csrf_token, expires_at, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6)").arg(id_hash).arg(user.agency_id).arg(user.id).arg(csrf_token).arg(expires_at).arg(now)
        .execute(tx).await?;
    Ok(())
}

/// The session with this id hash, if it has not expired, was used after `idle_since`, and
/// its login (and the login's member) is active.
pub async fn session(
    db: &mut impl Conn,
    id_hash: &str,
    idle_since: DateTime<Utc>,
) -> Result<Option<SessionGrant>> {
    query(
        "SELECT s.agency_id, s.user_id, u.email, u.role, u.member_id, s.csrf_token,
                COALESCE(s.last_seen_at, s.created_at) AS last_seen_at
         FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN members m ON m.id = u.member_id
         WHERE s.id = $1 AND s.expires_at > $2 AND COALESCE(s.last_seen_at, s.created_at) > $3
           AND u.active = TRUE AND COALESCE(m.active, TRUE) = TRUE",
    )
    .arg(id_hash)
    .arg(now())
    .arg(idle_since)
    .fetch_optional(db)
    .await
}

/// Records that the session was used at `at` (keeps it from going idle).
pub async fn touch_session(tx: &mut Tx, id_hash: &str, at: DateTime<Utc>) -> Result<()> {
    query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
        .arg(id_hash)
        .arg(at)
        .execute(tx)
        .await?;
    Ok(())
}

pub async fn delete_session(tx: &mut Tx, id_hash: &str) -> Result<()> {
    query("DELETE FROM sessions WHERE id = $1 OR expires_at < $2")
        .arg(id_hash)
        .arg(now())
        .execute(tx)
        .await?;
    Ok(())
}

/// Recent sign-in attempts that failed or are still being checked, as the throttle counts
/// them (`credence_domain::sign_in`).
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct RecentAttempts {
    pub pair: i64,
    pub pair_last: Option<DateTime<Utc>>,
    pub address: i64,
    pub account: i64,
}

/// Serialises sign-in attempts for one e-mail, then for one address, until the transaction
/// ends (PostgreSQL; SQLite's write transaction already excludes every other writer), so
/// counting and recording an attempt are one step. The e-mail lock is always taken first, so
/// two attempts cannot wait on each other.
pub async fn lock_sign_in(tx: &mut Tx, email: &str, address: &str) -> Result<()> {
    if tx.backend() == crate::Backend::Postgres {
        for key in [format!("sign-in e:{email}"), format!("sign-in a:{address}")] {
            query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .arg(key)
                .execute(tx)
                .await?;
        }
    }
    Ok(())
}

/// Failed and unresolved attempts since `since`: for `email` from `address`, from `address`,
/// and for `email`.
pub async fn recent_attempts(
    db: &mut impl Conn,
    email: &str,
    address: &str,
    since: DateTime<Utc>,
) -> Result<RecentAttempts> {
    query(
        "SELECT
             (SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND address = $2 AND at > $3 AND succeeded = FALSE) AS pair,
             (SELECT MAX(at) FROM login_attempts WHERE email = $1 AND address = $2 AND at > $3 AND succeeded = FALSE) AS pair_last,
             (SELECT COUNT(*) FROM login_attempts WHERE address = $2 AND at > $3 AND succeeded = FALSE) AS address,
             (SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND at > $3 AND succeeded = FALSE) AS account",
    )
    .arg(email)
    .arg(address)
    .arg(since)
    .fetch_one(db)
    .await
}

/// Records an attempt as failed until [`resolve_login_attempt`] says otherwise; its id.
pub async fn start_login_attempt(tx: &mut Tx, email: &str, address: &str) -> Result<i64> {
    query("INSERT INTO login_attempts (email, address, at, succeeded) VALUES ($1, $2, $3, FALSE) RETURNING id")
        .arg(email)
        .arg(address)
        .arg(now())
        .scalar(tx)
        .await
}

pub async fn resolve_login_attempt(tx: &mut Tx, id: i64, succeeded: bool) -> Result<()> {
    query("UPDATE login_attempts SET succeeded = $1 WHERE id = $2")
        .arg(succeeded)
        .arg(id)
        .execute(tx)
        .await?;
    Ok(())
}
