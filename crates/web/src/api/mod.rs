//! The JSON API under `/api/v1`. One module per resource, named after its route; every
//! handler only parses, authenticates and calls the app layer.

pub mod auth;
pub mod catalog;
pub mod credentials;
pub mod documents;
pub mod imports;
pub mod notify;
pub mod ops;
pub mod people;
pub mod reports;
pub mod training;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::App;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(people::members::list, people::members::create))
        .routes(routes!(
            people::members::get,
            people::members::update,
            people::members::deactivate
        ))
        .routes(routes!(people::members::transcript))
        .routes(routes!(people::groups::list, people::groups::create))
        .routes(routes!(people::groups::get, people::groups::update))
        .routes(routes!(people::groups::set_members))
        .routes(routes!(people::groups::add_members))
        .routes(routes!(people::groups::remove_members))
        .routes(routes!(catalog::courses::list, catalog::courses::create))
        .routes(routes!(catalog::courses::get, catalog::courses::update))
        .routes(routes!(catalog::courses::retire))
        .routes(routes!(training::classes::list, training::classes::create))
        .routes(routes!(training::classes::get))
        .routes(routes!(training::classes::set_roster))
        .routes(routes!(training::classes::add_to_roster))
        .routes(routes!(training::classes::remove_from_roster))
        .routes(routes!(training::classes::complete))
        .routes(routes!(training::classes::reopen))
        .routes(routes!(training::classes::sign_off))
        .routes(routes!(
            catalog::credential_types::list,
            catalog::credential_types::create
        ))
        .routes(routes!(
            catalog::credential_types::get,
            catalog::credential_types::update
        ))
        .routes(routes!(catalog::credential_types::publish))
        .routes(routes!(catalog::credential_types::retire))
        .routes(routes!(catalog::credential_types::templates))
        .routes(routes!(catalog::credential_types::copy_template))
        .routes(routes!(ops::audit::list))
        .routes(routes!(credentials::assignments::create))
        .routes(routes!(credentials::credential::list))
        .routes(routes!(credentials::credential::bulk_update))
        .routes(routes!(credentials::credential::bulk_revoke))
        .routes(routes!(credentials::credential::get))
        .routes(routes!(credentials::credential::issue))
        .routes(routes!(credentials::credential::sign_off))
        .routes(routes!(credentials::credential::revoke))
        .routes(routes!(training::records::list, training::records::create))
        .routes(routes!(training::records::bulk))
        .routes(routes!(training::sign_offs::create))
        .routes(routes!(credentials::renewals::create))
        .routes(routes!(credentials::operations::list))
        .routes(routes!(credentials::operations::get))
        .routes(routes!(credentials::operations::undo))
        .routes(routes!(credentials::renewal_plans::candidates))
        .routes(routes!(credentials::renewal_plans::create))
        .routes(routes!(credentials::renewal_plans::get))
        .routes(routes!(notify::outbox::list))
        .routes(routes!(notify::outbox::retry))
        .routes(routes!(notify::webhooks::list, notify::webhooks::create))
        .routes(routes!(
            notify::webhooks::get,
            notify::webhooks::update,
            notify::webhooks::delete
        ))
        .routes(routes!(notify::webhooks::test))
        .routes(routes!(notify::calendar::rotate))
        .routes(routes!(ops::agency::get, ops::agency::update))
        .routes(routes!(
            auth::oidc::get,
            auth::oidc::put,
            auth::oidc::delete
        ))
        .routes(routes!(auth::tokens::list))
        .routes(routes!(auth::tokens::revoke))
        .routes(routes!(auth::users::list, auth::users::create))
        .routes(routes!(auth::users::update))
        .routes(routes!(auth::users::password_reset))
        .routes(routes!(reports::compliance::compliance))
        .routes(routes!(reports::qualified::qualified))
        .routes(routes!(reports::hours::hours))
        .routes(routes!(reports::readiness::readiness))
        .routes(routes!(reports::readiness::readiness_pdf))
        .routes(routes!(reports::readiness::member_qualified))
        .routes(routes!(
            credentials::exemptions::list,
            credentials::exemptions::create
        ))
        .routes(routes!(credentials::exemptions::end))
        .routes(routes!(
            credentials::exemptions::list_leaves,
            credentials::exemptions::create_leave
        ))
        .routes(routes!(credentials::exemptions::withdraw_leave))
        .routes(routes!(
            catalog::qualifications::list,
            catalog::qualifications::create
        ))
        .routes(routes!(
            catalog::qualifications::get,
            catalog::qualifications::update,
            catalog::qualifications::delete
        ))
        .routes(routes!(
            documents::certificates::list_templates,
            documents::certificates::create_template
        ))
        .routes(routes!(
            documents::certificates::get_template,
            documents::certificates::update_template
        ))
        .routes(routes!(documents::certificates::preview_template))
        .routes(routes!(
            documents::certificates::generate,
            documents::certificates::register
        ))
        .routes(routes!(documents::certificates::get))
        .routes(routes!(documents::certificates::pdf))
        .routes(routes!(documents::certificates::history))
        .routes(routes!(documents::certificates::merge))
        .routes(routes!(documents::certificates::zip))
        .routes(routes!(documents::certificates::regenerate))
        .routes(routes!(documents::certificates::regenerate_many))
        .routes(routes!(documents::certificates::issue))
        .routes(routes!(documents::certificates::issue_many))
        .routes(routes!(documents::certificates::email))
        .routes(routes!(
            documents::certificates::attach,
            documents::certificates::documents
        ))
        .routes(routes!(documents::certificates::file))
        .routes(routes!(documents::badges::badge))
        .routes(routes!(documents::badges::verify))
        .routes(routes!(documents::badges::rotate))
        .routes(routes!(auth::two_factor::status, auth::two_factor::confirm))
        .routes(routes!(auth::two_factor::begin))
        .routes(routes!(auth::two_factor::recovery_codes))
        .routes(routes!(auth::two_factor::disable))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(imports::create))
                .layer(axum::extract::DefaultBodyLimit::max(imports::UPLOAD_LIMIT)),
        )
        .routes(routes!(imports::get))
        .routes(routes!(imports::commit))
        .routes(routes!(
            documents::agency_logo::get_logo,
            documents::agency_logo::put_logo,
            documents::agency_logo::delete_logo
        ))
}

/// 201 with the new resource and its address.
pub fn created<T: Serialize>(collection: &str, id: impl std::fmt::Display, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/{collection}/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
