//! Certificate templates (workflow 6): every agency starts with the two defaults; an admin
//! uploads or edits Typst templates, each checked by rendering it with sample data before
//! it is saved, so a broken template is refused with the line that breaks it.

use chrono::{DateTime, Utc};
use credence_documents::{defaults, Document, Job, RenderError, Renderer, Template};
use credence_domain::ids::{AgencyId, TemplateId};
use credence_store::documents::certificates::{self as store, TemplateRow};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::{Actor, Admin, App, AppError, Reader, Result};

/// Templates larger than this are refused.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    #[schema(value_type = String)]
    pub id: TemplateId,
    pub name: String,
    /// `certificate`, `wallet_card` or `custom`.
    pub kind: String,
    pub version: i64,
    /// The Typst source; it defines `certificate(data)`.
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn view(t: TemplateRow) -> TemplateView {
    TemplateView {
        id: t.id,
        name: t.name,
        kind: t.kind,
        version: t.version,
        source: t.source,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub name: String,
    pub source: String,
    /// The version being edited (required to edit; 409 when stale).
    pub version: Option<i64>,
}

impl App {
    pub(crate) fn renderer(&self) -> Result<&Renderer> {
        self.renderer
            .as_ref()
            .ok_or_else(|| AppError::internal("no certificate renderer is configured"))
    }

    /// Renders an agency's job, turning the worker's limits into client errors that say
    /// what happened. Agencies share the workers fairly (`credence_documents::fair`).
    pub(crate) async fn render(
        &self,
        agency_id: AgencyId,
        job: Job,
    ) -> Result<Vec<credence_documents::Output>> {
        match self.renderer()?.render(agency_id.get(), job).await {
            Ok(outputs) => Ok(outputs),
            Err(e @ (RenderError::TimedOut(_) | RenderError::OutOfMemory(_))) => {
                Err(AppError::invalid("template", e.to_string()))
            }
            Err(RenderError::Failed(e)) => Err(AppError::internal(e)),
        }
    }

    /// The agency's templates; the defaults are added the first time they are asked for.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate_templates(&self, actor: &Reader) -> Result<Vec<TemplateView>> {
        let mut tx = self.store.begin().await?;
        ensure_defaults(&mut tx, actor).await?;
        let rows = store::templates(&mut tx, actor.agency_id).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(view).collect())
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate_template(
        &self,
        actor: &Reader,
        id: TemplateId,
    ) -> Result<TemplateView> {
        let mut tx = self.store.read().await?;
        store::template(&mut tx, actor.agency_id, id)
            .await?
            .map(view)
            .ok_or(AppError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_certificate_template(
        &self,
        actor: &Admin,
        input: TemplateInput,
    ) -> Result<TemplateView> {
        self.check_template(actor, &input).await?;
        let mut tx = self.store.begin().await?;
        ensure_defaults(&mut tx, actor).await?;
        let id = store::insert_template(
            &mut tx,
            actor.agency_id,
            &credence_domain::validation::clean_name(&input.name),
            "custom",
            &input.source,
            &actor.label,
        )
        .await?;
        let row = store::template(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let saved = view(row);
        crate::ops::audit::record(&mut tx, actor, "create", id, None, Some(&audited(&saved)))
            .await?;
        tx.commit().await?;
        Ok(saved)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_certificate_template(
        &self,
        actor: &Admin,
        id: TemplateId,
        input: TemplateInput,
    ) -> Result<TemplateView> {
        let Some(expected) = input.version else {
            return Err(AppError::invalid(
                "version",
                "is required to edit a template",
            ));
        };
        self.check_template(actor, &input).await?;
        let mut tx = self.store.begin().await?;
        let before = store::template(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::update_template(
            &mut tx,
            actor.agency_id,
            id,
            &credence_domain::validation::clean_name(&input.name),
            &input.source,
            expected,
            &actor.label,
        )
        .await?
        .ok_or_else(AppError::stale)?;
        let after = store::template(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let (before, after) = (view(before), view(after));
        crate::ops::audit::record(
            &mut tx,
            actor,
            "update",
            id,
            Some(&audited(&before)),
            Some(&audited(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// A PDF of a template's source with sample data: what the editor shows before saving.
    /// Admin only: a preview runs any Typst program on the shared renderer, and only those
    /// who may save a template need to try one.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn preview_template_source(&self, actor: &Admin, source: &str) -> Result<Vec<u8>> {
        check_size(source)?;
        render_sample(self, actor, source).await
    }

    /// Name and source are sane and the template renders the sample data.
    async fn check_template(&self, actor: &Actor, input: &TemplateInput) -> Result<()> {
        let mut invalid = credence_domain::Invalid::new();
        credence_domain::validation::check_text(&mut invalid, "name", &input.name, 120);
        invalid.into_result()?;
        check_size(&input.source)?;
        render_sample(self, actor, &input.source).await.map(|_| ())
    }
}

fn check_size(source: &str) -> Result<()> {
    if source.trim().is_empty() {
        return Err(AppError::invalid("source", "must not be empty"));
    }
    if source.len() > MAX_TEMPLATE_BYTES {
        return Err(AppError::invalid(
            "source",
            format!("is larger than {} KB", MAX_TEMPLATE_BYTES / 1024),
        ));
    }
    Ok(())
}

/// Renders a template with the sample data, showing the agency's own logo when it has one.
async fn render_sample(app: &App, actor: &Actor, source: &str) -> Result<Vec<u8>> {
    let mut data = defaults::sample_data();
    let mut tx = app.store.read().await?;
    data["agency"]["logo"] =
        crate::documents::agency_logo::current_logo_path(&mut tx, actor.agency_id)
            .await?
            .into();
    drop(tx);
    let files = app.job_files(actor.agency_id, [&data]).await?;
    let job = Job {
        templates: vec![Template {
            source: source.to_owned(),
        }],
        documents: vec![Document { template: 0, data }],
        merge: false,
        files,
    };
    let output = app
        .render(actor.agency_id, job)
        .await?
        .pop()
        .ok_or_else(|| AppError::internal("the renderer answered nothing"))?;
    output.map_err(|e| AppError::invalid("source", e.describe()))
}

/// What the audit log keeps of a template: not its whole source, which the version table
/// already holds.
fn audited(t: &TemplateView) -> serde_json::Value {
    serde_json::json!({"name": t.name, "kind": t.kind, "version": t.version})
}

/// Adds the default templates to an agency that has none.
pub(crate) async fn ensure_defaults(tx: &mut Tx, actor: &Actor) -> Result<()> {
    ensure_defaults_of(tx, actor.agency_id).await
}

/// The same for an agency, from a workflow that holds no actor of its own (issuing).
pub(crate) async fn ensure_defaults_of(tx: &mut Tx, agency_id: AgencyId) -> Result<()> {
    if !store::templates(tx, agency_id).await?.is_empty() {
        return Ok(());
    }
    for (name, kind, source) in defaults::TEMPLATES {
        store::insert_template(tx, agency_id, name, kind, source, "credence").await?;
    }
    Ok(())
}
