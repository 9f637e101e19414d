//! `/imports`: choose a kind, upload a CSV or XLSX file, see the preview (counts, the first
//! rows, every error by row and column) and commit it when it has no errors.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::ids::ImportId;
use credence_app::imports::{Column, ImportKind, ImportView};
use credence_app::{App, AppError};

use crate::api::imports::read_upload;
use crate::extract::PathIds;
use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

/// A kind as the page lists it.
pub struct KindInfo {
    pub kind: &'static str,
    pub label: &'static str,
    pub columns: &'static [Column],
    pub allowed: bool,
}

#[derive(Template)]
#[template(path = "imports.html")]
struct ImportsPage {
    layout: Layout,
    kinds: Vec<KindInfo>,
    chosen: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
    import: ImportView,
    kind_label: &'static str,
    can_commit: bool,
    /// The preview shows only the first rows.
    partial: bool,
}

fn kinds(user: &WebUser) -> Vec<KindInfo> {
    let admin = user.actor.role().administers();
    ImportKind::ALL
        .into_iter()
        .map(|k| KindInfo {
            kind: k.as_str(),
            label: k.label(),
            columns: k.columns(),
            allowed: admin || matches!(k, ImportKind::TrainingRecords | ImportKind::Issuances),
        })
        .collect()
}

fn form_page(user: &WebUser, chosen: &str, error: Option<String>) -> Response {
    let kinds = kinds(user);
    let chosen = if kinds.iter().any(|k| k.allowed && k.kind == chosen) {
        chosen.to_string()
    } else {
        kinds
            .iter()
            .find(|k| k.allowed)
            .map_or_else(String::new, |k| k.kind.to_string())
    };
    let failed = error.is_some();
    let mut response = render(&ImportsPage {
        layout: Layout::new(user, "Imports", "imports").with_error(error),
        kinds,
        chosen,
    });
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

pub async fn page(user: WebUser) -> PageResult {
    user.actor.officer()?;
    Ok(form_page(&user, "", None))
}

/// Reads the upload (its CSRF token first) and previews it; errors re-show the form with
/// the kind chosen and the problem in words.
pub async fn upload(State(app): State<App>, user: WebUser, multipart: Multipart) -> Response {
    if let Err(e) = user.actor.officer() {
        return PageError(e).into_response();
    }
    let upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => return form_page(&user, "", Some(e.message())),
    };
    let chosen = upload.kind.clone().unwrap_or_default();
    if upload.csrf.as_deref() != Some(user.csrf.as_str()) {
        return form_page(
            &user,
            &chosen,
            Some("the form expired; reload the page and try again".into()),
        );
    }
    let Some(kind) = ImportKind::parse(&chosen) else {
        return form_page(&user, &chosen, Some("choose what the file holds".into()));
    };
    let Some((name, bytes)) = upload.file else {
        return form_page(&user, &chosen, Some("choose a file to upload".into()));
    };
    match app.preview_import(&user.actor, kind, &name, bytes).await {
        Ok(view) => axum::response::Redirect::to(&format!("/imports/{}", view.id)).into_response(),
        Err(AppError::Invalid(invalid)) => form_page(
            &user,
            &chosen,
            Some(
                invalid
                    .errors
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(e @ AppError::Forbidden(_)) => PageError(e).into_response(),
        Err(e) => form_page(&user, &chosen, Some(error_text(&e))),
    }
}

pub async fn preview(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<ImportId>,
) -> PageResult {
    let import = app.import(&user.actor, id).await?;
    let can_commit = import.status == "previewed" && import.errors.is_empty();
    Ok(render(&ImportPage {
        layout: Layout::new(&user, "Import preview", "imports"),
        kind_label: import.kind_label(),
        partial: !import.preview.is_empty() && (import.preview.len() as i64) < import.rows,
        import,
        can_commit,
    }))
}

#[derive(serde::Deserialize)]
pub struct CommitForm {}

pub async fn commit(
    State(app): State<App>,
    PathIds(id): PathIds<ImportId>,
    CsrfForm(user, _form): CsrfForm<CommitForm>,
) -> Response {
    let back = format!("/imports/{id}");
    match app.commit_import(&user.actor, id).await {
        Ok(v) => redirect_with(
            &back,
            "notice",
            &format!(
                "Imported {} rows: {} created, {} updated, {} unchanged.",
                v.rows, v.created, v.updated, v.unchanged
            ),
        ),
        Err(AppError::NotFound) => PageError(AppError::NotFound).into_response(),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

/// `/imports/template/{kind}.csv`: the header and one example row.
pub async fn template(user: WebUser, Path(file): Path<String>) -> PageResult {
    user.actor.officer()?;
    let kind = file
        .strip_suffix(".csv")
        .and_then(ImportKind::parse)
        .ok_or(AppError::NotFound)?;
    Ok(crate::pages::csv_response(
        &format!("{}.csv", kind.as_str()),
        kind.template_csv(),
    ))
}

trait KindLabel {
    fn kind_label(&self) -> &'static str;
}

impl KindLabel for ImportView {
    fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}
