//! Issuances import: each row records an issuance of a published credential type to a
//! member. A member without a credential of the type gets one (its track) with that
//! issuance as its history; one who has it gets the issuance as a later one, as Issue does.
//! Statuses are then computed from the history as everywhere else.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use credence_domain::ids::{CredentialId, CredentialTypeId, ImportId, MemberId};
use credence_domain::progress;
use credence_domain::status::CredentialFacts;
use credence_store::credentials::{self as cred_store, TrackStart};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use super::{each_row, opt, unknown_member, Checked, Errors, MemberKeys};
use crate::credentials::lifecycle::{
    computed, issue_many, load_rules, refresh, Ctx, IssueItem, TypeRules,
};
use crate::{Actor, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Row {
    pub row: usize,
    pub member: String,
    pub credential_type: String,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
}

impl Row {
    pub fn values(&self) -> Vec<String> {
        vec![
            self.member.clone(),
            self.credential_type.clone(),
            self.issue_date.to_string(),
            opt(&self.expiration_date),
            opt(&self.credential_number),
            opt(&self.issuing_officer),
        ]
    }
}

pub(crate) fn parse(
    sheet: &super::Sheet,
    index: &HashMap<&'static str, usize>,
    errors: &mut Errors,
) -> Vec<Row> {
    each_row(sheet, index, errors, |c| {
        let member = c.required("member", 200);
        let credential_type = c.required("credential_type", 40);
        let issue_date = c.date("issue_date", true);
        let expiration_date = c.date("expiration_date", false);
        let credential_number = c.text("credential_number", 60);
        let issuing_officer = c.text("issuing_officer", 200);
        Some(Row {
            row: c.row,
            member: member?,
            credential_type: credential_type?,
            issue_date: issue_date?,
            expiration_date,
            credential_number,
            issuing_officer,
        })
    })
}

/// What the commit writes, by type: members who get a new track, and the issuances.
pub(crate) struct Plan {
    rules: HashMap<CredentialTypeId, TypeRules>,
    by_type: BTreeMap<CredentialTypeId, TypePlan>,
}

#[derive(Default)]
struct TypePlan {
    new_tracks: Vec<MemberId>,
    /// Issuances with the credential id left at 0 for new tracks (filled in once they exist).
    items: Vec<IssueItem>,
}

/// Why an administrator's import may issue over incomplete requirements: the issuance
/// happened, in the system the file comes from.
const IMPORTED: &str = "imported from a spreadsheet (issued in an earlier system)";

pub(crate) async fn check(
    tx: &mut Tx,
    ctx: &Ctx,
    actor: &Actor,
    rows: &[Row],
    errors: &mut Errors,
) -> Result<Checked<Plan>> {
    let keys = MemberKeys::load(tx, ctx.agency_id).await?;
    let types = credence_store::catalog::credential_types::types_page(
        tx,
        ctx.agency_id,
        None,
        false,
        None,
        i64::MAX,
    )
    .await?;
    let by_code: HashMap<String, &credence_store::catalog::credential_types::CredentialType> =
        types.iter().map(|t| (t.code.to_lowercase(), t)).collect();
    let mut type_ids: Vec<CredentialTypeId> = rows
        .iter()
        .filter_map(|r| by_code.get(&r.credential_type.to_lowercase()).map(|t| t.id))
        .collect();
    type_ids.sort_unstable();
    type_ids.dedup();
    let rules = load_rules(tx, ctx.agency_id, &type_ids).await?;
    // Resolve members and types first, then load what they hold in sets.
    let resolved: Vec<(Option<MemberId>, Option<CredentialTypeId>)> = rows
        .iter()
        .map(|r| {
            let m = keys.find(&r.member);
            if m.is_none() {
                errors.add(r.row, "member", unknown_member(&r.member));
            }
            let t = match by_code.get(&r.credential_type.to_lowercase()) {
                None => {
                    errors.add(
                        r.row,
                        "credential_type",
                        format!("no credential type has the code {:?}", r.credential_type),
                    );
                    None
                }
                Some(t) if !(*t.state).assignable() => {
                    errors.add(
                        r.row,
                        "credential_type",
                        format!(
                            "{} is {}; only published types are imported",
                            t.code,
                            (*t.state).as_str()
                        ),
                    );
                    None
                }
                Some(t) => Some(t.id),
            };
            (m, t)
        })
        .collect();
    let mut held: HashMap<(MemberId, CredentialTypeId), CredentialId> = HashMap::new();
    let mut numbers: HashMap<CredentialTypeId, HashSet<String>> = HashMap::new();
    for t in &type_ids {
        let members: Vec<MemberId> = resolved
            .iter()
            .filter(|(_, rt)| *rt == Some(*t))
            .filter_map(|(m, _)| *m)
            .collect();
        for (m, c) in cred_store::credentials_of_members(tx, ctx.agency_id, *t, &members).await? {
            held.insert((m, *t), c);
        }
        let wanted: Vec<String> = rows
            .iter()
            .zip(&resolved)
            .filter(|(_, (_, rt))| *rt == Some(*t))
            .filter_map(|(r, _)| r.credential_number.clone())
            .collect();
        if !wanted.is_empty() {
            numbers.insert(
                *t,
                cred_store::used_numbers(tx, ctx.agency_id, *t, &wanted)
                    .await?
                    .into_iter()
                    .collect(),
            );
        }
    }
    let held_ids: Vec<CredentialId> = held.values().copied().collect();
    let current: HashMap<CredentialId, cred_store::CredentialRow> =
        cred_store::credentials_by_ids(tx, ctx.agency_id, &held_ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    let administers = actor.role().administers();
    let mut seen_pairs: HashMap<(MemberId, CredentialTypeId), usize> = HashMap::new();
    let mut seen_numbers: HashMap<(CredentialTypeId, String), usize> = HashMap::new();
    let mut plan = Plan {
        rules: HashMap::new(),
        by_type: BTreeMap::new(),
    };
    let mut actions = Vec::with_capacity(rows.len());
    for (r, (member, type_id)) in rows.iter().zip(&resolved) {
        let before = errors.0.len();
        let (Some(m), Some(t)) = (*member, *type_id) else {
            actions.push("error".into());
            continue;
        };
        let rule = &rules[&t];
        if actor.member_id() == Some(m) {
            errors.add(
                r.row,
                "member",
                "you cannot issue credentials to yourself; another officer must do it",
            );
        }
        if let Some(first) = seen_pairs.insert((m, t), r.row) {
            errors.add(
                r.row,
                "credential_type",
                format!(
                    "row {first} already imports an issuance of {} for this member",
                    rule.row.code
                ),
            );
        }
        if r.issue_date > ctx.today {
            errors.add(r.row, "issue_date", "must not be in the future");
        }
        let expiration = r
            .expiration_date
            .or_else(|| rule.expiration_for(r.issue_date));
        if expiration.is_some_and(|e| e < r.issue_date) {
            errors.add(r.row, "expiration_date", "must not be before issue_date");
        }
        if let Some(n) = &r.credential_number {
            if numbers.get(&t).is_some_and(|used| used.contains(n)) {
                errors.add(
                    r.row,
                    "credential_number",
                    format!(
                        "{n:?} is already used by another credential of {}",
                        rule.row.code
                    ),
                );
            }
            if let Some(first) = seen_numbers.insert((t, n.clone()), r.row) {
                errors.add(
                    r.row,
                    "credential_number",
                    format!("{n:?} is also on row {first}"),
                );
            }
        }
        let existing = held.get(&(m, t)).and_then(|c| current.get(c));
        let mut override_reason = None;
        if let Some(c) = existing {
            if let Some(d) = c.issue_date.filter(|d| *d >= r.issue_date) {
                errors.add(
                    r.row,
                    "issue_date",
                    format!("the member's {} was already issued on {d}; only a later issuance can be imported", rule.row.code),
                );
            } else if c.period_id.is_some() && c.progress < 100 {
                if administers {
                    override_reason = Some(IMPORTED.to_string());
                } else {
                    errors.add(
                        r.row,
                        "issue_date",
                        format!(
                            "the member's {} requirements are not complete ({}%); only an administrator may import it over them",
                            rule.row.code, c.progress
                        ),
                    );
                }
            }
        }
        if errors.0.len() > before {
            actions.push("error".into());
            continue;
        }
        let item = IssueItem {
            expiration_date: r.expiration_date,
            credential_number: r.credential_number.clone(),
            issuing_officer: r.issuing_officer.clone(),
            override_reason,
            ..IssueItem::new(
                existing.map_or(CredentialId::new(0), |c| c.id),
                m,
                r.issue_date,
            )
        };
        let entry = plan.by_type.entry(t).or_default();
        match existing {
            Some(c) => actions.push(format!("update {} v{}", c.id, c.version)),
            None => {
                actions.push(format!("create {m} {t}"));
                entry.new_tracks.push(m);
            }
        }
        entry.items.push(item);
    }
    plan.rules = rules;
    Ok(Checked { actions, plan })
}

pub(crate) async fn apply(tx: &mut Tx, ctx: &Ctx, plan: Plan, import: ImportId) -> Result<()> {
    let mut touched = Vec::new();
    for (type_id, mut p) in plan.by_type {
        let rule = &plan.rules[&type_id];
        let start = TrackStart {
            computed: computed(
                ctx,
                &CredentialFacts {
                    latest_issuance: None,
                    unclosed_period: None,
                    progress: progress::progress_without_period(false),
                    auto_issue: rule.row.auto_issue,
                },
            ),
            issue_date: None,
            expiration_date: None,
            period: None,
        };
        let created: HashMap<MemberId, CredentialId> = cred_store::insert_tracks(
            tx,
            ctx.agency_id,
            type_id,
            &p.new_tracks,
            &start,
            &ctx.actor,
        )
        .await?
        .into_iter()
        .map(|(c, m)| (m, c))
        .collect();
        let mut new_ids: Vec<CredentialId> = created.values().copied().collect();
        new_ids.sort_unstable();
        let note = serde_json::json!({ "import_id": import, "credential_type_id": type_id });
        crate::ops::audit::record_credentials(tx, ctx, "create", &new_ids, &note).await?;
        for item in &mut p.items {
            if item.credential_id == CredentialId::new(0) {
                item.credential_id = created[&item.member_id];
            }
        }
        touched.extend(p.items.iter().map(|i| i.credential_id));
        issue_many(tx, ctx, rule, p.items, "issue").await?;
    }
    refresh(tx, ctx, &touched).await?;
    Ok(())
}
