//! Reading credentials: the Manage Credentials list (filters and sorts on stored, indexed
//! columns, keyset pages) and one credential with its requirements, periods and issuances.

use credence_domain::ids::{
    AgencyId, CourseId, CredentialId, CredentialTypeId, ExemptionId, GroupId, IssuanceId, MemberId,
    PeriodId, RequirementId, TrainingRecordId,
};
use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use credence_domain::progress;
use credence_domain::status::{self, Standing, Status};
use credence_store::credentials::{
    self as store, After, CredentialFilter, CredentialListRow, SortKey,
};
use credence_store::training::records;
use credence_store::Conn;
use serde::{Deserialize, Serialize};

use crate::credentials::exemptions::{exemption_view, ExemptionView};
use crate::credentials::lifecycle::load_rules;
use crate::page::{encode_cursor, Page, PageParams};
use crate::{Actor, App, AppError, Result};
use credence_store::credentials::exemptions as exemption_store;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IssuanceSummary {
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OpenPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub due_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    #[schema(value_type = String)]
    pub id: CredentialId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    /// revoked, active_ready_to_renew, active_renewal_in_progress, active, ready_to_be_issued,
    /// overdue, in_progress, not_started or expired.
    pub status: String,
    pub status_label: String,
    /// 0–100 toward the open period's requirements.
    pub progress: i64,
    pub expiring_soon: bool,
    /// No valid issuance today, but one was held: whatever the status says about a renewal
    /// period opened since, the member is not compliant.
    pub lapsed: bool,
    /// Its type was retired before it was ever issued; listed only with
    /// `include_withdrawn=true`.
    pub withdrawn: bool,
    pub current_issuance: Option<IssuanceSummary>,
    pub open_period: Option<OpenPeriod>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequirementProgress {
    #[schema(value_type = String)]
    pub requirement_id: RequirementId,
    pub kind: String,
    pub title: Option<String>,
    /// 0.0–1.0.
    pub fraction: f64,
    pub done: bool,
    /// What counts toward it in the period the requirements are measured in.
    pub evidence: RequirementEvidence,
    /// The exemption in force today that excuses it: then `done` is true whatever
    /// `fraction` (what was earned) says.
    pub exemption: Option<RequirementExemption>,
}

/// An exemption excusing a requirement, as the credential page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequirementExemption {
    #[schema(value_type = String)]
    pub id: ExemptionId,
    pub until: NaiveDate,
    pub reason: String,
    pub granted_by: String,
    /// It excuses every requirement of the credential.
    pub whole_credential: bool,
}

/// The training records and sign-off that count for a requirement (the domain decides which,
/// `credence_domain::progress::evidence`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, utoipa::ToSchema)]
pub struct RequirementEvidence {
    /// For a course, the first passing record; for hours, every record of the category in
    /// the window, oldest first.
    pub records: Vec<EvidenceRecord>,
    /// For a checklist item, who signed it off and when.
    pub sign_off: Option<EvidenceSignOff>,
    /// For hours, how they were counted: every record considered, what it gave to which
    /// component, what caps and repeats cut, what is left.
    pub hours: Option<HoursExplanation>,
}

/// How an hours requirement's records were counted (`credence_domain::hours::tally`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HoursExplanation {
    pub required: f64,
    pub counted: f64,
    pub left: f64,
    /// The components in order, then "Other hours" when they leave some of the total.
    pub components: Vec<ComponentProgress>,
    /// Caps the records went over.
    pub caps: Vec<CapNote>,
    /// Every record in the period of a category the requirement takes, oldest first.
    pub records: Vec<CountedRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComponentProgress {
    pub name: String,
    pub hours: f64,
    pub counted: f64,
    pub left: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CapNote {
    /// category or source.
    pub kind: String,
    /// The category or source kind capped.
    pub key: String,
    pub cap: f64,
    /// Hours the records offered to it.
    pub offered: f64,
    /// Hours it kept from counting.
    pub over: f64,
    /// The same in words.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CountedRecord {
    #[serde(flatten)]
    pub record: EvidenceRecord,
    /// What the cap uses: online for a course delivered online, else the source.
    pub source_kind: String,
    pub counted: f64,
    /// Where its counted hours went.
    pub toward: Vec<Toward>,
    /// repeat, source_cap, category_cap or full, when some of its hours did not count.
    pub not_counted: Option<String>,
    /// Why, in words.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Toward {
    /// The component, or "Other hours" for the rest of the total.
    pub component: String,
    pub hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EvidenceRecord {
    #[schema(value_type = String)]
    pub training_record_id: TrainingRecordId,
    #[schema(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
    pub course_name: Option<String>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EvidenceSignOff {
    pub signed_on: NaiveDate,
    pub evaluator: String,
    /// The login that recorded it.
    pub recorded_by: String,
}

/// The period a credential's requirements are measured in: the open one, or, when none is
/// open (issued, not yet renewed), the last closed one, whose evidence earned the issuance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequirementsPeriod {
    #[schema(value_type = String)]
    pub id: PeriodId,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodView {
    #[schema(value_type = String)]
    pub id: PeriodId,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub due_date: NaiveDate,
    pub closed: bool,
    #[schema(value_type = Option<String>)]
    pub opened_by_issuance_id: Option<IssuanceId>,
    #[schema(value_type = Option<String>)]
    pub closed_by_issuance_id: Option<IssuanceId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IssuanceView {
    #[schema(value_type = String)]
    pub id: IssuanceId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    /// Issued by an administrator although the requirements were incomplete, for this reason.
    pub override_reason: Option<String>,
    /// Issued while exemptions excused requirements: which, until when, why, granted by whom.
    pub exemption_note: Option<String>,
    pub revoked: bool,
    pub revoke_reason: Option<String>,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CredentialDetail {
    #[serde(flatten)]
    pub credential: CredentialView,
    /// The period `requirements` are measured in; null when the credential has none.
    pub requirements_period: Option<RequirementsPeriod>,
    pub requirements: Vec<RequirementProgress>,
    pub periods: Vec<PeriodView>,
    pub issuances: Vec<IssuanceView>,
    /// Every exemption of the credential, in force or not, oldest first.
    pub exemptions: Vec<ExemptionView>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct CredentialListFilter {
    /// Repeatable: `status=overdue&status=expired`.
    #[serde(default)]
    pub status: Vec<String>,
    #[param(value_type = Option<String>)]
    pub credential_type_id: Option<CredentialTypeId>,
    #[param(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    /// Valid issuances expiring within this many days from today.
    pub expiring_within_days: Option<i64>,
    /// Start of the member's last name (or "last, first"), or an exact employee number.
    pub q: Option<String>,
    /// `true`: only lapsed credentials (held before, none valid today); `false`: none.
    pub lapsed: Option<bool>,
    /// Also list tracks withdrawn when their type was retired (default false).
    pub include_withdrawn: Option<bool>,
    /// member, status, expiration_date or progress; `-` first for descending.
    pub sort: Option<String>,
}

pub(crate) fn view(row: CredentialListRow) -> CredentialView {
    let c = row.credential;
    let status = *c.status;
    CredentialView {
        id: c.id,
        member_id: c.member_id,
        credential_type_id: c.credential_type_id,
        status: status.as_str().to_string(),
        status_label: status.label().to_string(),
        progress: c.progress,
        expiring_soon: c.expiring_soon,
        lapsed: status::standing(status, c.issuance_id.is_some()) == Standing::Lapsed,
        withdrawn: c.withdrawn,
        current_issuance: c.issue_date.map(|issue_date| IssuanceSummary {
            issue_date,
            expiration_date: c.expiration_date,
            credential_number: row.credential_number,
            issuing_officer: row.issuing_officer,
            status_reason: row.status_reason,
        }),
        open_period: match (c.period_start, c.period_end, c.due_date) {
            (Some(start), Some(end), Some(due_date)) => Some(OpenPeriod {
                start,
                end,
                due_date,
            }),
            _ => None,
        },
        version: c.version,
    }
}

fn parse_sort(sort: Option<&str>) -> Result<(SortKey, bool)> {
    let raw = sort.unwrap_or("member");
    let (desc, name) = match raw.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, raw),
    };
    let key = match name {
        "member" => SortKey::Member,
        "status" => SortKey::Status,
        "expiration_date" => SortKey::ExpirationDate,
        "progress" => SortKey::Progress,
        _ => {
            return Err(AppError::invalid(
                "sort",
                "must be member, status, expiration_date or progress, optionally with '-'",
            ))
        }
    };
    Ok((key, desc))
}

fn cursor_key(sort: SortKey, row: &CredentialListRow) -> After {
    let c = &row.credential;
    match sort {
        SortKey::Member => After::Text(c.member_sort_name.clone(), c.id.get()),
        SortKey::Status => After::Int(row.status_rank, c.id.get()),
        SortKey::Progress => After::Int(c.progress, c.id.get()),
        SortKey::ExpirationDate => After::Date(c.expiration_date, c.id.get()),
    }
}

impl App {
    /// The Manage Credentials list. A member sees only their own visible credentials.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credentials(
        &self,
        actor: &Actor,
        filter: &CredentialListFilter,
        page: &PageParams,
    ) -> Result<Page<CredentialView>> {
        let limit = page.limit()?;
        let (sort, descending) = parse_sort(filter.sort.as_deref())?;
        let mut statuses = Vec::new();
        for s in filter
            .status
            .iter()
            .flat_map(|s| s.split(','))
            .filter(|s| !s.is_empty())
        {
            statuses.push(
                Status::parse(s)
                    .ok_or_else(|| AppError::invalid("status", format!("{s:?} is not a status")))?
                    .as_str()
                    .to_string(),
            );
        }
        let mut store_filter = CredentialFilter {
            statuses,
            credential_type_id: filter.credential_type_id,
            member_id: filter.member_id,
            group_id: filter.group_id,
            expiring_between: None,
            q: filter.q.clone(),
            employee_member_id: None,
            visible_only: false,
            lapsed: filter.lapsed,
            include_withdrawn: filter.include_withdrawn.unwrap_or(false),
        };
        if !actor.role.reads_agency() {
            let own = actor.member_id.ok_or_else(|| {
                AppError::Forbidden("this login is not linked to a member".into())
            })?;
            if store_filter.member_id.is_some_and(|m| m != own) {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            store_filter.member_id = Some(own);
            store_filter.visible_only = true;
        }
        let mut tx = self.store.read().await?;
        if let Some(days) = filter.expiring_within_days {
            if !(0..=3650).contains(&days) {
                return Err(AppError::invalid(
                    "expiring_within_days",
                    "must be between 0 and 3650",
                ));
            }
            let ctx = self.ctx(&mut tx, actor).await?;
            store_filter.expiring_between = Some((ctx.today, ctx.today + Days::new(days as u64)));
        }
        // An exact employee number finds that member; anything else is a name prefix.
        if let Some(text) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(m) = credence_store::people::members::member_id_by_employee_number(
                &mut tx,
                actor.agency_id,
                text,
            )
            .await?
            {
                store_filter.q = None;
                store_filter.employee_member_id = Some(m);
            }
        }
        let after: Option<After> = page.after()?;
        let mut rows = store::credentials_page(
            &mut tx,
            actor.agency_id,
            &store_filter,
            sort,
            descending,
            after.as_ref(),
            limit + 1,
        )
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode_cursor(&cursor_key(sort, r)))
        } else {
            None
        };
        Ok(Page {
            items: rows.into_iter().map(view).collect(),
            next_cursor,
        })
    }

    /// Loads a credential the actor may see; 404 otherwise.
    pub(crate) async fn load_credential(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        id: CredentialId,
    ) -> Result<CredentialListRow> {
        let row = store::credential(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.role.reads_agency() {
            let ty = credence_store::catalog::credential_types::credential_type(
                db,
                actor.agency_id,
                row.credential.credential_type_id,
            )
            .await?;
            if actor.member_id != Some(row.credential.member_id) || ty.is_none_or(|t| t.invisible) {
                return Err(AppError::NotFound);
            }
        }
        Ok(row)
    }

    /// Several credentials by id in one query per 5,000; ids the actor may not see (or that
    /// do not exist) are returned in the second list, by position.
    pub(crate) async fn load_credentials(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        wanted: &[CredentialId],
    ) -> Result<(Vec<CredentialListRow>, Vec<usize>)> {
        let rows = store::list_rows_by_ids(db, actor.agency_id, wanted).await?;
        let hidden_types: Vec<CredentialTypeId> = if actor.role.reads_agency() {
            Vec::new()
        } else {
            credence_store::catalog::credential_types::types_page(
                db,
                actor.agency_id,
                None,
                false,
                None,
                10_000,
            )
            .await?
            .into_iter()
            .filter(|t| t.invisible)
            .map(|t| t.id)
            .collect()
        };
        let visible = |r: &CredentialListRow| {
            actor.role.reads_agency()
                || (actor.member_id == Some(r.credential.member_id)
                    && !hidden_types.contains(&r.credential.credential_type_id))
        };
        let by_id: std::collections::HashMap<CredentialId, &CredentialListRow> = rows
            .iter()
            .filter(|r| visible(r))
            .map(|r| (r.credential.id, r))
            .collect();
        let mut found = Vec::with_capacity(wanted.len());
        let mut missing = Vec::new();
        for (i, id) in wanted.iter().enumerate() {
            match by_id.get(id) {
                Some(r) => found.push((*r).clone()),
                None => missing.push(i),
            }
        }
        Ok((found, missing))
    }

    /// Credentials by id, as the list shows them; unknown ids are a 422 naming them.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credentials_by_ids(
        &self,
        actor: &Actor,
        ids: &[CredentialId],
    ) -> Result<Vec<CredentialView>> {
        let mut tx = self.store.read().await?;
        let (rows, missing) = self.load_credentials(&mut tx, actor, ids).await?;
        if let Some(i) = missing.first() {
            return Err(AppError::invalid(
                &format!("credential_ids[{i}]"),
                "is not a credential of this agency",
            ));
        }
        Ok(rows.into_iter().map(view).collect())
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credential(&self, actor: &Actor, id: CredentialId) -> Result<CredentialDetail> {
        let mut tx = self.store.read().await?;
        let row = self.load_credential(&mut tx, actor, id).await?;
        self.detail(&mut tx, actor.agency_id, row).await
    }

    pub(crate) async fn detail(
        &self,
        db: &mut impl Conn,
        agency_id: AgencyId,
        row: CredentialListRow,
    ) -> Result<CredentialDetail> {
        self.details(db, agency_id, vec![row])
            .await?
            .pop()
            .ok_or(AppError::NotFound)
    }

    /// Many credentials with their requirements, periods and issuances, in the order given:
    /// a fixed handful of queries whatever their number (a member page shows them all).
    pub(crate) async fn details(
        &self,
        db: &mut impl Conn,
        agency_id: AgencyId,
        rows: Vec<CredentialListRow>,
    ) -> Result<Vec<CredentialDetail>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<CredentialId> = rows.iter().map(|r| r.credential.id).collect();
        let mut type_ids: Vec<CredentialTypeId> = rows
            .iter()
            .map(|r| r.credential.credential_type_id)
            .collect();
        type_ids.sort_unstable();
        type_ids.dedup();
        let rules = load_rules(db, agency_id, &type_ids).await?;
        let titles =
            credence_store::catalog::credential_types::requirements_of(db, agency_id, &type_ids)
                .await?;
        let mut periods: HashMap<CredentialId, Vec<store::PeriodRow>> = HashMap::new();
        for p in store::periods_of_credentials(db, agency_id, &ids).await? {
            periods.entry(p.credential_id).or_default().push(p);
        }
        let today = self.ctx_for(db, agency_id, "system").await?.today;
        let mut exemptions: HashMap<CredentialId, Vec<ExemptionView>> = HashMap::new();
        for e in exemption_store::exemptions_of_credentials(db, agency_id, &ids).await? {
            exemptions
                .entry(e.credential_id)
                .or_default()
                .push(exemption_view(e, today));
        }
        let mut issuances: HashMap<CredentialId, Vec<store::IssuanceRow>> = HashMap::new();
        for i in store::issuances_of_credentials(db, agency_id, &ids).await? {
            issuances.entry(i.credential_id).or_default().push(i);
        }
        // Each credential's period and the window its training counts in: the open period,
        // else the last closed one (what earned the current issuance).
        let mut windows: HashMap<CredentialId, (store::PeriodRow, (NaiveDate, NaiveDate))> =
            HashMap::new();
        for r in &rows {
            let c = &r.credential;
            let rule = rules.get(&c.credential_type_id).ok_or(AppError::NotFound)?;
            let ps = periods.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
            let chosen = ps
                .iter()
                .rev()
                .find(|p| p.closed_at.is_none())
                .or_else(|| ps.last());
            if let Some(p) = chosen {
                let window = credence_domain::dates::counting_window(
                    p.start_date,
                    p.end_date,
                    rule.grace(),
                    p.opened_by_issue_date,
                );
                windows.insert(c.id, (p.clone(), window));
            }
        }
        let (records, sign_offs) = match windows.values().map(|(_, w)| w.0).min() {
            Some(from) => {
                let mut members: Vec<MemberId> =
                    rows.iter().map(|r| r.credential.member_id).collect();
                members.sort_unstable();
                members.dedup();
                let period_ids: Vec<PeriodId> = windows.values().map(|(p, _)| p.id).collect();
                (
                    records::records_of_members(db, agency_id, &members, from).await?,
                    records::sign_offs_of_periods(db, agency_id, &period_ids).await?,
                )
            }
            None => (Vec::new(), Vec::new()),
        };
        let online = crate::credentials::lifecycle::online_courses(db, agency_id).await?;
        let mut course_ids: Vec<CourseId> = records.iter().filter_map(|r| r.course_id).collect();
        course_ids.sort_unstable();
        course_ids.dedup();
        let course_names: HashMap<CourseId, String> =
            credence_store::catalog::courses::courses_by_ids(db, agency_id, &course_ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let c = &row.credential;
            let rule = rules.get(&c.credential_type_id).ok_or(AppError::NotFound)?;
            let window = windows.get(&c.id).map(|(p, w)| (p.id, *w));
            let member_rows: Vec<&records::TrainingRecord> = records
                .iter()
                .filter(|r| r.member_id == c.member_id)
                .collect();
            let member_records: Vec<progress::Record> = member_rows
                .iter()
                .map(|r| crate::credentials::lifecycle::progress_record(r, &online))
                .collect();
            let period_rows: Vec<&records::SignOffRow> = sign_offs
                .iter()
                .filter(|s| window.is_some_and(|(p, _)| s.period_id == p))
                .collect();
            let period_sign_offs: Vec<progress::SignOff> = period_rows
                .iter()
                .map(|s| progress::SignOff {
                    requirement_id: s.requirement_id,
                    signed_on: s.signed_on,
                })
                .collect();
            let stored = titles
                .iter()
                .filter(|t| t.credential_type_id == c.credential_type_id);
            let held = exemptions.remove(&c.id).unwrap_or_default();
            let in_force: Vec<credence_domain::exemption::Exemption> = held
                .iter()
                .map(|e| credence_domain::exemption::Exemption {
                    requirement_id: e.requirement_id,
                    starts_on: e.starts_on,
                    until: e.until,
                    ended_on: e.ended_on,
                })
                .collect();
            let requirements = rule
                .requirements
                .iter()
                .zip(stored)
                .map(|(req, stored)| {
                    let found = window.map(|(_, w)| {
                        progress::evidence(req, &member_records, &period_sign_offs, w)
                    });
                    let fraction = found.as_ref().map_or(0.0, |e| e.fraction);
                    let evidence = found.map_or_else(Default::default, |e| RequirementEvidence {
                        hours: e.hours.as_ref().map(|t| {
                            explain_hours(t, &member_rows, &member_records, &course_names)
                        }),
                        records: e
                            .records
                            .iter()
                            .map(|i| evidence_record(member_rows[*i], &course_names))
                            .collect(),
                        sign_off: e.sign_off.map(|i| {
                            let s = period_rows[i];
                            EvidenceSignOff {
                                signed_on: s.signed_on,
                                evaluator: s.evaluator.clone(),
                                recorded_by: s.created_by.clone(),
                            }
                        }),
                    });
                    // Only while a period is measured: a credential with none has nothing
                    // to excuse.
                    let exemption = window
                        .and_then(|_| {
                            credence_domain::exemption::excusing(req.id, &in_force, today)
                        })
                        .map(|i| {
                            let e = &held[i];
                            RequirementExemption {
                                id: e.id,
                                until: e.until,
                                reason: e.reason.clone(),
                                granted_by: e.created_by.clone(),
                                whole_credential: e.requirement_id.is_none(),
                            }
                        });
                    RequirementProgress {
                        requirement_id: req.id,
                        kind: stored.kind.as_str().to_string(),
                        title: stored.title.clone(),
                        fraction,
                        done: fraction >= 1.0 || exemption.is_some(),
                        evidence,
                        exemption,
                    }
                })
                .collect();
            let requirements_period = windows.get(&c.id).map(|(p, _)| RequirementsPeriod {
                id: p.id,
                start: p.start_date,
                end: p.end_date,
                closed: p.closed_at.is_some(),
            });
            out.push(CredentialDetail {
                requirements_period,
                requirements,
                periods: periods
                    .remove(&c.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(period_view)
                    .collect(),
                issuances: issuances
                    .remove(&c.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(issuance_view)
                    .collect(),
                exemptions: held,
                credential: view(row),
            });
        }
        Ok(out)
    }

    /// Full details of the credentials a filter matches (one page of at most `limit`), for
    /// pages that show each credential's requirements, such as a member's page.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credential_details(
        &self,
        actor: &Actor,
        filter: &CredentialListFilter,
        limit: i64,
    ) -> Result<Vec<CredentialDetail>> {
        let page = PageParams {
            limit: Some(limit),
            cursor: None,
        };
        let listed = self.credentials(actor, filter, &page).await?;
        let wanted: Vec<CredentialId> = listed.items.iter().map(|c| c.id).collect();
        let mut db = self.store.read().await?;
        let (found, _) = self.load_credentials(&mut db, actor, &wanted).await?;
        // In the list's order.
        let mut by_id: HashMap<CredentialId, CredentialListRow> =
            found.into_iter().map(|r| (r.credential.id, r)).collect();
        let rows = wanted.iter().filter_map(|id| by_id.remove(id)).collect();
        self.details(&mut db, actor.agency_id, rows).await
    }
}

fn explain_hours(
    t: &credence_domain::hours::Tally,
    rows: &[&records::TrainingRecord],
    records: &[progress::Record],
    course_names: &HashMap<CourseId, String>,
) -> HoursExplanation {
    use credence_domain::hours::{NotCounted, REST};
    let counted = t
        .records
        .iter()
        .map(|r| {
            let (code, note) = match &r.not_counted {
                None => (None, None),
                Some(NotCounted::Repeat { first }) => (
                    Some("repeat"),
                    Some(format!(
                        "its course already counts this period (completed {})",
                        rows[*first].completed_on
                    )),
                ),
                Some(NotCounted::SourceCap { kind, cap }) => (
                    Some("source_cap"),
                    Some(format!("over the cap of {cap} hours from {kind} training")),
                ),
                Some(NotCounted::CategoryCap { category, cap }) => (
                    Some("category_cap"),
                    Some(format!("over the cap of {cap} hours of {category}")),
                ),
                Some(NotCounted::Full) => (
                    Some("full"),
                    Some("the hours its category can fill are already complete".to_string()),
                ),
            };
            CountedRecord {
                record: evidence_record(rows[r.index], course_names),
                source_kind: records[r.index].source.clone(),
                counted: r.counted,
                toward: r
                    .toward
                    .iter()
                    .map(|(name, hours)| Toward {
                        component: name.clone().unwrap_or_else(|| REST.to_string()),
                        hours: *hours,
                    })
                    .collect(),
                not_counted: code.map(str::to_string),
                note,
            }
        })
        .collect();
    HoursExplanation {
        required: t.required,
        counted: t.counted,
        left: t.left(),
        components: t
            .components
            .iter()
            .map(|c| ComponentProgress {
                name: c.name.clone(),
                hours: c.hours,
                counted: c.counted,
                left: (c.hours - c.counted).max(0.0),
            })
            .collect(),
        caps: t
            .caps
            .iter()
            .map(|c| CapNote {
                kind: c.kind.to_string(),
                key: c.key.clone(),
                cap: c.cap,
                offered: c.offered,
                over: c.over,
                text: match c.kind {
                    "source" => format!(
                        "{} hours from {} training, capped at {}: {} hours not counted",
                        c.offered, c.key, c.cap, c.over
                    ),
                    _ => format!(
                        "{} hours of {}, capped at {}: {} hours not counted",
                        c.offered, c.key, c.cap, c.over
                    ),
                },
            })
            .collect(),
        records: counted,
    }
}

fn evidence_record(
    r: &records::TrainingRecord,
    course_names: &HashMap<CourseId, String>,
) -> EvidenceRecord {
    EvidenceRecord {
        training_record_id: r.id,
        course_id: r.course_id,
        course_name: r.course_id.and_then(|c| course_names.get(&c).cloned()),
        completed_on: r.completed_on,
        score: r.score,
        hours: r.hours,
        category: r.category.clone(),
        source: r.source.clone(),
    }
}

fn period_view(p: store::PeriodRow) -> PeriodView {
    PeriodView {
        id: p.id,
        start: p.start_date,
        end: p.end_date,
        due_date: p.due_date,
        closed: p.closed_at.is_some(),
        opened_by_issuance_id: p.opened_by_issuance_id,
        closed_by_issuance_id: p.closed_by_issuance_id,
    }
}

fn issuance_view(i: store::IssuanceRow) -> IssuanceView {
    IssuanceView {
        id: i.id,
        issue_date: i.issue_date,
        expiration_date: i.expiration_date,
        credential_number: i.credential_number,
        issuing_officer: i.issuing_officer,
        status_reason: i.status_reason,
        override_reason: i.override_reason,
        exemption_note: i.exemption_note,
        revoked: i.revoked_at.is_some(),
        revoke_reason: i.revoke_reason,
        created_by: i.created_by,
        created_at: i.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_parse() {
        assert_eq!(parse_sort(None).unwrap(), (SortKey::Member, false));
        assert_eq!(
            parse_sort(Some("-expiration_date")).unwrap(),
            (SortKey::ExpirationDate, true)
        );
        assert!(parse_sort(Some("colour")).is_err());
    }
}

/// Display names for lists: members by id and every credential type of the agency.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub members: std::collections::HashMap<MemberId, String>,
    pub types: std::collections::HashMap<CredentialTypeId, String>,
}

impl Names {
    pub fn member(&self, id: &MemberId) -> String {
        self.members
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    pub fn type_name(&self, id: &CredentialTypeId) -> String {
        self.types
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn names(&self, actor: &Actor, ids: &[MemberId]) -> Result<Names> {
        let mut tx = self.store.read().await?;
        let members =
            credence_store::reports::compliance::member_names(&mut tx, actor.agency_id, ids)
                .await?
                .into_iter()
                .filter(|(id, ..)| actor.sees_member(*id))
                .map(|(id, first, last, _)| (id, format!("{last}, {first}")))
                .collect();
        let types = crate::imports::exports::tables::type_names(&mut tx, actor.agency_id).await?;
        Ok(Names { members, types })
    }
}
