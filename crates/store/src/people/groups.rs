//! Groups (stations, shifts, ranks…) and who belongs to them.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{AgencyId, GroupId, MemberId};

use crate::query::{execute_in_batches, IdChunk};
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

/// The agency's first `limit` groups by name, for pickers and filters.
pub async fn groups_by_name(
    db: &mut impl Conn,
    agency_id: AgencyId,
    limit: i64,
) -> Result<Vec<Group>> {
    let sql = format!(
        "SELECT {GROUP_COLUMNS} FROM agency_groups WHERE agency_id = $1 ORDER BY name, id LIMIT $2"
    );
    query(&sql).arg(agency_id).arg(limit).fetch_all(db).await
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

/// `(group_id, members today)` for those of `ids` that have members (a group that has none
/// is not listed).
pub async fn member_counts(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[GroupId],
) -> Result<Vec<(GroupId, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("SELECT id, member_count FROM agency_groups WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(db.backend(), ids)
        .push(" AND member_count > 0");
    q.fetch_all(db).await
}

/// Changes the stored sizes of groups by `(group_id, delta)`: by delta, so two transactions
/// that change one group's members both count (each UPDATE adds to the row the other left).
async fn count_members(tx: &mut Tx, agency_id: AgencyId, deltas: &[(GroupId, i64)]) -> Result<()> {
    for (group_id, delta) in deltas.iter().filter(|(_, d)| *d != 0) {
        query("UPDATE agency_groups SET member_count = member_count + $1 WHERE agency_id = $2 AND id = $3")
            .arg(*delta)
            .arg(agency_id)
            .arg(*group_id)
            .execute(tx)
            .await?;
    }
    Ok(())
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

/// Holds the group's row until the transaction ends, so two membership changes of one group
/// run one after the other (PostgreSQL; SQLite's write transaction already excludes every
/// other writer): each reads the membership the other left, and neither opens a second
/// period for the same member.
pub async fn lock_group(tx: &mut Tx, agency_id: AgencyId, group_id: GroupId) -> Result<()> {
    if tx.backend() == crate::Backend::Postgres {
        query("SELECT id FROM agency_groups WHERE agency_id = $1 AND id = $2 FOR UPDATE")
            .arg(agency_id)
            .arg(group_id)
            .execute(tx)
            .await?;
    }
    Ok(())
}

pub async fn group_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: GroupId,
) -> Result<Vec<MemberId>> {
    query("SELECT member_id FROM group_memberships WHERE agency_id = $1 AND group_id = $2 ORDER BY member_id").arg(agency_id).arg(group_id)
        .scalars(db).await
}

/// Makes the group's members exactly `member_ids` as of `on` (the agency's today), closing
/// the periods of those who leave and opening periods for those who join; answers
/// `(added, removed)`.
pub async fn replace_group_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    group_id: GroupId,
    member_ids: &[MemberId],
    on: NaiveDate,
) -> Result<(Vec<MemberId>, Vec<MemberId>)> {
    let current = group_member_ids(tx, agency_id, group_id).await?;
    let wanted: std::collections::BTreeSet<MemberId> = member_ids.iter().copied().collect();
    let leaving: Vec<MemberId> = current
        .iter()
        .copied()
        .filter(|m| !wanted.contains(m))
        .collect();
    let removed = remove_group_members(tx, agency_id, group_id, &leaving, on).await?;
    let wanted: Vec<MemberId> = wanted.into_iter().collect();
    let added = add_group_members(tx, agency_id, group_id, &wanted, on).await?;
    Ok((added, removed))
}

/// Adds `member_ids` to the group as of `on`; those already in it are left as they are.
/// Answers the members actually added.
pub async fn add_group_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    group_id: GroupId,
    member_ids: &[MemberId],
    on: NaiveDate,
) -> Result<Vec<MemberId>> {
    let current = group_member_ids(tx, agency_id, group_id).await?;
    let mut added: Vec<MemberId> = member_ids
        .iter()
        .copied()
        .filter(|m| current.binary_search(m).is_err())
        .collect();
    added.sort_unstable();
    added.dedup();
    // Rejoining on the day one left continues the period that ended that day.
    execute_in_batches(tx, &added, |chunk| {
        let mut q =
            Query::new("UPDATE group_membership_periods SET to_date = NULL WHERE agency_id = ");
        q.bind(agency_id)
            .push(" AND group_id = ")
            .bind(group_id)
            .push(" AND to_date = ")
            .bind(on)
            .push(" AND member_id IN ")
            .bind_ids(chunk);
        q
    })
    .await?;
    add_memberships(
        tx,
        agency_id,
        &added.iter().map(|m| (group_id, *m)).collect::<Vec<_>>(),
        on,
    )
    .await?;
    Ok(added)
}

/// Removes `member_ids` from the group as of `on`, closing their periods on that day (a
/// period that began that day covered no day and is deleted); those not in it are ignored.
/// Answers the members actually removed.
pub async fn remove_group_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    group_id: GroupId,
    member_ids: &[MemberId],
    on: NaiveDate,
) -> Result<Vec<MemberId>> {
    let current = group_member_ids(tx, agency_id, group_id).await?;
    let mut removed: Vec<MemberId> = member_ids
        .iter()
        .copied()
        .filter(|m| current.binary_search(m).is_ok())
        .collect();
    removed.sort_unstable();
    removed.dedup();
    let in_group = |sql: &str, chunk: IdChunk| {
        let mut q = Query::new(sql);
        q.bind(agency_id)
            .push(" AND group_id = ")
            .bind(group_id)
            .push(" AND member_id IN ")
            .bind_ids(chunk);
        q
    };
    execute_in_batches(tx, &removed, |chunk| {
        in_group("DELETE FROM group_memberships WHERE agency_id = ", chunk)
    })
    .await?;
    let gone = i64::try_from(removed.len()).unwrap_or(i64::MAX);
    count_members(tx, agency_id, &[(group_id, -gone)]).await?;
    execute_in_batches(tx, &removed, |chunk| {
        let mut q = in_group(
            "DELETE FROM group_membership_periods WHERE agency_id = ",
            chunk,
        );
        q.push(" AND to_date IS NULL AND from_date >= ").bind(on);
        q
    })
    .await?;
    execute_in_batches(tx, &removed, |chunk| {
        let mut q = Query::new("UPDATE group_membership_periods SET to_date = ");
        q.bind(on)
            .push(" WHERE agency_id = ")
            .bind(agency_id)
            .push(" AND group_id = ")
            .bind(group_id)
            .push(" AND member_id IN ")
            .bind_ids(chunk)
            .push(" AND to_date IS NULL");
        q
    })
    .await?;
    Ok(removed)
}

/// Inserts `(group_id, member_id)` memberships (those that exist already are left as they
/// are), thousands per statement (rows as one JSON value, see [`crate::query::json_rows`]),
/// each with a membership period from `on` (the agency's today) unless one is open already.
pub async fn add_memberships(
    tx: &mut Tx,
    agency_id: AgencyId,
    pairs: &[(GroupId, MemberId)],
    on: NaiveDate,
) -> Result<()> {
    use crate::query::JsonType::BigInt;
    let source = crate::query::json_rows(
        tx.backend(),
        "$2",
        &[("group_id", BigInt), ("member_id", BigInt)],
    );
    let current = format!(
        "INSERT INTO group_memberships (agency_id, group_id, member_id, created_at)
         SELECT $1, v.group_id, v.member_id, $3 FROM {source} AS v
         WHERE NOT EXISTS (SELECT 1 FROM group_memberships gm
             WHERE gm.agency_id = $1 AND gm.group_id = v.group_id AND gm.member_id = v.member_id)
         RETURNING group_id"
    );
    let periods = format!(
        "INSERT INTO group_membership_periods (agency_id, group_id, member_id, from_date)
         SELECT $1, v.group_id, v.member_id, $3 FROM {source} AS v
         WHERE NOT EXISTS (SELECT 1 FROM group_membership_periods p
             WHERE p.agency_id = $1 AND p.group_id = v.group_id AND p.member_id = v.member_id AND p.to_date IS NULL)"
    );
    let at = now();
    for chunk in pairs.chunks(crate::JSON_BATCH) {
        let rows: Vec<[i64; 2]> = chunk.iter().map(|(g, m)| [g.get(), m.get()]).collect();
        let json = serde_json::to_string(&rows).unwrap_or_default();
        let joined: Vec<GroupId> = query(&current)
            .arg(agency_id)
            .arg(json.as_str())
            .arg(at)
            .scalars(tx)
            .await?;
        let mut deltas: std::collections::BTreeMap<GroupId, i64> = Default::default();
        for g in joined {
            *deltas.entry(g).or_default() += 1;
        }
        count_members(tx, agency_id, &deltas.into_iter().collect::<Vec<_>>()).await?;
        query(&periods)
            .arg(agency_id)
            .arg(json.as_str())
            .arg(on)
            .execute(tx)
            .await?;
    }
    Ok(())
}
