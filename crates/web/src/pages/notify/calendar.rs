//! Calendar feeds: the feed itself (`/calendar/{secret}.ics`, no sign-in: calendar apps
//! cannot send one, so the unguessable secret is the credential), and the buttons that
//! make a new link — a member's own on `/me`, an officer's on the dashboard. The link is
//! shown once, on the page the button answers with (only its hash is stored).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use credence_app::ids::GroupId;
use credence_app::notify::calendar::RotateCalendar;
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::{render, Layout, PageError};

pub async fn feed(State(app): State<App>, Path(file): Path<String>) -> Response {
    let Some(secret) = file.strip_suffix(".ics") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match app.calendar_feed(secret).await {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            text,
        )
            .into_response(),
        Err(AppError::NotFound) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "No calendar at this address: it may have been replaced by a newer link.\n",
        )
            .into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "calendar_link.html")]
struct LinkPage {
    layout: Layout,
    url: String,
    /// What the feed lists, in words.
    about: String,
    back: &'static str,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct FeedForm {
    /// For an officer's feed: one group (empty for the agency).
    #[serde(default)]
    group_id: String,
}

/// A member's own feed (`/me`).
pub async fn rotate_own(State(app): State<App>, CsrfForm(user, _): CsrfForm<FeedForm>) -> Response {
    let Some(member_id) = user.actor.member_id() else {
        return PageError(AppError::NotFound).into_response();
    };
    let input = RotateCalendar {
        member_id: Some(member_id),
        group_id: None,
    };
    match app.rotate_calendar(&user.actor, input).await {
        Ok(link) => render(&LinkPage {
            layout: Layout::new(&user, "My calendar link", "me"),
            url: link.url,
            about: "your expirations and due dates".into(),
            back: "/me",
        }),
        Err(e) => PageError(e).into_response(),
    }
}

/// An officer's feed of the agency or a group (the dashboard).
pub async fn rotate_officer(
    State(app): State<App>,
    CsrfForm(user, f): CsrfForm<FeedForm>,
) -> Response {
    let group_id = match f.group_id.trim() {
        "" => None,
        g => match g.parse::<GroupId>() {
            Ok(g) => Some(g),
            Err(_) => {
                return PageError(AppError::invalid("group_id", "is not a group")).into_response()
            }
        },
    };
    let input = RotateCalendar {
        member_id: None,
        group_id,
    };
    match app.rotate_calendar(&user.actor, input).await {
        Ok(link) => render(&LinkPage {
            layout: Layout::new(&user, "Calendar link", "dashboard"),
            url: link.url,
            about: if group_id.is_some() {
                "the expirations and due dates of the group's members".into()
            } else {
                "the expirations and due dates of everyone in the agency".into()
            },
            back: "/",
        }),
        Err(e) => PageError(e).into_response(),
    }
}
