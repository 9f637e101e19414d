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
    /// The complete new membership.
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<MemberId>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupMembersView {
    pub group: GroupView,
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<MemberId>,
}

fn view(g: Group) -> GroupView {
    GroupView {
        id: g.id,
        name: g.name,
        kind: g.kind,
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

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn group(&self, actor: &Reader, id: GroupId) -> Result<GroupView> {
        let mut tx = self.store.read().await?;
        Ok(view(self.load_group(&mut tx, actor, id).await?))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn groups(&self, actor: &Reader, page: &PageParams) -> Result<Page<GroupView>> {
        let limit = page.limit()?;
        let mut tx = self.store.read().await?;
        let rows = store::groups_page(&mut tx, actor.agency_id, page.after()?, limit + 1).await?;
        Ok(paginate(rows, limit, |g| g.id.get(), view))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_group(&self, actor: &Admin, input: NewGroup) -> Result<GroupView> {
        let name = clean_name(&input.name);
        let kind = input.kind.as_deref().unwrap_or("other");
        validate(&name, kind)?;
        let mut tx = self.store.begin().await?;
        let g = view(store::insert_group(&mut tx, actor.agency_id, &name, kind).await?);
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
        let before = view(current);
        let updated = store::update_group(
            &mut tx,
            actor.agency_id,
            row_id,
            input.version,
            &name,
            &kind,
        )
        .await?;
        let after = view(updated.ok_or_else(AppError::stale)?);
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
    /// of a published credential type are assigned that type in the same transaction.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn set_group_members(
        &self,
        actor: &Admin,
        id: GroupId,
        input: GroupMembers,
    ) -> Result<GroupMembersView> {
        let mut member_ids = input.member_ids.clone();
        member_ids.sort_unstable();
        member_ids.dedup();
        let mut tx = self.store.begin().await?;
        let group = self.load_group(&mut tx, actor, id).await?;
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
        let before: Vec<MemberId> =
            store::group_member_ids(&mut tx, actor.agency_id, group.id).await?;
        let added =
            store::replace_group_members(&mut tx, actor.agency_id, group.id, &member_ids).await?;
        self.enrol_joiners(&mut tx, actor, &[group.id], &added)
            .await?;
        let after = member_ids;
        record(
            &mut tx,
            actor,
            "set_members",
            group.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(GroupMembersView {
            group: view(group),
            member_ids: after,
        })
    }
}
