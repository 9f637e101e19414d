//! The lists as spreadsheets: credentials, members, training records, the audit log and the
//! certificate register, with the same filters as their JSON pages. Rows name people (with
//! employee number and current groups), types and courses; ids follow as extra columns so a
//! sheet can be joined back to the API.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use credence_domain::ids::{CourseId, CredentialTypeId, GroupId, MemberId};
use credence_store::Conn;

use super::{export, Export, ExportFormat, PageSource, Row, EXPORT_PAGE};
use crate::credentials::views::{CredentialListFilter, CredentialView};
use crate::documents::certificates::{CertificateView, RegisterQuery};
use crate::ops::audit::{AuditEventView, AuditFilter};
use crate::page::{Page, PageParams};
use crate::people::members::{MemberListFilter, MemberView};
use crate::training::records::{TrainingRecordFilter, TrainingRecordView};
use crate::{App, Reader, Result};

/// A member as exports name them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Person {
    pub name: String,
    pub employee_number: Option<String>,
    /// Current groups by name, `; `-separated.
    pub groups: String,
}

/// Names, employee numbers and current groups of `ids` (one query each for members,
/// memberships and groups).
pub(crate) async fn people(
    db: &mut impl Conn,
    agency_id: credence_domain::ids::AgencyId,
    ids: &[MemberId],
) -> Result<HashMap<MemberId, Person>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let names = credence_store::reports::compliance::member_names(db, agency_id, &ids).await?;
    let memberships = credence_store::people::members::memberships_of(db, agency_id, &ids).await?;
    let mut group_ids: Vec<GroupId> = memberships.iter().map(|(_, g)| *g).collect();
    group_ids.sort_unstable();
    group_ids.dedup();
    let group_names: HashMap<GroupId, String> =
        credence_store::people::groups::groups_by_ids(db, agency_id, &group_ids)
            .await?
            .into_iter()
            .map(|g| (g.id, g.name))
            .collect();
    let mut groups: HashMap<MemberId, Vec<&str>> = HashMap::new();
    for (member, group) in &memberships {
        if let Some(name) = group_names.get(group) {
            groups.entry(*member).or_default().push(name);
        }
    }
    Ok(names
        .into_iter()
        .map(|(id, first, last, number)| {
            let mut in_groups = groups.remove(&id).unwrap_or_default();
            in_groups.sort_unstable();
            let person = Person {
                name: format!("{last}, {first}"),
                employee_number: number,
                groups: in_groups.join("; "),
            };
            (id, person)
        })
        .collect())
}

fn person(people: &HashMap<MemberId, Person>, id: &MemberId) -> Person {
    people.get(id).cloned().unwrap_or_else(|| Person {
        name: id.to_string(),
        ..Person::default()
    })
}

/// Every credential type's name (an agency has tens, not thousands).
pub(crate) async fn type_names(
    db: &mut impl Conn,
    agency_id: credence_domain::ids::AgencyId,
) -> Result<HashMap<CredentialTypeId, String>> {
    let types = credence_store::catalog::credential_types::types_page(
        db, agency_id, None, false, None, 10_000,
    )
    .await?;
    Ok(types.into_iter().map(|t| (t.id, t.name)).collect())
}

/// Every page of a JSON list (`list` answers one for the given page parameters), each turned
/// into rows by `rows`.
fn pages_of<T, L, LFut, R, RFut>(list: L, rows: R) -> impl PageSource<String>
where
    T: Send + 'static,
    L: Fn(PageParams) -> LFut + Send + Sync + 'static,
    LFut: Future<Output = Result<Page<T>>> + Send + 'static,
    R: Fn(Vec<T>) -> RFut + Send + Sync + 'static,
    RFut: Future<Output = Result<Vec<Row>>> + Send + 'static,
{
    let (list, rows) = (Arc::new(list), Arc::new(rows));
    move |cursor: Option<String>| {
        let page = list(PageParams {
            limit: Some(EXPORT_PAGE),
            cursor,
        });
        let rows = rows.clone();
        async move {
            let page = page.await?;
            Ok((rows(page.items).await?, page.next_cursor))
        }
    }
}

const CREDENTIAL_COLUMNS: [&str; 17] = [
    "member",
    "employee_number",
    "groups",
    "credential_type",
    "status",
    "lapsed",
    "progress",
    "issue_date",
    "expiration_date",
    "credential_number",
    "issuing_officer",
    "status_reason",
    "period_start",
    "period_end",
    "due_date",
    "member_id",
    "credential_id",
];

fn credential_row(c: &CredentialView, who: Person, type_name: Option<&String>) -> Row {
    let issuance = c.current_issuance.as_ref();
    let period = c.open_period.as_ref();
    vec![
        who.name.into(),
        who.employee_number.into(),
        who.groups.into(),
        type_name
            .cloned()
            .unwrap_or_else(|| c.credential_type_id.to_string())
            .into(),
        c.status_label.as_str().into(),
        c.lapsed.into(),
        c.progress.into(),
        issuance.map(|i| i.issue_date).into(),
        issuance.and_then(|i| i.expiration_date).into(),
        issuance.and_then(|i| i.credential_number.clone()).into(),
        issuance.and_then(|i| i.issuing_officer.clone()).into(),
        issuance.and_then(|i| i.status_reason.clone()).into(),
        period.map(|p| p.start).into(),
        period.map(|p| p.end).into(),
        period.map(|p| p.due_date).into(),
        c.member_id.to_string().into(),
        c.id.to_string().into(),
    ]
}

const MEMBER_COLUMNS: [&str; 11] = [
    "last_name",
    "first_name",
    "employee_number",
    "email",
    "position",
    "groups",
    "supervisor",
    "active",
    "member_id",
    "supervisor_member_id",
    "created_at",
];

fn member_row(m: MemberView, groups: &str, supervisor: Option<&Person>) -> Row {
    vec![
        m.last_name.into(),
        m.first_name.into(),
        m.employee_number.into(),
        m.email.into(),
        m.position.into(),
        groups.into(),
        supervisor.map(|s| s.name.clone()).into(),
        m.active.into(),
        m.id.to_string().into(),
        m.supervisor_member_id.map(|s| s.to_string()).into(),
        m.created_at.date_naive().into(),
    ]
}

const TRAINING_COLUMNS: [&str; 14] = [
    "member",
    "employee_number",
    "groups",
    "course_code",
    "course",
    "completed_on",
    "hours",
    "category",
    "score",
    "source",
    "recorded_by",
    "recorded_at",
    "member_id",
    "training_record_id",
];

fn training_row(r: TrainingRecordView, who: Person, course: Option<&(String, String)>) -> Row {
    vec![
        who.name.into(),
        who.employee_number.into(),
        who.groups.into(),
        course.map(|c| c.0.clone()).into(),
        course.map(|c| c.1.clone()).into(),
        r.completed_on.into(),
        r.hours.into(),
        r.category.into(),
        r.score.into(),
        r.source.into(),
        r.created_by.into(),
        r.created_at.to_rfc3339().into(),
        r.member_id.to_string().into(),
        r.id.to_string().into(),
    ]
}

const AUDIT_COLUMNS: [&str; 10] = [
    "at",
    "actor",
    "action",
    "subject_type",
    "subject",
    "before",
    "after",
    "actor_label",
    "subject_id",
    "hash",
];

const CERTIFICATE_COLUMNS: [&str; 14] = [
    "member",
    "employee_number",
    "groups",
    "credential_type",
    "number",
    "issue_date",
    "expiration_date",
    "status",
    "template",
    "generated_at",
    "issued_at",
    "verify_url",
    "member_id",
    "certificate_id",
];

fn certificate_row(v: CertificateView, who: Person) -> Row {
    vec![
        v.member_name.into(),
        who.employee_number.into(),
        who.groups.into(),
        v.credential_type_name.into(),
        v.number.into(),
        v.issue_date.into(),
        v.expiration_date.into(),
        v.status.as_str().into(),
        v.template_name.into(),
        v.generated_at.map(|d| d.to_rfc3339()).into(),
        v.issued_at.map(|d| d.to_rfc3339()).into(),
        v.verify_url.into(),
        v.member_id.to_string().into(),
        v.id.to_string().into(),
    ]
}

impl App {
    /// Looks up the people a page of rows names, in its own read.
    async fn people_of(
        &self,
        actor: &Reader,
        ids: &[MemberId],
    ) -> Result<HashMap<MemberId, Person>> {
        let mut db = self.store.read().await?;
        people(&mut db, actor.agency_id, ids).await
    }

    /// Every credential the filter matches (Manage Credentials' filters and sort).
    pub async fn export_credentials(
        &self,
        actor: &Reader,
        filter: CredentialListFilter,
        format: ExportFormat,
    ) -> Result<Export> {
        // A wrong filter is a clean error before the first byte.
        self.credentials(actor, &filter, &PageParams::first(1))
            .await?;
        let types = Arc::new(type_names(&mut self.store.read().await?, actor.agency_id).await?);
        let (app, reader) = (self.clone(), actor.clone());
        let list = move |page: PageParams| {
            let (app, reader, filter) = (app.clone(), reader.clone(), filter.clone());
            async move { app.credentials(&reader, &filter, &page).await }
        };
        let (app, reader) = (self.clone(), actor.clone());
        let rows = move |items: Vec<CredentialView>| {
            let (app, reader, types) = (app.clone(), reader.clone(), types.clone());
            async move {
                let ids: Vec<MemberId> = items.iter().map(|c| c.member_id).collect();
                let people = app.people_of(&reader, &ids).await?;
                Ok(items
                    .iter()
                    .map(|c| {
                        let who = person(&people, &c.member_id);
                        credential_row(c, who, types.get(&c.credential_type_id))
                    })
                    .collect())
            }
        };
        Ok(export(
            format,
            "credentials",
            &CREDENTIAL_COLUMNS,
            pages_of(list, rows),
        ))
    }

    /// Every member the filter matches, by name.
    pub async fn export_members(
        &self,
        actor: &Reader,
        filter: MemberListFilter,
        format: ExportFormat,
    ) -> Result<Export> {
        self.members(actor, &filter, &PageParams::first(1)).await?;
        let (app, reader) = (self.clone(), actor.clone());
        let list = move |page: PageParams| {
            let (app, reader, filter) = (app.clone(), reader.clone(), filter.clone());
            async move { app.members(&reader, &filter, &page).await }
        };
        let (app, reader) = (self.clone(), actor.clone());
        let rows = move |items: Vec<MemberView>| {
            let (app, reader) = (app.clone(), reader.clone());
            async move {
                let mut ids: Vec<MemberId> = items.iter().map(|m| m.id).collect();
                ids.extend(items.iter().filter_map(|m| m.supervisor_member_id));
                let people = app.people_of(&reader, &ids).await?;
                Ok(items
                    .into_iter()
                    .map(|m| {
                        let groups = person(&people, &m.id).groups;
                        let supervisor = m.supervisor_member_id.and_then(|s| people.get(&s));
                        member_row(m, &groups, supervisor)
                    })
                    .collect())
            }
        };
        Ok(export(
            format,
            "members",
            &MEMBER_COLUMNS,
            pages_of(list, rows),
        ))
    }

    /// Every training record the filter matches, newest first.
    pub async fn export_training_records(
        &self,
        actor: &Reader,
        filter: TrainingRecordFilter,
        format: ExportFormat,
    ) -> Result<Export> {
        self.training_records(actor, &filter, &PageParams::first(1))
            .await?;
        let (app, reader) = (self.clone(), actor.clone());
        let list = move |page: PageParams| {
            let (app, reader, filter) = (app.clone(), reader.clone(), filter.clone());
            async move { app.training_records(&reader, &filter, &page).await }
        };
        let (app, reader) = (self.clone(), actor.clone());
        let rows = move |items: Vec<TrainingRecordView>| {
            let (app, reader) = (app.clone(), reader.clone());
            async move {
                let ids: Vec<MemberId> = items.iter().map(|r| r.member_id).collect();
                let people = app.people_of(&reader, &ids).await?;
                let courses = app.course_names(&reader, &items).await?;
                Ok(items
                    .into_iter()
                    .map(|r| {
                        let who = person(&people, &r.member_id);
                        let course = r.course_id.and_then(|c| courses.get(&c));
                        training_row(r.clone(), who, course)
                    })
                    .collect())
            }
        };
        Ok(export(
            format,
            "training-records",
            &TRAINING_COLUMNS,
            pages_of(list, rows),
        ))
    }

    /// `(code, name)` of the courses a page of records names.
    async fn course_names(
        &self,
        actor: &Reader,
        records: &[TrainingRecordView],
    ) -> Result<HashMap<CourseId, (String, String)>> {
        let mut ids: Vec<CourseId> = records.iter().filter_map(|r| r.course_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut db = self.store.read().await?;
        Ok(
            credence_store::catalog::courses::courses_by_ids(&mut db, actor.agency_id, &ids)
                .await?
                .into_iter()
                .map(|c| (c.id, (c.code, c.name)))
                .collect(),
        )
    }

    /// The audit log (newest first) with who and what in words; the payloads as JSON text.
    pub async fn export_audit_events(
        &self,
        actor: &Reader,
        filter: AuditFilter,
        format: ExportFormat,
    ) -> Result<Export> {
        self.audit_events(actor, &filter, &PageParams::first(1))
            .await?;
        let (app, reader) = (self.clone(), actor.clone());
        let list = move |page: PageParams| {
            let (app, reader, filter) = (app.clone(), reader.clone(), filter.clone());
            async move { app.audit_events(&reader, &filter, &page).await }
        };
        let (app, reader) = (self.clone(), actor.clone());
        let rows = move |items: Vec<AuditEventView>| {
            let (app, reader) = (app.clone(), reader.clone());
            async move {
                let names = app.audit_names(&reader, &items, &[]).await?;
                let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
                Ok(items
                    .iter()
                    .map(|e| {
                        vec![
                            e.at.to_rfc3339().into(),
                            names.actor(&e.actor).into(),
                            e.action.as_str().into(),
                            e.subject_type.as_str().into(),
                            names.subject(&e.subject_id).into(),
                            json(&e.before).into(),
                            json(&e.after).into(),
                            e.actor.as_str().into(),
                            e.subject_id.to_string().into(),
                            e.hash.clone().into(),
                        ]
                    })
                    .collect())
            }
        };
        Ok(export(
            format,
            "audit-events",
            &AUDIT_COLUMNS,
            pages_of(list, rows),
        ))
    }

    /// The Credential Register: every matching certificate, newest first.
    pub async fn export_certificates(
        &self,
        actor: &Reader,
        query: RegisterQuery,
        format: ExportFormat,
    ) -> Result<Export> {
        self.certificate_register(actor, &query, &PageParams::first(1))
            .await?;
        let (app, reader) = (self.clone(), actor.clone());
        let list = move |page: PageParams| {
            let (app, reader, query) = (app.clone(), reader.clone(), query.clone());
            async move { app.certificate_register(&reader, &query, &page).await }
        };
        let (app, reader) = (self.clone(), actor.clone());
        let rows = move |items: Vec<CertificateView>| {
            let (app, reader) = (app.clone(), reader.clone());
            async move {
                let ids: Vec<MemberId> = items.iter().map(|c| c.member_id).collect();
                let people = app.people_of(&reader, &ids).await?;
                Ok(items
                    .into_iter()
                    .map(|c| {
                        let who = person(&people, &c.member_id);
                        certificate_row(c, who)
                    })
                    .collect())
            }
        };
        Ok(export(
            format,
            "credential-register",
            &CERTIFICATE_COLUMNS,
            pages_of(list, rows),
        ))
    }
}
