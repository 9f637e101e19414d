//! Groups (stations, shifts, ranks…) and who belongs to them.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, GroupId, MemberId};

use crate::query::execute_in_batches;
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub kind: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const GROUP_COLUMNS: &str = "id, name, kind, version, created_at, updated_at";

pub async fn insert_group(
    tx: &mut Tx,
    agency_id: AgencyId,
    name: &str,
    kind: &str,
) -> Result<Group> {
    let sql = format!(
        "INSERT INTO agency_groups (agency_id, name, kind, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {GROUP_COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(name)
        .arg(kind)
        .arg(now())
        .fetch_one(tx)
        .await
}

pub async fn update_group(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: GroupId,
    version: i64,
    name: &str,
    kind: &str,
) -> Result<Option<Group>> {
    let sql = format!(
        "UPDATE agency_groups SET name = $1, kind = $2, version = version + 1, updated_at = $3
         WHERE agency_id = $4 AND id = $5 AND version = $6 RETURNING {GROUP_COLUMNS}"
    );
    query(&sql)
        .arg(name)
        .arg(kind)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await
}

pub async fn group(db: &mut impl Conn, agency_id: AgencyId, id: GroupId) -> Result<Option<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM agency_groups WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

pub async fn groups_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Group>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM agency_groups WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3");
    query(&sql)
        .arg(agency_id)
        .arg(after_id.unwrap_or(0))
        .arg(limit)
        .fetch_all(db)
        .await
}

/// The agency's groups among `ids`, by name.
pub async fn groups_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[GroupId],
) -> Result<Vec<Group>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(format!(
        "SELECT {GROUP_COLUMNS} FROM agency_groups WHERE agency_id = "
    ));
    q.bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(db.backend(), ids)
        .push(" ORDER BY name, id");
    q.fetch_all(db).await
}

/// Of `ids`, those that are groups of the agency.
pub async fn existing_group_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[GroupId],
) -> Result<Vec<GroupId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("SELECT id FROM agency_groups WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(db.backend(), ids);
    q.scalars(db).await
}

pub async fn group_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
) -> Result<Vec<MemberId>> {
    query("SELECT member_id FROM group_memberships WHERE agency_id = $1 AND group_id = $2 ORDER BY member_id").arg(agency_id).arg(group_id)
        .scalars(db).await
}

/// Makes the group's members exactly `member_ids`, as two set-based statements; returns the
/// members that were added.
pub async fn replace_group_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    group_id: GroupId,
    member_ids: &[MemberId],
) -> Result<Vec<MemberId>> {
    let current = group_member_ids(tx, agency_id, group_id).await?;
    let wanted: std::collections::BTreeSet<MemberId> = member_ids.iter().copied().collect();
    let removed: Vec<MemberId> = current
        .iter()
        .copied()
        .filter(|m| !wanted.contains(m))
        .collect();
    let added: Vec<MemberId> = wanted
        .iter()
        .copied()
        .filter(|m| current.binary_search(m).is_err())
        .collect();
    execute_in_batches(tx, &removed, |chunk| {
        let mut q = Query::new("DELETE FROM group_memberships WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND group_id = ")
            .bind(group_id)
            .push(" AND member_id IN ")
            .bind_ids(chunk);
        q
    })
    .await?;
    add_memberships(
        tx,
        agency_id,
        &added.iter().map(|m| (group_id, *m)).collect::<Vec<_>>(),
    )
    .await?;
    Ok(added)
}

/// Inserts `(group_id, member_id)` memberships, thousands per statement (rows as one JSON
/// value, see [`crate::query::json_rows`]).
pub async fn add_memberships(
    tx: &mut Tx,
    agency_id: AgencyId,
    pairs: &[(GroupId, MemberId)],
) -> Result<()> {
    use crate::query::JsonType::BigInt;
    let source = crate::query::json_rows(
        tx.backend(),
        "$2",
        &[("group_id", BigInt), ("member_id", BigInt)],
    );
    let sql = format!(
        "INSERT INTO group_memberships (agency_id, group_id, member_id, created_at)
         SELECT $1, v.group_id, v.member_id, $3 FROM {source} AS v"
    );
    let at = now();
    for chunk in pairs.chunks(crate::JSON_BATCH) {
        let rows: Vec<[i64; 2]> = chunk.iter().map(|(g, m)| [g.get(), m.get()]).collect();
        let json = serde_json::to_string(&rows).unwrap_or_default();
        query(&sql)
            .arg(agency_id)
            .arg(json.as_str())
            .arg(at)
            .execute(tx)
            .await?;
    }
    Ok(())
}
