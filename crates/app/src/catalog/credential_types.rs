//! Credential types: definitions, requirements, enrolment groups and the lifecycle
//! draft → published → retired. Retiring never removes issued credentials.

use credence_domain::ids::{AgencyId, CourseId, CredentialTypeId, GroupId, RequirementId};
use credence_store::Conn;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use credence_domain::credential_type::{
    validate_type, RequirementDraft, RequirementKind, TypeDraft,
};
use credence_domain::hours::{Component, HoursRules};
use credence_domain::{numbering, ExpirationRounding, RenewalPolicy, TypeState};
use credence_store::catalog::credential_types::{
    self as store, CredentialType, Requirement, RequirementFields, TypeFields,
};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::input::{clean, double_option, patch};
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::people::members::agency_group_ids;
use crate::{Actor, Admin, App, AppError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementInput {
    /// Keep an existing requirement (its sign-offs stay attached); omit for a new one.
    #[schema(value_type = Option<String>)]
    pub id: Option<RequirementId>,
    #[schema(value_type = String, example = "course")]
    pub kind: RequirementKind,
    #[schema(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
    /// Minimum score (0–100) for a graded course; defaults to the course's passing grade.
    pub min_grade: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub title: Option<String>,
    /// Hours only: at most this many hours count from any one category.
    pub max_hours_per_category: Option<f64>,
    /// Hours only: at most so many hours count by source kind — manual, import, class, api,
    /// external, or online (records of courses delivered online), e.g. `{"online": 10}`.
    pub max_hours_by_source: Option<BTreeMap<String, f64>>,
    /// Hours only: named parts of the total, each filled from its categories; hours they
    /// leave of the total count from any of the requirement's categories.
    pub components: Option<Vec<ComponentInput>>,
    /// A course counts every time it is completed, not once per period (default false).
    pub repeatable: Option<bool>,
}

/// One component of an hours requirement (NREMT: national, local, individual).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentInput {
    pub name: String,
    pub hours: f64,
    /// Training-record categories whose hours fill it.
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RequirementView {
    #[schema(value_type = String)]
    pub id: RequirementId,
    /// course, hours or checklist.
    pub kind: String,
    #[schema(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
    pub min_grade: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub title: Option<String>,
    pub max_hours_per_category: Option<f64>,
    /// Source kind → hours; empty without caps.
    pub max_hours_by_source: BTreeMap<String, f64>,
    pub components: Vec<ComponentInput>,
    pub repeatable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CredentialTypeView {
    #[schema(value_type = String)]
    pub id: CredentialTypeId,
    pub code: String,
    pub name: String,
    pub description: String,
    /// Members do not see an invisible type.
    pub invisible: bool,
    pub effective_from: Option<NaiveDate>,
    /// For non-recurring types: the date everyone's period ends.
    pub due_date: Option<NaiveDate>,
    pub grace_period_days: i64,
    pub validity_months: Option<i64>,
    /// none, end_of_month or end_of_year.
    pub expiration_rounding: String,
    pub auto_issue: bool,
    /// Every issuance (a renewal's included) gets a certificate from the type's template
    /// when it is made; earlier issuances keep theirs.
    pub auto_certificate: bool,
    /// auto or manual.
    pub renewal: String,
    pub renewal_window_days: Option<i64>,
    pub number_pattern: String,
    /// Reminder thresholds of its own (days before the date, furthest first), which win over
    /// the agency's; `null`: the agency's.
    pub reminder_days: Option<Vec<u32>>,
    pub requirements: Vec<RequirementView>,
    #[schema(value_type = Vec<String>)]
    pub enrolment_group_ids: Vec<GroupId>,
    /// draft, published or retired.
    pub state: String,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialType {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub invisible: Option<bool>,
    pub effective_from: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub grace_period_days: Option<i64>,
    pub validity_months: Option<i64>,
    #[schema(value_type = Option<String>, example = "end_of_month")]
    pub expiration_rounding: Option<ExpirationRounding>,
    pub auto_issue: Option<bool>,
    /// Generate a certificate with every issuance (default false).
    pub auto_certificate: Option<bool>,
    #[schema(value_type = Option<String>, example = "auto")]
    pub renewal: Option<RenewalPolicy>,
    pub renewal_window_days: Option<i64>,
    pub number_pattern: Option<String>,
    /// Its own reminder thresholds (each 0 to 730 days, at most 10); absent or `null`: the
    /// agency's.
    pub reminder_days: Option<Vec<i64>>,
    pub requirements: Option<Vec<RequirementInput>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub enrolment_group_ids: Option<Vec<GroupId>>,
}

impl NewCredentialType {
    /// A type with a code, a name and a description, everything else left to its default
    /// (the demo's types and the starter templates start from this).
    pub fn named(code: &str, name: &str, description: impl Into<String>) -> NewCredentialType {
        NewCredentialType {
            code: code.into(),
            name: name.into(),
            description: Some(description.into()),
            invisible: None,
            effective_from: None,
            due_date: None,
            grace_period_days: None,
            validity_months: None,
            expiration_rounding: None,
            auto_issue: None,
            auto_certificate: None,
            renewal: None,
            renewal_window_days: None,
            number_pattern: None,
            reminder_days: None,
            requirements: None,
            enrolment_group_ids: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialTypePatch {
    pub version: i64,
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub invisible: Option<bool>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub effective_from: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    pub grace_period_days: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub validity_months: Option<Option<i64>>,
    #[schema(value_type = Option<String>)]
    pub expiration_rounding: Option<ExpirationRounding>,
    pub auto_issue: Option<bool>,
    pub auto_certificate: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub renewal: Option<RenewalPolicy>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub renewal_window_days: Option<Option<i64>>,
    pub number_pattern: Option<String>,
    /// Its own reminder thresholds; `null` goes back to the agency's.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<i64>>)]
    pub reminder_days: Option<Option<Vec<i64>>>,
    /// The complete new list; existing requirements are kept by `id`.
    pub requirements: Option<Vec<RequirementInput>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub enrolment_group_ids: Option<Vec<GroupId>>,
}

/// Optional body of publish and retire: the version you read.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleAction {
    pub version: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct TypeListFilter {
    /// draft, published or retired.
    pub state: Option<String>,
}

fn requirement_view(r: &Requirement) -> Result<RequirementView> {
    Ok(RequirementView {
        id: r.id,
        kind: r.kind.as_str().to_string(),
        course_id: r.course_id,
        min_grade: r.min_grade,
        hours: r.hours,
        category: r.category.clone(),
        title: r.title.clone(),
        max_hours_per_category: r.max_hours_per_category,
        max_hours_by_source: stored_caps(r)?,
        components: stored_components(r)?,
        repeatable: r.repeatable,
    })
}

/// The stored caps by source kind (a JSON object); a column that does not decode is an
/// internal error, never an empty default.
pub(crate) fn stored_caps(r: &Requirement) -> Result<BTreeMap<String, f64>> {
    match r.max_hours_by_source.as_deref() {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            AppError::internal(format!("requirement {} max_hours_by_source: {e}", r.id))
        }),
    }
}

/// The stored components (a JSON array), decoded like [`stored_caps`].
pub(crate) fn stored_components(r: &Requirement) -> Result<Vec<ComponentInput>> {
    match r.components.as_deref() {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| AppError::internal(format!("requirement {} components: {e}", r.id))),
    }
}

/// The domain's rules of a stored hours requirement.
pub(crate) fn hours_rules(r: &Requirement) -> Result<HoursRules> {
    Ok(HoursRules {
        max_per_category: r.max_hours_per_category,
        max_by_source: stored_caps(r)?,
        components: stored_components(r)?
            .into_iter()
            .map(|c| Component {
                name: c.name,
                hours: c.hours,
                categories: c.categories,
            })
            .collect(),
        repeatable: r.repeatable,
    })
}

fn view(t: CredentialType, reqs: &[Requirement], groups: &[GroupId]) -> Result<CredentialTypeView> {
    Ok(CredentialTypeView {
        id: t.id,
        code: t.code,
        name: t.name,
        description: t.description,
        invisible: t.invisible,
        effective_from: t.effective_from,
        due_date: t.due_date,
        grace_period_days: t.grace_period_days,
        validity_months: t.validity_months,
        expiration_rounding: t.expiration_rounding.as_str().to_string(),
        auto_issue: t.auto_issue,
        auto_certificate: t.auto_certificate,
        renewal: t.renewal.as_str().to_string(),
        renewal_window_days: t.renewal_window_days,
        number_pattern: t.number_pattern,
        reminder_days: t.reminder_offsets.as_deref().map(|text| {
            let mut days = credence_domain::reminders::parse_offsets(text);
            days.reverse();
            days
        }),
        requirements: reqs.iter().map(requirement_view).collect::<Result<_>>()?,
        enrolment_group_ids: groups.to_vec(),
        state: t.state.as_str().to_string(),
        version: t.version,
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

/// Checks the whole definition, then resolves requirement courses and ids against the
/// agency. Returns the requirement rows to store.
async fn checked_requirements(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: Option<CredentialTypeId>,
    fields: &TypeFields,
    inputs: &[RequirementInput],
) -> Result<Vec<RequirementFields>> {
    let mut invalid = credence_domain::Invalid::new();
    let mut rows = Vec::with_capacity(inputs.len());
    let existing = match type_id {
        Some(t) => store::requirement_ids_of_type(tx, agency_id, t).await?,
        None => Vec::new(),
    };
    let mut drafts = Vec::with_capacity(inputs.len());
    for (i, r) in inputs.iter().enumerate() {
        let field = |name: &str| format!("requirements[{i}].{name}");
        let id = match r.id {
            Some(id) if !existing.contains(&id) => {
                invalid.add(field("id"), "is not a requirement of this credential type");
                None
            }
            id => id,
        };
        let course_id = match r.course_id {
            None => None,
            Some(c) => {
                let course = credence_store::catalog::courses::course(tx, agency_id, c).await?;
                match course {
                    Some(c) => Some(c),
                    None => {
                        invalid.add(field("course_id"), "is not a course of this agency");
                        None
                    }
                }
            }
        };
        let min_grade = r.min_grade.or_else(|| {
            course_id
                .as_ref()
                .filter(|c| c.graded)
                .and_then(|c| c.passing_grade)
        });
        let components: Vec<ComponentInput> = r
            .components
            .iter()
            .flatten()
            .map(|c| ComponentInput {
                name: c.name.trim().to_string(),
                hours: c.hours,
                categories: c.categories.iter().map(|x| x.trim().to_string()).collect(),
            })
            .collect();
        let caps = r.max_hours_by_source.clone().unwrap_or_default();
        let repeatable = r.repeatable.unwrap_or(false);
        drafts.push(RequirementDraft {
            kind: r.kind,
            course_id: course_id.as_ref().map(|c| c.id).or(r.course_id),
            min_grade,
            hours: r.hours,
            category: clean(r.category.clone()),
            title: clean(r.title.clone()),
            max_hours_per_category: r.max_hours_per_category,
            max_hours_by_source: caps.clone(),
            components: components
                .iter()
                .map(|c| Component {
                    name: c.name.clone(),
                    hours: c.hours,
                    categories: c.categories.clone(),
                })
                .collect(),
            repeatable,
        });
        rows.push(RequirementFields {
            id,
            kind: r.kind.as_str().to_string(),
            course_id: course_id.as_ref().map(|c| c.id),
            min_grade,
            hours: r.hours,
            category: clean(r.category.clone()),
            title: clean(r.title.clone())
                .or_else(|| course_id.as_ref().map(|c| c.name.clone()))
                .or_else(|| match (r.kind, r.hours, clean(r.category.clone())) {
                    (RequirementKind::Hours, Some(h), Some(cat)) => {
                        Some(format!("{h} hours of {cat}"))
                    }
                    (RequirementKind::Hours, Some(h), None) => Some(format!("{h} hours")),
                    _ => None,
                }),
            max_hours_per_category: r.max_hours_per_category,
            max_hours_by_source: (!caps.is_empty())
                .then(|| serde_json::to_string(&caps))
                .transpose()
                .map_err(|e| AppError::internal(e.to_string()))?,
            components: (!components.is_empty())
                .then(|| serde_json::to_string(&components))
                .transpose()
                .map_err(|e| AppError::internal(e.to_string()))?,
            repeatable,
        });
    }
    let draft = TypeDraft {
        code: &fields.code,
        name: &fields.name,
        effective_from: fields.effective_from,
        due_date: fields.due_date,
        grace_period_days: fields.grace_period_days,
        validity_months: fields.validity_months,
        renewal_window_days: fields.renewal_window_days,
        number_pattern: &fields.number_pattern,
        requirements: &drafts,
    };
    if let Err(rules) = validate_type(&draft) {
        // Rule errors first, then lookups, each field once.
        let mut all = rules;
        for e in invalid.errors {
            if !all.errors.iter().any(|x| x.field == e.field) {
                all.errors.push(e);
            }
        }
        return Err(all.into());
    }
    invalid.into_result()?;
    Ok(rows)
}

impl App {
    async fn load_type(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        id: CredentialTypeId,
    ) -> Result<CredentialTypeView> {
        let t = store::credential_type(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.role.reads_agency() && (t.invisible || t.state == TypeState::Draft) {
            return Err(AppError::NotFound);
        }
        let reqs = store::requirements_of(db, actor.agency_id, &[id]).await?;
        let groups: Vec<GroupId> = store::enrolment_groups_of(db, actor.agency_id, &[id])
            .await?
            .into_iter()
            .map(|(_, g)| g)
            .collect();
        view(t, &reqs, &groups)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credential_type(
        &self,
        actor: &Actor,
        id: CredentialTypeId,
    ) -> Result<CredentialTypeView> {
        let mut tx = self.store.read().await?;
        self.load_type(&mut tx, actor, id).await
    }

    /// Members see only published, visible types.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn credential_types(
        &self,
        actor: &Actor,
        filter: &TypeListFilter,
        page: &PageParams,
    ) -> Result<Page<CredentialTypeView>> {
        let limit = page.limit()?;
        let state = match filter.state.as_deref() {
            None => None,
            Some(s) => Some(TypeState::parse(s).ok_or_else(|| {
                AppError::invalid("state", "must be draft, published or retired")
            })?),
        };
        let member_view = !actor.role.reads_agency();
        let state = if member_view {
            Some(TypeState::Published)
        } else {
            state
        };
        let mut tx = self.store.read().await?;
        let rows = store::types_page(
            &mut tx,
            actor.agency_id,
            state.map(TypeState::as_str),
            member_view,
            page.after()?,
            limit + 1,
        )
        .await?;
        let type_ids: Vec<CredentialTypeId> = rows.iter().map(|t| t.id).collect();
        let mut reqs: BTreeMap<CredentialTypeId, Vec<Requirement>> = BTreeMap::new();
        for r in store::requirements_of(&mut tx, actor.agency_id, &type_ids).await? {
            reqs.entry(r.credential_type_id).or_default().push(r);
        }
        let mut groups: BTreeMap<CredentialTypeId, Vec<GroupId>> = BTreeMap::new();
        for (t, g) in store::enrolment_groups_of(&mut tx, actor.agency_id, &type_ids).await? {
            groups.entry(t).or_default().push(g);
        }
        let page = paginate(
            rows,
            limit,
            |t| t.id.get(),
            |t| {
                let id = t.id;
                view(
                    t,
                    reqs.get(&id).map(Vec::as_slice).unwrap_or(&[]),
                    groups.get(&id).map(Vec::as_slice).unwrap_or(&[]),
                )
            },
        );
        Ok(Page {
            items: page.items.into_iter().collect::<Result<_>>()?,
            next_cursor: page.next_cursor,
        })
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_credential_type(
        &self,
        actor: &Admin,
        input: NewCredentialType,
    ) -> Result<CredentialTypeView> {
        let fields = TypeFields {
            code: input.code.trim().to_string(),
            name: credence_domain::validation::clean_name(&input.name),
            description: input.description.unwrap_or_default().trim().to_string(),
            invisible: input.invisible.unwrap_or(false),
            effective_from: input.effective_from,
            due_date: input.due_date,
            grace_period_days: input.grace_period_days.unwrap_or(0),
            validity_months: input.validity_months,
            expiration_rounding: input
                .expiration_rounding
                .unwrap_or_default()
                .as_str()
                .to_string(),
            auto_issue: input.auto_issue.unwrap_or(false),
            auto_certificate: input.auto_certificate.unwrap_or(false),
            renewal: input.renewal.unwrap_or_default().as_str().to_string(),
            renewal_window_days: input.renewal_window_days,
            number_pattern: input
                .number_pattern
                .unwrap_or_else(|| numbering::DEFAULT_PATTERN.to_string()),
            certificate_template_id: None,
            reminder_offsets: own_reminders(input.reminder_days.as_deref())?,
        };
        let mut tx = self.store.begin().await?;
        let reqs = checked_requirements(
            &mut tx,
            actor.agency_id,
            None,
            &fields,
            input.requirements.as_deref().unwrap_or(&[]),
        )
        .await?;
        let groups = agency_group_ids(
            &mut tx,
            actor.agency_id,
            "enrolment_group_ids",
            input.enrolment_group_ids.as_deref().unwrap_or(&[]),
        )
        .await?;
        let row = store::insert_type(&mut tx, actor.agency_id, &fields).await?;
        let type_id = row.id;
        store::replace_requirements(&mut tx, actor.agency_id, type_id, &reqs).await?;
        store::replace_enrolment_groups(&mut tx, actor.agency_id, type_id, &groups).await?;
        let created = self.load_type(&mut tx, actor, type_id).await?;
        record(&mut tx, actor, "create", type_id, None, Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_credential_type(
        &self,
        actor: &Admin,
        id: CredentialTypeId,
        input: CredentialTypePatch,
    ) -> Result<CredentialTypeView> {
        let mut tx = self.store.begin().await?;
        let before = self.load_type(&mut tx, actor, id).await?;
        if before.version != input.version {
            return Err(AppError::stale());
        }
        if before.state == TypeState::Retired.as_str() {
            return Err(AppError::Conflict(
                "a retired credential type cannot be changed".into(),
            ));
        }
        let type_id = before.id;
        // The stored row, whose enums were decoded from their columns (the view holds text).
        let stored = store::credential_type(&mut tx, actor.agency_id, type_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let template_id = stored.certificate_template_id;
        let fields = TypeFields {
            code: patch(before.code.clone(), input.code).trim().to_string(),
            name: credence_domain::validation::clean_name(&patch(before.name.clone(), input.name)),
            description: patch(before.description.clone(), input.description)
                .trim()
                .to_string(),
            invisible: patch(before.invisible, input.invisible),
            effective_from: patch(before.effective_from, input.effective_from),
            due_date: patch(before.due_date, input.due_date),
            grace_period_days: patch(before.grace_period_days, input.grace_period_days),
            validity_months: patch(before.validity_months, input.validity_months),
            expiration_rounding: input
                .expiration_rounding
                .unwrap_or(*stored.expiration_rounding)
                .as_str()
                .to_string(),
            auto_issue: patch(before.auto_issue, input.auto_issue),
            auto_certificate: patch(before.auto_certificate, input.auto_certificate),
            renewal: input
                .renewal
                .unwrap_or(*stored.renewal)
                .as_str()
                .to_string(),
            renewal_window_days: patch(before.renewal_window_days, input.renewal_window_days),
            number_pattern: patch(before.number_pattern.clone(), input.number_pattern),
            certificate_template_id: template_id,
            reminder_offsets: match input.reminder_days {
                Some(days) => own_reminders(days.as_deref())?,
                None => stored.reminder_offsets.clone(),
            },
        };
        let current_reqs: Vec<RequirementInput> =
            store::requirements_of(&mut tx, actor.agency_id, &[type_id])
                .await?
                .iter()
                .map(requirement_input)
                .collect::<Result<_>>()?;
        let req_inputs = input.requirements.as_deref().unwrap_or(&current_reqs);
        let reqs =
            checked_requirements(&mut tx, actor.agency_id, Some(type_id), &fields, req_inputs)
                .await?;
        let groups = match input.enrolment_group_ids.as_deref() {
            Some(g) => {
                Some(agency_group_ids(&mut tx, actor.agency_id, "enrolment_group_ids", g).await?)
            }
            None => None,
        };
        store::update_type(
            &mut tx,
            actor.agency_id,
            type_id,
            before.version,
            &fields,
            &before.state,
        )
        .await?
        .ok_or_else(AppError::stale)?;
        if input.requirements.is_some() {
            store::replace_requirements(&mut tx, actor.agency_id, type_id, &reqs).await?;
        }
        if let Some(groups) = groups {
            store::replace_enrolment_groups(&mut tx, actor.agency_id, type_id, &groups).await?;
        }
        let after = self.load_type(&mut tx, actor, before.id).await?;
        record(
            &mut tx,
            actor,
            "update",
            type_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn publish_credential_type(
        &self,
        actor: &Admin,
        id: CredentialTypeId,
        action: LifecycleAction,
    ) -> Result<CredentialTypeView> {
        self.change_state(actor, id, action, "publish", TypeState::publish)
            .await
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn retire_credential_type(
        &self,
        actor: &Admin,
        id: CredentialTypeId,
        action: LifecycleAction,
    ) -> Result<CredentialTypeView> {
        self.change_state(actor, id, action, "retire", TypeState::retire)
            .await
    }

    async fn change_state(
        &self,
        actor: &Admin,
        id: CredentialTypeId,
        action: LifecycleAction,
        verb: &str,
        transition: fn(
            TypeState,
        )
            -> Result<TypeState, credence_domain::credential_type::TransitionError>,
    ) -> Result<CredentialTypeView> {
        let mut tx = self.store.begin().await?;
        let before = self.load_type(&mut tx, actor, id).await?;
        if action.version.is_some_and(|v| v != before.version) {
            return Err(AppError::stale());
        }
        let state = TypeState::parse(&before.state)
            .ok_or_else(|| AppError::internal(format!("unknown state {}", before.state)))?;
        let next = transition(state).map_err(|e| AppError::Conflict(e.to_string()))?;
        let type_id = before.id;
        let row = store::credential_type(&mut tx, actor.agency_id, type_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = type_fields(&row);
        store::update_type(
            &mut tx,
            actor.agency_id,
            type_id,
            before.version,
            &fields,
            next.as_str(),
        )
        .await?
        .ok_or_else(AppError::stale)?;
        let after = self.load_type(&mut tx, actor, before.id).await?;
        record(&mut tx, actor, verb, type_id, Some(&before), Some(&after)).await?;
        if next == TypeState::Retired {
            self.retire_tracks(&mut tx, actor, type_id).await?;
        }
        if next == TypeState::Published {
            // Enrolment groups: their members are assigned as the type goes live.
            let ctx = self.ctx(&mut tx, actor).await?;
            let rules =
                crate::credentials::lifecycle::load_rules(&mut tx, actor.agency_id, &[type_id])
                    .await?;
            let members = store::enrolment_member_ids(&mut tx, actor.agency_id, type_id).await?;
            self.enrol(&mut tx, &ctx, &rules[&type_id], &members)
                .await?;
        }
        tx.commit().await?;
        Ok(after)
    }
}

impl App {
    /// What retiring a type does to its credentials: tracks never issued are withdrawn
    /// (kept, hidden, no reminders), and issued ones keep their issuance until it expires
    /// while their renewal period closes — nothing of a retired type is renewed (seed 003:
    /// completed credentials stay on the member's profile).
    async fn retire_tracks(
        &self,
        tx: &mut Tx,
        actor: &Admin,
        type_id: CredentialTypeId,
    ) -> Result<()> {
        use credence_store::credentials as tracks;
        let withdrawn = tracks::withdraw_unissued(tx, actor.agency_id, type_id).await?;
        credence_store::ops::audit::record_many(
            tx,
            actor.agency_id,
            &actor.label,
            "withdraw",
            &withdrawn,
            Some(r#"{"reason":"credential type retired"}"#),
        )
        .await?;
        let renewing = tracks::issued_with_unclosed_period(tx, actor.agency_id, type_id).await?;
        if !renewing.is_empty() {
            tracks::close_periods(tx, actor.agency_id, &renewing, false).await?;
            let ctx = self.ctx(tx, actor).await?;
            crate::credentials::lifecycle::refresh_from_history(tx, &ctx, &renewing).await?;
        }
        Ok(())
    }
}

fn type_fields(t: &CredentialType) -> TypeFields {
    TypeFields {
        code: t.code.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        invisible: t.invisible,
        effective_from: t.effective_from,
        due_date: t.due_date,
        grace_period_days: t.grace_period_days,
        validity_months: t.validity_months,
        expiration_rounding: t.expiration_rounding.as_str().to_string(),
        auto_issue: t.auto_issue,
        auto_certificate: t.auto_certificate,
        renewal: t.renewal.as_str().to_string(),
        renewal_window_days: t.renewal_window_days,
        number_pattern: t.number_pattern.clone(),
        certificate_template_id: t.certificate_template_id,
        reminder_offsets: t.reminder_offsets.clone(),
    }
}

/// A type's own reminder thresholds as stored, checked; `None` for the agency's.
fn own_reminders(days: Option<&[i64]>) -> Result<Option<String>> {
    let Some(days) = days else {
        return Ok(None);
    };
    let mut invalid = credence_domain::Invalid::new();
    let text = crate::ops::agency::reminder_text(&mut invalid, "reminder_days", days);
    invalid.into_result()?;
    Ok(text)
}

fn requirement_input(r: &Requirement) -> Result<RequirementInput> {
    Ok(RequirementInput {
        id: Some(r.id),
        kind: *r.kind,
        course_id: r.course_id,
        min_grade: r.min_grade,
        hours: r.hours,
        category: r.category.clone(),
        title: r.title.clone(),
        max_hours_per_category: r.max_hours_per_category,
        max_hours_by_source: Some(stored_caps(r)?),
        components: Some(stored_components(r)?),
        repeatable: Some(r.repeatable),
    })
}
