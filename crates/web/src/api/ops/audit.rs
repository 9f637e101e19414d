//! `/audit-events`: the append-only log of every change.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::imports::exports::FormatParam;
use credence_app::ops::audit::{AuditEventView, AuditFilter};
use credence_app::page::{Page, PageParams};
use credence_app::App;

use crate::extract::{ApiQuery, Auth};
use crate::problem::{ApiResult, Problem};

/// Audit events, newest first; `subject_id` narrows to one resource; `format=csv|xlsx` for
/// every match as a spreadsheet, with who and what in words.
#[utoipa::path(get, path = "/audit-events", tag = "audit", params(PageParams, AuditFilter, FormatParam),
    responses((status = 200, body = Page<AuditEventView>), (status = 403, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
    ApiQuery(format): ApiQuery<FormatParam>,
) -> ApiResult<Response> {
    let reader = actor.reader()?;
    if let Some(format) = format.export() {
        let export = app.export_audit_events(&reader, filter, format).await?;
        return Ok(crate::pages::export_response(export));
    }
    Ok(Json(app.audit_events(&reader, &filter, &page).await?).into_response())
}
