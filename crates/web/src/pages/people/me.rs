//! A member's own view: their visible credentials, progress and due dates.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use credence_app::credentials::views::{CredentialDetail, CredentialListFilter};
use credence_app::page::PageParams;
use credence_app::App;

use credence_app::training::submissions::SubmissionView;

use crate::pages::{render, Layout, PageResult, WebUser};

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    layout: Layout,
    credentials: Vec<(CredentialDetail, String)>,
    submissions: Vec<SubmissionView>,
    certificates: Vec<credence_app::documents::certificates::CertificateView>,
    courses: Vec<(credence_app::ids::CourseId, String)>,
    today: String,
    /// For the link to their transcript.
    member_id: Option<credence_app::ids::MemberId>,
}

pub async fn page(State(app): State<App>, user: WebUser) -> PageResult {
    let actor = &user.actor;
    if actor.member_id().is_none() {
        return Ok(Redirect::to("/").into_response());
    }
    let list = app
        .credentials(
            actor,
            &CredentialListFilter::default(),
            &PageParams {
                limit: Some(200),
                cursor: None,
            },
        )
        .await?;
    let names = app.names(actor, &[]).await?;
    let mut credentials = Vec::new();
    for c in list.items {
        let type_name = names.type_name(&c.credential_type_id);
        credentials.push((app.credential(actor, c.id).await?, type_name));
    }
    // The courses of the member's own credentials, to say what an upload is for.
    let mut courses = Vec::new();
    for (d, _) in &credentials {
        for r in d.requirements.iter().filter(|r| r.kind == "course") {
            if let Some(c) = app.requirement_course(actor, r.requirement_id).await? {
                if !courses.contains(&c) {
                    courses.push(c);
                }
            }
        }
    }
    Ok(render(&MePage {
        layout: Layout::new(&user, "My credentials", "me"),
        credentials,
        submissions: app.submissions(actor).await?,
        certificates: app
            .certificate_register(actor, &Default::default(), &Default::default())
            .await?
            .items
            .into_iter()
            .filter(|c| {
                c.status
                    != credence_app::documents::certificates::CertificateStatus::ReadyToBeRequested
            })
            .collect(),
        courses,
        today: app.today(actor).await?.to_string(),
        member_id: actor.member_id(),
    }))
}
