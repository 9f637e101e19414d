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
use credence_domain::ids::{
    AgencyId, CredentialId, CredentialTypeId, GroupId, IssuanceId, MemberId,
};
use credence_store::reports::qualified::{self as store, After, CoveringIssuance, Person};
use serde::{Deserialize, Serialize};

use crate::clock::local_date;
use crate::imports::exports::tables::people;
use crate::imports::exports::{export, Export, ExportFormat, Row};
use crate::page::{encode_cursor, PageParams};
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
    /// `json` (default, one page), or every row as `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<crate::imports::exports::Format>,
    /// Rows per page, 1–500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
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
    /// By member name, one page (`limit`, default 50, at most 500).
    pub items: Vec<QualifiedItem>,
    /// The `cursor` of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// What an export names besides the rows: the type and the group, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct QualifiedNames {
    pub credential_type: String,
    pub group: Option<String>,
}

/// A report's question, checked: the type and group exist in the agency, the day is known.
#[derive(Debug, Clone)]
struct Question {
    type_id: CredentialTypeId,
    group_id: Option<GroupId>,
    on: NaiveDate,
    today: NaiveDate,
    time_zone: String,
    names: QualifiedNames,
}

/// Rows read per page of the CSV export.
const EXPORT_PAGE: i64 = 2000;

impl App {
    /// One page of the report, with the names of its type and group.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn qualified(
        &self,
        actor: &Reader,
        params: &QualifiedParams,
    ) -> Result<(QualifiedReport, QualifiedNames)> {
        let page = PageParams {
            limit: params.limit,
            cursor: params.cursor.clone(),
        };
        let limit = page.limit()?;
        let after =
            page.after::<(String, i64)>()?
                .map_or_else(After::default, |(sort_name, member_id)| After {
                    sort_name,
                    member_id,
                });
        let mut db = self.store.read().await?;
        let question = self.question(&mut db, actor, params).await?;
        let (items, next) = report_page(&mut db, actor.agency_id, &question, after, limit).await?;
        Ok((
            QualifiedReport {
                on: question.on,
                items,
                next_cursor: next.map(|a| encode_cursor(&(a.sort_name, a.member_id))),
            },
            question.names,
        ))
    }

    /// The whole report as a spreadsheet, read a page at a time, naming the type and group
    /// on every row. The question is checked before the first byte, so a wrong one is a
    /// clean error.
    pub async fn export_qualified(
        &self,
        actor: &Reader,
        params: &QualifiedParams,
        format: ExportFormat,
    ) -> Result<Export> {
        let question = {
            let mut db = self.store.read().await?;
            self.question(&mut db, actor, params).await?
        };
        let stem = format!("qualified-{}", question.on);
        let (app, agency_id) = (self.clone(), actor.agency_id);
        let pages = move |cursor: Option<After>| {
            let (app, question) = (app.clone(), question.clone());
            async move {
                let mut db = app.store.read().await?;
                let after = cursor.unwrap_or_default();
                let (items, next) =
                    report_page(&mut db, agency_id, &question, after, EXPORT_PAGE).await?;
                let ids: Vec<MemberId> = items.iter().map(|i| i.member_id).collect();
                let people = people(&mut db, agency_id, &ids).await?;
                let rows = items
                    .iter()
                    .map(|i| {
                        let number = people
                            .get(&i.member_id)
                            .and_then(|p| p.employee_number.clone());
                        qualified_row(&question, i, number)
                    })
                    .collect();
                Ok((rows, next))
            }
        };
        Ok(export(format, &stem, &QUALIFIED_COLUMNS, pages))
    }

    async fn question(
        &self,
        db: &mut impl credence_store::Conn,
        actor: &Reader,
        params: &QualifiedParams,
    ) -> Result<Question> {
        let type_id = params
            .credential_type_id
            .ok_or_else(|| AppError::invalid("credential_type_id", "is required"))?;
        let agency = credence_store::auth::identity::agency_by_id(db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let ty = credence_store::catalog::credential_types::credential_type(
            db,
            actor.agency_id,
            type_id,
        )
        .await?
        .ok_or(AppError::NotFound)?;
        let group = match params.group_id {
            Some(g) => Some(
                credence_store::people::groups::group(db, actor.agency_id, g)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        Ok(Question {
            type_id,
            group_id: group.as_ref().map(|g| g.id),
            on: params.on.unwrap_or(today),
            today,
            time_zone: agency.time_zone,
            names: QualifiedNames {
                credential_type: ty.name,
                group: group.map(|g| g.name),
            },
        })
    }
}

/// Up to `limit` listed members after `after`, and where the next page starts if there is
/// one. Without a group some of the type's tracks are not listed on the day (assigned
/// later, not holding), so batches are read until the page is full or the tracks end.
async fn report_page(
    db: &mut impl credence_store::Conn,
    agency_id: AgencyId,
    q: &Question,
    mut after: After,
    limit: i64,
) -> Result<(Vec<QualifiedItem>, Option<After>)> {
    let local = |at| local_date(at, &q.time_zone, q.today);
    let mut listed: Vec<(After, QualifiedItem)> = Vec::new();
    loop {
        let batch = limit + 1;
        let people = match q.group_id {
            Some(g) => store::group_on(db, agency_id, g, q.on, q.type_id, &after, batch).await?,
            None => store::tracks_of(db, agency_id, q.type_id, &after, batch).await?,
        };
        let exhausted = (people.len() as i64) < batch;
        let Some(last) = people
            .iter()
            .max_by(|a, b| (&a.sort_name, a.member_id).cmp(&(&b.sort_name, b.member_id)))
        else {
            break;
        };
        let next = After {
            sort_name: last.sort_name.clone(),
            member_id: last.member_id.get(),
        };
        let tracks: Vec<CredentialId> = people.iter().filter_map(|p| p.credential_id).collect();
        let issuances = store::issuances_covering(db, agency_id, &tracks, q.on).await?;
        listed.extend(answer(people, issuances, q.on, q.group_id.is_some(), local));
        if exhausted || listed.len() as i64 > limit {
            break;
        }
        after = next;
    }
    let more = listed.len() as i64 > limit;
    listed.truncate(limit as usize);
    let next = if more {
        listed.last().map(|(key, _)| key.clone())
    } else {
        None
    };
    Ok((listed.into_iter().map(|(_, item)| item).collect(), next))
}

/// One item per listed member, by name: each person with the covering issuances of their
/// track, decided with the domain's rules.
fn answer(
    mut people: Vec<Person>,
    issuances: Vec<CoveringIssuance>,
    on: NaiveDate,
    by_group: bool,
    local: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> Vec<(After, QualifiedItem)> {
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
        let key = After {
            sort_name: head.sort_name.clone(),
            member_id: head.member_id.get(),
        };
        items.push((
            key,
            QualifiedItem {
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
            },
        ));
    }
    items
}

const QUALIFIED_COLUMNS: [&str; 10] = [
    "on",
    "credential_type",
    "group",
    "member",
    "employee_number",
    "holds",
    "credential_number",
    "issue_date",
    "expiration_date",
    "member_id",
];

/// One row of the report as a spreadsheet, naming the type and the group.
fn qualified_row(q: &Question, item: &QualifiedItem, employee_number: Option<String>) -> Row {
    let i = item.issuance.as_ref();
    vec![
        q.on.into(),
        q.names.credential_type.as_str().into(),
        q.names.group.clone().into(),
        item.name.as_str().into(),
        employee_number.into(),
        item.holds.into(),
        i.and_then(|i| i.credential_number.clone()).into(),
        i.map(|i| i.issue_date).into(),
        i.and_then(|i| i.expiration_date).into(),
        item.member_id.to_string().into(),
    ]
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

    fn items_of(keyed: Vec<(After, QualifiedItem)>) -> Vec<QualifiedItem> {
        keyed.into_iter().map(|(_, item)| item).collect()
    }

    #[test]
    fn one_item_per_member_by_name_naming_the_newest_card_held() {
        let people = vec![person(2), person(1)];
        let issuances = vec![
            issuance(1, 10, "2024-01-01", "2026-01-31"),
            issuance(1, 11, "2025-12-01", "2027-12-01"),
        ];
        let items = items_of(answer(people, issuances, d("2026-01-15"), false, utc));
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
        let items = items_of(answer(
            vec![person(1)],
            vec![i.clone()],
            d("2026-01-15"),
            false,
            chicago,
        ));
        assert!(!items[0].holds);
        let items = items_of(answer(
            vec![person(1)],
            vec![i],
            d("2026-01-14"),
            false,
            chicago,
        ));
        assert!(items[0].holds);
    }

    #[test]
    fn a_group_report_lists_members_on_the_day_only() {
        let mut inside = person(1);
        inside.from_date = Some(d("2026-01-01"));
        let mut left = person(2);
        left.from_date = Some(d("2025-01-01"));
        left.to_date = Some(d("2026-01-10"));
        let items = items_of(answer(
            vec![inside, left],
            Vec::new(),
            d("2026-01-15"),
            true,
            utc,
        ));
        assert_eq!(
            items.iter().map(|i| i.member_id).collect::<Vec<_>>(),
            [MemberId::new(1)]
        );
    }

    #[test]
    fn without_a_group_those_assigned_later_and_not_holding_are_not_listed() {
        let mut later = person(1);
        later.assigned_at = Some("2026-02-01T12:00:00Z".parse().unwrap());
        let items = items_of(answer(
            vec![later.clone()],
            Vec::new(),
            d("2026-01-15"),
            false,
            utc,
        ));
        assert!(items.is_empty());
        let held = vec![issuance(1, 10, "2025-01-01", "2027-01-01")];
        let items = items_of(answer(vec![later], held, d("2026-01-15"), false, utc));
        assert!(
            items[0].holds,
            "held before they were assigned in Credence: listed"
        );
    }

    #[test]
    fn each_item_carries_the_key_its_next_page_starts_after() {
        let keys: Vec<After> = answer(
            vec![person(2), person(1)],
            Vec::new(),
            d("2026-01-15"),
            false,
            utc,
        )
        .into_iter()
        .map(|(key, _)| key)
        .collect();
        assert_eq!(
            keys,
            [
                After {
                    sort_name: "m1 ava".into(),
                    member_id: 1
                },
                After {
                    sort_name: "m2 ava".into(),
                    member_id: 2
                },
            ]
        );
    }

    #[test]
    fn csv_cells_are_neutralised() {
        let question = Question {
            type_id: CredentialTypeId::new(1),
            group_id: None,
            on: d("2026-01-15"),
            today: d("2026-01-15"),
            time_zone: "UTC".into(),
            names: QualifiedNames {
                credential_type: "+CPR".into(),
                group: Some("@B".into()),
            },
        };
        let item = QualifiedItem {
            member_id: MemberId::new(1),
            name: "=cmd(), Ava".into(),
            holds: false,
            issuance: None,
        };
        let row = qualified_row(&question, &item, Some("-7".into()));
        let csv = crate::imports::exports::csv_chunk([&row]).unwrap();
        let csv = String::from_utf8(csv.to_vec()).unwrap();
        assert!(csv.contains("'+CPR,'@B,\"'=cmd(), Ava\",'-7,no"), "{csv}");
    }
}
