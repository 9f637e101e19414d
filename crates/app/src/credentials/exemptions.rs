//! Exemptions and leaves of absence (#20).
//!
//! An officer excuses a member from one requirement of a credential, or from all of them,
//! from today until a date, with a reason (medical leave, deployment). While it is in force
//! the requirement counts as done, so the credential may become Ready to Be Issued; an
//! officer may then issue it, and the issuance records the exemptions it was issued under
//! (`exemption_note`, shown with it and in its audit event) and ends them: they excused the
//! period the issue closes. Exemptions never issue a credential by themselves. The rules are
//! `credence_domain::exemption`'s.
//!
//! A leave of absence pushes back the end and due date of each of the member's open periods
//! that had not ended when it starts, by its length. Withdrawing it before it starts takes
//! exactly that back; once it has begun the extension stands.
//!
//! An exemption names a credential the member already holds a track for (assign it first):
//! progress is computed per track, and an excuse for a credential nobody is working toward
//! has nothing to excuse.

use chrono::{DateTime, Days, NaiveDate, Utc};
use credence_domain::exemption::{self, Leave};
use credence_domain::ids::{
    CredentialId, CredentialTypeId, ExemptionId, LeaveId, MemberId, RequirementId,
};
use credence_store::credentials::exemptions::{
    self as store, ExemptionFilter, ExemptionRow, LeaveRow,
};
use credence_store::Conn;
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::{domain_exemption, refresh, refresh_from_history};
use crate::ops::audit::{record, record_credentials};
use crate::page::{paginate, Page, PageParams};
use crate::{App, AppError, Officer, Reader, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ExemptionView {
    #[schema(value_type = String)]
    pub id: ExemptionId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    /// The member's track for that type.
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    /// The requirement excused; null: every requirement of the credential.
    #[schema(value_type = Option<String>)]
    pub requirement_id: Option<RequirementId>,
    pub requirement_title: Option<String>,
    pub reason: String,
    /// The day it was granted, from which it counts.
    pub starts_on: NaiveDate,
    /// The last day it counts.
    pub until: NaiveDate,
    /// Ended early: it no longer counts from this day.
    pub ended_on: Option<NaiveDate>,
    pub ended_by: Option<String>,
    /// In force today: the excused requirements count as done.
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

pub(crate) fn exemption_view(e: ExemptionRow, today: NaiveDate) -> ExemptionView {
    let active = domain_exemption(&e).in_force(today);
    ExemptionView {
        id: e.id,
        member_id: e.member_id,
        credential_type_id: e.credential_type_id,
        credential_id: e.credential_id,
        requirement_id: e.requirement_id,
        requirement_title: e.requirement_title,
        reason: e.reason,
        starts_on: e.starts_on,
        until: e.until_date,
        ended_on: e.ended_on,
        ended_by: e.ended_by,
        active,
        created_by: e.created_by,
        created_at: e.created_at,
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExemption {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    /// One requirement of that type; omitted: all of them.
    #[schema(value_type = Option<String>)]
    pub requirement_id: Option<RequirementId>,
    /// Why (medical leave, deployment…), at most 500 characters.
    pub reason: String,
    /// The last day it counts, today or later.
    pub until: NaiveDate,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ExemptionListFilter {
    #[param(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    #[param(value_type = Option<String>)]
    pub credential_type_id: Option<CredentialTypeId>,
    /// `true`: only those in force today; `false`: only those that are not.
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeaveView {
    #[schema(value_type = String)]
    pub id: LeaveId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Its length: the days each open period was pushed back by.
    pub days: i64,
    pub reason: String,
    /// The credentials whose period it pushed back (still open).
    #[schema(value_type = Vec<String>)]
    pub extended_credential_ids: Vec<CredentialId>,
    pub withdrawn: bool,
    pub withdrawn_by: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

fn leave_view(l: LeaveRow, extended: Vec<CredentialId>) -> LeaveView {
    let days = Leave {
        starts_on: l.starts_on,
        ends_on: l.ends_on,
    }
    .days();
    LeaveView {
        id: l.id,
        member_id: l.member_id,
        starts_on: l.starts_on,
        ends_on: l.ends_on,
        days: i64::try_from(days).unwrap_or(0),
        reason: l.reason,
        // A withdrawn leave moved nothing that still stands.
        extended_credential_ids: if l.withdrawn_at.is_some() {
            Vec::new()
        } else {
            extended
        },
        withdrawn: l.withdrawn_at.is_some(),
        withdrawn_by: l.withdrawn_by,
        created_by: l.created_by,
        created_at: l.created_at,
    }
}

/// What a credential's trail says about a leave that moved (or gave back) its due date.
fn leave_event(l: &LeaveView) -> serde_json::Value {
    serde_json::json!({
        "leave_id": l.id, "starts_on": l.starts_on, "ends_on": l.ends_on, "days": l.days,
        "reason": l.reason, "withdrawn": l.withdrawn,
    })
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeave {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub starts_on: NaiveDate,
    /// The last day of the leave (inclusive).
    pub ends_on: NaiveDate,
    /// At most 500 characters.
    pub reason: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct LeaveListFilter {
    #[param(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
}

impl App {
    /// The member, or 404 (another agency's included); 422 when inactive.
    async fn active_member(
        &self,
        db: &mut impl Conn,
        actor: &Officer,
        member_id: MemberId,
    ) -> Result<()> {
        let member = credence_store::people::members::member(db, actor.agency_id, member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !member.active {
            return Err(AppError::invalid(
                "member_id",
                format!(
                    "{} {} is inactive; reactivate the member first",
                    member.first_name, member.last_name
                ),
            ));
        }
        Ok(())
    }

    /// Excuses a member from a requirement (or a whole credential) until a date (officers).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_exemption(
        &self,
        actor: &Officer,
        input: NewExemption,
    ) -> Result<ExemptionView> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        self.active_member(&mut tx, actor, input.member_id).await?;
        credence_store::catalog::credential_types::credential_type(
            &mut tx,
            actor.agency_id,
            input.credential_type_id,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        actor.refuse_self(input.member_id, "grant an exemption")?;
        let reason = input.reason.trim().to_string();
        let mut invalid = match exemption::validate(&reason, input.until, ctx.today) {
            Ok(()) => credence_domain::Invalid::new(),
            Err(e) => e,
        };
        if let Some(req) = input.requirement_id {
            let of_type = credence_store::catalog::credential_types::requirements_of(
                &mut tx,
                actor.agency_id,
                &[input.credential_type_id],
            )
            .await?;
            if !of_type.iter().any(|r| r.id == req) {
                invalid.add(
                    "requirement_id",
                    format!("{req} is not a requirement of this credential type"),
                );
            }
        }
        let credential = store::credential_of(
            &mut tx,
            actor.agency_id,
            input.member_id,
            input.credential_type_id,
        )
        .await?;
        if credential.is_none() {
            invalid.add(
                "credential_type_id",
                "the member has no credential of this type; assign it first",
            );
        }
        invalid.into_result()?;
        let credential_id = credential.ok_or(AppError::NotFound)?;
        let id = store::insert_exemption(
            &mut tx,
            actor.agency_id,
            &store::NewExemption {
                member_id: input.member_id,
                credential_type_id: input.credential_type_id,
                credential_id,
                requirement_id: input.requirement_id,
                reason: &reason,
                starts_on: ctx.today,
                until: input.until,
                created_by: &actor.label,
            },
        )
        .await?;
        let row = store::exemption(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let created = exemption_view(row, ctx.today);
        record(&mut tx, actor, "create", id, None, Some(&created)).await?;
        // The credential's own trail says it too: what an inspector reads first.
        record(
            &mut tx,
            actor,
            "exempt",
            credential_id,
            None,
            Some(&created),
        )
        .await?;
        refresh(&mut tx, &ctx, &[credential_id]).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Exemptions of the agency, oldest first; filters by member, type and whether in force.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn exemptions(
        &self,
        actor: &Reader,
        filter: &ExemptionListFilter,
        page: &PageParams,
    ) -> Result<Page<ExemptionView>> {
        let limit = page.limit()?;
        let mut db = self.store.read().await?;
        let today = self.ctx(&mut db, actor).await?.today;
        let rows = store::exemptions_page(
            &mut db,
            actor.agency_id,
            &ExemptionFilter {
                member_id: filter.member_id,
                credential_type_id: filter.credential_type_id,
                in_force_on: filter.active.map(|a| (a, today)),
            },
            page.after()?,
            limit + 1,
        )
        .await?;
        Ok(paginate(
            rows,
            limit,
            |e| e.id.get(),
            |e| exemption_view(e, today),
        ))
    }

    /// Ends an exemption today (officers): from today the requirement counts only if earned.
    /// One already ended or lapsed is a 409.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn end_exemption(&self, actor: &Officer, id: ExemptionId) -> Result<ExemptionView> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let row = store::exemption(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let before = exemption_view(row.clone(), ctx.today);
        if row.ended_on.is_some() || row.until_date < ctx.today {
            return Err(AppError::Conflict(format!(
                "exemption {id} has already ended"
            )));
        }
        // One granted today and ended today never counted; ending it on its first day is
        // the same as never having granted it, and the row keeps that it was.
        store::end_exemption(&mut tx, actor.agency_id, id, ctx.today, &actor.label).await?;
        let after = exemption_view(
            store::exemption(&mut tx, actor.agency_id, id)
                .await?
                .ok_or(AppError::NotFound)?,
            ctx.today,
        );
        record(&mut tx, actor, "end", id, Some(&before), Some(&after)).await?;
        record(
            &mut tx,
            actor,
            "end_exemption",
            row.credential_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        refresh(&mut tx, &ctx, &[row.credential_id]).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Records a leave of absence (officers): each of the member's open periods that had not
    /// ended when it starts is pushed back by its length.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_leave(&self, actor: &Officer, input: NewLeave) -> Result<LeaveView> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        self.active_member(&mut tx, actor, input.member_id).await?;
        actor.refuse_self(input.member_id, "record a leave")?;
        let reason = input.reason.trim().to_string();
        let leave = Leave {
            starts_on: input.starts_on,
            ends_on: input.ends_on,
        };
        exemption::validate_leave(&reason, leave, ctx.today)?;
        let row = store::insert_leave(
            &mut tx,
            actor.agency_id,
            input.member_id,
            input.starts_on,
            input.ends_on,
            &reason,
            &actor.label,
        )
        .await?;
        let periods =
            store::unclosed_periods_of_member(&mut tx, actor.agency_id, input.member_id).await?;
        let moved: Vec<_> = periods
            .into_iter()
            .filter(|p| leave.extends(p.end_date))
            .collect();
        let new_dates: Vec<_> = moved
            .iter()
            .map(|p| (p.id, leave.extended(p.end_date), leave.extended(p.due_date)))
            .collect();
        store::set_period_ends(&mut tx, actor.agency_id, &new_dates).await?;
        let period_ids: Vec<_> = moved.iter().map(|p| p.id).collect();
        let days = i64::try_from(leave.days()).unwrap_or(0);
        store::record_extensions(&mut tx, actor.agency_id, row.id, &period_ids, days).await?;
        let credential_ids: Vec<CredentialId> = moved.iter().map(|p| p.credential_id).collect();
        refresh_from_history(&mut tx, &ctx, &credential_ids).await?;
        let created = leave_view(row, credential_ids);
        record(&mut tx, actor, "create", created.id, None, Some(&created)).await?;
        record_credentials(
            &mut tx,
            &ctx,
            "leave",
            &created.extended_credential_ids,
            &leave_event(&created),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Leaves of the agency or of one member, oldest first.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn leaves(
        &self,
        actor: &Reader,
        filter: &LeaveListFilter,
        page: &PageParams,
    ) -> Result<Page<LeaveView>> {
        let limit = page.limit()?;
        let mut db = self.store.read().await?;
        let rows = store::leaves_page(
            &mut db,
            actor.agency_id,
            filter.member_id,
            page.after()?,
            limit + 1,
        )
        .await?;
        let mut views = Vec::with_capacity(rows.len());
        for l in rows {
            let extended = store::extended_by_leave(&mut db, actor.agency_id, l.id)
                .await?
                .into_iter()
                .map(|(p, _)| p.credential_id)
                .collect();
            views.push((l.id.get(), leave_view(l, extended)));
        }
        Ok(paginate(views, limit, |(id, _)| *id, |(_, v)| v))
    }

    /// Withdraws a leave before it starts (officers): the periods it pushed back return to
    /// their dates. Once it has begun (or when already withdrawn) it is a 409.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn withdraw_leave(&self, actor: &Officer, id: LeaveId) -> Result<LeaveView> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let row = store::leave(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let leave = Leave {
            starts_on: row.starts_on,
            ends_on: row.ends_on,
        };
        if row.withdrawn_at.is_some() {
            return Err(AppError::Conflict(format!(
                "leave {id} was already withdrawn"
            )));
        }
        if !leave.withdrawable(ctx.today) {
            return Err(AppError::Conflict(format!(
                "leave {id} began on {}; the due dates it moved stand",
                row.starts_on
            )));
        }
        let extended = store::extended_by_leave(&mut tx, actor.agency_id, id).await?;
        let before = leave_view(
            row.clone(),
            extended.iter().map(|(p, _)| p.credential_id).collect(),
        );
        let back: Vec<_> = extended
            .iter()
            .map(|(p, days)| {
                let back = |d: NaiveDate| {
                    d.checked_sub_days(Days::new(u64::try_from(*days).unwrap_or(0)))
                        .unwrap_or(d)
                };
                (p.id, back(p.end_date), back(p.due_date))
            })
            .collect();
        store::set_period_ends(&mut tx, actor.agency_id, &back).await?;
        store::withdraw_leave(&mut tx, actor.agency_id, id, &actor.label).await?;
        let credential_ids: Vec<CredentialId> =
            extended.iter().map(|(p, _)| p.credential_id).collect();
        refresh_from_history(&mut tx, &ctx, &credential_ids).await?;
        let after = leave_view(
            store::leave(&mut tx, actor.agency_id, id)
                .await?
                .ok_or(AppError::NotFound)?,
            credential_ids,
        );
        record(&mut tx, actor, "withdraw", id, Some(&before), Some(&after)).await?;
        record_credentials(
            &mut tx,
            &ctx,
            "withdraw_leave",
            &before.extended_credential_ids,
            &leave_event(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
