//! `/credential-types`: definitions, requirements and the draft → published → retired
//! lifecycle.

use crate::extract::PathIds;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use credence_app::catalog::credential_types::{
    CredentialTypePatch, CredentialTypeView, LifecycleAction, NewCredentialType, TypeListFilter,
};
use credence_app::catalog::templates::{TemplateCopy, TemplateView};
use credence_app::ids::CredentialTypeId;
use credence_app::page::{Page, PageParams};
use credence_app::Admin;
use credence_app::App;

use crate::api::created;
use crate::extract::{ApiJson, ApiQuery, Auth, Can, OptionalJson};
use crate::problem::{ApiResult, Problem};

/// List credential types (members see published, visible ones).
#[utoipa::path(get, path = "/credential-types", tag = "credential types", params(PageParams, TypeListFilter),
    responses((status = 200, body = Page<CredentialTypeView>), (status = 401, body = Problem)), security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Auth(actor): Auth,
    ApiQuery(page): ApiQuery<PageParams>,
    ApiQuery(filter): ApiQuery<TypeListFilter>,
) -> ApiResult<Json<Page<CredentialTypeView>>> {
    Ok(Json(app.credential_types(&actor, &filter, &page).await?))
}

/// Define a credential type (admin); it starts as a draft.
#[utoipa::path(post, path = "/credential-types", tag = "credential types", request_body = NewCredentialType,
    responses((status = 201, body = CredentialTypeView), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    ApiJson(input): ApiJson<NewCredentialType>,
) -> ApiResult<Response> {
    let t = app.create_credential_type(&admin, input).await?;
    Ok(created("credential-types", t.id, t))
}

/// One credential type with its requirements.
#[utoipa::path(get, path = "/credential-types/{id}", tag = "credential types", params(("id" = String, Path)),
    responses((status = 200, body = CredentialTypeView), (status = 404, body = Problem)), security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Auth(actor): Auth,
    PathIds(id): PathIds<CredentialTypeId>,
) -> ApiResult<Json<CredentialTypeView>> {
    Ok(Json(app.credential_type(&actor, id).await?))
}

/// Change a credential type (admin); `requirements`, when sent, is the complete new list.
#[utoipa::path(patch, path = "/credential-types/{id}", tag = "credential types", params(("id" = String, Path)), request_body = CredentialTypePatch,
    responses((status = 200, body = CredentialTypeView), (status = 409, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<CredentialTypeId>,
    ApiJson(input): ApiJson<CredentialTypePatch>,
) -> ApiResult<Json<CredentialTypeView>> {
    Ok(Json(app.update_credential_type(&admin, id, input).await?))
}

/// Publish a draft (admin): it can then be assigned.
#[utoipa::path(post, path = "/credential-types/{id}/publish", tag = "credential types", params(("id" = String, Path)), request_body(content = Option<LifecycleAction>),
    responses((status = 200, body = CredentialTypeView), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn publish(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<CredentialTypeId>,
    OptionalJson(action): OptionalJson<LifecycleAction>,
) -> ApiResult<Json<CredentialTypeView>> {
    Ok(Json(app.publish_credential_type(&admin, id, action).await?))
}

/// Retire a type (admin): no new assignments; issued credentials stay.
#[utoipa::path(post, path = "/credential-types/{id}/retire", tag = "credential types", params(("id" = String, Path)), request_body(content = Option<LifecycleAction>),
    responses((status = 200, body = CredentialTypeView), (status = 409, body = Problem)), security(("bearer" = [])))]
pub async fn retire(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(id): PathIds<CredentialTypeId>,
    OptionalJson(action): OptionalJson<LifecycleAction>,
) -> ApiResult<Json<CredentialTypeView>> {
    Ok(Json(app.retire_credential_type(&admin, id, action).await?))
}

/// Starter credential types to copy and adapt: NREMT EMT, AEMT and Paramedic
/// recertification, ISO fire training hours (figures approximate; check current ones).
#[utoipa::path(get, path = "/credential-type-templates", tag = "credential types",
    responses((status = 200, body = Page<TemplateView>), (status = 401, body = Problem), (status = 403, body = Problem)), security(("bearer" = [])))]
pub async fn templates(
    State(app): State<App>,
    Auth(actor): Auth,
) -> ApiResult<Json<Page<TemplateView>>> {
    Ok(Json(Page {
        items: app.credential_type_templates(&actor)?,
        next_cursor: None,
    }))
}

/// Copy a starter type into the agency (admin): a new draft type, optionally with its own
/// code and name.
#[utoipa::path(post, path = "/credential-type-templates/{key}/copy", tag = "credential types", params(("key" = String, Path)), request_body(content = Option<TemplateCopy>),
    responses((status = 201, body = CredentialTypeView), (status = 404, body = Problem), (status = 422, body = Problem)), security(("bearer" = [])))]
pub async fn copy_template(
    State(app): State<App>,
    Can(admin): Can<Admin>,
    PathIds(key): PathIds<String>,
    OptionalJson(copy): OptionalJson<TemplateCopy>,
) -> ApiResult<Response> {
    let t = app
        .copy_credential_type_template(&admin, &key, copy)
        .await?;
    Ok(created("credential-types", t.id, t))
}
