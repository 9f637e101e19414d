//! `/reports/qualified`: who held a credential type on a day, from history.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::imports::exports::ExportFormat;
use credence_app::reports::qualified::{QualifiedParams, QualifiedReport};
use credence_app::App;

use crate::extract::{ApiQuery, Can};
use crate::problem::{ApiResult, Problem};

/// Who held a valid, unrevoked issuance of the type on `on` (default today): the members of
/// `group_id` on that day, or without it everyone assigned the type by then or holding it.
/// JSON by pages of members in name order, or every row with `format=csv|xlsx`.
#[utoipa::path(get, path = "/reports/qualified", tag = "reports", params(QualifiedParams),
    responses((status = 200, body = QualifiedReport), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn qualified(
    State(app): State<App>,
    Can(reader): Can<credence_app::Reader>,
    ApiQuery(params): ApiQuery<QualifiedParams>,
) -> ApiResult<Response> {
    if let Some(format) = ExportFormat::of(params.format) {
        let export = app.export_qualified(&reader, &params, format).await?;
        return Ok(crate::pages::export_response(export));
    }
    let (report, _) = app.qualified(&reader, &params).await?;
    Ok(Json(report).into_response())
}
