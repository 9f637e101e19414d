//! Certificates in the browser (seed 004): the Credential Register with its bulk actions
//! (merge for printing, regenerate, issue, e-mail, CSV), requesting certificates for a
//! type's issuances in a date range, the template editor with preview, the agency's logo,
//! and the public verification page a QR code leads to.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use credence_app::catalog::credential_types::CredentialTypeView;
use credence_app::documents::certificates::{
    CertificateStatus, CertificateView, GenerateRequest, RegisterQuery, Verification,
};
use credence_app::documents::supporting::FileView;
use credence_app::documents::templates::{TemplateInput, TemplateView};
use credence_app::ids::{
    CertificateId, ClassId, CredentialId, CredentialTypeId, FileId, IssuanceId, TemplateId,
};
use credence_app::page::PageParams;
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::api::documents::certificates::{file_response, Served};
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::credentials::manage::all_types;
use crate::pages::{
    error_text, redirect_with, render, DownloadFormat, Layout, PageError, PageResult, WebUser,
};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RegisterPageQuery {
    status: Option<String>,
    credential_type_id: Option<CredentialTypeId>,
    /// A class's certificates (the link from a class's page).
    class_id: Option<ClassId>,
    q: Option<String>,
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "certificates.html")]
struct RegisterPage {
    layout: Layout,
    q: RegisterPageQuery,
    types: Vec<CredentialTypeView>,
    templates: Vec<TemplateView>,
    items: Vec<CertificateView>,
    next: Option<String>,
    can_manage: bool,
    today: String,
}

impl RegisterPage {
    fn status_is(&self, value: &str) -> bool {
        self.q.status.as_deref() == Some(value)
    }

    fn type_is(&self, id: &CredentialTypeId) -> bool {
        self.q.credential_type_id == Some(*id)
    }

    fn search(&self) -> &str {
        self.q.q.as_deref().unwrap_or("")
    }

    /// The current filters as a query string, for the next page and the CSV link.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        let type_id = self.q.credential_type_id.map(|t| t.to_string());
        let class_id = self.q.class_id.map(|k| k.to_string());
        for (k, v) in [
            ("status", &self.q.status),
            ("credential_type_id", &type_id),
            ("class_id", &class_id),
            ("q", &self.q.q),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", crate::pages::form_encode(v)));
            }
        }
        parts.join("&")
    }
}

fn status_label(s: &CertificateStatus) -> &'static str {
    match s {
        CertificateStatus::ReadyToBeRequested => "Ready to Be Requested",
        CertificateStatus::Generated => "Generated",
        CertificateStatus::Issued => "Issued",
        CertificateStatus::Revoked => "Revoked",
    }
}

/// The page's filters as the register's query; the form's "Any" is an empty value.
fn register_filter(q: &RegisterPageQuery) -> Result<RegisterQuery, AppError> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("ready_to_be_requested") => Some(CertificateStatus::ReadyToBeRequested),
        Some("generated") => Some(CertificateStatus::Generated),
        Some("issued") => Some(CertificateStatus::Issued),
        Some("revoked") => Some(CertificateStatus::Revoked),
        Some(_) => return Err(AppError::invalid("status", "is not a certificate status")),
    };
    Ok(RegisterQuery {
        status,
        credential_type_id: q.credential_type_id,
        class_id: q.class_id,
        q: q.q.clone(),
        ..Default::default()
    })
}

pub async fn register(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<RegisterPageQuery>,
) -> PageResult {
    let actor = &user.actor;
    actor.reader()?;
    let filter = register_filter(&q)?;
    let page = PageParams {
        limit: Some(50),
        cursor: q.cursor.clone(),
    };
    let found = app.certificate_register(actor, &filter, &page).await?;
    let page = RegisterPage {
        layout: Layout::new(&user, "Credential Register", "certificates"),
        types: all_types(&app, actor).await?,
        templates: app.certificate_templates(&actor.reader()?).await?,
        items: found.items,
        next: found.next_cursor,
        can_manage: actor.role().manages_credentials(),
        today: app.today(actor).await?.to_string(),
        q,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    action: String,
    #[serde(default)]
    certificate_id: Vec<CertificateId>,
}

/// The register's toolbar: merge (a PDF to print), a ZIP of the PDFs, regenerate, issue,
/// e-mail.
pub async fn action(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<ActionForm>,
) -> Response {
    let actor = &user.actor;
    if form.certificate_id.is_empty() {
        return redirect_with("/certificates", "error", "Choose at least one certificate.");
    }
    let n = form.certificate_id.len();
    let result = match form.action.as_str() {
        "merge" => {
            return match app
                .merge_certificates(&capability!(actor, reader), &form.certificate_id)
                .await
            {
                Ok(pdf) => {
                    file_response("certificates.pdf", "application/pdf", pdf, Served::Rendered)
                }
                Err(e) => redirect_with("/certificates", "error", &error_text(&e)),
            }
        }
        "zip" => {
            return match app
                .zip_certificates(&capability!(actor, reader), &form.certificate_id)
                .await
            {
                Ok(archive) => crate::pages::export_response(archive),
                Err(e) => redirect_with("/certificates", "error", &error_text(&e)),
            }
        }
        "regenerate" => app
            .regenerate_certificates(&capability!(actor, officer), &form.certificate_id)
            .await
            .map(|_| format!("Regenerated {n} certificate(s).")),
        "issue" => app
            .issue_certificates(&capability!(actor, officer), &form.certificate_id)
            .await
            .map(|_| format!("Issued {n} certificate(s); they are now locked.")),
        "email" => {
            let mut sent = 0;
            for id in &form.certificate_id {
                if let Err(e) = app
                    .email_certificate(&capability!(actor, officer), *id)
                    .await
                {
                    return redirect_with(
                        "/certificates",
                        "error",
                        &format!("{sent} queued, then: {}", error_text(&e)),
                    );
                }
                sent += 1;
            }
            Ok(format!(
                "Queued {sent} e-mail(s) with the certificate attached."
            ))
        }
        _ => Err(AppError::invalid(
            "action",
            "is not an action of the register",
        )),
    };
    match result {
        Ok(message) => redirect_with("/certificates", "notice", &message),
        Err(e) => redirect_with("/certificates", "error", &error_text(&e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    credential_id: Vec<CredentialId>,
    credential_type_id: Option<CredentialTypeId>,
    /// A class's roster (the button on a class's page).
    class_id: Option<ClassId>,
    issued_from: Option<NaiveDate>,
    issued_to: Option<NaiveDate>,
    template_id: Option<TemplateId>,
    #[serde(default)]
    generate: Option<String>,
    back: Option<String>,
    /// "1": the officer saw the warnings and generates anyway.
    confirmed: Option<String>,
}

/// Asks before generating certificates that deserve a second look.
#[derive(Template)]
#[template(path = "certificate_confirm.html")]
struct ConfirmPage {
    layout: Layout,
    /// (member, credential, why) per warning.
    warnings: Vec<(String, String, &'static str)>,
    total: usize,
    form: RequestForm,
}

/// The warnings of a dry run as a page asks about them, naming each member.
async fn confirm_page(
    app: &App,
    user: &WebUser,
    mut form: RequestForm,
    dry: credence_app::documents::certificates::Generated,
) -> PageResult {
    // Echoed into a link: only a path of this site.
    form.back = form.back.filter(|b| crate::pages::is_local_path(b));
    let ids: Vec<CredentialId> = dry.warnings.iter().map(|w| w.credential_id).collect();
    let items = app.credentials_by_ids(&user.actor, &ids).await?;
    let names = crate::pages::credentials::manage::names_for(app, &user.actor, &items).await?;
    let warnings = dry
        .warnings
        .iter()
        .filter_map(|w| {
            let c = items.iter().find(|c| c.id == w.credential_id)?;
            let why = match w.reason.as_str() {
                "expired" => "the credential has expired",
                _ => "it already has an issued certificate",
            };
            Some((
                names.member(&c.member_id),
                names.type_name(&c.credential_type_id),
                why,
            ))
        })
        .collect();
    Ok(render(&ConfirmPage {
        layout: Layout::new(user, "Certificates", "certificates"),
        warnings,
        total: dry.credential_ids.len(),
        form,
    }))
}

/// Requests certificates for chosen credentials or for a type's issuances in a date range.
pub async fn request(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<RequestForm>,
) -> Response {
    let back = form
        .back
        .clone()
        .filter(|b| crate::pages::is_local_path(b))
        .unwrap_or_else(|| "/certificates".into());
    let by_class = form.credential_id.is_empty() && form.class_id.is_some();
    let by_type = form.credential_id.is_empty() && !by_class;
    let req = GenerateRequest {
        credential_ids: (!by_type && !by_class).then(|| form.credential_id.clone()),
        credential_type_id: if by_type {
            form.credential_type_id
        } else {
            None
        },
        issued_from: form.issued_from,
        issued_to: form.issued_to,
        template_id: form.template_id,
        generate: Some(form.generate.as_deref() != Some("later")),
        class_id: if by_class { form.class_id } else { None },
        dry_run: None,
    };
    let officer = capability!(user.actor, officer);
    // Expired credentials and ones already certified are asked about first.
    if form.confirmed.as_deref() != Some("1") {
        let dry = GenerateRequest {
            dry_run: Some(true),
            ..req.clone()
        };
        match app.generate_certificates(&officer, dry).await {
            Ok(d) if !d.warnings.is_empty() => {
                return confirm_page(&app, &user, form, d).await.into_response()
            }
            Ok(_) => {}
            Err(e) => return redirect_with(&back, "error", &error_text(&e)),
        }
    }
    match app.generate_certificates(&officer, req).await {
        Ok(done) => {
            let mut message = format!(
                "{} certificate(s) {}.",
                done.items.len(),
                if form.generate.as_deref() == Some("later") {
                    "requested"
                } else {
                    "generated"
                }
            );
            if !done.skipped.is_empty() {
                message.push_str(&format!(
                    " {} skipped: no current issuance.",
                    done.skipped.len()
                ));
            }
            match done.operation_id {
                // From a class's page: back to it, where they are listed to merge and print.
                Some(_) if by_class => redirect_with(&back, "notice", &message),
                Some(op) => redirect_with(&format!("/operations/{op}"), "notice", &message),
                None => redirect_with("/certificates", "notice", &message),
            }
        }
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// A certificate's PDF in the browser (officers, and a member for their own).
pub async fn pdf(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<CertificateId>,
) -> PageResult {
    let (name, pdf) = app.certificate_pdf(&user.actor, id).await?;
    Ok(file_response(
        &name,
        "application/pdf",
        pdf,
        Served::Rendered,
    ))
}

/// A stored file (supporting document, earlier certificate version).
pub async fn file(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<FileId>,
) -> PageResult {
    let (name, content_type, bytes) = app.file_download(&user.actor, id).await?;
    Ok(file_response(&name, &content_type, bytes, Served::Uploaded))
}

#[derive(Template)]
#[template(path = "certificate_templates.html")]
struct TemplatesPage {
    layout: Layout,
    templates: Vec<TemplateView>,
    editing: Option<TemplateView>,
    draft_name: String,
    draft_source: String,
    is_admin: bool,
    logo: Option<FileView>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TemplatesQuery {
    edit: Option<String>,
}

pub async fn templates(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<TemplatesQuery>,
) -> PageResult {
    let actor = &user.actor;
    let templates = app.certificate_templates(&actor.reader()?).await?;
    let editing = match q.edit.as_deref().filter(|e| !e.is_empty() && *e != "new") {
        Some(id) => {
            let id = id.parse().map_err(|_| AppError::NotFound)?;
            Some(app.certificate_template(&actor.reader()?, id).await?)
        }
        None => None,
    };
    let (draft_name, draft_source) = match &editing {
        Some(t) => (t.name.clone(), t.source.clone()),
        None => (
            "".into(),
            credence_documents::defaults::TEMPLATES[0].2.to_owned(),
        ),
    };
    let page = TemplatesPage {
        layout: Layout::new(&user, "Certificate templates", "certificates"),
        templates,
        editing,
        draft_name,
        draft_source,
        is_admin: actor.role().administers(),
        logo: app.agency_logo(&actor.reader()?).await?,
    };
    Ok(render(&page))
}

#[derive(Debug, Deserialize)]
pub struct TemplateForm {
    id: Option<String>,
    name: String,
    source: String,
    version: Option<i64>,
    mode: Option<String>,
}

/// Saves a template, or (`mode=preview`) shows it rendered with sample data.
pub async fn save_template(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<TemplateForm>,
) -> Response {
    let actor = &user.actor;
    let id = form.id.clone().filter(|i| !i.is_empty());
    let back = format!(
        "/certificate-templates?edit={}",
        id.as_deref().unwrap_or("new")
    );
    let id: Option<TemplateId> = match id.map(|i| i.parse()).transpose() {
        Ok(id) => id,
        Err(_) => return PageError(AppError::NotFound).into_response(),
    };
    if form.mode.as_deref() == Some("preview") {
        return match app
            .preview_template_source(&capability!(actor, admin), &form.source)
            .await
        {
            Ok(pdf) => file_response("preview.pdf", "application/pdf", pdf, Served::Rendered),
            Err(e) => PageError(e).into_response(),
        };
    }
    let input = TemplateInput {
        name: form.name,
        source: form.source,
        version: form.version,
    };
    let saved = match id {
        Some(id) => {
            app.update_certificate_template(&capability!(actor, admin), id, input)
                .await
        }
        None => {
            app.create_certificate_template(&capability!(actor, admin), input)
                .await
        }
    };
    match saved {
        Ok(t) => redirect_with(
            &format!("/certificate-templates?edit={}", t.id),
            "notice",
            &format!("Saved “{}” as version {}.", t.name, t.version),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    v: Verification,
}

impl VerifyPage {
    fn css(&self) -> String {
        crate::pages::assets::url("standalone.css")
    }

    fn status_label(&self) -> &'static str {
        match self.v.status {
            "valid" => "Valid",
            "expired" => "Expired",
            _ => "Revoked",
        }
    }
}

/// The public page a certificate's QR code opens: no login, nothing but the facts; with
/// `.json` after the id, the same facts as JSON for other systems.
pub async fn verify(State(app): State<App>, Path(public_id): Path<String>) -> PageResult {
    if let Some(id) = public_id.strip_suffix(".json") {
        let v = app.verify_certificate(id).await?;
        return Ok(axum::Json(v).into_response());
    }
    let v = app.verify_certificate(&public_id).await?;
    Ok(render(&VerifyPage { v }))
}

/// `/certificates.csv` and `.xlsx`: the register with the page's filters.
pub async fn export(
    State(app): State<App>,
    user: WebUser,
    DownloadFormat(format): DownloadFormat,
    HtmlQuery(q): HtmlQuery<RegisterPageQuery>,
) -> PageResult {
    let filter = register_filter(&q)?;
    let export = app
        .export_certificates(&user.actor.reader()?, filter, format)
        .await?;
    Ok(crate::pages::export_response(export))
}

/// A file upload form as read: where to go back to (a path of this site, when the form
/// names one) and its file, or the message to show there instead.
struct FileForm {
    back: Option<String>,
    file: Result<(String, Vec<u8>), String>,
}

/// Reads a form of a `file`, its `csrf` token and an optional `back`; `too_large` is the
/// message for a file beyond the route's body limit.
async fn read_file_form(user: &WebUser, mut multipart: Multipart, too_large: &str) -> FileForm {
    let mut csrf = None;
    let mut back = None;
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let file = Err(format!("the upload could not be read: {e}"));
                return FileForm { back, file };
            }
        };
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(_) => {
                        let file = Err(too_large.to_owned());
                        return FileForm { back, file };
                    }
                }
            }
            "csrf" => csrf = field.text().await.ok(),
            "back" => {
                back = field
                    .text()
                    .await
                    .ok()
                    .filter(|b| crate::pages::is_local_path(b));
            }
            _ => {}
        }
    }
    let file = if csrf.as_deref() != Some(user.csrf.as_str()) {
        Err("the form expired; reload the page and try again".into())
    } else {
        file.ok_or_else(|| "choose a file to upload".into())
    };
    FileForm { back, file }
}

/// Attaches a supporting document to an issuance from the credential page.
pub async fn attach(
    State(app): State<App>,
    user: WebUser,
    PathIds(issuance): PathIds<IssuanceId>,
    multipart: Multipart,
) -> Response {
    let form = read_file_form(&user, multipart, "the file is larger than 10 MB").await;
    let back = form.back.unwrap_or_else(|| "/credentials".to_owned());
    let (name, bytes) = match form.file {
        Ok(file) => file,
        Err(message) => return redirect_with(&back, "error", &message),
    };
    match app
        .attach_document(&capability!(user.actor, officer), issuance, &name, bytes)
        .await
    {
        Ok(f) => redirect_with(&back, "notice", &format!("Attached {}.", f.name)),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// The agency's logo, for the templates page to show (signed-in readers).
pub async fn logo(State(app): State<App>, user: WebUser) -> PageResult {
    let (content_type, bytes) = app.agency_logo_image(&user.actor.reader()?).await?;
    Ok(file_response(
        "logo",
        &content_type,
        bytes,
        Served::Uploaded,
    ))
}

/// Uploads a new agency logo from the templates or settings page (admin), back to `back`.
pub async fn upload_logo(State(app): State<App>, user: WebUser, multipart: Multipart) -> Response {
    let form = read_file_form(&user, multipart, "the logo is larger than 1 MB").await;
    let back = form.back.as_deref().unwrap_or("/certificate-templates");
    let saved = match form.file {
        Ok((name, bytes)) => {
            app.set_agency_logo(&capability!(user.actor, admin), &name, bytes)
                .await
        }
        Err(message) => return redirect_with(back, "error", &message),
    };
    match saved {
        Ok(_) => redirect_with(
            back,
            "notice",
            "Logo saved; certificates generated from now on show it.",
        ),
        Err(e) => redirect_with(back, "error", &error_text(&e)),
    }
}

#[derive(Deserialize)]
pub struct BackForm {
    back: Option<String>,
}

/// Removes the agency logo (admin); certificates made with it keep it.
pub async fn remove_logo(
    State(app): State<App>,
    CsrfForm(user, f): CsrfForm<BackForm>,
) -> Response {
    let back = f
        .back
        .as_deref()
        .filter(|b| crate::pages::is_local_path(b))
        .unwrap_or("/certificate-templates");
    match app
        .remove_agency_logo(&capability!(user.actor, admin))
        .await
    {
        Ok(()) => redirect_with(back, "notice", "Logo removed."),
        Err(e) => redirect_with(back, "error", &error_text(&e)),
    }
}
