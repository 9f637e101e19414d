//! Classes (seed 004's course offers): schedule one offering of a course, fill its roster
//! with members or whole groups (within its capacity), type every attendee's result, and
//! complete it — one training record per attendee (source `class`) and their credentials'
//! progress recomputed, in one transaction of set-based statements. A completed class can
//! be reopened to correct it; completing it again rewrites its records, so they always
//! follow the class's results.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use credence_domain::classes::{self as rules, CompleteError};
use credence_domain::ids::{ClassId, CourseId, GroupId, MemberId, TrainingRecordId};
use credence_domain::validation::check_text;
use credence_domain::Invalid;
use credence_store::training::classes::{self as store, ClassRow, NewClass as StoreNew, When};
use credence_store::{Conn, Tx};
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::refresh;
use crate::input::clean;
use crate::ops::audit::record;
use crate::page::{paginate, Page, PageParams};
use crate::{Actor, App, AppError, Officer, Reader, Result};

/// However large its capacity, a class's roster holds at most this many members.
pub const MAX_ROSTER: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    #[schema(value_type = String)]
    pub course_id: CourseId,
    pub held_on: NaiveDate,
    pub instructor: String,
    pub location: String,
    /// The most members the roster may hold; none: no limit (up to 2000).
    pub capacity: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClassView {
    #[schema(value_type = String)]
    pub id: ClassId,
    #[schema(value_type = String)]
    pub course_id: CourseId,
    pub course_code: String,
    pub course_name: String,
    /// The course's hours: what an attendee's record gets when no hours are typed.
    pub course_hours: f64,
    pub graded: bool,
    pub passing_grade: Option<f64>,
    pub held_on: NaiveDate,
    pub instructor: Option<String>,
    pub location: Option<String>,
    pub capacity: Option<i64>,
    /// `scheduled` or `completed`.
    pub status: String,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_by: Option<String>,
    pub roster_count: i64,
    pub attended_count: i64,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// One member on the roster with their result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RosterEntry {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    /// "Last, First".
    pub name: String,
    pub employee_number: Option<String>,
    pub active: bool,
    /// `null` until results are typed.
    pub attended: Option<bool>,
    pub score: Option<f64>,
    /// As typed; `null`: the course's hours.
    pub hours: Option<f64>,
    /// The training record completing the class wrote for them.
    #[schema(value_type = Option<String>)]
    pub training_record_id: Option<TrainingRecordId>,
}

/// A class with its roster and results.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClassDetail {
    #[serde(flatten)]
    pub class: ClassView,
    pub roster: Vec<RosterEntry>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct ClassListFilter {
    /// `upcoming` (held today or later, soonest first), `past` (before today, latest first)
    /// or `all` (the default, latest first).
    pub when: Option<String>,
    #[param(value_type = Option<String>)]
    pub course_id: Option<CourseId>,
}

/// `PUT /classes/{id}/roster`: the roster is exactly these members.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterMembers {
    #[schema(value_type = Vec<String>)]
    pub member_ids: Vec<MemberId>,
}

/// `POST /classes/{id}/roster/add`: these members and the active members of these groups
/// join the roster (those already on it stay as they are).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterAdd {
    #[schema(value_type = Option<Vec<String>>)]
    pub member_ids: Option<Vec<MemberId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub group_ids: Option<Vec<GroupId>>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassResult {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    pub attended: bool,
    /// 0–100.
    pub score: Option<f64>,
    /// 0–24; none: the course's hours.
    pub hours: Option<f64>,
}

/// `POST /classes/{id}/complete`: every attendee's result. Members of the roster without a
/// result did not attend.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteClass {
    pub results: Vec<ClassResult>,
}

/// `POST /classes/{id}/reopen`, optionally saying why (kept in the audit log).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenClass {
    pub reason: Option<String>,
}

fn view(k: ClassRow) -> ClassView {
    ClassView {
        id: k.id,
        course_id: k.course_id,
        course_code: k.course_code,
        course_name: k.course_name,
        course_hours: k.course_hours,
        graded: k.course_graded,
        passing_grade: k.course_passing_grade,
        held_on: k.held_on,
        instructor: k.instructor,
        location: k.location,
        capacity: k.capacity,
        status: k.status,
        completed_at: k.completed_at,
        completed_by: k.completed_by,
        roster_count: k.roster_count,
        attended_count: k.attended_count,
        version: k.version,
        created_at: k.created_at,
    }
}

/// What a roster change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Replace,
    Add,
    Remove,
}

impl App {
    async fn load_class(&self, db: &mut impl Conn, actor: &Actor, id: ClassId) -> Result<ClassRow> {
        store::class(db, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)
    }

    async fn class_detail(
        &self,
        db: &mut impl Conn,
        actor: &Actor,
        id: ClassId,
    ) -> Result<ClassDetail> {
        let class = view(self.load_class(db, actor, id).await?);
        let roster = store::roster(db, actor.agency_id, id)
            .await?
            .into_iter()
            .map(|r| RosterEntry {
                member_id: r.member_id,
                name: format!("{}, {}", r.last_name, r.first_name),
                employee_number: r.employee_number,
                active: r.active,
                attended: r.attended,
                score: r.score,
                hours: r.hours,
                training_record_id: r.training_record_id,
            })
            .collect();
        Ok(ClassDetail { class, roster })
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn classes(
        &self,
        actor: &Reader,
        filter: &ClassListFilter,
        page: &PageParams,
    ) -> Result<Page<ClassView>> {
        let when = match filter.when.as_deref().unwrap_or("all") {
            "upcoming" => When::Upcoming,
            "past" => When::Past,
            "all" => When::All,
            _ => return Err(AppError::invalid("when", "must be upcoming, past or all")),
        };
        let limit = page.limit()?;
        let after: Option<(NaiveDate, i64)> = page.after()?;
        let mut tx = self.store.read().await?;
        let today = self.ctx(&mut tx, actor).await?.today;
        let rows = store::classes_page(
            &mut tx,
            actor.agency_id,
            when,
            today,
            filter.course_id,
            after,
            limit + 1,
        )
        .await?;
        Ok(paginate(rows, limit, |k| (k.held_on, k.id.get()), view))
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn class(&self, actor: &Reader, id: ClassId) -> Result<ClassDetail> {
        let mut tx = self.store.read().await?;
        self.class_detail(&mut tx, actor, id).await
    }

    /// Schedules a class of a current course.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn create_class(&self, actor: &Officer, input: NewClass) -> Result<ClassDetail> {
        let instructor = clean(Some(input.instructor)).unwrap_or_default();
        let location = clean(Some(input.location)).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        let course =
            credence_store::catalog::courses::course(&mut tx, actor.agency_id, input.course_id)
                .await?;
        let mut invalid = Invalid::new();
        match &course {
            None => invalid.add("course_id", "is not a course of this agency"),
            Some(c) if c.retired_at.is_some() => invalid.add(
                "course_id",
                format!(
                    "names the course {}, which is retired; schedule a current course",
                    c.code
                ),
            ),
            Some(_) => {}
        }
        check_text(&mut invalid, "instructor", &instructor, 200);
        check_text(&mut invalid, "location", &location, 200);
        if let Some(c) = input.capacity {
            invalid.check(
                (1..=MAX_ROSTER as i64).contains(&c),
                "capacity",
                &format!("must be between 1 and {MAX_ROSTER}"),
            );
        }
        invalid.into_result()?;
        let id = store::insert_class(
            &mut tx,
            actor.agency_id,
            &StoreNew {
                course_id: input.course_id,
                held_on: input.held_on,
                instructor: &instructor,
                location: &location,
                capacity: input.capacity,
            },
        )
        .await?;
        let created = self.class_detail(&mut tx, actor, id).await?;
        record(&mut tx, actor, "create", id, None, Some(&created.class)).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Makes the roster exactly these members.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn set_roster(
        &self,
        actor: &Officer,
        id: ClassId,
        input: RosterMembers,
    ) -> Result<ClassDetail> {
        self.change_roster(actor, id, input.member_ids, Vec::new(), Change::Replace)
            .await
    }

    /// Adds members, and the active members of groups, to the roster.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn add_to_roster(
        &self,
        actor: &Officer,
        id: ClassId,
        input: RosterAdd,
    ) -> Result<ClassDetail> {
        self.change_roster(
            actor,
            id,
            input.member_ids.unwrap_or_default(),
            input.group_ids.unwrap_or_default(),
            Change::Add,
        )
        .await
    }

    /// Takes members off the roster.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn remove_from_roster(
        &self,
        actor: &Officer,
        id: ClassId,
        input: RosterMembers,
    ) -> Result<ClassDetail> {
        self.change_roster(actor, id, input.member_ids, Vec::new(), Change::Remove)
            .await
    }

    async fn change_roster(
        &self,
        actor: &Officer,
        id: ClassId,
        mut member_ids: Vec<MemberId>,
        mut group_ids: Vec<GroupId>,
        change: Change,
    ) -> Result<ClassDetail> {
        member_ids.sort_unstable();
        member_ids.dedup();
        group_ids.sort_unstable();
        group_ids.dedup();
        let agency = actor.agency_id;
        let mut tx = self.store.begin().await?;
        store::lock_class(&mut tx, agency, id).await?;
        // Another agency's class is a 404 whatever the body says.
        let class = self.load_class(&mut tx, actor, id).await?;
        if class.status == "completed" {
            return Err(AppError::Conflict(
                "the class is completed; reopen it to change its roster".into(),
            ));
        }
        if change != Change::Replace && member_ids.is_empty() && group_ids.is_empty() {
            let what = if change == Change::Add {
                "name at least one member or group"
            } else {
                "name at least one member"
            };
            return Err(AppError::invalid("member_ids", what));
        }
        if member_ids.len() > MAX_ROSTER || group_ids.len() > 100 {
            return Err(AppError::invalid(
                "member_ids",
                format!("at most {MAX_ROSTER} members and 100 groups at a time"),
            ));
        }
        let before = store::roster_member_ids(&mut tx, agency, id).await?;
        let mut invalid = Invalid::new();
        if change != Change::Remove {
            let found: HashMap<MemberId, store::Candidate> =
                store::members_by_ids(&mut tx, agency, &member_ids)
                    .await?
                    .into_iter()
                    .map(|c| (c.id, c))
                    .collect();
            let on_roster: HashSet<MemberId> = before.iter().copied().collect();
            for m in &member_ids {
                match found.get(m) {
                    None => {
                        invalid.add("member_ids", format!("{m} is not a member of this agency"))
                    }
                    Some(f) if !f.active && !on_roster.contains(m) => invalid.add(
                        "member_ids",
                        format!("{} {} is not an active member", f.first_name, f.last_name),
                    ),
                    Some(_) => {}
                }
            }
            let groups =
                credence_store::people::groups::existing_group_ids(&mut tx, agency, &group_ids)
                    .await?;
            for g in group_ids.iter().filter(|g| !groups.contains(g)) {
                invalid.add("group_ids", format!("{g} is not a group of this agency"));
            }
        }
        invalid.into_result()?;
        let from_groups = store::active_members_of_groups(&mut tx, agency, &group_ids).await?;
        let (action, after) = match change {
            Change::Replace => {
                let keep: HashSet<MemberId> = member_ids.iter().copied().collect();
                let leaving: Vec<MemberId> = before
                    .iter()
                    .copied()
                    .filter(|m| !keep.contains(m))
                    .collect();
                self.check_fits(&class, member_ids.len(), "member_ids")?;
                store::remove_from_roster(&mut tx, agency, id, &leaving).await?;
                store::add_to_roster(&mut tx, agency, id, &member_ids).await?;
                ("set_roster", member_ids)
            }
            Change::Add => {
                let mut all: Vec<MemberId> = before.clone();
                all.extend(&member_ids);
                all.extend(&from_groups);
                all.sort_unstable();
                all.dedup();
                let field = if member_ids.is_empty() {
                    "group_ids"
                } else {
                    "member_ids"
                };
                self.check_fits(&class, all.len(), field)?;
                let mut joining = member_ids;
                joining.extend(from_groups);
                joining.sort_unstable();
                joining.dedup();
                store::add_to_roster(&mut tx, agency, id, &joining).await?;
                ("add_to_roster", all)
            }
            Change::Remove => {
                store::remove_from_roster(&mut tx, agency, id, &member_ids).await?;
                let gone: HashSet<MemberId> = member_ids.into_iter().collect();
                let after = before
                    .iter()
                    .copied()
                    .filter(|m| !gone.contains(m))
                    .collect();
                ("remove_from_roster", after)
            }
        };
        store::touch(&mut tx, agency, id).await?;
        record(&mut tx, actor, action, id, Some(&before), Some(&after)).await?;
        let detail = self.class_detail(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(detail)
    }

    fn check_fits(&self, class: &ClassRow, size: usize, field: &str) -> Result<()> {
        if size > MAX_ROSTER {
            return Err(AppError::invalid(
                field,
                format!(
                    "would put {size} members on the roster; a class holds at most {MAX_ROSTER}"
                ),
            ));
        }
        if !rules::fits(class.capacity, size) {
            return Err(AppError::invalid(
                field,
                format!(
                    "would put {size} members on the roster, over the class's capacity of {}",
                    class.capacity.unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }

    /// Completes the class: stores the results, writes one training record per attendee
    /// (replacing those of an earlier completion), recomputes their credentials. One
    /// transaction; any bad result is a 422 listing each, and nothing is written.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn complete_class(
        &self,
        actor: &Officer,
        id: ClassId,
        input: CompleteClass,
    ) -> Result<ClassDetail> {
        if input.results.len() > MAX_ROSTER {
            return Err(AppError::invalid(
                "results",
                format!("at most {MAX_ROSTER} results: a class holds no more"),
            ));
        }
        let agency = actor.agency_id;
        let mut tx = self.store.begin().await?;
        store::lock_class(&mut tx, agency, id).await?;
        let class = self.load_class(&mut tx, actor, id).await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let roster = store::roster_member_ids(&mut tx, agency, id).await?;
        let mut invalid = Invalid::new();
        match rules::can_complete(
            class.held_on,
            class.status == "completed",
            roster.len(),
            ctx.today,
        ) {
            Ok(()) => {}
            Err(e @ CompleteError::AlreadyCompleted) => {
                return Err(AppError::Conflict(e.to_string()))
            }
            Err(e @ CompleteError::InTheFuture { .. }) => invalid.add("held_on", e.to_string()),
            Err(e @ CompleteError::EmptyRoster) => invalid.add("roster", e.to_string()),
        }
        if class.course_retired_at.is_some() {
            invalid.add(
                "course_id",
                format!(
                    "names the course {}, which is retired; no new training records are made for it",
                    class.course_code
                ),
            );
        }
        let on_roster: HashSet<MemberId> = roster.iter().copied().collect();
        let typed: Vec<rules::Result<MemberId>> = input
            .results
            .iter()
            .map(|r| rules::Result {
                member: r.member_id,
                attended: r.attended,
                score: r.score,
                hours: r.hours,
            })
            .collect();
        for (i, e) in rules::check_results(&on_roster, &typed) {
            invalid.add(format!("results[{i}].{}", e.field()), e.to_string());
        }
        invalid.into_result()?;
        for r in input.results.iter().filter(|r| r.attended) {
            actor.refuse_self(r.member_id, "record a class result")?;
        }
        let before = view(class);
        let rows: Vec<store::ResultRow> = input
            .results
            .iter()
            .map(|r| store::ResultRow {
                member_id: r.member_id,
                attended: r.attended,
                score: r.score,
                hours: r.hours,
            })
            .collect();
        store::set_results(&mut tx, agency, id, &rows).await?;
        let replaced = store::delete_class_records(&mut tx, agency, id).await?;
        let created = store::insert_class_records(&mut tx, agency, id, &ctx.actor).await?;
        let subscribers = crate::notify::webhooks::Subscribers::load(&mut tx, agency).await?;
        let created_event = credence_domain::webhooks::EventType::TrainingRecordCreated;
        if subscribers.wants(created_event) {
            let events = created
                .iter()
                .map(|(record, member)| {
                    (
                        created_event,
                        serde_json::json!({"training_record_id": record, "member_id": member, "class_id": id, "source": "class"}),
                    )
                })
                .collect();
            subscribers.emit(&mut tx, events).await?;
        }
        if !store::mark_completed(&mut tx, agency, id, &ctx.actor).await? {
            return Err(AppError::Conflict(
                CompleteError::AlreadyCompleted.to_string(),
            ));
        }
        self.audit_records(&mut tx, actor, id, &replaced, &created)
            .await?;
        let mut members: Vec<MemberId> = replaced.iter().chain(&created).map(|(_, m)| *m).collect();
        members.sort_unstable();
        members.dedup();
        let affected =
            credence_store::credentials::tracking_credentials_of_members(&mut tx, agency, &members)
                .await?;
        refresh(&mut tx, &ctx, &affected).await?;
        let detail = self.class_detail(&mut tx, actor, id).await?;
        let results: Vec<serde_json::Value> = input
            .results
            .iter()
            .map(|r| serde_json::json!({"member_id": r.member_id, "attended": r.attended, "score": r.score, "hours": r.hours}))
            .collect();
        let after = serde_json::json!({"status": "completed", "records": created.len(), "results": results});
        let before = serde_json::to_value(&before).unwrap_or_default();
        record(&mut tx, actor, "complete", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// One audit event per record the completion deleted and per record it wrote, set-based.
    async fn audit_records(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        class: ClassId,
        replaced: &[(TrainingRecordId, MemberId)],
        created: &[(TrainingRecordId, MemberId)],
    ) -> Result<()> {
        let why = serde_json::json!({"class_id": class, "source": "class"}).to_string();
        let gone: Vec<TrainingRecordId> = replaced.iter().map(|(r, _)| *r).collect();
        let made: Vec<TrainingRecordId> = created.iter().map(|(r, _)| *r).collect();
        use credence_store::ops::audit::record_many;
        record_many(
            tx,
            actor.agency_id,
            &actor.label,
            "delete",
            &gone,
            Some(&why),
        )
        .await?;
        record_many(
            tx,
            actor.agency_id,
            &actor.label,
            "create",
            &made,
            Some(&why),
        )
        .await?;
        Ok(())
    }

    /// Opens a completed class again to correct its roster or results. Its records stay as
    /// they are until it is completed again, which rewrites them.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn reopen_class(
        &self,
        actor: &Officer,
        id: ClassId,
        input: ReopenClass,
    ) -> Result<ClassDetail> {
        let reason = clean(input.reason);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(AppError::invalid(
                "reason",
                "must be at most 500 characters",
            ));
        }
        let agency = actor.agency_id;
        let mut tx = self.store.begin().await?;
        store::lock_class(&mut tx, agency, id).await?;
        let class = self.load_class(&mut tx, actor, id).await?;
        if !store::reopen(&mut tx, agency, id).await? {
            return Err(AppError::Conflict(
                "the class is not completed; there is nothing to reopen".into(),
            ));
        }
        let before = view(class);
        let detail = self.class_detail(&mut tx, actor, id).await?;
        let after = serde_json::json!({"status": "scheduled", "reason": reason});
        let before = serde_json::to_value(&before).unwrap_or_default();
        record(&mut tx, actor, "reopen", id, Some(&before), Some(&after)).await?;
        tx.commit().await?;
        Ok(detail)
    }
}
