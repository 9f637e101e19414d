//! `/settings` (admin): the agency's name, time zone, expiring-soon window, reminder
//! thresholds, copies to supervisors, two-factor sign-in for admins, and its logo. A form with
//! errors comes back as typed, each error beside its field.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use credence_app::documents::supporting::FileView;
use credence_app::ops::agency::{time_zone_names, AgencyPatch, AgencyView};
use credence_app::{App, AppError};
use credence_domain::validation::FieldError;
use serde::Deserialize;

use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with, render, Layout, PageResult, WebUser};

/// The form's fields as text, as shown (from the stored settings, or as typed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsForm {
    version: Option<i64>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    expiring_soon_days: String,
    #[serde(default)]
    reminder_days: String,
    copy_supervisors: Option<String>,
    require_admin_two_factor: Option<String>,
}

impl SettingsForm {
    fn of(a: &AgencyView) -> SettingsForm {
        SettingsForm {
            version: Some(a.version),
            name: a.name.clone(),
            time_zone: a.time_zone.clone(),
            expiring_soon_days: a.expiring_soon_days.to_string(),
            reminder_days: a
                .reminder_days
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            copy_supervisors: a.copy_supervisors.then(|| "true".into()),
            require_admin_two_factor: a.require_admin_two_factor.then(|| "true".into()),
        }
    }

    /// The patch the form asks for, or the fields that are not even numbers.
    fn patch(&self) -> Result<AgencyPatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut error = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.into(),
                message,
            })
        };
        let window = self.expiring_soon_days.trim();
        let expiring_soon_days = match window.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) if window.is_empty() => {
                error("expiring_soon_days", "must not be empty".into());
                None
            }
            Err(_) => {
                error(
                    "expiring_soon_days",
                    format!("{window:?} is not a whole number of days"),
                );
                None
            }
        };
        let mut reminder_days = Vec::new();
        for part in self
            .reminder_days
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part.parse::<i64>() {
                Ok(n) => reminder_days.push(n),
                Err(_) => error(
                    "reminder_days",
                    format!("{part:?} is not a whole number of days"),
                ),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AgencyPatch {
            version: self.version.unwrap_or_default(),
            name: Some(self.name.clone()),
            time_zone: Some(self.time_zone.clone()),
            expiring_soon_days,
            reminder_days: Some(reminder_days),
            copy_supervisors: Some(self.copy_supervisors.is_some()),
            require_admin_two_factor: Some(self.require_admin_two_factor.is_some()),
        })
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    agency: AgencyView,
    form: SettingsForm,
    errors: Vec<FieldError>,
    logo: Option<FileView>,
    time_zones: Vec<&'static str>,
}

impl SettingsPage {
    /// The errors about `field`, joined, for beside it.
    fn error_of(&self, field: &str) -> Option<String> {
        crate::pages::messages_for(&self.errors, field)
    }

    /// What a field is called on the page, for the summary of errors.
    fn label(field: &str) -> &str {
        match field {
            "name" => "Agency name",
            "time_zone" => "Time zone",
            "expiring_soon_days" => "Expiring-soon window",
            "reminder_days" => "Reminder thresholds",
            "copy_supervisors" => "Copies to supervisors",
            "require_admin_two_factor" => "Two-factor sign-in for admins",
            other => other,
        }
    }
}

async fn show(
    app: &App,
    user: &WebUser,
    form: Option<SettingsForm>,
    errors: Vec<FieldError>,
    error: Option<String>,
) -> PageResult {
    let admin = user.actor.admin()?;
    let agency = app.agency_settings(&admin.as_reader()).await?;
    let logo = app.agency_logo(&admin.as_reader()).await?;
    let summary = error.or_else(|| {
        (!errors.is_empty())
            .then(|| "The settings were not saved: correct the fields marked below.".to_string())
    });
    let status = if errors.is_empty() && summary.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&SettingsPage {
        layout: Layout::new(user, "Settings", "settings").with_error(summary),
        form: form.unwrap_or_else(|| SettingsForm::of(&agency)),
        agency,
        errors,
        logo,
        time_zones: time_zone_names().collect(),
    });
    *response.status_mut() = status;
    Ok(response)
}

pub async fn page(State(app): State<App>, user: WebUser) -> PageResult {
    show(&app, &user, None, Vec::new(), None).await
}

pub async fn save(
    State(app): State<App>,
    CsrfForm(user, form): CsrfForm<SettingsForm>,
) -> Response {
    let admin = capability!(user.actor, admin);
    let patch = match form.patch() {
        Ok(p) => p,
        Err(errors) => return respond(show(&app, &user, Some(form), errors, None).await),
    };
    match app.update_agency_settings(&admin, patch).await {
        Ok(_) => redirect_with("/settings", "notice", "Settings saved."),
        Err(AppError::Invalid(i)) => respond(show(&app, &user, Some(form), i.errors, None).await),
        Err(e @ AppError::Conflict(_)) => {
            let message = format!(
                "{} Your changes are still in the form; reload the page to see the current settings.",
                error_text(&e)
            );
            respond(show(&app, &user, Some(form), Vec::new(), Some(message)).await)
        }
        Err(e) => redirect_with("/settings", "error", &error_text(&e)),
    }
}

fn respond(page: PageResult) -> Response {
    match page {
        Ok(r) => r,
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}
