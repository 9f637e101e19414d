//! `/reports/qualified`: who held a credential type on a day, from history.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::reports::qualified::{qualified_csv, QualifiedParams, QualifiedReport};
use credence_app::App;

use crate::extract::{ApiQuery, Can};
use crate::problem::{ApiResult, Problem};

/// Who held a valid, unrevoked issuance of the type on `on` (default today): the members of
/// `group_id` on that day, or without it everyone assigned the type by then or holding it.
/// JSON, or CSV with `format=csv`.
#[utoipa::path(get, path = "/reports/qualified", tag = "reports", params(QualifiedParams),
    responses((status = 200, body = QualifiedReport), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn qualified(
    State(app): State<App>,
    Can(reader): Can<credence_app::Reader>,
    ApiQuery(params): ApiQuery<QualifiedParams>,
) -> ApiResult<Response> {
    let csv = match params.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(credence_app::AppError::invalid("format", "must be json or csv").into())
        }
    };
    let (report, names) = app.qualified(&reader, &params).await?;
    if csv {
        let disposition = format!("attachment; filename=\"qualified-{}.csv\"", report.on);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            qualified_csv(&report, &names)?,
        )
            .into_response());
    }
    Ok(Json(report).into_response())
}
