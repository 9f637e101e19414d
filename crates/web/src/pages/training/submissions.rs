//! External certificates: the member's upload form (on /me) and the officers' approval
//! queue.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::Response;
use credence_app::ids::SubmissionId;
use credence_app::training::submissions::{Review, SubmissionView, Upload, MAX_UPLOAD_BYTES};
use credence_app::App;
use credence_app::AppError;
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

/// Reads the upload form; the CSRF token travels as a field like in every form.
async fn read_upload(user: &WebUser, mut multipart: Multipart) -> Result<Upload, String> {
    let mut csrf = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut fields = std::collections::HashMap::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the upload could not be read: {e}"))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|_| {
                format!(
                    "the file is larger than {} MB",
                    MAX_UPLOAD_BYTES / 1024 / 1024
                )
            })?;
            file = Some((file_name, bytes.to_vec()));
        } else {
            let value = field
                .text()
                .await
                .map_err(|e| format!("the form could not be read: {e}"))?;
            if name == "csrf" {
                csrf = Some(value);
            } else {
                fields.insert(name, value);
            }
        }
    }
    if csrf.as_deref() != Some(user.csrf.as_str()) {
        return Err("the form expired; reload the page and try again".into());
    }
    let (file_name, bytes) = file.ok_or("choose a file to upload")?;
    let text = |k: &str| {
        fields
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let completed_on = text("completed_on")
        .and_then(|d| d.parse().ok())
        .ok_or("enter the date you completed it")?;
    let hours = match text("hours") {
        Some(h) => Some(h.parse::<f64>().map_err(|_| "hours must be a number")?),
        None => None,
    };
    Ok(Upload {
        file_name,
        bytes,
        course_id: text("course_id"),
        completed_on,
        hours,
        category: text("category"),
        note: text("note"),
    })
}

pub async fn upload(State(app): State<App>, user: WebUser, multipart: Multipart) -> Response {
    match read_upload(&user, multipart).await {
        Err(message) => redirect_with("/me", "error", &message),
        Ok(upload) => match app.submit_external(&user.actor, upload).await {
            Ok(s) => redirect_with(
                "/me",
                "notice",
                &format!(
                    "Sent {} for approval. You will see it here once an officer reviews it.",
                    s.file_name
                ),
            ),
            Err(e) => redirect_with("/me", "error", &error_text(&e)),
        },
    }
}

#[derive(Template)]
#[template(path = "approvals.html")]
struct ApprovalsPage {
    layout: Layout,
    pending: Vec<SubmissionView>,
}

pub async fn queue(State(app): State<App>, user: WebUser) -> PageResult {
    user.actor.officer()?;
    let pending = app.submissions(&user.actor).await?;
    Ok(render(&ApprovalsPage {
        layout: Layout::new(&user, "Approvals", "approvals"),
        pending,
    }))
}

#[derive(Deserialize)]
pub struct ReviewForm {
    decision: String,
    /// The score the certificate shows, if any.
    score: Option<String>,
    /// Why it is rejected.
    reason: Option<String>,
}

impl ReviewForm {
    fn review(&self) -> Result<Review, AppError> {
        if self.decision != "approve" {
            return Ok(Review::Reject {
                reason: self.reason.clone().unwrap_or_default(),
            });
        }
        let score = match self
            .score
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(
                s.parse::<f64>()
                    .map_err(|_| AppError::invalid("score", "must be a number"))?,
            ),
        };
        Ok(Review::Approve { score })
    }
}

pub async fn review(
    State(app): State<App>,
    PathIds(id): PathIds<SubmissionId>,
    CsrfForm(user, f): CsrfForm<ReviewForm>,
) -> Response {
    let review = match f.review() {
        Ok(r) => r,
        Err(e) => return redirect_with("/approvals", "error", &error_text(&e)),
    };
    let approve = matches!(review, Review::Approve { .. });
    match app
        .review_submission(&capability!(user.actor, officer), id, review)
        .await
    {
        Ok(()) if approve => redirect_with(
            "/approvals",
            "notice",
            "Approved: the training is recorded and progress updated.",
        ),
        Ok(()) => redirect_with("/approvals", "notice", "Rejected."),
        Err(e) => redirect_with("/approvals", "error", &error_text(&e)),
    }
}

pub async fn file(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<SubmissionId>,
) -> Result<Response, crate::pages::PageError> {
    let (name, content_type, bytes) = app.submission_file(&user.actor, id).await?;
    Ok(crate::api::documents::certificates::file_response(
        &name,
        &content_type,
        bytes,
        crate::api::documents::certificates::Served::Uploaded,
    ))
}
