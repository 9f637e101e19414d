//! `/operations` and `/operations/{id}`: what a bulk action did, naming each credential, with
//! the Undo button while nothing later has touched them.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use credence_app::credentials::operations::OperationView;
use credence_app::ids::OperationId;
use credence_app::page::PageParams;
use credence_app::App;

use crate::extract::PathIds;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::credentials::manage::{names_for, rows, Row};
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

#[derive(Template)]
#[template(path = "operation.html")]
struct OperationPage {
    layout: Layout,
    op: OperationView,
    rows: Vec<Row>,
    /// Credentials it named that no longer exist (an undone assignment).
    gone: usize,
    can_undo: bool,
}

#[derive(Template)]
#[template(path = "operations.html")]
struct OperationsPage {
    layout: Layout,
    items: Vec<OperationView>,
    next_cursor: Option<String>,
}

pub async fn list(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(page): HtmlQuery<PageParams>,
) -> PageResult {
    let reader = user.actor.reader()?;
    let page = app.operations(&reader, &page).await?;
    Ok(render(&OperationsPage {
        layout: Layout::new(&user, "Bulk actions", "credentials"),
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<OperationId>,
) -> PageResult {
    let actor = &user.actor;
    let op = app.operation(&actor.reader()?, id).await?;
    let items = app.credentials_by_ids(actor, &op.credential_ids).await?;
    let names = names_for(&app, actor, &items).await?;
    Ok(render(&OperationPage {
        layout: Layout::new(&user, "Bulk action", "credentials"),
        gone: op.credential_ids.len() - items.len(),
        can_undo: actor.role().manages_credentials() && op.undone_at.is_none(),
        rows: rows(items, &names),
        op,
    }))
}

#[derive(serde::Deserialize)]
pub struct UndoForm {}

pub async fn undo(
    State(app): State<App>,
    PathIds(id): PathIds<OperationId>,
    CsrfForm(user, _form): CsrfForm<UndoForm>,
) -> Response {
    let back = format!("/operations/{id}");
    match app
        .undo_operation(&capability!(user.actor, officer), id)
        .await
    {
        Ok(r) => redirect_with(
            &back,
            "notice",
            &format!(
                "Undone: {} credential(s) put back as they were, {} removed.",
                r.restored.len(),
                r.removed.len()
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
