//! The credentials list: filters, sort orders and keyset pages.

use super::*;
use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId, MemberId};

/// How the credentials list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Member,
    Status,
    ExpirationDate,
    Progress,
}

/// The last row of a page, to continue after.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum After {
    Text(String, i64),
    Int(i64, i64),
    Date(Option<NaiveDate>, i64),
}

#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub statuses: Vec<String>,
    pub credential_type_id: Option<CredentialTypeId>,
    pub member_id: Option<MemberId>,
    pub group_id: Option<GroupId>,
    /// Valid issuances expiring between these dates inclusive.
    pub expiring_between: Option<(NaiveDate, NaiveDate)>,
    /// Start of the member's "last, first" name.
    pub q: Option<String>,
    /// The member whose employee number was searched for.
    pub employee_member_id: Option<MemberId>,
    /// Hide invisible types (a member's own view).
    pub visible_only: bool,
    /// Only lapsed credentials (`Some(true)`) or none of them (`Some(false)`).
    pub lapsed: Option<bool>,
    /// Also list tracks withdrawn when their type was retired.
    pub include_withdrawn: bool,
}

/// A keyset page of credentials: filters on indexed columns, ordered by `sort` then id.
///
/// Every query here orders by an indexed column and id only, so the database can walk an
/// index and stop after `limit` rows. Credentials never issued have no expiration; sorted
/// by expiration they come last in either direction, fetched by a second query once the
/// dated ones run out (an `IS NULL` sort term would defeat the index).
pub async fn credentials_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    filter: &CredentialFilter,
    sort: SortKey,
    descending: bool,
    after: Option<&After>,
    limit: i64,
) -> Result<Vec<CredentialListRow>> {
    let (cmp, dir) = if descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let column = match sort {
        SortKey::Member => "c.member_sort_name",
        SortKey::Status => "c.status_rank",
        SortKey::ExpirationDate => "c.expiration_date",
        SortKey::Progress => "c.progress",
    };
    // The same order over the page's output columns, for reading it as JSON.
    let output = column.trim_start_matches("c.");
    let base = |filter: &CredentialFilter| {
        let mut q = Query::new(format!(
            "SELECT {COLUMNS}, {LIST_COLUMNS} FROM credentials c LEFT JOIN issuances i ON i.id = c.issuance_id WHERE c.agency_id = "
        ));
        q.bind(agency_id);
        push_filter(&mut q, agency_id, filter);
        q
    };
    if sort == SortKey::ExpirationDate {
        let mut rows = Vec::new();
        if !matches!(after, Some(After::Date(None, _))) {
            let mut q = base(filter);
            q.push(&format!(" AND {column} IS NOT NULL"));
            if let Some(After::Date(Some(v), id)) = after {
                q.push_after((column, "c.id"), descending, *v, *id);
            }
            q.push(&format!(" ORDER BY {column} {dir}, c.id {dir} LIMIT "))
                .bind(limit);
            rows = fetch_list_rows(db, &q, &format!("{output} {dir}, id {dir}")).await?;
        }
        let missing = limit - rows.len() as i64;
        if missing > 0 && filter.expiring_between.is_none() {
            let mut q = base(filter);
            q.push(&format!(" AND {column} IS NULL"));
            if let Some(After::Date(None, id)) = after {
                q.push(&format!(" AND c.id {cmp} ")).bind(*id);
            }
            // Every row here has a NULL expiration, so this is the order by id; naming the
            // column lets PostgreSQL walk (status, expiration, id) instead of the primary key
            // with a filter, which read 150,000 rows for "Station 1, overdue" at 1M.
            q.push(&format!(" ORDER BY {column} {dir}, c.id {dir} LIMIT "))
                .bind(missing);
            rows.extend(fetch_list_rows(db, &q, &format!("{output} {dir}, id {dir}")).await?);
        }
        return Ok(rows);
    }
    let mut q = base(filter);
    if sort == SortKey::Status {
        push_status_ranks(&mut q, &filter.statuses);
    }
    match after {
        Some(After::Text(v, id)) => {
            q.push_after((column, "c.id"), descending, v.as_str(), *id);
        }
        Some(After::Int(v, id)) => {
            q.push_after((column, "c.id"), descending, *v, *id);
        }
        _ => {}
    }
    q.push(&format!(" ORDER BY {column} {dir}, c.id {dir} LIMIT "))
        .bind(limit);
    fetch_list_rows(db, &q, &format!("{output} {dir}, id {dir}")).await
}

/// `AND` the credential is (or is not) lapsed: it was issued and holds no valid issuance
/// (`credence_domain::status::lapsed`, read off the stored status).
pub(crate) fn push_lapsed(q: &mut Query, lapsed: bool) {
    let holding = Status::HOLDING.iter().map(|s| s.as_str());
    if lapsed {
        q.push(" AND c.issuance_id IS NOT NULL AND c.status NOT IN ")
            .bind_list(holding);
    } else {
        q.push(" AND (c.issuance_id IS NULL OR c.status IN ")
            .bind_list(holding)
            .push(")");
    }
}

/// `AND` the range of ranks of the filtered statuses. The rank is a function of the status,
/// so this changes no result; it tells the planner where in the rank index the filtered
/// statuses lie, so it is walked from there in order instead of from the start with the
/// filter (Station 1's overdue by status read every higher-ranked credential first: p99
/// 138 ms at 1M, bench/results-load-variants-sqlite.md). A range and not `IN`: PostgreSQL
/// turns a one-value `IN` into a constant, drops the rank from the sort and walks the
/// primary key instead (100 ms for "Station 1, overdue" at 1M). Only for this sort: a
/// redundant predicate elsewhere would make PostgreSQL underestimate the rows it matches.
fn push_status_ranks(q: &mut Query, statuses: &[String]) {
    let ranks: Option<Vec<i64>> = statuses
        .iter()
        .map(|s| Status::parse(s).map(Status::rank))
        .collect();
    let ranks = ranks.unwrap_or_default();
    if let (Some(low), Some(high)) = (ranks.iter().min(), ranks.iter().max()) {
        q.push(" AND c.status_rank >= ").bind(*low);
        q.push(" AND c.status_rank <= ").bind(*high);
    }
}

fn push_filter(q: &mut Query, agency_id: AgencyId, f: &CredentialFilter) {
    if !f.statuses.is_empty() {
        q.push(" AND c.status IN ")
            .bind_list(f.statuses.iter().map(String::as_str));
    }
    if let Some(t) = f.credential_type_id {
        q.push(" AND c.credential_type_id = ").bind(t);
    }
    if let Some(m) = f.member_id {
        q.push(" AND c.member_id = ").bind(m);
    }
    if let Some(g) = f.group_id {
        q.push(" AND EXISTS (SELECT 1 FROM group_memberships gm WHERE gm.agency_id = c.agency_id AND gm.member_id = c.member_id AND gm.group_id = ")
            .bind(g)
            .push(")");
    }
    if let Some((from, to)) = f.expiring_between {
        q.push(" AND c.revoked = ").bind(false);
        q.push(" AND c.expiration_date >= ")
            .bind(from)
            .push(" AND c.expiration_date <= ")
            .bind(to);
    }
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // A prefix as a range on the byte-ordered sort key: an index range scan on both
        // databases, where LIKE would scan.
        let prefix = text.to_lowercase();
        q.push(" AND c.member_sort_name >= ").bind(prefix.clone());
        q.push(" AND c.member_sort_name < ")
            .bind(format!("{prefix}\u{10FFFF}"));
    }
    if let Some(m) = f.employee_member_id {
        q.push(" AND c.member_id = ").bind(m);
    }
    if !f.include_withdrawn {
        q.push(" AND c.withdrawn = ").bind(false);
    }
    if let Some(lapsed) = f.lapsed {
        push_lapsed(q, lapsed);
    }
    if f.visible_only {
        q.push(" AND c.credential_type_id IN (SELECT id FROM credential_types WHERE agency_id = ")
            .bind(agency_id);
        q.push(" AND invisible = ").bind(false).push(")");
    }
}
