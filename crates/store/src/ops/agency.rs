//! The agency's own settings: name, time zone, the expiring-soon window, reminder thresholds
//! whether reminders are copied to supervisors, and whether admins need a second factor.

use chrono::{DateTime, Utc};
use credence_domain::ids::AgencyId;

use crate::{query, Conn, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AgencySettings {
    pub id: AgencyId,
    pub slug: String,
    pub name: String,
    pub time_zone: String,
    pub expiring_soon_days: i64,
    /// Comma-separated days before a date ("90,60,30,7").
    pub reminder_offsets: String,
    pub copy_supervisors: bool,
    /// Admins must sign in with a second factor (TOTP).
    pub require_admin_two_factor: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// What an admin may change.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsFields {
    pub name: String,
    pub time_zone: String,
    pub expiring_soon_days: i64,
    pub reminder_offsets: String,
    pub copy_supervisors: bool,
    pub require_admin_two_factor: bool,
}

const COLUMNS: &str = "id, slug, name, time_zone, expiring_soon_days, reminder_offsets, copy_supervisors, require_admin_two_factor, version, created_at";

pub async fn agency_settings(db: &mut impl Conn, id: AgencyId) -> Result<Option<AgencySettings>> {
    let sql = format!("SELECT {COLUMNS} FROM agencies WHERE id = $1");
    query(&sql).arg(id).fetch_optional(db).await
}

/// Writes the settings when the row is still at `version`; `None` when it is not.
pub async fn update_agency_settings(
    tx: &mut Tx,
    id: AgencyId,
    version: i64,
    f: &SettingsFields,
) -> Result<Option<AgencySettings>> {
    let sql = format!(
        "UPDATE agencies SET name = $1, time_zone = $2, expiring_soon_days = $3, reminder_offsets = $4,
             copy_supervisors = $5, require_admin_two_factor = $6, version = version + 1
         WHERE id = $7 AND version = $8 RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(f.name.as_str())
        .arg(f.time_zone.as_str())
        .arg(f.expiring_soon_days)
        .arg(f.reminder_offsets.as_str())
        .arg(f.copy_supervisors)
        .arg(f.require_admin_two_factor)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await
}
