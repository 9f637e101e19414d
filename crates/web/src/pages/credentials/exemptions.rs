//! Exempting a member from a credential's requirements (from the credential's page) and
//! recording a leave of absence (from the member's page); ending or withdrawing either.

use axum::extract::State;
use axum::response::Response;
use credence_app::credentials::exemptions::{NewExemption, NewLeave};
use credence_app::ids::{CredentialId, ExemptionId, LeaveId, MemberId, RequirementId};
use credence_app::App;
use serde::Deserialize;

use crate::extract::PathIds;
use crate::pages::auth::session::CsrfForm;
use crate::pages::{error_text, redirect_with};

#[derive(Deserialize)]
pub struct ExemptForm {
    /// Blank: the whole credential.
    requirement_id: Option<String>,
    until: String,
    reason: String,
}

pub async fn exempt(
    State(app): State<App>,
    PathIds(id): PathIds<CredentialId>,
    CsrfForm(user, f): CsrfForm<ExemptForm>,
) -> Response {
    let back = format!("/credentials/{id}");
    let officer = capability!(user.actor, officer);
    let Ok(until) = f.until.parse() else {
        return redirect_with(&back, "error", "Enter the last day of the exemption.");
    };
    let requirement_id = match f.requirement_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(r) => match r.parse::<RequirementId>() {
            Ok(r) => Some(r),
            Err(_) => return redirect_with(&back, "error", "Choose a requirement."),
        },
    };
    let d = match app.credential(&user.actor, id).await {
        Ok(d) => d,
        Err(e) => return redirect_with(&back, "error", &error_text(&e)),
    };
    let input = NewExemption {
        member_id: d.credential.member_id,
        credential_type_id: d.credential.credential_type_id,
        requirement_id,
        reason: f.reason,
        until,
    };
    match app.create_exemption(&officer, input).await {
        Ok(e) => redirect_with(
            &back,
            "notice",
            &format!(
                "Exempt from {} until {}.",
                e.requirement_title
                    .as_deref()
                    .unwrap_or("every requirement"),
                e.until
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

#[derive(Deserialize)]
pub struct BackForm {
    /// The page to return to: a credential's or a member's.
    back: Option<String>,
}

/// Only our own pages, never an address elsewhere.
fn back_to(form: &BackForm, fallback: &str) -> String {
    form.back
        .as_deref()
        .filter(|b| {
            (b.starts_with("/credentials/") || b.starts_with("/members/"))
                && !b.contains("//")
                && !b.contains('\\')
        })
        .unwrap_or(fallback)
        .to_string()
}

pub async fn end(
    State(app): State<App>,
    PathIds(id): PathIds<ExemptionId>,
    CsrfForm(user, f): CsrfForm<BackForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = back_to(&f, "/credentials");
    match app.end_exemption(&officer, id).await {
        Ok(e) => redirect_with(
            &back,
            "notice",
            &format!(
                "Exemption ended; it no longer counts from {}.",
                e.ended_on.unwrap_or(e.until)
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

#[derive(Deserialize)]
pub struct LeaveForm {
    starts_on: String,
    ends_on: String,
    reason: String,
}

pub async fn leave(
    State(app): State<App>,
    PathIds(id): PathIds<MemberId>,
    CsrfForm(user, f): CsrfForm<LeaveForm>,
) -> Response {
    let back = format!("/members/{id}");
    let officer = capability!(user.actor, officer);
    let (Ok(starts_on), Ok(ends_on)) = (f.starts_on.parse(), f.ends_on.parse()) else {
        return redirect_with(&back, "error", "Enter the first and last day of the leave.");
    };
    let input = NewLeave {
        member_id: id,
        starts_on,
        ends_on,
        reason: f.reason,
    };
    match app.create_leave(&officer, input).await {
        Ok(l) => redirect_with(
            &back,
            "notice",
            &format!(
                "Leave recorded: {} day(s); {} due date(s) pushed back.",
                l.days,
                l.extended_credential_ids.len()
            ),
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}

pub async fn withdraw_leave(
    State(app): State<App>,
    PathIds(id): PathIds<LeaveId>,
    CsrfForm(user, f): CsrfForm<BackForm>,
) -> Response {
    let officer = capability!(user.actor, officer);
    let back = back_to(&f, "/members");
    match app.withdraw_leave(&officer, id).await {
        Ok(_) => redirect_with(
            &back,
            "notice",
            "Leave withdrawn; the due dates it moved are back.",
        ),
        Err(e) => redirect_with(&back, "error", &error_text(&e)),
    }
}
