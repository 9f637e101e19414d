//! `/imports`: spreadsheet imports, previewed (nothing written) then committed all or
//! nothing.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use credence_app::ids::ImportId;
use credence_app::imports::sheet::MAX_FILE_BYTES;
use credence_app::imports::{ImportKind, ImportView};
use credence_app::{App, AppError};

use crate::extract::{Auth, PathIds};
use crate::problem::{ApiResult, Problem};

/// The body limit of an upload route: the file and the multipart framing around it.
pub const UPLOAD_LIMIT: usize = MAX_FILE_BYTES + 64 * 1024;

/// An upload as read: the `kind` field, the file's name and content, and any other text
/// fields (the pages' `csrf`).
#[derive(Default)]
pub(crate) struct Upload {
    pub kind: Option<String>,
    pub file: Option<(String, Vec<u8>)>,
    pub csrf: Option<String>,
}

/// Why an upload could not be read.
pub(crate) enum UploadError {
    TooLarge,
    Malformed(String),
}

impl UploadError {
    pub fn message(&self) -> String {
        match self {
            UploadError::TooLarge => format!(
                "the file is larger than {} MB; split it into smaller files",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
            UploadError::Malformed(m) => format!("the upload could not be read: {m}"),
        }
    }
}

impl From<UploadError> for Problem {
    fn from(e: UploadError) -> Problem {
        match e {
            UploadError::TooLarge => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                e.message(),
            ),
            UploadError::Malformed(_) => AppError::BadRequest(e.message()).into(),
        }
    }
}

fn read_error(e: axum::extract::multipart::MultipartError) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge
    } else {
        UploadError::Malformed(e.body_text())
    }
}

/// Reads the multipart fields, the file chunk by chunk: a file over the limit is refused as
/// soon as it passes it, without holding more of it in memory.
pub(crate) async fn read_upload(mut multipart: Multipart) -> Result<Upload, UploadError> {
    let mut upload = Upload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(read_error)? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(read_error)? {
                    if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                        return Err(UploadError::TooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                upload.file = Some((name, bytes));
            }
            "kind" => upload.kind = Some(field.text().await.map_err(read_error)?),
            "csrf" => upload.csrf = Some(field.text().await.map_err(read_error)?),
            _ => {}
        }
    }
    Ok(upload)
}

/// Upload a CSV or XLSX file (multipart fields `kind` — members, group_memberships,
/// training_records or issuances — and `file`, at most 10 MB) as a preview: every row is
/// checked and the outcome stored, but nothing of the agency's data is written. Rows with
/// problems are listed in `errors` (row, column, words); a file that cannot be read at all
/// (empty, wrong header, not CSV or XLSX) is a 422. Members and group memberships need an
/// administrator; training records and issuances an officer.
#[utoipa::path(post, path = "/imports", tag = "imports",
    request_body(content_type = "multipart/form-data", description = "fields `kind` and `file`"),
    responses((status = 201, body = ImportView), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Auth(actor): Auth,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    // The role comes before the body: who may not import learns nothing else.
    actor.officer()?;
    let multipart = multipart.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let upload = read_upload(multipart).await?;
    let kind = match upload.kind.as_deref().map(ImportKind::parse) {
        Some(Some(k)) => k,
        Some(None) => {
            return Err(AppError::invalid(
                "kind",
                "must be members, group_memberships, training_records or issuances",
            )
            .into())
        }
        None => return Err(AppError::invalid("kind", "is required").into()),
    };
    let (name, bytes) = upload
        .file
        .ok_or_else(|| AppError::invalid("file", "is required"))?;
    let view = app.preview_import(&actor, kind, &name, bytes).await?;
    Ok(crate::api::created("imports", view.id, view))
}

/// An import: its counts, errors and first rows.
#[utoipa::path(get, path = "/imports/{id}", tag = "imports", params(("id" = String, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<ImportId>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(app.import(&actor, id).await?))
}

/// Write a preview's rows, all or nothing, in one transaction. 409 when the preview had
/// errors, was committed already, or the agency changed since in a way that would import
/// the file differently (e.g. a member it would create now exists): upload it again.
#[utoipa::path(post, path = "/imports/{id}/commit", tag = "imports", params(("id" = String, Path)),
    responses((status = 200, body = ImportView), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn commit(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<ImportId>,
) -> ApiResult<Json<ImportView>> {
    Ok(Json(app.commit_import(&actor, id).await?))
}
