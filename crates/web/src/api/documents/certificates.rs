//! Certificates and their templates (`/certificate-templates`, `/certificates`), supporting
//! documents of issuances (`/issuances/{id}/documents`) and stored files (`/files/{id}`).

use crate::extract::PathIds;
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::documents::certificates::{
    CertificateView, GenerateRequest, Generated, RegisterQuery,
};
use credence_app::documents::supporting::FileView;
use credence_app::documents::templates::{TemplateInput, TemplateView};
use credence_app::ids::{CertificateId, FileId, IssuanceId, TemplateId};
use credence_app::imports::exports::FormatParam;
use credence_app::page::{Page, PageParams};
use credence_app::{Admin, Officer, Reader};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};

/// Certificates named by id, for the bulk actions.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateIds {
    #[schema(value_type = Vec<String>)]
    pub certificate_ids: Vec<CertificateId>,
}

/// A template's source to preview with sample data.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateSource {
    pub source: String,
}

/// How a file is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// A PDF Credence rendered itself: shown in the browser (`inline`).
    Rendered,
    /// An export Credence wrote (CSV): downloaded (`attachment`).
    Download,
    /// Bytes a person uploaded: downloaded, and sandboxed should a browser open it anyway,
    /// so an uploaded file never runs as a page of Credence's origin. An `<img>` still
    /// shows an uploaded logo: neither header applies to images embedded in a page.
    Uploaded,
}

/// A file answer: its type, disposition and name (reduced to safe ASCII).
pub fn file_response(name: &str, content_type: &str, bytes: Vec<u8>, served: Served) -> Response {
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect();
    let disposition = if served == Served::Rendered {
        "inline"
    } else {
        "attachment"
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{safe}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response();
    if served == Served::Uploaded {
        // Replaces the site-wide policy (`headers.rs` keeps a handler's own).
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static("sandbox; default-src 'none'"),
        );
    }
    response
}

/// The agency's certificate templates (the two defaults included).
#[utoipa::path(get, path = "/certificate-templates", tag = "certificates",
    responses((status = 200, body = [TemplateView])), security(("bearer" = [])))]
pub async fn list_templates(
    State(app): State<App>,
    Auth(actor): Auth,
) -> ApiResult<Json<Vec<TemplateView>>> {
    Ok(Json(app.certificate_templates(&actor.reader()?).await?))
}

/// Upload a template (admin). It is rendered with sample data first; an invalid one is a
/// 422 whose `errors[].message` names the line and column.
#[utoipa::path(post, path = "/certificate-templates", tag = "certificates", request_body = TemplateInput,
    responses((status = 201, body = TemplateView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create_template(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Response> {
    let created = app.create_certificate_template(&admin, input).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/certificate-templates/{id}", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = TemplateView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get_template(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<TemplateId>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(app.certificate_template(&actor.reader()?, id).await?))
}

/// Edit a template (admin): a new version; certificates keep the version they were made with.
#[utoipa::path(put, path = "/certificate-templates/{id}", tag = "certificates", params(("id" = String, Path)), request_body = TemplateInput,
    responses((status = 200, body = TemplateView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update_template(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<TemplateId>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Json<TemplateView>> {
    Ok(Json(
        app.update_certificate_template(&admin, id, input).await?,
    ))
}

/// A PDF of a template source rendered with sample data, without saving anything (admin).
///
/// A template over the renderer's limits (20 pages, 20 MB, time, memory) is a 422 naming it.
#[utoipa::path(post, path = "/certificate-templates/preview", tag = "certificates", request_body = TemplateSource,
    responses((status = 200, content_type = "application/pdf", description = "the preview"), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn preview_template(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<TemplateSource>,
) -> ApiResult<Response> {
    let pdf = app.preview_template_source(&admin, &input.source).await?;
    Ok(file_response(
        "preview.pdf",
        "application/pdf",
        pdf,
        Served::Rendered,
    ))
}

/// Generate certificates (officer) for credentials, a class roster or a type's issuances in
/// a date range; one per current issuance, in one transaction. With `dry_run`, what would
/// be generated and its warnings (expired, already certified), nothing written.
#[utoipa::path(post, path = "/certificates", tag = "certificates", request_body = GenerateRequest,
    responses((status = 201, body = Generated), (status = 200, body = Generated, description = "dry run"), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn generate(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<GenerateRequest>,
) -> ApiResult<Response> {
    let generated = app.generate_certificates(&officer, input).await?;
    let status = if generated.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(generated)).into_response())
}

/// The Credential Register: every certificate, newest first, with filters and search;
/// `format=csv|xlsx` for every match as a spreadsheet.
#[utoipa::path(get, path = "/certificates", tag = "certificates", params(RegisterQuery, PageParams, FormatParam),
    responses((status = 200, body = Page<CertificateView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn register(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<RegisterQuery>,
    ApiQuery(format): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    if let Some(format) = format.export() {
        let export = app
            .export_certificates(&actor.reader()?, filter, format)
            .await?;
        return Ok(crate::pages::export_response(export));
    }
    Ok(Json(app.certificate_register(&actor, &filter, &page).await?).into_response())
}

#[utoipa::path(get, path = "/certificates/{id}", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Json<CertificateView>> {
    Ok(Json(app.certificate(&actor, id).await?))
}

/// The certificate's PDF (a preview rendered from its data when only requested so far).
#[utoipa::path(get, path = "/certificates/{id}/pdf", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", description = "the certificate"), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn pdf(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Response> {
    let (name, pdf) = app.certificate_pdf(&actor, id).await?;
    Ok(file_response(
        &name,
        "application/pdf",
        pdf,
        Served::Rendered,
    ))
}

/// Every file the certificate has had, newest (current) first.
#[utoipa::path(get, path = "/certificates/{id}/history", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = [FileView]), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn history(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Json<Vec<FileView>>> {
    Ok(Json(app.certificate_history(&actor, id).await?))
}

/// One PDF of the chosen certificates in order, for printing.
#[utoipa::path(post, path = "/certificates/merge", tag = "certificates", request_body = CertificateIds,
    responses((status = 200, content_type = "application/pdf", description = "the merged file"), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn merge(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiJson(input): ApiJson<CertificateIds>,
) -> ApiResult<Response> {
    let pdf = app
        .merge_certificates(&reader, &input.certificate_ids)
        .await?;
    Ok(file_response(
        "certificates.pdf",
        "application/pdf",
        pdf,
        Served::Rendered,
    ))
}

/// The chosen certificates as a ZIP of their own PDFs, in order, each named after its
/// member, type and number. It streams; unknown ids are a 404 before anything is sent.
#[utoipa::path(post, path = "/certificates/zip", tag = "certificates", request_body = CertificateIds,
    responses((status = 200, content_type = "application/zip", description = "one PDF per certificate"), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn zip(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiJson(input): ApiJson<CertificateIds>,
) -> ApiResult<Response> {
    let archive = app
        .zip_certificates(&reader, &input.certificate_ids)
        .await?;
    Ok(crate::pages::export_response(archive))
}

/// Render a certificate again from current data and template (not once issued).
#[utoipa::path(post, path = "/certificates/{id}/regenerate", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn regenerate(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Json<CertificateView>> {
    let mut done = app
        .regenerate_certificates(&actor.officer()?, &[id])
        .await?;
    Ok(Json(done.remove(0)))
}

/// Regenerate many certificates, all or none.
#[utoipa::path(post, path = "/certificates/regenerate", tag = "certificates", request_body = CertificateIds,
    responses((status = 200, body = [CertificateView]), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn regenerate_many(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<CertificateIds>,
) -> ApiResult<Json<Vec<CertificateView>>> {
    Ok(Json(
        app.regenerate_certificates(&officer, &input.certificate_ids)
            .await?,
    ))
}

/// Issue (lock) a generated certificate.
#[utoipa::path(post, path = "/certificates/{id}/issue", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = CertificateView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn issue(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Json<CertificateView>> {
    let mut done = app.issue_certificates(&actor.officer()?, &[id]).await?;
    Ok(Json(done.remove(0)))
}

/// Issue many generated certificates, all or none.
#[utoipa::path(post, path = "/certificates/issue", tag = "certificates", request_body = CertificateIds,
    responses((status = 200, body = [CertificateView]), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn issue_many(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<CertificateIds>,
) -> ApiResult<Json<Vec<CertificateView>>> {
    Ok(Json(
        app.issue_certificates(&officer, &input.certificate_ids)
            .await?,
    ))
}

/// E-mail the certificate to its member as an attachment (through the outbox).
#[utoipa::path(post, path = "/certificates/{id}/email", tag = "certificates", params(("id" = String, Path)),
    responses((status = 202, description = "queued"), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn email(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CertificateId>,
) -> ApiResult<Response> {
    let to = app.email_certificate(&actor.officer()?, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"queued": true, "to": to})),
    )
        .into_response())
}

/// Attach a supporting document (PDF, PNG or JPEG, multipart field `file`) to an issuance.
#[utoipa::path(post, path = "/issuances/{id}/documents", tag = "certificates", params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 201, body = FileView), (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn attach(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<IssuanceId>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    let (name, bytes) = file_field(multipart).await?;
    let saved = app.attach_document(&officer, id, &name, bytes).await?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// The name and content of a multipart body's `file` field (422 when there is none).
pub(crate) async fn file_field(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, Vec<u8>), Problem> {
    let mut multipart = multipart.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(upload_problem)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("upload").to_owned();
            let bytes = field.bytes().await.map_err(upload_problem)?;
            file = Some((name, bytes.to_vec()));
        }
    }
    Ok(file.ok_or_else(|| AppError::invalid("file", "is required"))?)
}

/// A multipart body that could not be read: too large (413) or malformed (400).
fn upload_problem(e: axum::extract::multipart::MultipartError) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Body too large",
            "the upload exceeds the size limit",
        )
    } else {
        AppError::BadRequest(format!("the upload could not be read: {e}")).into()
    }
}

#[utoipa::path(get, path = "/issuances/{id}/documents", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, body = [FileView]), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn documents(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<IssuanceId>,
) -> ApiResult<Json<Vec<FileView>>> {
    Ok(Json(app.issuance_documents(&actor, id).await?))
}

/// A stored file: a supporting document or a certificate's (current or earlier) PDF.
#[utoipa::path(get, path = "/files/{id}", tag = "certificates", params(("id" = String, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn file(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<FileId>,
) -> ApiResult<Response> {
    let (name, content_type, bytes) = app.file_download(&actor, id).await?;
    Ok(file_response(&name, &content_type, bytes, Served::Uploaded))
}
