//! Bulk inserts for load-test data: many rows per statement, one transaction.

use crate::{now, query, Conn, Result, Tx};
use credence_domain::ids::{AgencyId, MemberId};

/// A member row for bulk insert.
pub struct SeedMember {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_number: String,
}

/// Inserts members, thousands per statement (rows as one JSON value, see
/// [`crate::query::json_rows`]), and returns their ids in input order.
pub async fn insert_members(
    tx: &mut Tx,
    agency_id: AgencyId,
    members: &[SeedMember],
) -> Result<Vec<MemberId>> {
    use crate::query::JsonType::Text;
    let source = crate::query::json_rows(
        tx.backend(),
        "$2",
        &[
            ("first_name", Text),
            ("last_name", Text),
            ("email", Text),
            ("employee_number", Text),
            ("sort_name", Text),
        ],
    );
    let sql = format!(
        "INSERT INTO members (agency_id, first_name, last_name, email, employee_number, active, sort_name, created_at, updated_at)
         SELECT $1, v.first_name, v.last_name, v.email, v.employee_number, TRUE, v.sort_name, $3, $3 FROM {source} AS v
         RETURNING id"
    );
    let at = now();
    let mut ids = Vec::with_capacity(members.len());
    for chunk in members.chunks(crate::JSON_BATCH) {
        let sort_names: Vec<String> = chunk
            .iter()
            .map(|m| crate::people::members::sort_name(&m.first_name, &m.last_name))
            .collect();
        let rows: Vec<[&str; 5]> = chunk
            .iter()
            .zip(&sort_names)
            .map(|(m, sort_name)| {
                [
                    m.first_name.as_str(),
                    m.last_name.as_str(),
                    m.email.as_str(),
                    m.employee_number.as_str(),
                    sort_name.as_str(),
                ]
            })
            .collect();
        let json = serde_json::to_string(&rows).unwrap_or_default();
        let mut chunk_ids: Vec<MemberId> = query(&sql)
            .arg(agency_id)
            .arg(json.as_str())
            .arg(at)
            .scalars(tx)
            .await?;
        // Rows are inserted in the array's order, so ascending ids follow the input.
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// The `count` most recently added members (the ones a seed run just created).
pub async fn newest_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    count: i64,
) -> Result<Vec<MemberId>> {
    let mut ids: Vec<MemberId> =
        query("SELECT id FROM members WHERE agency_id = $1 ORDER BY id DESC LIMIT $2")
            .arg(agency_id)
            .arg(count)
            .scalars(db)
            .await?;
    ids.reverse();
    Ok(ids)
}
