//! Renew manually (seed 002): only for types that do not renew automatically. Each chosen
//! credential gets a new completion period; its issuances stay as history, and dates are
//! then entered singly or in bulk.

use chrono::NaiveDate;
use credence_domain::ids::{AnyId, CredentialId, CredentialTypeId, MemberId, OperationId};
use credence_domain::{Invalid, RenewalPolicy};
use credence_store::credentials::{self as store, PeriodDates};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::{load_rules, refresh_from_history};
use crate::credentials::operations::{settle, Recording};
use crate::{App, AppError, Officer, Result};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalInput {
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    #[schema(value_type = Option<Vec<String>>)]
    pub credential_ids: Option<Vec<CredentialId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub member_ids: Option<Vec<MemberId>>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// Defaults to the period end.
    pub due_date: Option<NaiveDate>,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenewSkipped {
    /// The credential (or, when none exists, the member) that was not renewed.
    #[schema(value_type = String)]
    pub id: AnyId,
    /// `not_assigned`: the member has no credential of this type.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RenewalResult {
    #[schema(value_type = Vec<String>)]
    pub renewed: Vec<CredentialId>,
    pub skipped: Vec<RenewSkipped>,
    /// The operation to undo it with; none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn renew(&self, actor: &Officer, input: RenewalInput) -> Result<RenewalResult> {
        let type_id = input.credential_type_id;
        let mut invalid = Invalid::new();
        invalid.check(
            input.period_end >= input.period_start,
            "period_end",
            "must not be before period_start",
        );
        let due = input.due_date.unwrap_or(input.period_end);
        invalid.check(
            due >= input.period_start && due <= input.period_end,
            "due_date",
            "must fall within the period",
        );
        invalid.check(
            input.credential_ids.is_some() != input.member_ids.is_some(),
            "credential_ids",
            "give exactly one of credential_ids or member_ids",
        );
        invalid.into_result()?;

        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let rules = load_rules(&mut tx, actor.agency_id, &[type_id]).await?;
        let rule = rules.get(&type_id).ok_or_else(|| {
            AppError::invalid(
                "credential_type_id",
                "is not a credential type of this agency",
            )
        })?;
        if !rule.row.state.opens_periods() {
            return Err(AppError::invalid(
                "credential_type_id",
                "this credential type is retired: its credentials are not renewed",
            ));
        }
        if rule.renewal() == RenewalPolicy::Auto {
            return Err(AppError::invalid(
                "credential_type_id",
                "this credential type renews automatically: issuing it opens the next renewal period, so it is not offered for manual renewal",
            ));
        }
        let mut skipped = Vec::new();
        let credential_ids: Vec<CredentialId> = match (&input.credential_ids, &input.member_ids) {
            (Some(wanted), _) => {
                let rows = store::credentials_by_ids(&mut tx, actor.agency_id, wanted).await?;
                for (i, w) in wanted.iter().enumerate() {
                    match rows.iter().find(|r| r.id == *w) {
                        None => {
                            return Err(AppError::invalid(
                                &format!("credential_ids[{i}]"),
                                "is not a credential of this agency",
                            ))
                        }
                        Some(r) if r.credential_type_id != type_id => {
                            return Err(AppError::invalid(
                                &format!("credential_ids[{i}]"),
                                "is a credential of another type",
                            ))
                        }
                        Some(_) => {}
                    }
                }
                wanted.clone()
            }
            (_, Some(members)) => {
                let found = credence_store::people::members::existing_member_ids(
                    &mut tx,
                    actor.agency_id,
                    members,
                )
                .await?;
                if let Some(missing) = members.iter().find(|m| !found.contains(m)) {
                    return Err(AppError::invalid(
                        "member_ids",
                        format!("{missing} is not a member of this agency"),
                    ));
                }
                let held =
                    store::credentials_of_members(&mut tx, actor.agency_id, type_id, members)
                        .await?;
                for m in members {
                    if !held.iter().any(|(member, _)| member == m) {
                        skipped.push(RenewSkipped {
                            id: (*m).into(),
                            reason: "not_assigned".into(),
                        });
                    }
                }
                held.into_iter().map(|(_, c)| c).collect()
            }
            _ => Vec::new(),
        };
        let mut credential_ids = credential_ids;
        credential_ids.sort_unstable();
        credential_ids.dedup();
        // A period still open (unfinished, or waiting from an earlier renewal) is closed
        // and stays in history; the new one replaces it.
        let renew = credential_ids;
        let recording = Recording::start(&mut tx, &ctx, "renew", &renew).await?;
        store::close_periods(&mut tx, ctx.agency_id, &renew, false).await?;
        let dates = PeriodDates {
            start: input.period_start,
            end: input.period_end,
            due,
        };
        store::open_periods(&mut tx, ctx.agency_id, &renew, dates, true, None).await?;
        refresh_from_history(&mut tx, &ctx, &renew).await?;
        let after = serde_json::json!({"period_start": dates.start, "period_end": dates.end, "due_date": dates.due});
        crate::ops::audit::record_credentials(&mut tx, &ctx, "renew", &renew, &after).await?;
        let dry_run = input.dry_run.unwrap_or(false);
        let summary = format!(
            "Renewed {} credential(s): period {} to {}",
            renew.len(),
            dates.start,
            dates.end
        );
        let operation_id = match dry_run {
            true => None,
            false => Some(recording.finish(&mut tx, &ctx, &renew, &summary).await?),
        };
        settle(tx, dry_run).await?;
        Ok(RenewalResult {
            renewed: renew,
            skipped,
            operation_id,
            dry_run,
        })
    }
}
