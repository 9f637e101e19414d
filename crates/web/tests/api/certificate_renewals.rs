//! Certificates that follow renewals (#21): a type with `auto_certificate` gets a certificate
//! with every issuance, the renewal's included, while the earlier certificate stays listed
//! and downloadable; and many certificates as a ZIP of their own PDFs, beside the merged file.

use std::io::Read;

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::TestApp;
use crate::members::create_member;
use crate::people_pages::session;
use crate::web_pages::{form, page};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A published manual-renewal type (no requirements), with or without certificates on every
/// issuance.
async fn fire_instructor(t: &TestApp, auto_certificate: bool) -> String {
    a_type(t, "FI", "Fire Instructor I", auto_certificate).await
}

async fn a_type(t: &TestApp, code: &str, name: &str, auto_certificate: bool) -> String {
    let ty = t
        .post(
            "/api/v1/credential-types",
            json!({
                "code": code, "name": name, "validity_months": 12, "renewal": "manual",
                "auto_certificate": auto_certificate
            }),
        )
        .await
        .expect(201);
    assert_eq!(ty["auto_certificate"], auto_certificate);
    let ty = id(&ty);
    t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
        .await
        .expect(200);
    ty
}

/// A member's credential of `ty`, issued on 2025-01-10 (so expired by 2026-03-01).
async fn issued_last_year(t: &TestApp, ty: &str, first: &str, last: &str) -> String {
    let m = id(&create_member(t, first, last).await);
    let cid = t
        .post(
            "/api/v1/assignments",
            json!({"credential_type_id": ty, "mode": "completion_period",
        "period_start": "2025-01-01", "period_end": "2025-06-30", "member_ids": [m]}),
        )
        .await
        .expect(200)["created"][0]
        .as_str()
        .unwrap()
        .to_string();
    t.post(
        &format!("/api/v1/credentials/{cid}/issue"),
        json!({"issue_date": "2025-01-10", "credential_number": format!("FI-2025-{first}")}),
    )
    .await
    .expect(200);
    cid
}

async fn certificates_of(t: &TestApp, cid: &str) -> Vec<Value> {
    t.get(&format!("/api/v1/certificates?credential_id={cid}"))
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The archive's entries: (name, bytes), in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP archive");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut out = Vec::new();
            entry.read_to_end(&mut out).unwrap();
            let made = entry.last_modified().expect("a time");
            assert!(
                made.year() >= 2026,
                "dated when the certificate was made, not 1980"
            );
            (entry.name().unwrap().to_string(), out)
        })
        .collect()
}

both_databases! {
    async fn renewing_an_auto_certificate_type_adds_a_certificate_and_keeps_the_old_one(t) {
        let ty = fire_instructor(t, true).await;
        let cid = issued_last_year(t, &ty, "Ava", "Smith").await;
        let first = certificates_of(t, &cid).await;
        assert_eq!(first.len(), 1, "the issue made a certificate: {first:?}");
        assert_eq!(first[0]["status"], "generated", "rendered at once");
        assert_eq!((first[0]["issue_date"].as_str(), first[0]["number"].as_str()), (Some("2025-01-10"), Some("FI-2025-Ava")));

        // Renew (seed 002), then issue the renewal.
        t.post("/api/v1/renewals", json!({"credential_type_id": ty, "credential_ids": [cid],
            "period_start": "2026-03-01", "period_end": "2026-06-30"})).await.expect(200);
        t.post(&format!("/api/v1/credentials/{cid}/issue"), json!({"issue_date": "2026-03-01", "credential_number": "FI-2026-Ava"}))
            .await
            .expect(200);
        let both = certificates_of(t, &cid).await;
        assert_eq!(both.len(), 2, "{both:?}");
        let renewed = both.iter().find(|c| c["issue_date"] == "2026-03-01").expect("the renewal's certificate");
        let old = both.iter().find(|c| c["issue_date"] == "2025-01-10").expect("the old certificate stays");
        assert_eq!((renewed["number"].as_str(), renewed["status"].as_str()), (Some("FI-2026-Ava"), Some("generated")));
        assert_ne!(renewed["public_id"], old["public_id"]);
        assert_eq!(old["id"], first[0]["id"]);

        // The old one still downloads, and still verifies (as expired).
        let pdf = t.get(&format!("/api/v1/certificates/{}/pdf", id(old))).await;
        assert_eq!(pdf.status, 200);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        assert!(pdf.bytes.starts_with(b"%PDF"));
        let verify = t.send(axum::http::Method::GET, &format!("/verify/{}.json", old["public_id"].as_str().unwrap()), None, None).await.expect(200);
        assert_eq!(verify["status"], "expired");

        // The credential's page lists both in its history.
        let (cookie, _) = session(t, "chief@test.example", Role::Admin, None).await;
        let view = page(t, &format!("/credentials/{cid}"), &cookie).await;
        assert_eq!(view.status, 200);
        assert!(view.text.contains("FI-2025-Ava") && view.text.contains("FI-2026-Ava"), "{}", view.text);
        assert!(view.text.contains(&format!("/certificates/{}/pdf", id(old))));

        // The audit log has the requests of both.
        let audit = t.get(&format!("/api/v1/audit-events?subject_id={}", id(renewed))).await.expect(200);
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"request") && actions.contains(&"generate"), "{actions:?}");
    }

    async fn auto_certificate_is_set_and_cleared_through_the_api_and_the_type_page(t) {
        let ty = fire_instructor(t, false).await;
        let cid = issued_last_year(t, &ty, "Liam", "Brown").await;
        assert!(certificates_of(t, &cid).await.is_empty(), "no certificate unless the type asks");

        let before = t.get(&format!("/api/v1/credential-types/{ty}")).await.expect(200);
        let on = t.patch(&format!("/api/v1/credential-types/{ty}"), json!({"version": before["version"], "auto_certificate": true})).await.expect(200);
        assert_eq!(on["auto_certificate"], true);
        // A wrong type is refused and changes nothing.
        let bad = t.patch(&format!("/api/v1/credential-types/{ty}"), json!({"version": on["version"], "auto_certificate": "yes"})).await;
        assert_eq!(bad.status, 422, "{}", bad.text);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{ty}")).await.expect(200)["version"], on["version"]);

        // The edit page shows the box ticked, and unticking it saves false.
        let (cookie, _) = session(t, "chief@test.example", Role::Admin, None).await;
        let edit = page(t, &format!("/credential-types/{ty}"), &cookie).await;
        assert_eq!(edit.status, 200);
        assert!(edit.text.contains("name=\"auto_certificate\" value=\"1\" checked"), "{}", edit.text);
        let csrf = crate::people_pages::csrf_of(&edit);
        let saved = form(t, &format!("/credential-types/{ty}"), &cookie, &format!(
            "csrf={csrf}&version={}&code=FI&name=Fire+Instructor+I&validity_months=12&renewal=manual&expiration_rounding=none",
            on["version"])).await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{ty}")).await.expect(200)["auto_certificate"], false);
    }

    async fn bulk_issues_of_an_auto_certificate_type_get_their_certificates_rendered_in_the_background(t) {
        let ty = fire_instructor(t, true).await;
        let a = issued_last_year(t, &ty, "Ava", "Smith").await;
        let b = issued_last_year(t, &ty, "Noah", "Lee").await;
        t.post("/api/v1/renewals", json!({"credential_type_id": ty, "credential_ids": [a, b],
            "period_start": "2026-03-01", "period_end": "2026-06-30"})).await.expect(200);
        let bulk = t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [a, b], "fields": {"issue_date": "2026-03-01"}})).await.expect(200);
        let new_of = |certificates: Vec<Value>| certificates.into_iter().find(|c| c["issue_date"] == "2026-03-01").expect("the renewal's certificate");
        for cid in [&a, &b] {
            let certificates = certificates_of(t, cid).await;
            assert_eq!(certificates.len(), 2, "{certificates:?}");
            let new = new_of(certificates);
            assert_eq!(new["status"], "ready_to_be_requested", "requested in the issue, queued for rendering");
            // It previews from its recorded data meanwhile.
            let pdf = t.get(&format!("/api/v1/certificates/{}/pdf", id(&new))).await;
            assert!(pdf.bytes.starts_with(b"%PDF"));
        }

        // The background renderer (every few seconds in `credence serve`) makes them.
        assert_eq!(t.app.render_queued_certificates().await.unwrap(), 2);
        assert_eq!(t.app.render_queued_certificates().await.unwrap(), 0, "each once");
        for cid in [&a, &b] {
            let new = new_of(certificates_of(t, cid).await);
            assert_eq!(new["status"], "generated");
            assert!(new["generated_at"].is_string());
            let audit = t.get(&format!("/api/v1/audit-events?subject_id={}", id(&new))).await.expect(200);
            let by: Vec<(&str, &str)> = audit["items"].as_array().unwrap().iter()
                .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap())).collect();
            assert!(by.contains(&("generate", "system:certificates")), "{by:?}");
        }

        // Rendering finished the operation's own work: undoing the bulk issue still works,
        // and takes its certificates with it.
        let op = bulk["operation_id"].as_str().unwrap();
        t.post(&format!("/api/v1/operations/{op}/undo"), json!({})).await.expect(200);
        assert_eq!(certificates_of(t, &a).await.len(), 1);
        assert_eq!(t.app.render_queued_certificates().await.unwrap(), 0);
    }

    async fn queued_certificates_that_were_revoked_or_generated_meanwhile_are_not_rendered(t) {
        let ty = fire_instructor(t, true).await;
        let a = issued_last_year(t, &ty, "Ava", "Smith").await;
        let b = issued_last_year(t, &ty, "Noah", "Lee").await;
        t.post("/api/v1/renewals", json!({"credential_type_id": ty, "credential_ids": [a, b],
            "period_start": "2026-03-01", "period_end": "2026-06-30"})).await.expect(200);
        t.post("/api/v1/credentials/bulk-update", json!({"credential_ids": [a, b], "fields": {"issue_date": "2026-03-01"}})).await.expect(200);
        let queued = |cid: String| async move {
            certificates_of(t, &cid).await.into_iter().find(|c| c["issue_date"] == "2026-03-01").unwrap()
        };
        // One is generated by hand, the other's issuance revoked.
        let by_hand = queued(a.clone()).await;
        t.post("/api/v1/certificates/regenerate", json!({"certificate_ids": [id(&by_hand)]})).await.expect(200);
        t.post(&format!("/api/v1/credentials/{b}/revoke"), json!({"reason": "issued in error"})).await.expect(200);
        assert_eq!(t.app.render_queued_certificates().await.unwrap(), 0);
        assert_eq!(queued(a.clone()).await["generated_at"], t.get(&format!("/api/v1/certificates/{}", id(&by_hand))).await.expect(200)["generated_at"]);
        assert_eq!(queued(b.clone()).await["status"], "revoked");
    }

    async fn recording_held_credentials_of_an_auto_certificate_type_certifies_them(t) {
        let ty = fire_instructor(t, true).await;
        let a = id(&create_member(t, "Ava", "Smith").await);
        let b = id(&create_member(t, "Noah", "Lee").await);
        let held = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period",
            "issue_date": "2026-01-15", "member_ids": [a, b]})).await.expect(200);
        let created: Vec<String> = held["created"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
        assert_eq!(created.len(), 2);
        for cid in &created {
            let certificates = certificates_of(t, cid).await;
            assert_eq!(certificates.len(), 1, "{certificates:?}");
            assert_eq!((certificates[0]["status"].as_str(), certificates[0]["issue_date"].as_str()), (Some("ready_to_be_requested"), Some("2026-01-15")));
        }
        assert_eq!(t.app.render_queued_certificates().await.unwrap(), 2);
        for cid in &created {
            assert_eq!(certificates_of(t, cid).await[0]["status"], "generated");
        }
        // Recording them for a type that does not certify makes none.
        let plain = a_type(t, "FI-II", "Fire Instructor II", false).await;
        let none = t.post("/api/v1/assignments", json!({"credential_type_id": plain, "mode": "active_with_period",
            "issue_date": "2026-01-15", "member_ids": [a]})).await.expect(200);
        assert!(certificates_of(t, none["created"][0].as_str().unwrap()).await.is_empty());
    }

    async fn many_certificates_download_as_a_zip_of_their_own_pdfs(t) {
        let ty = fire_instructor(t, true).await;
        let a = issued_last_year(t, &ty, "Ava", "Smith").await;
        let b = issued_last_year(t, &ty, "Zoë", "O'Brien").await;
        let mut wanted = Vec::new();
        for c in [&a, &b] {
            wanted.push(id(&certificates_of(t, c).await[0]));
        }
        let zipped = t.post("/api/v1/certificates/zip", json!({"certificate_ids": wanted})).await;
        assert_eq!(zipped.status, 200, "{}", zipped.text);
        assert_eq!(zipped.headers["content-type"], "application/zip");
        assert!(zipped.headers["content-disposition"].to_str().unwrap().contains("certificates.zip"));
        let entries = unzip(&zipped.bytes);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Ava Smith - Fire Instructor I - FI-2025-Ava.pdf", "Zoë O Brien - Fire Instructor I - FI-2025-Zoë.pdf"]);
        for (i, (_, pdf)) in entries.iter().enumerate() {
            assert!(pdf.starts_with(b"%PDF"), "entry {i} is a PDF");
            let alone = t.get(&format!("/api/v1/certificates/{}/pdf", wanted[i])).await;
            assert_eq!(&alone.bytes, pdf, "each entry is the certificate's own file");
        }

        // Bad input: none named, another agency's or unknown ids, more than a batch.
        assert_eq!(t.post("/api/v1/certificates/zip", json!({"certificate_ids": []})).await.invalid_fields(), ["certificate_ids"]);
        t.post("/api/v1/certificates/zip", json!({"certificate_ids": ["cert_999999"]})).await.problem(404);
        let other = t.other_agency_admin().await;
        t.send(axum::http::Method::POST, "/api/v1/certificates/zip", Some(&other), Some(json!({"certificate_ids": [wanted[0]]}))).await.problem(404);
        t.post("/api/v1/certificates/zip", json!({"ids": [wanted[0]]})).await.problem(422);

        // The register page offers the same download.
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let register = page(t, "/certificates", &cookie).await;
        assert!(register.text.contains("value=\"zip\""), "a ZIP button");
        let body = format!("csrf={csrf}&action=zip&certificate_id={}&certificate_id={}", wanted[0], wanted[1]);
        let download = form(t, "/certificates/action", &cookie, &body).await;
        assert_eq!(download.status, 200, "{}", download.text);
        assert_eq!(unzip(&download.bytes).len(), 2);
        // Without the CSRF token nothing is sent.
        let forged = form(t, "/certificates/action", &cookie, &format!("action=zip&certificate_id={}", wanted[0])).await;
        assert_eq!(forged.status, 400);
    }
}
