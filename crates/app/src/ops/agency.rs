//! The agency's settings (`/agency`): its name, time zone, the expiring-soon window, reminder
//! thresholds, whether reminders are copied to supervisors and whether admins need a second
//! factor. Readers see them; admins change them. A new window takes effect on every
//! credential in the same transaction.

use credence_domain::ids::AgencyId;
use credence_domain::reminders::{check_offsets, format_offsets, parse_offsets};
use credence_domain::validation::{check_text, clean_name, Invalid};
use credence_store::ops::agency::{self as store, AgencySettings, SettingsFields};
use serde::{Deserialize, Serialize};

use crate::clock::is_time_zone;
use crate::input::patch;
use crate::ops::audit::record;
use crate::{Admin, App, AppError, Reader, Result};

/// The widest expiring-soon window: two years.
pub const MAX_EXPIRING_SOON_DAYS: i64 = 730;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    #[schema(value_type = String)]
    pub id: AgencyId,
    pub slug: String,
    pub name: String,
    /// An IANA time zone name: the agency's "today" is the date there.
    pub time_zone: String,
    /// A valid credential expiring within this many days is "expiring soon".
    pub expiring_soon_days: i64,
    /// Reminders go this many days before an expiration or due date (0: on the day), furthest
    /// first; one more goes when the date has passed. A credential type may set its own.
    pub reminder_days: Vec<u32>,
    /// Whether reminders are copied to the member's supervisor.
    pub copy_supervisors: bool,
    /// Whether admins must sign in with a second factor (an authenticator code); an admin
    /// without one is sent to set it up at sign-in, before anything else.
    pub require_admin_two_factor: bool,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyPatch {
    /// The version you read; a stale one is a 409.
    pub version: i64,
    pub name: Option<String>,
    pub time_zone: Option<String>,
    /// 0 to 730.
    pub expiring_soon_days: Option<i64>,
    /// Days before the date, each 0 to 730, at most 10, none twice; `[]`: only the reminder
    /// when the date has passed.
    pub reminder_days: Option<Vec<i64>>,
    pub copy_supervisors: Option<bool>,
    pub require_admin_two_factor: Option<bool>,
}

fn view(a: AgencySettings) -> AgencyView {
    let mut reminder_days = parse_offsets(&a.reminder_offsets);
    reminder_days.reverse();
    AgencyView {
        id: a.id,
        slug: a.slug,
        name: a.name,
        time_zone: a.time_zone,
        expiring_soon_days: a.expiring_soon_days,
        reminder_days,
        copy_supervisors: a.copy_supervisors,
        require_admin_two_factor: a.require_admin_two_factor,
        version: a.version,
    }
}

/// Checks typed reminder thresholds into their stored text; errors name `field`.
pub(crate) fn reminder_text(invalid: &mut Invalid, field: &str, days: &[i64]) -> Option<String> {
    match check_offsets(days) {
        Ok(offsets) => Some(format_offsets(&offsets)),
        Err(message) => {
            invalid.add(field, message);
            None
        }
    }
}

/// Every time zone name the agency may choose, for a picker.
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

impl App {
    /// The caller's agency's settings.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn agency_settings(&self, actor: &Reader) -> Result<AgencyView> {
        let mut db = self.store.read().await?;
        store::agency_settings(&mut db, actor.agency_id)
            .await?
            .map(view)
            .ok_or(AppError::NotFound)
    }

    /// Changes the caller's agency's settings (admin): all fields are checked first and any
    /// error is a 422 naming each, with nothing written. A changed expiring-soon window is
    /// applied to every credential before the change commits.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_agency_settings(
        &self,
        actor: &Admin,
        input: AgencyPatch,
    ) -> Result<AgencyView> {
        let mut invalid = Invalid::new();
        if let Some(name) = &input.name {
            check_text(&mut invalid, "name", name, 200);
        }
        if let Some(tz) = &input.time_zone {
            invalid.check(
                is_time_zone(tz.trim()),
                "time_zone",
                "must be an IANA time zone such as America/Chicago",
            );
        }
        if let Some(days) = input.expiring_soon_days {
            invalid.check(
                (0..=MAX_EXPIRING_SOON_DAYS).contains(&days),
                "expiring_soon_days",
                &format!("must be a number of days from 0 to {MAX_EXPIRING_SOON_DAYS}"),
            );
        }
        let reminders = input
            .reminder_days
            .as_deref()
            .and_then(|days| reminder_text(&mut invalid, "reminder_days", days));
        invalid.into_result()?;

        let mut tx = self.store.begin().await?;
        if input.expiring_soon_days.is_some() {
            // Taken before anything else: a sweep running now finishes its batch first, and
            // none starts until the new window is in place (see `apply_expiring_window`).
            credence_store::lock(
                &mut tx,
                crate::credentials::sweep::SWEEP_LOCK + actor.agency_id.get(),
            )
            .await?;
        }
        let before = store::agency_settings(&mut tx, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if before.version != input.version {
            return Err(AppError::stale());
        }
        let fields = SettingsFields {
            name: clean_name(&patch(before.name.clone(), input.name)),
            time_zone: patch(before.time_zone.clone(), input.time_zone)
                .trim()
                .to_string(),
            expiring_soon_days: patch(before.expiring_soon_days, input.expiring_soon_days),
            reminder_offsets: patch(before.reminder_offsets.clone(), reminders),
            copy_supervisors: patch(before.copy_supervisors, input.copy_supervisors),
            require_admin_two_factor: patch(
                before.require_admin_two_factor,
                input.require_admin_two_factor,
            ),
        };
        let after =
            store::update_agency_settings(&mut tx, actor.agency_id, before.version, &fields)
                .await?
                .ok_or_else(AppError::stale)?;
        if after.expiring_soon_days != before.expiring_soon_days {
            let ctx = self.ctx(&mut tx, actor).await?;
            let examined = crate::credentials::sweep::apply_expiring_window(&mut tx, &ctx).await?;
            tracing::info!(
                from = before.expiring_soon_days,
                to = after.expiring_soon_days,
                examined,
                "expiring-soon window changed"
            );
        }
        let (before, after) = (view(before), view(after));
        record(
            &mut tx,
            actor,
            "update",
            actor.agency_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
