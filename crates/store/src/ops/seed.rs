//! Bulk inserts for load-test data: many rows per statement, one transaction.

use crate::{now, query, Backend, Conn, Result, Store, Tx};
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

/// Drops the secondary indexes of `table` (those that back no constraint) before a bulk
/// load on PostgreSQL, which then builds each once with [`build_set_aside_indexes`] instead
/// of updating all of them row by row. Their definitions are kept in `set_aside_indexes` by
/// the transaction that drops them, so they are built again even if the load is stopped
/// (the next start of any instance builds them). Only for a load of at least as many rows
/// as the table holds: building an index reads the whole table. Answers how many were set
/// aside: none on SQLite, and none while another load's indexes wait to be built.
pub async fn set_aside_indexes(store: &Store, table: &str, adding: u64) -> Result<usize> {
    if store.backend() != Backend::Postgres {
        return Ok(0);
    }
    let mut tx = store.begin().await?;
    // The planner's estimate (-1 before the table was first vacuumed): counting ten
    // million rows to decide would take longer than the decision is worth.
    let holds: f64 = query("SELECT reltuples::float8 FROM pg_class WHERE oid = to_regclass($1)")
        .arg(table)
        .scalar_optional(&mut tx)
        .await?
        .unwrap_or(0.0);
    if (adding as f64) < holds {
        return Ok(0);
    }
    // Two loads starting at once: the second waits here, then finds the first's rows.
    tx.execute_script("LOCK TABLE set_aside_indexes IN EXCLUSIVE MODE")
        .await?;
    let waiting: i64 = query("SELECT COUNT(*) FROM set_aside_indexes")
        .scalar(&mut tx)
        .await?;
    if waiting > 0 {
        return Ok(0);
    }
    let indexes: Vec<(String, String)> = query(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename = $1
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
         ORDER BY i.indexname",
    )
    .arg(table)
    .fetch_all(&mut tx)
    .await?;
    for (name, definition) in &indexes {
        query("INSERT INTO set_aside_indexes (name, definition, set_aside_at) VALUES ($1, $2, $3)")
            .arg(name.as_str())
            .arg(definition.as_str())
            .arg(now())
            .execute(&mut tx)
            .await?;
        tx.execute_script(&format!("DROP INDEX \"{name}\"")).await?;
    }
    tx.commit().await?;
    Ok(indexes.len())
}

/// Builds the indexes [`set_aside_indexes`] dropped, one transaction each; answers how many
/// this call built. Two instances starting at once share the work: each takes a different
/// index (`SKIP LOCKED`), and a definition is re-run as `IF NOT EXISTS`.
pub async fn build_set_aside_indexes(store: &Store) -> Result<usize> {
    if store.backend() != Backend::Postgres {
        return Ok(0);
    }
    let mut built = 0;
    loop {
        let mut tx = store.begin().await?;
        let next: Option<(String, String)> = query(
            "SELECT name, definition FROM set_aside_indexes ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut tx)
        .await?;
        let Some((name, definition)) = next else {
            break;
        };
        // A sort of ten million keys fits in memory instead of spilling to disk.
        tx.execute_script("SET LOCAL maintenance_work_mem = '1GB'")
            .await?;
        tx.execute_script(&definition.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
            .await?;
        query("DELETE FROM set_aside_indexes WHERE name = $1")
            .arg(name.as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        built += 1;
        tracing::info!(index = name, "built an index a bulk load had set aside");
    }
    Ok(built)
}
