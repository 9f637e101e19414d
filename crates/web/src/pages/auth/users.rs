//! `/users`: who can sign in. For now the agency's API tokens, each revocable at once (admin).

use crate::extract::PathIds;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use credence_app::auth::tokens::TokenView;
use credence_app::ids::TokenId;
use credence_app::page::PageParams;
use credence_app::App;

use crate::pages::auth::login::Empty;
use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    tokens: Vec<TokenView>,
}

pub async fn page(State(app): State<App>, user: WebUser) -> PageResult {
    let admin = user.actor.admin()?;
    let page = PageParams {
        limit: Some(500),
        cursor: None,
    };
    let tokens = app.tokens(&admin, &page).await?.items;
    Ok(render(&UsersPage {
        layout: Layout::new(&user, "Users", "users"),
        tokens,
    }))
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
