//! A member's page: profile, groups, every credential with its requirement checklist,
//! training records, and recording training.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use credence_app::catalog::courses::CourseView;
use credence_app::credentials::views::{CredentialDetail, CredentialListFilter};
use credence_app::ids::{CourseId, MemberId};
use credence_app::page::PageParams;
use credence_app::people::members::MemberView;
use credence_app::training::records::{
    NewTrainingRecord, Source, TrainingRecordFilter, TrainingRecordView,
};
use credence_app::App;
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::credentials::manage::{all_groups, Messages};
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
    Query(msg): Query<Messages>,
) -> PageResult {
    let actor = &user.actor;
    let m = app.member(actor, id).await?;
    let group_names = all_groups(&app, actor).await.unwrap_or_default();
    let groups = m
        .group_ids
        .iter()
        .filter_map(|g| {
            group_names
                .iter()
                .find(|x| &x.id == g)
                .map(|x| x.name.clone())
        })
        .collect();
    // Every credential with its requirements in a few queries, not one detail call each.
    let details = app
        .credential_details(
            actor,
            &CredentialListFilter {
                member_id: Some(m.id),
                ..Default::default()
            },
            100,
        )
        .await?;
    let names = app.names(actor, std::slice::from_ref(&m.id)).await?;
    let credentials = details
        .into_iter()
        .map(|d| {
            let type_name = names.type_name(&d.credential.credential_type_id);
            (d, type_name)
        })
        .collect();
    let courses = if actor.role().reads_agency() {
        app.courses(
            &actor.reader()?,
            &PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items
    } else {
        Vec::new()
    };
    let records = app
        .training_records(
            actor,
            &TrainingRecordFilter {
                member_id: Some(m.id),
                course_id: None,
            },
            &PageParams {
                limit: Some(100),
                cursor: None,
            },
        )
        .await?
        .items
        .into_iter()
        .map(|r| {
            let course = r
                .course_id
                .as_ref()
                .and_then(|c| courses.iter().find(|x| &x.id == c))
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (r, course)
        })
        .collect();
    Ok(render(&MemberPage {
        layout: Layout::new(
            &user,
            format!("{} {}", m.first_name, m.last_name),
            "credentials",
        )
        .with_messages(msg.notice, msg.error),
        today: app.today(actor).await?.to_string(),
        certificates: app
            .certificate_register(
                actor,
                &credence_app::documents::certificates::RegisterQuery {
                    member_id: Some(m.id),
                    ..Default::default()
                },
                &Default::default(),
            )
            .await?
            .items,
        m,
        groups,
        credentials,
        records,
        courses,
        can_manage: actor.role().manages_credentials(),
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
