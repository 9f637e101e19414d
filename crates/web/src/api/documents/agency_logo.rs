//! The agency itself (`/agency`): its logo, which certificates show.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::documents::supporting::FileView;
use credence_app::{Admin, App};

use crate::api::documents::certificates::{file_field, file_response, Served};
use crate::extract::{Auth, Can};
use crate::problem::{ApiResult, Problem};

/// The agency's logo image (PNG or JPEG); 404 when it has none.
#[utoipa::path(get, path = "/agency/logo", tag = "certificates",
    responses((status = 200, content_type = "image/png", description = "the logo (image/png or image/jpeg)"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_logo(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    let (content_type, bytes) = app.agency_logo_image(&actor.reader()?).await?;
    let name = if content_type == "image/jpeg" {
        "logo.jpg"
    } else {
        "logo.png"
    };
    Ok(file_response(name, &content_type, bytes, Served::Uploaded))
}

/// Upload the agency's logo (admin): a PNG or JPEG of at most 1 MB in the multipart field
/// `file`. Certificates generated from now on show it; earlier ones keep theirs.
#[utoipa::path(put, path = "/agency/logo", tag = "certificates",
    request_body(content_type = "multipart/form-data", description = "a `file` field"),
    responses((status = 200, body = FileView), (status = 413, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn put_logo(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Json<FileView>> {
    let (name, bytes) = file_field(multipart).await?;
    Ok(Json(app.set_agency_logo(&admin, &name, bytes).await?))
}

/// Remove the agency's logo (admin); certificates made with it keep showing it.
#[utoipa::path(delete, path = "/agency/logo", tag = "certificates",
    responses((status = 204, description = "removed"), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_logo(State(app): State<App>, Auth(actor): Auth) -> ApiResult<Response> {
    app.remove_agency_logo(&actor.admin()?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
