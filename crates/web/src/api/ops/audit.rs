//! `/audit-events`: the append-only log of every change.

use axum::extract::State;
use axum::Json;
use credence_app::ops::audit::{AuditEventView, AuditFilter};
use credence_app::page::{Page, PageParams};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// Audit events, newest first; `subject_id` narrows to one resource.
#[utoipa::path(get, path = "/audit-events", tag = "audit", params(PageParams, AuditFilter),
    responses((status = 200, body = Page<AuditEventView>), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> ApiResult<Json<Page<AuditEventView>>> {
    Ok(Json(
        app.audit_events(&actor.reader()?, &filter, &page).await?,
    ))
}
