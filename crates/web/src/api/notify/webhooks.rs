//! `/webhooks`: subscriptions of a URL to credential and training events (admins), and a
//! test event to see a receiver answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::ids::WebhookId;
use credence_app::notify::reminders::OutboxMessage;
use credence_app::notify::webhooks::{NewWebhook, WebhookPatch, WebhookView};
use credence_app::page::{Page, PageParams};
use credence_app::{Admin, App};

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// List webhooks (admin).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", params(PageParams),
    responses((status = 200, body = Page<WebhookView>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<WebhookView>>> {
    Ok(Json(app.webhooks(&admin, &page).await?))
}

/// Subscribe a URL to events (admin). The secret signs every delivery and is never shown
/// again.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewWebhook>,
) -> ApiResult<Response> {
    let w = app.create_webhook(&admin, input).await?;
    Ok(created("webhooks", w.id, w))
}

/// One webhook (admin).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<WebhookId>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.webhook(&admin, id).await?))
}

/// Change a webhook (admin): its address, events or secret, or disable (`enabled: false`)
/// and enable it.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), request_body = WebhookPatch,
    responses((status = 200, body = WebhookView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<WebhookId>,
    ApiJson(input): ApiJson<WebhookPatch>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(app.update_webhook(&admin, id, input).await?))
}

/// Delete a webhook (admin); its past deliveries stay in the outbox.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn delete(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<WebhookId>,
) -> ApiResult<StatusCode> {
    app.delete_webhook(&admin, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Queue a `webhook.test` event for this webhook (admin); answers the queued delivery.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 202, body = OutboxMessage), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn test(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<WebhookId>,
) -> ApiResult<Response> {
    let queued = app.test_webhook(&admin, id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)).into_response())
}
