//! New tracks: who an assignment selects, and their credential rows with a first issuance and period.

use super::*;
use crate::query::reserve_ids;
use credence_domain::ids::{AgencyId, CredentialId, CredentialTypeId, GroupId, MemberId};

/// Who an assignment is for.
#[derive(Debug, Clone)]
pub enum Selection {
    Members(Vec<MemberId>),
    Groups(Vec<GroupId>),
    All,
}

/// Active members the selection names, as `(member_id, already holds the type)`.
pub async fn selected_members(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    selection: &Selection,
) -> Result<Vec<(MemberId, bool, bool)>> {
    let mut q = Query::new(
        "SELECT m.id, m.active, EXISTS (SELECT 1 FROM credentials c WHERE c.agency_id = m.agency_id AND c.member_id = m.id AND c.credential_type_id = ",
    );
    q.bind(type_id)
        .push(") FROM members m WHERE m.agency_id = ")
        .bind(agency_id);
    match selection {
        Selection::All => {
            q.push(" AND m.active = ").bind(true);
        }
        Selection::Groups(groups) => {
            q.push(" AND m.active = ").bind(true);
            // Driven from the group's memberships: members of a 10,000-member group are
            // found through the membership key, not by testing every member of the agency.
            q.push(
                " AND m.id IN (SELECT gm.member_id FROM group_memberships gm WHERE gm.agency_id = ",
            )
            .bind(agency_id)
            .push(" AND gm.group_id IN ")
            .bind_json_ids(db.backend(), groups)
            .push(")");
        }
        Selection::Members(ids) => {
            let mut out = Vec::with_capacity(ids.len());
            fetch_in_batches(
                db,
                ids,
                |chunk| {
                    let mut c = q.clone();
                    c.push(" AND m.id IN ").bind_ids(chunk);
                    c
                },
                |rows: Vec<(MemberId, bool, bool)>| out.extend(rows),
            )
            .await?;
            return Ok(out);
        }
    }
    q.push(" ORDER BY m.id");
    q.fetch_all(db).await
}

/// What a new track starts with: its computed status and the dates of its first issuance
/// and period (their ids are filled in by [`sync_ids`] once those rows exist).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackStart {
    pub computed: Computed,
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub period: Option<PeriodDates>,
}

/// Creates the tracks of `member_ids` with their final status, their first issuance and
/// their first period (as `start` names them); returns `(credential_id, member_id)`.
///
/// Every row is written once: the ids of the issuances and periods are reserved first
/// (see [`reserve_ids`]), so a credential row is inserted already pointing at them instead
/// of being updated afterwards, which would write all of its indexes a second time.
pub async fn insert_tracks(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    member_ids: &[MemberId],
    start: &TrackStart,
    created_by: &str,
) -> Result<Vec<(CredentialId, MemberId)>> {
    let mut out = Vec::with_capacity(member_ids.len());
    for chunk in member_ids.chunks(crate::JSON_BATCH) {
        let issuance_ids = match start.issue_date {
            Some(_) => Some(reserve_ids(tx, "issuances", chunk.len()).await?),
            None => None,
        };
        let period_ids = match start.period {
            Some(_) => Some(reserve_ids(tx, "completion_periods", chunk.len()).await?),
            None => None,
        };
        // Each member's reserved (issuance id, period id).
        let reserved: std::collections::HashMap<MemberId, (Option<i64>, Option<i64>)> = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let at = |ids: &Option<Vec<i64>>| ids.as_ref().map(|v| v[i]);
                (*m, (at(&issuance_ids), at(&period_ids)))
            })
            .collect();
        let rows = chunk
            .iter()
            .map(|m| crate::cells![m, reserved[m].0, reserved[m].1])
            .collect();
        let created = insert_track_rows(tx, agency_id, type_id, start, rows).await?;
        if let Some(issue_date) = start.issue_date {
            let rows = created
                .iter()
                .filter_map(|(c, m)| Some(crate::cells![reserved[m].0?, c]))
                .collect();
            let dates = (issue_date, start.expiration_date);
            insert_first_issuances(tx, agency_id, type_id, dates, created_by, rows).await?;
        }
        if let Some(dates) = start.period {
            let rows = created
                .iter()
                .filter_map(|(c, m)| {
                    let (issuance, period) = reserved[m];
                    Some(crate::cells![period?, c, issuance])
                })
                .collect();
            insert_first_periods(tx, agency_id, dates, rows).await?;
        }
        out.extend(created);
    }
    Ok(out)
}

/// The first issuances of new tracks: `rows` are `[issuance_id, credential_id]`.
async fn insert_first_issuances(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    (issue_date, expiration_date): (NaiveDate, Option<NaiveDate>),
    created_by: &str,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[("id", BigInt), ("credential_id", BigInt)],
    );
    let mut q = Query::new(format!(
        "INSERT INTO issuances (id, agency_id, credential_id, credential_type_id, issue_date, expiration_date, created_by, created_at)
         SELECT v.id, $3, v.credential_id, $4, $5, $6, $7, $1 FROM {source} AS v"
    ));
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        type_id.into(),
        issue_date.into(),
        expiration_date.into(),
        created_by.into(),
    ];
    q.execute(tx).await.map(|_| ())
}

/// The first periods of new tracks: `rows` are `[period_id, credential_id,
/// opened_by_issuance_id]`.
async fn insert_first_periods(
    tx: &mut Tx,
    agency_id: AgencyId,
    dates: PeriodDates,
    rows: Vec<serde_json::Value>,
) -> Result<()> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("id", BigInt),
            ("credential_id", BigInt),
            ("opened_by", BigInt),
        ],
    );
    let mut q = Query::new(format!(
        "INSERT INTO completion_periods (id, agency_id, credential_id, start_date, end_date, due_date, opened_by_issuance_id, created_at)
         SELECT v.id, $3, v.credential_id, $4, $5, $6, v.opened_by, $1 FROM {source} AS v"
    ));
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        dates.start.into(),
        dates.end.into(),
        dates.due.into(),
    ];
    q.execute(tx).await.map(|_| ())
}

/// The credential rows of [`insert_tracks`]: `rows` are `[member_id, issuance_id,
/// period_id]`; members of other agencies are left out.
async fn insert_track_rows(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    start: &TrackStart,
    rows: Vec<serde_json::Value>,
) -> Result<Vec<(CredentialId, MemberId)>> {
    use JsonType::BigInt;
    let source = json_rows(
        tx.backend(),
        "$2",
        &[
            ("member_id", BigInt),
            ("issuance_id", BigInt),
            ("period_id", BigInt),
        ],
    );
    let sql = format!(
        "INSERT INTO credentials (agency_id, member_id, credential_type_id, status, status_rank, progress, expiring_soon,
             status_changes_on, member_sort_name, issuance_id, issue_date, expiration_date, period_id, period_start, period_end,
             due_date, created_at, updated_at)
         SELECT m.agency_id, m.id, $4, $5, $6, $7, $8, $9, m.sort_name, v.issuance_id, $10, $11, v.period_id, $12, $13, $14, $1, $1
         FROM {source} AS v JOIN members m ON m.id = v.member_id
         WHERE +m.agency_id = $3
         RETURNING id, member_id"
    );
    let c = &start.computed;
    let mut q = Query::new(sql);
    q.args = vec![
        now().into(),
        serde_json::Value::from(rows).to_string().into(),
        agency_id.into(),
        type_id.into(),
        c.status.as_str().into(),
        c.status_rank.into(),
        c.progress.into(),
        c.expiring_soon.into(),
        c.status_changes_on.into(),
        start.issue_date.into(),
        start.expiration_date.into(),
        start.period.map(|p| p.start).into(),
        start.period.map(|p| p.end).into(),
        start.period.map(|p| p.due).into(),
    ];
    q.fetch_all(tx).await
}

/// Withdraws the type's tracks that were never issued (its type is being retired); returns
/// them. Their history stays; lists, the dashboard and reminders skip them from now on.
pub async fn withdraw_unissued(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Vec<CredentialId>> {
    let ids: Vec<CredentialId> = query(
        "SELECT id FROM credentials WHERE agency_id = $1 AND credential_type_id = $2
         AND issuance_id IS NULL AND withdrawn = $3 ORDER BY id",
    )
    .arg(agency_id)
    .arg(type_id)
    .arg(false)
    .scalars(tx)
    .await?;
    query(
        "UPDATE credentials SET withdrawn = $1, version = version + 1, updated_at = $2
         WHERE agency_id = $3 AND credential_type_id = $4 AND issuance_id IS NULL",
    )
    .arg(true)
    .arg(now())
    .arg(agency_id)
    .arg(type_id)
    .execute(tx)
    .await?;
    Ok(ids)
}

/// The type's issued credentials that have an unclosed (renewal) period.
pub async fn issued_with_unclosed_period(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Vec<CredentialId>> {
    query(
        "SELECT id FROM credentials WHERE agency_id = $1 AND credential_type_id = $2
         AND issuance_id IS NOT NULL AND period_id IS NOT NULL ORDER BY id",
    )
    .arg(agency_id)
    .arg(type_id)
    .scalars(db)
    .await
}
