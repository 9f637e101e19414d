//! Certificates (workflow 6, seed 004): generated from a template for one issuance, a class
//! roster or every issuance of a type in a date range; previewed, merged for printing,
//! regenerated after a correction (the old file stays in history), issued (locked) and
//! e-mailed. The Credential Register lists them; `/verify/{public_id}` answers anyone who
//! scans the QR code on one.

use credence_domain::ids::{
    AgencyId, CertificateId, ClassId, CredentialId, CredentialTypeId, IssuanceId, MemberId,
    OperationId, TemplateId,
};
use credence_store::Conn;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use credence_documents::{Document, Job, Template};
use credence_store::documents::certificates::{
    self as store, CertificateRow, IssuanceFacts, NewCertificate, RegisterFilter, TemplateRow,
};
use credence_store::training::submissions::{insert_file, NewFile};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::Ctx;
use crate::credentials::operations::Recording;
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, App, AppError, Officer, Reader, Result};

/// At most this many certificates in one request.
pub const MAX_BATCH: usize = 2000;

/// The background renderer claims this many queued certificates at a time, holds a claim
/// this long, renders at most this many in one pass (so that a stopping server waits
/// seconds, not minutes), and gives up on a certificate after this many failed attempts
/// (retried after 1, 4, 9, 16 minutes).
const RENDER_BATCH: i64 = 50;
const RENDER_LEASE_MINUTES: i64 = 10;
const RENDER_PASS_LIMIT: usize = 1000;
const RENDER_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    ReadyToBeRequested,
    Generated,
    Issued,
    /// Its issuance was revoked: whatever the certificate's own state, it proves nothing.
    Revoked,
}

impl CertificateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::ReadyToBeRequested => "ready_to_be_requested",
            CertificateStatus::Generated => "generated",
            CertificateStatus::Issued => "issued",
            CertificateStatus::Revoked => "revoked",
        }
    }

    /// The status a register shows: revoked once its issuance is, else the stored state.
    fn of_row(r: &CertificateRow) -> CertificateStatus {
        if r.revoked_at.is_some() {
            return CertificateStatus::Revoked;
        }
        match r.status.as_str() {
            "issued" => CertificateStatus::Issued,
            "generated" => CertificateStatus::Generated,
            // The column's CHECK constraint admits only these three.
            _ => CertificateStatus::ReadyToBeRequested,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    #[schema(value_type = String)]
    pub id: CertificateId,
    pub public_id: String,
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub member_name: String,
    #[schema(value_type = String)]
    pub credential_type_id: CredentialTypeId,
    pub credential_type_name: String,
    #[schema(value_type = String)]
    pub template_id: TemplateId,
    pub template_name: String,
    pub template_version: i64,
    pub status: CertificateStatus,
    pub number: Option<String>,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub verify_url: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub generated_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: Option<String>,
}

fn verify_url_at(public_url: &str, public_id: &str) -> String {
    format!("{public_url}/verify/{public_id}")
}

impl App {
    fn verify_url(&self, public_id: &str) -> String {
        verify_url_at(&self.public_url, public_id)
    }

    fn certificate_view(&self, r: CertificateRow) -> CertificateView {
        let status = CertificateStatus::of_row(&r);
        CertificateView {
            id: r.id,
            verify_url: self.verify_url(&r.public_id),
            public_id: r.public_id,
            credential_id: r.credential_id,
            member_id: r.member_id,
            member_name: format!("{} {}", r.first_name, r.last_name),
            credential_type_id: r.credential_type_id,
            credential_type_name: r.type_name,
            template_id: r.template_id,
            template_name: r.template_name,
            template_version: r.template_version,
            status,
            number: r.number,
            issue_date: r.issue_date,
            expiration_date: r.expiration_date,
            created_by: r.created_by,
            created_at: r.created_at,
            generated_at: r.generated_at,
            issued_at: r.issued_at,
            issued_by: r.issued_by,
        }
    }
}

/// What to generate certificates for: exactly one of the three selections.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Credentials whose current issuance gets a certificate.
    #[schema(value_type = Option<Vec<String>>)]
    pub credential_ids: Option<Vec<CredentialId>>,
    /// A class: its roster's credentials whose type asks for the class's course.
    #[schema(value_type = Option<String>)]
    pub class_id: Option<ClassId>,
    /// Every issuance of a type issued between `issued_from` and `issued_to`.
    #[schema(value_type = Option<String>)]
    pub credential_type_id: Option<CredentialTypeId>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    /// The template; by default the type's own, else the agency's landscape certificate.
    #[schema(value_type = Option<String>)]
    pub template_id: Option<TemplateId>,
    /// `false` records the requests (Ready to Be Requested) without rendering yet.
    pub generate: Option<bool>,
    /// Answer what would be generated, with its warnings, and write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SkippedCredential {
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    /// Skipped: `no_current_issuance`. Warnings: `expired` (the issuance is no longer
    /// valid), `already_certified` (it already has an issued certificate).
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Generated {
    /// The certificates made (none on a dry run).
    pub items: Vec<CertificateView>,
    /// The credentials that get (or on a dry run would get) a certificate.
    #[schema(value_type = Vec<String>)]
    pub credential_ids: Vec<CredentialId>,
    pub skipped: Vec<SkippedCredential>,
    /// Generated anyway, but worth a second look: read them on a dry run first.
    pub warnings: Vec<SkippedCredential>,
    /// The operation to undo it with; none on a dry run.
    #[schema(value_type = Option<String>)]
    pub operation_id: Option<OperationId>,
    pub dry_run: bool,
}

/// The register's filters.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct RegisterQuery {
    pub status: Option<CertificateStatus>,
    #[param(value_type = Option<String>)]
    pub credential_type_id: Option<CredentialTypeId>,
    #[param(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    #[param(value_type = Option<String>)]
    pub credential_id: Option<CredentialId>,
    /// The certificates of a class's roster (its credentials whose type asks for the class's
    /// course).
    #[param(value_type = Option<String>)]
    pub class_id: Option<ClassId>,
    /// Matches member name, certificate number or credential type name.
    pub q: Option<String>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
}

/// What the public verification page shows, and nothing more.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub public_id: String,
    pub holder: String,
    pub credential_type: String,
    /// The issuing agency.
    pub agency: String,
    /// The certificate's own number.
    pub number: Option<String>,
    /// The credential number of the issuance it certifies.
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    /// `valid`, `expired` or `revoked`.
    pub status: &'static str,
    /// The day the issuance was revoked and why.
    pub revoked_on: Option<NaiveDate>,
    pub revocation_reason: Option<String>,
    /// The day (in the agency's time zone) the status was worked out for: today.
    pub checked_on: NaiveDate,
}

/// What certificates show of the agency: its name and the path of its current logo.
#[derive(Debug, Clone)]
pub struct Branding {
    pub name: String,
    pub logo: Option<String>,
}

/// The data a template sees for one certificate. Dates come both as ISO text and written
/// out, so templates need no date logic. The logo is a path the render job serves, so
/// the data records which logo the certificate was made with.
pub fn certificate_data(
    facts: &IssuanceFacts,
    agency: &Branding,
    public_id: &str,
    verify_url: &str,
) -> serde_json::Value {
    let long = |d: NaiveDate| d.format("%B %-d, %Y").to_string();
    serde_json::json!({
        "member": {
            "name": format!("{} {}", facts.first_name, facts.last_name),
            "first_name": facts.first_name,
            "last_name": facts.last_name,
            "employee_number": facts.employee_number,
            "email": facts.email,
        },
        "credential_type": {
            "name": facts.type_name,
            "code": facts.type_code,
            "description": facts.type_description,
        },
        "issuance": {
            "number": facts.number,
            "issue_date": facts.issue_date,
            "expiration_date": facts.expiration_date,
            "issue_date_text": long(facts.issue_date),
            "expiration_date_text": facts.expiration_date.map(long),
            "officer": facts.officer,
            "status_reason": facts.status_reason,
        },
        "agency": { "name": agency.name, "logo": agency.logo },
        "certificate": { "public_id": public_id, "verify_url": verify_url },
    })
}

/// The templates a batch uses, each once, in the order a job lists them.
#[derive(Default)]
struct TemplateSet {
    index: HashMap<(TemplateId, i64), usize>,
    sources: Vec<Template>,
}

impl TemplateSet {
    fn add(&mut self, id: TemplateId, version: i64, source: &str) -> usize {
        *self.index.entry((id, version)).or_insert_with(|| {
            self.sources.push(Template {
                source: source.to_owned(),
            });
            self.sources.len() - 1
        })
    }
}

/// One certificate about to be written.
struct Pending {
    certificate_id: Option<CertificateId>,
    facts: IssuanceFacts,
    template: (TemplateId, i64),
    public_id: String,
    data: serde_json::Value,
    pdf: Option<Vec<u8>>,
}

impl App {
    /// Generates (or only requests) certificates for a selection, in one transaction.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn generate_certificates(
        &self,
        actor: &Officer,
        req: GenerateRequest,
    ) -> Result<Generated> {
        let render_now = req.generate.unwrap_or(true);
        let mut tx = self.store.read().await?;
        let (facts, skipped) = select_issuances(&mut tx, actor, &req).await?;
        if facts.len() > MAX_BATCH {
            return Err(AppError::invalid(
                "credential_ids",
                format!(
                    "selects {} certificates; at most {MAX_BATCH} at a time",
                    facts.len()
                ),
            ));
        }
        let chosen = req.template_id;
        let today = self.ctx(&mut tx, actor).await?.today;
        let warnings = certificate_warnings(&mut tx, actor, &facts, today).await?;
        let credential_ids: Vec<CredentialId> = facts.iter().map(|f| f.credential_id).collect();
        drop(tx);
        if req.dry_run.unwrap_or(false) {
            return Ok(Generated {
                items: Vec::new(),
                credential_ids,
                skipped,
                warnings,
                operation_id: None,
                dry_run: true,
            });
        }
        let mut tx = self.store.begin().await?;
        crate::documents::templates::ensure_defaults(&mut tx, actor).await?;
        let templates = store::templates(&mut tx, actor.agency_id).await?;
        tx.commit().await?;
        if let Some(id) = chosen {
            if !templates.iter().any(|t| t.id == id) {
                return Err(AppError::invalid(
                    "template_id",
                    "is not a template of this agency",
                ));
            }
        }
        let agency = self.branding(actor).await?;
        let mut set = TemplateSet::default();
        let mut pending = Vec::with_capacity(facts.len());
        for f in facts {
            let template = pick_template(&templates, chosen, f.type_template_id);
            set.add(template.id, template.version, &template.source);
            let public_id = new_public_id();
            let data = certificate_data(&f, &agency, &public_id, &self.verify_url(&public_id));
            pending.push(Pending {
                certificate_id: None,
                facts: f,
                template: (template.id, template.version),
                public_id,
                data,
                pdf: None,
            });
        }
        if render_now {
            self.render_pending(actor, &set, &mut pending).await?;
        }
        let (ids, operation_id) = self
            .write_certificates(actor, pending, "generate", Some(&credential_ids))
            .await?;
        let mut tx = self.store.read().await?;
        let rows = store::certificates_by_ids(&mut tx, actor.agency_id, &ids).await?;
        Ok(Generated {
            items: rows.into_iter().map(|r| self.certificate_view(r)).collect(),
            credential_ids,
            skipped,
            warnings,
            operation_id,
            dry_run: false,
        })
    }

    async fn branding(&self, actor: &Actor) -> Result<Branding> {
        let mut tx = self.store.read().await?;
        branding_of(&mut tx, actor.agency_id).await
    }

    /// Renders every pending certificate; any template error refuses the whole batch.
    async fn render_pending(
        &self,
        actor: &Actor,
        set: &TemplateSet,
        pending: &mut [Pending],
    ) -> Result<()> {
        let files = self
            .job_files(actor.agency_id, pending.iter().map(|p| &p.data))
            .await?;
        let job = Job {
            templates: set.sources.clone(),
            documents: pending
                .iter()
                .map(|p| Document {
                    template: set.index[&p.template],
                    data: p.data.clone(),
                })
                .collect(),
            merge: false,
            files,
        };
        let outputs = self.render(actor.agency_id, job).await?;
        let mut invalid = credence_domain::Invalid::new();
        for (i, (p, output)) in pending.iter_mut().zip(outputs).enumerate() {
            match output {
                Ok(pdf) => p.pdf = Some(pdf),
                Err(e) => invalid.add(
                    format!("items[{i}]"),
                    format!(
                        "{} {}: the template failed at {}",
                        p.facts.first_name,
                        p.facts.last_name,
                        e.describe()
                    ),
                ),
            }
        }
        invalid.into_result().map_err(AppError::from)
    }

    /// Stores the files, then writes every row in one transaction; on failure the stored
    /// files are removed again, so nothing is half-written.
    ///
    /// With `operation` (the credentials it is for), the write is recorded as an operation
    /// that can be undone.
    async fn write_certificates(
        &self,
        actor: &Actor,
        pending: Vec<Pending>,
        action: &str,
        operation: Option<&[CredentialId]>,
    ) -> Result<(Vec<CertificateId>, Option<OperationId>)> {
        let mut keys = Vec::new();
        for p in &pending {
            keys.push(match &p.pdf {
                Some(pdf) => {
                    let key = crate::documents::files::new_key(actor.agency_id, "pdf");
                    self.files.put(&key, pdf.clone()).await?;
                    Some(key)
                }
                None => None,
            });
        }
        let written = async {
            let mut tx = self.store.begin().await?;
            let ctx = self.ctx(&mut tx, actor).await?;
            let recording = match operation {
                Some(credentials) => {
                    Some(Recording::start(&mut tx, &ctx, "certificates", credentials).await?)
                }
                None => None,
            };
            let mut ids = Vec::with_capacity(pending.len());
            for (p, key) in pending.iter().zip(&keys) {
                ids.push(write_one(&mut tx, actor, p, key.as_deref()).await?);
            }
            credence_store::ops::audit::record_many(
                &mut tx,
                actor.agency_id,
                &actor.label,
                action,
                &ids,
                None,
            )
            .await?;
            let operation_id = match (recording, operation) {
                (Some(r), Some(credentials)) => {
                    let summary = format!("Generated {} certificate(s)", ids.len());
                    Some(r.finish(&mut tx, &ctx, credentials, &summary).await?)
                }
                _ => None,
            };
            tx.commit().await?;
            Ok::<_, AppError>((ids, operation_id))
        }
        .await;
        if written.is_err() {
            for key in keys.iter().flatten() {
                self.files.delete(key).await;
            }
        }
        written
    }

    /// Renders certificates again from current data and their template's current version;
    /// the previous file stays in the certificate's history. Issued ones are locked.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn regenerate_certificates(
        &self,
        actor: &Officer,
        ids: &[CertificateId],
    ) -> Result<Vec<CertificateView>> {
        let rows = self.certificates_for_action(actor, ids).await?;
        self.render_rows(actor, rows, "regenerate").await
    }

    /// Renders the certificates an issue just requested (types with `auto_certificate`), so
    /// that a single issue answers with its certificate made. The issue has committed
    /// already, so a failure here leaves the request queued for the background renderer
    /// ([`App::render_queued_certificates`]); it is logged, not answered.
    pub(crate) async fn render_requested(&self, actor: &Actor, ids: &[CertificateId]) {
        if ids.is_empty() {
            return;
        }
        let rendered = async {
            let rows = self.certificates_for_action(actor, ids).await?;
            self.render_rows(actor, rows, "generate").await
        }
        .await;
        if let Err(e) = rendered {
            tracing::warn!(error = %e, "automatic certificates stay queued: rendering failed");
        }
    }

    /// One pass of the background renderer: renders the certificates issuing workflows
    /// queued (types with `auto_certificate`: bulk issues, renewals, imports, automatic
    /// issues), in every agency, a batch at a time until none is due or the pass has done
    /// [`RENDER_PASS_LIMIT`]. A batch that fails is retried later with a growing delay and
    /// left Ready to Be Requested (for Generate) after [`RENDER_ATTEMPTS`]. Answers how many
    /// it rendered.
    pub async fn render_queued_certificates(&self) -> Result<usize> {
        let mut rendered = 0;
        while rendered < RENDER_PASS_LIMIT {
            let claims = {
                let mut tx = self.store.begin().await?;
                let lease = chrono::Duration::minutes(RENDER_LEASE_MINUTES);
                let claims = store::claim_renders(&mut tx, RENDER_BATCH, lease).await?;
                tx.commit().await?;
                claims
            };
            if claims.is_empty() {
                break;
            }
            let mut by_agency: std::collections::BTreeMap<AgencyId, Vec<store::RenderClaim>> =
                Default::default();
            for c in claims {
                by_agency.entry(c.agency_id).or_default().push(c);
            }
            for (agency_id, claims) in by_agency {
                rendered += self.render_claimed(agency_id, &claims).await?;
            }
        }
        Ok(rendered)
    }

    /// Renders one agency's claimed certificates, those still waiting for it.
    async fn render_claimed(
        &self,
        agency_id: AgencyId,
        claims: &[store::RenderClaim],
    ) -> Result<usize> {
        let actor = Actor::system(agency_id, "system:certificates");
        let ids: Vec<CertificateId> = claims.iter().map(|c| c.id).collect();
        let rows = {
            let mut tx = self.store.read().await?;
            store::certificates_by_ids(&mut tx, agency_id, &ids).await?
        };
        // Generated, issued or revoked meanwhile: nothing is left to render for those.
        let (waiting, settled): (Vec<CertificateRow>, Vec<CertificateRow>) =
            rows.into_iter().partition(|r| {
                r.status == CertificateStatus::ReadyToBeRequested.as_str() && r.revoked_at.is_none()
            });
        let settled: Vec<CertificateId> = settled.iter().map(|r| r.id).collect();
        self.reschedule_renders(agency_id, &settled, None).await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let waiting_ids: Vec<CertificateId> = waiting.iter().map(|r| r.id).collect();
        match self.render_rows(&actor, waiting, "generate").await {
            Ok(done) => Ok(done.len()),
            Err(e) => {
                tracing::warn!(error = %e, agency = %agency_id, certificates = waiting_ids.len(),
                    "rendering queued certificates failed; retrying later");
                let attempts = claims.iter().map(|c| c.render_attempts).max().unwrap_or(1);
                let next = (attempts < RENDER_ATTEMPTS).then(|| {
                    chrono::Utc::now() + chrono::Duration::minutes(i64::from(attempts.pow(2)))
                });
                self.reschedule_renders(agency_id, &waiting_ids, next)
                    .await?;
                Ok(0)
            }
        }
    }

    async fn reschedule_renders(
        &self,
        agency_id: AgencyId,
        ids: &[CertificateId],
        due: Option<DateTime<Utc>>,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        store::reschedule_renders(&mut tx, agency_id, ids, due).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn render_rows(
        &self,
        actor: &Actor,
        rows: Vec<CertificateRow>,
        action: &str,
    ) -> Result<Vec<CertificateView>> {
        let mut invalid = credence_domain::Invalid::new();
        for (i, r) in rows.iter().enumerate() {
            if r.status == "issued" {
                invalid.add(
                    format!("certificate_ids[{i}]"),
                    "is issued and locked; it cannot be regenerated",
                );
            }
            if r.revoked_at.is_some() {
                invalid.add(
                    format!("certificate_ids[{i}]"),
                    "belongs to a revoked issuance",
                );
            }
        }
        invalid.into_result()?;
        let mut tx = self.store.read().await?;
        let issuance_ids: Vec<IssuanceId> = rows.iter().map(|r| r.issuance_id).collect();
        let facts: HashMap<IssuanceId, IssuanceFacts> =
            store::issuance_facts(&mut tx, actor.agency_id, &issuance_ids)
                .await?
                .into_iter()
                .map(|(f, _)| (f.issuance_id, f))
                .collect();
        let mut templates: HashMap<TemplateId, TemplateRow> = HashMap::new();
        for r in &rows {
            if !templates.contains_key(&r.template_id) {
                let t = store::template(&mut tx, actor.agency_id, r.template_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                templates.insert(t.id, t);
            }
        }
        drop(tx);
        // Regeneration takes current data, the agency's current name and logo included.
        let agency = self.branding(actor).await?;
        let mut set = TemplateSet::default();
        let mut pending = Vec::with_capacity(rows.len());
        for r in &rows {
            let t = &templates[&r.template_id];
            set.add(t.id, t.version, &t.source);
            let f = facts
                .get(&r.issuance_id)
                .cloned()
                .ok_or(AppError::NotFound)?;
            pending.push(Pending {
                certificate_id: Some(r.id),
                data: certificate_data(&f, &agency, &r.public_id, &self.verify_url(&r.public_id)),
                facts: f,
                template: (t.id, t.version),
                public_id: r.public_id.clone(),
                pdf: None,
            });
        }
        self.render_pending(actor, &set, &mut pending).await?;
        let (ids, _) = self
            .write_certificates(actor, pending, action, None)
            .await?;
        let mut tx = self.store.read().await?;
        let rows = store::certificates_by_ids(&mut tx, actor.agency_id, &ids).await?;
        Ok(rows.into_iter().map(|r| self.certificate_view(r)).collect())
    }

    /// Issues (locks) generated certificates, all or none.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn issue_certificates(
        &self,
        actor: &Officer,
        ids: &[CertificateId],
    ) -> Result<Vec<CertificateView>> {
        let rows = self.certificates_for_action(actor, ids).await?;
        let mut invalid = credence_domain::Invalid::new();
        for (i, r) in rows.iter().enumerate() {
            if r.status != "generated" {
                invalid.add(
                    format!("certificate_ids[{i}]"),
                    match r.status.as_str() {
                        "issued" => "is already issued",
                        _ => "has not been generated yet; generate it first",
                    },
                );
            }
        }
        invalid.into_result()?;
        let mut tx = self.store.begin().await?;
        let ids: Vec<CertificateId> = rows.iter().map(|r| r.id).collect();
        for id in &ids {
            if !store::set_issued(&mut tx, actor.agency_id, *id, &actor.label).await? {
                return Err(AppError::stale());
            }
        }
        credence_store::ops::audit::record_many(
            &mut tx,
            actor.agency_id,
            &actor.label,
            "issue",
            &ids,
            None,
        )
        .await?;
        let rows = store::certificates_by_ids(&mut tx, actor.agency_id, &ids).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(|r| self.certificate_view(r)).collect())
    }

    /// The agency's certificates named by `ids`; any unknown id is a 404.
    pub(crate) async fn certificates_for_action(
        &self,
        actor: &Actor,
        ids: &[CertificateId],
    ) -> Result<Vec<CertificateRow>> {
        if ids.is_empty() {
            return Err(AppError::invalid(
                "certificate_ids",
                "must name at least one certificate",
            ));
        }
        if ids.len() > MAX_BATCH {
            return Err(AppError::invalid(
                "certificate_ids",
                format!("at most {MAX_BATCH} certificates at a time"),
            ));
        }
        let mut numbers = Vec::with_capacity(ids.len());
        for id in ids {
            if !numbers.contains(id) {
                numbers.push(*id);
            }
        }
        let mut tx = self.store.read().await?;
        let rows = store::certificates_by_ids(&mut tx, actor.agency_id, &numbers).await?;
        if rows.len() != numbers.len() {
            return Err(AppError::NotFound);
        }
        Ok(rows)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate(&self, actor: &Actor, id: CertificateId) -> Result<CertificateView> {
        let row = self.readable_certificate(actor, id).await?;
        Ok(self.certificate_view(row))
    }

    /// Officers read any certificate of the agency; a member reads their own.
    async fn readable_certificate(
        &self,
        actor: &Actor,
        id: CertificateId,
    ) -> Result<CertificateRow> {
        let mut tx = self.store.read().await?;
        let row = store::certificate(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !actor.sees_member(row.member_id) {
            return Err(AppError::NotFound);
        }
        Ok(row)
    }

    /// The certificate's PDF: its stored file, or for one only requested so far a preview
    /// rendered from its recorded data.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate_pdf(
        &self,
        actor: &Actor,
        id: CertificateId,
    ) -> Result<(String, Vec<u8>)> {
        let row = self.readable_certificate(actor, id).await?;
        let name = file_name(&row);
        Ok((name, self.certificate_file(actor, row).await?))
    }

    /// A certificate's PDF: its stored file, or for one only requested so far a preview
    /// rendered from its recorded data.
    pub(crate) async fn certificate_file(
        &self,
        actor: &Actor,
        row: CertificateRow,
    ) -> Result<Vec<u8>> {
        match &row.storage_key {
            Some(key) => Ok(self.files.get(key).await?),
            None => self.merge_rows(actor, &[row]).await,
        }
    }

    /// One PDF of many certificates, in the order given, for printing. Each is rendered
    /// from its recorded data and template version, so it matches its own file.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn merge_certificates(
        &self,
        actor: &Reader,
        ids: &[CertificateId],
    ) -> Result<Vec<u8>> {
        let rows = self.certificates_for_action(actor, ids).await?;
        self.merge_rows(actor, &rows).await
    }

    async fn merge_rows(&self, actor: &Actor, rows: &[CertificateRow]) -> Result<Vec<u8>> {
        let mut tx = self.store.read().await?;
        let mut set = TemplateSet::default();
        let mut documents = Vec::with_capacity(rows.len());
        for r in rows {
            let key = (r.template_id, r.template_version);
            let index = match set.index.get(&key) {
                Some(i) => *i,
                None => {
                    let source =
                        store::template_version_source(&mut tx, actor.agency_id, key.0, key.1)
                            .await?
                            .ok_or_else(|| AppError::internal("a template version is missing"))?;
                    set.add(key.0, key.1, &source)
                }
            };
            let data = serde_json::from_str(&r.data_snapshot).map_err(|e| {
                AppError::internal(format!("a certificate's data is unreadable: {e}"))
            })?;
            documents.push(Document {
                template: index,
                data,
            });
        }
        drop(tx);
        // The logos the recorded data names, earlier ones included.
        let files = self
            .job_files(actor.agency_id, documents.iter().map(|d| &d.data))
            .await?;
        let job = Job {
            templates: set.sources,
            documents,
            merge: true,
            files,
        };
        let output = self
            .render(actor.agency_id, job)
            .await?
            .pop()
            .ok_or_else(|| AppError::internal("the renderer answered nothing"))?;
        output.map_err(|e| AppError::invalid("template", e.describe()))
    }

    /// Queues an e-mail to the member with the certificate attached.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn email_certificate(&self, actor: &Officer, id: CertificateId) -> Result<String> {
        let row = self.readable_certificate(actor, id).await?;
        let Some(email) = row.email.clone().filter(|e| !e.is_empty()) else {
            return Err(AppError::invalid("member", "has no e-mail address"));
        };
        let Some(file_id) = row.file_id else {
            return Err(AppError::invalid(
                "certificate",
                "has not been generated yet",
            ));
        };
        let message = credence_store::notify::outbox::NewMessage {
            recipient: email,
            subject: format!("Your {} certificate", row.type_name),
            body: format!(
                "Hello {},\n\nyour certificate for {} is attached.\nAnyone can check it at {}\n\n{}\n",
                row.first_name,
                row.type_name,
                self.verify_url(&row.public_id),
                row.agency_name
            ),
            kind: "certificate".into(),
            subject_id: Some(row.id.into()),
            dedupe_key: format!("certificate:{}:{}", row.id.get(), crate::auth::new_secret("")),
            attachment_file_id: Some(file_id),
        };
        let mut tx = self.store.begin().await?;
        credence_store::notify::outbox::enqueue(
            &mut tx,
            actor.agency_id,
            std::slice::from_ref(&message),
        )
        .await?;
        crate::ops::audit::record(
            &mut tx,
            actor,
            "email",
            row.id,
            None,
            Some(&serde_json::json!({"to": message.recipient})),
        )
        .await?;
        tx.commit().await?;
        Ok(message.recipient)
    }

    /// The Credential Register: every certificate, newest first, filtered.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate_register(
        &self,
        actor: &Actor,
        query: &RegisterQuery,
        page: &PageParams,
    ) -> Result<Page<CertificateView>> {
        let mut filter = register_filter(query)?;
        if !actor.role.reads_agency() {
            // A member's register is their own certificates.
            filter.member_id = Some(actor.member_id.ok_or(AppError::NotFound)?);
        }
        let limit = page.limit()?;
        let before: Option<i64> = page.after()?;
        let mut tx = self.store.read().await?;
        let rows = store::register(&mut tx, actor.agency_id, &filter, before, limit + 1).await?;
        Ok(paginate(
            rows,
            limit,
            |r| r.id.get(),
            |r| self.certificate_view(r),
        ))
    }

    /// The files a certificate has had, newest first (the first is the current one).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn certificate_history(
        &self,
        actor: &Actor,
        id: CertificateId,
    ) -> Result<Vec<crate::documents::supporting::FileView>> {
        let row = self.readable_certificate(actor, id).await?;
        let mut tx = self.store.read().await?;
        let files = store::files_of(&mut tx, actor.agency_id, "certificate", row.id.get()).await?;
        Ok(files
            .into_iter()
            .map(crate::documents::supporting::file_view)
            .collect())
    }

    /// The public verification of a certificate: holder, type, dates and current status.
    pub async fn verify_certificate(&self, public_id: &str) -> Result<Verification> {
        if public_id.len() > 64 || !public_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AppError::NotFound);
        }
        let mut tx = self.store.read().await?;
        let row = store::by_public_id(&mut tx, public_id)
            .await?
            .filter(|r| r.status != "ready_to_be_requested")
            .ok_or(AppError::NotFound)?;
        let agency = credence_store::auth::identity::agency_by_id(&mut tx, row.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let status = if row.revoked_at.is_some() {
            "revoked"
        } else if row.expiration_date.is_some_and(|d| d < today) {
            "expired"
        } else {
            "valid"
        };
        Ok(Verification {
            public_id: row.public_id,
            holder: format!("{} {}", row.first_name, row.last_name),
            credential_type: row.type_name,
            agency: row.agency_name,
            number: row.number,
            credential_number: row.credential_number,
            issuing_officer: row.issuing_officer,
            issue_date: row.issue_date,
            expiration_date: row.expiration_date,
            status,
            revoked_on: row
                .revoked_at
                .map(|at| crate::clock::local_date(at, &agency.time_zone, today)),
            revocation_reason: row.revoke_reason,
            checked_on: today,
        })
    }
}

/// The agency's name and current logo, as certificates show them.
async fn branding_of(db: &mut impl Conn, agency_id: AgencyId) -> Result<Branding> {
    let agency = credence_store::auth::identity::agency_by_id(db, agency_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Branding {
        name: agency.name,
        logo: crate::documents::agency_logo::current_logo_path(db, agency_id).await?,
    })
}

/// Records a certificate request for the current issuance of each credential, in the
/// issuing transaction (types with `auto_certificate`), so an issuance of such a type never
/// exists without its certificate. Earlier issuances keep their certificates: that is the
/// credential's certificate history. The requests are queued for the background renderer
/// ([`App::render_queued_certificates`]); a single issue renders its own at once after it
/// commits ([`App::render_requested`]). Until rendered each previews from its recorded data.
pub(crate) async fn request_certificates(
    tx: &mut Tx,
    ctx: &Ctx,
    credential_ids: &[CredentialId],
) -> Result<Vec<CertificateId>> {
    let mut credential_ids = credential_ids.to_vec();
    credential_ids.sort_unstable();
    credential_ids.dedup();
    let facts = store::current_issuances(tx, ctx.agency_id, &credential_ids).await?;
    if facts.is_empty() {
        return Ok(Vec::new());
    }
    crate::documents::templates::ensure_defaults_of(tx, ctx.agency_id).await?;
    let templates = store::templates(tx, ctx.agency_id).await?;
    let agency = branding_of(tx, ctx.agency_id).await?;
    let mut ids = Vec::with_capacity(facts.len());
    for f in &facts {
        let template = pick_template(&templates, None, f.type_template_id);
        let public_id = new_public_id();
        let data = certificate_data(
            f,
            &agency,
            &public_id,
            &verify_url_at(&ctx.public_url, &public_id),
        );
        let certificate = NewCertificate {
            public_id: &public_id,
            facts: f,
            template_id: template.id,
            template_version: template.version,
            data_snapshot: &data.to_string(),
            status: CertificateStatus::ReadyToBeRequested.as_str(),
            file_id: None,
            created_by: &ctx.actor,
            queued: true,
        };
        ids.push(store::insert_certificate(tx, ctx.agency_id, &certificate).await?);
    }
    credence_store::ops::audit::record_many(tx, ctx.agency_id, &ctx.actor, "request", &ids, None)
        .await?;
    Ok(ids)
}

async fn write_one(
    tx: &mut Tx,
    actor: &Actor,
    p: &Pending,
    key: Option<&str>,
) -> Result<CertificateId> {
    let snapshot = p.data.to_string();
    let id = match p.certificate_id {
        Some(id) => id,
        None => {
            let status = CertificateStatus::ReadyToBeRequested.as_str();
            store::insert_certificate(
                tx,
                actor.agency_id,
                &NewCertificate {
                    public_id: &p.public_id,
                    facts: &p.facts,
                    template_id: p.template.0,
                    template_version: p.template.1,
                    data_snapshot: &snapshot,
                    status,
                    file_id: None,
                    created_by: &actor.label,
                    queued: false,
                },
            )
            .await?
        }
    };
    if let (Some(key), Some(pdf)) = (key, &p.pdf) {
        let file_id = insert_file(
            tx,
            actor.agency_id,
            &NewFile {
                storage_key: key,
                original_name: &format!("certificate-{}.pdf", p.public_id),
                content_type: "application/pdf",
                size_bytes: pdf.len() as i64,
                sha256: &crate::documents::files::sha256_hex(pdf),
                owner_kind: "certificate",
                owner_id: id.get(),
                uploaded_by: &actor.label,
            },
        )
        .await?;
        let generation = store::Generation {
            template_id: p.template.0,
            template_version: p.template.1,
            data_snapshot: &snapshot,
            number: p.facts.number.as_deref(),
            file_id,
        };
        let updated = store::set_generated(tx, actor.agency_id, id, &generation).await?;
        if !updated {
            return Err(AppError::Conflict(
                "the certificate was issued meanwhile".into(),
            ));
        }
    }
    Ok(id)
}

fn pick_template(
    templates: &[TemplateRow],
    chosen: Option<TemplateId>,
    of_type: Option<TemplateId>,
) -> &TemplateRow {
    let by_id = |id: TemplateId| templates.iter().find(|t| t.id == id);
    chosen
        .and_then(by_id)
        .or_else(|| of_type.and_then(by_id))
        .or_else(|| templates.iter().find(|t| t.kind == "certificate"))
        .unwrap_or(&templates[0])
}

/// Resolves the selection of a generate request to current issuances.
/// Credentials a certificate is about to be made for that deserve a second look: the
/// issuance has expired, or it already has an issued certificate.
async fn certificate_warnings(
    db: &mut impl Conn,
    actor: &Actor,
    facts: &[IssuanceFacts],
    today: NaiveDate,
) -> Result<Vec<SkippedCredential>> {
    let issuances: Vec<IssuanceId> = facts.iter().map(|f| f.issuance_id).collect();
    let certified =
        store::issuances_with_issued_certificates(db, actor.agency_id, &issuances).await?;
    let mut warnings = Vec::new();
    for f in facts {
        if f.expiration_date.is_some_and(|e| e < today) {
            warnings.push(SkippedCredential {
                credential_id: f.credential_id,
                reason: "expired".into(),
            });
        }
        if certified.contains(&f.issuance_id) {
            warnings.push(SkippedCredential {
                credential_id: f.credential_id,
                reason: "already_certified".into(),
            });
        }
    }
    Ok(warnings)
}

async fn select_issuances(
    db: &mut impl Conn,
    actor: &Actor,
    req: &GenerateRequest,
) -> Result<(Vec<IssuanceFacts>, Vec<SkippedCredential>)> {
    let chosen = [
        req.credential_ids.is_some(),
        req.class_id.is_some(),
        req.credential_type_id.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() != 1 {
        return Err(AppError::invalid(
            "credential_ids",
            "give exactly one of credential_ids, class_id or credential_type_id",
        ));
    }
    let credential_ids = if let Some(raw) = &req.credential_ids {
        if raw.is_empty() {
            return Err(AppError::invalid(
                "credential_ids",
                "must name at least one credential",
            ));
        }
        let mut ids = raw.clone();
        ids.sort_unstable();
        ids.dedup();
        let known =
            credence_store::credentials::credentials_by_ids(db, actor.agency_id, &ids).await?;
        if known.len() != ids.len() {
            return Err(AppError::invalid(
                "credential_ids",
                "name credentials that are not in this agency",
            ));
        }
        ids
    } else if let Some(class) = req.class_id {
        store::class_credential_ids(db, actor.agency_id, class)
            .await?
            .ok_or_else(|| AppError::invalid("class_id", "is not a class of this agency"))?
    } else {
        let type_id = req.credential_type_id.ok_or_else(|| {
            AppError::invalid(
                "credential_type_id",
                "is not a credential type of this agency",
            )
        })?;
        let (Some(from), Some(to)) = (req.issued_from, req.issued_to) else {
            return Err(AppError::invalid(
                "issued_from",
                "issued_from and issued_to are required with credential_type_id",
            ));
        };
        if from > to {
            return Err(AppError::invalid(
                "issued_to",
                "must not be before issued_from",
            ));
        }
        credence_store::catalog::credential_types::credential_type(db, actor.agency_id, type_id)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "credential_type_id",
                    "is not a credential type of this agency",
                )
            })?;
        let facts = store::issuances_of_type(db, actor.agency_id, type_id, from, to).await?;
        return Ok((facts, Vec::new()));
    };
    let facts = store::current_issuances(db, actor.agency_id, &credential_ids).await?;
    let with_issuance: std::collections::HashSet<CredentialId> =
        facts.iter().map(|f| f.credential_id).collect();
    let skipped = credential_ids
        .iter()
        .filter(|id| !with_issuance.contains(id))
        .map(|id| SkippedCredential {
            credential_id: *id,
            reason: "no_current_issuance".into(),
        })
        .collect();
    Ok((facts, skipped))
}

fn register_filter(q: &RegisterQuery) -> Result<RegisterFilter> {
    Ok(RegisterFilter {
        status: q.status.map(|s| s.as_str().to_owned()),
        credential_type_id: q.credential_type_id,
        member_id: q.member_id,
        credential_id: q.credential_id,
        class_id: q.class_id,
        search: q.q.clone(),
        issued_from: q.issued_from,
        issued_to: q.issued_to,
    })
}

/// "EMT-B-2026-0042.pdf": the number when there is one, else the public id.
fn file_name(r: &CertificateRow) -> String {
    let stem = r.number.clone().unwrap_or_else(|| r.public_id.clone());
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}.pdf")
}

/// 20 random letters and digits: unguessable, short enough for a printed URL.
fn new_public_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
