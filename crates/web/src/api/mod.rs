//! The JSON API under `/api/v1`. One module per resource, named after its route; every
//! handler only parses, authenticates and calls the app layer.

pub mod agency;
pub mod assignments;
pub mod audit;
pub mod certificates;
pub mod courses;
pub mod credential_types;
pub mod credentials;
pub mod groups;
pub mod members;
pub mod outbox;
pub mod renewal_plans;
pub mod renewals;
pub mod reports;
pub mod training_records;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use credence_app::App;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(members::list, members::create))
        .routes(routes!(members::get, members::update, members::deactivate))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::get, groups::update))
        .routes(routes!(groups::set_members))
        .routes(routes!(courses::list, courses::create))
        .routes(routes!(courses::get, courses::update))
        .routes(routes!(credential_types::list, credential_types::create))
        .routes(routes!(credential_types::get, credential_types::update))
        .routes(routes!(credential_types::publish))
        .routes(routes!(credential_types::retire))
        .routes(routes!(audit::list))
        .routes(routes!(assignments::create))
        .routes(routes!(credentials::list))
        .routes(routes!(credentials::bulk_update))
        .routes(routes!(credentials::get))
        .routes(routes!(credentials::issue))
        .routes(routes!(credentials::sign_off))
        .routes(routes!(credentials::revoke))
        .routes(routes!(training_records::list, training_records::create))
        .routes(routes!(training_records::bulk))
        .routes(routes!(renewals::create))
        .routes(routes!(renewal_plans::candidates))
        .routes(routes!(renewal_plans::create))
        .routes(routes!(renewal_plans::get))
        .routes(routes!(outbox::list))
        .routes(routes!(reports::compliance))
        .routes(routes!(
            certificates::list_templates,
            certificates::create_template
        ))
        .routes(routes!(
            certificates::get_template,
            certificates::update_template
        ))
        .routes(routes!(certificates::preview_template))
        .routes(routes!(certificates::generate, certificates::register))
        .routes(routes!(certificates::get))
        .routes(routes!(certificates::pdf))
        .routes(routes!(certificates::history))
        .routes(routes!(certificates::merge))
        .routes(routes!(certificates::regenerate))
        .routes(routes!(certificates::regenerate_many))
        .routes(routes!(certificates::issue))
        .routes(routes!(certificates::issue_many))
        .routes(routes!(certificates::email))
        .routes(routes!(certificates::attach, certificates::documents))
        .routes(routes!(certificates::file))
        .routes(routes!(
            agency::get_logo,
            agency::put_logo,
            agency::delete_logo
        ))
}

/// 201 with the new resource and its address.
pub fn created<T: Serialize>(collection: &str, id: &str, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/{collection}/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}
