//! Bulk inserts for load-test data: many rows per statement, one transaction.

use crate::{bind_args, db, now, on_conn, Result, SqlBuilder, Tx};

/// A member row for bulk insert.
pub struct SeedMember {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_number: String,
}

/// Inserts members in multi-row statements and returns their ids in input order.
pub async fn insert_members(
    tx: &mut Tx,
    agency_id: i64,
    members: &[SeedMember],
) -> Result<Vec<i64>> {
    let at = now();
    let mut ids = Vec::with_capacity(members.len());
    for chunk in members.chunks(crate::rows_per_statement(9)) {
        let mut q = SqlBuilder::new(
            "INSERT INTO members (agency_id, first_name, last_name, email, employee_number, active, sort_name, created_at, updated_at) VALUES ",
        );
        for (i, m) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.push("(")
                .bind(agency_id)
                .push(", ")
                .bind(m.first_name.as_str())
                .push(", ")
                .bind(m.last_name.as_str());
            q.push(", ")
                .bind(m.email.as_str())
                .push(", ")
                .bind(m.employee_number.as_str())
                .push(", TRUE, ");
            q.bind(crate::members::sort_name(&m.first_name, &m.last_name))
                .push(", ")
                .bind(at)
                .push(", ")
                .bind(at)
                .push(")");
        }
        q.push(" RETURNING id");
        let mut chunk_ids: Vec<i64> =
            on_conn!(tx, c => bind_args!(sqlx::query_scalar(&q.sql), &q.args).fetch_all(c).await)
                .map_err(db)?;
        // RETURNING order follows VALUES order on both databases for a plain insert, and
        // ids are ascending; sorting makes that explicit.
        chunk_ids.sort_unstable();
        ids.extend(chunk_ids);
    }
    Ok(ids)
}

/// The `count` most recently added members (the ones a seed run just created).
pub async fn newest_member_ids(tx: &mut Tx, agency_id: i64, count: i64) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = on_conn!(tx, c => sqlx::query_scalar("SELECT id FROM members WHERE agency_id = $1 ORDER BY id DESC LIMIT $2")
        .bind(agency_id).bind(count).fetch_all(c).await).map_err(db)?;
    ids.reverse();
    Ok(ids)
}
