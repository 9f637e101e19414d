//! `/outbox`: queued, sent and failed messages, and sending a failed one again.

use axum::extract::State;
use axum::Json;
use credence_app::ids::MessageId;
use credence_app::notify::reminders::{OutboxFilter, OutboxMessage};
use credence_app::page::{Page, PageParams};
use credence_app::{App, Officer};

use crate::extract::{ApiQuery, Auth, Can, PathIds};
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

/// Queue a failed message again (officer); it goes with the next delivery. 409 when the
/// message is not failed (sent, queued or being sent).
#[utoipa::path(post, path = "/outbox/{id}/retry", tag = "reminders", params(("id" = String, Path)),
    responses((status = 200, body = OutboxMessage), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn retry(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<MessageId>,
) -> ApiResult<Json<OutboxMessage>> {
    Ok(Json(app.retry_message(&officer, id).await?))
}
