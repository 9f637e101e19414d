//! Readiness (`/readiness`): who in a group met a qualification on a day D, and what each
//! lacked; and the scheduler's check for one member (`/members/{id}/qualified`).
//!
//! "Held on D" is exactly what `/reports/qualified` means by it: the domain's
//! `history::held_on` over the issuances whose dates cover D, revocations compared in the
//! agency's local dates (see [`super::qualified`]). The qualification's rule is then
//! `qualification::qualified_on`. Group membership is as of D; without a group, the agency's
//! active members are listed.
//!
//! Who may ask: readers (admin, officer, auditor) about anyone in the agency; a member only
//! about themselves (another member's id answers 403, whether or not it exists, so a member
//! cannot probe who exists).

use std::collections::HashMap;

use chrono::NaiveDate;
use credence_domain::history::IssuanceHistory;
use credence_domain::ids::{AgencyId, CredentialTypeId, GroupId, MemberId, QualificationId};
use credence_domain::qualification::{self as rule, Rule};
use credence_domain::TypeState;
use credence_store::reports::qualified::After;
use credence_store::reports::readiness::{self as store, CoveringIssuance, Person};
use serde::{Deserialize, Serialize};

use crate::catalog::qualifications::QualificationView;
use crate::clock::local_date;
use crate::page::{encode_cursor, PageParams};
use crate::{Actor, App, AppError, Reader, Result};

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadinessParams {
    /// The qualification asked about (required).
    #[param(value_type = String, required = true)]
    pub qualification_id: Option<QualificationId>,
    /// Only the members of this group on that day (default: the agency's active members).
    #[param(value_type = Option<String>)]
    pub group_id: Option<GroupId>,
    /// The day (default today, in the agency's time zone).
    pub on: Option<NaiveDate>,
    /// Rows per page, 1–500 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReadinessItem {
    #[schema(value_type = String)]
    pub member_id: MemberId,
    /// "Last, First".
    pub name: String,
    /// Met the qualification's rule on the day.
    pub qualified: bool,
    /// The qualification's types they lacked that day (empty when qualified).
    #[schema(value_type = Vec<String>)]
    pub missing: Vec<CredentialTypeId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReadinessReport {
    pub on: NaiveDate,
    /// By member name, one page (`limit`, default 50, at most 500).
    pub items: Vec<ReadinessItem>,
    /// The `cursor` of the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// What a page or a roster names besides the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadinessNames {
    pub agency: String,
    pub qualification: String,
    pub rule: Rule,
    pub group: Option<String>,
    /// The qualification's types in its order: id, name, retired.
    pub types: Vec<(CredentialTypeId, String, bool)>,
}

impl ReadinessNames {
    pub fn type_name(&self, id: &CredentialTypeId) -> String {
        self.types
            .iter()
            .find(|(t, _, _)| t == id)
            .map_or_else(|| id.to_string(), |(_, n, _)| n.clone())
    }
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQualifiedParams {
    /// The qualification asked about (required).
    #[param(value_type = String, required = true)]
    pub qualification_id: Option<QualificationId>,
    /// The day (default today, in the agency's time zone).
    pub on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MemberQualified {
    pub on: NaiveDate,
    pub qualified: bool,
    /// The qualification's types they lacked that day (empty when qualified).
    #[schema(value_type = Vec<String>)]
    pub missing: Vec<CredentialTypeId>,
}

/// A question, checked: the qualification and group exist in the agency, the day is known.
#[derive(Debug, Clone)]
struct Question {
    qualification: QualificationView,
    group_id: Option<GroupId>,
    on: NaiveDate,
    today: NaiveDate,
    time_zone: String,
}

/// Members a roster PDF lists at most (a page of 40 rows: 5,000 is 125 pages).
pub const ROSTER_MAX: i64 = 5000;

impl App {
    /// One page of readiness, with the names of its qualification, types and group.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn readiness(
        &self,
        actor: &Reader,
        params: &ReadinessParams,
    ) -> Result<(ReadinessReport, ReadinessNames)> {
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
        let (question, names) = self.readiness_question(&mut db, actor, params).await?;
        let (items, next) =
            readiness_page(&mut db, actor.agency_id, &question, &after, limit).await?;
        Ok((
            ReadinessReport {
                on: question.on,
                items,
                next_cursor: next.map(|a| encode_cursor(&(a.sort_name, a.member_id))),
            },
            names,
        ))
    }

    /// Everyone asked about (at most [`ROSTER_MAX`]), for a printed roster; `true` when the
    /// list was cut there.
    pub async fn readiness_all(
        &self,
        actor: &Reader,
        params: &ReadinessParams,
    ) -> Result<(NaiveDate, Vec<ReadinessItem>, ReadinessNames, bool)> {
        let mut db = self.store.read().await?;
        let (question, names) = self.readiness_question(&mut db, actor, params).await?;
        let mut items = Vec::new();
        let mut after = After::default();
        loop {
            let (page, next) =
                readiness_page(&mut db, actor.agency_id, &question, &after, 500).await?;
            items.extend(page);
            match next {
                Some(n) if (items.len() as i64) < ROSTER_MAX => after = n,
                Some(_) => return Ok((question.on, items, names, true)),
                None => return Ok((question.on, items, names, false)),
            }
        }
    }

    /// The roster as a PDF: agency, qualification, group, day and a row per member. Rendered
    /// by the certificate workers from our own template.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn readiness_pdf(
        &self,
        actor: &Reader,
        params: &ReadinessParams,
    ) -> Result<(NaiveDate, Vec<u8>)> {
        let (on, items, names, cut) = self.readiness_all(actor, params).await?;
        let qualified = items.iter().filter(|i| i.qualified).count();
        let rows: Vec<serde_json::Value> = items
            .iter()
            .map(|i| {
                let missing: Vec<String> = i.missing.iter().map(|t| names.type_name(t)).collect();
                serde_json::json!({
                    "name": i.name,
                    "qualified": i.qualified,
                    "missing": missing.join(", "),
                })
            })
            .collect();
        let data = serde_json::json!({
            "agency": { "name": names.agency },
            "qualification": {
                "name": names.qualification,
                "rule_text": match names.rule { Rule::All => "Every one of", Rule::Any => "Any one of" },
                "types": names.types.iter().map(|(_, n, _)| n.clone()).collect::<Vec<_>>(),
            },
            "group": names.group,
            "on": on.format("%B %-d, %Y").to_string(),
            "summary": format!("{qualified} of {} qualified", items.len()),
            "rows": rows,
            "cut": cut.then(|| format!("The roster lists the first {ROSTER_MAX} members by name; the API lists everyone.")),
            "printed": chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        });
        let job = credence_documents::Job {
            templates: vec![credence_documents::Template {
                source: credence_documents::defaults::READINESS_ROSTER.to_string(),
            }],
            documents: vec![credence_documents::Document { template: 0, data }],
            merge: true,
            files: Vec::new(),
        };
        let pdf = self
            .render(actor.agency_id, job)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AppError::internal("the renderer answered nothing"))?
            .map_err(|e| AppError::internal(format!("readiness roster: {e}")))?;
        Ok((on, pdf))
    }

    /// Whether one member met the qualification on the day: the scheduler's check.
    #[tracing::instrument(skip_all, fields(agency = %actor.agency_id, actor = %actor.label))]
    pub async fn member_qualified(
        &self,
        actor: &Actor,
        member_id: MemberId,
        params: &MemberQualifiedParams,
    ) -> Result<MemberQualified> {
        if !actor.sees_member(member_id) {
            return Err(AppError::Forbidden(
                "a member may check only their own qualifications".into(),
            ));
        }
        let qualification_id = params
            .qualification_id
            .ok_or_else(|| AppError::invalid("qualification_id", "is required"))?;
        let mut db = self.store.read().await?;
        let agency = credence_store::auth::identity::agency_by_id(&mut db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let on = params.on.unwrap_or(today);
        credence_store::people::members::member(&mut db, actor.agency_id, member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let q = self
            .load_qualification(&mut db, actor.agency_id, qualification_id)
            .await?;
        let covering = store::issuances_covering(
            &mut db,
            actor.agency_id,
            &[member_id],
            &q.credential_type_ids,
            on,
        )
        .await?;
        let local = |at| local_date(at, &agency.time_zone, today);
        let answer = decide(q.rule, &q.credential_type_ids, &covering, on, local);
        Ok(MemberQualified {
            on,
            qualified: answer.qualified,
            missing: answer.missing,
        })
    }

    async fn readiness_question(
        &self,
        db: &mut impl credence_store::Conn,
        actor: &Reader,
        params: &ReadinessParams,
    ) -> Result<(Question, ReadinessNames)> {
        let qualification_id = params
            .qualification_id
            .ok_or_else(|| AppError::invalid("qualification_id", "is required"))?;
        let agency = credence_store::auth::identity::agency_by_id(db, actor.agency_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let today = self.clock.today(&agency.time_zone);
        let qualification = self
            .load_qualification(db, actor.agency_id, qualification_id)
            .await?;
        let group = match params.group_id {
            Some(g) => Some(
                credence_store::people::groups::group(db, actor.agency_id, g)
                    .await?
                    .ok_or(AppError::NotFound)?,
            ),
            None => None,
        };
        let refs = credence_store::catalog::qualifications::type_refs(
            db,
            actor.agency_id,
            &qualification.credential_type_ids,
        )
        .await?;
        let types = qualification
            .credential_type_ids
            .iter()
            .map(|id| {
                let r = refs.iter().find(|r| r.id == *id);
                (
                    *id,
                    r.map_or_else(|| id.to_string(), |r| r.name.clone()),
                    r.is_some_and(|r| *r.state == TypeState::Retired),
                )
            })
            .collect();
        let names = ReadinessNames {
            agency: agency.name.clone(),
            qualification: qualification.name.clone(),
            rule: qualification.rule,
            group: group.as_ref().map(|g| g.name.clone()),
            types,
        };
        Ok((
            Question {
                qualification,
                group_id: group.map(|g| g.id),
                on: params.on.unwrap_or(today),
                today,
                time_zone: agency.time_zone,
            },
            names,
        ))
    }
}

/// Up to `limit` members after `after`, each with their answer, and where the next page
/// starts if there is one.
async fn readiness_page(
    db: &mut impl credence_store::Conn,
    agency_id: AgencyId,
    q: &Question,
    after: &After,
    limit: i64,
) -> Result<(Vec<ReadinessItem>, Option<After>)> {
    let mut people = match q.group_id {
        Some(g) => store::group_on(db, agency_id, g, q.on, after, limit + 1).await?,
        None => store::active_members(db, agency_id, after, limit + 1).await?,
    };
    let more = people.len() as i64 > limit;
    people.truncate(limit as usize);
    let ids: Vec<MemberId> = people.iter().map(|p| p.member_id).collect();
    let types = &q.qualification.credential_type_ids;
    let covering = store::issuances_covering(db, agency_id, &ids, types, q.on).await?;
    let mut by_member: HashMap<MemberId, Vec<CoveringIssuance>> = HashMap::new();
    for i in covering {
        by_member.entry(i.member_id).or_default().push(i);
    }
    let local = |at| local_date(at, &q.time_zone, q.today);
    let next = if more {
        people.last().map(|p: &Person| After {
            sort_name: p.sort_name.clone(),
            member_id: p.member_id.get(),
        })
    } else {
        None
    };
    let items = people
        .into_iter()
        .map(|p| {
            let held = by_member.remove(&p.member_id).unwrap_or_default();
            let answer = decide(q.qualification.rule, types, &held, q.on, local);
            ReadinessItem {
                member_id: p.member_id,
                name: format!("{}, {}", p.last_name, p.first_name),
                qualified: answer.qualified,
                missing: answer.missing,
            }
        })
        .collect();
    Ok((items, next))
}

/// One member's answer from the covering issuances of their tracks, with the domain's rules.
fn decide(
    rule: Rule,
    types: &[CredentialTypeId],
    covering: &[CoveringIssuance],
    on: NaiveDate,
    local: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> rule::Answer {
    let mut by_type: HashMap<CredentialTypeId, Vec<IssuanceHistory>> = HashMap::new();
    for i in covering {
        by_type
            .entry(i.credential_type_id)
            .or_default()
            .push(IssuanceHistory {
                id: i.id,
                issue_date: i.issue_date,
                expiration_date: i.expiration_date,
                revoked_on: i.revoked_at.map(&local),
            });
    }
    rule::qualified_on(
        rule,
        types,
        |t| by_type.get(&t).map_or(&[][..], |v| &v[..]),
        on,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use credence_domain::ids::IssuanceId;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn t(n: i64) -> CredentialTypeId {
        CredentialTypeId::new(n)
    }

    fn cover(ty: i64, revoked_at: Option<&str>) -> CoveringIssuance {
        CoveringIssuance {
            member_id: MemberId::new(1),
            credential_type_id: t(ty),
            id: IssuanceId::new(ty * 10),
            issue_date: d("2025-01-01"),
            expiration_date: Some(d("2027-01-01")),
            revoked_at: revoked_at.map(|r| r.parse().unwrap()),
        }
    }

    #[test]
    fn revoked_by_the_day_in_local_time_is_missing() {
        // 21:00 on the 15th in Chicago: revoked that day.
        let chicago = |at| local_date(at, "America/Chicago", d("2026-12-31"));
        let covering = [cover(1, None), cover(2, Some("2026-01-16T03:00:00Z"))];
        let a = decide(
            Rule::All,
            &[t(1), t(2)],
            &covering,
            d("2026-01-15"),
            chicago,
        );
        assert_eq!((a.qualified, a.missing), (false, vec![t(2)]));
        let a = decide(
            Rule::All,
            &[t(1), t(2)],
            &covering,
            d("2026-01-14"),
            chicago,
        );
        assert!(a.qualified);
        let a = decide(
            Rule::Any,
            &[t(2), t(3)],
            &covering,
            d("2026-01-15"),
            chicago,
        );
        assert_eq!(a.missing, [t(2), t(3)]);
    }
}
