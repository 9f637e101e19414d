//! "Who was qualified on D" (`/reports/qualified`), answered from history: the issuances of
//! the type as they were that day (a revocation made later does not reach back) and the
//! group's membership that day (someone who joined later is not listed, someone who left
//! later is).
//!
//! Who is listed:
//! - with `group_id`: everyone in the group on D, assigned the type or not — the crew an
//!   inspector asks about, each with whether they held it;
//! - without: everyone who held the type on D, and everyone who had been assigned it by D
//!   (their track existed), so a gap among those expected to hold it shows. Members never
//!   assigned it are not listed. Deactivation keeps no date, so a member deactivated since
//!   is listed on the days they were assigned or held it.
//!
//! A type created after D has no issuances dated before it unless someone recorded them
//! (imported or back-dated history, which is what they say was held), so it reports nobody
//! holding.

use std::collections::HashMap;

use chrono::NaiveDate;
use credence_domain::history::{self, IssuanceHistory, MembershipPeriod};
use credence_domain::ids::{CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId};
use credence_store::reports::qualified::{self as store, CoveringIssuance, Person};
use serde::{Deserialize, Serialize};

use crate::clock::local_date;
use crate::{App, AppError, Reader, Result};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QualifiedParams {
    /// The credential type asked about (required).
    #[param(value_type = String, required = true)]
    pub credential_type_id: Option<CredentialTypeId>,
    /// The day (default today, in the agency's time zone).
    pub on: Option<NaiveDate>,
    /// Only the members of this group on that day.
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The issuance that made a member qualified on the day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HeldIssuance {
    #[schema(value_type = String)]
    pub id: IssuanceId,
    #[schema(value_type = String)]
    pub credential_id: CredentialId,
    pub credential_number: Option<String>,
    pub issue_date: NaiveDate,
    /// `None`: never expires.
    pub expiration_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QualifiedItem {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    /// "Last, First".
    pub name: String,
    /// Held a valid issuance of the type that day, not revoked by then.
    pub holds: bool,
    pub issuance: Option<HeldIssuance>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QualifiedReport {
    pub on: NaiveDate,
    /// By member name.
    pub items: Vec<QualifiedItem>,
}

/// What an export names besides the rows: the type and the group, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct QualifiedNames {
    pub credential_type: String,
    pub group: Option<String>,
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn qualified(
        &self,
        actor: &Reader,
        params: &QualifiedParams,
    ) -> Result<(QualifiedReport, QualifiedNames)> {
        let type_id = params
            .credential_type_id
            .ok_or_else(|| AppError::invalid("credential_type_id", "is required"))?;
        let mut tx = self.store.read().await?;
        let agency = credence_store::auth::identity::agency_by_id(&mut tx, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let on = params.on.unwrap_or(today);
        let ty = credence_store::catalog::credential_types::credential_type(
            &mut tx,
            actor.agency_id,
            type_id,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        let group = match params.group_id {
            Some(g) => Some(
                credence_store::people::groups::group(&mut tx, actor.agency_id, g)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        let people = match &group {
            Some(g) => store::group_on(&mut tx, actor.agency_id, g.id, on, type_id).await?,
            None => store::tracks_of(&mut tx, actor.agency_id, type_id).await?,
        };
        let issuances = store::issuances_covering(&mut tx, actor.agency_id, type_id, on).await?;
        let local = |at| local_date(at, &agency.time_zone, today);
        let items = answer(people, issuances, on, group.is_some(), local);
        Ok((
            QualifiedReport { on, items },
            QualifiedNames {
                credential_type: ty.name,
                group: group.map(|g| g.name),
            },
        ))
    }
}

/// One item per listed member, by name: each person with the covering issuances of their
/// track, decided with the domain's rules.
fn answer(
    mut people: Vec<Person>,
    issuances: Vec<CoveringIssuance>,
    on: NaiveDate,
    by_group: bool,
    local: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> Vec<QualifiedItem> {
    let mut by_track: HashMap<CredentialId, Vec<CoveringIssuance>> = HashMap::new();
    for i in issuances {
        by_track.entry(i.credential_id).or_default().push(i);
    }
    people.sort_unstable_by(|a, b| (&a.sort_name, a.member_id).cmp(&(&b.sort_name, b.member_id)));
    let mut items = Vec::with_capacity(people.len());
    let mut people = people.into_iter().peekable();
    while let Some(head) = people.next() {
        // A member has one row (one track of the type; one period covering the day), but
        // history is not the place to assume it.
        let mut periods = Vec::new();
        let mut tracks = Vec::new();
        let mut assigned_on = None;
        let mut rows = vec![head];
        while people
            .peek()
            .is_some_and(|p| p.member_id == rows[0].member_id)
        {
            rows.extend(people.next());
        }
        for r in &rows {
            if let Some(from) = r.from_date {
                periods.push(MembershipPeriod {
                    from,
                    to: r.to_date,
                });
            }
            tracks.extend(r.credential_id);
            let assigned = r.assigned_at.map(&local);
            assigned_on = assigned_on.min(assigned).or(assigned);
        }
        tracks.sort_unstable();
        tracks.dedup();
        let covering: Vec<&CoveringIssuance> = tracks
            .iter()
            .filter_map(|t| by_track.get(t))
            .flatten()
            .collect();
        let history: Vec<IssuanceHistory> = covering
            .iter()
            .map(|i| IssuanceHistory {
                id: i.id,
                issue_date: i.issue_date,
                expiration_date: i.expiration_date,
                revoked_on: i.revoked_at.map(&local),
            })
            .collect();
        let held =
            history::held_on(&history, on).and_then(|h| covering.iter().find(|i| i.id == h.id));
        let listed = if by_group {
            history::member_on(&periods, on)
        } else {
            history::listed_on(assigned_on, held.is_some(), on)
        };
        if !listed {
            continue;
        }
        let head = &rows[0];
        items.push(QualifiedItem {
            member_id: head.member_id,
            name: format!("{}, {}", head.last_name, head.first_name),
            holds: held.is_some(),
            issuance: held.map(|i| HeldIssuance {
                id: i.id,
                credential_id: i.credential_id,
                credential_number: i.credential_number.clone(),
                issue_date: i.issue_date,
                expiration_date: i.expiration_date,
            }),
        });
    }
    items
}

/// The report as CSV, naming the type and group on every row; every cell neutralised.
pub fn qualified_csv(report: &QualifiedReport, names: &QualifiedNames) -> Result<String> {
    let mut w = crate::imports::exports::SafeCsv::default();
    let fail = |e: csv::Error| AppError::internal(format!("writing CSV: {e}"));
    w.write_record([
        "on",
        "credential_type",
        "group",
        "member_id",
        "member",
        "holds",
        "credential_number",
        "issue_date",
        "expiration_date",
    ])
    .map_err(fail)?;
    let on = report.on.to_string();
    let group = names.group.as_deref().unwrap_or("");
    for item in &report.items {
        let i = item.issuance.as_ref();
        w.write_record([
            on.as_str(),
            &names.credential_type,
            group,
            &item.member_id.to_string(),
            &item.name,
            if item.holds { "yes" } else { "no" },
            i.and_then(|i| i.credential_number.as_deref()).unwrap_or(""),
            &i.map(|i| i.issue_date.to_string()).unwrap_or_default(),
            &i.and_then(|i| i.expiration_date)
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ])
        .map_err(fail)?;
    }
    String::from_utf8(w.into_inner()?).map_err(|e| AppError::internal(format!("CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn person(member: i64) -> Person {
        Person {
            member_id: MemberId::new(member),
            first_name: "Ava".into(),
            last_name: format!("M{member}"),
            sort_name: format!("m{member} ava"),
            from_date: None,
            to_date: None,
            credential_id: Some(CredentialId::new(member)),
            assigned_at: Some("2025-01-01T12:00:00Z".parse().unwrap()),
        }
    }

    fn issuance(member: i64, id: i64, issue: &str, exp: &str) -> CoveringIssuance {
        CoveringIssuance {
            credential_id: CredentialId::new(member),
            id: IssuanceId::new(id),
            issue_date: d(issue),
            expiration_date: Some(d(exp)),
            credential_number: Some(format!("N-{id}")),
            revoked_at: None,
        }
    }

    fn utc(at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        at.date_naive()
    }

    #[test]
    fn one_item_per_member_by_name_naming_the_newest_card_held() {
        let people = vec![person(2), person(1)];
        let issuances = vec![
            issuance(1, 10, "2024-01-01", "2026-01-31"),
            issuance(1, 11, "2025-12-01", "2027-12-01"),
        ];
        let items = answer(people, issuances, d("2026-01-15"), false, utc);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name, "M1, Ava");
        assert_eq!(
            items[0].issuance.as_ref().map(|i| i.id),
            Some(IssuanceId::new(11))
        );
        assert!(items[0].holds && !items[1].holds);
    }

    #[test]
    fn revoked_by_the_day_in_local_time_does_not_hold() {
        let mut i = issuance(1, 10, "2024-01-01", "2027-01-01");
        i.revoked_at = Some("2026-01-16T03:00:00Z".parse().unwrap());
        // 21:00 on the 15th in Chicago: revoked that day.
        let chicago = |at| local_date(at, "America/Chicago", d("2026-12-31"));
        let items = answer(
            vec![person(1)],
            vec![i.clone()],
            d("2026-01-15"),
            false,
            chicago,
        );
        assert!(!items[0].holds);
        let items = answer(vec![person(1)], vec![i], d("2026-01-14"), false, chicago);
        assert!(items[0].holds);
    }

    #[test]
    fn a_group_report_lists_members_on_the_day_only() {
        let mut inside = person(1);
        inside.from_date = Some(d("2026-01-01"));
        let mut left = person(2);
        left.from_date = Some(d("2025-01-01"));
        left.to_date = Some(d("2026-01-10"));
        let items = answer(vec![inside, left], Vec::new(), d("2026-01-15"), true, utc);
        assert_eq!(
            items.iter().map(|i| i.member_id).collect::<Vec<_>>(),
            [MemberId::new(1)]
        );
    }

    #[test]
    fn without_a_group_those_assigned_later_and_not_holding_are_not_listed() {
        let mut later = person(1);
        later.assigned_at = Some("2026-02-01T12:00:00Z".parse().unwrap());
        let items = answer(vec![later.clone()], Vec::new(), d("2026-01-15"), false, utc);
        assert!(items.is_empty());
        let held = vec![issuance(1, 10, "2025-01-01", "2027-01-01")];
        let items = answer(vec![later], held, d("2026-01-15"), false, utc);
        assert!(
            items[0].holds,
            "held before they were assigned in Credence: listed"
        );
    }

    #[test]
    fn csv_cells_are_neutralised() {
        let report = QualifiedReport {
            on: d("2026-01-15"),
            items: vec![QualifiedItem {
                member_id: MemberId::new(1),
                name: "=cmd(), Ava".into(),
                holds: false,
                issuance: None,
            }],
        };
        let names = QualifiedNames {
            credential_type: "+CPR".into(),
            group: Some("@B".into()),
        };
        let csv = qualified_csv(&report, &names).unwrap();
        assert!(csv.contains("'+CPR,'@B,mem_1,\"'=cmd(), Ava\",no"), "{csv}");
    }
}
