//! Certificate templates (with every saved version), certificates generated from them,
//! and the facts of the issuances they are generated for.

use chrono::{DateTime, NaiveDate, Utc};
use credence_domain::ids::{
    AgencyId, CertificateId, ClassId, CredentialId, CredentialTypeId, FileId, IssuanceId, MemberId,
    TemplateId,
};

use crate::query::{escape_like, fetch_in_batches, LIKE_ESCAPE};
use crate::{now, query, Conn, Query, Result, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: TemplateId,
    pub name: String,
    pub kind: String,
    pub source: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const TEMPLATE_COLUMNS: &str = "id, name, kind, source, version, created_at, updated_at";

pub async fn templates(db: &mut impl Conn, agency_id: AgencyId) -> Result<Vec<TemplateRow>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS} FROM certificate_templates WHERE agency_id = $1 ORDER BY id"
    );
    query(&sql).arg(agency_id).fetch_all(db).await
}

pub async fn template(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: TemplateId,
) -> Result<Option<TemplateRow>> {
    let sql = format!(
        "SELECT {TEMPLATE_COLUMNS} FROM certificate_templates WHERE agency_id = $1 AND id = $2"
    );
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// A new template at version 1.
pub async fn insert_template(
    tx: &mut Tx,
    agency_id: AgencyId,
    name: &str,
    kind: &str,
    source: &str,
    by: &str,
) -> Result<TemplateId> {
    let at = now();
    let id: TemplateId = query("INSERT INTO certificate_templates (agency_id, name, kind, source, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 1, $5, $5) RETURNING id").arg(agency_id).arg(name).arg(kind).arg(source).arg(at)
        .scalar(tx).await?;
    insert_version(tx, agency_id, id, 1, source, by).await?;
    Ok(id)
}

/// Saves a new version when `expected_version` is current; `None` when it is not.
pub async fn update_template(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: TemplateId,
    name: &str,
    source: &str,
    expected_version: i64,
    by: &str,
) -> Result<Option<i64>> {
    let version: Option<i64> = query("UPDATE certificate_templates SET name = $1, source = $2, version = version + 1, updated_at = $3
         WHERE agency_id = $4 AND id = $5 AND version = $6 RETURNING version").arg(name).arg(source).arg(now()).arg(agency_id).arg(id).arg(expected_version)
        .scalar_optional(tx).await?;
    if let Some(v) = version {
        insert_version(tx, agency_id, id, v, source, by).await?;
    }
    Ok(version)
}

async fn insert_version(
    tx: &mut Tx,
    agency_id: AgencyId,
    template_id: TemplateId,
    version: i64,
    source: &str,
    by: &str,
) -> Result<()> {
    query("INSERT INTO certificate_template_versions (agency_id, template_id, version, source, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)").arg(agency_id).arg(template_id).arg(version).arg(source).arg(by).arg(now())
        .execute(tx).await?;
    Ok(())
}

/// The source of one saved version of a template.
pub async fn template_version_source(
    db: &mut impl Conn,
    agency_id: AgencyId,
    template_id: TemplateId,
    version: i64,
) -> Result<Option<String>> {
    query("SELECT source FROM certificate_template_versions WHERE agency_id = $1 AND template_id = $2 AND version = $3").arg(agency_id).arg(template_id).arg(version)
        .scalar_optional(db).await
}

/// What a certificate says, read from an issuance and what it belongs to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IssuanceFacts {
    pub issuance_id: IssuanceId,
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub employee_number: Option<String>,
    pub email: Option<String>,
    pub credential_type_id: CredentialTypeId,
    pub type_name: String,
    pub type_code: String,
    pub type_description: String,
    pub type_template_id: Option<TemplateId>,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub number: Option<String>,
    pub officer: Option<String>,
    pub status_reason: Option<String>,
}

const FACTS: &str = "SELECT i.id AS issuance_id, i.credential_id, m.id AS member_id, m.first_name, m.last_name,
        m.employee_number, m.email, t.id AS credential_type_id, t.name AS type_name, t.code AS type_code,
        t.description AS type_description, t.certificate_template_id AS type_template_id, i.issue_date,
        i.expiration_date, i.credential_number AS number, i.issuing_officer AS officer, i.status_reason
    FROM issuances i JOIN credentials c ON c.id = i.credential_id JOIN members m ON m.id = c.member_id
    JOIN credential_types t ON t.id = i.credential_type_id";

/// The current, unrevoked issuance of each of `credential_ids` that has one.
pub async fn current_issuances(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_ids: &[CredentialId],
) -> Result<Vec<IssuanceFacts>> {
    let mut out = Vec::new();
    fetch_in_batches(
        db,
        credential_ids,
        |chunk| {
            let mut q = Query::new(format!(
                "{FACTS} WHERE i.id = c.issuance_id AND i.revoked_at IS NULL AND +c.agency_id = "
            ));
            q.bind(agency_id)
                .push(" AND c.id IN ")
                .bind_ids(chunk)
                .push(" ORDER BY m.sort_name, c.id");
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// The facts of the given issuances (revoked ones included; callers decide).
pub async fn issuance_facts(
    db: &mut impl Conn,
    agency_id: AgencyId,
    issuance_ids: &[IssuanceId],
) -> Result<Vec<(IssuanceFacts, bool)>> {
    let mut out: Vec<IssuanceFactsRevoked> = Vec::new();
    fetch_in_batches(
        db,
        issuance_ids,
        |chunk| {
            let mut q = Query::new(
                FACTS.replace(
                    "SELECT i.id AS issuance_id",
                    "SELECT i.revoked_at IS NOT NULL AS revoked, i.id AS issuance_id",
                ) + " WHERE +i.agency_id = ",
            );
            q.bind(agency_id).push(" AND i.id IN ").bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out.into_iter().map(|r| (r.facts, r.revoked)).collect())
}

#[derive(sqlx::FromRow)]
struct IssuanceFactsRevoked {
    revoked: bool,
    #[sqlx(flatten)]
    facts: IssuanceFacts,
}

/// Every unrevoked issuance of a type issued within the dates (inclusive).
pub async fn issuances_of_type(
    db: &mut impl Conn,
    agency_id: AgencyId,
    credential_type_id: CredentialTypeId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<IssuanceFacts>> {
    let sql = format!(
        "{FACTS} WHERE i.agency_id = $1 AND i.credential_type_id = $2 AND i.issue_date BETWEEN $3 AND $4
         AND i.revoked_at IS NULL ORDER BY m.sort_name, i.id"
    );
    query(&sql)
        .arg(agency_id)
        .arg(credential_type_id)
        .arg(from)
        .arg(to)
        .fetch_all(db)
        .await
}

/// The credentials of a class's roster whose type asks for the class's course (once results
/// are in, only the attendees').
pub async fn class_credential_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    class_id: ClassId,
) -> Result<Option<Vec<CredentialId>>> {
    let exists: Option<i64> = query("SELECT id FROM classes WHERE agency_id = $1 AND id = $2")
        .arg(agency_id)
        .arg(class_id)
        .scalar_optional(db)
        .await?;
    if exists.is_none() {
        return Ok(None);
    }
    let ids = query("SELECT DISTINCT c.id FROM classes k
         JOIN class_roster r ON r.agency_id = k.agency_id AND r.class_id = k.id AND r.attended IS NOT FALSE
         JOIN credentials c ON c.agency_id = k.agency_id AND c.member_id = r.member_id
         JOIN requirements q ON q.credential_type_id = c.credential_type_id AND q.course_id = k.course_id AND q.active
         WHERE k.agency_id = $1 AND k.id = $2 ORDER BY c.id").arg(agency_id).arg(class_id)
        .scalars(db).await?;
    Ok(Some(ids))
}

pub struct NewCertificate<'a> {
    pub public_id: &'a str,
    pub facts: &'a IssuanceFacts,
    pub template_id: TemplateId,
    pub template_version: i64,
    pub data_snapshot: &'a str,
    pub status: &'a str,
    pub file_id: Option<FileId>,
    pub created_by: &'a str,
    /// Rendered by the background renderer ([`claim_renders`]): an issuing workflow's
    /// automatic request.
    pub queued: bool,
}

pub async fn insert_certificate(
    tx: &mut Tx,
    agency_id: AgencyId,
    n: &NewCertificate<'_>,
) -> Result<CertificateId> {
    let at = now();
    let generated_at = n.file_id.map(|_| at);
    let render_due_at = n.queued.then_some(at);
    query("INSERT INTO certificates (agency_id, public_id, issuance_id, credential_id, member_id, template_id,
            template_version, data_snapshot, status, number, file_id, created_by, created_at, generated_at, render_due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id").arg(agency_id).arg(n.public_id).arg(n.facts.issuance_id).arg(n.facts.credential_id).arg(n.facts.member_id).arg(n.template_id).arg(n.template_version).arg(n.data_snapshot).arg(n.status).arg(n.facts.number.as_deref()).arg(n.file_id).arg(n.created_by).arg(at).arg(generated_at).arg(render_due_at)
        .scalar(tx).await
}

/// A (re)generated certificate's new file and what it was made from.
pub struct Generation<'a> {
    pub template_id: TemplateId,
    pub template_version: i64,
    pub data_snapshot: &'a str,
    pub number: Option<&'a str>,
    pub file_id: FileId,
}

/// Records a (re)generated file; only certificates not yet issued change. A queued
/// background render of it is then done.
pub async fn set_generated(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: CertificateId,
    g: &Generation<'_>,
) -> Result<bool> {
    let n = query("UPDATE certificates SET status = 'generated', template_id = $1, template_version = $2, data_snapshot = $3,
            number = $4, file_id = $5, generated_at = $6, render_due_at = NULL
         WHERE agency_id = $7 AND id = $8 AND status <> 'issued'").arg(g.template_id).arg(g.template_version).arg(g.data_snapshot).arg(g.number).arg(g.file_id).arg(now()).arg(agency_id).arg(id)
        .execute(tx).await?;
    Ok(n == 1)
}

/// A certificate the background renderer claimed, and how many times it has been claimed.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct RenderClaim {
    pub agency_id: AgencyId,
    pub id: CertificateId,
    pub render_attempts: i32,
}

/// Claims up to `limit` queued certificates whose render is due, in any agency, for
/// `lease`: the claim moves the due time forward, so a renderer that dies mid-batch leaves
/// them to be claimed again once the lease lapses, and counts the attempt.
pub async fn claim_renders(
    tx: &mut Tx,
    limit: i64,
    lease: chrono::Duration,
) -> Result<Vec<RenderClaim>> {
    let at = now();
    let lock = if tx.backend() == crate::Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE certificates SET render_due_at = $1, render_attempts = render_attempts + 1
         WHERE id IN (SELECT id FROM certificates WHERE render_due_at <= $2
                      ORDER BY render_due_at, id LIMIT $3{lock})
         RETURNING agency_id, id, render_attempts"
    );
    query(&sql)
        .arg(at + lease)
        .arg(at)
        .arg(limit)
        .fetch_all(tx)
        .await
}

/// Sets when the queued render of certificates is next due; `None` takes them off the
/// queue (rendered some other way, issued, revoked, or given up on).
pub async fn reschedule_renders(
    tx: &mut Tx,
    agency_id: AgencyId,
    ids: &[CertificateId],
    due: Option<DateTime<Utc>>,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let backend = tx.backend();
    let mut q = Query::new("UPDATE certificates SET render_due_at = ");
    q.bind(due)
        .push(" WHERE +agency_id = ")
        .bind(agency_id)
        .push(" AND id IN ")
        .bind_json_ids(backend, ids);
    q.execute(tx).await?;
    Ok(())
}

/// Locks a generated certificate; false when it is not in the generated state.
pub async fn set_issued(
    tx: &mut Tx,
    agency_id: AgencyId,
    id: CertificateId,
    by: &str,
) -> Result<bool> {
    let n = query(
        "UPDATE certificates SET status = 'issued', issued_at = $1, issued_by = $2
         WHERE agency_id = $3 AND id = $4 AND status = 'generated'",
    )
    .arg(now())
    .arg(by)
    .arg(agency_id)
    .arg(id)
    .execute(tx)
    .await?;
    Ok(n == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub id: CertificateId,
    pub agency_id: AgencyId,
    pub public_id: String,
    pub issuance_id: IssuanceId,
    pub credential_id: CredentialId,
    pub member_id: MemberId,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub credential_type_id: CredentialTypeId,
    pub type_name: String,
    pub template_id: TemplateId,
    pub template_name: String,
    pub template_version: i64,
    pub data_snapshot: String,
    pub status: String,
    pub number: Option<String>,
    pub file_id: Option<FileId>,
    pub storage_key: Option<String>,
    pub issue_date: NaiveDate,
    pub expiration_date: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub generated_at: Option<DateTime<Utc>>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: Option<String>,
    pub agency_name: String,
    /// The issuance's own number, officer and revocation reason (the verify page shows them).
    pub credential_number: Option<String>,
    pub issuing_officer: Option<String>,
    pub revoke_reason: Option<String>,
}

const CERTIFICATE: &str = "SELECT k.id, k.agency_id, k.public_id, k.issuance_id, k.credential_id, k.member_id, m.first_name,
        m.last_name, m.email, i.credential_type_id, t.name AS type_name, k.template_id, p.name AS template_name,
        k.template_version, k.data_snapshot, k.status, k.number, k.file_id, f.storage_key, i.issue_date,
        i.expiration_date, i.revoked_at, k.created_by, k.created_at, k.generated_at, k.issued_at, k.issued_by,
        a.name AS agency_name, i.credential_number, i.issuing_officer, i.revoke_reason
    FROM certificates k JOIN members m ON m.id = k.member_id JOIN issuances i ON i.id = k.issuance_id
    JOIN credential_types t ON t.id = i.credential_type_id JOIN certificate_templates p ON p.id = k.template_id
    JOIN agencies a ON a.id = k.agency_id LEFT JOIN files f ON f.id = k.file_id";

pub async fn certificate(
    db: &mut impl Conn,
    agency_id: AgencyId,
    id: CertificateId,
) -> Result<Option<CertificateRow>> {
    let sql = format!("{CERTIFICATE} WHERE k.agency_id = $1 AND k.id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// The certificate a public verification link names, in any agency.
pub async fn by_public_id(db: &mut impl Conn, public_id: &str) -> Result<Option<CertificateRow>> {
    let sql = format!("{CERTIFICATE} WHERE k.public_id = $1");
    query(&sql).arg(public_id).fetch_optional(db).await
}

/// The agency's certificates among `ids`, in the order of `ids`.
pub async fn certificates_by_ids(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[CertificateId],
) -> Result<Vec<CertificateRow>> {
    let mut out: Vec<CertificateRow> = Vec::with_capacity(ids.len());
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new(format!("{CERTIFICATE} WHERE +k.agency_id = "));
            q.bind(agency_id).push(" AND k.id IN ").bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    let position: std::collections::HashMap<CertificateId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    out.sort_by_key(|r| position.get(&r.id).copied());
    Ok(out)
}

/// Filters of the Credential Register.
#[derive(Debug, Default, Clone)]
pub struct RegisterFilter {
    pub status: Option<String>,
    pub credential_type_id: Option<CredentialTypeId>,
    pub member_id: Option<MemberId>,
    pub credential_id: Option<CredentialId>,
    /// Certificates of the credentials [`class_credential_ids`] names for the class.
    pub class_id: Option<ClassId>,
    /// Matches the member's name, the credential number or the type's name.
    pub search: Option<String>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
}

/// Newest first; `before_id` continues a page.
pub async fn register(
    db: &mut impl Conn,
    agency_id: AgencyId,
    f: &RegisterFilter,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<CertificateRow>> {
    let mut q = Query::new(format!("{CERTIFICATE} WHERE k.agency_id = "));
    q.bind(agency_id);
    // A revoked issuance's certificates are "revoked" whatever their own state.
    match f.status.as_deref() {
        None => {}
        Some("revoked") => {
            q.push(" AND i.revoked_at IS NOT NULL");
        }
        Some(s) => {
            q.push(" AND i.revoked_at IS NULL AND k.status = ").bind(s);
        }
    }
    if let Some(t) = f.credential_type_id {
        q.push(" AND i.credential_type_id = ").bind(t);
    }
    if let Some(m) = f.member_id {
        q.push(" AND k.member_id = ").bind(m);
    }
    if let Some(c) = f.credential_id {
        q.push(" AND k.credential_id = ").bind(c);
    }
    if let Some(class) = f.class_id {
        q.push(
            " AND k.credential_id IN (SELECT cr.id FROM classes cl
              JOIN class_roster r ON r.agency_id = cl.agency_id AND r.class_id = cl.id AND r.attended IS NOT FALSE
              JOIN credentials cr ON cr.agency_id = cl.agency_id AND cr.member_id = r.member_id
              JOIN requirements q ON q.credential_type_id = cr.credential_type_id AND q.course_id = cl.course_id AND q.active
              WHERE cl.agency_id = ",
        )
        .bind(agency_id)
        .push(" AND cl.id = ")
        .bind(class)
        .push(")");
    }
    if let Some(d) = f.issued_from {
        q.push(" AND i.issue_date >= ").bind(d);
    }
    if let Some(d) = f.issued_to {
        q.push(" AND i.issue_date <= ").bind(d);
    }
    if let Some(s) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        // The text matches literally: `%` and `_` in it are not wildcards.
        let pattern = format!("%{}%", escape_like(&s.to_lowercase()));
        q.push(" AND (LOWER(m.first_name || ' ' || m.last_name) LIKE ")
            .bind(pattern.clone())
            .push(LIKE_ESCAPE)
            .push(" OR LOWER(COALESCE(k.number, '')) LIKE ")
            .bind(pattern.clone())
            .push(LIKE_ESCAPE)
            .push(" OR LOWER(t.name) LIKE ")
            .bind(pattern)
            .push(LIKE_ESCAPE)
            .push(")");
    }
    if let Some(b) = before_id {
        q.push(" AND k.id < ").bind(b);
    }
    q.push(" ORDER BY k.id DESC LIMIT ").bind(limit);
    q.fetch_all(db).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: FileId,
    pub storage_key: String,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

const FILE_COLUMNS: &str =
    "id, storage_key, original_name, content_type, size_bytes, sha256, uploaded_by, created_at";

/// The files attached to something (an issuance's documents, a certificate's history),
/// newest first.
pub async fn files_of(
    db: &mut impl Conn,
    agency_id: AgencyId,
    owner_kind: &str,
    owner_id: i64,
) -> Result<Vec<FileRow>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE agency_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY id DESC"
    );
    query(&sql)
        .arg(agency_id)
        .arg(owner_kind)
        .arg(owner_id)
        .fetch_all(db)
        .await
}

pub async fn file(db: &mut impl Conn, agency_id: AgencyId, id: FileId) -> Result<Option<FileRow>> {
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE agency_id = $1 AND id = $2");
    query(&sql).arg(agency_id).arg(id).fetch_optional(db).await
}

/// The `owner_kind` of an agency's logos (`owner_id` is the agency). Every logo ever
/// uploaded stays: certificates name the one they were made with.
pub const LOGO_OWNER: &str = "agency_logo";

/// The agency's current logo, if it has one.
pub async fn agency_logo(db: &mut impl Conn, agency_id: AgencyId) -> Result<Option<FileRow>> {
    let sql = format!(
        "SELECT {FILE_COLUMNS} FROM files WHERE agency_id = $1
         AND id = (SELECT logo_file_id FROM agencies WHERE id = $2)"
    );
    query(&sql)
        .arg(agency_id)
        .arg(agency_id)
        .fetch_optional(db)
        .await
}

/// Makes a file the agency's current logo, or (`None`) leaves it without one.
pub async fn set_agency_logo(
    tx: &mut Tx,
    agency_id: AgencyId,
    file_id: Option<FileId>,
) -> Result<()> {
    query("UPDATE agencies SET logo_file_id = $1 WHERE id = $2")
        .arg(file_id)
        .arg(agency_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// The agency's logos (current or earlier) among `ids`.
pub async fn logo_files(
    db: &mut impl Conn,
    agency_id: AgencyId,
    ids: &[FileId],
) -> Result<Vec<FileRow>> {
    let mut out = Vec::with_capacity(ids.len());
    fetch_in_batches(
        db,
        ids,
        |chunk| {
            let mut q = Query::new(format!(
                "SELECT {FILE_COLUMNS} FROM files WHERE agency_id = "
            ));
            q.bind(agency_id)
                .push(" AND owner_kind = ")
                .bind(LOGO_OWNER)
                .push(" AND id IN ")
                .bind_ids(chunk);
            q
        },
        |rows| out.extend(rows),
    )
    .await?;
    Ok(out)
}

/// The member a file belongs to: through its issuance, its certificate or the submission
/// that uploaded it.
pub async fn file_member(
    db: &mut impl Conn,
    agency_id: AgencyId,
    file_id: FileId,
) -> Result<Option<MemberId>> {
    query("SELECT CASE f.owner_kind
            WHEN 'issuance' THEN (SELECT c.member_id FROM issuances i JOIN credentials c ON c.id = i.credential_id WHERE i.id = f.owner_id)
            WHEN 'certificate' THEN (SELECT k.member_id FROM certificates k WHERE k.id = f.owner_id)
            WHEN 'external_submission' THEN f.owner_id
         END
         FROM files f WHERE f.agency_id = $1 AND f.id = $2").arg(agency_id).arg(file_id)
        .scalar_optional(db).await
    .map(Option::flatten)
}

/// Of these issuances, those that already have an issued (locked) certificate.
pub async fn issuances_with_issued_certificates(
    db: &mut impl Conn,
    agency_id: AgencyId,
    issuance_ids: &[IssuanceId],
) -> Result<std::collections::HashSet<IssuanceId>> {
    let mut out = std::collections::HashSet::new();
    fetch_in_batches(
        db,
        issuance_ids,
        |chunk| {
            let mut q =
                Query::new("SELECT DISTINCT issuance_id FROM certificates WHERE agency_id = ");
            q.bind(agency_id)
                .push(" AND status = 'issued' AND issuance_id IN ")
                .bind_ids(chunk);
            q
        },
        |rows: Vec<(IssuanceId,)>| out.extend(rows.into_iter().map(|(id,)| id)),
    )
    .await?;
    Ok(out)
}
