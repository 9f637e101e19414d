//! Record training (single, bulk all-or-nothing, CSV import) and sign off checklist items.
//! Every write recomputes the affected credentials in the same transaction.

use credence_domain::ids::{
    AgencyId, CourseId, CredentialId, MemberId, RequirementId, TrainingRecordId,
};
use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use credence_domain::Invalid;
use credence_store::catalog::courses::Course;
use credence_store::credentials as cred_store;
use credence_store::training::records::{self as store, NewRecord, TrainingRecord};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::{load_rules, refresh, Ctx};
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, App, AppError, Officer, Result};

/// Where a training record came from. The server sets it from the route the record took
/// (a caller cannot claim an approved external certificate or a class it did not hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Typed in on a member's page.
    Manual,
    /// A CSV or spreadsheet import.
    Import,
    /// The results of a class.
    Class,
    /// Sent through the API.
    Api,
    /// An external certificate a member uploaded and an officer approved.
    External,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Import => "import",
            Source::Class => "class",
            Source::Api => "api",
            Source::External => "external",
        }
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTrainingRecord {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    #[schema(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
    pub completed_on: NaiveDate,
    /// 0–100.
    pub score: Option<f64>,
    /// Defaults to the course's hours.
    pub hours: Option<f64>,
    /// Defaults to the course's category.
    pub category: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTrainingRecords {
    pub records: Vec<NewTrainingRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TrainingRecordView {
    #[schema(value_type = String)]
    pub id: TrainingRecordId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    #[schema(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: f64,
    pub category: Option<String>,
    pub source: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub created: Vec<TrainingRecordView>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct TrainingRecordFilter {
    #[param(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    #[param(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOffInput {
    pub signed_on: NaiveDate,
    pub evaluator: String,
}

fn view(r: TrainingRecord) -> TrainingRecordView {
    TrainingRecordView {
        id: r.id,
        member_id: r.member_id,
        course_id: r.course_id,
        completed_on: r.completed_on,
        score: r.score,
        hours: r.hours,
        category: r.category,
        source: r.source,
        created_by: r.created_by,
        created_at: r.created_at,
    }
}

/// The agency's members and courses that a batch of records names, loaded in sets.
pub(crate) struct Known {
    members: HashSet<MemberId>,
    courses: HashMap<CourseId, Course>,
}

impl Known {
    pub(crate) async fn load(
        tx: &mut Tx,
        agency_id: AgencyId,
        inputs: &[NewTrainingRecord],
    ) -> Result<Known> {
        let member_ids: Vec<MemberId> = inputs.iter().map(|r| r.member_id).collect();
        let course_ids: Vec<CourseId> = inputs.iter().filter_map(|r| r.course_id).collect();
        let members =
            credence_store::people::members::existing_member_ids(tx, agency_id, &member_ids)
                .await?
                .into_iter()
                .collect();
        let courses = credence_store::catalog::courses::courses_by_ids(tx, agency_id, &course_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        Ok(Known { members, courses })
    }
}

/// Validates one record against the rules and the agency's members and courses; errors are
/// named `{prefix}field`.
pub(crate) fn check_record(
    ctx: &Ctx,
    known: &Known,
    input: &NewTrainingRecord,
    source: Source,
    prefix: &str,
    invalid: &mut Invalid,
) -> Option<NewRecord> {
    let before = invalid.errors.len();
    let field = |f: &str| format!("{prefix}{f}");
    let member_id = Some(input.member_id).filter(|m| known.members.contains(m));
    if member_id.is_none() {
        invalid.add(field("member_id"), "is not a member of this agency");
    }
    let course = match input.course_id {
        None => None,
        Some(c) => {
            let found = known.courses.get(&c);
            match found {
                None => invalid.add(field("course_id"), "is not a course of this agency"),
                Some(course) if course.retired_at.is_some() => invalid.add(
                    field("course_id"),
                    format!(
                        "names the course {}, which is retired; record training for a current course",
                        course.code
                    ),
                ),
                Some(_) => {}
            }
            found
        }
    };
    invalid.check(
        input.completed_on <= ctx.today,
        &field("completed_on"),
        "must not be in the future",
    );
    if let Some(s) = input.score {
        invalid.check(
            s.is_finite() && (0.0..=100.0).contains(&s),
            &field("score"),
            "must be between 0 and 100",
        );
    }
    if let Some(h) = input.hours {
        invalid.check(
            h.is_finite() && (0.0..=1000.0).contains(&h),
            &field("hours"),
            "must be between 0 and 1000",
        );
    }
    let hours = input
        .hours
        .or(course.as_ref().map(|c| c.hours))
        .unwrap_or(0.0);
    let category = input
        .category
        .clone()
        .filter(|c| !c.trim().is_empty())
        .or(course.as_ref().and_then(|c| c.category.clone()));
    if invalid.errors.len() == before {
        invalid.check(
            input.course_id.is_some() || (hours > 0.0 && category.is_some()),
            &field("course_id"),
            "give a course, or hours with a category",
        );
    }
    if invalid.errors.len() > before {
        return None;
    }
    Some(NewRecord {
        member_id: member_id?,
        course_id: course.map(|c| c.id),
        completed_on: input.completed_on,
        score: input.score,
        hours,
        category,
        source: source.as_str().to_string(),
    })
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn record_training(
        &self,
        actor: &Officer,
        input: NewTrainingRecord,
        source: Source,
    ) -> Result<TrainingRecordView> {
        let mut created = self.record_many(actor, vec![input], "", source).await?;
        Ok(created.remove(0))
    }

    /// All or nothing: every record is checked first; any error is a 422 listing each.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn record_training_bulk(
        &self,
        actor: &Officer,
        input: BulkTrainingRecords,
        source: Source,
    ) -> Result<BulkResult> {
        if input.records.is_empty() {
            return Err(AppError::invalid("records", "must not be empty"));
        }
        if input.records.len() > 10_000 {
            return Err(AppError::invalid(
                "records",
                "at most 10000 records per request",
            ));
        }
        Ok(BulkResult {
            created: self
                .record_many(actor, input.records, "records", source)
                .await?,
        })
    }

    async fn record_many(
        &self,
        actor: &Officer,
        inputs: Vec<NewTrainingRecord>,
        list_field: &str,
        source: Source,
    ) -> Result<Vec<TrainingRecordView>> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let known = Known::load(&mut tx, actor.agency_id, &inputs).await?;
        let mut invalid = Invalid::new();
        let mut records = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let prefix = if list_field.is_empty() {
                String::new()
            } else {
                format!("{list_field}[{i}].")
            };
            records.extend(check_record(
                &ctx,
                &known,
                input,
                source,
                &prefix,
                &mut invalid,
            ));
        }
        invalid.into_result()?;
        for r in &records {
            actor.refuse_self(r.member_id, "record training")?;
        }
        let created = self.store_records(&mut tx, &ctx, &records).await?;
        tx.commit().await?;
        Ok(created.into_iter().map(view).collect())
    }

    /// Inserts validated records, audits them and recomputes the members' credentials.
    pub(crate) async fn store_records(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        records: &[NewRecord],
    ) -> Result<Vec<TrainingRecord>> {
        let created = store::insert_records(tx, ctx.agency_id, records, &ctx.actor).await?;
        let subscribers = crate::notify::webhooks::Subscribers::load(tx, ctx.agency_id).await?;
        let created_event = credence_domain::webhooks::EventType::TrainingRecordCreated;
        if subscribers.wants(created_event) {
            let events = created
                .iter()
                .map(|r| {
                    (
                        created_event,
                        serde_json::json!({
                            "training_record_id": r.id, "member_id": r.member_id, "course_id": r.course_id,
                            "completed_on": r.completed_on, "hours": r.hours, "score": r.score,
                            "category": r.category, "source": r.source,
                        }),
                    )
                })
                .collect();
            subscribers.emit(tx, events).await?;
        }
        let ids: Vec<TrainingRecordId> = created.iter().map(|r| r.id).collect();
        credence_store::ops::audit::record_many(
            tx,
            ctx.agency_id,
            &ctx.actor,
            "create",
            &ids,
            None,
        )
        .await?;
        let mut members: Vec<MemberId> = records.iter().map(|r| r.member_id).collect();
        members.sort_unstable();
        members.dedup();
        let affected =
            cred_store::tracking_credentials_of_members(tx, ctx.agency_id, &members).await?;
        refresh(tx, ctx, &affected).await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn training_records(
        &self,
        actor: &Actor,
        filter: &TrainingRecordFilter,
        page: &PageParams,
    ) -> Result<Page<TrainingRecordView>> {
        let limit = page.limit()?;
        let mut member_id = filter.member_id;
        if !actor.role.reads_agency() {
            let own = actor.member_id.ok_or_else(|| {
                AppError::Forbidden("this login is not linked to a member".into())
            })?;
            if member_id.is_some_and(|m| m != own) {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            member_id = Some(own);
        }
        let course_id = filter.course_id;
        let mut tx = self.store.read().await?;
        let rows = store::records_page(
            &mut tx,
            actor.agency_id,
            member_id,
            course_id,
            page.after()?,
            limit + 1,
        )
        .await?;
        Ok(paginate(rows, limit, |r| r.id.get(), view))
    }

    /// Signs off a checklist requirement of the credential's open period.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn sign_off(
        &self,
        actor: &Officer,
        credential_id: CredentialId,
        requirement: RequirementId,
        input: SignOffInput,
    ) -> Result<crate::credentials::views::CredentialDetail> {
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let row = self.load_credential(&mut tx, actor, credential_id).await?;
        let c = &row.credential;
        actor.refuse_self(c.member_id, "sign off requirements")?;
        let rules = load_rules(&mut tx, actor.agency_id, &[c.credential_type_id]).await?;
        let is_checklist = rules.get(&c.credential_type_id).is_some_and(|r| {
            r.requirements.iter().any(|q| {
                q.id == requirement && q.rule == credence_domain::progress::Rule::Checklist
            })
        });
        if !is_checklist {
            return Err(AppError::NotFound);
        }
        let mut invalid = Invalid::new();
        invalid.check(
            !input.evaluator.trim().is_empty() && input.evaluator.chars().count() <= 200,
            "evaluator",
            "must name who evaluated (at most 200 characters)",
        );
        invalid.check(
            input.signed_on <= ctx.today,
            "signed_on",
            "must not be in the future",
        );
        invalid.into_result()?;
        let period = c.period_id.ok_or_else(|| {
            AppError::Conflict("the credential has no open period to sign off in".into())
        })?;
        let sign_off = store::NewSignOff {
            credential_id: c.id,
            requirement_id: requirement,
            period_id: period,
            signed_on: input.signed_on,
            evaluator: input.evaluator.trim(),
        };
        store::insert_sign_off(&mut tx, ctx.agency_id, &sign_off, &ctx.actor).await?;
        refresh(&mut tx, &ctx, &[c.id]).await?;
        let after = serde_json::json!({"requirement_id": requirement, "signed_on": input.signed_on, "evaluator": input.evaluator.trim()});
        crate::ops::audit::record(&mut tx, actor, "sign_off", c.id, None, Some(&after)).await?;
        let fresh = cred_store::credential(&mut tx, ctx.agency_id, c.id)
            .await?
            .ok_or(AppError::NotFound)?;
        let detail = self.detail(&mut tx, ctx.agency_id, fresh).await?;
        tx.commit().await?;
        Ok(detail)
    }
}
