//! Imports from spreadsheets (CSV or XLSX), previewed then committed all or nothing, and
//! exports.
//!
//! A preview reads the file, checks every row against the agency as it is, and stores the
//! parsed rows with what it would do to each (create, update, add…) in the `imports` table;
//! nothing of the agency's data is written. The commit re-checks the stored rows in its own
//! transaction and writes them only when the outcome is still the one previewed (409
//! otherwise), so a member created in between, or a course deleted, is never silently
//! overwritten or duplicated.

mod command;
pub mod exports;
mod issuances;
mod members;
pub mod sheet;
mod training;

use std::collections::HashMap;

use credence_domain::ids::{ImportId, MemberId};
use credence_store::imports::{self as store, ImportRow, NewImport};
use credence_store::Tx;
use serde::{Deserialize, Serialize};

use crate::credentials::lifecycle::Ctx;
use crate::{Actor, App, AppError, Result};
use sheet::{Cell, Sheet};

/// Advisory-lock keys, one per agency, that import commits take.
const IMPORT_LOCK: i64 = 0x494d_0000_0000;

/// What a file imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Members,
    GroupMemberships,
    TrainingRecords,
    Issuances,
}

/// A column of an import: its header name, whether every file must have it, and what it
/// holds (shown on the page and in the CSV template).
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    pub help: &'static str,
    pub example: &'static str,
}

const fn col(
    name: &'static str,
    required: bool,
    help: &'static str,
    example: &'static str,
) -> Column {
    Column {
        name,
        required,
        help,
        example,
    }
}

const MEMBER_COLUMNS: &[Column] = &[
    col("first_name", true, "given name", "Ada"),
    col("last_name", true, "family name", "Lovelace"),
    col(
        "email",
        false,
        "e-mail; a row matches the member with this e-mail (any case) when no employee number matches",
        "ada@example.org",
    ),
    col(
        "employee_number",
        false,
        "a row matches the member with this number first; give a number or an e-mail",
        "E1042",
    ),
    col(
        "active",
        false,
        "yes or no; empty keeps a member as they are (new members are active)",
        "yes",
    ),
    col(
        "groups",
        false,
        "names of existing groups separated by ; (the member joins them)",
        "Station 1; B Shift",
    ),
];

const MEMBERSHIP_COLUMNS: &[Column] = &[
    col(
        "member",
        true,
        "employee number or e-mail of an existing member",
        "E1042",
    ),
    col("group", true, "name of an existing group", "B Shift"),
];

const TRAINING_COLUMNS: &[Column] = &[
    col(
        "member",
        true,
        "employee number or e-mail of an existing member",
        "E1042",
    ),
    col(
        "course",
        false,
        "course code; without one, give hours and a category",
        "CPR-101",
    ),
    col(
        "completed_on",
        true,
        "date: YYYY-MM-DD or MM/DD/YYYY (or a date cell)",
        "2026-02-14",
    ),
    col("score", false, "0 to 100", "92"),
    col("hours", false, "defaults to the course's hours", "4"),
    col(
        "category",
        false,
        "defaults to the course's category",
        "Medical",
    ),
];

const ISSUANCE_COLUMNS: &[Column] = &[
    col(
        "member",
        true,
        "employee number or e-mail of an existing member",
        "E1042",
    ),
    col(
        "credential_type",
        true,
        "code of a published credential type",
        "CPR",
    ),
    col(
        "issue_date",
        true,
        "date: YYYY-MM-DD or MM/DD/YYYY (or a date cell)",
        "2025-06-01",
    ),
    col(
        "expiration_date",
        false,
        "defaults from the type's validity",
        "2027-06-30",
    ),
    col(
        "credential_number",
        false,
        "defaults from the type's number pattern",
        "CPR-0042",
    ),
    col("issuing_officer", false, "who issued it", "Capt. Hopper"),
];

impl ImportKind {
    pub const ALL: [ImportKind; 4] = [
        ImportKind::Members,
        ImportKind::GroupMemberships,
        ImportKind::TrainingRecords,
        ImportKind::Issuances,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Members => "members",
            ImportKind::GroupMemberships => "group_memberships",
            ImportKind::TrainingRecords => "training_records",
            ImportKind::Issuances => "issuances",
        }
    }

    /// Reads a kind as the API (`group_memberships`) or the command line
    /// (`group-memberships`) names it.
    pub fn parse(text: &str) -> Option<ImportKind> {
        let text = text.trim().replace('-', "_");
        ImportKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Members => "Members",
            ImportKind::GroupMemberships => "Group memberships",
            ImportKind::TrainingRecords => "Training records",
            ImportKind::Issuances => "Issuances",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            ImportKind::Members => MEMBER_COLUMNS,
            ImportKind::GroupMemberships => MEMBERSHIP_COLUMNS,
            ImportKind::TrainingRecords => TRAINING_COLUMNS,
            ImportKind::Issuances => ISSUANCE_COLUMNS,
        }
    }

    /// Other header names people use for a column.
    fn alias(self, header: &str) -> Option<&'static str> {
        Some(match (self, header) {
            (_, "member_email" | "employee" | "member_number") => "member",
            (ImportKind::Members, "number" | "employee_no" | "employee_id") => "employee_number",
            (ImportKind::Members, "e_mail" | "email_address") => "email",
            (ImportKind::Members, "group") => "groups",
            (ImportKind::GroupMemberships, "group_name") => "group",
            (ImportKind::TrainingRecords, "course_code") => "course",
            (ImportKind::TrainingRecords, "date" | "completed") => "completed_on",
            (ImportKind::Issuances, "credential_type_code" | "type" | "type_code") => {
                "credential_type"
            }
            (ImportKind::Issuances, "number") => "credential_number",
            (ImportKind::Issuances, "officer") => "issuing_officer",
            (ImportKind::Issuances, "expires" | "expiration") => "expiration_date",
            _ => return None,
        })
    }

    /// Only those who may do the writes an import makes may preview or commit it: members
    /// and memberships are administration (admin), training records and issuances are
    /// officers' work.
    fn allowed(self, actor: &Actor) -> Result<()> {
        match self {
            ImportKind::Members | ImportKind::GroupMemberships => actor.admin().map(|_| ()),
            ImportKind::TrainingRecords | ImportKind::Issuances => actor.officer().map(|_| ()),
        }
    }

    /// A CSV with the header and one example row.
    pub fn template_csv(self) -> String {
        let cols = self.columns();
        let line = |f: &dyn Fn(&Column) -> &str| {
            cols.iter()
                .map(|c| {
                    let v = f(c);
                    if v.contains([',', '"', ';']) {
                        format!("\"{}\"", v.replace('"', "\"\""))
                    } else {
                        v.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        format!("{}\n{}\n", line(&|c| c.name), line(&|c| c.example))
    }
}

/// One problem with one cell (or, with `column` empty, a whole row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowError {
    /// The spreadsheet's row number (the header is row 1).
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// A row as it will be imported (the preview page's table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviewRow {
    pub row: usize,
    /// `create`, `update`, `add` or `unchanged`; empty when the row has errors.
    pub action: String,
    /// One value per column of the kind, in the order of `columns`.
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    #[schema(value_type = String)]
    pub id: ImportId,
    pub kind: ImportKind,
    /// `previewed` or `committed`.
    pub status: String,
    pub file_name: String,
    /// Data rows in the file.
    pub rows: i64,
    /// Rows that create something (members, memberships, records, credentials).
    pub created: i64,
    /// Rows that change something that exists (members, credentials given an issuance).
    pub updated: i64,
    /// Rows that change nothing (a member as they are, a membership already held).
    pub unchanged: i64,
    /// Every problem found; a preview with any cannot be committed.
    pub errors: Vec<RowError>,
    /// The column names of `preview`'s values.
    pub columns: Vec<String>,
    /// The first rows as they will be imported.
    pub preview: Vec<PreviewRow>,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub committed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Collects row errors.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<RowError>);

impl Errors {
    pub fn add(&mut self, row: usize, column: &str, message: impl Into<String>) {
        self.0.push(RowError {
            row,
            column: column.to_string(),
            message: message.into(),
        });
    }
}

/// One data row's cells, by column name; a cell that cannot be read records its error.
pub(crate) struct Cells<'a> {
    pub row: usize,
    cells: &'a [Cell],
    index: &'a HashMap<&'static str, usize>,
    pub errors: &'a mut Errors,
    before: usize,
}

impl<'a> Cells<'a> {
    fn cell(&mut self, column: &str) -> Option<&'a Cell> {
        let cell = self.index.get(column).and_then(|i| self.cells.get(*i))?;
        match cell {
            Cell::Formula => {
                self.errors
                    .add(self.row, column, "formulas are not imported, paste values");
                None
            }
            Cell::Error(e) => {
                self.errors
                    .add(self.row, column, format!("the cell holds the error {e}"));
                None
            }
            Cell::Empty => None,
            other => Some(other),
        }
    }

    pub fn text(&mut self, column: &str, max: usize) -> Option<String> {
        let text = self.cell(column)?.text()?;
        if text.chars().count() > max {
            self.errors.add(
                self.row,
                column,
                format!("must be at most {max} characters"),
            );
            return None;
        }
        Some(text)
    }

    pub fn required(&mut self, column: &str, max: usize) -> Option<String> {
        let before = self.errors.0.len();
        let text = self.text(column, max);
        if text.is_none() && self.errors.0.len() == before {
            self.errors.add(self.row, column, "is required");
        }
        text
    }

    pub fn date(&mut self, column: &str, required: bool) -> Option<chrono::NaiveDate> {
        let before = self.errors.0.len();
        let parsed = match self.cell(column).map(sheet::date) {
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.errors.add(self.row, column, e);
                return None;
            }
            None => None,
        };
        if parsed.is_none() && required && self.errors.0.len() == before {
            self.errors.add(self.row, column, "is required");
        }
        parsed
    }

    pub fn number(&mut self, column: &str) -> Option<f64> {
        match self.cell(column).map(sheet::number)? {
            Ok(n) => n,
            Err(e) => {
                self.errors.add(self.row, column, e);
                None
            }
        }
    }

    pub fn flag(&mut self, column: &str) -> Option<bool> {
        match self.cell(column).map(sheet::flag)? {
            Ok(b) => b,
            Err(e) => {
                self.errors.add(self.row, column, e);
                None
            }
        }
    }

    /// True when reading this row recorded no error.
    pub fn ok(&self) -> bool {
        self.errors.0.len() == self.before
    }
}

/// Checks the header row against the kind's columns; answers each column's position.
fn header_index(
    kind: ImportKind,
    sheet: &Sheet,
) -> std::result::Result<HashMap<&'static str, usize>, Vec<RowError>> {
    let columns = kind.columns();
    let expected = columns
        .iter()
        .map(|c| c.name)
        .collect::<Vec<_>>()
        .join(", ");
    let mut errors = Errors::default();
    let mut index = HashMap::new();
    for (i, raw) in sheet.header.iter().enumerate() {
        if raw.is_empty() {
            continue;
        }
        let name = columns
            .iter()
            .find(|c| c.name == raw)
            .map(|c| c.name)
            .or_else(|| kind.alias(raw));
        match name {
            Some(n) if index.contains_key(n) => errors.add(1, raw, "appears twice in the header"),
            Some(n) => {
                index.insert(n, i);
            }
            None => errors.add(
                1,
                raw,
                format!(
                    "is not a column of a {} import; expected columns: {expected}",
                    kind.as_str()
                ),
            ),
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !index.contains_key(c.name) {
            errors.add(
                1,
                c.name,
                format!("is missing from the header; expected columns: {expected}"),
            );
        }
    }
    if errors.0.is_empty() {
        Ok(index)
    } else {
        Err(errors.0)
    }
}

/// Runs `read` over every data row with its cells.
pub(crate) fn each_row<T>(
    sheet: &Sheet,
    index: &HashMap<&'static str, usize>,
    errors: &mut Errors,
    mut read: impl FnMut(&mut Cells<'_>) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(sheet.rows.len());
    for (row, cells) in &sheet.rows {
        let before = errors.0.len();
        let mut c = Cells {
            row: *row,
            cells,
            index,
            errors,
            before,
        };
        if let Some(value) = read(&mut c) {
            if c.ok() {
                out.push(value);
            }
        }
    }
    out
}

/// The parsed rows of one import, as stored between preview and commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
enum Rows {
    Members(Vec<members::Row>),
    GroupMemberships(Vec<training::MembershipRow>),
    TrainingRecords(Vec<training::RecordRow>),
    Issuances(Vec<issuances::Row>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    rows: Rows,
    /// What the preview decided for each row, in order (compared at commit).
    actions: Vec<String>,
}

/// What checking rows against the agency decided: per row its action, and the errors.
pub(crate) struct Checked<P> {
    pub actions: Vec<String>,
    pub plan: P,
}

/// Counts `create…`, `update…` and `unchanged…` actions.
fn counts(actions: &[String]) -> (i64, i64, i64) {
    let n = |prefix: &str| actions.iter().filter(|a| a.starts_with(prefix)).count() as i64;
    (n("create") + n("add"), n("update"), n("unchanged"))
}

/// A member named in a file by employee number or e-mail (any case).
pub(crate) struct MemberKeys(HashMap<String, MemberId>);

impl MemberKeys {
    pub async fn load(
        tx: &mut Tx,
        agency_id: credence_domain::ids::AgencyId,
    ) -> Result<MemberKeys> {
        let mut keys = HashMap::new();
        for (id, email, number) in
            credence_store::people::members::member_keys(tx, agency_id).await?
        {
            if let Some(e) = email {
                keys.insert(format!("@{}", e.to_lowercase()), id);
            }
            if let Some(n) = number {
                keys.insert(format!("#{n}"), id);
            }
        }
        Ok(MemberKeys(keys))
    }

    pub fn find(&self, key: &str) -> Option<MemberId> {
        let key = key.trim();
        self.0
            .get(&format!("#{key}"))
            .or_else(|| self.0.get(&format!("@{}", key.to_lowercase())))
            .copied()
    }
}

pub(crate) fn unknown_member(key: &str) -> String {
    format!("no member has the employee number or e-mail {key:?}")
}

const SAMPLE_ROWS: usize = 20;

fn view(row: ImportRow) -> Result<ImportView> {
    let kind = ImportKind::parse(&row.kind)
        .ok_or_else(|| AppError::internal(format!("import {} has kind {}", row.id, row.kind)))?;
    let errors: Vec<RowError> = serde_json::from_str(&row.errors)
        .map_err(|e| AppError::internal(format!("import {} errors: {e}", row.id)))?;
    let preview: Vec<PreviewRow> = serde_json::from_str(&row.sample)
        .map_err(|e| AppError::internal(format!("import {} sample: {e}", row.id)))?;
    Ok(ImportView {
        id: row.id,
        kind,
        status: row.status,
        file_name: row.file_name,
        rows: row.row_count,
        created: row.created_count,
        updated: row.updated_count,
        unchanged: row.unchanged_count,
        errors,
        columns: kind.columns().iter().map(|c| c.name.to_string()).collect(),
        preview,
        created_by: row.actor,
        created_at: row.created_at,
        committed_at: row.committed_at,
    })
}

impl App {
    /// Reads and checks a file and stores it as a preview; nothing of the agency's data is
    /// written. A file that cannot be read at all (empty, not CSV or XLSX, a wrong header)
    /// is a 422; problems with rows are the preview's `errors`.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label, kind = kind.as_str()))]
    pub async fn preview_import(
        &self,
        actor: &Actor,
        kind: ImportKind,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<ImportView> {
        kind.allowed(actor)?;
        let name = file_name.to_string();
        let sheet = tokio::task::spawn_blocking(move || sheet::read(&name, &bytes))
            .await
            .map_err(|e| AppError::internal(format!("reading the upload: {e}")))?
            .map_err(|p| AppError::invalid("file", p.0))?;
        let index = header_index(kind, &sheet).map_err(|errors| {
            let mut invalid = credence_domain::Invalid::new();
            for e in errors {
                invalid.add(
                    "file",
                    format!("row {}, column {}: {}", e.row, e.column, e.message),
                );
            }
            AppError::Invalid(invalid)
        })?;
        if sheet.rows.is_empty() {
            return Err(AppError::invalid(
                "file",
                "the file has a header but no rows to import",
            ));
        }
        let mut errors = Errors::default();
        let rows = match kind {
            ImportKind::Members => Rows::Members(members::parse(&sheet, &index, &mut errors)),
            ImportKind::GroupMemberships => {
                Rows::GroupMemberships(training::parse_memberships(&sheet, &index, &mut errors))
            }
            ImportKind::TrainingRecords => {
                Rows::TrainingRecords(training::parse_records(&sheet, &index, &mut errors))
            }
            ImportKind::Issuances => Rows::Issuances(issuances::parse(&sheet, &index, &mut errors)),
        };
        let mut tx = self.store.begin().await?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let actions = self.check(&mut tx, &ctx, actor, &rows, &mut errors).await?;
        errors.0.sort_by_key(|a| a.row);
        // A row with any error (some are found across rows, such as duplicates) does nothing.
        let failed: std::collections::HashSet<usize> = errors.0.iter().map(|e| e.row).collect();
        let actions: Vec<String> = row_numbers(&rows)
            .into_iter()
            .zip(actions)
            .map(|(row, action)| {
                if failed.contains(&row) {
                    "error".to_string()
                } else {
                    action
                }
            })
            .collect();
        let (created, updated, unchanged) = counts(&actions);
        let sample = sample(&rows, &actions);
        let payload = Payload { rows, actions };
        let row = store::insert_import(
            &mut tx,
            actor.agency_id,
            NewImport {
                kind: kind.as_str(),
                file_name: &clip(file_name),
                rows: sheet.rows.len() as i64,
                created,
                updated,
                unchanged,
                errors: &to_json(&errors.0)?,
                payload: &to_json(&payload)?,
                sample: &to_json(&sample)?,
                actor: &actor.label,
            },
        )
        .await?;
        tx.commit().await?;
        view(row)
    }

    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn import(&self, actor: &Actor, id: ImportId) -> Result<ImportView> {
        actor.officer()?;
        let mut tx = self.store.read().await?;
        let row = store::import(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        view(row)
    }

    /// Writes a preview's rows, all or nothing, when it had no errors, is not committed yet
    /// and the agency still gives the outcome previewed.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn commit_import(&self, actor: &Actor, id: ImportId) -> Result<ImportView> {
        actor.officer()?;
        let mut tx = self.store.begin().await?;
        // One commit at a time per agency (PostgreSQL; SQLite has one writer anyway): the
        // same preview committed on two instances at once would otherwise get past the
        // status check twice, and the second would fail on a member the first just wrote.
        // Waiting here, it reads the first's outcome: 409, or the rows as they now are.
        credence_store::lock(&mut tx, IMPORT_LOCK + actor.agency_id.get()).await?;
        let row = store::import(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let kind = view(row.clone())?.kind;
        kind.allowed(actor)?;
        if row.status == "committed" {
            return Err(AppError::Conflict(
                "this import was committed already".into(),
            ));
        }
        if row.errors != "[]" {
            return Err(AppError::Conflict(
                "the preview has errors; fix the file and upload it again".into(),
            ));
        }
        let payload: Payload = serde_json::from_str(&row.payload)
            .map_err(|e| AppError::internal(format!("import {id} payload: {e}")))?;
        let ctx = self.ctx(&mut tx, actor).await?;
        let mut errors = Errors::default();
        let written = self
            .check_and_apply(
                &mut tx,
                &ctx,
                actor,
                &payload.rows,
                &payload.actions,
                &mut errors,
                id,
            )
            .await?;
        if !store::mark_committed(&mut tx, actor.agency_id, id, written).await? {
            return Err(AppError::Conflict(
                "this import was committed already".into(),
            ));
        }
        crate::ops::audit::record(
            &mut tx,
            actor,
            "commit_import",
            id,
            None,
            Some(&serde_json::json!({
                "kind": kind.as_str(), "file_name": row.file_name,
                "created": written.0, "updated": written.1, "unchanged": written.2,
            })),
        )
        .await?;
        let fresh = store::import(&mut tx, actor.agency_id, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        view(fresh)
    }

    /// Checks rows against the agency: each row's action, errors into `errors`.
    async fn check(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        actor: &Actor,
        rows: &Rows,
        errors: &mut Errors,
    ) -> Result<Vec<String>> {
        Ok(match rows {
            Rows::Members(r) => members::check(tx, ctx, r, errors).await?.actions,
            Rows::GroupMemberships(r) => {
                training::check_memberships(tx, ctx, r, errors)
                    .await?
                    .actions
            }
            Rows::TrainingRecords(r) => {
                training::check_records(tx, ctx, actor, r, errors)
                    .await?
                    .actions
            }
            Rows::Issuances(r) => issuances::check(tx, ctx, actor, r, errors).await?.actions,
        })
    }

    /// The commit: checks again, refuses when anything differs from the preview, writes.
    /// Answers the counts written.
    #[allow(clippy::too_many_arguments)]
    async fn check_and_apply(
        &self,
        tx: &mut Tx,
        ctx: &Ctx,
        actor: &Actor,
        rows: &Rows,
        previewed: &[String],
        errors: &mut Errors,
        id: ImportId,
    ) -> Result<(i64, i64, i64)> {
        let actions = match rows {
            Rows::Members(r) => {
                let c = members::check(tx, ctx, r, errors).await?;
                refuse_changes(errors, previewed, &c.actions)?;
                members::apply(self, tx, ctx, actor, c.plan, id).await?;
                c.actions
            }
            Rows::GroupMemberships(r) => {
                let c = training::check_memberships(tx, ctx, r, errors).await?;
                refuse_changes(errors, previewed, &c.actions)?;
                training::apply_memberships(self, tx, actor, c.plan).await?;
                c.actions
            }
            Rows::TrainingRecords(r) => {
                let c = training::check_records(tx, ctx, actor, r, errors).await?;
                refuse_changes(errors, previewed, &c.actions)?;
                training::apply_records(self, tx, ctx, c.plan).await?;
                c.actions
            }
            Rows::Issuances(r) => {
                let c = issuances::check(tx, ctx, actor, r, errors).await?;
                refuse_changes(errors, previewed, &c.actions)?;
                issuances::apply(tx, ctx, c.plan, id).await?;
                c.actions
            }
        };
        Ok(counts(&actions))
    }
}

/// 409 when the rows now have errors or would be imported differently than previewed.
fn refuse_changes(errors: &Errors, previewed: &[String], now: &[String]) -> Result<()> {
    if let Some(e) = errors.0.first() {
        return Err(AppError::Conflict(format!(
            "the agency changed since the preview: row {}, column {}: {}; upload the file again",
            e.row, e.column, e.message
        )));
    }
    if previewed != now {
        return Err(AppError::Conflict(
            "the agency changed since the preview (members, groups or credentials this file names were changed); upload the file again".into(),
        ));
    }
    Ok(())
}

fn row_numbers(rows: &Rows) -> Vec<usize> {
    match rows {
        Rows::Members(r) => r.iter().map(|r| r.row).collect(),
        Rows::GroupMemberships(r) => r.iter().map(|r| r.row).collect(),
        Rows::TrainingRecords(r) => r.iter().map(|r| r.row).collect(),
        Rows::Issuances(r) => r.iter().map(|r| r.row).collect(),
    }
}

fn sample(rows: &Rows, actions: &[String]) -> Vec<PreviewRow> {
    let values: Vec<(usize, Vec<String>)> = match rows {
        Rows::Members(r) => r
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| (r.row, r.values()))
            .collect(),
        Rows::GroupMemberships(r) => r
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| (r.row, r.values()))
            .collect(),
        Rows::TrainingRecords(r) => r
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| (r.row, r.values()))
            .collect(),
        Rows::Issuances(r) => r
            .iter()
            .take(SAMPLE_ROWS)
            .map(|r| (r.row, r.values()))
            .collect(),
    };
    values
        .into_iter()
        .zip(actions.iter())
        .map(|((row, values), action)| PreviewRow {
            row,
            action: action.split(' ').next().unwrap_or("").to_string(),
            values,
        })
        .collect()
}

fn clip(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    name.chars().take(200).collect()
}

fn opt(v: &Option<impl ToString>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| AppError::internal(format!("serialising an import: {e}")))
}
