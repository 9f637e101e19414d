//! Credential types, their requirements and enrolment groups.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::credential_type::RequirementKind;
use credence_domain::ids::{
    AgencyId, CourseId, CredentialTypeId, GroupId, MemberId, RequirementId, TemplateId,
};
use credence_domain::{ExpirationRounding, RenewalPolicy, TypeState};

use crate::stored::Stored;
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CredentialType {
    pub id: CredentialTypeId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub invisible: bool,
    pub effective_from: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub grace_period_days: i64,
    pub validity_months: Option<i64>,
    pub expiration_rounding: Stored<ExpirationRounding>,
    pub auto_issue: bool,
    /// Every issuance gets a certificate (from the type's template) when it is made.
    pub auto_certificate: bool,
    pub renewal: Stored<RenewalPolicy>,
    pub renewal_window_days: Option<i64>,
    pub number_pattern: String,
    pub certificate_template_id: Option<TemplateId>,
    /// Reminder thresholds of its own ("60,14"); `None`: the agency's.
    pub reminder_offsets: Option<String>,
    pub state: Stored<TypeState>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The editable fields of a type.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeFields {
    pub code: String,
    pub name: String,
    pub description: String,
    pub invisible: bool,
    pub effective_from: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub grace_period_days: i64,
    pub validity_months: Option<i64>,
    pub expiration_rounding: String,
    pub auto_issue: bool,
    pub auto_certificate: bool,
    pub renewal: String,
    pub renewal_window_days: Option<i64>,
    pub number_pattern: String,
    pub certificate_template_id: Option<TemplateId>,
    pub reminder_offsets: Option<String>,
}

const COLUMNS: &str =
    "id, code, name, description, invisible, effective_from, due_date, grace_period_days,
    validity_months, expiration_rounding, auto_issue, renewal, renewal_window_days, number_pattern,
    certificate_template_id, reminder_offsets, auto_certificate, state, version, created_at, updated_at";

pub async fn insert_type(
    tx: &mut Tx,
    agency_id: AgencyId,
    f: &TypeFields,
) -> Result<CredentialType> {
    let sql = format!(
        "INSERT INTO credential_types (agency_id, code, name, description, invisible, effective_from, due_date,
             grace_period_days, validity_months, expiration_rounding, auto_issue, renewal, renewal_window_days,
             number_pattern, certificate_template_id, reminder_offsets, auto_certificate, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'draft', $18, $18)
         RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(agency_id)
        .arg(&f.code)
        .arg(&f.name)
        .arg(&f.description)
        .arg(f.invisible)
        .arg(f.effective_from)
        .arg(f.due_date)
        .arg(f.grace_period_days)
        .arg(f.validity_months)
        .arg(&f.expiration_rounding)
        .arg(f.auto_issue)
        .arg(&f.renewal)
        .arg(f.renewal_window_days)
        .arg(&f.number_pattern)
        .arg(f.certificate_template_id)
        .arg(f.reminder_offsets.as_deref())
        .arg(f.auto_certificate)
        .arg(now())
        .fetch_one(tx)
        .await
}

/// Writes the fields and state when the row is still at `version`.
pub async fn update_type(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: CredentialTypeId,
    version: i64,
    f: &TypeFields,
    state: &str,
) -> Result<Option<CredentialType>> {
    let sql = format!(
        "UPDATE credential_types SET code = $1, name = $2, description = $3, invisible = $4, effective_from = $5,
             due_date = $6, grace_period_days = $7, validity_months = $8, expiration_rounding = $9,
             auto_issue = $10, renewal = $11, renewal_window_days = $12, number_pattern = $13,
             certificate_template_id = $14, reminder_offsets = $15, state = $16, version = version + 1,
             updated_at = $17, auto_certificate = $18
         WHERE agency_id = $19 AND id = $20 AND version = $21 RETURNING {COLUMNS}"
    );
    query(&sql)
        .arg(&f.code)
        .arg(&f.name)
        .arg(&f.description)
        .arg(f.invisible)
        .arg(f.effective_from)
        .arg(f.due_date)
        .arg(f.grace_period_days)
        .arg(f.validity_months)
        .arg(&f.expiration_rounding)
        .arg(f.auto_issue)
        .arg(&f.renewal)
        .arg(f.renewal_window_days)
        .arg(&f.number_pattern)
        .arg(f.certificate_template_id)
        .arg(f.reminder_offsets.as_deref())
        .arg(state)
        .arg(now())
        .arg(f.auto_certificate)
        .arg(agency_id)
        .arg(id)
        .arg(version)
        .fetch_optional(tx)
        .await
}

pub async fn credential_type(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: CredentialTypeId,
) -> Result<Option<CredentialType>> {
    let sql = format!("SELECT {COLUMNS} FROM credential_types WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

pub async fn types_page(
    db: &mut impl Conn,
    agency_id: AgencyId,
    state: Option<&str>,
    visible_only: bool,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<CredentialType>> {
    let mut q = Query::new(format!(
        "SELECT {COLUMNS} FROM credential_types WHERE agency_id = "
    ));
    q.bind(agency_id)
        .push(" AND id > ")
        .bind(after_id.unwrap_or(0));
    if let Some(s) = state {
        q.push(" AND state = ").bind(s);
    }
    if visible_only {
        q.push(" AND invisible = ").bind(false);
    }
    q.push(" ORDER BY id LIMIT ").bind(limit);
    q.fetch_all(db).await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Requirement {
    pub id: RequirementId,
    pub credential_type_id: CredentialTypeId,
    pub position: i64,
    pub kind: Stored<RequirementKind>,
    pub course_id: Option<CourseId>,
    pub min_grade: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub title: Option<String>,
    pub max_hours_per_category: Option<f64>,
    /// JSON object: source kind → hours.
    pub max_hours_by_source: Option<String>,
    /// JSON array of `{name, hours, categories}`.
    pub components: Option<String>,
    pub repeatable: bool,
}

/// A requirement to keep (with its id) or add (without).
#[derive(Debug, Clone, PartialEq)]
pub struct RequirementFields {
    pub id: Option<RequirementId>,
    pub kind: String,
    pub course_id: Option<CourseId>,
    pub min_grade: Option<f64>,
    pub hours: Option<f64>,
    pub category: Option<String>,
    pub title: Option<String>,
    pub max_hours_per_category: Option<f64>,
    pub max_hours_by_source: Option<String>,
    pub components: Option<String>,
    pub repeatable: bool,
}

const REQUIREMENT_COLUMNS: &str =
    "id, credential_type_id, position, kind, course_id, min_grade, hours, category, title,
    max_hours_per_category, max_hours_by_source, components, repeatable";

/// The active requirements of the given types, in their order.
pub async fn requirements_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_ids: &[CredentialTypeId],
) -> Result<Vec<Requirement>> {
    if type_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(format!(
        "SELECT {REQUIREMENT_COLUMNS} FROM requirements WHERE active = TRUE AND agency_id = "
    ));
    q.bind(agency_id)
        .push(" AND credential_type_id IN ")
        .bind_json_ids(db.backend(), type_ids);
    q.push(" ORDER BY credential_type_id, position");
    q.fetch_all(db).await
}

/// One active requirement of the agency.
pub async fn requirement(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: RequirementId,
) -> Result<Option<Requirement>> {
    let sql = format!(
        "SELECT {REQUIREMENT_COLUMNS} FROM requirements WHERE active = TRUE AND agency_id = $1 AND id = $2"
    );
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// Makes `reqs` the type's requirements: listed ids are updated in place, new ones inserted,
/// and unlisted ones deactivated (never deleted: sign-offs may point at them).
pub async fn replace_requirements(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    reqs: &[RequirementFields],
) -> Result<()> {
    let kept: Vec<RequirementId> = reqs.iter().filter_map(|r| r.id).collect();
    let mut q = Query::new("UPDATE requirements SET active = FALSE WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND credential_type_id = ")
        .bind(type_id);
    if !kept.is_empty() {
        q.push(" AND id NOT IN ").bind_json_ids(tx.backend(), &kept);
    }
    q.execute(tx).await?;
    for (position, r) in reqs.iter().enumerate() {
        let position = position as i64;
        match r.id {
            Some(id) => {
                query("UPDATE requirements SET position = $1, kind = $2, course_id = $3, min_grade = $4, hours = $5,
                         category = $6, title = $7, active = TRUE, max_hours_per_category = $11,
                         max_hours_by_source = $12, components = $13, repeatable = $14
                     WHERE agency_id = $8 AND credential_type_id = $9 AND id = $10").arg(position).arg(&r.kind).arg(r.course_id).arg(r.min_grade).arg(r.hours).arg(&r.category).arg(&r.title).arg(agency_id).arg(type_id).arg(id)
                     .arg(r.max_hours_per_category).arg(&r.max_hours_by_source).arg(&r.components).arg(r.repeatable)
        .execute(tx).await?;
            }
            None => {
                query("INSERT INTO requirements (agency_id, credential_type_id, position, kind, course_id, min_grade, hours, category, title,
                         max_hours_per_category, max_hours_by_source, components, repeatable)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)").arg(agency_id).arg(type_id).arg(position).arg(&r.kind).arg(r.course_id).arg(r.min_grade).arg(r.hours).arg(&r.category).arg(&r.title)
                     .arg(r.max_hours_per_category).arg(&r.max_hours_by_source).arg(&r.components).arg(r.repeatable)
        .execute(tx).await?;
            }
        }
    }
    Ok(())
}

/// Ids of all requirements (active or not) that belong to the type.
pub async fn requirement_ids_of_type(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Vec<RequirementId>> {
    query("SELECT id FROM requirements WHERE agency_id = $1 AND credential_type_id = $2")
        .arg(agency_id)
        .arg(type_id)
        .scalars(db)
        .await
}

/// `(credential_type_id, group_id)` for the given types.
pub async fn enrolment_groups_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_ids: &[CredentialTypeId],
) -> Result<Vec<(CredentialTypeId, GroupId)>> {
    if type_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q =
        Query::new("SELECT credential_type_id, group_id FROM enrolment_groups WHERE agency_id = ");
    q.bind(agency_id)
        .push(" AND credential_type_id IN ")
        .bind_json_ids(db.backend(), type_ids);
    q.push(" ORDER BY credential_type_id, group_id");
    q.fetch_all(db).await
}

pub async fn replace_enrolment_groups(
    tx: &mut Tx,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
    group_ids: &[GroupId],
) -> Result<()> {
    query("DELETE FROM enrolment_groups WHERE agency_id = $1 AND credential_type_id = $2")
        .arg(agency_id)
        .arg(type_id)
        .execute(tx)
        .await?;
    for g in group_ids {
        query("INSERT INTO enrolment_groups (agency_id, credential_type_id, group_id) VALUES ($1, $2, $3)").arg(agency_id).arg(type_id).arg(*g)
        .execute(tx).await?;
    }
    Ok(())
}

/// Whether any credential exists for the type (then its code and requirements' meaning are
/// part of history).
pub async fn type_in_use(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<bool> {
    let n: i64 = query("SELECT COUNT(*) FROM (SELECT 1 FROM credentials WHERE agency_id = $1 AND credential_type_id = $2 LIMIT 1) t").arg(agency_id).arg(type_id)
        .scalar(db).await?;
    Ok(n > 0)
}

/// Published types that enrol members of any of these groups.
pub async fn published_types_enrolling(
    db: &mut impl Conn,
    agency_id: AgencyId,
    group_ids: &[GroupId],
) -> Result<Vec<CredentialTypeId>> {
    if group_ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = Query::new(
        "SELECT DISTINCT t.id FROM enrolment_groups e JOIN credential_types t ON t.id = e.credential_type_id
         WHERE t.state = 'published' AND e.agency_id = ",
    );
    q.bind(agency_id)
        .push(" AND e.group_id IN ")
        .bind_json_ids(db.backend(), group_ids)
        .push(" ORDER BY t.id");
    q.scalars(db).await
}

/// Members of the type's enrolment groups.
pub async fn enrolment_member_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    type_id: CredentialTypeId,
) -> Result<Vec<MemberId>> {
    query(
        "SELECT DISTINCT gm.member_id FROM enrolment_groups e
         JOIN group_memberships gm ON gm.agency_id = e.agency_id AND gm.group_id = e.group_id
         WHERE e.agency_id = $1 AND e.credential_type_id = $2 ORDER BY gm.member_id",
    )
    .arg(agency_id)
    .arg(type_id)
    .scalars(db)
    .await
}

/// The course of a course requirement, as (course id, course name).
pub async fn requirement_course(
    db: &mut impl Conn,
    agency_id: AgencyId,
    requirement_id: RequirementId,
) -> Result<Option<(CourseId, String)>> {
    query("SELECT c.id, c.name FROM requirements r JOIN courses c ON c.id = r.course_id WHERE r.agency_id = $1 AND r.id = $2").arg(agency_id).arg(requirement_id)
        .fetch_optional(db).await
}
