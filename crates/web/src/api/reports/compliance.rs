//! `/reports/compliance`: counts by status per group and type, and who is not compliant.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::imports::exports::ExportFormat;
use credence_app::reports::compliance::{ComplianceParams, ComplianceReport};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// The compliance summary as JSON, or a spreadsheet with `format=csv|xlsx` (`view=members`
/// for who is not compliant).
#[utoipa::path(get, path = "/reports/compliance", tag = "reports", params(ComplianceParams),
    responses((status = 200, body = ComplianceReport), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn compliance(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let reader = actor.reader()?;
    if let Some(format) = ExportFormat::of(params.format) {
        let export = app.export_compliance(&reader, &params, format).await?;
        return Ok(crate::pages::export_response(export));
    }
    let report = app.compliance(&reader, &params).await?;
    Ok(Json(report).into_response())
}
