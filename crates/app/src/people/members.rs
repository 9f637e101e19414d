//! Members: the people who hold credentials. Deleting a member deactivates them; their
//! history stays.

use credence_domain::ids::{AgencyId, GroupId, MemberId};
use credence_store::Conn;
use std::collections::BTreeMap;

use credence_domain::validation::{check_text, clean_name, is_plausible_email, Invalid};
use credence_store::people::members::{self as store, Member, MemberFields, MemberFilter};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::input::{clean, double_option, patch};
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, Admin, App, AppError, Reader, Result};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    #[schema(value_type = String)]
    pub id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub active: bool,
    /// Rank or position, free text.
    pub position: Option<String>,
    /// Another active member of the agency who supervises this one.
    #[schema(value_type = Option<String>)]
    pub supervisor_member_id: Option<MemberId>,
    #[schema(value_type = Vec<String>)]
    pub group_ids: Vec<GroupId>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub active: Option<bool>,
    /// Rank or position, free text (at most 100 characters).
    pub position: Option<String>,
    /// Another active member of the agency; never the member themself.
    #[schema(value_type = Option<String>)]
    pub supervisor_member_id: Option<MemberId>,
    /// Groups to join at once (their enrolment rules apply).
    #[schema(value_type = Option<Vec<String>>)]
    pub group_ids: Option<Vec<GroupId>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// The version you read; a stale one is a 409.
    pub version: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub employee_number: Option<Option<String>>,
    pub active: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
    /// Another active member of the agency, never the member themself; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub supervisor_member_id: Option<Option<MemberId>>,
    /// The member's groups from now on: they join the new ones (whose enrolment rules apply)
    /// and leave the others, with the membership history dated today.
    #[schema(value_type = Option<Vec<String>>)]
    pub group_ids: Option<Vec<GroupId>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct MemberListFilter {
    /// Words that must each appear, in any case, in the member's name, e-mail or employee
    /// number (`smith`, `ava smith`, `e-10`).
    pub q: Option<String>,
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    pub active: Option<bool>,
}

fn view(m: Member, group_ids: Vec<GroupId>) -> MemberView {
    MemberView {
        id: m.id,
        first_name: m.first_name,
        last_name: m.last_name,
        email: m.email,
        employee_number: m.employee_number,
        active: m.active,
        position: m.position,
        supervisor_member_id: m.supervisor_member_id,
        group_ids,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn validate(f: &MemberFields) -> Result<()> {
    let mut invalid = Invalid::new();
    check_text(&mut invalid, "first_name", &f.first_name, 100);
    check_text(&mut invalid, "last_name", &f.last_name, 100);
    if let Some(e) = &f.email {
        invalid.check(is_plausible_email(e), "email", "must be an e-mail address");
    }
    if let Some(n) = &f.employee_number {
        invalid.check(
            n.chars().count() <= 40,
            "employee_number",
            "must be at most 40 characters",
        );
    }
    if let Some(p) = &f.position {
        invalid.check(
            p.chars().count() <= 100,
            "position",
            "must be at most 100 characters",
        );
    }
    Ok(invalid.into_result()?)
}

/// A supervisor must be another member of the agency, and active when chosen. `member` is the
/// member being written (`None` while creating one).
async fn check_supervisor(
    tx: &mut Tx,
    agency_id: AgencyId,
    member: Option<MemberId>,
    supervisor: MemberId,
) -> Result<()> {
    const FIELD: &str = "supervisor_member_id";
    if member == Some(supervisor) {
        return Err(AppError::invalid(
            FIELD,
            "a member cannot supervise themself",
        ));
    }
    match store::member(tx, agency_id, supervisor).await? {
        None => Err(AppError::invalid(
            FIELD,
            format!("{supervisor} is not a member of this agency"),
        )),
        Some(s) if !s.active => Err(AppError::invalid(
            FIELD,
            format!(
                "{} {} is inactive; choose an active member",
                s.first_name, s.last_name
            ),
        )),
        Some(s) => match member {
            Some(m) => check_no_cycle(tx, agency_id, m, s).await,
            None => Ok(()),
        },
    }
}

/// `member` may not be put under `supervisor` when `supervisor` already reports, directly or
/// through others, to `member`: reminder copies would go round in a circle and no one would
/// head the chain. Walks up from the supervisor; chains are short.
async fn check_no_cycle(
    tx: &mut Tx,
    agency_id: AgencyId,
    member: MemberId,
    supervisor: Member,
) -> Result<()> {
    let mut above = supervisor.supervisor_member_id;
    let mut hops = 0;
    while let Some(next) = above {
        if next == member || hops > 1_000 {
            return Err(AppError::invalid(
                "supervisor_member_id",
                format!(
                    "{} {} already reports to this member; a chain of supervisors cannot \
                     go round in a circle",
                    supervisor.first_name, supervisor.last_name
                ),
            ));
        }
        above = store::member(tx, agency_id, next)
            .await?
            .and_then(|m| m.supervisor_member_id);
        hops += 1;
    }
    Ok(())
}

fn normalise(mut f: MemberFields) -> MemberFields {
    f.first_name = clean_name(&f.first_name);
    f.last_name = clean_name(&f.last_name);
    f.email = clean(f.email).map(|e| e.to_lowercase());
    f.employee_number = clean(f.employee_number);
    f.position = clean(f.position)
        .map(|p| clean_name(&p))
        .filter(|p| !p.is_empty());
    f
}

/// Checks group ids from a body belong to the agency; answers them sorted, once each.
pub(crate) async fn agency_group_ids(
    tx: &mut Tx,
    agency_id: AgencyId,
    field: &str,
    raw: &[GroupId],
) -> Result<Vec<GroupId>> {
    let mut decoded = raw.to_vec();
    decoded.sort_unstable();
    decoded.dedup();
    let found = credence_store::people::groups::existing_group_ids(tx, agency_id, &decoded).await?;
    if let Some(missing) = decoded.iter().find(|g| !found.contains(g)) {
        return Err(AppError::invalid(
            field,
            format!("{} is not a group of this agency", *missing),
        ));
    }
    Ok(decoded)
}

impl App {
    /// Loads a member the actor may see, with their groups; 404 otherwise.
    pub(crate) async fn load_member(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        id: MemberId,
    ) -> Result<MemberView> {
        if !actor.sees_member(id) {
            return Err(AppError::NotFound);
        }
        let m = store::member(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let groups = store::memberships_of(db, actor.agency_id, &[id]).await?;
        Ok(view(m, groups.into_iter().map(|(_, g)| g).collect()))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn member(&self, actor: &Actor, id: MemberId) -> Result<MemberView> {
        let mut tx = self.store.read().await?;
        self.load_member(&mut tx, actor, id).await
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn members(
        &self,
        actor: &Actor,
        filter: &MemberListFilter,
        page: &PageParams,
    ) -> Result<Page<MemberView>> {
        let limit = page.limit()?;
        let only_id = if actor.role.reads_agency() {
            None
        } else {
            Some(actor.member_id.ok_or_else(|| {
                AppError::Forbidden("this login is not linked to a member".into())
            })?)
        };
        let store_filter = MemberFilter {
            only_id,
            group_id: filter.group_id,
            active: filter.active,
            q: filter.q.clone(),
        };
        let mut tx = self.store.read().await?;
        let rows = store::members_page(
            &mut tx,
            actor.agency_id,
            &store_filter,
            page.after()?,
            limit + 1,
        )
        .await?;
        let member_ids: Vec<MemberId> = rows.iter().map(|m| m.id).collect();
        let mut groups: BTreeMap<MemberId, Vec<GroupId>> = BTreeMap::new();
        for (m, g) in store::memberships_of(&mut tx, actor.agency_id, &member_ids).await? {
            groups.entry(m).or_default().push(g);
        }
        Ok(paginate(
            rows,
            limit,
            |m| (m.sort_name.clone(), m.id.get()),
            |m| {
                let g = groups.remove(&m.id).unwrap_or_default();
                view(m, g)
            },
        ))
    }

    /// Every member the filter matches, by id, in list order: a picker's "all matching",
    /// resolved when the form is sent so no list of ids travels and there is no cap. One
    /// query on the list's index.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn member_ids_matching(
        &self,
        actor: &Reader,
        filter: &MemberListFilter,
    ) -> Result<Vec<MemberId>> {
        let mut tx = self.store.read().await?;
        let rows = store::members_page(
            &mut tx,
            actor.agency_id,
            &MemberFilter {
                only_id: None,
                group_id: filter.group_id,
                active: filter.active,
                q: filter.q.clone(),
            },
            None,
            i64::from(i32::MAX),
        )
        .await?;
        Ok(rows.into_iter().map(|m| m.id).collect())
    }

    /// How many members match the filter, across pages (the members page shows it).
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn members_count(&self, actor: &Reader, filter: &MemberListFilter) -> Result<i64> {
        let mut tx = self.store.read().await?;
        Ok(store::members_count(
            &mut tx,
            actor.agency_id,
            &MemberFilter {
                only_id: None,
                group_id: filter.group_id,
                active: filter.active,
                q: filter.q.clone(),
            },
        )
        .await?)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_member(&self, actor: &Admin, input: NewMember) -> Result<MemberView> {
        let fields = normalise(MemberFields {
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            employee_number: input.employee_number,
            active: input.active.unwrap_or(true),
            position: input.position,
            supervisor_member_id: input.supervisor_member_id,
        });
        validate(&fields)?;
        let mut tx = self.store.begin().await?;
        if let Some(s) = fields.supervisor_member_id {
            check_supervisor(&mut tx, actor.agency_id, None, s).await?;
        }
        let group_ids = agency_group_ids(
            &mut tx,
            actor.agency_id,
            "group_ids",
            input.group_ids.as_deref().unwrap_or(&[]),
        )
        .await?;
        let m = store::insert_member(&mut tx, actor.agency_id, &fields).await?;
        let member_id = m.id;
        let pairs: Vec<(GroupId, MemberId)> = group_ids.iter().map(|g| (*g, member_id)).collect();
        let today = self.ctx(&mut tx, actor).await?.today;
        credence_store::people::groups::add_memberships(&mut tx, actor.agency_id, &pairs, today)
            .await?;
        self.enrol_joiners(&mut tx, actor, &group_ids, &[member_id])
            .await?;
        let created = view(m, group_ids);
        record(&mut tx, actor, "create", member_id, None, Some(&created)).await?;
        tx.commit().await?;
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn update_member(
        &self,
        actor: &Admin,
        id: MemberId,
        input: MemberPatch,
    ) -> Result<MemberView> {
        let mut tx = self.store.begin().await?;
        let before = self.load_member(&mut tx, actor, id).await?;
        if before.version != input.version {
            return Err(AppError::stale());
        }
        let fields = normalise(MemberFields {
            first_name: patch(before.first_name.clone(), input.first_name),
            last_name: patch(before.last_name.clone(), input.last_name),
            email: patch(before.email.clone(), input.email),
            employee_number: patch(before.employee_number.clone(), input.employee_number),
            active: patch(before.active, input.active),
            position: patch(before.position.clone(), input.position),
            supervisor_member_id: patch(before.supervisor_member_id, input.supervisor_member_id),
        });
        validate(&fields)?;
        let groups = match &input.group_ids {
            Some(raw) => Some(agency_group_ids(&mut tx, actor.agency_id, "group_ids", raw).await?),
            None => None,
        };
        // Checked when it changes: a supervisor deactivated since stays until someone
        // chooses another, and an unrelated change still saves.
        let changed = fields
            .supervisor_member_id
            .filter(|s| before.supervisor_member_id != Some(*s));
        if let Some(s) = changed {
            check_supervisor(&mut tx, actor.agency_id, Some(id), s).await?;
        }
        let mut after = self.write_member(&mut tx, actor, &before, &fields).await?;
        if let Some(groups) = groups {
            self.move_between_groups(&mut tx, actor, id, &before.group_ids, &groups)
                .await?;
            after.group_ids = groups;
        }
        record(
            &mut tx,
            actor,
            "update",
            after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// DELETE: deactivates the member; their credentials and history stay.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn deactivate_member(&self, actor: &Admin, id: MemberId) -> Result<MemberView> {
        let mut tx = self.store.begin().await?;
        let before = self.load_member(&mut tx, actor, id).await?;
        let fields = MemberFields {
            first_name: before.first_name.clone(),
            last_name: before.last_name.clone(),
            email: before.email.clone(),
            employee_number: before.employee_number.clone(),
            active: false,
            position: before.position.clone(),
            supervisor_member_id: before.supervisor_member_id,
        };
        let after = self.write_member(&mut tx, actor, &before, &fields).await?;
        record(
            &mut tx,
            actor,
            "deactivate",
            after.id,
            Some(&before),
            Some(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Makes the member's groups `wanted` (sorted, once each): joins and leaves dated today,
    /// each changed group locked as the group endpoints lock it, in id order.
    async fn move_between_groups(
        &self,
        tx: &mut Tx,
        actor: &Admin,
        id: MemberId,
        current: &[GroupId],
        wanted: &[GroupId],
    ) -> Result<()> {
        use credence_store::people::groups as groups_store;
        let joined: Vec<GroupId> = wanted
            .iter()
            .copied()
            .filter(|g| !current.contains(g))
            .collect();
        let left: Vec<GroupId> = current
            .iter()
            .copied()
            .filter(|g| !wanted.contains(g))
            .collect();
        if joined.is_empty() && left.is_empty() {
            return Ok(());
        }
        let today = self.ctx(tx, actor).await?.today;
        let mut changed: Vec<GroupId> = joined.iter().chain(left.iter()).copied().collect();
        changed.sort_unstable();
        for g in changed {
            groups_store::lock_group(tx, actor.agency_id, g).await?;
            if joined.contains(&g) {
                groups_store::add_group_members(tx, actor.agency_id, g, &[id], today).await?;
            } else {
                groups_store::remove_group_members(tx, actor.agency_id, g, &[id], today).await?;
            }
        }
        self.enrol_joiners(tx, actor, &joined, &[id]).await
    }

    async fn write_member(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        before: &MemberView,
        fields: &MemberFields,
    ) -> Result<MemberView> {
        let id = before.id;
        let row = store::update_member(tx, actor.agency_id, id, before.version, fields)
            .await?
            .ok_or_else(AppError::stale)?;
        if before.active && !fields.active {
            // A deactivated member's tokens and sessions end in the same transaction.
            let (tokens, sessions) =
                credence_store::auth::identity::end_member_access(tx, actor.agency_id, id).await?;
            tracing::info!(
                member = %id,
                tokens,
                sessions,
                "member deactivated: access ended"
            );
        }
        Ok(view(row, before.group_ids.clone()))
    }
}

impl App {
    /// The member with `email` in the agency (operator commands name members by e-mail).
    pub async fn member_id_by_email(&self, agency_id: AgencyId, email: &str) -> Result<MemberId> {
        let mut tx = self.store.read().await?;
        store::member_id_by_email(&mut tx, agency_id, email)
            .await?
            .ok_or_else(|| {
                AppError::invalid(
                    "member",
                    format!("no member of this agency has the e-mail {email}"),
                )
            })
    }
}
