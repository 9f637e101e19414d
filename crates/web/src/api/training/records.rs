//! `/training-records`: completions, one at a time or in bulk (all or nothing).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::imports::exports::FormatParam;
use credence_app::page::{Page, PageParams};
use credence_app::training::records::{
    BulkResult, BulkTrainingRecords, NewTrainingRecord, Source, TrainingRecordFilter,
    TrainingRecordView,
};
use credence_app::App;

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can};
use crate::problem::{ApiResult, Problem};
use credence_app::Officer;

/// Training records, newest first (a member sees their own); `format=csv|xlsx` for every
/// match as a spreadsheet.
#[utoipa::path(get, path = "/training-records", tag = "training", params(PageParams, TrainingRecordFilter, FormatParam),
    responses((status = 200, body = Page<TrainingRecordView>), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<TrainingRecordFilter>,
    ApiQuery(format): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    if let Some(format) = format.export() {
        let export = app
            .export_training_records(&actor.reader()?, filter, format)
            .await?;
        return Ok(crate::pages::export_response(export));
    }
    Ok(Json(app.training_records(&actor, &filter, &page).await?).into_response())
}

/// Record one completion (officer); the member's credentials update at once.
#[utoipa::path(post, path = "/training-records", tag = "training", request_body = NewTrainingRecord,
    responses((status = 201, body = TrainingRecordView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<NewTrainingRecord>,
) -> ApiResult<Response> {
    let r = app.record_training(&officer, input, Source::Api).await?;
    Ok(created("training-records", r.id, r))
}

/// Record many completions: all are checked first; any error is a 422 listing each.
#[utoipa::path(post, path = "/training-records/bulk", tag = "training", request_body = BulkTrainingRecords,
    responses((status = 201, body = BulkResult), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn bulk(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    ApiJson(input): ApiJson<BulkTrainingRecords>,
) -> ApiResult<Response> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.record_training_bulk(&officer, input, Source::Api)
                .await?,
        ),
    )
        .into_response())
}
