//! Training hours per member and category over a date range: a page of members in name
//! order (keyset on the sort name and id), then the sums of that page's records only, so a
//! page costs the same however large the agency.

use chrono::NaiveDate;
use credence_domain::ids::{AgencyId, GroupId, MemberId};

use crate::{query, Conn, Query, Result};

/// A member the report lists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HoursMember {
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub employee_number: Option<String>,
    pub sort_name: String,
}

/// Where a page starts: after this member in name order.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct After {
    pub sort_name: String,
    pub member_id: i64,
}

/// The next `limit` members after `after` in name order: the active members (of `group_id`
/// today, when given) and anyone with a training record in `[from, to]`.
pub async fn members_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_id: Option<GroupId>,
    (from, to): (NaiveDate, NaiveDate),
    after: &After,
    limit: i64,
) -> Result<Vec<HoursMember>> {
    let mut q = Query::new(
        "SELECT m.id AS member_id, m.first_name, m.last_name, m.employee_number, m.sort_name
         FROM members m WHERE m.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND (m.sort_name, m.id) > (")
        .bind(after.sort_name.as_str())
        .push(", ")
        .bind(after.member_id)
        .push(")");
    if let Some(g) = group_id {
        q.push(
            " AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.agency_id = m.agency_id
                 AND gm.group_id = ",
        )
        .bind(g)
        .push(" AND gm.member_id = m.id)");
    }
    q.push(
        " AND (m.active = TRUE OR EXISTS (SELECT 1 FROM training_records r
             WHERE r.agency_id = m.agency_id AND r.member_id = m.id AND r.completed_on >= ",
    )
    .bind(from)
    .push(" AND r.completed_on <= ")
    .bind(to)
    .push(")) ORDER BY m.sort_name, m.id LIMIT ")
    .bind(limit);
    q.fetch_all(db).await
}

/// Hours and number of records of one member in one category (`None`: records without one).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CategoryHours {
    pub member_id: MemberId,
    pub category: Option<String>,
    pub hours: f64,
    pub records: i64,
}

/// The members' training in `[from, to]`, summed by category, by
/// `training_records_member_idx`.
pub async fn hours_of_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_ids: &[MemberId],
    (from, to): (NaiveDate, NaiveDate),
) -> Result<Vec<CategoryHours>> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT member_id, category, CAST(SUM(hours) AS DOUBLE PRECISION) AS hours, COUNT(*) AS records
         FROM training_records WHERE agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND completed_on >= ")
        .bind(from)
        .push(" AND completed_on <= ")
        .bind(to)
        .push(" AND member_id IN ")
        .bind_json_ids(db.backend(), member_ids)
        .push(" GROUP BY member_id, category ORDER BY member_id, category");
    q.fetch_all(db).await
}

/// `(member_id, group name)` of the members' current groups, by name.
pub async fn group_names_of_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_ids: &[MemberId],
) -> Result<Vec<(MemberId, String)>> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT gm.member_id, g.name FROM group_memberships gm
         JOIN agency_groups g ON g.agency_id = gm.agency_id AND g.id = gm.group_id
         WHERE gm.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND gm.member_id IN ")
        .bind_json_ids(db.backend(), member_ids)
        .push(" ORDER BY gm.member_id, g.name");
    q.fetch_all(db).await
}

/// Every training record of one member, oldest first.
pub async fn records_of_member(
    db: &mut impl Conn,
    agency_id: AgencyId,
    member_id: MemberId,
) -> Result<Vec<crate::training::records::TrainingRecord>> {
    query(
        "SELECT id, member_id, course_id, completed_on, score, hours, category, source, created_by, created_at
         FROM training_records WHERE agency_id = $1 AND member_id = $2 ORDER BY completed_on, id",
    )
    .arg(agency_id)
    .arg(member_id)
    .fetch_all(db)
    .await
}
