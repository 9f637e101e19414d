//! Group memberships and training records imports.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use credence_domain::ids::{CourseId, GroupId, MemberId};
use credence_domain::Invalid;
use credence_store::training::records::NewRecord;
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use super::{each_row, opt, unknown_member, Checked, Errors, MemberKeys};
use crate::credentials::lifecycle::Ctx;
use crate::training::records::{check_record, Known, NewTrainingRecord, Source};
use crate::{Actor, App, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MembershipRow {
    pub row: usize,
    pub member: String,
    pub group: String,
}

impl MembershipRow {
    pub fn values(&self) -> Vec<String> {
        vec![self.member.clone(), self.group.clone()]
    }
}

pub(crate) fn parse_memberships(
    sheet: &super::Sheet,
    index: &HashMap<&'static str, usize>,
    errors: &mut Errors,
) -> Vec<MembershipRow> {
    each_row(sheet, index, errors, |c| {
        let member = c.required("member", 200);
        let group = c.required("group", 100);
        Some(MembershipRow {
            row: c.row,
            member: member?,
            group: group?,
        })
    })
}

pub(crate) struct MembershipPlan {
    joins: BTreeMap<GroupId, Vec<MemberId>>,
}

pub(crate) async fn check_memberships(
    tx: &mut Tx,
    ctx: &Ctx,
    rows: &[MembershipRow],
    errors: &mut Errors,
) -> Result<Checked<MembershipPlan>> {
    let keys = MemberKeys::load(tx, ctx.agency_id).await?;
    let groups: HashMap<String, GroupId> =
        credence_store::people::groups::groups_page(tx, ctx.agency_id, None, i64::MAX)
            .await?
            .into_iter()
            .map(|g| (g.name.to_lowercase(), g.id))
            .collect();
    let found: Vec<MemberId> = rows.iter().filter_map(|r| keys.find(&r.member)).collect();
    let held: HashSet<(MemberId, GroupId)> =
        credence_store::people::members::memberships_of(tx, ctx.agency_id, &found)
            .await?
            .into_iter()
            .collect();
    let mut seen = HashSet::new();
    let mut joins: BTreeMap<GroupId, Vec<MemberId>> = BTreeMap::new();
    let mut actions = Vec::with_capacity(rows.len());
    for r in rows {
        let member = keys.find(&r.member);
        if member.is_none() {
            errors.add(r.row, "member", unknown_member(&r.member));
        }
        let group = groups.get(&r.group.trim().to_lowercase()).copied();
        if group.is_none() {
            errors.add(r.row, "group", format!("no group is named {:?}", r.group));
        }
        let (Some(m), Some(g)) = (member, group) else {
            actions.push("error".into());
            continue;
        };
        if held.contains(&(m, g)) || !seen.insert((m, g)) {
            actions.push(format!("unchanged {m} {g}"));
        } else {
            actions.push(format!("add {m} {g}"));
            joins.entry(g).or_default().push(m);
        }
    }
    Ok(Checked {
        actions,
        plan: MembershipPlan { joins },
    })
}

pub(crate) async fn apply_memberships(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    plan: MembershipPlan,
) -> Result<()> {
    let ctx = app.ctx(tx, actor).await?;
    for (group, members) in plan.joins {
        app.join_group(tx, actor, &ctx, group, members).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RecordRow {
    pub row: usize,
    pub member: String,
    pub course: Option<String>,
    pub completed_on: NaiveDate,
    pub score: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
}

impl RecordRow {
    pub fn values(&self) -> Vec<String> {
        vec![
            self.member.clone(),
            opt(&self.course),
            self.completed_on.to_string(),
            opt(&self.score),
            opt(&self.hours),
            opt(&self.category),
        ]
    }
}

pub(crate) fn parse_records(
    sheet: &super::Sheet,
    index: &HashMap<&'static str, usize>,
    errors: &mut Errors,
) -> Vec<RecordRow> {
    each_row(sheet, index, errors, |c| {
        let member = c.required("member", 200);
        let course = c.text("course", 40);
        let completed_on = c.date("completed_on", true);
        let score = c.number("score");
        let hours = c.number("hours");
        let category = c.text("category", 100);
        Some(RecordRow {
            row: c.row,
            member: member?,
            course,
            completed_on: completed_on?,
            score,
            hours,
            category,
        })
    })
}

pub(crate) struct RecordPlan {
    records: Vec<NewRecord>,
}

/// The column of the file a training-record rule's field comes from.
fn record_column(field: &str) -> &str {
    match field {
        "member_id" => "member",
        "course_id" => "course",
        other => other,
    }
}

pub(crate) async fn check_records(
    tx: &mut Tx,
    ctx: &Ctx,
    actor: &Actor,
    rows: &[RecordRow],
    errors: &mut Errors,
) -> Result<Checked<RecordPlan>> {
    let keys = MemberKeys::load(tx, ctx.agency_id).await?;
    let courses: HashMap<String, CourseId> =
        credence_store::catalog::courses::courses_page(tx, ctx.agency_id, None, i64::MAX)
            .await?
            .into_iter()
            .map(|c| (c.code.to_lowercase(), c.id))
            .collect();
    let mut inputs: Vec<Option<NewTrainingRecord>> = Vec::with_capacity(rows.len());
    for r in rows {
        let member = keys.find(&r.member);
        if member.is_none() {
            errors.add(r.row, "member", unknown_member(&r.member));
        }
        let course = match &r.course {
            None => Some(None),
            Some(code) => match courses.get(&code.to_lowercase()) {
                Some(c) => Some(Some(*c)),
                None => {
                    errors.add(r.row, "course", format!("no course has the code {code:?}"));
                    None
                }
            },
        };
        if member.is_some_and(|m| actor.member_id == Some(m)) {
            errors.add(
                r.row,
                "member",
                "you cannot record training for yourself; another officer must do it",
            );
        }
        inputs.push(match (member, course) {
            (Some(member_id), Some(course_id)) => Some(NewTrainingRecord {
                member_id,
                course_id,
                completed_on: r.completed_on,
                score: r.score,
                hours: r.hours,
                category: r.category.clone(),
            }),
            _ => None,
        });
    }
    let plain: Vec<NewTrainingRecord> = inputs.iter().flatten().cloned().collect();
    let known = Known::load(tx, ctx.agency_id, &plain).await?;
    let mut records = Vec::with_capacity(plain.len());
    let mut actions = Vec::with_capacity(rows.len());
    for (r, input) in rows.iter().zip(&inputs) {
        let Some(input) = input else {
            actions.push("error".into());
            continue;
        };
        let mut invalid = Invalid::new();
        match check_record(ctx, &known, input, Source::Import, "", &mut invalid) {
            Some(record) if invalid.is_empty() => {
                actions.push("create".into());
                records.push(record);
            }
            _ => {
                for e in invalid.errors {
                    errors.add(r.row, record_column(&e.field), e.message);
                }
                actions.push("error".into());
            }
        }
    }
    Ok(Checked {
        actions,
        plan: RecordPlan { records },
    })
}

pub(crate) async fn apply_records(
    app: &App,
    tx: &mut Tx,
    ctx: &Ctx,
    plan: RecordPlan,
) -> Result<()> {
    app.store_records(tx, ctx, &plan.records).await?;
    Ok(())
}
