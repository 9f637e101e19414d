//! A member's page: profile, groups, every credential with its requirement checklist,
//! training records, and recording training.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use credence_app::catalog::courses::CourseView;
use credence_app::credentials::views::CredentialDetail;
use credence_app::ids::{CourseId, MemberId};
use credence_app::people::members::MemberView;
use credence_app::training::records::{NewTrainingRecord, Source, TrainingRecordView};
use credence_app::App;
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    layout: Layout,
    m: MemberView,
    groups: Vec<String>,
    credentials: Vec<(CredentialDetail, String)>,
    records: Vec<(TrainingRecordView, String)>,
    courses: Vec<CourseView>,
    certificates: Vec<credence_app::documents::certificates::CertificateView>,
    can_manage: bool,
    today: String,
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<MemberId>,
) -> PageResult {
    let p = app.member_profile(&user.actor, id).await?;
    Ok(render(&MemberPage {
        layout: Layout::new(
            &user,
            format!("{} {}", p.member.first_name, p.member.last_name),
            "credentials",
        ),
        today: p.today.to_string(),
        can_manage: user.actor.role().manages_credentials(),
        m: p.member,
        groups: p.groups,
        credentials: p.credentials,
        records: p.records,
        courses: p.courses,
        certificates: p.certificates,
    }))
}

#[derive(Deserialize)]
pub struct TrainingForm {
    course_id: Option<CourseId>,
    completed_on: String,
    score: Option<String>,
    hours: Option<String>,
    category: Option<String>,
}

pub async fn record_training(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<TrainingForm>,
) -> Response {
    let back = format!("/members/{id}");
    let number = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<f64>)
    };
    let (Ok(completed_on), Ok(score), Ok(hours)) = (
        f.completed_on.parse(),
        number(&f.score).transpose(),
        number(&f.hours).transpose(),
    ) else {
        return redirect_with(
            &back,
            "error",
            "Enter a completion date, and numbers for score and hours.",
        );
    };
    let input = NewTrainingRecord {
        member_id: id,
        course_id: f.course_id,
        completed_on,
        score,
        hours,
        category: f.category.filter(|c| !c.trim().is_empty()),
    };
    match app
        .record_training(&capability!(user.actor, officer), input, Source::Manual)
        .await
    {
        Ok(_) => redirect_with(
            &back,
            "notice",
            "Training recorded; progress is up to date.",
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
