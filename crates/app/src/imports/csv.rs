//! CSV imports, all or nothing: every line is checked first and the errors name the line;
//! one transaction writes them all (a process killed midway leaves none).
//!
//! Training records: columns `member` (employee number or e-mail), `course` (course code,
//! optional), `completed_on` (YYYY-MM-DD), `score`, `hours`, `category` (optional).

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use credence_domain::ids::{CourseId, MemberId};
use credence_domain::Invalid;
use credence_store::{auth::identity, catalog::courses, people::members};
use serde::Deserialize;

use crate::training::records::{check_record, Known, NewTrainingRecord, Source};
use crate::{App, AppError, Result};

#[derive(Debug, Deserialize)]
struct TrainingRow {
    member: String,
    #[serde(default)]
    course: Option<String>,
    completed_on: String,
    #[serde(default)]
    score: Option<String>,
    #[serde(default)]
    hours: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

fn number(field: &str, value: Option<&str>, line: usize, invalid: &mut Invalid) -> Option<f64> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    match v.parse::<f64>() {
        Ok(n) => Some(n),
        Err(_) => {
            invalid.add(
                format!("line {line}: {field}"),
                format!("{v:?} is not a number"),
            );
            None
        }
    }
}

impl App {
    /// Imports training records for the agency; returns how many were recorded.
    pub async fn import_training_records(
        &self,
        agency_slug: &str,
        input: impl Read,
    ) -> Result<usize> {
        let mut tx = self.store.begin().await?;
        let agency = identity::agency_by_slug(&mut tx, agency_slug)
            .await?
            .ok_or(AppError::NotFound)?;
        let ctx = self
            .ctx_for(&mut tx, agency.id, "import:training-records")
            .await?;
        let mut by_key: HashMap<String, MemberId> = HashMap::new();
        for (id, email, number) in members::member_keys(&mut tx, agency.id).await? {
            by_key.extend(email.map(|e| (e, id)));
            by_key.extend(number.map(|n| (n, id)));
        }
        let courses: HashMap<String, CourseId> =
            courses::courses_page(&mut tx, agency.id, None, 100_000)
                .await?
                .into_iter()
                .map(|c| (c.code, c.id))
                .collect();
        let mut invalid = Invalid::new();
        let mut inputs = Vec::new();
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(input);
        for (i, row) in reader.deserialize::<TrainingRow>().enumerate() {
            let line = i + 2;
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    invalid.add(format!("line {line}"), e.to_string());
                    continue;
                }
            };
            let member = by_key
                .get(&row.member)
                .or_else(|| by_key.get(&row.member.to_lowercase()));
            let Some(member) = member else {
                invalid.add(
                    format!("line {line}: member"),
                    format!(
                        "no member has the employee number or e-mail {:?}",
                        row.member
                    ),
                );
                continue;
            };
            let course = match row.course.as_deref().filter(|c| !c.is_empty()) {
                None => None,
                Some(code) => match courses.get(code) {
                    Some(c) => Some(*c),
                    None => {
                        invalid.add(
                            format!("line {line}: course"),
                            format!("no course has the code {code:?}"),
                        );
                        continue;
                    }
                },
            };
            let Ok(completed_on) = row.completed_on.parse::<NaiveDate>() else {
                invalid.add(
                    format!("line {line}: completed_on"),
                    "must be a date YYYY-MM-DD",
                );
                continue;
            };
            let before = invalid.errors.len();
            let score = number("score", row.score.as_deref(), line, &mut invalid);
            let hours = number("hours", row.hours.as_deref(), line, &mut invalid);
            if invalid.errors.len() > before {
                continue;
            }
            inputs.push((
                line,
                NewTrainingRecord {
                    member_id: *member,
                    course_id: course,
                    completed_on,
                    score,
                    hours,
                    category: row.category.filter(|c| !c.is_empty()),
                },
            ));
        }
        let plain: Vec<NewTrainingRecord> = inputs.iter().map(|(_, r)| r.clone()).collect();
        let known = Known::load(&mut tx, agency.id, &plain).await?;
        let mut records = Vec::with_capacity(inputs.len());
        for (line, input) in &inputs {
            records.extend(check_record(
                &ctx,
                &known,
                input,
                Source::Import,
                &format!("line {line}: "),
                &mut invalid,
            ));
        }
        invalid.into_result()?;
        if records.is_empty() {
            return Err(AppError::invalid("file", "has no records"));
        }
        let created = self.store_records(&mut tx, &ctx, &records).await?;
        tx.commit().await?;
        Ok(created.len())
    }
}
