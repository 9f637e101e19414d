//! A member's profile, as the member page shows it: who they are, their groups, every
//! credential with its requirements, their training, and their certificates — one use case, so
//! the page only renders.

use chrono::NaiveDate;
use credence_domain::ids::MemberId;

use crate::catalog::courses::CourseView;
use crate::credentials::views::{CredentialDetail, CredentialListFilter};
use crate::documents::certificates::{CertificateView, RegisterQuery};
use crate::page::PageParams;
use crate::people::members::MemberView;
use crate::training::records::{TrainingRecordFilter, TrainingRecordView};
use crate::{Actor, App, Result};

/// At most this many of a member's credentials and training records are shown.
const SHOWN: i64 = 100;

pub struct MemberProfile {
    pub member: MemberView,
    /// The names of the member's groups.
    pub groups: Vec<String>,
    /// The supervisor's name ("Last, First"), when the member has one.
    pub supervisor: Option<String>,
    /// Each credential with its type's name.
    pub credentials: Vec<(CredentialDetail, String)>,
    /// Each training record with its course's name (empty for other training).
    pub records: Vec<(TrainingRecordView, String)>,
    /// The agency's courses, for recording training (empty for a member's own view).
    pub courses: Vec<CourseView>,
    pub certificates: Vec<CertificateView>,
    pub today: NaiveDate,
}

fn first_page(limit: i64) -> PageParams {
    PageParams {
        limit: Some(limit),
        cursor: None,
    }
}

impl App {
    /// The member page's data; 404 for a member the actor may not see.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn member_profile(&self, actor: &Actor, id: MemberId) -> Result<MemberProfile> {
        let member = self.member(actor, id).await?;
        let groups = self.group_names_of(actor, &member).await?;
        let supervisor = self.supervisor_name_of(actor, &member).await?;
        // Every credential with its requirements in a few queries, not one detail call each.
        let filter = CredentialListFilter {
            member_id: Some(id),
            ..Default::default()
        };
        let details = self.credential_details(actor, &filter, SHOWN).await?;
        let names = self.names(actor, &[id]).await?;
        let credentials = details
            .into_iter()
            .map(|d| {
                let type_name = names.type_name(&d.credential.credential_type_id);
                (d, type_name)
            })
            .collect();
        let courses = match actor.reader() {
            Ok(reader) => self.courses(&reader, &first_page(500)).await?.items,
            Err(_) => Vec::new(),
        };
        let records = self
            .training_records(
                actor,
                &TrainingRecordFilter {
                    member_id: Some(id),
                    course_id: None,
                },
                &first_page(SHOWN),
            )
            .await?
            .items
            .into_iter()
            .map(|r| {
                let course = r
                    .course_id
                    .and_then(|c| courses.iter().find(|x| x.id == c))
                    .map(|c| c.name.clone())
                    .unwrap_or_default();
                (r, course)
            })
            .collect();
        let register = RegisterQuery {
            member_id: Some(id),
            ..Default::default()
        };
        let certificates = self
            .certificate_register(actor, &register, &Default::default())
            .await?
            .items;
        Ok(MemberProfile {
            member,
            groups,
            supervisor,
            credentials,
            records,
            courses,
            certificates,
            today: self.today(actor).await?,
        })
    }

    /// The supervisor's name, read with the member (a member sees who supervises them).
    async fn supervisor_name_of(
        &self,
        actor: &Actor,
        member: &MemberView,
    ) -> Result<Option<String>> {
        let Some(id) = member.supervisor_member_id else {
            return Ok(None);
        };
        let mut db = self.store.read().await?;
        let s = credence_store::people::members::member(&mut db, actor.agency_id, id).await?;
        Ok(s.map(|s| format!("{}, {}", s.last_name, s.first_name)))
    }

    /// The names of the member's groups, read with the member (a member sees their own).
    async fn group_names_of(&self, actor: &Actor, member: &MemberView) -> Result<Vec<String>> {
        let mut db = self.store.read().await?;
        let groups = credence_store::people::groups::groups_by_ids(
            &mut db,
            actor.agency_id,
            &member.group_ids,
        )
        .await?;
        Ok(groups.into_iter().map(|g| g.name).collect())
    }
}
