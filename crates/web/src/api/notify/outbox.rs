//! `/outbox`: queued and sent messages.

use axum::extract::State;
use axum::Json;
use credence_app::notify::reminders::{OutboxFilter, OutboxMessage};
use credence_app::page::{Page, PageParams};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// Messages, newest first.
#[utoipa::path(get, path = "/outbox", tag = "reminders", params(PageParams, OutboxFilter),
    responses((status = 200, body = Page<OutboxMessage>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<OutboxFilter>,
) -> ApiResult<Json<Page<OutboxMessage>>> {
    Ok(Json(app.outbox(&actor.reader()?, &filter, &page).await?))
}
