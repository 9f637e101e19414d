//! A member's training transcript as a PDF (`GET /members/{id}/transcript.pdf`): name,
//! number and agency; hours by category, by calendar year and by each credential's
//! completion periods (its cycles); the credentials held with their dates and numbers; every
//! training record. Rendered by the same Typst workers as certificates, from the service's
//! own template (`credence_documents::defaults::TRANSCRIPT`).
//!
//! Readers (admin, officer, auditor) may have anyone's; a member only their own, and sees in
//! it only the credentials they see on `/me`. Anyone else's is a 404, as another agency's is.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use credence_documents::{defaults, Document, Job, Template};
use credence_domain::ids::{CourseId, MemberId};
use credence_store::training::records::TrainingRecord;
use serde_json::{json, Value};

use crate::credentials::views::{CredentialDetail, CredentialListFilter};
use crate::{Actor, App, AppError, Result};

/// Credentials a transcript lists at most.
const MAX_CREDENTIALS: i64 = 500;

/// A PDF and the file name to offer it under.
pub struct Transcript {
    pub file_name: String,
    pub pdf: Vec<u8>,
}

impl App {
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn transcript_pdf(&self, actor: &Actor, member_id: MemberId) -> Result<Transcript> {
        if !actor.sees_member(member_id) {
            return Err(AppError::NotFound);
        }
        let mut db = self.store.read().await?;
        let member = credence_store::people::members::member(&mut db, actor.agency_id, member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let agency = credence_store::auth::identity::agency_by_id(&mut db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let records =
            credence_store::reports::hours::records_of_member(&mut db, actor.agency_id, member_id)
                .await?;
        let mut course_ids: Vec<CourseId> = records.iter().filter_map(|r| r.course_id).collect();
        course_ids.sort_unstable();
        course_ids.dedup();
        let courses: HashMap<CourseId, String> =
            credence_store::catalog::courses::courses_by_ids(&mut db, actor.agency_id, &course_ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c.name))
                .collect();
        let groups: Vec<String> = credence_store::reports::hours::group_names_of_members(
            &mut db,
            actor.agency_id,
            &[member_id],
        )
        .await?
        .into_iter()
        .map(|(_, name)| name)
        .collect();
        let logo =
            crate::documents::agency_logo::current_logo_path(&mut db, actor.agency_id).await?;
        drop(db);
        let filter = CredentialListFilter {
            member_id: Some(member_id),
            ..Default::default()
        };
        let credentials = self
            .credential_details(actor, &filter, MAX_CREDENTIALS)
            .await?;
        let names = self.names(actor, &[]).await?;

        let mut data = transcript_data(&Facts {
            agency: &agency.name,
            member: &member,
            groups: &groups,
            today,
            records: &records,
            courses: &courses,
            credentials: &credentials,
            type_name: &|id: &credence_domain::ids::CredentialTypeId| names.type_name(id),
        });
        data["agency"]["logo"] = logo.into();
        let files = self.job_files(actor.agency_id, [&data]).await?;
        let job = Job {
            templates: vec![Template {
                source: defaults::TRANSCRIPT.to_owned(),
            }],
            documents: vec![Document { template: 0, data }],
            merge: false,
            files,
        };
        let pdf = self
            .render(actor.agency_id, job)
            .await?
            .pop()
            .ok_or_else(|| AppError::internal("the renderer answered nothing"))?
            .map_err(|e| AppError::invalid("transcript", e.describe()))?;
        let who = member
            .employee_number
            .as_deref()
            .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .map_or_else(|| member.id.to_string(), str::to_owned);
        Ok(Transcript {
            file_name: format!("transcript-{who}-{today}.pdf"),
            pdf,
        })
    }
}

/// What a transcript is made of.
struct Facts<'a> {
    agency: &'a str,
    member: &'a credence_store::people::members::Member,
    groups: &'a [String],
    today: NaiveDate,
    records: &'a [TrainingRecord],
    courses: &'a HashMap<CourseId, String>,
    credentials: &'a [CredentialDetail],
    type_name: &'a dyn Fn(&credence_domain::ids::CredentialTypeId) -> String,
}

/// Hours as a transcript prints them: whole numbers plain, others to two decimals at most.
fn hours(h: f64) -> String {
    // + 0.0 turns the -0.0 an empty float `sum` gives into 0.
    let text = format!("{:.2}", h + 0.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn or_dash(text: Option<&str>) -> String {
    text.filter(|t| !t.trim().is_empty())
        .map_or_else(|| "—".to_string(), str::to_owned)
}

/// The template's data (see the top of `transcript.typ`): every value a string.
fn transcript_data(f: &Facts<'_>) -> Value {
    let category = |r: &TrainingRecord| {
        r.category
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "(no category)".into())
    };
    let mut by_category: BTreeMap<String, (i64, f64)> = BTreeMap::new();
    let mut by_year: BTreeMap<i32, BTreeMap<String, f64>> = BTreeMap::new();
    for r in f.records {
        let entry = by_category.entry(category(r)).or_default();
        entry.0 += 1;
        entry.1 += r.hours;
        *by_year
            .entry(r.completed_on.year())
            .or_default()
            .entry(category(r))
            .or_default() += r.hours;
    }
    let total: f64 = f.records.iter().map(|r| r.hours).sum();
    let credentials: Vec<Value> = f
        .credentials
        .iter()
        .map(|d| {
            let c = &d.credential;
            let i = c.current_issuance.as_ref();
            json!([
                (f.type_name)(&c.credential_type_id),
                c.status_label,
                or_dash(i.and_then(|i| i.credential_number.as_deref())),
                or_dash(i.map(|i| i.issue_date.to_string()).as_deref()),
                or_dash(
                    i.and_then(|i| i.expiration_date)
                        .map(|d| d.to_string())
                        .as_deref()
                ),
            ])
        })
        .collect();
    let mut cycles = Vec::new();
    for d in f.credentials {
        for p in &d.periods {
            let counted: Vec<&TrainingRecord> = f
                .records
                .iter()
                .filter(|r| p.start <= r.completed_on && r.completed_on <= p.end)
                .collect();
            let state = if p.closed { "closed" } else { "open" };
            cycles.push(json!([
                (f.type_name)(&d.credential.credential_type_id),
                format!("{} – {}", p.start, p.end),
                state,
                counted.len().to_string(),
                hours(counted.iter().map(|r| r.hours).sum()),
            ]));
        }
    }
    let records: Vec<Value> = f
        .records
        .iter()
        .map(|r| {
            json!([
                r.completed_on.to_string(),
                or_dash(
                    r.course_id
                        .and_then(|c| f.courses.get(&c))
                        .map(String::as_str)
                ),
                category(r),
                hours(r.hours),
                or_dash(r.score.map(hours).as_deref()),
                r.source,
            ])
        })
        .collect();
    json!({
        "agency": {"name": f.agency},
        "member": {
            "name": format!("{} {}", f.member.first_name, f.member.last_name),
            "employee_number": or_dash(f.member.employee_number.as_deref()),
            "email": or_dash(f.member.email.as_deref()),
            "groups": or_dash(Some(f.groups.join(", ").as_str())),
        },
        "generated_on": f.today.to_string(),
        "totals": {"hours": hours(total), "records": f.records.len().to_string()},
        "by_category": by_category
            .into_iter()
            .map(|(c, (n, h))| json!([c, n.to_string(), hours(h)]))
            .collect::<Vec<_>>(),
        "by_year": by_year
            .into_iter()
            .rev()
            .map(|(year, cats)| {
                let sum: f64 = cats.values().sum();
                let each: Vec<String> = cats.iter().map(|(c, h)| format!("{c} {}", hours(*h))).collect();
                json!([year.to_string(), each.join(" · "), hours(sum)])
            })
            .collect::<Vec<_>>(),
        "credentials": credentials,
        "cycles": cycles,
        "records": records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_print_short() {
        assert_eq!(hours(4.0), "4");
        assert_eq!(hours(1.5), "1.5");
        assert_eq!(hours(2.25), "2.25");
        assert_eq!(hours(0.0), "0");
        assert_eq!(hours(Vec::<f64>::new().into_iter().sum()), "0");
        assert_eq!(or_dash(Some("  ")), "—");
    }
}
