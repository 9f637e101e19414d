//! `/operations`: bulk actions as recorded operations, and their undo.

use axum::extract::State;
use axum::Json;
use credence_app::credentials::operations::{OperationView, UndoResult};
use credence_app::ids::OperationId;
use credence_app::page::{Page, PageParams};
use credence_app::{App, Officer};

use crate::extract::{ApiQuery, Auth, Can, PathIds};
use crate::problem::{ApiResult, Problem};

/// The agency's bulk actions, newest first.
#[utoipa::path(get, path = "/operations", tag = "credentials", params(PageParams),
    responses((status = 200, body = Page<OperationView>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
) -> ApiResult<Json<Page<OperationView>>> {
    Ok(Json(app.operations(&actor.reader()?, &page).await?))
}

/// One bulk action: what it did, and whether it was undone.
#[utoipa::path(get, path = "/operations/{id}", tag = "credentials", params(("id" = String, Path)),
    responses((status = 200, body = OperationView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<OperationId>,
) -> ApiResult<Json<OperationView>> {
    Ok(Json(app.operation(&actor.reader()?, id).await?))
}

/// Reverse a bulk action as one audited transaction (officer): what it added is removed,
/// what it changed is put back. 409 when it was undone already or a later change touched
/// the same credentials.
#[utoipa::path(post, path = "/operations/{id}/undo", tag = "credentials", params(("id" = String, Path)),
    responses((status = 200, body = UndoResult), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])))]
pub async fn undo(
    State(app): State<App>,
    Can(officer): Can<Officer>,
    PathIds(id): PathIds<OperationId>,
) -> ApiResult<Json<UndoResult>> {
    Ok(Json(app.undo_operation(&officer, id).await?))
}
