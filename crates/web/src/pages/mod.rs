//! The web application: server-rendered pages (askama templates, compile-time checked) that
//! call the same app functions as the API. Sessions live in the database; every form
//! carries a CSRF token; htmx and a few lines of script only enhance pages that work
//! without them.

/// The capability `$cap` (`reader`, `officer`, `admin`) of `$actor`, or — from a handler
/// that answers a plain `Response` — an early return of the error page saying why not.
macro_rules! capability {
    ($actor:expr, $cap:ident) => {
        match $actor.$cap() {
            Ok(c) => c,
            Err(e) => {
                return axum::response::IntoResponse::into_response($crate::pages::PageError(e))
            }
        }
    };
}

pub(crate) mod assets;
pub(crate) mod auth;
mod catalog;
mod credentials;
mod documents;
mod flash;
mod imports;
mod notify;
pub(crate) mod ops;
mod people;
mod reports;
mod training;

use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use credence_app::{App, AppError};

pub use auth::session::WebUser;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/assets/{file}", get(assets::serve))
        .route("/login", get(auth::login::form).post(auth::login::submit))
        .route(
            "/login/two-factor",
            get(auth::two_factor::code_form).post(auth::two_factor::code_submit),
        )
        .route(
            "/login/enrol",
            get(auth::two_factor::enrol_form).post(auth::two_factor::enrol_submit),
        )
        .route("/login/oidc/callback", get(auth::oidc::callback))
        .route("/login/oidc/{slug}", get(auth::oidc::start))
        .route("/logout", post(auth::login::logout))
        .route("/", get(reports::dashboard::page))
        .route("/reports", get(reports::qualified::index))
        .route("/reports/qualified", get(reports::qualified::page))
        .route("/reports/qualified.csv", get(reports::qualified::export))
        .route("/reports/qualified.xlsx", get(reports::qualified::export))
        .route("/reports/hours", get(reports::hours::page))
        .route("/reports/hours.csv", get(reports::hours::export))
        .route("/reports/hours.xlsx", get(reports::hours::export))
        .route("/readiness", get(reports::readiness::page))
        .route("/readiness.pdf", get(reports::readiness::pdf))
        .route(
            "/qualifications",
            get(catalog::qualifications::list).post(catalog::qualifications::create),
        )
        .route(
            "/qualifications/{id}",
            get(catalog::qualifications::edit).post(catalog::qualifications::update),
        )
        .route(
            "/qualifications/{id}/delete",
            post(catalog::qualifications::delete),
        )
        .route("/credentials", get(credentials::manage::list))
        .route("/credentials.csv", get(credentials::manage::export))
        .route("/credentials.xlsx", get(credentials::manage::export))
        .route(
            "/credentials/assign",
            get(credentials::manage::assign_form).post(credentials::manage::assign),
        )
        .route(
            "/credentials/renew",
            get(credentials::manage::renew_members_form).post(credentials::manage::renew_members),
        )
        .route(
            "/credentials/action",
            get(credentials::manage::action_form).post(credentials::manage::action),
        )
        .route("/credentials/{id}", get(credentials::manage::detail))
        .route(
            "/credentials/{id}/exemptions",
            post(credentials::exemptions::exempt),
        )
        .route("/exemptions/{id}/end", post(credentials::exemptions::end))
        .route("/members/{id}/leaves", post(credentials::exemptions::leave))
        .route(
            "/leaves/{id}/withdraw",
            post(credentials::exemptions::withdraw_leave),
        )
        .route("/operations", get(credentials::operations::list))
        .route("/operations/{id}", get(credentials::operations::page))
        .route("/operations/{id}/undo", post(credentials::operations::undo))
        .route("/credentials/{id}/issue", post(credentials::manage::issue))
        .route(
            "/credentials/{id}/sign-off",
            post(credentials::manage::sign_off),
        )
        .route(
            "/members",
            get(people::members::list).post(people::member_form::create),
        )
        .route("/members.csv", get(people::members::export))
        .route("/members.xlsx", get(people::members::export))
        .route("/members/new", get(people::member_form::new_form))
        .route("/members/pick", get(people::picker::rows))
        .route("/members/{id}", get(people::members::page))
        .route(
            "/members/{id}/transcript.pdf",
            get(people::members::transcript),
        )
        .route(
            "/members/{id}/edit",
            get(people::member_form::edit_form).post(people::member_form::update),
        )
        .route(
            "/members/{id}/deactivate",
            post(people::members::deactivate),
        )
        .route(
            "/members/{id}/reactivate",
            post(people::members::reactivate),
        )
        .route("/members/{id}/assign", post(people::members::assign))
        .route(
            "/members/{id}/training",
            post(people::members::record_training),
        )
        .route(
            "/groups",
            get(people::groups::list).post(people::groups::create),
        )
        .route(
            "/groups/{id}",
            get(people::groups::page).post(people::groups::update),
        )
        .route(
            "/groups/{id}/members/add",
            post(people::groups::add_members),
        )
        .route(
            "/groups/{id}/members/remove",
            post(people::groups::remove_members),
        )
        .route(
            "/courses",
            get(catalog::courses::list).post(catalog::courses::create),
        )
        .route(
            "/courses/{id}",
            get(catalog::courses::page).post(catalog::courses::update),
        )
        .route("/courses/{id}/retire", post(catalog::courses::retire))
        .route(
            "/classes",
            get(training::classes::list).post(training::classes::create),
        )
        .route("/classes/{id}", get(training::classes::page))
        .route(
            "/classes/{id}/roster/add",
            post(training::classes::add_to_roster),
        )
        .route(
            "/classes/{id}/roster/remove",
            post(training::classes::remove_from_roster),
        )
        .route("/classes/{id}/complete", post(training::classes::complete))
        .route("/classes/{id}/reopen", post(training::classes::reopen))
        .route("/classes/{id}/sign-off", post(training::classes::sign_off))
        .route(
            "/credential-types",
            get(catalog::credential_types::list).post(catalog::credential_types::create),
        )
        .route(
            "/credential-type-templates/{key}/copy",
            post(catalog::credential_types::copy_template),
        )
        .route(
            "/credential-types/new",
            get(catalog::credential_types::new_form),
        )
        .route(
            "/credential-types/{id}",
            get(catalog::credential_types::edit_form).post(catalog::credential_types::update),
        )
        .route(
            "/credential-types/{id}/publish",
            post(catalog::credential_types::publish),
        )
        .route(
            "/credential-types/{id}/retire",
            post(catalog::credential_types::retire),
        )
        .route(
            "/renewals",
            get(credentials::renewals::page).post(credentials::renewals::renew),
        )
        .route("/me", get(people::me::page))
        .route(
            "/me/submissions",
            post(training::submissions::upload).layer(axum::extract::DefaultBodyLimit::max(
                credence_app::training::submissions::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .route(
            "/imports",
            get(imports::page)
                .post(imports::upload)
                .layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::imports::UPLOAD_LIMIT,
                )),
        )
        .route("/imports/template/{file}", get(imports::template))
        .route("/imports/{id}", get(imports::preview))
        .route("/imports/{id}/commit", post(imports::commit))
        .route("/users", get(auth::users::page))
        .route("/users/invite", post(auth::users::invite))
        .route("/users/{id}/role", post(auth::users::set_role))
        .route("/users/{id}/active", post(auth::users::set_active))
        .route(
            "/users/{id}/password-reset",
            post(auth::users::password_reset),
        )
        .route(
            "/users/{id}/two-factor/reset",
            post(auth::users::reset_two_factor),
        )
        .route(
            "/settings",
            get(ops::settings::page).post(ops::settings::save),
        )
        .route(
            "/settings/sign-in",
            get(auth::oidc::page).post(auth::oidc::save),
        )
        .route("/settings/sign-in/remove", post(auth::oidc::remove))
        .route("/outbox", get(notify::outbox::page))
        .route(
            "/webhooks",
            get(notify::webhooks::list).post(notify::webhooks::create),
        )
        .route("/webhooks/{id}/test", post(notify::webhooks::test))
        .route(
            "/webhooks/{id}/enabled",
            post(notify::webhooks::set_enabled),
        )
        .route("/webhooks/{id}/delete", post(notify::webhooks::delete))
        .route("/calendar/{file}", get(notify::calendar::feed))
        .route("/calendar/new", post(notify::calendar::rotate_officer))
        .route("/me/calendar", post(notify::calendar::rotate_own))
        .route("/outbox/{id}/retry", post(notify::outbox::retry))
        .route("/audit", get(ops::audit::page))
        .route("/audit.csv", get(ops::audit::export))
        .route("/audit.xlsx", get(ops::audit::export))
        .route("/users/tokens/{id}/revoke", post(auth::users::revoke_token))
        .route("/account", get(auth::account::page))
        .route("/account/password", post(auth::account::change_password))
        .route(
            "/account/two-factor",
            post(auth::account::enable_two_factor),
        )
        .route(
            "/account/two-factor/disable",
            post(auth::account::disable_two_factor),
        )
        .route(
            "/account/two-factor/recovery-codes",
            post(auth::account::regenerate_recovery_codes),
        )
        .route(
            "/invitations/{token}",
            get(auth::links::invitation).post(auth::links::accept_invitation),
        )
        .route(
            "/password-reset/{token}",
            get(auth::links::password_reset).post(auth::links::reset_password),
        )
        .route("/approvals", get(training::submissions::queue))
        .route("/approvals/{id}", post(training::submissions::review))
        .route("/submissions/{id}/file", get(training::submissions::file))
        .route("/certificates", get(documents::certificates::register))
        .route("/certificates.csv", get(documents::certificates::export))
        .route("/certificates.xlsx", get(documents::certificates::export))
        .route(
            "/certificates/action",
            post(documents::certificates::action),
        )
        .route(
            "/certificates/request",
            post(documents::certificates::request),
        )
        .route("/certificates/{id}/pdf", get(documents::certificates::pdf))
        .route("/files/{id}", get(documents::certificates::file))
        .route(
            "/certificate-templates",
            get(documents::certificates::templates).post(documents::certificates::save_template),
        )
        .route(
            "/agency/logo",
            get(documents::certificates::logo)
                .post(documents::certificates::upload_logo)
                .layer(axum::extract::DefaultBodyLimit::max(
                    credence_app::documents::agency_logo::MAX_LOGO_BYTES + 64 * 1024,
                )),
        )
        .route(
            "/agency/logo/remove",
            post(documents::certificates::remove_logo),
        )
        .route("/verify/{public_id}", get(documents::certificates::verify))
        .route("/issuers/{slug}", get(documents::badges::issuer))
        .route("/issuers/{slug}/jwks.json", get(documents::badges::jwks))
        .route(
            "/status-lists/{slug}/{n}",
            get(documents::badges::status_list),
        )
        .route("/credentials/{id}/badge", get(documents::badges::download))
        .route(
            "/issuances/{id}/documents",
            post(documents::certificates::attach).layer(axum::extract::DefaultBodyLimit::max(
                credence_app::training::submissions::MAX_UPLOAD_BYTES + 64 * 1024,
            )),
        )
        .layer(axum::middleware::from_fn(flash::middleware))
}

/// The layout every signed-in page shares.
pub struct Layout {
    pub title: String,
    pub nav: &'static str,
    pub email: String,
    pub csrf: String,
    pub is_member: bool,
    pub is_admin: bool,
    /// Shown to admins when no mail server is configured: mail is only queued.
    pub mail_only_queued: bool,
    /// May record training and issue (admins and officers).
    pub is_officer: bool,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Layout {
    pub fn new(user: &WebUser, title: impl Into<String>, nav: &'static str) -> Layout {
        Layout {
            title: title.into(),
            nav,
            email: user.email.clone(),
            csrf: user.csrf.clone(),
            is_member: !user.actor.role().reads_agency(),
            is_admin: user.actor.role().administers(),
            mail_only_queued: user.actor.role().administers() && !user.sends_mail,
            is_officer: user.actor.role().manages_credentials(),
            notice: user.flash.notice.clone(),
            error: user.flash.error.clone(),
        }
    }

    /// Shows `error` (a failure of this very request, such as a list that could not be
    /// loaded) instead of the flash's.
    pub fn with_error(mut self, error: Option<String>) -> Layout {
        if error.is_some() {
            self.error = error;
        }
        self
    }

    /// The page is one of those under the navigation's "Agency" menu.
    pub fn in_agency_menu(&self) -> bool {
        matches!(
            self.nav,
            "groups" | "imports" | "users" | "outbox" | "webhooks" | "audit" | "settings"
        )
    }

    /// The page is one of those under the navigation's "Training" menu.
    pub fn in_training_menu(&self) -> bool {
        matches!(self.nav, "classes" | "courses" | "approvals")
    }

    pub fn css(&self) -> String {
        assets::url("app.css")
    }

    pub fn js(&self) -> String {
        assets::url("app.js")
    }

    pub fn htmx(&self) -> String {
        assets::url("htmx.min.js")
    }
}

/// Renders a template, or a plain 500 when a template fails (it should not).
pub fn render<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render").into_response()
        }
    }
}

/// A page-level failure: a message page, or back to the login.
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    message: String,
}

impl ErrorPage {
    fn css(&self) -> String {
        assets::url("standalone.css")
    }

    /// For "Go back", which is a script (no inline `javascript:` link under the CSP).
    fn js(&self) -> String {
        assets::url("app.js")
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self.0 {
            AppError::Unauthenticated => return Redirect::to("/login").into_response(),
            AppError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "There is nothing here, or it belongs to another agency.".into(),
            ),
            AppError::Invalid(i) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                i.errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            AppError::Conflict(m) => (StatusCode::CONFLICT, m),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            AppError::RateLimited(m) => (StatusCode::TOO_MANY_REQUESTS, m),
            AppError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, m),
            err @ AppError::Internal { .. } => {
                tracing::error!(error = %err.chain(), "page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; it has been logged.".into(),
                )
            }
        };
        let mut response = render(&ErrorPage {
            status: status.as_u16(),
            message,
        });
        *response.status_mut() = status;
        response
    }
}

pub type PageResult = Result<Response, PageError>;

/// True for a path on this site that a browser cannot read as another origin: it starts with
/// one `/`, and is printable ASCII without spaces or backslashes (`//evil`, `/\evil` and
/// `/<TAB>/evil`, which browsers read as `//evil`, are all refused). Every `next` and `back`
/// a request names goes through this.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path[1..].starts_with('/')
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
}

/// Redirects with a message (`key` is `notice` or `error`) shown on the next page. The
/// address carries no text: the message travels in a cookie bound to the session
/// (`flash.rs`), so a link cannot put words on a Credence page.
pub fn redirect_with(path: &str, key: &str, message: &str) -> Response {
    let mut response = Redirect::to(path).into_response();
    flash::attach(&mut response, key, message);
    response
}

/// Percent-encodes a query value.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The words a form shows for an input the app names by its API field.
pub fn field_label(field: &str) -> String {
    match field {
        "credential_type_id" => "Credential".into(),
        "period_start" => "Start date".into(),
        "period_end" => "End date".into(),
        "due_date" => "Due date".into(),
        "issue_date" => "Issue date".into(),
        "expiration_date" => "Expiration date".into(),
        "credential_number" => "Credential number".into(),
        "issuing_officer" => "Issuing officer".into(),
        "status_reason" => "Status reason".into(),
        "reason" => "Reason".into(),
        "member_ids" | "group_ids" | "all_members" => "Members".into(),
        "mode" => "Kind of assignment".into(),
        "period" => "New period".into(),
        other => other.replace('_', " "),
    }
}

/// An app error as lines a person reads: each refused field by its label, and API field
/// names inside messages replaced by the same words.
pub fn errors_in_words(e: &AppError) -> Vec<String> {
    match e {
        AppError::Invalid(i) => i
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    field_label(&e.field),
                    message_in_words(&e.message)
                )
            })
            .collect(),
        other => vec![error_text(other)],
    }
}

fn message_in_words(message: &str) -> String {
    let mut out = message.to_string();
    for f in [
        "period_start",
        "period_end",
        "issue_date",
        "expiration_date",
        "due_date",
    ] {
        out = out.replace(f, &field_label(f).to_lowercase());
    }
    out.replace("mode active_with_period", "an active credential")
        .replace("mode completion_period", "a completion period")
}

/// Where a field names a row of a list (`credential_ids[3]`, `items[0].period_end`): the
/// row and the rest of the path.
fn indexed(field: &str) -> Option<(usize, &str)> {
    let open = field.find('[')?;
    let close = open + field[open..].find(']')?;
    let row = field[open + 1..close].parse().ok()?;
    Some((row, field[close + 1..].trim_start_matches('.')))
}

/// An app error as one line a person reads, each row of a list named by `name(row)` (the
/// person the row is about) and each field by its label: "Smith, Ava (CPR), end date: must
/// not be before the start date", never `items[3].period_end`.
pub fn error_text_naming(e: &AppError, name: impl Fn(usize) -> Option<String>) -> String {
    match e {
        AppError::Invalid(i) => i
            .errors
            .iter()
            .map(|e| {
                let field = match indexed(&e.field) {
                    Some((row, rest)) => {
                        let who = name(row).unwrap_or_else(|| format!("Row {}", row + 1));
                        match rest {
                            "" | "credential_id" | "member_id" | "certificate_id" => who,
                            rest => format!("{who}, {}", field_label(rest).to_lowercase()),
                        }
                    }
                    None => field_label(&e.field),
                };
                format!("{field}: {}", message_in_words(&e.message))
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Message for a failed form: the app error as one line.
pub fn error_text(e: &AppError) -> String {
    match e {
        AppError::Invalid(i) => i
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The spreadsheet format a download route names by its extension (`/members.xlsx`), so one
/// handler serves both files of a list.
pub struct DownloadFormat(pub credence_app::imports::exports::ExportFormat);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for DownloadFormat {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, StatusCode> {
        use credence_app::imports::exports::ExportFormat;
        match parts.uri.path().rsplit_once('.').map(|(_, ext)| ext) {
            Some("csv") => Ok(DownloadFormat(ExportFormat::Csv)),
            Some("xlsx") => Ok(DownloadFormat(ExportFormat::Xlsx)),
            _ => Err(StatusCode::NOT_FOUND),
        }
    }
}

/// A spreadsheet download whose body is produced as it is sent (see
/// `credence_app::imports::exports`).
pub fn export_response(export: credence_app::imports::exports::Export) -> Response {
    (
        [
            (header::CONTENT_TYPE, export.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export.filename),
            ),
        ],
        axum::body::Body::from_stream(export.body),
    )
        .into_response()
}

/// The messages about `field` among a form's errors, joined, for beside that field.
pub fn messages_for(errors: &[credence_domain::FieldError], field: &str) -> Option<String> {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

pub fn csv_response(filename: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::validation::Invalid;

    #[test]
    fn list_errors_name_the_row_and_the_field_in_words() {
        let mut invalid = Invalid::new();
        invalid.add("credential_ids[1]", "has no issuance to revoke");
        invalid.add("items[0].period_end", "must not be before period_start");
        invalid.add("items[7].due_date", "must fall within the period");
        invalid.add("reason", "must not be empty");
        let names = ["Smith, Ava (CPR)", "Brown, Liam (CPR)"];
        let text = error_text_naming(&AppError::Invalid(invalid), |row| {
            names.get(row).map(|n| n.to_string())
        });
        assert_eq!(
            text,
            "Brown, Liam (CPR): has no issuance to revoke; Smith, Ava (CPR), end date: must not \
             be before start date; Row 8, due date: must fall within the period; Reason: must \
             not be empty"
        );
        assert_eq!(indexed("credential_ids[12]"), Some((12, "")));
        assert_eq!(indexed("items[x].period_end"), None);
        assert_eq!(indexed("period_end"), None);
    }
}
