//! `/calendar/rotate`: a new secret iCalendar feed URL (the feed itself is served at
//! `/calendar/{secret}.ics`, outside the API, for calendar apps that cannot send a token).

use axum::extract::{FromRequest, Request, State};
use axum::Json;
use credence_app::notify::calendar::{CalendarUrl, RotateCalendar};
use credence_app::{App, AppError};

use crate::extract::{ApiJson, Auth};
use crate::problem::{ApiResult, Problem};

/// Make a new secret calendar feed URL: a member's own (the member, or an officer for
/// them) or, without `member_id`, the caller's officer feed of the agency or one group.
/// The previous URL of that feed stops working.
#[utoipa::path(post, path = "/calendar/rotate", tag = "calendar", request_body = RotateCalendar,
    responses((status = 200, body = CalendarUrl), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate(
    State(app): State<App>,
    Auth(actor): Auth,
    req: Request,
) -> ApiResult<Json<CalendarUrl>> {
    // Who may have no feed at all is refused before the body is read (an auditor without a
    // member, say), as every endpoint checks the role first.
    if !actor.role().manages_credentials() && actor.member_id().is_none() {
        return Err(AppError::Forbidden(format!(
            "the {} role has no calendar feed of its own",
            actor.role().as_str()
        ))
        .into());
    }
    let ApiJson(input) = ApiJson::<RotateCalendar>::from_request(req, &app).await?;
    Ok(Json(app.rotate_calendar(&actor, input).await?))
}
