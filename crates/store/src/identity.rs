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
