//! The compliance summary: counts by status per group and credential type, and the members
//! who are not compliant, today (from stored, indexed status) or as of another day D, from
//! history:
//! - the tracks counted are those that existed on D (created by then) or whose member held
//!   the type on D, in the groups their member was in on D (membership periods);
//! - each one's issuance is the one it had on D (`credence_domain::history`): issuances
//!   issued after D and revocations after D play no part, so *compliant* is exactly "held a
//!   valid issuance not revoked by D", the same answer as `/reports/qualified`;
//! - the status among the non-compliant (overdue, in progress, not started…) still reads the
//!   credential's current completion period and progress, which keep no history: a period
//!   opened after D is not open on D, but one closed since D is not seen as open then.

use credence_domain::ids::{CredentialId, CredentialTypeId, GroupId, MemberId};
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use credence_domain::status::{self, Standing, Status};
use credence_store::reports::compliance::{self as store, Scope};
use serde::{Deserialize, Serialize};

use credence_domain::history::{self, IssuanceHistory};

use crate::clock::local_date;
use crate::credentials::lifecycle::facts;
use crate::imports::exports::tables::{people, type_names, Person};
use crate::imports::exports::{export, Cell, Export, ExportFormat, Row};
use crate::{App, AppError, Reader, Result};

/// At most this many non-compliant rows in one report.
const MAX_GAPS: i64 = 10_000;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ComplianceParams {
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    #[param(value_type = Option<String>)]
    pub credential_type_id: Option<CredentialTypeId>,
    /// The day to report on (default today).
    pub on: Option<NaiveDate>,
    /// `json` (default), or the report as `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<crate::imports::exports::Format>,
    /// For a spreadsheet: `counts` (default) or `members` (who is not compliant).
    pub view: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComplianceRow {
    /// `None`: members in no group.
    #[schema(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    /// Status → number of credentials.
    pub counts: BTreeMap<String, i64>,
    pub total: i64,
    /// Holding a valid issuance.
    pub compliant: i64,
    /// Held one before and hold none valid now, whatever their renewal state.
    pub lapsed: i64,
    /// 0–100.
    pub compliant_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NonCompliant {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub member_name: String,
    pub employee_number: Option<String>,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    pub status: String,
    /// Held a valid issuance before, holds none now.
    pub lapsed: bool,
    pub expiration_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComplianceReport {
    pub on: NaiveDate,
    pub rows: Vec<ComplianceRow>,
    pub non_compliant: Vec<NonCompliant>,
}

/// Counts of one row of the report.
#[derive(Default)]
struct Tally {
    by_status: BTreeMap<String, i64>,
    by_standing: BTreeMap<Standing, i64>,
}

impl Tally {
    fn add(&mut self, status: Status, issued: bool, n: i64) {
        *self.by_status.entry(status.as_str().into()).or_default() += n;
        *self
            .by_standing
            .entry(status::standing(status, issued))
            .or_default() += n;
    }
}

type Tallies = BTreeMap<(Option<GroupId>, CredentialTypeId), Tally>;

fn finish_rows(counts: Tallies) -> Vec<ComplianceRow> {
    counts
        .into_iter()
        .map(|((group, ty), tally)| {
            let total: i64 = tally.by_status.values().sum();
            let standing = |s| tally.by_standing.get(&s).copied().unwrap_or(0);
            let compliant = standing(Standing::Compliant);
            ComplianceRow {
                group_id: group,
                credential_type_id: ty,
                lapsed: standing(Standing::Lapsed),
                counts: tally.by_status,
                total,
                compliant,
                compliant_percent: if total == 0 {
                    100.0
                } else {
                    (compliant as f64 * 1000.0 / total as f64).round() / 10.0
                },
            }
        })
        .collect()
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn compliance(
        &self,
        actor: &Reader,
        params: &ComplianceParams,
    ) -> Result<ComplianceReport> {
        let scope = Scope {
            group_id: params.group_id,
            credential_type_id: params.credential_type_id,
        };
        let mut tx = self.store.read().await?;
        let agency = credence_store::auth::identity::agency_by_id(&mut tx, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let on = params.on.unwrap_or(today);
        let non_compliant_statuses: Vec<&str> = Status::ALL
            .iter()
            .filter(|s| !s.is_active())
            .map(|s| s.as_str())
            .collect();
        let mut counts = Tallies::new();
        let mut gaps = Vec::new();
        if on == today {
            for (g, t, status, issued, n) in
                store::status_counts(&mut tx, actor.agency_id, scope).await?
            {
                let status =
                    Status::try_from(status).map_err(|e| AppError::internal(e.to_string()))?;
                counts.entry((g, t)).or_default().add(status, issued, n);
            }
            for gap in store::gaps(
                &mut tx,
                actor.agency_id,
                scope,
                &non_compliant_statuses,
                MAX_GAPS,
            )
            .await?
            {
                gaps.push(NonCompliant {
                    credential_id: gap.credential_id,
                    member_id: gap.member_id,
                    member_name: format!("{}, {}", gap.last_name, gap.first_name),
                    employee_number: gap.employee_number,
                    credential_type_id: gap.credential_type_id,
                    lapsed: gap.issued,
                    status: gap.status,
                    expiration_date: gap.expiration_date,
                    due_date: gap.due_date,
                });
            }
        } else {
            // Another day: from history (see the module's notes).
            let local = |at| local_date(at, &agency.time_zone, today);
            let rows = store::credentials_in_scope_on(&mut tx, actor.agency_id, scope, on).await?;
            let mut ids: Vec<CredentialId> = rows.iter().map(|(r, _)| r.id).collect();
            ids.sort_unstable();
            ids.dedup();
            let mut issued: HashMap<CredentialId, Vec<IssuanceHistory>> = HashMap::new();
            for i in credence_store::credentials::issuances_of_credentials(
                &mut tx,
                actor.agency_id,
                &ids,
            )
            .await?
            {
                if i.issue_date <= on {
                    issued
                        .entry(i.credential_id)
                        .or_default()
                        .push(IssuanceHistory {
                            id: i.id,
                            issue_date: i.issue_date,
                            expiration_date: i.expiration_date,
                            revoked_on: i.revoked_at.map(local),
                        });
                }
            }
            let mut types: Vec<CredentialTypeId> =
                rows.iter().map(|(r, _)| r.credential_type_id).collect();
            types.sort_unstable();
            types.dedup();
            let rules =
                crate::credentials::lifecycle::load_rules(&mut tx, actor.agency_id, &types).await?;
            let mut seen = std::collections::HashSet::new();
            let mut gap_rows = Vec::new();
            for (row, group) in &rows {
                let issuances = issued.get(&row.id).map_or(&[][..], Vec::as_slice);
                let held = history::held_on(issuances, on).is_some();
                if !history::listed_on(Some(local(row.created_at)), held, on) {
                    continue;
                }
                let auto_issue = rules
                    .get(&row.credential_type_id)
                    .is_some_and(|r| r.row.auto_issue);
                let mut on_the_day =
                    facts(row, u8::try_from(row.progress).unwrap_or(0), auto_issue);
                on_the_day.latest_issuance = history::issuance_facts_on(issuances, on);
                let status = credence_domain::status::status(&on_the_day, on);
                counts
                    .entry((*group, row.credential_type_id))
                    .or_default()
                    .add(status, on_the_day.latest_issuance.is_some(), 1);
                if non_compliant_statuses.contains(&status.as_str())
                    && seen.insert(row.id)
                    && gap_rows.len() < MAX_GAPS as usize
                {
                    gap_rows.push((row.clone(), status, on_the_day.latest_issuance));
                }
            }
            let member_ids: Vec<MemberId> = gap_rows.iter().map(|(r, ..)| r.member_id).collect();
            let names: std::collections::HashMap<MemberId, (String, String, Option<String>)> =
                store::member_names(&mut tx, actor.agency_id, &member_ids)
                    .await?
                    .into_iter()
                    .map(|(id, f, l, e)| (id, (f, l, e)))
                    .collect();
            for (row, status, issuance) in gap_rows {
                let (first, last, number) = names.get(&row.member_id).cloned().unwrap_or_default();
                gaps.push(NonCompliant {
                    credential_id: row.id,
                    member_id: row.member_id,
                    member_name: format!("{last}, {first}"),
                    employee_number: number,
                    credential_type_id: row.credential_type_id,
                    lapsed: issuance.is_some(),
                    status: status.as_str().to_string(),
                    expiration_date: issuance.and_then(|i| i.expiration_date),
                    due_date: row.due_date,
                });
            }
        }
        Ok(ComplianceReport {
            on,
            rows: finish_rows(counts),
            non_compliant: gaps,
        })
    }
}

/// The report's rows as a spreadsheet: the counts table, or the non-compliant members.
fn compliance_rows(
    report: &ComplianceReport,
    members: bool,
    names: &SheetNames,
) -> (Vec<String>, Vec<Row>) {
    if members {
        let header = [
            "member",
            "employee_number",
            "groups",
            "credential_type",
            "status",
            "lapsed",
            "expiration_date",
            "due_date",
            "member_id",
            "credential_id",
        ];
        let rows = report
            .non_compliant
            .iter()
            .map(|g| {
                let groups = names.people.get(&g.member_id).map(|p| p.groups.clone());
                vec![
                    g.member_name.as_str().into(),
                    g.employee_number.clone().into(),
                    groups.into(),
                    names.type_name(g.credential_type_id).into(),
                    Status::parse(&g.status)
                        .map_or(g.status.clone(), |s| s.label().to_string())
                        .into(),
                    g.lapsed.into(),
                    g.expiration_date.into(),
                    g.due_date.into(),
                    g.member_id.to_string().into(),
                    g.credential_id.to_string().into(),
                ]
            })
            .collect();
        return (header.map(String::from).to_vec(), rows);
    }
    let mut header = vec!["group".to_string(), "credential_type".into()];
    header.extend(Status::ALL.iter().map(|s| s.label().to_string()));
    header.extend([
        "total".into(),
        "compliant".into(),
        "lapsed".into(),
        "compliant_percent".into(),
    ]);
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let group = match r.group_id {
                Some(g) => names
                    .groups
                    .get(&g)
                    .cloned()
                    .unwrap_or_else(|| g.to_string()),
                None => "(no group)".to_string(),
            };
            let mut line: Row = vec![group.into(), names.type_name(r.credential_type_id).into()];
            line.extend(
                Status::ALL
                    .iter()
                    .map(|s| Cell::from(r.counts.get(s.as_str()).copied().unwrap_or(0))),
            );
            line.extend([
                r.total.into(),
                r.compliant.into(),
                r.lapsed.into(),
                r.compliant_percent.into(),
            ]);
            line
        })
        .collect();
    (header, rows)
}

/// The names a compliance spreadsheet shows instead of ids.
struct SheetNames {
    types: HashMap<CredentialTypeId, String>,
    groups: HashMap<GroupId, String>,
    people: HashMap<MemberId, Person>,
}

impl SheetNames {
    fn type_name(&self, id: CredentialTypeId) -> String {
        self.types
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

impl App {
    /// The report as a spreadsheet: `view` is `counts` (default) or `members` (who is not
    /// compliant).
    pub async fn export_compliance(
        &self,
        actor: &Reader,
        params: &ComplianceParams,
        format: ExportFormat,
    ) -> Result<Export> {
        let members = match params.view.as_deref() {
            None | Some("counts") => false,
            Some("members") => true,
            Some(_) => return Err(AppError::invalid("view", "must be counts or members")),
        };
        let report = self.compliance(actor, params).await?;
        let names = {
            let mut db = self.store.read().await?;
            let mut group_ids: Vec<GroupId> =
                report.rows.iter().filter_map(|r| r.group_id).collect();
            group_ids.sort_unstable();
            group_ids.dedup();
            let member_ids: Vec<MemberId> =
                report.non_compliant.iter().map(|g| g.member_id).collect();
            SheetNames {
                types: type_names(&mut db, actor.agency_id).await?,
                groups: credence_store::people::groups::groups_by_ids(
                    &mut db,
                    actor.agency_id,
                    &group_ids,
                )
                .await?
                .into_iter()
                .map(|g| (g.id, g.name))
                .collect(),
                people: people(&mut db, actor.agency_id, &member_ids).await?,
            }
        };
        let (header, rows) = compliance_rows(&report, members, &names);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let stem = format!(
            "{}-{}",
            if members {
                "non-compliant"
            } else {
                "compliance"
            },
            report.on
        );
        let rows = std::sync::Mutex::new(Some(rows));
        let one_page = move |_: Option<()>| {
            let rows = rows
                .lock()
                .ok()
                .and_then(|mut r| r.take())
                .unwrap_or_default();
            async move { Ok((rows, None)) }
        };
        Ok(export(format, &stem, &header, one_page))
    }
}
