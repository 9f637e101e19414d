//! Groups (`/groups`): the list with today's member counts and a form to create one, and a
//! group's page (`/groups/{id}`): rename or re-kind it, its members today (by name, in
//! pages), and adding (search, tick several) or removing members through the same app
//! functions as `POST /groups/{id}/members/add|remove`, which date the membership history.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use credence_app::ids::{GroupId, MemberId};
use credence_app::page::PageParams;
use credence_app::people::groups::{GroupMembers, GroupPatch, GroupView, NewGroup, GROUP_KINDS};
use credence_app::people::members::{MemberListFilter, MemberView};
use credence_app::{App, AppError};
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::people::picker::{MemberPicker, Picked};
use crate::pages::{
    error_text, form_encode, redirect_with, render, Layout, PageError, PageResult, WebUser,
};

/// Rows per page: groups on the list, members on a group's page, search results.
const PAGE: i64 = 50;

/// A group form as typed, with the app's errors by field.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupForm {
    version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
}

/// Field errors of a refused form; a conflict (stale version) has no field.
#[derive(Default)]
pub struct Errors {
    fields: BTreeMap<String, String>,
    general: Option<String>,
}

impl Errors {
    /// The errors of `e`, or the error page for failures that are no fault of the form.
    fn of(e: AppError) -> Result<Errors, PageError> {
        match e {
            AppError::Invalid(i) => Ok(Errors {
                fields: i.errors.into_iter().map(|e| (e.field, e.message)).collect(),
                general: Some("Not saved: correct the fields marked below.".into()),
            }),
            e @ AppError::Conflict(_) => Ok(Errors {
                fields: BTreeMap::new(),
                general: Some(format!(
                    "{} Not saved: reload the page to see the group as it is now.",
                    error_text(&e)
                )),
            }),
            other => Err(PageError(other)),
        }
    }

    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    fn invalid(&self, field: &str) -> &'static str {
        if self.fields.contains_key(field) {
            "true"
        } else {
            "false"
        }
    }

    fn status(&self) -> StatusCode {
        if !self.fields.is_empty() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else if self.general.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        }
    }
}

// ---- The list ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

#[derive(Template)]
#[template(path = "groups.html")]
struct ListPage {
    layout: Layout,
    groups: Vec<GroupView>,
    first: bool,
    next: Option<String>,
    can_admin: bool,
    f: GroupForm,
    errors: Errors,
    kinds: &'static [&'static str],
}

async fn list_page(
    app: &App,
    user: &WebUser,
    cursor: Option<String>,
    f: GroupForm,
    errors: Errors,
) -> PageResult {
    let reader = user.actor.reader()?;
    let first = cursor.is_none();
    let page = app
        .groups(
            &reader,
            &PageParams {
                limit: Some(PAGE),
                cursor,
            },
        )
        .await?;
    let status = errors.status();
    let mut response = render(&ListPage {
        layout: Layout::new(user, "Groups", "groups").with_error(errors.general.clone()),
        groups: page.items,
        first,
        next: page.next_cursor,
        can_admin: user.actor.role().administers(),
        f,
        errors,
        kinds: &GROUP_KINDS,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn list(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<ListQuery>,
) -> PageResult {
    let f = GroupForm {
        kind: "station".into(),
        ..Default::default()
    };
    list_page(&app, &user, q.cursor, f, Errors::default()).await
}

pub async fn create(State(app): State<App>, CsrfForm(user, f): CsrfForm<GroupForm>) -> Response {
    let admin = capability!(user.actor, admin);
    let input = NewGroup {
        name: f.name.clone(),
        kind: Some(f.kind.clone()),
    };
    match app.create_group(&admin, input).await {
        Ok(g) => redirect_with(
            &format!("/groups/{}", g.id),
            "notice",
            &format!("{} was created; add its members below.", g.name),
        ),
        Err(e) => match Errors::of(e) {
            Ok(errors) => list_page(&app, &user, None, f, errors)
                .await
                .into_response(),
            Err(page) => page.into_response(),
        },
    }
}

// ---- One group ----

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupQuery {
    /// The page of members.
    cursor: Option<String>,
    /// A search for members to add.
    find: Option<String>,
}

impl GroupQuery {
    fn find(&self) -> Option<&str> {
        self.find
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
    }
}

#[derive(Template)]
#[template(path = "group.html")]
struct GroupPage {
    layout: Layout,
    g: GroupView,
    members: Vec<MemberView>,
    first: bool,
    next: Option<String>,
    find: String,
    /// Adding members (admins).
    picker: Option<MemberPicker>,
    can_admin: bool,
    f: GroupForm,
    errors: Errors,
    kinds: &'static [&'static str],
}

impl GroupPage {
    fn next_link(&self) -> Option<String> {
        let find = if self.find.is_empty() {
            String::new()
        } else {
            format!("&find={}", form_encode(&self.find))
        };
        self.next
            .as_ref()
            .map(|c| format!("/groups/{}?cursor={c}{find}", self.g.id))
    }
}

async fn group_page(
    app: &App,
    user: &WebUser,
    id: GroupId,
    q: GroupQuery,
    f: Option<GroupForm>,
    errors: Errors,
    picked: Option<Picked>,
) -> PageResult {
    let actor = &user.actor;
    let g = app.group(&actor.reader()?, id).await?;
    let first = q.cursor.is_none();
    let page = app
        .members(
            actor,
            &MemberListFilter {
                group_id: Some(id),
                ..Default::default()
            },
            &PageParams {
                limit: Some(PAGE),
                cursor: q.cursor.clone(),
            },
        )
        .await?;
    let picker = match actor.role().administers() {
        true => {
            let picked = picked.unwrap_or_else(|| Picked::new(&[], &q.find.clone(), None, &None));
            Some(MemberPicker::load(app, actor, &picked).await?)
        }
        false => None,
    };
    let f = f.unwrap_or_else(|| GroupForm {
        version: Some(g.version),
        name: g.name.clone(),
        kind: g.kind.clone(),
    });
    let status = errors.status();
    let mut response = render(&GroupPage {
        layout: Layout::new(user, g.name.clone(), "groups").with_error(errors.general.clone()),
        find: q.find().unwrap_or_default().to_string(),
        g,
        members: page.items,
        first,
        next: page.next_cursor,
        picker,
        can_admin: actor.role().administers(),
        f,
        errors,
        kinds: &GROUP_KINDS,
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    PathIds(id): PathIds<GroupId>,
    HtmlQuery(q): HtmlQuery<GroupQuery>,
) -> PageResult {
    group_page(&app, &user, id, q, None, Errors::default(), None).await
}

pub async fn update(
    State(app): State<App>,
    PathIds(id): PathIds<GroupId>,
    CsrfForm(user, f): CsrfForm<GroupForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let patch = GroupPatch {
        version: f.version.unwrap_or_default(),
        name: Some(f.name.clone()),
        kind: Some(f.kind.clone()),
    };
    match app.update_group(&admin, id, patch).await {
        Ok(g) => redirect_with(
            &format!("/groups/{id}"),
            "notice",
            &format!("Saved {}.", g.name),
        ),
        Err(e) => match Errors::of(e) {
            Ok(errors) => group_page(
                &app,
                &user,
                id,
                GroupQuery::default(),
                Some(f),
                errors,
                None,
            )
            .await
            .into_response(),
            Err(page) => page.into_response(),
        },
    }
}

/// The members ticked on a group's page (or, to add, the picker's "all matching"), and the
/// search to come back to.
#[derive(Debug, Deserialize)]
pub struct MembersForm {
    #[serde(default)]
    member_ids: Vec<MemberId>,
    find: Option<String>,
    pick_q: Option<String>,
    pick_group_id: Option<GroupId>,
    pick_all: Option<String>,
    /// The picker's Search button without script: the page again, filtered, ticks kept.
    pick_search: Option<String>,
}

impl MembersForm {
    fn picked(&self) -> Picked {
        let q = self.pick_q.clone().or_else(|| self.find.clone());
        Picked::new(&self.member_ids, &q, self.pick_group_id, &self.pick_all)
    }
}

pub async fn add_members(
    State(app): State<App>,
    PathIds(id): PathIds<GroupId>,
    CsrfForm(user, f): CsrfForm<MembersForm>,
) -> Response {
    change_members(app, user, id, f, true).await
}

pub async fn remove_members(
    State(app): State<App>,
    PathIds(id): PathIds<GroupId>,
    CsrfForm(user, f): CsrfForm<MembersForm>,
) -> Response {
    change_members(app, user, id, f, false).await
}

async fn change_members(
    app: App,
    user: WebUser,
    id: GroupId,
    f: MembersForm,
    add: bool,
) -> Response {
    let admin = capability!(user.actor, admin);
    // Another agency's group is a 404, whatever was ticked.
    let before = match app.group(&admin.as_reader(), id).await {
        Ok(g) => g.member_count,
        Err(e) => return PageError(e).into_response(),
    };
    let picked = f.picked();
    if add && f.pick_search.is_some() {
        let q = GroupQuery {
            find: Some(picked.q.clone()),
            ..Default::default()
        };
        return group_page(&app, &user, id, q, None, Errors::default(), Some(picked))
            .await
            .into_response();
    }
    let back = match picked.q.as_str() {
        find if add && !find.is_empty() => format!("/groups/{id}?find={}", form_encode(find)),
        _ => format!("/groups/{id}"),
    };
    let member_ids = match add {
        true => match picked.resolve(&app, &user.actor).await {
            Ok(ids) => ids,
            Err(e) => return PageError(e).into_response(),
        },
        false => f.member_ids,
    };
    if member_ids.is_empty() {
        let what = if add { "add" } else { "remove" };
        return redirect_with(
            &back,
            "error",
            &format!("Tick at least one member to {what}."),
        );
    }
    let input = GroupMembers { member_ids };
    let result = if add {
        app.add_group_members(&admin, id, input).await
    } else {
        app.remove_group_members(&admin, id, input).await
    };
    match result {
        Ok(v) => {
            let changed = (v.group.member_count - before).abs();
            let message = match (add, changed) {
                (true, 1) => format!("1 member joined {}.", v.group.name),
                (true, n) => format!("{n} members joined {}.", v.group.name),
                (false, 1) => format!("1 member left {}; their credentials stay.", v.group.name),
                (false, n) => format!("{n} members left {}; their credentials stay.", v.group.name),
            };
            redirect_with(&back, "notice", &message)
        }
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
