//! Roles and tenancy: every role × endpoint cell, and no read across agencies.

use axum::http::Method;
use credence_app::Role;
use serde_json::json;

use crate::both_databases;
use crate::credential_types::emt_type;
use crate::harness::TestApp;
use crate::members::create_member;

struct Fixture {
    member: String,
    other_member: String,
    group: String,
    course: String,
    ty: String,
}

async fn fixture(t: &TestApp) -> Fixture {
    let ty = emt_type(t).await;
    let member = create_member(t, "Ava", "Smith").await;
    let other_member = create_member(t, "Liam", "Brown").await;
    let group = t.get("/api/v1/groups").await.expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let course = t.get("/api/v1/courses").await.expect(200)["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Fixture {
        member: member["id"].as_str().unwrap().into(),
        other_member: other_member["id"].as_str().unwrap().into(),
        group,
        course,
        ty: ty["id"].as_str().unwrap().into(),
    }
}

/// (method, path, body, who may: [admin, officer, auditor, member]). Writes to ids that do
/// not exist still prove the role check: it comes first.
fn matrix(f: &Fixture) -> Vec<(Method, String, Option<serde_json::Value>, [bool; 4])> {
    let read_all = [true, true, true, false];
    let admin_only = [true, false, false, false];
    let officers = [true, true, false, false];
    let mut rows = vec![
        (Method::GET, "/api/v1/groups".into(), None, read_all),
        (
            Method::GET,
            format!("/api/v1/groups/{}", f.group),
            None,
            read_all,
        ),
        (Method::GET, "/api/v1/courses".into(), None, read_all),
        (
            Method::GET,
            format!("/api/v1/courses/{}", f.course),
            None,
            read_all,
        ),
        (Method::GET, "/api/v1/audit-events".into(), None, read_all),
        // Spreadsheets of whole lists: roles that read the whole agency.
        (
            Method::GET,
            "/api/v1/audit-events?format=csv".into(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/members?format=xlsx".into(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/credentials?format=csv".into(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/training-records?format=xlsx".into(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/certificates?format=csv".into(),
            None,
            read_all,
        ),
        (
            Method::GET,
            format!("/api/v1/members/{}", f.member),
            None,
            [true, true, true, true],
        ),
        (
            Method::GET,
            "/api/v1/members".into(),
            None,
            [true, true, true, true],
        ),
        (
            Method::GET,
            "/api/v1/credential-types".into(),
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/api/v1/members".into(),
            Some(json!({"first_name": "N", "last_name": "M"})),
            admin_only,
        ),
        (
            Method::PATCH,
            format!("/api/v1/members/{}", f.other_member),
            Some(json!({"version": 1})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/groups".into(),
            Some(json!({"name": "G2"})),
            admin_only,
        ),
        (
            Method::PATCH,
            format!("/api/v1/groups/{}", f.group),
            Some(json!({"version": 1})),
            admin_only,
        ),
        (
            Method::PUT,
            format!("/api/v1/groups/{}/members", f.group),
            Some(json!({"member_ids": []})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/courses".into(),
            Some(json!({"code": "N1", "name": "N"})),
            admin_only,
        ),
        (
            Method::PATCH,
            format!("/api/v1/courses/{}", f.course),
            Some(json!({"version": 1})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/credential-types".into(),
            Some(json!({"code": "N2", "name": "N"})),
            admin_only,
        ),
        (
            Method::PATCH,
            format!("/api/v1/credential-types/{}", f.ty),
            Some(json!({"version": 1})),
            admin_only,
        ),
        (
            Method::POST,
            format!("/api/v1/credential-types/{}/publish", f.ty),
            Some(json!({})),
            admin_only,
        ),
        (
            Method::GET,
            "/api/v1/credential-type-templates".into(),
            None,
            read_all,
        ),
        (
            Method::POST,
            "/api/v1/credential-type-templates/nremt-emt/copy".into(),
            Some(json!({})),
            admin_only,
        ),
        (
            Method::GET,
            "/api/v1/credentials".into(),
            None,
            [true, true, true, true],
        ),
        (
            Method::GET,
            "/api/v1/training-records".into(),
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/api/v1/assignments".into(),
            Some(
                json!({"credential_type_id": f.ty, "mode": "completion_period", "all_members": true}),
            ),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/training-records".into(),
            Some(
                json!({"member_id": f.member, "completed_on": "2026-03-01", "hours": 1, "category": "CE"}),
            ),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/training-records/bulk".into(),
            Some(json!({"records": []})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/renewals".into(),
            Some(
                json!({"credential_type_id": f.ty, "member_ids": [], "period_start": "2026-03-01", "period_end": "2026-04-01"}),
            ),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/credentials/bulk-update".into(),
            Some(json!({"credential_ids": ["crd_1"], "fields": {"status_reason": "x"}})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/credentials/crd_1/issue".into(),
            Some(json!({"issue_date": "2026-03-01"})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/credentials/crd_1/revoke".into(),
            Some(json!({"reason": "x"})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/credentials/crd_1/requirements/req_1/sign-off".into(),
            Some(json!({"signed_on": "2026-03-01", "evaluator": "x"})),
            officers,
        ),
    ];
    let everyone = [true, true, true, true];
    let certificates = [
        (Method::GET, "/api/v1/certificate-templates", None, read_all),
        (
            Method::POST,
            "/api/v1/certificate-templates",
            Some(json!({"name": "x", "source": "y"})),
            admin_only,
        ),
        (
            Method::PUT,
            "/api/v1/certificate-templates/tpl_1",
            Some(json!({"name": "x", "source": "y", "version": 1})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/certificate-templates/preview",
            Some(json!({"source": ""})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/certificates",
            Some(json!({"credential_ids": ["crd_1"]})),
            officers,
        ),
        (Method::GET, "/api/v1/certificates", None, everyone),
        (Method::GET, "/api/v1/certificates/cert_1", None, everyone),
        (
            Method::GET,
            "/api/v1/certificates/cert_1/pdf",
            None,
            everyone,
        ),
        (
            Method::GET,
            "/api/v1/certificates/cert_1/history",
            None,
            everyone,
        ),
        (
            Method::POST,
            "/api/v1/certificates/merge",
            Some(json!({"certificate_ids": ["cert_1"]})),
            read_all,
        ),
        (
            Method::POST,
            "/api/v1/certificates/zip",
            Some(json!({"certificate_ids": ["cert_1"]})),
            read_all,
        ),
        (
            Method::POST,
            "/api/v1/certificates/cert_1/regenerate",
            Some(json!({})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/certificates/regenerate",
            Some(json!({"certificate_ids": ["cert_1"]})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/certificates/cert_1/issue",
            Some(json!({})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/certificates/issue",
            Some(json!({"certificate_ids": ["cert_1"]})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/certificates/cert_1/email",
            Some(json!({})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/issuances/iss_1/documents",
            Some(json!({})),
            officers,
        ),
        (
            Method::GET,
            "/api/v1/issuances/iss_1/documents",
            None,
            everyone,
        ),
        (Method::GET, "/api/v1/files/file_1", None, everyone),
        (Method::GET, "/api/v1/agency/logo", None, read_all),
        (
            Method::PUT,
            "/api/v1/agency/logo",
            Some(json!({})),
            admin_only,
        ),
        (Method::DELETE, "/api/v1/agency/logo", None, admin_only),
    ];
    rows.extend(
        certificates
            .into_iter()
            .map(|(m, p, b, who)| (m, p.to_string(), b, who)),
    );
    rows.extend([
        (
            Method::GET,
            "/api/v1/certificate-templates/tpl_1".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            format!("/api/v1/credential-types/{}", f.ty),
            None,
            [true, true, true, true],
        ),
        (
            Method::GET,
            "/api/v1/operations".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/operations/op_999999".to_string(),
            None,
            read_all,
        ),
        (
            Method::POST,
            "/api/v1/operations/op_999999/undo".to_string(),
            None,
            officers,
        ),
        // An id that does not exist: the role check still comes first.
        (
            Method::DELETE,
            "/api/v1/members/mem_999999".to_string(),
            None,
            admin_only,
        ),
        (
            Method::POST,
            format!("/api/v1/credential-types/{}/retire", f.ty),
            Some(json!({})),
            admin_only,
        ),
        (
            Method::GET,
            format!("/api/v1/credential-types/{}/renewal-candidates", f.ty),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/credentials/crd_1".to_string(),
            None,
            [true, true, true, true],
        ),
        (Method::GET, "/api/v1/outbox".to_string(), None, read_all),
        (
            Method::POST,
            "/api/v1/outbox/msg_999999/retry".to_string(),
            None,
            officers,
        ),
        (Method::GET, "/api/v1/agency".to_string(), None, read_all),
        (
            Method::PATCH,
            "/api/v1/agency".to_string(),
            Some(json!({"version": 1})),
            admin_only,
        ),
        // Single sign-on (#21): admins only, the secret write-only.
        (
            Method::GET,
            "/api/v1/agency/sign-in".to_string(),
            None,
            admin_only,
        ),
        (
            Method::PUT,
            "/api/v1/agency/sign-in".to_string(),
            Some(json!({"name": "SSO", "issuer": "http://127.0.0.1:9", "client_id": "c", "client_secret": "s"})),
            admin_only,
        ),
        (
            Method::DELETE,
            "/api/v1/agency/sign-in".to_string(),
            None,
            admin_only,
        ),
        (Method::GET, "/api/v1/tokens".to_string(), None, admin_only),
        (Method::GET, "/api/v1/users".to_string(), None, admin_only),
        (
            Method::POST,
            "/api/v1/users".to_string(),
            Some(json!({"email": "matrix@test.example", "role": "auditor"})),
            admin_only,
        ),
        (
            Method::PATCH,
            "/api/v1/users/usr_999999".to_string(),
            Some(json!({"active": true})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/users/usr_999999/password-reset".to_string(),
            None,
            admin_only,
        ),
        (
            Method::DELETE,
            "/api/v1/tokens/tok_999999".to_string(),
            None,
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/credentials/bulk-revoke".to_string(),
            Some(json!({"credential_ids": ["crd_999999"], "reason": "x"})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/renewal-plans".to_string(),
            Some(json!({"credential_type_id": f.ty, "items": []})),
            officers,
        ),
        (
            Method::GET,
            "/api/v1/renewal-plans/plan_1".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/reports/compliance".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            format!("/api/v1/reports/qualified?credential_type_id={}", f.ty),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/reports/hours".to_string(),
            None,
            read_all,
        ),
        // A member has their own transcript only (another's is a 404, not a 403).
        (
            Method::GET,
            format!("/api/v1/members/{}/transcript.pdf", f.member),
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/api/v1/sign-offs".to_string(),
            Some(
                json!({"credential_ids": ["crd_999999"], "requirement_id": "req_1", "signed_on": "2026-03-01", "evaluator": "x"}),
            ),
            officers,
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{}/members/add", f.group),
            Some(json!({"member_ids": [f.member]})),
            admin_only,
        ),
        (
            Method::POST,
            format!("/api/v1/groups/{}/members/remove", f.group),
            Some(json!({"member_ids": [f.member]})),
            admin_only,
        ),
        // Classes (#17): officers and admins schedule, roster and complete; readers read.
        (Method::GET, "/api/v1/classes".into(), None, read_all),
        (
            Method::POST,
            "/api/v1/classes".into(),
            Some(json!({"course_id": f.course, "held_on": "2026-02-20", "instructor": "A", "location": "B"})),
            officers,
        ),
        (Method::GET, "/api/v1/classes/cls_999999".into(), None, read_all),
        (
            Method::PUT,
            "/api/v1/classes/cls_999999/roster".into(),
            Some(json!({"member_ids": []})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/classes/cls_999999/roster/add".into(),
            Some(json!({"member_ids": [f.member]})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/classes/cls_999999/roster/remove".into(),
            Some(json!({"member_ids": [f.member]})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/classes/cls_999999/complete".into(),
            Some(json!({"results": []})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/classes/cls_999999/reopen".into(),
            Some(json!({})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/classes/cls_999999/sign-off".into(),
            Some(json!({"requirement_id": "req_999999", "signed_on": "2026-02-20", "evaluator": "A"})),
            officers,
        ),
        (
            Method::POST,
            "/api/v1/courses/crs_999999/retire".into(),
            Some(json!({})),
            admin_only,
        ),
        // Qualifications: admins write, readers read; readiness is the agency's (readers);
        // the scheduler check is open to a member for themselves only.
        (
            Method::GET,
            "/api/v1/qualifications".to_string(),
            None,
            read_all,
        ),
        (
            Method::POST,
            "/api/v1/qualifications".to_string(),
            Some(json!({"name": "Engine driver", "credential_type_ids": [f.ty], "rule": "all"})),
            admin_only,
        ),
        (
            Method::GET,
            "/api/v1/qualifications/qual_999999".to_string(),
            None,
            read_all,
        ),
        (
            Method::PATCH,
            "/api/v1/qualifications/qual_999999".to_string(),
            Some(json!({"version": 1})),
            admin_only,
        ),
        (
            Method::DELETE,
            "/api/v1/qualifications/qual_999999".to_string(),
            None,
            admin_only,
        ),
        (
            Method::GET,
            "/api/v1/readiness?qualification_id=qual_999999".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            "/api/v1/readiness.pdf?qualification_id=qual_999999".to_string(),
            None,
            read_all,
        ),
        (
            Method::GET,
            format!(
                "/api/v1/members/{}/qualified?qualification_id=qual_999999",
                f.member
            ),
            None,
            [true, true, true, true],
        ),
        (
            Method::GET,
            format!(
                "/api/v1/members/{}/qualified?qualification_id=qual_999999",
                f.other_member
            ),
            None,
            read_all,
        ),
        // Webhooks: admins only. Calendar feeds: a member makes their own, officers any.
        (Method::GET, "/api/v1/webhooks".to_string(), None, admin_only),
        (
            Method::POST,
            "/api/v1/webhooks".to_string(),
            Some(
                json!({"url": "https://hooks.example.org/credence", "events": ["credential.issued"], "secret": "0123456789abcdef"}),
            ),
            admin_only,
        ),
        (
            Method::GET,
            "/api/v1/webhooks/whk_999999".to_string(),
            None,
            admin_only,
        ),
        (
            Method::PATCH,
            "/api/v1/webhooks/whk_999999".to_string(),
            Some(json!({"enabled": false})),
            admin_only,
        ),
        (
            Method::DELETE,
            "/api/v1/webhooks/whk_999999".to_string(),
            None,
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/webhooks/whk_999999/test".to_string(),
            Some(json!({})),
            admin_only,
        ),
        (
            Method::POST,
            "/api/v1/calendar/rotate".to_string(),
            Some(json!({"member_id": f.member})),
            [true, true, false, true],
        ),
        // Exemptions and leaves: officers grant and end them, readers read.
        (Method::GET, "/api/v1/exemptions".to_string(), None, read_all),
        (
            Method::POST,
            "/api/v1/exemptions".to_string(),
            Some(json!({"member_id": f.other_member, "credential_type_id": f.ty, "reason": "Deployed", "until": "2026-06-30"})),
            officers,
        ),
        (
            Method::DELETE,
            "/api/v1/exemptions/exm_999999".to_string(),
            None,
            officers,
        ),
        (Method::GET, "/api/v1/leaves".to_string(), None, read_all),
        (
            Method::POST,
            "/api/v1/leaves".to_string(),
            Some(json!({"member_id": f.other_member, "starts_on": "2026-04-01", "ends_on": "2026-04-30", "reason": "Medical leave"})),
            officers,
        ),
        (
            Method::DELETE,
            "/api/v1/leaves/leave_999999".to_string(),
            None,
            officers,
        ),
        // Imports: officers and admins; which kinds each may import is checked per kind
        // (members and group memberships: admin; imports.rs tests it).
        (
            Method::POST,
            "/api/v1/imports".to_string(),
            Some(json!({})),
            officers,
        ),
        (
            Method::GET,
            "/api/v1/imports/imp_999999".to_string(),
            None,
            officers,
        ),
        (
            Method::POST,
            "/api/v1/imports/imp_999999/commit".to_string(),
            None,
            officers,
        ),
        // Badges: anyone who may read the credential (a member their own; badges.rs), and
        // verifying needs no login at all; rotating the signing key is the admin's.
        (
            Method::GET,
            "/api/v1/credentials/crd_999999/badge".to_string(),
            None,
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/api/v1/verify".to_string(),
            Some(json!({"jwt": "not a jwt"})),
            [true, true, true, true],
        ),
        (
            Method::POST,
            "/api/v1/issuer/keys/rotate".to_string(),
            None,
            admin_only,
        ),
        // A login's own second factor answers its session, never a token, whatever the
        // role (every role's login manages its own: two_factor.rs).
        (
            Method::GET,
            "/api/v1/account/two-factor".to_string(),
            None,
            [false; 4],
        ),
        (
            Method::POST,
            "/api/v1/account/two-factor".to_string(),
            Some(json!({"secret": "A", "code": "123456"})),
            [false; 4],
        ),
        (
            Method::POST,
            "/api/v1/account/two-factor/enrolment".to_string(),
            None,
            [false; 4],
        ),
        (
            Method::POST,
            "/api/v1/account/two-factor/recovery-codes".to_string(),
            Some(json!({"code": "123456"})),
            [false; 4],
        ),
        (
            Method::POST,
            "/api/v1/account/two-factor/disable".to_string(),
            Some(json!({"password": "x", "code": "123456"})),
            [false; 4],
        ),
    ]);
    rows
}

/// `/api/v1/members/mem_7` → `/api/v1/members/{id}`: a concrete path as the OpenAPI document names it.
fn template_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .enumerate()
        .map(|(i, part)| match part {
            // Starter templates are named by key, not by an id.
            _ if i == 4 && path.starts_with("/api/v1/credential-type-templates/") => {
                "{key}".to_string()
            }
            p if p.contains('_') && p.chars().last().is_some_and(|c| c.is_ascii_digit()) => {
                if i > 4 {
                    "{requirement_id}".to_string()
                } else {
                    "{id}".to_string()
                }
            }
            p => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

both_databases! {
    async fn the_matrix_covers_every_endpoint_of_the_api(t) {
        let f = fixture(t).await;
        let covered: std::collections::BTreeSet<String> =
            matrix(&f).iter().map(|(m, p, ..)| format!("{m} {}", template_of(p))).collect();
        let spec = t.send(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        let mut missing = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                let cell = format!("{} {path}", method.to_uppercase());
                if !covered.contains(&cell) {
                    missing.push(cell);
                }
            }
        }
        assert!(missing.is_empty(), "endpoints without a role × endpoint row: {missing:?}");
    }

    async fn every_role_gets_exactly_its_rights(t) {
        let f = fixture(t).await;
        let tokens = [
            t.token(Role::Admin, None).await,
            t.token(Role::Officer, None).await,
            t.token(Role::Auditor, None).await,
            t.token(Role::Member, Some(&f.member)).await,
        ];
        for (method, path, body, allowed) in matrix(&f) {
            // Writers go last so earlier rows see unchanged data: run non-admins first.
            for (i, token) in tokens.iter().enumerate().rev() {
                let r = t.send(method.clone(), &path, Some(token), body.clone()).await;
                let status = r.status.as_u16();
                if allowed[i] {
                    // Allowed means authorised: the answer may still be a 404 or 422 about the data.
                    assert!(status != 401 && status != 403, "role {i} should be allowed {method} {path}, got {status}: {}", r.text);
                } else {
                    assert_eq!(status, 403, "role {i} on {method} {path}: {}", r.text);
                }
            }
        }
    }

    async fn the_role_is_checked_before_the_body(t) {
        // A body that fits no endpoint's schema: whoever may not write must still get 403,
        // not a 422 that describes the endpoint's input.
        let f = fixture(t).await;
        let tokens = [
            t.token(Role::Officer, None).await,
            t.token(Role::Auditor, None).await,
            t.token(Role::Member, Some(&f.member)).await,
        ];
        for (method, path, body, allowed) in matrix(&f) {
            if body.is_none() {
                continue;
            }
            for (i, token) in tokens.iter().enumerate() {
                if !allowed[i + 1] {
                    let r = t.send(method.clone(), &path, Some(token), Some(json!(42))).await;
                    assert_eq!(r.status.as_u16(), 403, "role {} on {method} {path}: {}", i + 1, r.text);
                }
            }
        }
    }

    async fn a_member_sees_only_themselves(t) {
        let f = fixture(t).await;
        let token = t.token(Role::Member, Some(&f.member)).await;
        let list = t.send(Method::GET, "/api/v1/members", Some(&token), None).await.expect(200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["id"], f.member.as_str());
        t.send(Method::GET, &format!("/api/v1/members/{}", f.other_member), Some(&token), None).await.problem(404);
        // Drafts and invisible types are hidden from members.
        t.send(Method::GET, &format!("/api/v1/credential-types/{}", f.ty), Some(&token), None).await.problem(404);
        assert_eq!(t.send(Method::GET, "/api/v1/credential-types", Some(&token), None).await.expect(200)["items"], json!([]));
    }

    async fn another_agency_sees_nothing(t) {
        let f = fixture(t).await;
        let other = t.other_agency_admin().await;
        for path in [
            format!("/api/v1/members/{}", f.member),
            format!("/api/v1/groups/{}", f.group),
            format!("/api/v1/courses/{}", f.course),
            format!("/api/v1/credential-types/{}", f.ty),
        ] {
            t.send(Method::GET, &path, Some(&other), None).await.problem(404);
            t.send(Method::PATCH, &path, Some(&other), Some(json!({"version": 1}))).await.problem(404);
        }
        t.send(Method::PUT, &format!("/api/v1/groups/{}/members", f.group), Some(&other), Some(json!({"member_ids": []}))).await.problem(404);
        for action in ["add", "remove"] {
            t.send(Method::POST, &format!("/api/v1/groups/{}/members/{action}", f.group), Some(&other), Some(json!({"member_ids": []}))).await.problem(404);
        }
        t.send(Method::GET, &format!("/api/v1/reports/qualified?credential_type_id={}", f.ty), Some(&other), None).await.problem(404);
        t.send(Method::POST, &format!("/api/v1/credential-types/{}/publish", f.ty), Some(&other), Some(json!({}))).await.problem(404);
        t.send(Method::DELETE, &format!("/api/v1/members/{}", f.member), Some(&other), None).await.problem(404);
        for list in ["/api/v1/members", "/api/v1/groups", "/api/v1/courses", "/api/v1/credential-types"] {
            assert_eq!(t.send(Method::GET, list, Some(&other), None).await.expect(200)["items"], json!([]), "{list}");
        }
        // Its audit log holds only its own events (the creation of its token).
        let theirs = t.send(Method::GET, "/api/v1/audit-events", Some(&other), None).await.expect(200);
        let subjects: Vec<&str> = theirs["items"].as_array().unwrap().iter().map(|e| e["subject_type"].as_str().unwrap()).collect();
        assert_eq!(subjects, ["api_token"]);
        // And a member of this agency cannot be put in the other agency's group.
        let their_group = t.send(Method::POST, "/api/v1/groups", Some(&other), Some(json!({"name": "Theirs"}))).await.expect(201);
        let fields = t.send(Method::PUT, &format!("/api/v1/groups/{}/members", their_group["id"].as_str().unwrap()), Some(&other),
            Some(json!({"member_ids": [f.member]}))).await.invalid_fields();
        assert_eq!(fields, ["member_ids"]);
    }

    async fn missing_or_wrong_tokens_are_401(t) {
        t.send(Method::GET, "/api/v1/members", None, None).await.problem(401);
        let r = t.send(Method::GET, "/api/v1/members", Some("cred_not-a-real-token"), None).await;
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        r.problem(401);
    }
}
