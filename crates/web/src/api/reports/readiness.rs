//! `/readiness` and `/members/{id}/qualified`: who met a qualification on a day, and the
//! scheduler's check for one member.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::ids::MemberId;
use credence_app::reports::readiness::{
    MemberQualified, MemberQualifiedParams, ReadinessParams, ReadinessReport,
};
use credence_app::{App, Reader};

use crate::extract::{ApiQuery, Auth, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// Who met the qualification on `on` (default today): the members of `group_id` on that
/// day, or the agency's active members; each with the qualification's types they lacked.
/// Pages of members in name order.
#[utoipa::path(get, path = "/readiness", tag = "reports", params(ReadinessParams),
    responses((status = 200, body = ReadinessReport), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn readiness(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(params): ApiQuery<ReadinessParams>,
) -> ApiResult<Json<ReadinessReport>> {
    let (report, _) = app.readiness(&reader, &params).await?;
    Ok(Json(report))
}

/// The readiness roster as a PDF (agency, qualification, group, day, a row per member).
#[utoipa::path(get, path = "/readiness.pdf", tag = "reports", params(ReadinessParams),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn readiness_pdf(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(params): ApiQuery<ReadinessParams>,
) -> ApiResult<Response> {
    let (on, pdf) = app.readiness_pdf(&reader, &params).await?;
    Ok(pdf_response(on, pdf))
}

/// `application/pdf`, offered as `readiness-<day>.pdf`.
pub fn pdf_response(on: chrono::NaiveDate, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"readiness-{on}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response()
}

/// Whether the member met the qualification on `on` (default today), and the types they
/// lacked: the check a scheduler makes before putting someone on a rig. Readers may ask
/// about anyone in the agency; a member only about themselves (403 otherwise).
#[utoipa::path(get, path = "/members/{id}/qualified", tag = "members", params(("id" = String, Path), MemberQualifiedParams),
    responses((status = 200, body = MemberQualified), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn member_qualified(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<MemberId>,
    ApiQuery(params): ApiQuery<MemberQualifiedParams>,
) -> ApiResult<Json<MemberQualified>> {
    Ok(Json(app.member_qualified(&actor, id, &params).await?))
}
