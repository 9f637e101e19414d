//! Qualifications: a named rule over credential types (`all` or `any`), e.g. "Engine
//! driver" = Driver/Operator + EVOC + CPR. Readiness (`/readiness`) and the scheduler check
//! (`/members/{id}/qualified`) answer them.
//!
//! A qualification names published types only: a draft type has no issuances to count and a
//! retired one is being phased out, so naming either is a mistake caught when saving. A type
//! retired later stays in the rule (members lack it once their cards expire); the page shows
//! it as retired. Deleting a qualification removes it — nothing refers to one, and the audit
//! event keeps what it was.

use std::collections::HashMap;

use credence_domain::ids::{CredentialTypeId, QualificationId};
use credence_domain::qualification::{self as rule, Rule};
use credence_domain::validation::clean_name;
use credence_domain::TypeState;
use credence_store::catalog::qualifications::{self as store, Qualification, TypeRef};
use credence_store::Conn;
use serde::{Deserialize, Serialize};

use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Admin, App, AppError, Reader, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QualificationView {
    #[schema(value_type = String)]
    pub id: QualificationId,
    pub name: String,
    /// The credential types it names, in the order given.
    #[schema(value_type = Vec<String>)]
    pub credential_type_ids: Vec<CredentialTypeId>,
    /// `all`: every type is required; `any`: one is enough.
    #[schema(value_type = String, example = "all")]
    pub rule: Rule,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQualification {
    pub name: String,
    /// Published credential types, at least one.
    #[schema(value_type = Vec<String>)]
    pub credential_type_ids: Vec<CredentialTypeId>,
    /// `all` or `any`.
    pub rule: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationPatch {
    pub version: i64,
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub credential_type_ids: Option<Vec<CredentialTypeId>>,
    /// `all` or `any`.
    pub rule: Option<String>,
}

fn view(q: Qualification, types: Vec<CredentialTypeId>) -> QualificationView {
    QualificationView {
        id: q.id,
        name: q.name,
        credential_type_ids: types,
        rule: *q.rule,
        version: q.version,
        created_at: q.created_at,
        updated_at: q.updated_at,
    }
}

fn parse_rule(value: &str) -> Result<Rule> {
    Rule::parse(value.trim()).ok_or_else(|| AppError::invalid("rule", "must be all or any"))
}

impl App {
    /// The qualification with its types, or 404 (another agency's included).
    pub(crate) async fn load_qualification(
        &self,
        db: &mut impl Conn,
        agency_id: credence_domain::ids::AgencyId,
        id: QualificationId,
    ) -> Result<QualificationView> {
        let q = store::qualification(db, agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let types = store::types_of(db, agency_id, &[id])
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        Ok(view(q, types))
    }

    /// Checks the name and the types: each of `types` that `checked` accepts must be a
    /// published type of the agency (an edit checks only the types it adds).
    async fn check_qualification(
        &self,
        db: &mut impl Conn,
        agency_id: credence_domain::ids::AgencyId,
        name: &str,
        types: &[CredentialTypeId],
        checked: impl Fn(&CredentialTypeId) -> bool,
    ) -> Result<()> {
        rule::validate(name, types)?;
        let asked: Vec<CredentialTypeId> = types.iter().copied().filter(&checked).collect();
        let found: HashMap<CredentialTypeId, TypeRef> = store::type_refs(db, agency_id, &asked)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let mut invalid = credence_domain::Invalid::new();
        for (i, ty) in types.iter().enumerate().filter(|(_, t)| checked(t)) {
            let field = format!("credential_type_ids[{i}]");
            match found.get(ty) {
                None => invalid.add(
                    field,
                    format!("{ty} is not a credential type of this agency"),
                ),
                Some(t) if *t.state == TypeState::Retired => invalid.add(
                    field,
                    format!(
                        "{} is retired; a qualification names published types",
                        t.name
                    ),
                ),
                Some(t) if *t.state == TypeState::Draft => {
                    invalid.add(field, format!("{} is a draft; publish it first", t.name))
                }
                Some(_) => {}
            }
        }
        Ok(invalid.into_result()?)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn qualification(
        &self,
        actor: &Reader,
        id: QualificationId,
    ) -> Result<QualificationView> {
        let mut db = self.store.read().await?;
        self.load_qualification(&mut db, actor.agency_id, id).await
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn qualifications(
        &self,
        actor: &Reader,
        page: &PageParams,
    ) -> Result<Page<QualificationView>> {
        let limit = page.limit()?;
        let mut db = self.store.read().await?;
        let rows =
            store::qualifications_page(&mut db, actor.agency_id, page.after()?, limit + 1).await?;
        let ids: Vec<QualificationId> = rows.iter().map(|q| q.id).collect();
        let mut types: HashMap<QualificationId, Vec<CredentialTypeId>> = HashMap::new();
        for (q, t) in store::types_of(&mut db, actor.agency_id, &ids).await? {
            types.entry(q).or_default().push(t);
        }
        Ok(paginate(
            rows,
            limit,
            |q| q.id.get(),
            |q| {
                let t = types.remove(&q.id).unwrap_or_default();
                view(q, t)
            },
        ))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_qualification(
        &self,
        actor: &Admin,
        input: NewQualification,
    ) -> Result<QualificationView> {
        let name = clean_name(&input.name);
        let rule = parse_rule(&input.rule);
        let mut tx = self.store.begin().await?;
        let checked = self
            .check_qualification(
                &mut tx,
                actor.agency_id,
                &name,
                &input.credential_type_ids,
                |_| true,
            )
            .await;
        let rule = merge_errors(checked, rule)?;
        let row = store::insert_qualification(&mut tx, actor.agency_id, &name, rule).await?;
        store::replace_types(&mut tx, actor.agency_id, row.id, &input.credential_type_ids).await?;
        let created = view(row, input.credential_type_ids);
        record(&mut tx, actor, "create", created.id, None, Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_qualification(
        &self,
        actor: &Admin,
        id: QualificationId,
        input: QualificationPatch,
    ) -> Result<QualificationView> {
        let mut tx = self.store.begin().await?;
        let before = self
            .load_qualification(&mut tx, actor.agency_id, id)
            .await?;
        if before.version != input.version {
            return Err(AppError::stale());
        }
        let name = clean_name(input.name.as_deref().unwrap_or(&before.name));
        let types = input
            .credential_type_ids
            .unwrap_or_else(|| before.credential_type_ids.clone());
        let rule = match input.rule.as_deref() {
            Some(r) => parse_rule(r),
            None => Ok(before.rule),
        };
        // Types already in the rule may have been retired since; keeping them is allowed,
        // adding a retired one is not.
        let kept = before.credential_type_ids.clone();
        let checked = self
            .check_qualification(&mut tx, actor.agency_id, &name, &types, |t| {
                !kept.contains(t)
            })
            .await;
        let rule = merge_errors(checked, rule)?;
        let row =
            store::update_qualification(&mut tx, actor.agency_id, id, input.version, &name, rule)
                .await?
                .ok_or_else(AppError::stale)?;
        store::replace_types(&mut tx, actor.agency_id, id, &types).await?;
        let after = view(row, types);
        record(&mut tx, actor, "update", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Deletes a qualification (admin); the audit event keeps what it was.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn delete_qualification(&self, actor: &Admin, id: QualificationId) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let before = self
            .load_qualification(&mut tx, actor.agency_id, id)
            .await?;
        if !store::delete_qualification(&mut tx, actor.agency_id, id).await? {
            return Err(AppError::NotFound);
        }
        record::<QualificationView>(&mut tx, actor, "delete", id, Some(&before), None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Both the types' check and the rule's parse, their field errors together.
fn merge_errors(checked: Result<()>, rule: Result<Rule>) -> Result<Rule> {
    match (checked, rule) {
        (Ok(()), rule) => rule,
        (Err(AppError::Invalid(mut a)), Err(AppError::Invalid(b))) => {
            a.errors.extend(b.errors);
            Err(AppError::Invalid(a))
        }
        (Err(e), _) => Err(e),
    }
}
