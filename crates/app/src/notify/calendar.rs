//! Calendar feeds (#20): a secret iCalendar URL a calendar app subscribes to, listing
//! expirations and due dates as all-day events with alarms 30 and 7 days before. A member's
//! feed has their own dates; an officer's has the agency's, or one group's. Only the
//! secret's SHA-256 is stored, so the URL is shown once, when it is made; making a new one
//! (rotating) replaces the old, which then answers 404.

use chrono::{Days, Utc};
use credence_domain::calendar::{calendar, Event};
use credence_domain::ids::{GroupId, MemberId};
use credence_store::auth::identity;
use credence_store::notify::calendar::{self as store, FeedDate, Scope};
use serde::{Deserialize, Serialize};

use crate::auth::{new_secret, token_hash};
use crate::{Actor, App, AppError, Result};

/// Days back and ahead a feed covers: recent lapses stay visible, and a year or two ahead
/// is as far as anyone plans a renewal.
const DAYS_BACK: u64 = 30;
const DAYS_AHEAD: u64 = 730;
/// Events in one feed at most (an agency's feed of a large department).
const MAX_EVENTS: i64 = 5000;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateCalendar {
    /// The member whose own feed this is (the member themself, or an officer for them);
    /// without it, the caller's officer feed of the agency.
    #[schema(value_type = Option<String>)]
    pub member_id: Option<MemberId>,
    /// For an officer feed: only this group's members.
    #[schema(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CalendarUrl {
    /// The feed's secret address; the previous one stops working.
    pub url: String,
}

impl App {
    /// Makes a new secret feed URL for a member or for the caller, ending the previous one.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn rotate_calendar(
        &self,
        actor: &Actor,
        input: RotateCalendar,
    ) -> Result<CalendarUrl> {
        let mut tx = self.store.begin().await?;
        let (owner, member_id, group_id) = match input.member_id {
            Some(member_id) => {
                if input.group_id.is_some() {
                    return Err(AppError::invalid(
                        "group_id",
                        "a member's feed has their own dates; leave out group_id",
                    ));
                }
                // Members make their own; officers may make one for anyone.
                if !actor.sees_member(member_id) {
                    return Err(AppError::NotFound);
                }
                if actor.member_id != Some(member_id) {
                    actor.officer()?;
                }
                credence_store::people::members::member(&mut tx, actor.agency_id, member_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                (format!("member:{}", member_id.get()), Some(member_id), None)
            }
            None => {
                actor.officer()?;
                if let Some(g) = input.group_id {
                    if credence_store::people::groups::group(&mut tx, actor.agency_id, g)
                        .await?
                        .is_none()
                    {
                        return Err(AppError::invalid(
                            "group_id",
                            format!("{g} is not a group of this agency"),
                        ));
                    }
                }
                (login_feed_owner(&actor.label), None, input.group_id)
            }
        };
        let secret = new_secret("cal_");
        store::replace_feed(
            &mut tx,
            actor.agency_id,
            &owner,
            member_id,
            group_id,
            &token_hash(&secret),
        )
        .await?;
        let audited = serde_json::json!({"feed": owner, "group_id": group_id});
        match member_id {
            Some(m) => {
                crate::ops::audit::record(
                    &mut tx,
                    actor,
                    "rotate_calendar",
                    m,
                    None,
                    Some(&audited),
                )
                .await?
            }
            None => {
                crate::ops::audit::record(
                    &mut tx,
                    actor,
                    "rotate_calendar",
                    actor.agency_id,
                    None,
                    Some(&audited),
                )
                .await?
            }
        }
        tx.commit().await?;
        Ok(CalendarUrl {
            url: format!("{}/calendar/{secret}.ics", self.public_url),
        })
    }

    /// The feed with this secret as iCalendar text; an unknown (or rotated) secret is 404.
    pub async fn calendar_feed(&self, secret: &str) -> Result<String> {
        let mut db = self.store.read().await?;
        let feed = store::feed_by_hash(&mut db, &token_hash(secret))
            .await?
            .ok_or(AppError::NotFound)?;
        let agency = identity::agency_by_id(&mut db, feed.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let (scope, name) = match (feed.member_id, feed.group_id) {
            (Some(m), _) => {
                let member = credence_store::people::members::member(&mut db, agency.id, m)
                    .await?
                    .ok_or(AppError::NotFound)?;
                (
                    Scope::Member(m),
                    format!("{} {}: credentials", member.first_name, member.last_name),
                )
            }
            (None, Some(g)) => {
                let group = credence_store::people::groups::group(&mut db, agency.id, g)
                    .await?
                    .ok_or(AppError::NotFound)?;
                (
                    Scope::Group(g, today),
                    format!("{}: {} credentials", agency.name, group.name),
                )
            }
            (None, None) => (Scope::Agency, format!("{}: credentials", agency.name)),
        };
        let dates = store::feed_dates(
            &mut db,
            agency.id,
            scope,
            today - Days::new(DAYS_BACK),
            today + Days::new(DAYS_AHEAD),
            MAX_EVENTS,
        )
        .await?;
        let own = feed.member_id.is_some();
        let host = reqwest::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "credence".into());
        let events: Vec<Event> = dates
            .iter()
            .map(|d| self.calendar_event(d, own, &host))
            .collect();
        Ok(calendar(&name, Utc::now(), &events))
    }

    fn calendar_event(&self, d: &FeedDate, own: bool, host: &str) -> Event {
        let who = format!("{} {}", d.first_name, d.last_name);
        let what = &d.type_name;
        let (summary, description) = match (d.kind.as_str(), own) {
            ("expiration", true) => (
                format!("{what} expires"),
                format!("Your {what} credential expires on {}.", d.date),
            ),
            ("expiration", false) => (
                format!("{what} expires: {who}"),
                format!("{who}'s {what} credential expires on {}.", d.date),
            ),
            (_, true) => (
                format!("{what} training due"),
                format!("The training for {what} is due on {}.", d.date),
            ),
            (_, false) => (
                format!("{what} training due: {who}"),
                format!("{who}'s training for {what} is due on {}.", d.date),
            ),
        };
        let link = if own {
            format!("{}/me", self.public_url)
        } else {
            format!("{}/credentials/{}", self.public_url, d.credential_id)
        };
        Event {
            // The credential, what falls due and the day: the same event on every fetch.
            uid: format!(
                "{}-{}-{}@{host}",
                d.kind,
                d.credential_id,
                d.date.format("%Y%m%d")
            ),
            date: d.date,
            summary,
            description,
            url: Some(link),
        }
    }
}

/// Who owns an officer's feed of the agency or a group: the login (`user:…` or `token:…`)
/// that asked for it.
fn login_feed_owner(label: &str) -> String {
    format!("login:{label}")
}

/// Ends the agency feed a login (`user:EMAIL` or `token:ID`) asked for: a deactivated login,
/// one no longer reading the whole agency, or a revoked token must not keep reading every
/// member's dates through a URL handed out earlier.
pub(crate) async fn end_login_feed(
    tx: &mut credence_store::Tx,
    agency_id: credence_domain::ids::AgencyId,
    label: &str,
) -> Result<()> {
    let ended = store::end_feed(tx, agency_id, &login_feed_owner(label)).await?;
    if ended > 0 {
        tracing::info!(login = label, "calendar feed ended with the login's access");
    }
    Ok(())
}
