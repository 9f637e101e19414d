//! `/reports/hours`: training hours per member per category over a date range.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::imports::exports::ExportFormat;
use credence_app::reports::hours::{HoursParams, HoursReport};
use credence_app::{App, Reader};

use crate::extract::{ApiQuery, Can};
use crate::pages::export_response;
use crate::problem::{ApiResult, Problem};

/// Hours per member and category from `from` (default 1 January) to `to` (default today),
/// optionally for one group's members: the active members and anyone with training in the
/// range. JSON by pages of members in name order, or every row as `format=csv|xlsx`.
#[utoipa::path(get, path = "/reports/hours", tag = "reports", params(HoursParams),
    responses((status = 200, body = HoursReport), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn hours(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(params): ApiQuery<HoursParams>,
) -> ApiResult<Response> {
    match ExportFormat::of(params.format) {
        None => Ok(Json(app.hours_report(&reader, &params).await?).into_response()),
        Some(format) => Ok(export_response(
            app.hours_export(&reader, &params, format).await?,
        )),
    }
}
