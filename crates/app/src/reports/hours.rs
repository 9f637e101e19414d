//! Training hours (`/reports/hours`): hours per member per category over a date range,
//! optionally for one group's current members. Listed: the active members, and anyone with a
//! training record in the range (a member deactivated since still shows what they did). By
//! pages of members in name order, or every row as CSV or XLSX, streamed.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use credence_domain::ids::{GroupId, MemberId};
use credence_store::reports::hours::{self as store, After};
use serde::{Deserialize, Serialize};

use crate::imports::exports::{export, Export, ExportFormat, Format, Row};
use crate::page::{encode_cursor, PageParams};
use crate::{App, AppError, Reader, Result};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoursParams {
    /// First day counted (default 1 January of this year).
    pub from: Option<NaiveDate>,
    /// Last day counted (default today).
    pub to: Option<NaiveDate>,
    /// Only this group's current members.
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    /// `json` (default, one page of members), or every row (one per member and category) as
    /// `csv` or `xlsx`.
    #[param(inline)]
    pub format: Option<Format>,
    /// Members per page, 1–500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CategoryHours {
    /// `null`: records without a category.
    pub category: Option<String>,
    pub hours: f64,
    /// Training records counted.
    pub records: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HoursItem {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    /// "Last, First".
    pub name: String,
    pub employee_number: Option<String>,
    /// The member's current groups, by name.
    pub groups: Vec<String>,
    /// By category name; empty when the member has no training in the range.
    pub categories: Vec<CategoryHours>,
    pub total_hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HoursReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// By member name, one page (`limit`, default 50, at most 500).
    pub items: Vec<HoursItem>,
    /// The `cursor` of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// A report's question, checked.
#[derive(Debug, Clone)]
struct Question {
    range: (NaiveDate, NaiveDate),
    group_id: Option<GroupId>,
}

/// Columns of the export: one row per member and category (one row with no category
/// for a member without training in the range).
const HOURS_COLUMNS: [&str; 6] = [
    "member",
    "employee_number",
    "groups",
    "category",
    "hours",
    "records",
];

/// Members read per page of the CSV export.
const EXPORT_PAGE: i64 = 1000;

impl App {
    /// One page of the hours report.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn hours_report(&self, actor: &Reader, params: &HoursParams) -> Result<HoursReport> {
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
        let question = self.hours_question(&mut db, actor, params).await?;
        let (items, next) = hours_page(&mut db, actor, &question, after, limit).await?;
        Ok(HoursReport {
            from: question.range.0,
            to: question.range.1,
            items,
            next_cursor: next.map(|a| encode_cursor(&(a.sort_name, a.member_id))),
        })
    }

    /// The whole report as a spreadsheet, streamed a page of members at a time. The question
    /// is checked before the first byte, so a wrong one is a clean error.
    pub async fn hours_export(
        &self,
        actor: &Reader,
        params: &HoursParams,
        format: ExportFormat,
    ) -> Result<Export> {
        let question = {
            let mut db = self.store.read().await?;
            self.hours_question(&mut db, actor, params).await?
        };
        let (from, to) = question.range;
        let (app, actor) = (self.clone(), actor.clone());
        let pages = move |cursor: Option<After>| {
            let (app, actor, question) = (app.clone(), actor.clone(), question.clone());
            async move {
                let mut db = app.store.read().await?;
                let after = cursor.unwrap_or_default();
                let (items, next) =
                    hours_page(&mut db, &actor, &question, after, EXPORT_PAGE).await?;
                Ok((items.iter().flat_map(hours_rows).collect(), next))
            }
        };
        Ok(export(
            format,
            &format!("training-hours-{from}-to-{to}"),
            &HOURS_COLUMNS,
            pages,
        ))
    }

    async fn hours_question(
        &self,
        db: &mut impl credence_store::Conn,
        actor: &Reader,
        params: &HoursParams,
    ) -> Result<Question> {
        let agency = credence_store::auth::identity::agency_by_id(db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let to = params.to.unwrap_or(today);
        let from = params
            .from
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
        if from > to {
            return Err(AppError::invalid("to", "must not be before from"));
        }
        if let Some(g) = params.group_id {
            credence_store::people::groups::group(db, actor.agency_id, g)
                .await?
                .ok_or(AppError::NotFound)?;
        }
        Ok(Question {
            range: (from, to),
            group_id: params.group_id,
        })
    }
}

/// One page of members with their hours, and where the next page starts.
async fn hours_page(
    db: &mut impl credence_store::Conn,
    actor: &Reader,
    question: &Question,
    after: After,
    limit: i64,
) -> Result<(Vec<HoursItem>, Option<After>)> {
    let mut people = store::members_page(
        db,
        actor.agency_id,
        question.group_id,
        question.range,
        &after,
        limit + 1,
    )
    .await?;
    let more = people.len() as i64 > limit;
    people.truncate(limit as usize);
    let ids: Vec<MemberId> = people.iter().map(|p| p.member_id).collect();
    let mut hours: HashMap<MemberId, Vec<CategoryHours>> = HashMap::new();
    for h in store::hours_of_members(db, actor.agency_id, &ids, question.range).await? {
        hours.entry(h.member_id).or_default().push(CategoryHours {
            category: h.category,
            hours: h.hours,
            records: h.records,
        });
    }
    let mut groups: HashMap<MemberId, Vec<String>> = HashMap::new();
    for (member, name) in store::group_names_of_members(db, actor.agency_id, &ids).await? {
        groups.entry(member).or_default().push(name);
    }
    let next = match (more, people.last()) {
        (true, Some(last)) => Some(After {
            sort_name: last.sort_name.clone(),
            member_id: last.member_id.get(),
        }),
        _ => None,
    };
    let items = people
        .into_iter()
        .map(|p| {
            let mut categories = hours.remove(&p.member_id).unwrap_or_default();
            categories.sort_by(|a, b| a.category.cmp(&b.category));
            // Folded from +0.0: an empty `sum` of floats is -0.0, which would print as such.
            let total_hours = categories.iter().fold(0.0, |sum, c| sum + c.hours);
            HoursItem {
                member_id: p.member_id,
                name: format!("{}, {}", p.last_name, p.first_name),
                employee_number: p.employee_number,
                groups: groups.remove(&p.member_id).unwrap_or_default(),
                categories,
                total_hours,
            }
        })
        .collect();
    Ok((items, next))
}

/// A member's rows: one per category, or one with no category when they have none.
fn hours_rows(item: &HoursItem) -> Vec<Row> {
    let row = |category: Option<&str>, hours: f64, records: i64| {
        vec![
            item.name.as_str().into(),
            item.employee_number.clone().into(),
            item.groups.join("; ").into(),
            category.into(),
            hours.into(),
            records.into(),
        ]
    };
    if item.categories.is_empty() {
        return vec![row(None, 0.0, 0)];
    }
    item.categories
        .iter()
        .map(|c| row(c.category.as_deref(), c.hours, c.records))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_without_training_still_has_a_row() {
        let item = HoursItem {
            member_id: MemberId::new(1),
            name: "Smith, Ava".into(),
            employee_number: None,
            groups: vec!["A shift".into(), "Medics".into()],
            categories: Vec::new(),
            total_hours: 0.0,
        };
        let rows = hours_rows(&item);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][2], "A shift; Medics".into());
        let bytes = crate::imports::exports::csv_chunk(&rows).unwrap();
        assert_eq!(&bytes[..], b"\"Smith, Ava\",,A shift; Medics,,0,0\n");
    }
}
