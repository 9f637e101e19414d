//! Members import: upsert by employee number, else by e-mail (any case); groups named in the
//! `groups` column are joined (an unknown group is an error naming it, never created).

use std::collections::{BTreeMap, HashMap, HashSet};

use credence_domain::ids::{GroupId, ImportId, MemberId};
use credence_domain::validation::{clean_name, is_plausible_email};
use credence_store::people::members::{self as store, Member, MemberFields};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use super::{each_row, opt, Checked, Errors};
use crate::credentials::lifecycle::Ctx;
use crate::{Actor, App, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    pub row: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub active: Option<bool>,
    pub groups: Vec<String>,
}

impl Row {
    pub fn values(&self) -> Vec<String> {
        vec![
            self.first_name.clone(),
            self.last_name.clone(),
            opt(&self.email),
            opt(&self.employee_number),
            self.active
                .map(|a| if a { "yes" } else { "no" }.to_string())
                .unwrap_or_default(),
            self.groups.join("; "),
        ]
    }
}

pub(crate) fn parse(
    sheet: &super::Sheet,
    index: &HashMap<&'static str, usize>,
    errors: &mut Errors,
) -> Vec<Row> {
    let rows = each_row(sheet, index, errors, |c| {
        let first_name = c.required("first_name", 100).map(|n| clean_name(&n));
        let last_name = c.required("last_name", 100).map(|n| clean_name(&n));
        let email = c.text("email", 200).map(|e| e.to_lowercase());
        if let Some(e) = &email {
            if !is_plausible_email(e) {
                c.errors
                    .add(c.row, "email", format!("{e:?} is not an e-mail address"));
            }
        }
        let employee_number = c.text("employee_number", 40);
        if email.is_none() && employee_number.is_none() && c.ok() {
            c.errors.add(
                c.row,
                "employee_number",
                "give an employee number or an e-mail (rows are matched to members by them)",
            );
        }
        let active = c.flag("active");
        let groups = c
            .text("groups", 2000)
            .map(|g| {
                g.split(';')
                    .map(|s| clean_name(s.trim()))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Some(Row {
            row: c.row,
            first_name: first_name?,
            last_name: last_name?,
            email,
            employee_number,
            active,
            groups,
        })
    });
    // The same number or e-mail twice in one file would be one member written twice.
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    let mut emails: HashMap<&str, usize> = HashMap::new();
    let mut duplicates = Vec::new();
    for r in &rows {
        if let Some(n) = &r.employee_number {
            if let Some(first) = numbers.insert(n, r.row) {
                duplicates.push((
                    r.row,
                    "employee_number",
                    format!("{n:?} is also on row {first}"),
                ));
                numbers.insert(n, first);
            }
        }
        if let Some(e) = &r.email {
            if let Some(first) = emails.insert(e, r.row) {
                duplicates.push((r.row, "email", format!("{e:?} is also on row {first}")));
                emails.insert(e, first);
            }
        }
    }
    for (row, column, message) in duplicates {
        errors.add(row, column, message);
    }
    rows
}

/// What the commit writes.
pub(crate) struct Plan {
    creates: Vec<(usize, MemberFields, Vec<GroupId>)>,
    updates: Vec<(Member, MemberFields, Vec<GroupId>)>,
    joins: Vec<(MemberId, Vec<GroupId>)>,
}

fn describe(m: &Member) -> String {
    let name = format!("{} {}", m.first_name, m.last_name);
    match &m.employee_number {
        Some(n) => format!("{name} (employee number {n})"),
        None => name,
    }
}

pub(crate) async fn check(
    tx: &mut Tx,
    ctx: &Ctx,
    rows: &[Row],
    errors: &mut Errors,
) -> Result<Checked<Plan>> {
    let members = store::members_of_agency(tx, ctx.agency_id).await?;
    let by_number: HashMap<&str, &Member> = members
        .iter()
        .filter_map(|m| Some((m.employee_number.as_deref()?, m)))
        .collect();
    let by_email: HashMap<String, &Member> = members
        .iter()
        .filter_map(|m| Some((m.email.as_deref()?.to_lowercase(), m)))
        .collect();
    let groups: HashMap<String, GroupId> =
        credence_store::people::groups::groups_page(tx, ctx.agency_id, None, i64::MAX)
            .await?
            .into_iter()
            .map(|g| (g.name.to_lowercase(), g.id))
            .collect();
    let mut held: HashSet<(MemberId, GroupId)> = HashSet::new();
    let ids: Vec<MemberId> = members.iter().map(|m| m.id).collect();
    for (m, g) in store::memberships_of(tx, ctx.agency_id, &ids).await? {
        held.insert((m, g));
    }
    let mut plan = Plan {
        creates: Vec::new(),
        updates: Vec::new(),
        joins: Vec::new(),
    };
    let mut actions = Vec::with_capacity(rows.len());
    for r in rows {
        let before = errors.0.len();
        let number_match = r
            .employee_number
            .as_deref()
            .and_then(|n| by_number.get(n).copied());
        let email_match = r.email.as_deref().and_then(|e| by_email.get(e).copied());
        let target = match (number_match, email_match) {
            (Some(m), _) => Some(m),
            (None, Some(m)) => {
                if let (Some(_), Some(ours)) = (&m.employee_number, &r.employee_number) {
                    errors.add(
                        r.row,
                        "email",
                        format!(
                            "{:?} belongs to {}, whose employee number is not {ours:?}",
                            r.email.as_deref().unwrap_or_default(),
                            describe(m),
                        ),
                    );
                }
                Some(m)
            }
            (None, None) => None,
        };
        if let (Some(t), Some(other)) = (target, email_match) {
            if t.id != other.id {
                errors.add(
                    r.row,
                    "email",
                    format!(
                        "{:?} is already the e-mail of another member, {}",
                        r.email.as_deref().unwrap_or_default(),
                        describe(other)
                    ),
                );
            }
        }
        let mut group_ids = Vec::with_capacity(r.groups.len());
        for name in &r.groups {
            match groups.get(&name.to_lowercase()) {
                Some(g) => group_ids.push(*g),
                None => errors.add(r.row, "groups", format!("no group is named {name:?}")),
            }
        }
        group_ids.sort_unstable();
        group_ids.dedup();
        if errors.0.len() > before {
            actions.push("error".to_string());
            continue;
        }
        match target {
            None => {
                let fields = MemberFields {
                    first_name: r.first_name.clone(),
                    last_name: r.last_name.clone(),
                    email: r.email.clone(),
                    employee_number: r.employee_number.clone(),
                    active: r.active.unwrap_or(true),
                    position: None,
                    supervisor_member_id: None,
                };
                actions.push("create".to_string());
                plan.creates.push((r.row, fields, group_ids));
            }
            Some(m) => {
                let fields = MemberFields {
                    first_name: r.first_name.clone(),
                    last_name: r.last_name.clone(),
                    email: r.email.clone().or_else(|| m.email.clone()),
                    employee_number: r
                        .employee_number
                        .clone()
                        .or_else(|| m.employee_number.clone()),
                    active: r.active.unwrap_or(m.active),
                    // Not columns of the import: kept as they are.
                    position: m.position.clone(),
                    supervisor_member_id: m.supervisor_member_id,
                };
                let joins: Vec<GroupId> = group_ids
                    .into_iter()
                    .filter(|g| !held.contains(&(m.id, *g)))
                    .collect();
                let same = fields.first_name == m.first_name
                    && fields.last_name == m.last_name
                    && fields.email == m.email
                    && fields.employee_number == m.employee_number
                    && fields.active == m.active;
                // The member's version is part of the action: a change in between is a 409.
                if same && joins.is_empty() {
                    actions.push(format!("unchanged {} v{}", m.id, m.version));
                } else if same {
                    actions.push(format!("update {} v{}", m.id, m.version));
                    plan.joins.push((m.id, joins));
                } else {
                    actions.push(format!("update {} v{}", m.id, m.version));
                    plan.updates.push((m.clone(), fields, joins));
                }
            }
        }
    }
    Ok(Checked { actions, plan })
}

pub(crate) async fn apply(
    app: &App,
    tx: &mut Tx,
    ctx: &Ctx,
    actor: &Actor,
    plan: Plan,
    import: ImportId,
) -> Result<()> {
    let ids = credence_store::query::reserve_ids(tx, "members", plan.creates.len()).await?;
    let created: Vec<(MemberId, MemberFields)> = plan
        .creates
        .iter()
        .zip(&ids)
        .map(|((_, f, _), id)| (MemberId::new(*id), f.clone()))
        .collect();
    store::insert_members(tx, ctx.agency_id, &created).await?;
    let updated: Vec<(MemberId, MemberFields)> = plan
        .updates
        .iter()
        .map(|(m, f, _)| (m.id, f.clone()))
        .collect();
    store::update_members(tx, ctx.agency_id, &updated).await?;
    for (m, f, _) in &plan.updates {
        if m.active && !f.active {
            credence_store::auth::identity::end_member_access(tx, ctx.agency_id, m.id).await?;
        }
    }
    let note = serde_json::json!({ "import_id": import }).to_string();
    let created_ids: Vec<MemberId> = created.iter().map(|(id, _)| *id).collect();
    credence_store::ops::audit::record_many(
        tx,
        ctx.agency_id,
        &ctx.actor,
        "create",
        &created_ids,
        Some(&note),
    )
    .await?;
    let updated_ids: Vec<MemberId> = updated.iter().map(|(id, _)| *id).collect();
    credence_store::ops::audit::record_many(
        tx,
        ctx.agency_id,
        &ctx.actor,
        "update",
        &updated_ids,
        Some(&note),
    )
    .await?;
    // Joining groups goes through the groups' own path (membership history, enrolment).
    let mut joins: BTreeMap<GroupId, Vec<MemberId>> = BTreeMap::new();
    let created_joins = plan
        .creates
        .iter()
        .zip(&created_ids)
        .map(|((_, _, g), id)| (*id, g.clone()));
    let updated_joins = plan.updates.iter().map(|(m, _, g)| (m.id, g.clone()));
    for (member, groups) in created_joins.chain(updated_joins).chain(plan.joins) {
        for g in groups {
            joins.entry(g).or_default().push(member);
        }
    }
    for (group, members) in joins {
        app.join_group(tx, actor, ctx, group, members).await?;
    }
    Ok(())
}
