//! Groups: stations, shifts, ranks, departments, cohorts.

use credence_domain::ids::{GroupId, MemberId};
use credence_domain::validation::{check_text, clean_name, Invalid};
use credence_store::people::groups::{self as store, Group};
use credence_store::Conn;
use serde::{Deserialize, Serialize};

use crate::input::patch;
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, Admin, App, AppError, Reader, Result};

pub const GROUP_KINDS: [&str; 6] = ["station", "shift", "rank", "department", "cohort", "other"];

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    #[schema(value_type = String)]
    pub id: GroupId,
    pub name: String,
    /// station, shift, rank, department, cohort or other.
    pub kind: String,
    /// How many members the group has today (active or not).
    pub member_count: i64,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    pub version: i64,
    pub name: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMembers {
    /// For `PUT`, the complete new membership; for `…/add` and `…/remove`, who joins or
    /// leaves (at least one).
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<MemberId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupMembersView {
    pub group: GroupView,
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<MemberId>,
}

/// A group as a filter or picker offers it: no member count, which would mean counting
/// every membership of the agency on each page that shows a group filter (12 ms of each
/// Manage Credentials view at 100,000 members on SQLite).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChoice {
    pub id: GroupId,
    pub name: String,
    pub kind: String,
}

/// The most groups a filter or picker lists.
const CHOICES_LIMIT: i64 = 1_000;

fn view(g: Group, member_count: i64) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
        kind: g.kind,
        member_count,
        version: g.version,
        created_at: g.created_at,
        updated_at: g.updated_at,
    }
}

fn validate(name: &str, kind: &str) -> Result<()> {
    let mut invalid = Invalid::new();
    check_text(&mut invalid, "name", name, 100);
    invalid.check(
        GROUP_KINDS.contains(&kind),
        "kind",
        "must be one of station, shift, rank, department, cohort, other",
    );
    Ok(invalid.into_result()?)
}

impl App {
    async fn load_group(&self, db: &mut impl Conn, actor: &Actor, id: GroupId) -> Result<Group> {
        store::group(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    /// The groups as views, each with its member count (one query for all).
    async fn with_counts(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        groups: Vec<Group>,
    ) -> Result<Vec<GroupView>> {
        let ids: Vec<GroupId> = groups.iter().map(|g| g.id).collect();
        let counts: std::collections::HashMap<GroupId, i64> =
            store::member_counts(db, actor.agency_id, &ids)
                .await?
                .into_iter()
                .collect();
        Ok(groups
            .into_iter()
            .map(|g| {
                let n = counts.get(&g.id).copied().unwrap_or(0);
                view(g, n)
            })
            .collect())
    }

    async fn group_view(&self, db: &mut impl Conn, actor: &Actor, g: Group) -> Result<GroupView> {
        let mut views = self.with_counts(db, actor, vec![g]).await?;
        views.pop().ok_or(AppError::NotFound)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn group(&self, actor: &Reader, id: GroupId) -> Result<GroupView> {
        let mut tx = self.store.read().await?;
        let g = self.load_group(&mut tx, actor, id).await?;
        self.group_view(&mut tx, actor, g).await
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn groups(&self, actor: &Reader, page: &PageParams) -> Result<Page<GroupView>> {
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = store::groups_page(&mut tx, actor.agency_id, page.after()?, limit + 1).await?;
        let views = self.with_counts(&mut tx, actor, rows).await?;
        Ok(paginate(views, limit, |g| g.id.get(), |g| g))
    }

    /// The agency's groups by name, for filters and pickers.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn group_choices(&self, actor: &Reader) -> Result<Vec<GroupChoice>> {
        let mut db = self.store.read().await?;
        let rows = store::groups_by_name(&mut db, actor.agency_id, CHOICES_LIMIT).await?;
        Ok(rows
            .into_iter()
            .map(|g| GroupChoice {
                id: g.id,
                name: g.name,
                kind: g.kind,
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_group(&self, actor: &Admin, input: NewGroup) -> Result<GroupView> {
        let name = clean_name(&input.name);
        let kind = input.kind.as_deref().unwrap_or("other");
        validate(&name, kind)?;
        let mut tx = self.store.begin().await?;
        let g = view(
            store::insert_group(&mut tx, actor.agency_id, &name, kind).await?,
            0,
        );
        record(&mut tx, actor, "create", g.id, None, Some(&g)).await?;
        tx.commit().await?;
        Ok(g)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_group(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupPatch,
    ) -> Result<GroupView> {
        let mut tx = self.store.begin().await?;
        let current = self.load_group(&mut tx, actor, id).await?;
        if current.version != input.version {
            return Err(AppError::stale());
        }
        let name = patch(current.name.clone(), input.name.as_deref().map(clean_name));
        let kind = patch(current.kind.clone(), input.kind);
        validate(&name, &kind)?;
        let row_id = current.id;
        let before = self.group_view(&mut tx, actor, current).await?;
        let updated = store::update_group(
            &mut tx,
            actor.agency_id,
            row_id,
            input.version,
            &name,
            &kind,
        )
        .await?;
        let after = view(updated.ok_or_else(AppError::stale)?, before.member_count);
        record(
            &mut tx,
            actor,
            "update",
            row_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Replaces the group's membership. Members who join a group that is an enrolment group
    /// of a published credential type are assigned that type in the same transaction; the
    /// membership history closes and opens periods on the agency's today.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn set_group_members(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupMembers,
    ) -> Result<GroupMembersView> {
        self.change_members(actor, id, input, Change::Replace).await
    }

    /// Adds members to the group (those already in it stay as they are); enrolment rules
    /// apply to those who join.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn add_group_members(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupMembers,
    ) -> Result<GroupMembersView> {
        self.change_members(actor, id, input, Change::Add).await
    }

    /// Removes members from the group (those not in it are ignored); their credentials stay.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn remove_group_members(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupMembers,
    ) -> Result<GroupMembersView> {
        self.change_members(actor, id, input, Change::Remove).await
    }

    async fn change_members(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupMembers,
        change: Change,
    ) -> Result<GroupMembersView> {
        let mut member_ids = input.member_ids;
        member_ids.sort_unstable();
        member_ids.dedup();
        let mut tx = self.store.begin().await?;
        // Another agency's group is a 404 whatever the body says.
        let group = self.load_group(&mut tx, actor, id).await?;
        if change != Change::Replace && member_ids.is_empty() {
            return Err(AppError::invalid("member_ids", "name at least one member"));
        }
        let found = credence_store::people::members::existing_member_ids(
            &mut tx,
            actor.agency_id,
            &member_ids,
        )
        .await?;
        if let Some(missing) = member_ids.iter().find(|m| !found.contains(m)) {
            return Err(AppError::invalid(
                "member_ids",
                format!("{missing} is not a member of this agency"),
            ));
        }
        store::lock_group(&mut tx, actor.agency_id, group.id).await?;
        let today = self.ctx(&mut tx, actor).await?.today;
        let before: Vec<MemberId> =
            store::group_member_ids(&mut tx, actor.agency_id, group.id).await?;
        let (added, action) = match change {
            Change::Replace => {
                let (added, _) = store::replace_group_members(
                    &mut tx,
                    actor.agency_id,
                    group.id,
                    &member_ids,
                    today,
                )
                .await?;
                (added, "set_members")
            }
            Change::Add => {
                let added = store::add_group_members(
                    &mut tx,
                    actor.agency_id,
                    group.id,
                    &member_ids,
                    today,
                )
                .await?;
                (added, "add_members")
            }
            Change::Remove => {
                store::remove_group_members(&mut tx, actor.agency_id, group.id, &member_ids, today)
                    .await?;
                (Vec::new(), "remove_members")
            }
        };
        self.enrol_joiners(&mut tx, actor, &[group.id], &added)
            .await?;
        let after: Vec<MemberId> =
            store::group_member_ids(&mut tx, actor.agency_id, group.id).await?;
        record(
            &mut tx,
            actor,
            action,
            group.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(GroupMembersView {
            group: view(group, after.len() as i64),
            member_ids: after,
        })
    }
}

/// How a membership write changes the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Replace,
    Add,
    Remove,
}

impl App {
    /// Adds members to a group inside the caller's transaction, as `…/members/add` does:
    /// membership history from the agency's today, enrolment rules for those who join, one
    /// audit event. Answers those who joined (members already in it are left as they are).
    pub(crate) async fn join_group(
        &self,
        tx: &mut credence_store::Tx,
        actor: &Actor,
        ctx: &crate::credentials::lifecycle::Ctx,
        group_id: GroupId,
        mut member_ids: Vec<MemberId>,
    ) -> Result<Vec<MemberId>> {
        member_ids.sort_unstable();
        member_ids.dedup();
        store::lock_group(tx, actor.agency_id, group_id).await?;
        let before = store::group_member_ids(tx, actor.agency_id, group_id).await?;
        let added =
            store::add_group_members(tx, actor.agency_id, group_id, &member_ids, ctx.today).await?;
        if added.is_empty() {
            return Ok(added);
        }
        self.enrol_joiners(tx, actor, &[group_id], &added).await?;
        let after = store::group_member_ids(tx, actor.agency_id, group_id).await?;
        record(
            tx,
            actor,
            "add_members",
            group_id,
            Some(&before),
            Some(&after),
        )
        .await?;
        Ok(added)
    }
}
