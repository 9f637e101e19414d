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

/// The tables a seed fills row by row: their foreign keys are set aside with the
/// credentials table's indexes.
const LOADED_TABLES: [&str; 4] = [
    "credentials",
    "completion_periods",
    "issuances",
    "audit_events",
];

/// Sets aside, before a bulk load on PostgreSQL, what PostgreSQL would otherwise do for
/// every row: the secondary indexes of `table` (those that back no constraint), updated
/// row by row, and the foreign keys of the tables a seed fills, each checked per row by a
/// trigger that also locks the row it points at (every member row, once per type, and
/// every new credential twice more, from its period and its issuance). At the end
/// [`restore_set_aside`] builds each index with one sort and checks each key with
/// one join.
///
/// What was set aside is written to `set_aside_indexes` (named before it held keys too) by
/// the transaction that drops it, so it is restored even if the load is stopped (the next
/// start of any instance does it).
/// Only for a load of at least as many rows as `table` holds: building an index and
/// checking a key read the whole table. Answers how many were set aside: none on SQLite,
/// and none while another load's items wait to be restored.
pub async fn set_aside_for_load(store: &Store, table: &str, adding: u64) -> Result<usize> {
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
    let mut set_aside = secondary_indexes(&mut tx, table).await?;
    for loaded in LOADED_TABLES {
        set_aside.extend(foreign_keys(&mut tx, loaded).await?);
    }
    for aside in &set_aside {
        query("INSERT INTO set_aside_indexes (name, definition, set_aside_at) VALUES ($1, $2, $3)")
            .arg(aside.name.as_str())
            .arg(aside.definition.as_str())
            .arg(now())
            .execute(&mut tx)
            .await?;
        tx.execute_script(&aside.drop).await?;
    }
    tx.commit().await?;
    Ok(set_aside.len())
}

/// An index or a foreign key taken off a table for a load: the statement that restores it
/// (a foreign key is added `NOT VALID`, then validated) and the one that drops it.
struct SetAside {
    name: String,
    definition: String,
    drop: String,
}

async fn secondary_indexes(tx: &mut Tx, table: &str) -> Result<Vec<SetAside>> {
    let indexes: Vec<(String, String)> = query(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.schemaname = current_schema() AND i.tablename = $1
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
         ORDER BY i.indexname",
    )
    .arg(table)
    .fetch_all(tx)
    .await?;
    Ok(indexes
        .into_iter()
        .map(|(name, definition)| SetAside {
            drop: format!("DROP INDEX \"{name}\""),
            name,
            definition,
        })
        .collect())
}

async fn foreign_keys(tx: &mut Tx, table: &str) -> Result<Vec<SetAside>> {
    let keys: Vec<(String, String)> = query(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
         WHERE contype = 'f' AND conrelid = to_regclass($1) ORDER BY conname",
    )
    .arg(table)
    .fetch_all(tx)
    .await?;
    Ok(keys
        .into_iter()
        .map(|(name, key)| SetAside {
            definition: format!("ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {key} NOT VALID"),
            drop: format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""),
            name,
        })
        .collect())
}

/// Restores what [`set_aside_for_load`] set aside and answers how many it restored, in two
/// steps: first every foreign key comes back at once, `NOT VALID` (enforced for new rows
/// from then on, a catalogue change that checks nothing), then two workers take one item
/// each at a time: build an index, or validate a key against the rows already there. Two
/// instances starting at once share the work the same way (`SKIP LOCKED`); a definition is
/// re-run as `IF NOT EXISTS`. A key that existing rows break stays waiting, and the start
/// that met it fails with the constraint's name, like a migration that cannot apply.
pub async fn restore_set_aside(store: &Store) -> Result<usize> {
    if store.backend() != Backend::Postgres {
        return Ok(0);
    }
    // Every start comes here: with nothing waiting, one read and no lock.
    let waiting: i64 = {
        let mut tx = store.read().await?;
        query("SELECT COUNT(*) FROM set_aside_indexes")
            .scalar(&mut tx)
            .await?
    };
    if waiting == 0 {
        return Ok(0);
    }
    add_set_aside_keys(store).await?;
    let (a, b) = tokio::try_join!(restore_one_by_one(store), restore_one_by_one(store))?;
    Ok(a + b)
}

/// The foreign keys waiting in `set_aside_indexes` that are missing, added without
/// checking the rows already there. Adding a key locks the table it points at, which for
/// every key here is `agencies`: one transaction for all of them instead of workers that
/// would wait for each other.
async fn add_set_aside_keys(store: &Store) -> Result<()> {
    let mut tx = store.begin().await?;
    tx.execute_script("LOCK TABLE set_aside_indexes IN EXCLUSIVE MODE")
        .await?;
    let keys: Vec<(String, String)> = query(
        "SELECT s.name, s.definition FROM set_aside_indexes s
         WHERE s.definition LIKE 'ALTER TABLE %'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = s.name AND c.contype = 'f')
         ORDER BY s.name",
    )
    .fetch_all(&mut tx)
    .await?;
    for (_, definition) in &keys {
        tx.execute_script(definition).await?;
    }
    tx.commit().await
}

/// Takes waiting items one at a time until none is left that no one else holds.
async fn restore_one_by_one(store: &Store) -> Result<usize> {
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
        tx.execute_script(&restore_statement(&name, &definition))
            .await?;
        query("DELETE FROM set_aside_indexes WHERE name = $1")
            .arg(name.as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        built += 1;
        tracing::info!(name, "restored what a bulk load had set aside");
    }
    Ok(built)
}

/// The statement that finishes restoring a set-aside item: an index is built (unless it
/// exists), a foreign key already added `NOT VALID` is validated.
fn restore_statement(name: &str, definition: &str) -> String {
    match definition.split_once(" ADD CONSTRAINT ") {
        Some((alter_table, _)) => format!("{alter_table} VALIDATE CONSTRAINT \"{name}\""),
        None => definition.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1),
    }
}

#[cfg(test)]
mod tests {
    use super::restore_statement;

    #[test]
    fn a_key_is_validated_and_an_index_built_only_when_missing() {
        assert_eq!(
            restore_statement(
                "issuances_agency_id_fkey",
                "ALTER TABLE issuances ADD CONSTRAINT \"issuances_agency_id_fkey\" FOREIGN KEY (agency_id) REFERENCES agencies(id) NOT VALID"
            ),
            "ALTER TABLE issuances VALIDATE CONSTRAINT \"issuances_agency_id_fkey\""
        );
        assert_eq!(
            restore_statement(
                "credentials_due_idx",
                "CREATE INDEX credentials_due_idx ON public.credentials USING btree (agency_id, due_date)"
            ),
            "CREATE INDEX IF NOT EXISTS credentials_due_idx ON public.credentials USING btree (agency_id, due_date)"
        );
    }
}
