//! Crew sign-off: one checklist requirement signed off for a whole selection in one
//! transaction (`POST /sign-offs`), with the single sign-off's rules. Credentials that cannot
//! take it — already signed in this period, no open period, the officer's own — are answered
//! as skipped; anything wrong with the request itself (unknown requirement or credential, a
//! credential of another type, a future date, no evaluator) is a 422 and nothing is written.
//! It is an operation (#18): `dry_run` answers without writing, and undo removes the
//! sign-offs (and whatever an automatic issue they completed did).

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use credence_domain::credential_type::RequirementKind;
use credence_domain::ids::{
    ClassId, CredentialId, CredentialTypeId, MemberId, OperationId, RequirementId,
};
use credence_domain::Invalid;
use credence_store::credentials as cred_store;
use credence_store::training::records::{self as store, NewSignOff};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::{refresh, Ctx};
use crate::credentials::operations::{settle, Recording};
use crate::{App, AppError, Officer, Result};

/// At most this many credentials in one sign-off.
const MAX_CREDENTIALS: usize = 10_000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkSignOff {
    #[schema(value_type = Vec<String>)]
    pub credential_ids: Vec<CredentialId>,
    /// A checklist requirement of the credentials' type.
    #[schema(value_type = String)]
    pub requirement_id: RequirementId,
    pub signed_on: NaiveDate,
    /// Who evaluated the skill (at most 200 characters).
    pub evaluator: String,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SignOffSkipped {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    /// `already_signed` (in this period), `no_open_period` or `own_credential` (nobody signs
    /// off for themselves).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkSignOffResult {
    #[schema(value_type = Vec<String>)]
    pub signed: Vec<CredentialId>,
    pub skipped: Vec<SignOffSkipped>,
    /// The operation to undo it with; none on a dry run or when nothing was signed.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

/// A sign-off for a class's roster (`POST /classes/{id}/sign-off`): each roster member's
/// credential of the requirement's type is signed off.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterSignOff {
    /// A checklist requirement of a credential type.
    #[schema(value_type = String)]
    pub requirement_id: RequirementId,
    pub signed_on: NaiveDate,
    /// Who evaluated the skill (at most 200 characters).
    pub evaluator: String,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RosterSignOffResult {
    #[serde(flatten)]
    pub result: BulkSignOffResult,
    /// Members of the roster who hold no credential of the requirement's type.
    #[schema(value_type = Vec<String>)]
    pub not_assigned: Vec<MemberId>,
}

/// The checked request: the requirement's type and the evaluator as stored.
struct Checked {
    type_id: CredentialTypeId,
    evaluator: String,
}

impl App {
    /// Signs off one checklist requirement on many credentials at once (officer).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn sign_off_many(
        &self,
        actor: &Officer,
        input: BulkSignOff,
    ) -> Result<BulkSignOffResult> {
        let mut invalid = Invalid::new();
        invalid.check(
            !input.credential_ids.is_empty(),
            "credential_ids",
            "choose at least one credential",
        );
        invalid.check(
            input.credential_ids.len() <= MAX_CREDENTIALS,
            "credential_ids",
            "at most 10000 credentials at once",
        );
        invalid.into_result()?;
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let checked = check(
            &mut tx,
            &ctx,
            input.requirement_id,
            input.signed_on,
            &input.evaluator,
        )
        .await?;
        let rows =
            cred_store::credentials_by_ids(&mut tx, actor.agency_id, &input.credential_ids).await?;
        let by_id: HashMap<CredentialId, &cred_store::CredentialRow> =
            rows.iter().map(|r| (r.id, r)).collect();
        let mut invalid = Invalid::new();
        for (i, id) in input.credential_ids.iter().enumerate() {
            match by_id.get(id) {
                None => invalid.add(
                    format!("credential_ids[{i}]"),
                    "is not a credential of this agency",
                ),
                Some(r) if r.credential_type_id != checked.type_id => invalid.add(
                    format!("credential_ids[{i}]"),
                    "is a credential of another type: the requirement is not one of its checklist items",
                ),
                Some(_) => {}
            }
        }
        invalid.into_result()?;
        let result = sign_off_rows(
            &mut tx,
            &ctx,
            actor,
            &rows,
            &input.credential_ids,
            input.requirement_id,
            input.signed_on,
            &checked.evaluator,
            input.dry_run.unwrap_or(false),
        )
        .await?;
        settle(tx, result.dry_run).await?;
        Ok(result)
    }

    /// Signs off one checklist requirement for the members of a class's roster: each
    /// member's credential of the requirement's type, with the rules of
    /// [`App::sign_off_many`]; members without one are answered in `not_assigned`.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn sign_off_roster(
        &self,
        actor: &Officer,
        class_id: ClassId,
        input: RosterSignOff,
    ) -> Result<RosterSignOffResult> {
        let mut tx = self.store.begin().await?;
        credence_store::training::classes::class(&mut tx, actor.agency_id, class_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let member_ids = credence_store::training::classes::roster_member_ids(
            &mut tx,
            actor.agency_id,
            class_id,
        )
        .await?;
        let dry_run = input.dry_run.unwrap_or(false);
        let ctx = self.ctx(&mut tx, actor).await?;
        let checked = check(
            &mut tx,
            &ctx,
            input.requirement_id,
            input.signed_on,
            &input.evaluator,
        )
        .await?;
        let held = cred_store::credentials_of_members(
            &mut tx,
            actor.agency_id,
            checked.type_id,
            &member_ids,
        )
        .await?;
        let holders: HashSet<MemberId> = held.iter().map(|(m, _)| *m).collect();
        let not_assigned = member_ids
            .iter()
            .filter(|m| !holders.contains(m))
            .copied()
            .collect();
        let ids: Vec<CredentialId> = held.iter().map(|(_, c)| *c).collect();
        let rows = cred_store::credentials_by_ids(&mut tx, actor.agency_id, &ids).await?;
        let result = sign_off_rows(
            &mut tx,
            &ctx,
            actor,
            &rows,
            &ids,
            input.requirement_id,
            input.signed_on,
            &checked.evaluator,
            dry_run,
        )
        .await?;
        settle(tx, result.dry_run).await?;
        Ok(RosterSignOffResult {
            result,
            not_assigned,
        })
    }
}

/// The request's own rules: a checklist requirement of the agency, a day not in the future,
/// an evaluator named.
async fn check(
    tx: &mut credence_store::Tx,
    ctx: &Ctx,
    requirement_id: RequirementId,
    signed_on: NaiveDate,
    evaluator: &str,
) -> Result<Checked> {
    let requirement =
        credence_store::catalog::credential_types::requirement(tx, ctx.agency_id, requirement_id)
            .await?
            .filter(|r| *r.kind == RequirementKind::Checklist);
    let mut invalid = Invalid::new();
    invalid.check(
        requirement.is_some(),
        "requirement_id",
        "is not a checklist requirement of this agency",
    );
    let evaluator = evaluator.trim();
    invalid.check(
        !evaluator.is_empty() && evaluator.chars().count() <= 200,
        "evaluator",
        "must name who evaluated (at most 200 characters)",
    );
    invalid.check(
        signed_on <= ctx.today,
        "signed_on",
        "must not be in the future",
    );
    invalid.into_result()?;
    let requirement = requirement.ok_or(AppError::NotFound)?;
    Ok(Checked {
        type_id: requirement.credential_type_id,
        evaluator: evaluator.to_string(),
    })
}

/// Signs off the credentials (in `order`) that can take it, as one recorded operation, and
/// answers which were signed and which skipped, why.
#[allow(clippy::too_many_arguments)]
async fn sign_off_rows(
    tx: &mut credence_store::Tx,
    ctx: &Ctx,
    actor: &Officer,
    rows: &[cred_store::CredentialRow],
    order: &[CredentialId],
    requirement_id: RequirementId,
    signed_on: NaiveDate,
    evaluator: &str,
    dry_run: bool,
) -> Result<BulkSignOffResult> {
    let periods: Vec<_> = rows.iter().filter_map(|r| r.period_id).collect();
    let already: HashSet<(CredentialId, credence_domain::ids::PeriodId)> =
        store::sign_offs_of_periods(tx, ctx.agency_id, &periods)
            .await?
            .into_iter()
            .filter(|s| s.requirement_id == requirement_id)
            .map(|s| (s.credential_id, s.period_id))
            .collect();
    let by_id: HashMap<CredentialId, &cred_store::CredentialRow> =
        rows.iter().map(|r| (r.id, r)).collect();
    let mut seen = HashSet::new();
    let mut signed = Vec::new();
    let mut skipped = Vec::new();
    let mut new = Vec::new();
    for id in order {
        let Some(row) = by_id.get(id) else {
            continue;
        };
        if !seen.insert(*id) {
            continue;
        }
        let reason = if actor.member_id() == Some(row.member_id) {
            Some("own_credential")
        } else {
            match row.period_id {
                None => Some("no_open_period"),
                Some(p) if already.contains(&(row.id, p)) => Some("already_signed"),
                Some(p) => {
                    new.push(NewSignOff {
                        credential_id: row.id,
                        requirement_id,
                        period_id: p,
                        signed_on,
                        evaluator,
                    });
                    None
                }
            }
        };
        match reason {
            Some(reason) => skipped.push(SignOffSkipped {
                credential_id: row.id,
                reason: reason.into(),
            }),
            None => signed.push(row.id),
        }
    }
    let mut operation_id = None;
    if !signed.is_empty() {
        let recording = Recording::start(tx, ctx, "sign_off", &signed).await?;
        store::insert_sign_offs(tx, ctx.agency_id, &new, &ctx.actor).await?;
        refresh(tx, ctx, &signed).await?;
        let after = serde_json::json!({"requirement_id": requirement_id, "signed_on": signed_on, "evaluator": evaluator});
        crate::ops::audit::record_credentials(tx, ctx, "sign_off", &signed, &after).await?;
        if !dry_run {
            let summary = format!(
                "Signed off {} credential(s) on {signed_on} (evaluator {evaluator})",
                signed.len()
            );
            operation_id = Some(recording.finish(tx, ctx, &signed, &summary).await?);
        }
    }
    Ok(BulkSignOffResult {
        signed,
        skipped,
        operation_id,
        dry_run,
    })
}
