//! Members and their group memberships.

use chrono::{DateTime, Utc};
use credence_domain::ids::{AgencyId, GroupId, MemberId};

use crate::query::{escape_like, fetch_in_batches, LIKE_ESCAPE};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Member {
    pub id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub active: bool,
    /// Rank or position, free text.
    pub position: Option<String>,
    /// Another member of the agency who supervises this one.
    pub supervisor_member_id: Option<MemberId>,
    pub sort_name: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, first_name, last_name, email, employee_number, active, position, supervisor_member_id, \
     sort_name, version, created_at, updated_at";

/// The key members are listed and searched by: "last, first" folded to lower case.
pub fn sort_name(first_name: &str, last_name: &str) -> String {
    format!("{}, {}", last_name.trim(), first_name.trim()).to_lowercase()
}

#[derive(Debug, Clone)]
pub struct MemberFields {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub active: bool,
    pub position: Option<String>,
    pub supervisor_member_id: Option<MemberId>,
}

pub async fn insert_member(tx: &mut Tx, agency_id: AgencyId, m: &MemberFields) -> Result<Member> {
    let sql = format!(
        "INSERT INTO members (agency_id, first_name, last_name, email, employee_number, active, position,
             supervisor_member_id, sort_name, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(&m.first_name)
        .arg(&m.last_name)
        .arg(&m.email)
        .arg(&m.employee_number)
        .arg(m.active)
        .arg(&m.position)
        .arg(m.supervisor_member_id)
        .arg(sort_name(&m.first_name, &m.last_name))
        .arg(now())
        .fetch_one(tx)
        .await
}

/// Writes new field values when the row is still at `version`; `None` when it is not.
pub async fn update_member(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: MemberId,
    version: i64,
    m: &MemberFields,
) -> Result<Option<Member>> {
    let sql = format!(
        "UPDATE members SET first_name = $1, last_name = $2, email = $3, employee_number = $4, active = $5,
             position = $6, supervisor_member_id = $7, sort_name = $8, version = version + 1, updated_at = $9
         WHERE agency_id = $10 AND id = $11 AND version = $12 RETURNING {COLUMNS}"
    );
    let sort = sort_name(&m.first_name, &m.last_name);
    let updated: Option<Member> = query(&sql)
        .arg(&m.first_name)
        .arg(&m.last_name)
        .arg(&m.email)
        .arg(&m.employee_number)
        .arg(m.active)
        .arg(&m.position)
        .arg(m.supervisor_member_id)
        .arg(&sort)
        .arg(now())
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await?;
    if updated.is_some() {
        // The credentials list sorts by member without a join.
        query(
            "UPDATE credentials SET member_sort_name = $1 WHERE agency_id = $2 AND member_id = $3",
        )
        .arg(&sort)
        .arg(agency_id)
        .arg(id)
        .execute(tx)
        .await?;
    }
    Ok(updated)
}

pub async fn member(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: MemberId,
) -> Result<Option<Member>> {
    let sql = format!("SELECT {COLUMNS} FROM members WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Only this member (a member's own view).
    pub only_id: Option<MemberId>,
    pub group_id: Option<GroupId>,
    pub active: Option<bool>,
    /// Words that must each appear, in any case, in the member's name ("last, first"), e-mail
    /// or employee number.
    pub q: Option<String>,
}

/// The words of a search, folded to lower case (at most a few: each is a LIKE over the
/// agency's members).
fn search_words(q: Option<&str>) -> Vec<String> {
    q.map(|t| {
        t.split_whitespace()
            .map(|w| w.trim_matches(',').to_lowercase())
            .filter(|w| !w.is_empty())
            .take(5)
            .collect()
    })
    .unwrap_or_default()
}

fn push_filter(q: &mut Query, filter: &MemberFilter) {
    if let Some(id) = filter.only_id {
        q.push(" AND m.id = ").bind(id);
    }
    if let Some(g) = filter.group_id {
        q.push(" AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.agency_id = m.agency_id AND gm.member_id = m.id AND gm.group_id = ")
            .bind(g)
            .push(")");
    }
    if let Some(a) = filter.active {
        q.push(" AND m.active = ").bind(a);
    }
    // Each word anywhere in the name, e-mail or number: "smith", "ava smith", "E-10",
    // "@station1". `sort_name` is folded by Rust (any script); e-mails are stored folded and
    // numbers are ASCII, where the databases' lower() agrees. A word matches literally (`%`
    // and `_` are not wildcards). This scans the agency's members in name order, stopping at
    // a page: fine for an agency's roster, where the credentials list needs its index range.
    for word in search_words(filter.q.as_deref()) {
        let pattern = format!("%{}%", escape_like(&word));
        q.push(" AND (m.sort_name LIKE ")
            .bind(pattern.clone())
            .push(LIKE_ESCAPE)
            .push(" OR lower(COALESCE(m.email, '')) LIKE ")
            .bind(pattern.clone())
            .push(LIKE_ESCAPE)
            .push(" OR lower(COALESCE(m.employee_number, '')) LIKE ")
            .bind(pattern)
            .push(LIKE_ESCAPE)
            .push(")");
    }
}

/// A page ordered by name; `after` is the last row's `(sort_name, id)`.
pub async fn members_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    filter: &MemberFilter,
    after: Option<(String, i64)>,
    limit: i64,
) -> Result<Vec<Member>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM members m WHERE m.agency_id = "
    ));
    q.bind(agency_id);
    push_filter(&mut q, filter);
    if let Some((name, id)) = after {
        q.push_after(("m.sort_name", "m.id"), false, name, id);
    }
    q.push(" ORDER BY m.sort_name, m.id LIMIT ").bind(limit);
    q.fetch_all(db).await
}

/// How many members match the filter (every page together).
pub async fn members_count(
    db: &mut impl Conn,
    agency_id: AgencyId,
    filter: &MemberFilter,
) -> Result<i64> {
    let mut q = Query::new("SELECT COUNT(*) FROM members m WHERE m.agency_id = ");
    q.bind(agency_id);
    push_filter(&mut q, filter);
    q.scalar(db).await
}

/// `(member_id, group_id)` pairs for the given members.
pub async fn memberships_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_ids: &[MemberId],
) -> Result<Vec<(MemberId, GroupId)>> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new("SELECT member_id, group_id FROM group_memberships WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND member_id IN ")
        .bind_json_ids(db.backend(), member_ids);
    q.push(" ORDER BY member_id, group_id");
    q.fetch_all(db).await
}

/// Of `ids`, those that are members of the agency.
pub async fn existing_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[MemberId],
) -> Result<Vec<MemberId>> {
    let mut found = Vec::with_capacity(ids.len());
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new("SELECT id FROM members WHERE +agency_id = ");
            q.bind(agency_id).push(" AND id IN ").bind_ids(chunk);
            q
        },
        |rows: Vec<(MemberId,)>| found.extend(rows.into_iter().map(|(id,)| id)),
    )
    .await?;
    Ok(found)
}

/// The member of the agency with this e-mail, compared case-insensitively (e-mails are
/// stored as given), if any.
pub async fn member_id_by_email(
    db: &mut impl Conn,
    agency_id: AgencyId,
    email: &str,
) -> Result<Option<MemberId>> {
    query("SELECT id FROM members WHERE agency_id = $1 AND lower(email) = $2 ORDER BY id LIMIT 1")
        .arg(agency_id)
        .arg(email.trim().to_lowercase())
        .scalar_optional(db)
        .await
}

/// `(member_id, employee_number)` of the given members that have one.
pub async fn employee_numbers(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[MemberId],
) -> Result<Vec<(MemberId, String)>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new("SELECT id, employee_number FROM members WHERE employee_number IS NOT NULL AND +agency_id = ");
            q.bind(agency_id).push(" AND id IN ").bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// Every member's id, e-mail and employee number: the lookup table of an import.
pub async fn member_keys(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<Vec<(MemberId, Option<String>, Option<String>)>> {
    query("SELECT id, email, employee_number FROM members WHERE agency_id = $1")
        .arg(agency_id)
        .fetch_all(db)
        .await
}

/// The member with this employee number, if any.
pub async fn member_id_by_employee_number(
    db: &mut impl Conn,
    agency_id: AgencyId,
    number: &str,
) -> Result<Option<MemberId>> {
    query("SELECT id FROM members WHERE agency_id = $1 AND employee_number = $2")
        .arg(agency_id)
        .arg(number)
        .scalar_optional(db)
        .await
}

/// Every member of the agency: what an import of members matches its rows against.
pub async fn members_of_agency(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<Member>> {
    query(format!(
        "SELECT {COLUMNS} FROM members WHERE agency_id = $1 ORDER BY id"
    ))
    .arg(agency_id)
    .fetch_all(db)
    .await
}

fn member_json(id: MemberId, m: &MemberFields) -> serde_json::Value {
    serde_json::json!([
        id.get(),
        m.first_name,
        m.last_name,
        m.email,
        m.employee_number,
        m.active,
        sort_name(&m.first_name, &m.last_name)
    ])
}

fn member_source(backend: crate::Backend) -> String {
    use crate::query::JsonType::{BigInt, Bool, Text};
    crate::query::json_rows(
        backend,
        "$2",
        &[
            ("id", BigInt),
            ("first_name", Text),
            ("last_name", Text),
            ("email", Text),
            ("employee_number", Text),
            ("active", Bool),
            ("sort_name", Text),
        ],
    )
}

/// Inserts members with ids the caller reserved (`query::reserve_ids`), thousands per
/// statement (rows as one JSON value, see [`crate::query::json_rows`]).
pub async fn insert_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    rows: &[(MemberId, MemberFields)],
) -> Result<()> {
    let source = member_source(tx.backend());
    let sql = format!(
        "INSERT INTO members (id, agency_id, first_name, last_name, email, employee_number, active, sort_name, created_at, updated_at)
         SELECT v.id, $3, v.first_name, v.last_name, v.email, v.employee_number, v.active, v.sort_name, $1, $1
         FROM {source} AS v ORDER BY v.ord"
    );
    let at = now();
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let json: Vec<serde_json::Value> =
            chunk.iter().map(|(id, m)| member_json(*id, m)).collect();
        query(&sql)
            .arg(at)
            .arg(serde_json::Value::from(json).to_string())
            .arg(agency_id)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Writes new field values of many members at once (their versions move on), and the sort
/// name their credentials are listed by.
pub async fn update_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    rows: &[(MemberId, MemberFields)],
) -> Result<()> {
    let source = member_source(tx.backend());
    let members = format!(
        "UPDATE members SET first_name = v.first_name, last_name = v.last_name, email = v.email,
             employee_number = v.employee_number, active = v.active, sort_name = v.sort_name,
             version = members.version + 1, updated_at = $1
         FROM {source} AS v WHERE members.id = v.id AND members.agency_id = $3"
    );
    let credentials = format!(
        "UPDATE credentials SET member_sort_name = v.sort_name
         FROM {source} AS v WHERE credentials.member_id = v.id AND credentials.agency_id = $3
             AND credentials.member_sort_name <> v.sort_name"
    );
    let at = now();
    for chunk in rows.chunks(crate::JSON_BATCH) {
        let json: Vec<serde_json::Value> =
            chunk.iter().map(|(id, m)| member_json(*id, m)).collect();
        let json = serde_json::Value::from(json).to_string();
        for sql in [&members, &credentials] {
            query(sql.as_str())
                .arg(at)
                .arg(json.as_str())
                .arg(agency_id)
                .execute(tx)
                .await?;
        }
    }
    Ok(())
}
