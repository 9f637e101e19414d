//! The credential engine every workflow shares: recompute progress and status from history
//! with the domain rules, issue (by hand or automatically), and open renewal periods.
//!
//! Workflows write history (periods, issuances, records, sign-offs), then call
//! [`refresh`] with the credentials they touched, in the same transaction; so the stored
//! status always equals the pure function of the stored facts.

use credence_domain::ids::{
    AgencyId, CertificateId, CredentialId, CredentialTypeId, ExemptionId, MemberId, PeriodId,
};
use credence_store::Conn;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use credence_domain::exemption::{self, Exemption};
use credence_domain::progress::{self, Record, Requirement, Rule, SignOff};
use credence_domain::status::{self, CredentialFacts, IssuanceFacts, PeriodFacts, Status};
use credence_domain::{dates, numbering, ExpirationRounding, RenewalPolicy};
use credence_store::catalog::credential_types::{self as types_store, CredentialType};
use credence_store::credentials::exemptions as exemption_store;
use credence_store::credentials::{
    self as store, Computed, CredentialRow, NewIssuance, PeriodDates,
};
use credence_store::{auth::identity, training::records, Tx};

use crate::notify::webhooks::{emit_status_changes, StatusChange, Subscribers};
use crate::{Actor, App, AppError, Result};
use credence_domain::webhooks::EventType;

/// What every lifecycle step needs to know about where and when it runs.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub agency_id: AgencyId,
    pub today: NaiveDate,
    pub expiring_soon_days: u32,
    pub actor: String,
    /// Where the service is reached, for the verification links certificates carry.
    pub public_url: String,
}

impl App {
    pub(crate) async fn ctx(&self, db: &mut impl Conn, actor: &Actor) -> Result<Ctx> {
        self.ctx_for(db, actor.agency_id, &actor.label).await
    }

    pub(crate) async fn ctx_for(
        &self,
        db: &mut impl Conn,
        agency_id: AgencyId,
        actor: &str,
    ) -> Result<Ctx> {
        let agency = identity::agency_by_id(db, agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(Ctx {
            agency_id,
            today: self.clock.today(&agency.time_zone),
            expiring_soon_days: u32::try_from(agency.expiring_soon_days).unwrap_or(60),
            actor: actor.to_string(),
            public_url: self.public_url.clone(),
        })
    }
}

/// A credential type's rules, loaded once per refresh.
#[derive(Debug, Clone)]
pub(crate) struct TypeRules {
    pub row: CredentialType,
    pub requirements: Vec<Requirement>,
}

impl TypeRules {
    pub fn rounding(&self) -> ExpirationRounding {
        *self.row.expiration_rounding
    }

    pub fn renewal(&self) -> RenewalPolicy {
        *self.row.renewal
    }

    pub fn validity(&self) -> Option<u32> {
        self.row.validity_months.and_then(|v| u32::try_from(v).ok())
    }

    pub fn window_days(&self) -> Option<u32> {
        self.row
            .renewal_window_days
            .and_then(|v| u32::try_from(v).ok())
    }

    pub fn grace(&self) -> u32 {
        u32::try_from(self.row.grace_period_days).unwrap_or(0)
    }

    /// Expiration for an issue date, from validity and rounding.
    pub fn expiration_for(&self, issue_date: NaiveDate) -> Option<NaiveDate> {
        dates::expiration_date(issue_date, self.validity(), self.rounding())
    }
}

/// The agency's courses delivered online, whose records count as `online` for caps.
pub(crate) async fn online_courses(
    db: &mut impl Conn,
    agency_id: AgencyId,
) -> Result<std::collections::HashSet<credence_domain::ids::CourseId>> {
    Ok(
        credence_store::catalog::courses::online_course_ids(db, agency_id)
            .await?
            .into_iter()
            .collect(),
    )
}

/// A stored training record as progress sees it: `online` when its course is delivered
/// online, otherwise its source.
pub(crate) fn progress_record(
    r: &records::TrainingRecord,
    online: &std::collections::HashSet<credence_domain::ids::CourseId>,
) -> Record {
    let source = match r.course_id {
        Some(c) if online.contains(&c) => "online".to_string(),
        _ => r.source.clone(),
    };
    Record {
        course_id: r.course_id,
        completed_on: r.completed_on,
        score: r.score,
        hours: r.hours,
        category: r.category.clone(),
        source,
    }
}

pub(crate) async fn load_rules(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_ids: &[CredentialTypeId],
) -> Result<HashMap<CredentialTypeId, TypeRules>> {
    let mut out = HashMap::new();
    let reqs = types_store::requirements_of(db, agency_id, type_ids).await?;
    for id in type_ids {
        let Some(row) = types_store::credential_type(db, agency_id, *id).await? else {
            continue;
        };
        let requirements = reqs
            .iter()
            .filter(|r| r.credential_type_id == *id)
            .map(|r| -> Result<Requirement> {
                Ok(Requirement {
                    id: r.id,
                    rule: match r.kind.as_str() {
                        "course" => Rule::Course {
                            // A course requirement always names its course (a CHECK constraint).
                            course_id: r.course_id.ok_or_else(|| {
                                AppError::internal(format!("requirement {} names no course", r.id))
                            })?,
                            min_grade: r.min_grade,
                        },
                        "hours" => Rule::Hours {
                            hours: r.hours.unwrap_or(0.0),
                            category: r.category.clone().unwrap_or_default(),
                            rules: crate::catalog::credential_types::hours_rules(r)?,
                        },
                        _ => Rule::Checklist,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.insert(*id, TypeRules { row, requirements });
    }
    Ok(out)
}

/// The facts the status function reads, from a stored row.
pub(crate) fn facts(row: &CredentialRow, progress: u8, auto_issue: bool) -> CredentialFacts {
    let stored = StoredFacts {
        issue_date: row.issue_date,
        expiration_date: row.expiration_date,
        revoked: row.revoked,
        period_start: row.period_start,
        period_end: row.period_end,
    };
    stored.facts(progress, auto_issue)
}

/// The facts a credential row stores about its latest issuance and unclosed period.
pub(crate) struct StoredFacts {
    pub issue_date: Option<NaiveDate>,
    pub expiration_date: Option<NaiveDate>,
    pub revoked: bool,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
}

impl StoredFacts {
    pub fn facts(&self, progress: u8, auto_issue: bool) -> CredentialFacts {
        CredentialFacts {
            latest_issuance: self.issue_date.map(|issue_date| IssuanceFacts {
                issue_date,
                expiration_date: self.expiration_date,
                revoked: self.revoked,
            }),
            unclosed_period: match (self.period_start, self.period_end) {
                (Some(start), Some(end)) => Some(PeriodFacts { start, end }),
                _ => None,
            },
            progress,
            auto_issue,
        }
    }
}

pub(crate) fn computed(ctx: &Ctx, facts: &CredentialFacts) -> Computed {
    let s = status::status(facts, ctx.today);
    Computed {
        status: s,
        status_rank: s.rank(),
        progress: i64::from(facts.progress),
        expiring_soon: status::expiring_soon(facts, ctx.today, ctx.expiring_soon_days),
        status_changes_on: status::next_change(facts, ctx.today, ctx.expiring_soon_days),
    }
}

fn unchanged(row: &CredentialRow, c: &Computed) -> bool {
    row.status == c.status
        && row.progress == c.progress
        && row.expiring_soon == c.expiring_soon
        && row.status_changes_on == c.status_changes_on
}

/// Writes the computed values that differ from what is stored.
pub(crate) async fn write_computed(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: Vec<(&CredentialRow, Computed)>,
) -> Result<()> {
    let changed: Vec<(CredentialId, Computed)> = items
        .into_iter()
        .filter(|(row, c)| !unchanged(row, c))
        .map(|(row, c)| (row.id, c))
        .collect();
    store::set_computed(tx, agency_id, &changed).await?;
    Ok(())
}

/// Writes each row's open period (as the row holds it) and its computed values.
async fn write_with_period(
    tx: &mut Tx,
    agency_id: AgencyId,
    items: Vec<(&CredentialRow, Computed)>,
) -> Result<()> {
    let items: Vec<store::PeriodAndComputed> = items
        .into_iter()
        .filter_map(|(row, computed)| {
            Some(store::PeriodAndComputed {
                credential_id: row.id,
                period_id: row.period_id?,
                period: PeriodDates {
                    start: row.period_start?,
                    end: row.period_end?,
                    due: row.due_date?,
                },
                computed,
            })
        })
        .collect();
    store::set_period_and_computed(tx, agency_id, &items).await?;
    Ok(())
}

/// Recomputes progress and status of the credentials, issuing automatically where the type
/// says so and the requirements are complete.
pub(crate) async fn refresh(tx: &mut Tx, ctx: &Ctx, ids: &[CredentialId]) -> Result<()> {
    let mut pending: Vec<CredentialId> = ids.to_vec();
    // Each pass can auto-issue, which opens a renewal period that a further pass evaluates;
    // records only count after the issue that opened a period, so this settles quickly.
    for _ in 0..4 {
        if pending.is_empty() {
            break;
        }
        pending = refresh_once(tx, ctx, &pending).await?;
    }
    Ok(())
}

/// [`refresh`] after their history changed (issuances revoked or restored, periods opened,
/// closed or removed): each row's latest issuance and unclosed period are read from history
/// and written together with the status computed from them, one write per row instead of
/// syncing the copy and then the status.
pub(crate) async fn refresh_from_history(
    tx: &mut Tx,
    ctx: &Ctx,
    ids: &[CredentialId],
) -> Result<()> {
    let rows = store::credentials_from_history(tx, ctx.agency_id, ids).await?;
    let issued = evaluate_and_write(tx, ctx, &rows, Write::WithFacts).await?;
    refresh(tx, ctx, &issued).await
}

/// One pass: returns the credentials it auto-issued.
async fn refresh_once(tx: &mut Tx, ctx: &Ctx, ids: &[CredentialId]) -> Result<Vec<CredentialId>> {
    let rows = store::credentials_by_ids(tx, ctx.agency_id, ids).await?;
    evaluate_and_write(tx, ctx, &rows, Write::Changed).await
}

/// Credentials given new open periods (a renewal plan), as rows already pointing at their
/// new period, opened by the row's current issuance: each is computed and written once
/// with its period and status, then refreshed as usual if that issued it automatically.
pub(crate) async fn refresh_with_new_periods(
    tx: &mut Tx,
    ctx: &Ctx,
    rows: Vec<CredentialRow>,
) -> Result<()> {
    let issued = evaluate_and_write(tx, ctx, &rows, Write::WithPeriod).await?;
    refresh(tx, ctx, &issued).await
}

/// How [`evaluate_and_write`] writes its results.
#[derive(Clone, Copy, PartialEq)]
enum Write {
    /// Computed values of the rows whose values changed.
    Changed,
    /// Every row's open period (as the row holds it) with its computed values. The periods
    /// were just opened, so they are known from the rows and have no sign-offs yet.
    WithPeriod,
    /// Every row's history columns (read from history, see [`refresh_from_history`]) with
    /// its computed values.
    WithFacts,
}

/// Computes progress and status of the rows, writes them, and issues those an
/// auto-issue type completes; returns the credentials it issued.
async fn evaluate_and_write(
    tx: &mut Tx,
    ctx: &Ctx,
    rows: &[CredentialRow],
    write: Write,
) -> Result<Vec<CredentialId>> {
    let mut type_ids: Vec<CredentialTypeId> = rows.iter().map(|r| r.credential_type_id).collect();
    type_ids.sort_unstable();
    type_ids.dedup();
    let rules = load_rules(tx, ctx.agency_id, &type_ids).await?;
    let period_ids: Vec<PeriodId> = rows.iter().filter_map(|r| r.period_id).collect();
    let (periods, sign_offs) = match write {
        Write::Changed | Write::WithFacts => {
            let periods = store::periods_by_ids(tx, ctx.agency_id, &period_ids).await?;
            let sign_offs = records::sign_offs_of_periods(tx, ctx.agency_id, &period_ids).await?;
            (periods, sign_offs)
        }
        Write::WithPeriod => (rows.iter().filter_map(new_period).collect(), Vec::new()),
    };
    let periods: HashMap<PeriodId, store::PeriodRow> =
        periods.into_iter().map(|p| (p.id, p)).collect();
    let mut member_ids: Vec<MemberId> = rows
        .iter()
        .filter(|r| r.period_id.is_some())
        .map(|r| r.member_id)
        .collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    let earliest = rows
        .iter()
        .filter_map(|r| {
            Some(
                r.period_start?
                    - chrono::Days::new(u64::from(rules.get(&r.credential_type_id)?.grace())),
            )
        })
        .min();
    let mut records: HashMap<MemberId, Vec<Record>> = HashMap::new();
    if let Some(from) = earliest {
        let online = online_courses(tx, ctx.agency_id).await?;
        for r in records::records_of_members(tx, ctx.agency_id, &member_ids, from).await? {
            records
                .entry(r.member_id)
                .or_default()
                .push(progress_record(&r, &online));
        }
    }
    let mut signs: HashMap<PeriodId, Vec<SignOff>> = HashMap::new();
    for s in sign_offs {
        signs.entry(s.period_id).or_default().push(SignOff {
            requirement_id: s.requirement_id,
            signed_on: s.signed_on,
        });
    }

    let credential_ids: Vec<CredentialId> = rows.iter().map(|r| r.id).collect();
    let exempt = in_force_exemptions(tx, ctx.agency_id, &credential_ids, ctx.today).await?;

    let mut writes = Vec::with_capacity(rows.len());
    let mut auto: BTreeMap<CredentialTypeId, Vec<IssueItem>> = BTreeMap::new();
    for row in rows {
        let Some(rule) = rules.get(&row.credential_type_id) else {
            continue;
        };
        let period = row.period_id.and_then(|p| periods.get(&p));
        let (progress, finished_on) = match period {
            Some(p) => {
                let window = dates::counting_window(
                    p.start_date,
                    p.end_date,
                    rule.grace(),
                    p.opened_by_issue_date,
                );
                let member_records = records
                    .get(&row.member_id)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let period_signs = signs.get(&p.id).map(Vec::as_slice).unwrap_or(&[]);
                let excused = exempt.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
                (
                    exemption::progress_with_exemptions(
                        &rule.requirements,
                        member_records,
                        period_signs,
                        window,
                        excused,
                        ctx.today,
                    ),
                    // Exemptions never issue by themselves (see `credence_domain::exemption`).
                    progress::completion_date(
                        &rule.requirements,
                        member_records,
                        period_signs,
                        window,
                    ),
                )
            }
            None => (
                progress::progress_without_period(row.issue_date.is_some() && !row.revoked),
                None,
            ),
        };
        let f = facts(row, progress, rule.row.auto_issue);
        let mut c = computed(ctx, &f);
        // Progress drops the day an exemption lapses: the sweep must look again then.
        if period.is_some() {
            let excused = exempt.get(&row.id).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(lapse) = exemption::next_lapse(&rule.requirements, excused, ctx.today) {
                c.status_changes_on = Some(c.status_changes_on.map_or(lapse, |d| d.min(lapse)));
            }
        }
        let issue_on = finished_on
            .map(|d| d.max(row.period_start.unwrap_or(d)))
            .filter(|d| *d <= ctx.today);
        if rule.row.auto_issue && c.status == Status::ReadyToBeIssued {
            if let Some(issue_date) = issue_on {
                auto.entry(row.credential_type_id)
                    .or_default()
                    .push(IssueItem::new(row.id, row.member_id, issue_date));
            }
        }
        writes.push((row, c));
    }
    // Webhooks hear of each status change in the transaction that makes it.
    let changes = writes
        .iter()
        .filter(|(row, c)| *row.status != c.status)
        .map(|(row, c)| StatusChange {
            credential_id: row.id,
            member_id: Some(row.member_id),
            credential_type_id: row.credential_type_id,
            from: *row.status,
            to: c.status,
            issuance_id: row.issuance_id,
            expiration_date: row.expiration_date,
        })
        .collect();
    emit_status_changes(tx, ctx.agency_id, ctx.today, changes).await?;
    match write {
        Write::Changed => write_computed(tx, ctx.agency_id, writes).await?,
        Write::WithPeriod => write_with_period(tx, ctx.agency_id, writes).await?,
        Write::WithFacts => store::set_facts_and_computed(tx, ctx.agency_id, &writes).await?,
    }

    let mut issued = Vec::new();
    for (type_id, items) in auto {
        let rule = &rules[&type_id];
        issued.extend(items.iter().map(|i| i.credential_id));
        issue_many(tx, ctx, rule, items, "auto_issue").await?;
    }
    Ok(issued)
}

/// The exemptions of the credentials that have not lapsed by `today`, as the domain sees
/// them, by credential.
pub(crate) async fn in_force_exemptions(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CredentialId],
    today: NaiveDate,
) -> Result<HashMap<CredentialId, Vec<Exemption>>> {
    let mut out: HashMap<CredentialId, Vec<Exemption>> = HashMap::new();
    for e in exemption_store::current_exemptions_of(db, agency_id, ids, today).await? {
        out.entry(e.credential_id)
            .or_default()
            .push(domain_exemption(&e));
    }
    Ok(out)
}

pub(crate) fn domain_exemption(e: &exemption_store::ExemptionRow) -> Exemption {
    Exemption {
        requirement_id: e.requirement_id,
        starts_on: e.starts_on,
        until: e.until_date,
        ended_on: e.ended_on,
    }
}

/// The exemptions in force on an issue, in words, for the issuance's record: what each
/// excuses, until when, why and who granted it; and their ids. An exemption excuses the
/// period it was granted in: the issue closes that period, so the caller ends them (a
/// renewal period opened next starts without excuses).
async fn exemption_notes(
    tx: &mut Tx,
    ctx: &Ctx,
    rule: &TypeRules,
    ids: &[CredentialId],
) -> Result<(HashMap<CredentialId, String>, Vec<ExemptionId>)> {
    let mut ended = Vec::new();
    let mut notes: HashMap<CredentialId, Vec<String>> = HashMap::new();
    for e in exemption_store::current_exemptions_of(tx, ctx.agency_id, ids, ctx.today).await? {
        let d = domain_exemption(&e);
        if !d.in_force(ctx.today) || !rule.requirements.iter().any(|r| d.names(r.id)) {
            continue;
        }
        ended.push(e.id);
        let what = match (e.requirement_id, &e.requirement_title) {
            (None, _) => "every requirement".to_string(),
            (Some(_), Some(title)) => title.clone(),
            (Some(id), None) => format!("requirement {id}"),
        };
        // The login's e-mail or the API token, as the pages name who did something.
        let by = match e.created_by.split_once(':') {
            Some(("user", email)) => email.to_string(),
            Some(("token", id)) => format!("API token {id}"),
            _ => e.created_by.clone(),
        };
        notes.entry(e.credential_id).or_default().push(format!(
            "Exempt from {what} until {} — {} (granted by {by})",
            e.until_date, e.reason
        ));
    }
    let notes = notes
        .into_iter()
        .map(|(id, n)| (id, n.join("; ")))
        .collect();
    Ok((notes, ended))
}

/// The period a row was just given (see [`Write::WithPeriod`]), as reading it back would
/// answer.
fn new_period(row: &CredentialRow) -> Option<store::PeriodRow> {
    Some(store::PeriodRow {
        id: row.period_id?,
        credential_id: row.id,
        start_date: row.period_start?,
        end_date: row.period_end?,
        due_date: row.due_date?,
        opened_by_issuance_id: row.issuance_id,
        renewal_plan_id: None,
        closed_at: None,
        closed_by_issuance_id: None,
        opened_by_issue_date: row.issue_date,
    })
}

/// One issuance to make; `None` fields default from the type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IssueItem {
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub status_reason: Option<String>,
    /// An administrator's reason for issuing over incomplete requirements.
    pub override_reason: Option<String>,
}

impl IssueItem {
    pub fn new(
        credential_id: CredentialId,
        member_id: MemberId,
        issue_date: NaiveDate,
    ) -> IssueItem {
        IssueItem {
            credential_id,
            member_id,
            issue_date,
            expiration_date: None,
            credential_number: None,
            issuing_officer: None,
            status_reason: None,
            override_reason: None,
        }
    }
}

/// Records issuances of one type: defaults expiration and number, closes the periods they
/// answer, opens the next renewal period for `auto` types and audits. The caller refreshes
/// the credentials afterwards.
pub(crate) async fn issue_many(
    tx: &mut Tx,
    ctx: &Ctx,
    rule: &TypeRules,
    items: Vec<IssueItem>,
    action: &str,
) -> Result<Vec<CertificateId>> {
    let missing_numbers = items
        .iter()
        .filter(|i| i.credential_number.is_none())
        .count() as i64;
    let mut next = if missing_numbers > 0 {
        store::reserve_numbers(tx, ctx.agency_id, rule.row.id, missing_numbers).await?
    } else {
        0
    };
    let member_ids: Vec<MemberId> = items.iter().map(|i| i.member_id).collect();
    let employee_numbers =
        employee_numbers(tx, ctx.agency_id, &rule.row.number_pattern, &member_ids).await?;
    let item_ids: Vec<CredentialId> = items.iter().map(|i| i.credential_id).collect();
    let (mut notes, excused) = exemption_notes(tx, ctx, rule, &item_ids).await?;
    exemption_store::end_exemptions(tx, ctx.agency_id, &excused, ctx.today, &ctx.actor).await?;
    let mut issuances = Vec::with_capacity(items.len());
    for item in &items {
        let number = match &item.credential_number {
            Some(n) => n.clone(),
            None => {
                let n = numbering::credential_number(
                    &rule.row.number_pattern,
                    &numbering::NumberInputs {
                        type_code: &rule.row.code,
                        issue_date: item.issue_date,
                        employee_number: employee_numbers.get(&item.member_id).map(String::as_str),
                        sequence: u64::try_from(next).unwrap_or_default(),
                    },
                );
                next += 1;
                n
            }
        };
        issuances.push(NewIssuance {
            credential_id: item.credential_id,
            issue_date: item.issue_date,
            expiration_date: item
                .expiration_date
                .or_else(|| rule.expiration_for(item.issue_date)),
            credential_number: Some(number),
            issuing_officer: item.issuing_officer.clone(),
            status_reason: item.status_reason.clone(),
            override_reason: item.override_reason.clone(),
            exemption_note: notes.remove(&item.credential_id),
        });
    }
    let ids: Vec<CredentialId> = items.iter().map(|i| i.credential_id).collect();
    store::insert_issuances(tx, ctx.agency_id, rule.row.id, &issuances, &ctx.actor).await?;
    let subscribers = Subscribers::load(tx, ctx.agency_id).await?;
    if subscribers.wants(EventType::Issued) {
        let events = issuances
            .iter()
            .zip(&items)
            .map(|(i, item)| {
                (
                    EventType::Issued,
                    serde_json::json!({
                        "credential_id": i.credential_id, "member_id": item.member_id,
                        "credential_type_id": rule.row.id, "issue_date": i.issue_date,
                        "expiration_date": i.expiration_date, "credential_number": i.credential_number,
                    }),
                )
            })
            .collect();
        subscribers.emit(tx, events).await?;
    }
    store::close_periods(tx, ctx.agency_id, &ids, true).await?;
    store::sync_facts(tx, ctx.agency_id, &ids).await?;
    // A retired type's credentials keep their issuance; no renewal period opens.
    if rule.renewal() == RenewalPolicy::Auto && rule.row.state.opens_periods() {
        let periods: Vec<(CredentialId, PeriodDates)> = issuances
            .iter()
            .filter_map(|i| {
                let (start, end) =
                    dates::renewal_period(i.issue_date, i.expiration_date, rule.window_days())?;
                Some((
                    i.credential_id,
                    PeriodDates {
                        start,
                        end,
                        due: end,
                    },
                ))
            })
            .collect();
        store::open_period_each(tx, ctx.agency_id, &periods, true, None).await?;
        store::sync_facts(tx, ctx.agency_id, &ids).await?;
    }
    let summary = serde_json::json!({ "issued": issuances.len() });
    for i in &issuances {
        let after = serde_json::json!({
            "issue_date": i.issue_date, "expiration_date": i.expiration_date, "credential_number": i.credential_number,
            "issuing_officer": i.issuing_officer, "status_reason": i.status_reason,
            "override_reason": i.override_reason, "exemption_note": i.exemption_note,
        });
        credence_store::ops::audit::record(
            tx,
            credence_store::ops::audit::NewEvent {
                agency_id: ctx.agency_id,
                actor: &ctx.actor,
                action,
                subject: i.credential_id.into(),
                before: None,
                after: Some(after.to_string()),
            },
        )
        .await?;
    }
    tracing::debug!(%summary, "issued");
    // A type that certifies every issuance gets its certificate requests in this same
    // transaction, whichever workflow issued: no issuance of it is left without one.
    if rule.row.auto_certificate {
        return crate::documents::certificates::request_certificates(tx, ctx, &ids).await;
    }
    Ok(Vec::new())
}

async fn employee_numbers(
    tx: &mut Tx,
    agency_id: AgencyId,
    pattern: &str,
    member_ids: &[MemberId],
) -> Result<HashMap<MemberId, String>> {
    if !pattern.contains("{EMP}") {
        return Ok(HashMap::new());
    }
    Ok(
        credence_store::people::members::employee_numbers(tx, agency_id, member_ids)
            .await?
            .into_iter()
            .collect(),
    )
}

impl App {
    /// The actor's agency's today.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn today(&self, actor: &Actor) -> Result<NaiveDate> {
        let mut tx = self.store.read().await?;
        Ok(self.ctx(&mut tx, actor).await?.today)
    }
}
