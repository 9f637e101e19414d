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

use chrono::NaiveDate;
use credence_domain::history::{self, IssuanceHistory, MembershipPeriod};
use credence_domain::ids::{CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId};
use credence_store::reports::qualified::{self as store, QualifiedRow};
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
        let rows = match &group {
            Some(g) => store::group_on(&mut tx, actor.agency_id, g.id, on, type_id).await?,
            None => store::tracks_on(&mut tx, actor.agency_id, on, type_id).await?,
        };
        let local = |at| local_date(at, &agency.time_zone, today);
        let items = answer(rows, on, group.is_some(), local);
        Ok((
            QualifiedReport { on, items },
            QualifiedNames {
                credential_type: ty.name,
                group: group.map(|g| g.name),
            },
        ))
    }
}

/// Folds the store's rows (ordered by member, one per covering issuance) into one item per
/// listed member, deciding with the domain's rules.
fn answer(
    rows: Vec<QualifiedRow>,
    on: NaiveDate,
    by_group: bool,
    local: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> Vec<QualifiedItem> {
    let mut items = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some(first) = rows.next() {
        let mut member_rows = vec![first];
        while rows
            .peek()
            .is_some_and(|r| r.member_id == member_rows[0].member_id)
        {
            member_rows.extend(rows.next());
        }
        let issuances: Vec<IssuanceHistory> = member_rows
            .iter()
            .filter_map(|r| {
                Some(IssuanceHistory {
                    id: r.issuance_id?,
                    issue_date: r.issue_date?,
                    expiration_date: r.expiration_date,
                    revoked_on: r.revoked_at.map(&local),
                })
            })
            .collect();
        let held = history::held_on(&issuances, on).map(|h| h.id);
        let head = &member_rows[0];
        let listed = if by_group {
            let periods: Vec<MembershipPeriod> = member_rows
                .iter()
                .filter_map(|r| {
                    Some(MembershipPeriod {
                        from: r.from_date?,
                        to: r.to_date,
                    })
                })
                .collect();
            history::member_on(&periods, on)
        } else {
            history::listed_on(head.assigned_at.map(&local), held.is_some(), on)
        };
        if !listed {
            continue;
        }
        let issuance = held.and_then(|id| {
            let r = member_rows.iter().find(|r| r.issuance_id == Some(id))?;
            Some(HeldIssuance {
                id,
                credential_id: r.credential_id?,
                credential_number: r.credential_number.clone(),
                issue_date: r.issue_date?,
                expiration_date: r.expiration_date,
            })
        });
        items.push(QualifiedItem {
            member_id: head.member_id,
            name: format!("{}, {}", head.last_name, head.first_name),
            holds: issuance.is_some(),
            issuance,
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

    fn row(member: i64, issuance: Option<(i64, &str, &str)>) -> QualifiedRow {
        QualifiedRow {
            member_id: MemberId::new(member),
            first_name: "Ava".into(),
            last_name: format!("M{member}"),
            from_date: None,
            to_date: None,
            credential_id: Some(CredentialId::new(member)),
            assigned_at: Some("2025-01-01T12:00:00Z".parse().unwrap()),
            issuance_id: issuance.map(|(id, ..)| IssuanceId::new(id)),
            issue_date: issuance.map(|(_, i, _)| d(i)),
            expiration_date: issuance.map(|(.., e)| d(e)),
            credential_number: issuance.map(|(id, ..)| format!("N-{id}")),
            revoked_at: None,
        }
    }

    #[test]
    fn one_item_per_member_naming_the_newest_card_held() {
        let rows = vec![
            row(1, Some((10, "2024-01-01", "2026-01-31"))),
            row(1, Some((11, "2025-12-01", "2027-12-01"))),
            row(2, None),
        ];
        let utc = |at: chrono::DateTime<chrono::Utc>| at.date_naive();
        let items = answer(rows, d("2026-01-15"), false, utc);
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].issuance.as_ref().map(|i| i.id),
            Some(IssuanceId::new(11))
        );
        assert!(items[0].holds && !items[1].holds);
        assert_eq!(items[0].name, "M1, Ava");
    }

    #[test]
    fn revoked_by_the_day_in_local_time_does_not_hold() {
        let mut r = row(1, Some((10, "2024-01-01", "2027-01-01")));
        r.revoked_at = Some("2026-01-16T03:00:00Z".parse().unwrap());
        // 21:00 on the 15th in Chicago: revoked that day.
        let chicago = |at| local_date(at, "America/Chicago", d("2026-12-31"));
        let items = answer(vec![r.clone()], d("2026-01-15"), false, chicago);
        assert!(!items[0].holds);
        let items = answer(vec![r], d("2026-01-14"), false, chicago);
        assert!(items[0].holds);
    }

    #[test]
    fn a_group_report_lists_members_on_the_day_only() {
        let mut inside = row(1, None);
        inside.from_date = Some(d("2026-01-01"));
        let mut left = row(2, None);
        left.from_date = Some(d("2025-01-01"));
        left.to_date = Some(d("2026-01-10"));
        let utc = |at: chrono::DateTime<chrono::Utc>| at.date_naive();
        let items = answer(vec![inside, left], d("2026-01-15"), true, utc);
        assert_eq!(
            items.iter().map(|i| i.member_id).collect::<Vec<_>>(),
            [MemberId::new(1)]
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
