//! `/users`: who can sign in (admin). The agency's logins, a page at a time by e-mail, with
//! an invitation form, role changes, deactivation, password-reset links and turning off a
//! lost second factor; and the API tokens, each revocable at once.

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use credence_app::auth::tokens::TokenView;
use credence_app::auth::users::{NewLogin, UserPatch, UserView};
use credence_app::ids::{MemberId, TokenId, UserId};
use credence_app::page::PageParams;
use credence_app::people::members::{MemberListFilter, MemberView};
use credence_app::{Admin, App, AppError, Role};
use credence_domain::validation::fold_email;
use credence_domain::FieldError;
use serde::Deserialize;

use crate::pages::auth::login::Empty;
use crate::pages::auth::session::{CsrfForm, HtmlQuery};
use crate::pages::{error_text, redirect_with, render, Layout, PageError, PageResult, WebUser};

/// What the invitation form holds, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    member_id: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    /// The cursor of this page (absent on the first).
    cursor: Option<String>,
    next: Option<String>,
    tokens: Vec<TokenView>,
    members: Vec<MemberView>,
    invite: InviteForm,
    errors: Vec<FieldError>,
    /// Logins with two-factor sign-in on.
    two_factor: std::collections::HashSet<UserId>,
}

impl UsersPage {
    fn has_two_factor(&self, u: &UserView) -> bool {
        self.two_factor.contains(&u.id)
    }

    fn roles(&self) -> [&'static str; 4] {
        Role::ALL.map(Role::as_str)
    }

    /// The role the invitation form shows chosen: what was typed, else officer.
    fn role_selected(&self, role: &str) -> bool {
        match self.invite.role.as_str() {
            "" => role == "officer",
            typed => typed == role,
        }
    }

    /// The message for `field` of the invitation form, if it has one.
    fn error_for(&self, field: &str) -> Option<String> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    }

    /// True for the signed-in admin's own login.
    fn is_self(&self, u: &UserView) -> bool {
        fold_email(&u.email) == fold_email(&self.layout.email)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

async fn users_page(
    app: &App,
    user: &WebUser,
    admin: &Admin,
    cursor: Option<String>,
    invite: InviteForm,
    errors: Vec<FieldError>,
) -> Result<UsersPage, AppError> {
    let cursor = cursor.filter(|c| !c.is_empty());
    let users = app
        .users(
            admin,
            &PageParams {
                limit: Some(100),
                cursor: cursor.clone(),
            },
        )
        .await?;
    let all = PageParams {
        limit: Some(500),
        cursor: None,
    };
    let tokens = app.tokens(admin, &all).await?.items;
    let active = MemberListFilter {
        active: Some(true),
        ..MemberListFilter::default()
    };
    let members = app.members(&user.actor, &active, &all).await?.items;
    let two_factor = app.two_factor_logins(admin).await?;
    Ok(UsersPage {
        layout: Layout::new(user, "Users", "users"),
        users: users.items,
        cursor,
        next: users.next_cursor,
        tokens,
        members,
        invite,
        errors,
        two_factor,
    })
}

pub async fn page(
    State(app): State<App>,
    user: WebUser,
    HtmlQuery(q): HtmlQuery<ListQuery>,
) -> PageResult {
    let admin = user.actor.admin()?;
    let page = users_page(&app, &user, &admin, q.cursor, InviteForm::default(), vec![]).await?;
    Ok(render(&page))
}

/// Sends an invitation; bad input shows the form again with what was typed.
pub async fn invite(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<InviteForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let mut errors = Vec::new();
    let role = Role::parse(form.role.trim());
    if role.is_none() {
        errors.push(FieldError {
            field: "role".into(),
            message: "choose admin, officer, auditor or member".into(),
        });
    }
    let member_id = match form.member_id.trim() {
        "" => None,
        raw => match raw.parse::<MemberId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError {
                    field: "member_id".into(),
                    message: "is not a member of this agency".into(),
                });
                None
            }
        },
    };
    let result = match (role, errors.is_empty()) {
        (Some(role), true) => {
            let input = NewLogin {
                email: form.email.clone(),
                role,
                member_id,
            };
            app.invite_user(&admin, input).await
        }
        _ => Err(AppError::Invalid(credence_domain::Invalid { errors })),
    };
    match result {
        Ok(created) => redirect_with(
            "/users",
            "notice",
            &format!(
                "Invitation sent to {}: the link to choose a password works once, within 72 hours.",
                created.email
            ),
        ),
        Err(AppError::Invalid(invalid)) => {
            match users_page(&app, &user, &admin, None, form, invalid.errors).await {
                Ok(page) => {
                    let mut response = render(&page);
                    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
                    response
                }
                Err(e) => PageError(e).into_response(),
            }
        }
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}

/// True when `u` is the signed-in person's own login.
fn is_self(user: &WebUser, u: &UserView) -> bool {
    fold_email(&user.email) == fold_email(&u.email)
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn set_role(
    State(app): State<App>,
    PathIds(id): PathIds<UserId>,
    CsrfForm(user, form): CsrfForm<RoleForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let Some(role) = Role::parse(form.role.trim()) else {
        return redirect_with(
            "/users",
            "error",
            "role: choose admin, officer, auditor or member",
        );
    };
    let patch = UserPatch {
        role: Some(role),
        active: None,
    };
    match app.update_user(&admin, id, patch).await {
        // An admin who stepped down can no longer see this page.
        Ok(u) if is_self(&user, &u) && role != Role::Admin => {
            redirect_with("/account", "notice", &format!("You are now {}.", u.role))
        }
        Ok(u) => redirect_with(
            "/users",
            "notice",
            &format!("{} is now {}.", u.email, u.role),
        ),
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: bool,
}

pub async fn set_active(
    State(app): State<App>,
    PathIds(id): PathIds<UserId>,
    CsrfForm(user, form): CsrfForm<ActiveForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let patch = UserPatch {
        role: None,
        active: Some(form.active),
    };
    match app.update_user(&admin, id, patch).await {
        // Deactivating oneself ends one's own session too.
        Ok(u) if !u.active && is_self(&user, &u) => Redirect::to("/login").into_response(),
        Ok(u) if u.active => redirect_with(
            "/users",
            "notice",
            &format!("{} can sign in again.", u.email),
        ),
        Ok(u) => redirect_with(
            "/users",
            "notice",
            &format!(
                "{} is deactivated: signed out everywhere, and their member's API tokens are revoked.",
                u.email
            ),
        ),
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}

pub async fn password_reset(
    State(app): State<App>,
    PathIds(id): PathIds<UserId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app.send_password_reset(&admin, id).await {
        Ok(u) => redirect_with(
            "/users",
            "notice",
            &format!(
                "A password-reset link was sent to {}; it works once, within 72 hours.",
                u.email
            ),
        ),
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}

pub async fn reset_two_factor(
    State(app): State<App>,
    PathIds(id): PathIds<UserId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    let admin = capability!(user.actor, admin);
    match app.reset_two_factor(&admin, id).await {
        Ok(email) => redirect_with(
            "/users",
            "notice",
            &format!(
                "Two-factor sign-in is off for {email}: their password alone signs them in until they turn it on again."
            ),
        ),
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}

pub async fn revoke_token(
    State(app): State<App>,
    PathIds(id): PathIds<TokenId>,
    CsrfForm(user, _): CsrfForm<Empty>,
) -> Response {
    match app.revoke_token(&capability!(user.actor, admin), id).await {
        Ok(()) => redirect_with("/users", "notice", "Token revoked: it no longer works."),
        Err(e) => redirect_with("/users", "error", &error_text(&e)),
    }
}
