//! Qualifications: a named rule over credential types, and the types each names in order.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, CredentialTypeId, QualificationId};
use credence_domain::qualification::Rule;
use credence_domain::TypeState;

use crate::stored::Stored;
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Qualification {
    pub id: QualificationId,
    pub name: String,
    pub rule: Stored<Rule>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, name, rule, version, created_at, updated_at";

pub async fn insert_qualification(
    tx: &mut Tx,
    agency_id: AgencyId,
    name: &str,
    rule: Rule,
) -> Result<Qualification> {
    let sql = format!(
        "INSERT INTO qualifications (agency_id, name, rule, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $4) RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(name)
        .arg(rule.as_str())
        .arg(now())
        .fetch_one(tx)
        .await
}

/// `None` when the row is gone or its version is not `version`.
pub async fn update_qualification(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: QualificationId,
    version: i64,
    name: &str,
    rule: Rule,
) -> Result<Option<Qualification>> {
    let sql = format!(
        "UPDATE qualifications SET name = $1, rule = $2, version = version + 1, updated_at = $3
         WHERE agency_id = $4 AND id = $5 AND version = $6 RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(name)
        .arg(rule.as_str())
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await
}

/// Deletes the qualification and its types; `false` when it was not there.
pub async fn delete_qualification(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: QualificationId,
) -> Result<bool> {
    query("DELETE FROM qualification_types WHERE agency_id = $1 AND qualification_id = $2")
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    let n = query("DELETE FROM qualifications WHERE agency_id = $1 AND id = $2")
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    Ok(n > 0)
}

pub async fn qualification(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: QualificationId,
) -> Result<Option<Qualification>> {
    let sql = format!("SELECT {COLUMNS} FROM qualifications WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// A page of the agency's qualifications by id.
pub async fn qualifications_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Qualification>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM qualifications WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    query(&sql)
        .arg(agency_id)
        .arg(after_id.unwrap_or(0))
        .arg(limit)
        .fetch_all(db)
        .await
}

/// `(qualification_id, credential_type_id)` of the given qualifications, each in its order.
pub async fn types_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[QualificationId],
) -> Result<Vec<(QualificationId, CredentialTypeId)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT qualification_id, credential_type_id FROM qualification_types WHERE agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND qualification_id IN ")
        .bind_json_ids(db.backend(), ids);
    q.push(" ORDER BY qualification_id, position");
    q.fetch_all(db).await
}

/// Replaces the qualification's types with `types`, in that order.
pub async fn replace_types(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: QualificationId,
    types: &[CredentialTypeId],
) -> Result<()> {
    query("DELETE FROM qualification_types WHERE agency_id = $1 AND qualification_id = $2")
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    if types.is_empty() {
        return Ok(());
    }
    let mut q = Query::new(
        "INSERT INTO qualification_types (agency_id, qualification_id, credential_type_id, position) VALUES ",
    );
    for (position, ty) in types.iter().enumerate() {
        if position > 0 {
            q.push(", ");
        }
        q.push("(");
        q.bind(agency_id)
            .push(", ")
            .bind(id)
            .push(", ")
            .bind(*ty)
            .push(", ")
            .bind(position as i64)
            .push(")");
    }
    q.execute(tx).await?;
    Ok(())
}

/// A credential type a qualification may name, with its name and state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TypeRef {
    pub id: CredentialTypeId,
    pub name: String,
    pub state: Stored<TypeState>,
}

/// Of `ids`, the agency's credential types (any state).
pub async fn type_refs(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialTypeId],
) -> Result<Vec<TypeRef>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("SELECT id, name, state FROM credential_types WHERE +agency_id = ");
    q.bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(db.backend(), ids);
    q.fetch_all(db).await
}
