//! Agencies, logins (users) and API tokens.

use chrono::{DateTime, Utc};

use crate::{db, now, on_conn, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Agency {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub expiring_soon_days: i64,
    pub created_at: DateTime<Utc>,
}

const AGENCY_COLUMNS: &str = "id, slug, name, time_zone, expiring_soon_days, created_at";

pub async fn insert_agency(tx: &mut Tx, slug: &str, name: &str, time_zone: &str) -> Result<i64> {
    on_conn!(tx, c => sqlx::query_scalar(
        "INSERT INTO agencies (slug, name, time_zone, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
        .bind(slug).bind(name).bind(time_zone).bind(now())
        .fetch_one(c).await).map_err(db)
}

pub async fn agency_by_slug(tx: &mut Tx, slug: &str) -> Result<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE slug = $1");
    on_conn!(tx, c => sqlx::query_as(&sql).bind(slug).fetch_optional(c).await).map_err(db)
}

pub async fn agency_by_id(tx: &mut Tx, id: i64) -> Result<Option<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE id = $1");
    on_conn!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await).map_err(db)
}

pub async fn all_agencies(tx: &mut Tx) -> Result<Vec<Agency>> {
    let sql = format!("SELECT {AGENCY_COLUMNS} FROM agencies ORDER BY id");
    on_conn!(tx, c => sqlx::query_as(&sql).fetch_all(c).await).map_err(db)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub agency_id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub member_id: Option<i64>,
    pub active: bool,
}

pub struct NewUser<'a> {
    pub agency_id: i64,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub member_id: Option<i64>,
}

pub async fn insert_user(tx: &mut Tx, user: &NewUser<'_>) -> Result<i64> {
    on_conn!(tx, c => sqlx::query_scalar(
        "INSERT INTO users (agency_id, email, password_hash, role, member_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(user.agency_id).bind(user.email).bind(user.password_hash).bind(user.role)
        .bind(user.member_id).bind(now())
        .fetch_one(c).await)
    .map_err(db)
}

pub async fn user_by_email(tx: &mut Tx, email: &str) -> Result<Option<User>> {
    on_conn!(tx, c => sqlx::query_as(
        "SELECT id, agency_id, email, password_hash, role, member_id, active FROM users WHERE email = $1")
        .bind(email).fetch_optional(c).await).map_err(db)
}

pub async fn set_password(tx: &mut Tx, user_id: i64, password_hash: &str) -> Result<()> {
    on_conn!(tx, c => sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash).bind(user_id).execute(c).await.map(|r| r.rows_affected()))
    .map_err(db)?;
    Ok(())
}

/// The facts a request's bearer token resolves to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenGrant {
    pub id: i64,
    pub agency_id: i64,
    pub role: String,
    pub member_id: Option<i64>,
}

pub struct NewToken<'a> {
    pub agency_id: i64,
    pub token_hash: &'a str,
    pub role: &'a str,
    pub member_id: Option<i64>,
    pub label: Option<&'a str>,
}

pub async fn insert_token(tx: &mut Tx, token: &NewToken<'_>) -> Result<i64> {
    on_conn!(tx, c => sqlx::query_scalar(
        "INSERT INTO api_tokens (agency_id, token_hash, role, member_id, label, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(token.agency_id).bind(token.token_hash).bind(token.role).bind(token.member_id)
        .bind(token.label).bind(now())
        .fetch_one(c).await)
    .map_err(db)
}

pub async fn token_by_hash(tx: &mut Tx, token_hash: &str) -> Result<Option<TokenGrant>> {
    on_conn!(tx, c => sqlx::query_as(
        "SELECT id, agency_id, role, member_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
        .bind(token_hash).fetch_optional(c).await).map_err(db)
}

/// A live web session and the login behind it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionGrant {
    pub agency_id: i64,
    pub user_id: i64,
    pub email: String,
    pub role: String,
    pub member_id: Option<i64>,
    pub csrf_token: String,
}

pub async fn insert_session(
    tx: &mut Tx,
    id_hash: &str,
    user: &User,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    on_conn!(tx, c => sqlx::query(
        "INSERT INTO sessions (id, agency_id, user_id, csrf_token, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id_hash).bind(user.agency_id).bind(user.id).bind(csrf_token).bind(expires_at).bind(now())
        .execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    Ok(())
}

/// The session with this id hash, if it has not expired and its login is active.
pub async fn session(tx: &mut Tx, id_hash: &str) -> Result<Option<SessionGrant>> {
    on_conn!(tx, c => sqlx::query_as(
        "SELECT s.agency_id, s.user_id, u.email, u.role, u.member_id, s.csrf_token
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.expires_at > $2 AND u.active = TRUE")
        .bind(id_hash).bind(now()).fetch_optional(c).await)
    .map_err(db)
}

pub async fn delete_session(tx: &mut Tx, id_hash: &str) -> Result<()> {
    on_conn!(tx, c => sqlx::query("DELETE FROM sessions WHERE id = $1 OR expires_at < $2")
        .bind(id_hash).bind(now()).execute(c).await.map(|r| r.rows_affected()))
    .map_err(db)?;
    Ok(())
}

pub async fn record_login_attempt(tx: &mut Tx, email: &str, succeeded: bool) -> Result<()> {
    on_conn!(tx, c => sqlx::query("INSERT INTO login_attempts (email, at, succeeded) VALUES ($1, $2, $3)")
        .bind(email).bind(now()).bind(succeeded).execute(c).await.map(|r| r.rows_affected())).map_err(db)?;
    Ok(())
}

/// Failed attempts for `email` since `since`.
pub async fn failed_logins_since(tx: &mut Tx, email: &str, since: DateTime<Utc>) -> Result<i64> {
    on_conn!(tx, c => sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND at > $2 AND succeeded = FALSE")
        .bind(email).bind(since).fetch_one(c).await).map_err(db)
}
