//! Starter credential types an agency copies and adapts: NREMT recertification (EMT, AEMT,
//! Paramedic) and ISO fire training hours. A copy is an ordinary draft type of the agency;
//! the template itself is never stored.
//!
//! The figures approximate the public NREMT National Continued Competency Program (a total
//! split into national / local / individual components, with a cap on distributive, i.e.
//! online, hours) and the ISO Fire Suppression Rating Schedule's training items. They change
//! from time to time: the agency must check the current figures before publishing a copy.

use std::collections::BTreeMap;

use credence_domain::credential_type::RequirementKind;
use credence_domain::{ExpirationRounding, RenewalPolicy};
use serde::{Deserialize, Serialize};

use crate::catalog::credential_types::{
    ComponentInput, CredentialTypeView, NewCredentialType, RequirementInput,
};
use crate::{Actor, Admin, App, AppError, Result};

/// One starter type as listed.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    /// Names it in `POST /credential-type-templates/{key}/copy`.
    pub key: String,
    pub name: String,
    pub summary: String,
    /// What the agency must check before using a copy.
    pub caution: String,
    /// The type a copy creates (as a draft), unless the copy names its own code or name.
    #[schema(value_type = Object)]
    pub credential_type: serde_json::Value,
}

/// Optional body of a copy: a code and name of its own (the template's otherwise).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateCopy {
    pub code: Option<String>,
    pub name: Option<String>,
}

const CAUTION: &str = "Approximate figures: check the current ones with the certifying body \
before publishing your copy, and adapt the categories to the ones your training records use.";

/// Continuing-education hours of one NREMT level, in the NCCP's three components.
struct Nccp {
    code: &'static str,
    name: &'static str,
    total: f64,
    /// National component (NCCR); local (LCCR) and individual (ICCR) share the rest.
    national: f64,
    local: f64,
    individual: f64,
    /// Distributive (online) hours that count at most.
    online: f64,
}

// Approximations of the NCCP model (2-year cycle): the agency must check current figures.
const NCCP: [Nccp; 3] = [
    Nccp {
        code: "NREMT-EMT",
        name: "NREMT EMT recertification",
        total: 40.0,
        national: 20.0,
        local: 10.0,
        individual: 10.0,
        online: 10.0,
    },
    Nccp {
        code: "NREMT-AEMT",
        name: "NREMT Advanced EMT recertification",
        total: 50.0,
        national: 25.0,
        local: 12.5,
        individual: 12.5,
        online: 12.5,
    },
    Nccp {
        code: "NREMT-P",
        name: "NREMT Paramedic recertification",
        total: 60.0,
        national: 30.0,
        local: 15.0,
        individual: 15.0,
        online: 15.0,
    },
];

fn component(name: &str, hours: f64, category: &str) -> ComponentInput {
    ComponentInput {
        name: name.into(),
        hours,
        categories: vec![category.into()],
    }
}

fn hours(
    title: &str,
    total: f64,
    category: Option<&str>,
    components: Vec<ComponentInput>,
) -> RequirementInput {
    RequirementInput {
        id: None,
        kind: RequirementKind::Hours,
        course_id: None,
        min_grade: None,
        hours: Some(total),
        category: category.map(Into::into),
        title: Some(title.into()),
        max_hours_per_category: None,
        max_hours_by_source: None,
        components: Some(components),
        repeatable: None,
    }
}

fn nremt(level: &Nccp) -> NewCredentialType {
    let mut ce = hours(
        &format!("{} hours of continuing education (NCCP)", level.total),
        level.total,
        None,
        vec![
            component("National (NCCR)", level.national, "NCCR"),
            component("Local (LCCR)", level.local, "LCCR"),
            component("Individual (ICCR)", level.individual, "ICCR"),
        ],
    );
    // NREMT limits distributive education; online courses carry the `online` flag.
    ce.max_hours_by_source = Some(BTreeMap::from([("online".to_string(), level.online)]));
    let mut t = NewCredentialType::named(
        level.code,
        level.name,
        format!(
            "Two-year recertification: {} hours split into national {}, local {} and \
             individual {} components, at most {} hours of distributive (online) education. \
             A course counts once per cycle. {CAUTION}",
            level.total, level.national, level.local, level.individual, level.online
        ),
    );
    t.validity_months = Some(24);
    t.expiration_rounding = Some(ExpirationRounding::EndOfMonth);
    t.renewal = Some(RenewalPolicy::Auto);
    t.requirements = Some(vec![ce]);
    t
}

/// ISO FSRS training items every member needs a year: company training at the station and
/// at a training facility, and hazardous-materials training. Drills repeat, so they count
/// each time.
fn iso_fire() -> NewCredentialType {
    let mut company = hours(
        "192 hours of company training",
        192.0,
        Some("Company training"),
        vec![component(
            "At a training facility",
            18.0,
            "Facility training",
        )],
    );
    company.repeatable = Some(true);
    let mut hazmat = hours(
        "6 hours of hazardous materials",
        6.0,
        Some("Hazmat"),
        Vec::new(),
    );
    hazmat.repeatable = Some(true);
    let mut t = NewCredentialType::named(
        "ISO-TRAINING",
        "ISO fire training hours",
        format!(
            "Yearly training hours as the ISO Fire Suppression Rating Schedule credits them: \
             192 hours of company training (16 a month), 18 of them at a training facility, \
             and 6 hours of hazardous materials. Officer and driver/operator training are \
             types of their own. {CAUTION}"
        ),
    );
    t.validity_months = Some(12);
    t.expiration_rounding = Some(ExpirationRounding::EndOfYear);
    t.renewal = Some(RenewalPolicy::Auto);
    t.requirements = Some(vec![company, hazmat]);
    t
}

struct Template {
    key: &'static str,
    summary: &'static str,
    build: fn() -> NewCredentialType,
}

const TEMPLATES: [Template; 4] = [
    Template {
        key: "nremt-emt",
        summary: "40 hours in two years: 20 national, 10 local, 10 individual; 10 online at most.",
        build: || nremt(&NCCP[0]),
    },
    Template {
        key: "nremt-aemt",
        summary:
            "50 hours in two years: 25 national, 12.5 local, 12.5 individual; 12.5 online at most.",
        build: || nremt(&NCCP[1]),
    },
    Template {
        key: "nremt-paramedic",
        summary: "60 hours in two years: 30 national, 15 local, 15 individual; 15 online at most.",
        build: || nremt(&NCCP[2]),
    },
    Template {
        key: "iso-fire-training",
        summary: "Each year 192 hours of company training (18 at a facility) and 6 of hazmat.",
        build: iso_fire,
    },
];

fn template_view(t: &Template) -> Result<TemplateView> {
    let body = (t.build)();
    Ok(TemplateView {
        key: t.key.to_string(),
        name: body.name.clone(),
        summary: t.summary.to_string(),
        caution: CAUTION.to_string(),
        credential_type: serde_json::to_value(&body)
            .map_err(|e| AppError::internal(e.to_string()))?,
    })
}

impl App {
    /// The starter types; anyone who can define types may read them.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub fn credential_type_templates(&self, actor: &Actor) -> Result<Vec<TemplateView>> {
        actor.reader()?;
        TEMPLATES.iter().map(template_view).collect()
    }

    /// Copies a starter type into the agency as a draft it then adapts.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn copy_credential_type_template(
        &self,
        actor: &Admin,
        key: &str,
        copy: TemplateCopy,
    ) -> Result<CredentialTypeView> {
        let template = TEMPLATES
            .iter()
            .find(|t| t.key == key)
            .ok_or(AppError::NotFound)?;
        let mut input = (template.build)();
        if let Some(code) = copy.code {
            input.code = code;
        }
        if let Some(name) = copy.name {
            input.name = name;
        }
        self.create_credential_type(actor, input).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template passes the rules a user's type must pass, components within totals.
    #[test]
    fn templates_are_valid_types() {
        for t in &TEMPLATES {
            let body = (t.build)();
            for r in body.requirements.iter().flatten() {
                let parts: f64 = r.components.iter().flatten().map(|c| c.hours).sum();
                assert!(parts <= r.hours.unwrap(), "{}", t.key);
                for cap in r.max_hours_by_source.iter().flat_map(|m| m.values()) {
                    assert!(*cap <= r.hours.unwrap(), "{}", t.key);
                }
            }
        }
        let keys: Vec<&str> = TEMPLATES.iter().map(|t| t.key).collect();
        assert_eq!(
            keys,
            [
                "nremt-emt",
                "nremt-aemt",
                "nremt-paramedic",
                "iso-fire-training"
            ]
        );
    }
}
