//! The demo agency: a believable fire/EMS department built through the same use cases as
//! the API, so the demo exercises real code.

use credence_domain::credential_type::RequirementKind;
use credence_domain::ids::{AgencyId, CertificateId, CourseId, CredentialTypeId, MemberId};
use credence_domain::{ExpirationRounding, RenewalPolicy, Role};
use credence_store::auth::identity;

use chrono::{Datelike, Days, NaiveDate};

use crate::catalog::courses::NewCourse;
use crate::catalog::credential_types::{LifecycleAction, NewCredentialType, RequirementInput};
use crate::credentials::assign::{AssignMode, Assignment};
use crate::page::PageParams;
use crate::training::records::{BulkTrainingRecords, NewTrainingRecord};
use crate::{Actor, Admin, App, Result};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.credence.test";

/// What `credence demo` prints.
#[derive(Debug, Clone)]
pub struct DemoAccess {
    pub created: bool,
    pub admin_email: String,
    pub admin_password: String,
    pub admin_token: String,
}

struct CourseSpec(
    &'static str,
    &'static str,
    f64,
    Option<&'static str>,
    Option<f64>,
);

const COURSES: [CourseSpec; 12] = [
    CourseSpec(
        "CPR-BLS",
        "CPR / BLS for Healthcare Providers",
        4.0,
        Some("Medical"),
        Some(80.0),
    ),
    CourseSpec(
        "HAZ-AWR",
        "Hazardous Materials Awareness",
        8.0,
        Some("Hazmat"),
        Some(70.0),
    ),
    CourseSpec(
        "HAZ-OPS",
        "Hazardous Materials Operations",
        16.0,
        Some("Hazmat"),
        Some(70.0),
    ),
    CourseSpec(
        "EMS-AIRWAY",
        "Airway Management Refresher",
        2.0,
        Some("CE"),
        None,
    ),
    CourseSpec(
        "EMS-TRAUMA",
        "Trauma Assessment Refresher",
        3.0,
        Some("CE"),
        None,
    ),
    CourseSpec("EMS-CARDIO", "Cardiology Update", 3.0, Some("CE"), None),
    CourseSpec("EMS-PEDS", "Pediatric Emergencies", 4.0, Some("CE"), None),
    CourseSpec("EMS-OBGYN", "Obstetric Emergencies", 2.0, Some("CE"), None),
    CourseSpec(
        "EVOC",
        "Emergency Vehicle Operations",
        16.0,
        Some("Driver"),
        Some(75.0),
    ),
    CourseSpec("PUMP-OPS", "Pump Operations", 8.0, Some("Driver"), None),
    CourseSpec(
        "FI-1",
        "Fire Instructor I",
        40.0,
        Some("Instructor"),
        Some(70.0),
    ),
    CourseSpec(
        "ICS-200",
        "Incident Command System 200",
        6.0,
        Some("Command"),
        None,
    ),
];

fn course_req(course_id: CourseId) -> RequirementInput {
    RequirementInput {
        id: None,
        kind: RequirementKind::Course,
        course_id: Some(course_id),
        min_grade: None,
        hours: None,
        category: None,
        title: None,
        max_hours_per_category: None,
        max_hours_by_source: None,
        components: None,
        repeatable: None,
    }
}

fn hours_req(hours: f64, category: &str) -> RequirementInput {
    RequirementInput {
        id: None,
        kind: RequirementKind::Hours,
        course_id: None,
        min_grade: None,
        hours: Some(hours),
        category: Some(category.into()),
        title: Some(format!("{hours} hours of {category}")),
        max_hours_per_category: None,
        max_hours_by_source: None,
        components: None,
        repeatable: None,
    }
}

pub(crate) fn checklist_req(title: &str) -> RequirementInput {
    RequirementInput {
        id: None,
        kind: RequirementKind::Checklist,
        course_id: None,
        min_grade: None,
        hours: None,
        category: None,
        title: Some(title.into()),
        max_hours_per_category: None,
        max_hours_by_source: None,
        components: None,
        repeatable: None,
    }
}

impl App {
    /// Creates the demo agency once; on every run, sets a fresh admin password and token so
    /// the printed access always works.
    pub async fn ensure_demo(&self) -> Result<DemoAccess> {
        let existing = {
            let mut tx = self.store.read().await?;
            identity::agency_by_slug(&mut tx, DEMO_SLUG).await?
        };
        let password = crate::auth::new_secret("")[..16].to_string();
        let (agency_id, created) = match existing {
            Some(a) => {
                self.reset_password(DEMO_ADMIN_EMAIL, &password).await?;
                (a.id, false)
            }
            None => {
                let agency = self
                    .create_agency("Riverside Fire & EMS", Some(DEMO_SLUG), "America/Chicago")
                    .await?;
                self.create_user(agency.id, DEMO_ADMIN_EMAIL, Role::Admin, &password, None)
                    .await?;
                self.build_demo(agency.id).await?;
                (agency.id, true)
            }
        };
        let token = self
            .create_token(agency_id, Role::Admin, None, Some("demo"))
            .await?;
        Ok(DemoAccess {
            created,
            admin_email: DEMO_ADMIN_EMAIL.into(),
            admin_password: password,
            admin_token: token,
        })
    }

    async fn build_demo(&self, agency_id: AgencyId) -> Result<()> {
        let actor = Actor::system(agency_id, "system:demo").admin()?;
        self.seed_members(DEMO_SLUG, 60).await?;
        let mut course_ids = std::collections::HashMap::new();
        for CourseSpec(code, name, hours, category, passing) in COURSES {
            let c = self
                .create_course(
                    &actor,
                    NewCourse {
                        code: code.into(),
                        name: name.into(),
                        hours: Some(hours),
                        category: category.map(Into::into),
                        graded: Some(passing.is_some()),
                        passing_grade: passing,
                        online: None,
                    },
                )
                .await?;
            course_ids.insert(code, c.id);
        }
        let course = |code: &str| course_req(course_ids[code]);

        let mut emt = NewCredentialType::named(
            "EMT-B",
            "EMT-Basic",
            "State EMT-Basic certification; 24 hours of continuing education every two years.",
        );
        emt.validity_months = Some(24);
        emt.expiration_rounding = Some(ExpirationRounding::EndOfMonth);
        emt.renewal = Some(RenewalPolicy::Auto);
        emt.renewal_window_days = Some(365);
        emt.requirements = Some(vec![hours_req(24.0, "CE"), course("CPR-BLS")]);

        let mut cpr = NewCredentialType::named(
            "CPR",
            "CPR / BLS Provider",
            "Cardiopulmonary resuscitation for healthcare providers.",
        );
        cpr.validity_months = Some(24);
        cpr.auto_issue = Some(true);
        cpr.renewal_window_days = Some(90);
        cpr.requirements = Some(vec![course("CPR-BLS")]);

        let mut hazmat = NewCredentialType::named(
            "HAZMAT-A",
            "Hazmat Awareness",
            "First responder awareness level, renewed yearly.",
        );
        hazmat.validity_months = Some(12);
        hazmat.grace_period_days = Some(30);
        hazmat.requirements = Some(vec![course("HAZ-AWR")]);

        let mut driver = NewCredentialType::named(
            "DO",
            "Driver/Operator",
            "Apparatus driver/operator: EVOC, pump operations and a skills check-off.",
        );
        driver.validity_months = Some(36);
        driver.renewal = Some(RenewalPolicy::Manual);
        driver.requirements = Some(vec![
            course("EVOC"),
            course("PUMP-OPS"),
            checklist_req("Apparatus skills check-off"),
            checklist_req("Hydrant hook-up and pump test"),
        ]);

        let mut instructor = NewCredentialType::named("FI-1", "Fire Instructor I", "State fire instructor certification, tracked for records; does not automatically renew.");
        instructor.validity_months = Some(36);
        instructor.renewal = Some(RenewalPolicy::Manual);
        instructor.expiration_rounding = Some(ExpirationRounding::EndOfYear);
        instructor.requirements = Some(vec![course("FI-1")]);

        let mut ics = NewCredentialType::named(
            "ICS-200",
            "ICS-200 (one-time)",
            "Incident Command System, a one-time completion due by the end of June.",
        );
        let today = self.clock.today("America/Chicago");
        ics.due_date = NaiveDate::from_ymd_opt(today.year() + 1, 6, 30);
        ics.requirements = Some(vec![course("ICS-200")]);

        let mut type_ids = Vec::new();
        for t in [emt, cpr, hazmat, driver, instructor, ics] {
            let created = self.create_credential_type(&actor, t).await?;
            self.publish_credential_type(&actor, created.id, LifecycleAction::default())
                .await?;
            type_ids.push(created.id);
        }
        self.demo_history(&actor, &type_ids, &course_ids).await
    }

    /// A year of believable history: credentials in every status, training recorded,
    /// some issued, some lapsing.
    async fn demo_history(
        &self,
        actor: &Admin,
        types: &[CredentialTypeId],
        courses: &std::collections::HashMap<&str, CourseId>,
    ) -> Result<()> {
        let members: Vec<MemberId> = self
            .members(
                actor,
                &Default::default(),
                &PageParams {
                    limit: Some(500),
                    cursor: None,
                },
            )
            .await?
            .items
            .into_iter()
            .map(|m| m.id)
            .collect();
        let today = self.clock.today("America/Chicago");
        let ago = |days: u64| today - Days::new(days);
        let ahead = |days: u64| today + Days::new(days);
        let slice = |from: usize, to: usize| {
            members[from.min(members.len())..to.min(members.len())].to_vec()
        };
        let (emt, cpr, hazmat, driver, instructor, ics) =
            (types[0], types[1], types[2], types[3], types[4], types[5]);

        // EMT-Basic: most hold it, at different points of their two-year cycle.
        for (who, issued) in [
            (slice(0, 15), ago(100)),
            (slice(15, 25), ago(600)),
            (slice(25, 30), ago(760)),
        ] {
            self.assign(&actor.as_officer(), active(emt, issued, who))
                .await?;
        }
        self.assign(
            &actor.as_officer(),
            period(emt, ago(30), ahead(150), slice(30, 40)),
        )
        .await?;
        // CPR issues itself when the graded course is passed.
        self.assign(
            &actor.as_officer(),
            period(cpr, ago(60), ahead(120), slice(0, 60)),
        )
        .await?;
        let mut records = Vec::new();
        for (i, m) in members.iter().enumerate().take(40) {
            let score = if i % 7 == 0 {
                72.0
            } else {
                84.0 + (i % 15) as f64
            };
            records.push(record(
                *m,
                Some(&courses["CPR-BLS"]),
                ago(5 + (i as u64 % 50)),
                Some(score),
                None,
            ));
        }
        for (i, m) in members.iter().enumerate().skip(30).take(10) {
            records.push(record(
                *m,
                None,
                ago(10 + i as u64),
                None,
                Some(6.0 + (i % 3) as f64 * 4.0),
            ));
        }
        // Hazmat: one station, some done, a few already late.
        self.assign(
            &actor.as_officer(),
            period(hazmat, ago(90), ahead(30), slice(40, 50)),
        )
        .await?;
        self.assign(
            &actor.as_officer(),
            period(hazmat, ago(200), ago(20), slice(50, 55)),
        )
        .await?;
        for m in slice(40, 46) {
            records.push(record(
                m,
                Some(&courses["HAZ-AWR"]),
                ago(12),
                Some(88.0),
                None,
            ));
        }
        // Driver/Operator: course work plus skills sign-offs.
        self.assign(
            &actor.as_officer(),
            period(driver, ago(45), ahead(200), slice(20, 28)),
        )
        .await?;
        for m in slice(20, 26) {
            records.push(record(m, Some(&courses["EVOC"]), ago(20), Some(90.0), None));
            records.push(record(m, Some(&courses["PUMP-OPS"]), ago(15), None, None));
        }
        self.record_training_bulk(
            &actor.as_officer(),
            BulkTrainingRecords { records },
            crate::training::records::Source::Manual,
        )
        .await?;
        // Fire Instructor I: logged, does not renew by itself; some have lapsed.
        self.assign(
            &actor.as_officer(),
            active(instructor, ago(400), slice(55, 58)),
        )
        .await?;
        self.assign(
            &actor.as_officer(),
            active(instructor, ago(1500), slice(58, 60)),
        )
        .await?;
        let mut ics_period = period(ics, today, today, slice(0, 20));
        ics_period.period_end = None;
        self.assign(&actor.as_officer(), ics_period).await?;
        // Certificates for the recent EMT-B issuances; the first few handed out already.
        if self.renderer.is_some() {
            let generated = self
                .generate_certificates(
                    &actor.as_officer(),
                    crate::documents::certificates::GenerateRequest {
                        credential_type_id: Some(emt),
                        issued_from: Some(ago(120)),
                        issued_to: Some(today),
                        ..Default::default()
                    },
                )
                .await?;
            let first: Vec<CertificateId> = generated.items.iter().take(5).map(|c| c.id).collect();
            if !first.is_empty() {
                self.issue_certificates(&actor.as_officer(), &first).await?;
            }
        }
        Ok(())
    }
}

fn active(type_id: CredentialTypeId, issue_date: NaiveDate, members: Vec<MemberId>) -> Assignment {
    Assignment {
        credential_type_id: type_id,
        mode: AssignMode::ActiveWithPeriod,
        period_start: None,
        period_end: None,
        due_date: None,
        issue_date: Some(issue_date),
        expiration_date: None,
        member_ids: Some(members),
        group_ids: None,
        all_members: None,
        dry_run: None,
    }
}

fn period(
    type_id: CredentialTypeId,
    start: NaiveDate,
    end: NaiveDate,
    members: Vec<MemberId>,
) -> Assignment {
    Assignment {
        mode: AssignMode::CompletionPeriod,
        period_start: Some(start),
        period_end: Some(end),
        issue_date: None,
        ..active(type_id, start, members)
    }
}

fn record(
    member: MemberId,
    course: Option<&CourseId>,
    on: NaiveDate,
    score: Option<f64>,
    hours: Option<f64>,
) -> NewTrainingRecord {
    NewTrainingRecord {
        member_id: member,
        course_id: course.copied(),
        completed_on: on,
        score,
        hours,
        category: hours.map(|_| "CE".into()),
    }
}
