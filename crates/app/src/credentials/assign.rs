//! Assign (seed 000): give members a track for a credential type, either a completion
//! period only (→ Not Started) or an active credential with its renewal period
//! (→ Active – Renewal in Progress), for picked members, groups or everyone. Members who
//! already hold the type are reported, never duplicated. Enrolment groups use the same path.

use chrono::{Months, NaiveDate};
use credence_domain::ids::{CredentialId, CredentialTypeId, GroupId, MemberId, OperationId};
use credence_domain::{dates, Invalid};
use credence_store::credentials::{self as store, PeriodDates, Selection};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use credence_domain::progress;
use credence_domain::status::{CredentialFacts, IssuanceFacts, PeriodFacts, Status};
use credence_store::training::records;

use crate::credentials::lifecycle::{computed, load_rules, refresh, Ctx, TypeRules};
use crate::credentials::operations::{settle, Recording};
use crate::notify::webhooks::Subscribers;
use crate::{Actor, App, AppError, Officer, Result};
use credence_domain::webhooks::EventType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignMode {
    /// Start and end dates; the member works toward the requirements.
    CompletionPeriod,
    /// Issue and expiration dates of a credential the member already holds, plus the
    /// renewal period the type's window gives.
    ActiveWithPeriod,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    pub mode: AssignMode,
    /// Defaults to today (or the type's effective date, if later).
    pub period_start: Option<NaiveDate>,
    /// Defaults to the type's due date.
    pub period_end: Option<NaiveDate>,
    /// Defaults to the period end.
    pub due_date: Option<NaiveDate>,
    pub issue_date: Option<NaiveDate>,
    /// Defaults from the type's validity.
    pub expiration_date: Option<NaiveDate>,
    #[schema(value_type = Option<Vec<String>>)]
    pub member_ids: Option<Vec<MemberId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub group_ids: Option<Vec<GroupId>>,
    pub all_members: Option<bool>,
    /// Answer what would happen and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    /// `already_assigned` or `inactive`.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssignmentResult {
    #[schema(value_type = Vec<String>)]
    pub created: Vec<CredentialId>,
    pub skipped: Vec<Skipped>,
    /// The operation to undo it with (`POST /operations/{id}/undo`); none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

/// The validated dates of an assignment.
pub(crate) enum Plan {
    Period(PeriodDates),
    Active {
        issue_date: NaiveDate,
        expiration_date: Option<NaiveDate>,
    },
}

/// Checks that the type can be assigned now.
pub(crate) fn check_assignable(rule: &TypeRules) -> Result<()> {
    let state = *rule.row.state;
    if !state.assignable() {
        return Err(AppError::invalid(
            "credential_type_id",
            format!(
                "the credential type is {}; only published types can be assigned",
                state.as_str()
            ),
        ));
    }
    Ok(())
}

fn plan(input: &Assignment, rule: &TypeRules, today: NaiveDate) -> Result<Plan> {
    let mut invalid = Invalid::new();
    let plan = match input.mode {
        AssignMode::CompletionPeriod => {
            let start = input
                .period_start
                .unwrap_or_else(|| rule.row.effective_from.map_or(today, |e| e.max(today)));
            let end = input.period_end.or(rule.row.due_date);
            if let Some(from) = rule.row.effective_from {
                invalid.check(
                    start >= from,
                    "period_start",
                    &format!("the credential type is effective from {from}"),
                );
            }
            let Some(end) = end else {
                return Err(AppError::invalid(
                    "period_end",
                    "is required (the type has no due date to default to)",
                ));
            };
            invalid.check(
                end >= start,
                "period_end",
                "must not be before period_start",
            );
            if let Some(due) = rule.row.due_date {
                invalid.check(
                    end <= due,
                    "period_end",
                    &format!("must not be after the type's due date {due}"),
                );
            }
            let due = input.due_date.unwrap_or(end);
            if end >= start {
                invalid.check(
                    due <= end && due >= start,
                    "due_date",
                    "must fall within the period",
                );
            }
            invalid.check(
                input.issue_date.is_none() && input.expiration_date.is_none(),
                "mode",
                "issue and expiration dates belong to mode active_with_period",
            );
            Plan::Period(PeriodDates { start, end, due })
        }
        AssignMode::ActiveWithPeriod => {
            let Some(issue_date) = input.issue_date else {
                return Err(AppError::invalid(
                    "issue_date",
                    "is required for mode active_with_period",
                ));
            };
            invalid.check(
                issue_date <= today,
                "issue_date",
                "must not be in the future",
            );
            let expiration_date = input
                .expiration_date
                .or_else(|| rule.expiration_for(issue_date));
            if let Some(e) = expiration_date {
                invalid.check(
                    e >= issue_date,
                    "expiration_date",
                    "must not be before issue_date",
                );
            }
            invalid.check(
                input.period_start.is_none() && input.period_end.is_none() && input.due_date.is_none(),
                "mode",
                "the renewal period follows from the type's renewal window; period dates belong to mode completion_period",
            );
            Plan::Active {
                issue_date,
                expiration_date,
            }
        }
    };
    invalid.into_result()?;
    Ok(plan)
}

fn selection(input: &Assignment) -> Result<Selection> {
    let chosen = [
        input.member_ids.is_some(),
        input.group_ids.is_some(),
        input.all_members == Some(true),
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(AppError::invalid(
            "member_ids",
            "give exactly one of member_ids, group_ids or all_members: true",
        ));
    }
    Ok(match (&input.member_ids, &input.group_ids) {
        (Some(m), _) => Selection::Members(m.clone()),
        (_, Some(g)) => Selection::Groups(g.clone()),
        _ => Selection::All,
    })
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn assign(&self, actor: &Officer, input: Assignment) -> Result<AssignmentResult> {
        let type_id = input.credential_type_id;
        let selection = selection(&input)?;
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let rules = load_rules(&mut tx, actor.agency_id, &[type_id]).await?;
        let rule = rules.get(&type_id).ok_or_else(|| {
            AppError::invalid(
                "credential_type_id",
                "is not a credential type of this agency",
            )
        })?;
        check_assignable(rule)?;
        let plan = plan(&input, rule, ctx.today)?;
        if let Selection::Groups(groups) = &selection {
            let found = credence_store::people::groups::existing_group_ids(
                &mut tx,
                actor.agency_id,
                groups,
            )
            .await?;
            if let Some(missing) = groups.iter().find(|g| !found.contains(g)) {
                return Err(AppError::invalid(
                    "group_ids",
                    format!("{missing} is not a group of this agency"),
                ));
            }
        }
        let selected =
            store::selected_members(&mut tx, actor.agency_id, type_id, &selection).await?;
        if let Selection::Members(wanted) = &selection {
            if let Some(missing) = wanted
                .iter()
                .find(|m| !selected.iter().any(|(id, _, _)| id == *m))
            {
                return Err(AppError::invalid(
                    "member_ids",
                    format!("{missing} is not a member of this agency"),
                ));
            }
        }
        let mut skipped = Vec::new();
        let mut to_create = Vec::with_capacity(selected.len());
        for (member_id, active, holds) in selected {
            let reason = if holds {
                Some("already_assigned")
            } else if !active {
                Some("inactive")
            } else {
                None
            };
            match reason {
                Some(r) => skipped.push(Skipped {
                    member_id,
                    reason: r.into(),
                }),
                None => to_create.push(member_id),
            }
        }
        to_create.sort_unstable();
        to_create.dedup();
        let recording = Recording::start(&mut tx, &ctx, "assign", &[]).await?;
        let created = create_tracks(&mut tx, &ctx, rule, &to_create, &plan, "assign").await?;
        let dry_run = input.dry_run.unwrap_or(false);
        let summary = format!("Assigned {} to {} member(s)", rule.row.name, created.len());
        let operation_id = match dry_run {
            true => None,
            false => Some(recording.finish(&mut tx, &ctx, &created, &summary).await?),
        };
        settle(tx, dry_run).await?;
        Ok(AssignmentResult {
            created,
            skipped,
            operation_id,
            dry_run,
        })
    }

    /// Enrolment rules: assigns `type`'s completion period to the given members who do not
    /// hold it yet (on publish, and when members join an enrolment group).
    pub(crate) async fn enrol(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        rule: &TypeRules,
        member_ids: &[MemberId],
    ) -> Result<Vec<CredentialId>> {
        let selected = store::selected_members(
            tx,
            ctx.agency_id,
            rule.row.id,
            &Selection::Members(member_ids.to_vec()),
        )
        .await?;
        let mut to_create: Vec<MemberId> = selected
            .into_iter()
            .filter(|(_, active, holds)| *active && !holds)
            .map(|(id, _, _)| id)
            .collect();
        to_create.sort_unstable();
        to_create.dedup();
        if to_create.is_empty() {
            return Ok(Vec::new());
        }
        let start = rule
            .row
            .effective_from
            .map_or(ctx.today, |e| e.max(ctx.today));
        let months = rule.validity().unwrap_or(12);
        let end = rule
            .row
            .due_date
            .unwrap_or_else(|| {
                start
                    .checked_add_months(Months::new(months))
                    .unwrap_or(start)
            })
            .max(start);
        create_tracks(
            tx,
            ctx,
            rule,
            &to_create,
            &Plan::Period(PeriodDates {
                start,
                end,
                due: end,
            }),
            "enrol",
        )
        .await
    }
}

impl App {
    /// Members who joined groups get the published types those groups enrol in.
    pub(crate) async fn enrol_joiners(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        group_ids: &[GroupId],
        member_ids: &[MemberId],
    ) -> Result<()> {
        if member_ids.is_empty() {
            return Ok(());
        }
        let type_ids = credence_store::catalog::credential_types::published_types_enrolling(
            tx,
            actor.agency_id,
            group_ids,
        )
        .await?;
        if type_ids.is_empty() {
            return Ok(());
        }
        let ctx = self.ctx(tx, actor).await?;
        let rules = load_rules(tx, actor.agency_id, &type_ids).await?;
        for t in &type_ids {
            self.enrol(tx, &ctx, &rules[t], member_ids).await?;
        }
        Ok(())
    }
}

/// Creates the credentials and their first period or issuance, set-based. Everything the
/// new tracks' status depends on is known before they are written (the plan's dates, and
/// each member's training records inside the new period's window), so each credential row
/// is inserted once with its final status; only auto-issue candidates go through
/// [`refresh`] afterwards. Every credential created is audited.
pub(crate) async fn create_tracks(
    tx: &mut Tx,
    ctx: &Ctx,
    rule: &TypeRules,
    member_ids: &[MemberId],
    plan: &Plan,
    action: &str,
) -> Result<Vec<CredentialId>> {
    if member_ids.is_empty() {
        return Ok(Vec::new());
    }
    let (issue, period) = match plan {
        Plan::Period(d) => (None, Some(*d)),
        Plan::Active {
            issue_date,
            expiration_date,
        } => {
            let renewal = dates::renewal_period(*issue_date, *expiration_date, rule.window_days())
                .map(|(start, end)| PeriodDates {
                    start,
                    end,
                    due: end,
                });
            (Some((*issue_date, *expiration_date)), renewal)
        }
    };
    let starts = track_starts(tx, ctx, rule, member_ids, issue, period).await?;
    let mut created = Vec::with_capacity(member_ids.len());
    let mut to_issue = Vec::new();
    // Held credentials are recorded as issued: webhooks hear `credential.issued`.
    let subscribers = Subscribers::load(tx, ctx.agency_id).await?;
    let mut issued_events = Vec::new();
    for (start, members) in &starts {
        let pairs =
            store::insert_tracks(tx, ctx.agency_id, rule.row.id, members, start, &ctx.actor)
                .await?;
        if let (Some(issue_date), true) = (start.issue_date, subscribers.wants(EventType::Issued)) {
            issued_events.extend(pairs.iter().map(|(c, m)| {
                (
                    EventType::Issued,
                    serde_json::json!({
                        "credential_id": c, "member_id": m, "credential_type_id": rule.row.id,
                        "issue_date": issue_date, "expiration_date": start.expiration_date,
                        "credential_number": null,
                    }),
                )
            }));
        }
        let ids: Vec<CredentialId> = pairs.into_iter().map(|(c, _)| c).collect();
        if rule.row.auto_issue && start.computed.status == Status::ReadyToBeIssued {
            to_issue.extend(ids.iter().copied());
        }
        created.extend(ids);
    }
    subscribers.emit(tx, issued_events).await?;
    // Held credentials recorded for a type that certifies every issuance get their
    // certificates too, queued for the background renderer.
    if rule.row.auto_certificate && issue.is_some() {
        crate::documents::certificates::request_certificates(tx, ctx, &created).await?;
    }
    refresh(tx, ctx, &to_issue).await?;
    let audit = match plan {
        Plan::Period(d) => {
            serde_json::json!({"mode": "completion_period", "credential_type_id": rule.row.id,
            "period_start": d.start, "period_end": d.end, "due_date": d.due})
        }
        Plan::Active {
            issue_date,
            expiration_date,
        } => serde_json::json!({"mode": "active_with_period",
            "credential_type_id": rule.row.id, "issue_date": issue_date, "expiration_date": expiration_date}),
    };
    credence_store::ops::audit::record_many(
        tx,
        ctx.agency_id,
        &ctx.actor,
        action,
        &created,
        Some(&audit.to_string()),
    )
    .await?;
    Ok(created)
}

/// The starting status of each member's new track, members grouped by identical starts.
/// Progress counts the member's records already inside the period's window (the grace
/// period of seed 003); a renewal period opened by the recorded issuance counts only
/// records after it.
async fn track_starts(
    tx: &mut Tx,
    ctx: &Ctx,
    rule: &TypeRules,
    member_ids: &[MemberId],
    issue: Option<(NaiveDate, Option<NaiveDate>)>,
    period: Option<PeriodDates>,
) -> Result<Vec<(store::TrackStart, Vec<MemberId>)>> {
    let window =
        period.map(|p| dates::counting_window(p.start, p.end, rule.grace(), issue.map(|i| i.0)));
    let mut records: HashMap<MemberId, Vec<progress::Record>> = HashMap::new();
    if let (Some(w), false) = (window, rule.requirements.is_empty()) {
        let online = crate::credentials::lifecycle::online_courses(tx, ctx.agency_id).await?;
        for r in records::records_of_members(tx, ctx.agency_id, member_ids, w.0).await? {
            records
                .entry(r.member_id)
                .or_default()
                .push(crate::credentials::lifecycle::progress_record(&r, &online));
        }
    }
    let mut groups: HashMap<store::TrackStart, Vec<MemberId>> = HashMap::new();
    for m in member_ids {
        let progress = match window {
            Some(w) => progress::progress_of(
                &rule.requirements,
                records.get(m).map(Vec::as_slice).unwrap_or(&[]),
                &[],
                w,
            ),
            None => progress::progress_without_period(issue.is_some()),
        };
        let facts = CredentialFacts {
            latest_issuance: issue.map(|(issue_date, expiration_date)| IssuanceFacts {
                issue_date,
                expiration_date,
                revoked: false,
            }),
            unclosed_period: period.map(|p| PeriodFacts {
                start: p.start,
                end: p.end,
            }),
            progress,
            auto_issue: rule.row.auto_issue,
        };
        let start = store::TrackStart {
            computed: computed(ctx, &facts),
            issue_date: issue.map(|i| i.0),
            expiration_date: issue.and_then(|i| i.1),
            period,
        };
        groups.entry(start).or_default().push(*m);
    }
    Ok(groups.into_iter().collect())
}
