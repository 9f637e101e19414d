//! `/reports/compliance`: counts by status per group and type, and who is not compliant.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::reports::compliance::{compliance_csv, ComplianceParams, ComplianceReport};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// The compliance summary as JSON, or CSV with `format=csv` (`view=members` for the list).
#[utoipa::path(get, path = "/reports/compliance", tag = "reports", params(ComplianceParams),
    responses((status = 200, body = ComplianceReport), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn compliance(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ComplianceParams>,
) -> ApiResult<Response> {
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(credence_app::AppError::invalid("format", "must be json or csv").into())
        }
    };
    let members = match params.view.as_deref() {
        None | Some("counts") => false,
        Some("members") => true,
        Some(_) => {
            return Err(credence_app::AppError::invalid("view", "must be counts or members").into())
        }
    };
    let report = app.compliance(&actor.reader()?, &params).await?;
    if csv {
        let name = if members {
            "non-compliant"
        } else {
            "compliance"
        };
        let disposition = format!("attachment; filename=\"{name}-{}.csv\"", report.on);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            compliance_csv(&report, members),
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}
