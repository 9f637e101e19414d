//! `/reports/hours`: training hours per member per category over a date range.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::reports::hours::{HoursParams, HoursReport};
use credence_app::{App, AppError, Reader};

use crate::extract::{ApiQuery, Can};
use crate::problem::{ApiResult, Problem};

/// The shapes the report is answered in; a new export format is one more arm here.
enum Format {
    Json,
    Csv,
}

fn format(params: &HoursParams) -> Result<Format, AppError> {
    match params.format.as_deref() {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(AppError::invalid("format", "must be json or csv")),
    }
}

/// Hours per member and category from `from` (default 1 January) to `to` (default today),
/// optionally for one group's members: the active members and anyone with training in the
/// range. JSON by pages of members in name order, or every row as CSV with `format=csv`.
#[utoipa::path(get, path = "/reports/hours", tag = "reports", params(HoursParams),
    responses((status = 200, body = HoursReport), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn hours(
    State(app): State<App>,
    Can(reader): Can<Reader>,
    ApiQuery(params): ApiQuery<HoursParams>,
) -> ApiResult<Response> {
    match format(&params)? {
        Format::Json => Ok(Json(app.hours_report(&reader, &params).await?).into_response()),
        Format::Csv => {
            let ((from, to), body) = app.hours_csv(&reader, &params).await?;
            Ok(crate::pages::csv_stream_response(
                &format!("training-hours-{from}-to-{to}.csv"),
                axum::body::Body::from_stream(body),
            ))
        }
    }
}
