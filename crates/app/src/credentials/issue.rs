//! Issue (seeds 000, 002, 004): one credential with defaults from its type, or a selection at
//! once choosing which fields to set (all validated first, nothing written on any error);
//! and revoke with a reason.

use credence_domain::bulk_update::{bulk_update_action, BulkUpdateAction};
use credence_domain::ids::{CredentialId, CredentialTypeId, IssuanceId, OperationId};
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use credence_domain::Invalid;
use credence_store::credentials::{self as store, CredentialListRow};
use credence_store::{Arg, Tx};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::{
    issue_many, load_rules, refresh, refresh_from_history, Ctx, IssueItem, TypeRules,
};
use crate::credentials::operations::{settle, Recording};
use crate::credentials::views::{view, CredentialDetail, CredentialView};
use crate::{App, AppError, Officer, Result};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueInput {
    pub issue_date: NaiveDate,
    /// Defaults to issue date + the type's validity, rounded as the type says.
    pub expiration_date: Option<NaiveDate>,
    /// Defaults to the type's number pattern.
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    /// Administrators only: issue although the requirements are not complete (a credential
    /// logged without tracking progress), for this reason, which is audited and shown with
    /// the issuance. Ignored when the requirements are complete.
    pub override_reason: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueFields {
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    #[schema(value_type = Vec<String>)]
    pub credential_ids: Vec<CredentialId>,
    /// Only the fields given are set. A credential with an open period (or never issued)
    /// gets a new issuance; an active one has its current issuance corrected.
    pub fields: IssueFields,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkUpdateResult {
    pub updated: Vec<CredentialView>,
    /// The operation to undo it with; none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

fn clean(text: &Option<String>) -> Option<String> {
    text.as_ref()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// What a bulk update does to one credential.
enum Change {
    Issue(IssueItem),
    Amend {
        credential_id: CredentialId,
        issuance_id: IssuanceId,
        fields: Vec<(&'static str, Arg)>,
    },
}

/// Checks the rules a new issuance must meet; errors go to `field`.
fn check_issue(
    ctx: &Ctx,
    rule: &TypeRules,
    row: &CredentialListRow,
    item: &IssueItem,
    field: &str,
    invalid: &mut Invalid,
) {
    let c = &row.credential;
    let before = invalid.errors.len();
    if item.issue_date > ctx.today {
        invalid.add(field, "issue_date must not be in the future");
    }
    let expiration = item
        .expiration_date
        .or_else(|| rule.expiration_for(item.issue_date));
    if expiration.is_some_and(|e| e < item.issue_date) {
        invalid.add(field, "expiration_date must not be before issue_date");
    }
    if invalid.errors.len() == before
        && c.period_id.is_some()
        && c.progress < 100
        && item.override_reason.is_none()
    {
        invalid.add(
            field,
            format!(
                "the requirements are not complete ({}%); the credential cannot be issued yet",
                c.progress
            ),
        );
    }
    if let Some(n) = &item.credential_number {
        if n.chars().count() > 60 {
            invalid.add(field, "credential_number must be at most 60 characters");
        }
    }
    if item
        .override_reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > 500)
    {
        invalid.add(field, "override_reason must be at most 500 characters");
    }
}

/// The override reason that applies to an issue: only where the requirements are incomplete,
/// and only from an administrator.
fn override_reason(
    actor: &Officer,
    row: &CredentialListRow,
    given: &Option<String>,
) -> Result<Option<String>> {
    let c = &row.credential;
    let incomplete = c.period_id.is_some() && c.progress < 100;
    let Some(reason) = clean(given).filter(|_| incomplete) else {
        return Ok(None);
    };
    if !actor.role.administers() {
        return Err(AppError::Forbidden(
            "only an administrator may issue over incomplete requirements".into(),
        ));
    }
    Ok(Some(reason))
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn issue(
        &self,
        actor: &Officer,
        id: CredentialId,
        input: IssueInput,
    ) -> Result<CredentialDetail> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let row = self.load_credential(&mut tx, actor, id).await?;
        let c = &row.credential;
        actor.refuse_self(c.member_id, "issue credentials")?;
        let rules = load_rules(&mut tx, actor.agency_id, &[c.credential_type_id]).await?;
        let rule = &rules[&c.credential_type_id];
        let item = IssueItem {
            credential_number: clean(&input.credential_number),
            issuing_officer: clean(&input.issuing_officer),
            status_reason: clean(&input.status_reason),
            override_reason: override_reason(actor, &row, &input.override_reason)?,
            expiration_date: input.expiration_date,
            ..IssueItem::new(c.id, c.member_id, input.issue_date)
        };
        let mut invalid = Invalid::new();
        check_issue(&ctx, rule, &row, &item, "issue_date", &mut invalid);
        check_numbers_free(
            &mut tx,
            &ctx,
            rule.row.id,
            &[(item.credential_number.clone(), "credential_number".into())],
            &mut invalid,
        )
        .await?;
        // Field names the rule breaks, precisely.
        for e in &mut invalid.errors {
            if e.message.starts_with("expiration_date") {
                e.field = "expiration_date".into();
            } else if e.message.starts_with("override_reason") {
                e.field = "override_reason".into();
            } else if e.message.starts_with("credential_number") {
                e.field = "credential_number".into();
            }
        }
        invalid.into_result()?;
        let credential_id = c.id;
        let certificates = issue_many(&mut tx, &ctx, rule, vec![item], "issue").await?;
        refresh(&mut tx, &ctx, &[credential_id]).await?;
        let fresh = store::credential(&mut tx, ctx.agency_id, credential_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let detail = self.detail(&mut tx, ctx.agency_id, fresh).await?;
        tx.commit().await?;
        // One certificate renders in milliseconds, so the issuer gets it at once. Bulk issues
        // leave theirs requested: rendering them would be a later change that blocks undo.
        self.render_requested(actor, &certificates).await;
        Ok(detail)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn bulk_update(
        &self,
        actor: &Officer,
        input: BulkUpdate,
    ) -> Result<BulkUpdateResult> {
        let f = &input.fields;
        if f.issue_date.is_none()
            && f.expiration_date.is_none()
            && f.credential_number.is_none()
            && f.issuing_officer.is_none()
            && f.status_reason.is_none()
        {
            return Err(AppError::invalid(
                "fields",
                "choose at least one field to update",
            ));
        }
        if input.credential_ids.is_empty() || input.credential_ids.len() > 10_000 {
            return Err(AppError::invalid(
                "credential_ids",
                "give between 1 and 10000 credentials",
            ));
        }
        if f.credential_number.is_some() && input.credential_ids.len() > 1 {
            return Err(AppError::invalid(
                "fields.credential_number",
                "a credential number can be set on one credential at a time",
            ));
        }
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let mut invalid = Invalid::new();
        let (found, missing) = self
            .load_credentials(&mut tx, actor, &input.credential_ids)
            .await?;
        for i in missing {
            invalid.add(
                format!("credential_ids[{i}]"),
                "is not a credential of this agency",
            );
        }
        let positions: std::collections::HashMap<CredentialId, usize> = input
            .credential_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (*id, i))
            .collect();
        let rows: Vec<(usize, CredentialListRow)> = found
            .into_iter()
            .map(|r| (positions.get(&r.credential.id).copied().unwrap_or(0), r))
            .collect();
        let mut type_ids: Vec<CredentialTypeId> = rows
            .iter()
            .map(|(_, r)| r.credential.credential_type_id)
            .collect();
        for (_, r) in &rows {
            actor.refuse_self(r.credential.member_id, "issue or correct credentials")?;
        }
        type_ids.sort_unstable();
        type_ids.dedup();
        let rules = load_rules(&mut tx, actor.agency_id, &type_ids).await?;
        let mut changes: BTreeMap<CredentialTypeId, Vec<Change>> = BTreeMap::new();
        for (i, row) in &rows {
            let field = format!("credential_ids[{i}]");
            let rule = &rules[&row.credential.credential_type_id];
            if let Some(change) = plan_change(&ctx, rule, row, f, &field, &mut invalid) {
                changes.entry(rule.row.id).or_default().push(change);
            }
        }
        if let Some(n) = clean(&f.credential_number) {
            if let Some(t) = type_ids.first() {
                check_numbers_free(
                    &mut tx,
                    &ctx,
                    *t,
                    &[(Some(n), "fields.credential_number".into())],
                    &mut invalid,
                )
                .await?;
            }
        }
        invalid.into_result()?;
        let ids: Vec<CredentialId> = rows.iter().map(|(_, r)| r.credential.id).collect();
        let recording = Recording::start(&mut tx, &ctx, "bulk_update", &ids).await?;
        let mut touched = Vec::with_capacity(rows.len());
        for (type_id, list) in changes {
            let mut issues = Vec::new();
            for change in list {
                match change {
                    Change::Issue(item) => issues.push(item),
                    Change::Amend {
                        credential_id,
                        issuance_id,
                        fields,
                    } => {
                        store::amend_issuance(&mut tx, ctx.agency_id, issuance_id, &fields).await?;
                        touched.push(credential_id);
                        crate::ops::audit::record(
                            &mut tx,
                            actor,
                            "amend_issuance",
                            credential_id,
                            None,
                            Some(&input.fields),
                        )
                        .await?;
                    }
                }
            }
            touched.extend(issues.iter().map(|i| i.credential_id));
            if !issues.is_empty() {
                issue_many(&mut tx, &ctx, &rules[&type_id], issues, "issue").await?;
            }
        }
        refresh_from_history(&mut tx, &ctx, &touched).await?;
        let updated = store::list_rows_by_ids(&mut tx, ctx.agency_id, &ids)
            .await?
            .into_iter()
            .map(view)
            .collect();
        let dry_run = input.dry_run.unwrap_or(false);
        let summary = format!("Updated {} credential(s)", ids.len());
        let operation_id = match dry_run {
            true => None,
            false => Some(recording.finish(&mut tx, &ctx, &ids, &summary).await?),
        };
        settle(tx, dry_run).await?;
        Ok(BulkUpdateResult {
            updated,
            operation_id,
            dry_run,
        })
    }
}

/// Decides and checks what a bulk update does to one credential.
fn plan_change(
    ctx: &Ctx,
    rule: &TypeRules,
    row: &CredentialListRow,
    f: &IssueFields,
    field: &str,
    invalid: &mut Invalid,
) -> Option<Change> {
    let c = &row.credential;
    let action = bulk_update_action(
        c.issuance_id.is_some(),
        c.period_id.is_some(),
        f.issue_date.is_some(),
    );
    if action == BulkUpdateAction::NeedsIssueDate {
        invalid.add(
            field,
            "has never been issued, so there is nothing to correct; include issue_date to issue it",
        );
        return None;
    }
    if let (BulkUpdateAction::Issue, Some(issue_date)) = (action, f.issue_date) {
        let item = IssueItem {
            expiration_date: f.expiration_date,
            credential_number: clean(&f.credential_number),
            issuing_officer: clean(&f.issuing_officer),
            status_reason: clean(&f.status_reason),
            ..IssueItem::new(c.id, c.member_id, issue_date)
        };
        let before = invalid.errors.len();
        check_issue(ctx, rule, row, &item, field, invalid);
        return (invalid.errors.len() == before).then_some(Change::Issue(item));
    }
    let issuance_id = c.issuance_id?;
    let issue = f.issue_date.or(c.issue_date)?;
    let expiration = f.expiration_date.or(c.expiration_date);
    if expiration.is_some_and(|e| e < issue) {
        invalid.add(field, "expiration_date must not be before issue_date");
        return None;
    }
    if f.issue_date.is_some_and(|d| d > ctx.today) {
        invalid.add(field, "issue_date must not be in the future");
        return None;
    }
    let mut fields: Vec<(&'static str, Arg)> = Vec::new();
    if let Some(d) = f.issue_date {
        fields.push(("issue_date", d.into()));
    }
    if let Some(d) = f.expiration_date {
        fields.push(("expiration_date", d.into()));
    }
    for (column, value) in [
        ("credential_number", &f.credential_number),
        ("issuing_officer", &f.issuing_officer),
        ("status_reason", &f.status_reason),
    ] {
        if value.is_some() {
            fields.push((column, Arg::Text(clean(value))));
        }
    }
    Some(Change::Amend {
        credential_id: row.credential.id,
        issuance_id,
        fields,
    })
}

/// Reports numbers already used by another issuance of the type (the unique index is the
/// final guard; this names the field before anything is written).
async fn check_numbers_free(
    tx: &mut Tx,
    ctx: &Ctx,
    type_id: CredentialTypeId,
    numbers: &[(Option<String>, String)],
    invalid: &mut Invalid,
) -> Result<()> {
    let wanted: Vec<String> = numbers.iter().filter_map(|(n, _)| n.clone()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let used: HashMap<String, ()> = store::used_numbers(tx, ctx.agency_id, type_id, &wanted)
        .await?
        .into_iter()
        .map(|n| (n, ()))
        .collect();
    for (n, field) in numbers {
        if n.as_ref().is_some_and(|n| used.contains_key(n)) {
            invalid.add(
                field,
                "credential_number is already used by another credential of this type",
            );
        }
    }
    Ok(())
}
