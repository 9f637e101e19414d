//! The renewal planner (seed 001): list a type's expired and expiring credentials with a
//! suggested new period, accept or edit the suggestions, and renew the chosen ones in one
//! step. A type has one plan; later renewals join it, so all renewal work for a type is
//! tracked in one place. The new periods carry the type's requirements (its courses and
//! check-offs), so the training is assigned again with them.

use credence_domain::ids::{CredentialId, CredentialTypeId, MemberId, OperationId, RenewalPlanId};
use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};
use credence_domain::renewal::{self, PeriodLogic, PlanOutcome};
use credence_domain::Invalid;
use credence_store::credentials::renewal_plans as store;
use credence_store::credentials::{self as cred_store, CredentialRow, PeriodDates};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::refresh_with_new_periods;
use crate::credentials::operations::Recording;
use crate::{App, AppError, Officer, Reader, Result};

/// Advisory-lock keys, one per agency, that renewal plans take (PostgreSQL; SQLite has one
/// writer anyway).
pub(crate) const RENEWAL_LOCK: i64 = 0x524e_0000_0000;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct CandidateParams {
    /// Credentials expiring within this many days (default 90), plus every expired one.
    pub within_days: Option<u32>,
    /// `same_dates` or `relative` (default).
    pub logic: Option<String>,
    /// For `same_dates`.
    pub period_start: Option<NaiveDate>,
    /// For `same_dates`.
    pub period_end: Option<NaiveDate>,
    /// For `relative`: how long before expiration the period starts (default 90).
    pub period_days: Option<u32>,
    /// For `relative`: the due date this many days before the period end (default 14).
    pub due_days_before: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuggestedPeriod {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub due_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub member_name: String,
    pub status: String,
    pub expiration_date: Option<NaiveDate>,
    pub suggested: SuggestedPeriod,
    /// A renewal plan already gave it a period that has not ended: planning it again
    /// replaces that period, so it happens only for an item with `replace: true`.
    pub planned: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Candidates {
    pub items: Vec<Candidate>,
    /// The plan later renewals of this type join, if one exists.
    #[schema(value_type = Option<String>)]
    pub plan_id: Option<RenewalPlanId>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanItem {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Defaults to the period end.
    pub due_date: Option<NaiveDate>,
    /// Renew even though a plan already gave it a period that has not ended (that period
    /// is closed and replaced). Without it such a credential is skipped as `already_planned`.
    pub replace: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRenewalPlan {
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    pub items: Vec<PlanItem>,
    /// Check and report without writing anything.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenewalPlanResult {
    /// `None` on a dry run for a type that has no plan yet.
    #[schema(value_type = Option<String>)]
    pub plan_id: Option<RenewalPlanId>,
    #[schema(value_type = Vec<String>)]
    pub renewed: Vec<CredentialId>,
    pub skipped: Vec<crate::credentials::renew::RenewSkipped>,
    /// The operation to undo it with; none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanMember {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub due_date: NaiveDate,
    /// The period was answered by an issuance (or replaced by a later renewal).
    pub closed: bool,
    pub status: String,
    pub progress: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenewalPlanView {
    #[schema(value_type = String)]
    pub id: RenewalPlanId,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub members: Vec<PlanMember>,
}

fn logic(params: &CandidateParams) -> Result<PeriodLogic> {
    match params.logic.as_deref().unwrap_or("relative") {
        "same_dates" => {
            let (Some(start), Some(end)) = (params.period_start, params.period_end) else {
                return Err(AppError::invalid(
                    "period_start",
                    "same_dates needs period_start and period_end",
                ));
            };
            if end < start {
                return Err(AppError::invalid(
                    "period_end",
                    "must not be before period_start",
                ));
            }
            Ok(PeriodLogic::SameDates { start, end })
        }
        "relative" => {
            let period_days = params.period_days.unwrap_or(90);
            if !(1..=3650).contains(&period_days) {
                return Err(AppError::invalid(
                    "period_days",
                    "must be between 1 and 3650",
                ));
            }
            let due_days_before = params.due_days_before.unwrap_or(14);
            if due_days_before > period_days {
                return Err(AppError::invalid(
                    "due_days_before",
                    "must not exceed period_days",
                ));
            }
            Ok(PeriodLogic::Relative {
                period_days,
                due_days_before,
            })
        }
        _ => Err(AppError::invalid("logic", "must be same_dates or relative")),
    }
}

/// Of these credentials, those a renewal plan already gave a period that has not ended.
async fn planned_of(
    db: &mut impl credence_store::Conn,
    agency_id: credence_domain::ids::AgencyId,
    ids: &[CredentialId],
    today: NaiveDate,
) -> Result<HashSet<CredentialId>> {
    Ok(store::plan_periods_of(db, agency_id, ids)
        .await?
        .into_iter()
        .filter(|(_, end)| renewal::already_planned(true, Some(*end), today))
        .map(|(c, _)| c)
        .collect())
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn renewal_candidates(
        &self,
        actor: &Reader,
        type_row_id: CredentialTypeId,
        params: &CandidateParams,
    ) -> Result<Candidates> {
        let logic = logic(params)?;
        let within = params.within_days.unwrap_or(90).min(3650);
        let mut tx = self.store.read().await?;
        credence_store::catalog::credential_types::credential_type(
            &mut tx,
            actor.agency_id,
            type_row_id,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let rows = store::candidates(
            &mut tx,
            actor.agency_id,
            type_row_id,
            ctx.today + Days::new(u64::from(within)),
        )
        .await?;
        let member_ids: Vec<MemberId> = rows.iter().map(|r| r.member_id).collect();
        let names: std::collections::HashMap<MemberId, String> =
            credence_store::reports::compliance::member_names(
                &mut tx,
                actor.agency_id,
                &member_ids,
            )
            .await?
            .into_iter()
            .map(|(id, first, last, _)| (id, format!("{last}, {first}")))
            .collect();
        let plan = store::plan_for_type(&mut tx, actor.agency_id, type_row_id).await?;
        let ids: Vec<CredentialId> = rows.iter().map(|r| r.id).collect();
        let planned = planned_of(&mut tx, actor.agency_id, &ids, ctx.today).await?;
        let items = rows
            .into_iter()
            .filter(|r| renewal::is_candidate(r.expiration_date, ctx.today, within))
            .map(|r| {
                let s = renewal::suggest(logic, r.expiration_date.unwrap_or(ctx.today), ctx.today);
                Candidate {
                    credential_id: r.id,
                    member_id: r.member_id,
                    member_name: names.get(&r.member_id).cloned().unwrap_or_default(),
                    status: r.status.as_str().to_string(),
                    expiration_date: r.expiration_date,
                    suggested: SuggestedPeriod {
                        period_start: s.period_start,
                        period_end: s.period_end,
                        due_date: s.due_date,
                    },
                    planned: planned.contains(&r.id),
                }
            })
            .collect();
        Ok(Candidates {
            items,
            plan_id: plan.map(|p| p.id),
        })
    }

    /// Renews the chosen credentials in one transaction (or only checks, on a dry run).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_renewal_plan(
        &self,
        actor: &Officer,
        input: NewRenewalPlan,
    ) -> Result<RenewalPlanResult> {
        let type_id = input.credential_type_id;
        if input.items.is_empty() || input.items.len() > 20_000 {
            return Err(AppError::invalid(
                "items",
                "give between 1 and 20000 credentials",
            ));
        }
        let mut invalid = Invalid::new();
        let mut wanted = Vec::with_capacity(input.items.len());
        let replace: HashSet<CredentialId> = input
            .items
            .iter()
            .filter(|i| i.replace == Some(true))
            .map(|i| i.credential_id)
            .collect();
        let mut seen = HashSet::new();
        for (i, item) in input.items.iter().enumerate() {
            let field = |f: &str| format!("items[{i}].{f}");
            let due = item.due_date.unwrap_or(item.period_end);
            invalid.check(
                item.period_end >= item.period_start,
                &field("period_end"),
                "must not be before period_start",
            );
            invalid.check(
                due <= item.period_end,
                &field("due_date"),
                "must not be after the period end",
            );
            invalid.check(
                due >= item.period_start,
                &field("due_date"),
                "must not be before the period start",
            );
            let c = item.credential_id;
            if seen.insert(c) {
                let dates = PeriodDates {
                    start: item.period_start,
                    end: item.period_end,
                    due,
                };
                wanted.push((i, c, dates));
            } else {
                invalid.add(field("credential_id"), "appears twice");
            }
        }
        let mut tx = self.store.begin().await?;
        // Before anything is read: the same plan sent to two instances at once would
        // otherwise both see the credentials unplanned and give each two open periods. The
        // second waits here, then reads the first's periods and skips them.
        credence_store::lock(&mut tx, RENEWAL_LOCK + actor.agency_id.get()).await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let ty = credence_store::catalog::credential_types::credential_type(
            &mut tx,
            actor.agency_id,
            type_id,
        )
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "credential_type_id",
                "is not a credential type of this agency",
            )
        })?;
        if !ty.state.opens_periods() {
            return Err(AppError::invalid(
                "credential_type_id",
                "this credential type is retired: its credentials are not renewed",
            ));
        }
        let ids_only: Vec<CredentialId> = wanted.iter().map(|(_, c, _)| *c).collect();
        let mut rows: HashMap<CredentialId, CredentialRow> =
            cred_store::credentials_by_ids(&mut tx, actor.agency_id, &ids_only)
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        let planned = planned_of(&mut tx, actor.agency_id, &ids_only, ctx.today).await?;
        let mut renew = Vec::with_capacity(wanted.len());
        let mut skipped = Vec::new();
        for (i, c, dates) in wanted {
            match rows.get(&c) {
                None => invalid.add(
                    format!("items[{i}].credential_id"),
                    "is not a credential of this agency",
                ),
                Some(r) if r.credential_type_id != type_id => invalid.add(
                    format!("items[{i}].credential_id"),
                    "is a credential of another type",
                ),
                Some(r) => match renewal::plan_outcome(
                    r.revoked,
                    planned.contains(&c),
                    replace.contains(&c),
                ) {
                    PlanOutcome::Renew => renew.push((c, dates)),
                    PlanOutcome::Skip(reason) => {
                        skipped.push(crate::credentials::renew::RenewSkipped {
                            id: c.into(),
                            reason: reason.into(),
                        })
                    }
                },
            }
        }
        invalid.into_result()?;
        let renewed: Vec<CredentialId> = renew.iter().map(|(c, _)| *c).collect();
        if input.dry_run.unwrap_or(false) {
            let plan = store::plan_for_type(&mut tx, actor.agency_id, type_id).await?;
            return Ok(RenewalPlanResult {
                plan_id: plan.map(|p| p.id),
                renewed,
                skipped,
                operation_id: None,
                dry_run: true,
            });
        }
        let plan = store::ensure_plan(&mut tx, actor.agency_id, type_id, &actor.label).await?;
        let credential_ids: Vec<CredentialId> = renew.iter().map(|(c, _)| *c).collect();
        let recording = Recording::start(&mut tx, &ctx, "renewal_plan", &credential_ids).await?;
        cred_store::close_periods(&mut tx, ctx.agency_id, &credential_ids, false).await?;
        let opened =
            cred_store::open_period_each(&mut tx, ctx.agency_id, &renew, true, Some(plan.id))
                .await?;
        // The rows read above are still current: renewing so far wrote periods only.
        let dates: HashMap<CredentialId, PeriodDates> = renew.iter().copied().collect();
        let renewed_rows: Vec<CredentialRow> = opened
            .into_iter()
            .filter_map(|(credential, period)| {
                let mut row = rows.remove(&credential)?;
                row.period_id = Some(period);
                let d = dates.get(&credential)?;
                (row.period_start, row.period_end, row.due_date) =
                    (Some(d.start), Some(d.end), Some(d.due));
                Some(row)
            })
            .collect();
        refresh_with_new_periods(&mut tx, &ctx, renewed_rows).await?;
        let after = serde_json::json!({"renewal_plan_id": plan.id});
        crate::ops::audit::record_credentials(&mut tx, &ctx, "renew", &credential_ids, &after)
            .await?;
        let summary = format!(
            "Renewed {} credential(s) in plan {}",
            renewed.len(),
            plan.id
        );
        let operation_id = recording
            .finish(&mut tx, &ctx, &credential_ids, &summary)
            .await?;
        tx.commit().await?;
        Ok(RenewalPlanResult {
            plan_id: Some(plan.id),
            renewed,
            skipped,
            operation_id: Some(operation_id),
            dry_run: false,
        })
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn renewal_plan(
        &self,
        actor: &Reader,
        plan_id: RenewalPlanId,
    ) -> Result<RenewalPlanView> {
        let mut tx = self.store.read().await?;
        let plan = store::plan(&mut tx, actor.agency_id, plan_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let members = store::plan_entries(&mut tx, actor.agency_id, plan_id)
            .await?
            .into_iter()
            .map(|e| PlanMember {
                credential_id: e.credential_id,
                member_id: e.member_id,
                period_start: e.start_date,
                period_end: e.end_date,
                due_date: e.due_date,
                closed: e.closed,
                status: e.status,
                progress: e.progress,
            })
            .collect();
        Ok(RenewalPlanView {
            id: plan.id,
            credential_type_id: plan.credential_type_id,
            created_by: plan.created_by,
            created_at: plan.created_at,
            members,
        })
    }
}
