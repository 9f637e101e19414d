//! Certificates (seed 004) through the HTTP API: templates checked and versioned, generation
//! for a selection, preview, merge, regenerate with history, issue (lock), e-mail with the
//! PDF attached, the register with filters and CSV, public verification, supporting
//! documents checked by content, the agency's logo on certificates, and every bad input
//! refused with nothing written.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request};
use credence_app::{App, Role};
use serde_json::{json, Value};

use crate::both_databases;
use crate::harness::{Resp, TestApp};
use crate::keeping_current::SmtpServer;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(id).collect()
}

/// The page count of the root page tree, as Typst writes it.
fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let at = text.find("/Type/Pages/Count ").expect("a page tree") + 18;
    text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A published type and members holding it (issued through the active-with-period mode).
async fn holders(t: &TestApp, names: &[(&str, &str)]) -> (String, Vec<String>) {
    let ty = t.post("/api/v1/credential-types", json!({
        "code": "HAZ", "name": "Hazmat Operations", "validity_months": 24, "renewal": "manual"
    })).await.expect(201);
    let ty = id(&ty);
    t.post(&format!("/api/v1/credential-types/{ty}/publish"), json!({}))
        .await
        .expect(200);
    let mut members = Vec::new();
    for (first, last) in names {
        let email = format!("{}@station1.test", first.to_lowercase());
        let m = t
            .post(
                "/api/v1/members",
                json!({"first_name": first, "last_name": last, "email": email}),
            )
            .await
            .expect(201);
        members.push(id(&m));
    }
    let assigned = t.post("/api/v1/assignments", json!({
        "credential_type_id": ty, "mode": "active_with_period", "issue_date": "2026-01-15", "expiration_date": "2028-01-15",
        "member_ids": members
    })).await.expect(200);
    let credentials = assigned["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (ty, credentials)
}

/// How many certificates the register lists.
async fn in_register(t: &TestApp) -> usize {
    t.get("/api/v1/certificates").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn multipart(t: &TestApp, path: &str, file_name: &str, bytes: &[u8]) -> Resp {
    multipart_as(t, Method::POST, path, &t.admin, file_name, bytes).await
}

async fn multipart_as(
    t: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    file_name: &str,
    bytes: &[u8],
) -> Resp {
    let boundary = "credence-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    t.send_request(req).await
}

/// 1×1 PNGs: one dark red pixel, one blue.
pub const RED_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xa8, 0x97, 0x95, 0x05,
    0x00, 0x01, 0xd8, 0x00, 0xba, 0x06, 0xb1, 0xc1, 0xae, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];
const BLUE_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x90, 0xf5, 0xbb, 0x01,
    0x00, 0x01, 0xcf, 0x01, 0x44, 0x5f, 0xf2, 0x5f, 0xda, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Image XObjects are streams, never packed into compressed object streams, so their
/// dictionaries are readable in the PDF's bytes (the QR code is vector, not an image).
fn has_image(pdf: &[u8]) -> bool {
    String::from_utf8_lossy(pdf).contains("/Subtype/Image")
}

async fn put_logo(t: &TestApp, token: &str, file_name: &str, bytes: &[u8]) -> Resp {
    multipart_as(
        t,
        Method::PUT,
        "/api/v1/agency/logo",
        token,
        file_name,
        bytes,
    )
    .await
}

both_databases! {
    async fn generating_warns_first_and_can_be_undone(t) {
        let (ty, creds) = holders(t, &[("Ava", "Smith"), ("Liam", "Brown")]).await;
        let m = t.post("/api/v1/members", json!({"first_name": "Noah", "last_name": "Lee"})).await.expect(201);
        let expired = t.post("/api/v1/assignments", json!({"credential_type_id": ty, "mode": "active_with_period",
            "issue_date": "2023-01-15", "expiration_date": "2025-01-15", "member_ids": [id(&m)]})).await.expect(200)["created"][0]
            .as_str().unwrap().to_string();
        let first = t.post("/api/v1/certificates", json!({"credential_ids": [creds[0]]})).await.expect(201);
        let cert = first["items"][0]["id"].as_str().unwrap().to_string();
        t.post(&format!("/api/v1/certificates/{cert}/issue"), json!({})).await.expect(200);

        // A dry run names what would be made and what deserves a second look; writes nothing.
        let all = json!([creds[0], creds[1], expired]);
        let dry = t.post("/api/v1/certificates", json!({"credential_ids": all, "dry_run": true})).await.expect(200);
        assert_eq!(dry["credential_ids"].as_array().unwrap().len(), 3);
        assert!(dry["items"].as_array().unwrap().is_empty());
        let mut warnings: Vec<(String, String)> = dry["warnings"].as_array().unwrap().iter()
            .map(|w| (w["credential_id"].as_str().unwrap().to_string(), w["reason"].as_str().unwrap().to_string())).collect();
        warnings.sort();
        let mut expected = vec![(creds[0].clone(), "already_certified".to_string()), (expired.clone(), "expired".to_string())];
        expected.sort();
        assert_eq!(warnings, expected);
        assert_eq!(in_register(t).await, 1, "a dry run writes nothing");

        // The page asks first, naming the members; generating anyway makes an operation.
        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let cookie = crate::web_pages::sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let shown = crate::web_pages::page(t, "/certificates", &cookie).await;
        let csrf = shown.text.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_string();
        let body = format!("csrf={csrf}&credential_id={}&credential_id={}&back=javascript:alert(1)", creds[1], expired);
        let ask = crate::web_pages::form(t, "/certificates/request", &cookie, &body).await;
        assert_eq!(ask.status, 200);
        assert!(ask.text.contains("Generate anyway") && ask.text.contains("the credential has expired") && ask.text.contains("Lee"));
        assert!(!ask.text.contains("javascript:"), "a foreign back link is dropped");
        assert_eq!(in_register(t).await, 1);
        let done = crate::web_pages::form(t, "/certificates/request", &cookie, &format!("{body}&confirmed=1")).await;
        assert_eq!(done.status, 303);
        let op = done.headers["location"].to_str().unwrap().trim_start_matches("/operations/").to_string();
        assert!(op.starts_with("op_"), "lands on the operation: {op}");
        assert_eq!(in_register(t).await, 3);

        // Undo removes the certificates it made; the issued one stays.
        t.post(&format!("/api/v1/operations/{op}/undo"), json!({})).await.expect(200);
        assert_eq!(in_register(t).await, 1);
        assert_eq!(t.get(&format!("/api/v1/certificates/{cert}")).await.expect(200)["status"], "issued");
    }

    async fn generate_preview_merge_regenerate_issue_and_verify(t) {
        let (ty, creds) = holders(t, &[("Ava", "Smith"), ("Liam", "Brown"), ("Noah", "Lee")]).await;
        let unissued = t.post("/api/v1/members", json!({"first_name": "Emma", "last_name": "Garcia"})).await.expect(201);
        let pending = t.post("/api/v1/assignments", json!({
            "credential_type_id": ty, "mode": "completion_period", "period_end": "2026-12-31", "member_ids": [id(&unissued)]
        })).await.expect(200)["created"][0].as_str().unwrap().to_string();

        // The defaults exist from the first look.
        let templates = t.get("/api/v1/certificate-templates").await.expect(200);
        let kinds: Vec<&str> = templates.as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["certificate", "wallet_card"]);
        let wallet = id(&templates[1]);

        // Request in bulk: one certificate per current issuance; the unissued one is skipped.
        let mut all = creds.clone();
        all.push(pending.clone());
        let generated = t.post("/api/v1/certificates", json!({"credential_ids": all})).await.expect(201);
        let items = generated["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(generated["skipped"], json!([{"credential_id": pending, "reason": "no_current_issuance"}]));
        let first = &items[0];
        assert_eq!((first["status"].as_str(), first["member_name"].as_str()), (Some("generated"), Some("Liam Brown")));
        assert_eq!(first["template_id"], templates[0]["id"]);
        assert_eq!(first["verify_url"], format!("https://credence.test/verify/{}", first["public_id"].as_str().unwrap()));
        let cert = id(first);

        // Preview: the PDF, one landscape page.
        let pdf = t.get(&format!("/api/v1/certificates/{cert}/pdf")).await;
        assert_eq!(pdf.status, 200);
        assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
        assert!(pdf.bytes.starts_with(b"%PDF-"));
        assert_eq!(pages(&pdf.bytes), 1);

        // Merge for printing: one file, one page each, in the order asked.
        let all_certs = ids(&generated["items"]);
        let merged = t.send(Method::POST, "/api/v1/certificates/merge", Some(&t.admin), Some(json!({"certificate_ids": all_certs}))).await;
        assert_eq!(merged.status, 200);
        assert_eq!(pages(&merged.bytes), 3);

        // A wallet card for one member, chosen explicitly.
        let card = t.post("/api/v1/certificates", json!({"credential_ids": [creds[0]], "template_id": wallet})).await.expect(201);
        assert_eq!(card["items"][0]["template_name"], "Wallet card");

        // Correct the data, regenerate: the new file replaces the old, which stays in history.
        let member = t.get(&format!("/api/v1/certificates/{cert}")).await.expect(200)["member_id"].as_str().unwrap().to_string();
        let m = t.get(&format!("/api/v1/members/{member}")).await.expect(200);
        t.patch(&format!("/api/v1/members/{member}"), json!({"first_name": "William", "version": m["version"]})).await.expect(200);
        let again = t.post(&format!("/api/v1/certificates/{cert}/regenerate"), json!({})).await.expect(200);
        assert_eq!(again["member_name"], "William Brown");
        let history = t.get(&format!("/api/v1/certificates/{cert}/history")).await.expect(200);
        assert_eq!(history.as_array().unwrap().len(), 2);
        let old = t.send(Method::GET, &format!("/api/v1/files/{}", id(&history[1])), Some(&t.admin), None).await;
        assert!(old.bytes.starts_with(b"%PDF-") && old.bytes != t.get(&format!("/api/v1/certificates/{cert}/pdf")).await.bytes);

        // Issue locks it: no second issue, no regeneration.
        let issued = t.post(&format!("/api/v1/certificates/{cert}/issue"), json!({})).await.expect(200);
        assert_eq!(issued["status"], "issued");
        assert!(issued["issued_at"].is_string());
        assert_eq!(t.post(&format!("/api/v1/certificates/{cert}/regenerate"), json!({})).await.invalid_fields(), ["certificate_ids[0]"]);
        assert_eq!(t.post(&format!("/api/v1/certificates/{cert}/issue"), json!({})).await.invalid_fields(), ["certificate_ids[0]"]);

        // The register: filters, search, CSV.
        let register = t.get("/api/v1/certificates?status=issued").await.expect(200);
        assert_eq!(ids(&register["items"]), std::slice::from_ref(&cert));
        let found = t.get("/api/v1/certificates?q=william").await.expect(200);
        assert!(ids(&found["items"]).contains(&cert));
        assert!(found["items"].as_array().unwrap().iter().all(|c| c["member_name"] == "William Brown"));
        let page = t.get(&format!("/api/v1/certificates?credential_type_id={ty}&limit=2")).await.expect(200);
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let rest = t.get(&format!("/api/v1/certificates?credential_type_id={ty}&limit=2&cursor={}", page["next_cursor"].as_str().unwrap())).await.expect(200);
        assert_eq!(rest["items"].as_array().unwrap().len(), 2);
        let csv = t.get("/api/v1/certificates?format=csv").await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.text.lines().count(), 5, "{}", csv.text);
        assert!(csv.text.lines().next().unwrap().starts_with("member,employee_number,groups,credential_type,number"));

        // Public verification: holder, type, dates, status; revoking the credential shows it.
        let public_id = issued["public_id"].as_str().unwrap().to_string();
        let verify = t.send(Method::GET, &format!("/verify/{public_id}"), None, None).await;
        assert_eq!(verify.status, 200);
        assert!(verify.text.contains("William Brown") && verify.text.contains("Hazmat Operations") && verify.text.contains("Valid"), "{}", verify.text);
        assert!(!verify.text.contains("william@station1.test"), "nothing but holder, type, dates and status");
        t.post(&format!("/api/v1/credentials/{}/revoke", issued["credential_id"].as_str().unwrap()), json!({"reason": "Audit"})).await.expect(200);
        let verify = t.send(Method::GET, &format!("/verify/{public_id}"), None, None).await;
        assert!(verify.text.contains("Revoked") && verify.text.contains("Audit"), "the page says when and why: {}", verify.text);
        // The same facts as JSON, for other systems; no login either.
        let facts = t.send(Method::GET, &format!("/verify/{public_id}.json"), None, None).await.expect(200);
        assert_eq!((facts["status"].as_str(), facts["revocation_reason"].as_str()), (Some("revoked"), Some("Audit")));
        assert_eq!((facts["holder"].as_str(), facts["credential_type"].as_str()), (Some("William Brown"), Some("Hazmat Operations")));
        assert_eq!(facts["revoked_on"], facts["checked_on"]);
        assert_eq!(facts["public_id"].as_str(), Some(public_id.as_str()));
        assert!(facts.get("email").is_none() && !facts.to_string().contains("william@"), "nothing but the facts: {facts}");
        assert_eq!(t.send(Method::GET, "/verify/nosuchcertificate.json", None, None).await.status, 404);
        // #18.3: the register, its filters and its CSV say the same as the verify page.
        assert_eq!(t.get(&format!("/api/v1/certificates/{cert}")).await.expect(200)["status"], "revoked");
        let revoked = t.get("/api/v1/certificates?status=revoked").await.expect(200);
        assert_eq!(ids(&revoked["items"]), std::slice::from_ref(&cert));
        let issued_now = t.get("/api/v1/certificates?status=issued").await.expect(200);
        assert!(!ids(&issued_now["items"]).contains(&cert), "a revoked certificate is not listed as issued");
        let csv = t.get("/api/v1/certificates?format=csv").await;
        assert!(csv.text.lines().any(|l| l.contains("revoked")), "{}", csv.text);
        assert_eq!(t.send(Method::GET, "/verify/nosuchcertificate", None, None).await.status, 404);

        // Another agency sees none of it.
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &format!("/api/v1/certificates/{cert}"), Some(&other), None).await.problem(404);
        t.send(Method::GET, &format!("/api/v1/certificates/{cert}/pdf"), Some(&other), None).await.problem(404);
        t.send(Method::POST, "/api/v1/certificates/merge", Some(&other), Some(json!({"certificate_ids": [cert]}))).await.problem(404);
        let fields = t.send(Method::POST, "/api/v1/certificates", Some(&other), Some(json!({"credential_ids": [creds[0]]}))).await.invalid_fields();
        assert_eq!(fields, ["credential_ids"]);
        let theirs = t.send(Method::GET, "/api/v1/certificates", Some(&other), None).await.expect(200);
        assert_eq!(theirs["items"], json!([]));
    }

    async fn request_first_then_generate_and_email(t) {
        let (ty, creds) = holders(t, &[("Ava", "Smith")]).await;
        // Requested in bulk for the type's issuances in a date range, without rendering yet.
        let requested = t.post("/api/v1/certificates", json!({
            "credential_type_id": ty, "issued_from": "2026-01-01", "issued_to": "2026-01-31", "generate": false
        })).await.expect(201);
        let cert = id(&requested["items"][0]);
        assert_eq!(requested["items"][0]["status"], "ready_to_be_requested");
        assert_eq!(requested["items"][0]["credential_id"], creds[0].as_str());
        // Not generated: no e-mail, no issue; but a preview renders from its data.
        assert_eq!(t.post(&format!("/api/v1/certificates/{cert}/issue"), json!({})).await.invalid_fields(), ["certificate_ids[0]"]);
        assert_eq!(t.post(&format!("/api/v1/certificates/{cert}/email"), json!({})).await.invalid_fields(), ["certificate"]);
        let preview = t.get(&format!("/api/v1/certificates/{cert}/pdf")).await;
        assert!(preview.bytes.starts_with(b"%PDF-"));
        assert_eq!(t.send(Method::GET, &format!("/verify/{}", requested["items"][0]["public_id"].as_str().unwrap()), None, None).await.status, 404);

        let generated = t.post(&format!("/api/v1/certificates/{cert}/regenerate"), json!({})).await.expect(200);
        assert_eq!(generated["status"], "generated");
        let queued = t.post(&format!("/api/v1/certificates/{cert}/email"), json!({})).await;
        assert_eq!(queued.status, 202);
        assert_eq!(queued.body["to"], "ava@station1.test");

        let smtp = SmtpServer::start();
        let mailer = credence_app::notify::reminders::Mailer::from_url(&format!("smtp://127.0.0.1:{}", smtp.port), "credence@test.example").unwrap();
        let sender: App = t.app.clone().with_mailer(mailer);
        assert_eq!(sender.deliver_outbox().await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let messages = smtp.messages();
        assert_eq!(messages.len(), 1);
        let message = &messages[0];
        assert!(message.contains("Subject: Your Hazmat Operations certificate"), "{message}");
        assert!(message.contains("Content-Type: application/pdf"), "{message}");
        assert!(message.contains("JVBERi0"), "the PDF travels base64-encoded: {message}");
    }

    async fn templates_are_checked_located_and_versioned(t) {
        // A broken template is refused with the line that breaks it; nothing is saved.
        let broken = "#let certificate(data) = {\n  set page(width: 4in, height: 3in)\n  [#data.member.nmae]\n}\n";
        let resp = t.post("/api/v1/certificate-templates", json!({"name": "Broken", "source": broken})).await.problem(422);
        let message = resp["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("line 3, column"), "{message}");
        assert!(message.contains("nmae"), "{message}");
        let no_function = t.post("/api/v1/certificate-templates", json!({"name": "Empty", "source": "Hello"})).await.problem(422);
        assert!(no_function["errors"][0]["message"].as_str().unwrap().contains("certificate(data)"));
        let looping = "#let certificate(data) = {\n  let n = 0\n  for i in range(100000) { for j in range(100000) { n += 1 } }\n}\n";
        let stopped = t.post("/api/v1/certificate-templates", json!({"name": "Loop", "source": looping})).await.problem(422);
        assert!(stopped["errors"][0]["message"].as_str().unwrap().contains("longer than"), "{stopped}");
        assert_eq!(t.get("/api/v1/certificate-templates").await.expect(200).as_array().unwrap().len(), 2);

        // A good one saves at version 1; editing makes version 2 and needs the current version.
        let source = "#let certificate(data) = {\n  set page(width: 6in, height: 4in)\n  align(center + horizon, text(20pt, data.member.name))\n}\n";
        let created = t.post("/api/v1/certificate-templates", json!({"name": "Simple", "source": source})).await.expect(201);
        assert_eq!((created["version"].as_i64(), created["kind"].as_str()), (Some(1), Some("custom")));
        let tpl = id(&created);
        let edited = t.put(&format!("/api/v1/certificate-templates/{tpl}"), json!({"name": "Simple", "source": source.replace("20pt", "24pt"), "version": 1})).await.expect(200);
        assert_eq!(edited["version"], 2);
        t.put(&format!("/api/v1/certificate-templates/{tpl}"), json!({"name": "Simple", "source": source, "version": 1})).await.problem(409);

        // Preview without saving; members and auditors cannot upload.
        let preview = t.send(Method::POST, "/api/v1/certificate-templates/preview", Some(&t.admin), Some(json!({"source": source}))).await;
        assert_eq!(preview.status, 200);
        assert!(preview.bytes.starts_with(b"%PDF-"));
        let auditor = t.token(Role::Auditor, None).await;
        t.send(Method::POST, "/api/v1/certificate-templates", Some(&auditor), Some(json!({"name": "X", "source": source}))).await.problem(403);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &format!("/api/v1/certificate-templates/{tpl}"), Some(&other), None).await.problem(404);
    }

    async fn only_admins_preview_and_a_preview_over_the_limits_is_refused(t) {
        let source = "#let certificate(data) = {\n  set page(width: 6in, height: 4in)\n  data.member.name\n}\n";
        let preview = |token: String, source: &str| {
            let body = json!({"source": source});
            async move { t.send(Method::POST, "/api/v1/certificate-templates/preview", Some(&token), Some(body)).await }
        };
        for role in [Role::Officer, Role::Auditor] {
            let token = t.token(role, None).await;
            preview(token, source).await.problem(403);
        }
        let ok = preview(t.admin.clone(), source).await;
        assert_eq!(ok.status, 200);
        assert!(ok.bytes.starts_with(b"%PDF-"));

        // Thirty pages of one "certificate": refused, naming the limit, nothing saved.
        let long = "#let certificate(data) = {\n  for i in range(30) { if i > 0 { pagebreak() }; [Page #i] }\n}\n";
        let refused = preview(t.admin.clone(), long).await.problem(422);
        assert_eq!(refused["errors"][0]["field"], "source");
        assert_eq!(refused["errors"][0]["message"], "the PDF would have 30 pages, over the page limit of 20", "{refused}");
        let saved = t.post("/api/v1/certificate-templates", json!({"name": "Long", "source": long})).await.problem(422);
        assert!(saved["errors"][0]["message"].as_str().unwrap().contains("page limit of 20"), "{saved}");
        assert_eq!(t.get("/api/v1/certificate-templates").await.expect(200).as_array().unwrap().len(), 2);
    }

    async fn register_search_matches_percent_and_underscore_literally(t) {
        let (_, creds) = holders(t, &[("Ava", "Smith"), ("Noah", "Lee_Jones"), ("Mia", "Perez%")]).await;
        t.post("/api/v1/certificates", json!({"credential_ids": creds})).await.expect(201);
        let names = |q: &'static str| async move {
            let found = t.get(&format!("/api/v1/certificates?q={q}")).await.expect(200);
            let mut names: Vec<String> = found["items"].as_array().unwrap().iter()
                .map(|c| c["member_name"].as_str().unwrap().to_string()).collect();
            names.sort();
            names
        };
        assert_eq!(names("_").await, ["Noah Lee_Jones"]);
        assert_eq!(names("%25").await, ["Mia Perez%"]);
        assert_eq!(names("a_a").await, Vec::<String>::new());
        assert_eq!(names("lee_j").await, ["Noah Lee_Jones"]);
        assert_eq!(names("%5C").await, Vec::<String>::new());
    }

    async fn certificate_requests_refuse_bad_input(t) {
        let (ty, creds) = holders(t, &[("Ava", "Smith")]).await;
        let fields = |r: Resp| r.invalid_fields();
        assert_eq!(fields(t.post("/api/v1/certificates", json!({})).await), ["credential_ids"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"credential_ids": creds, "class_id": "cls_1"})).await), ["credential_ids"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"credential_ids": ["crd_999999"]})).await), ["credential_ids"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"credential_ids": ["nonsense"]})).await), ["credential_ids[0]"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"credential_ids": creds, "template_id": "tpl_999"})).await), ["template_id"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"class_id": "cls_999"})).await), ["class_id"]);
        assert_eq!(fields(t.post("/api/v1/certificates", json!({"credential_type_id": ty, "issued_from": "2026-02-01", "issued_to": "2026-01-01"})).await), ["issued_to"]);
        t.post("/api/v1/certificates/merge", json!({"certificate_ids": ["cert_424242"]})).await.problem(404);
        t.get("/api/v1/certificates/cert_424242").await.problem(404);
        t.get("/api/v1/certificates/whatever/pdf").await.problem(404);
        assert_eq!(t.get("/api/v1/certificates").await.expect(200)["items"], json!([]), "nothing was written");
        let ava = t.get("/api/v1/members").await.expect(200)["items"][0]["id"].as_str().unwrap().to_string();
        let member = t.token(Role::Member, Some(&ava)).await;
        t.send(Method::POST, "/api/v1/certificates", Some(&member), Some(json!({"credential_ids": creds}))).await.problem(403);
    }

    async fn supporting_documents_are_checked_by_content(t) {
        let (_, creds) = holders(t, &[("Ava", "Smith")]).await;
        let detail = t.get(&format!("/api/v1/credentials/{}", creds[0])).await.expect(200);
        let issuance = detail["issuances"][0]["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/issuances/{issuance}/documents");
        let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

        let saved = multipart(t, &path, "../../etc/skills sheet.pdf", pdf).await.expect(201);
        assert_eq!(saved["name"], "skills sheet.pdf", "no path survives in a name");
        assert_eq!((saved["content_type"].as_str(), saved["size_bytes"].as_i64()), (Some("application/pdf"), Some(pdf.len() as i64)));
        assert_eq!(multipart(t, &path, "empty.pdf", b"").await.invalid_fields(), ["file"]);
        assert_eq!(multipart(t, &path, "photo.png", pdf).await.invalid_fields(), ["file"], "content and name disagree");
        assert_eq!(multipart(t, &path, "notes.txt", b"plain text").await.invalid_fields(), ["file"]);
        let big = vec![b'%'; 11 * 1024 * 1024];
        assert_eq!(multipart(t, &path, "huge.pdf", &big).await.status, 413);
        multipart(t, "/api/v1/issuances/iss_999999/documents", "a.pdf", pdf).await.problem(404);

        let listed = t.get(&path).await.expect(200);
        assert_eq!(ids(&listed), [id(&saved)]);
        let file = t.get(&format!("/api/v1/files/{}", id(&saved))).await;
        assert_eq!(file.bytes, pdf);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, &format!("/api/v1/files/{}", id(&saved)), Some(&other), None).await.problem(404);
        t.send(Method::GET, &path, Some(&other), None).await.problem(404);
    }

    async fn uploaded_files_download_sandboxed_and_huge_images_are_refused(t) {
        let (_, creds) = holders(t, &[("Ava", "Smith")]).await;
        let detail = t.get(&format!("/api/v1/credentials/{}", creds[0])).await.expect(200);
        let path = format!("/api/v1/issuances/{}/documents", detail["issuances"][0]["id"].as_str().unwrap());
        let saved = multipart(t, &path, "card.png", &RED_PNG).await.expect(201);
        put_logo(t, &t.admin, "logo.png", &RED_PNG).await.expect(200);
        for uploaded in [format!("/api/v1/files/{}", id(&saved)), "/api/v1/agency/logo".to_string()] {
            let r = t.get(&uploaded).await;
            assert_eq!(r.status, 200, "{uploaded}");
            assert!(r.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment;"), "{uploaded}");
            assert_eq!(r.headers[header::CONTENT_SECURITY_POLICY], "sandbox; default-src 'none'", "{uploaded}");
        }
        // What Credence rendered itself is still shown in the browser.
        let cert = t.post("/api/v1/certificates", json!({"credential_ids": creds})).await.expect(201);
        let pdf = t.get(&format!("/api/v1/certificates/{}/pdf", id(&cert["items"][0]))).await;
        assert!(pdf.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("inline;"));
        assert_ne!(pdf.headers[header::CONTENT_SECURITY_POLICY], "sandbox; default-src 'none'");

        // A PNG header declaring 10,000 × 5,000 pixels: refused before anything decodes it.
        let mut bomb = RED_PNG.to_vec();
        bomb[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&5_000u32.to_be_bytes());
        let refused = multipart(t, &path, "bomb.png", &bomb).await.problem(422);
        assert_eq!(refused["errors"][0]["message"], "is 10000 × 5000 pixels; at most 40 megapixels are accepted");
        let refused = put_logo(t, &t.admin, "bomb.png", &bomb).await.problem(422);
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("40 megapixels"), "{refused}");
        assert_eq!(t.get(&path).await.expect(200).as_array().unwrap().len(), 1, "nothing stored");
    }

    async fn the_agency_logo_shows_on_certificates_and_earlier_ones_keep_theirs(t) {
        let (_, creds) = holders(t, &[("Ava", "Smith"), ("Liam", "Brown")]).await;
        let path = "/api/v1/agency/logo";
        t.get(path).await.problem(404);
        let generated = t.post("/api/v1/certificates", json!({"credential_ids": [creds[0]]})).await.expect(201);
        let plain = t.get(&format!("/api/v1/certificates/{}/pdf", id(&generated["items"][0]))).await;
        assert!(!has_image(&plain.bytes), "no logo, no image");

        // Upload; everyone who reads the agency gets it back as it was sent.
        let saved = put_logo(t, &t.admin, "crest.png", &RED_PNG).await.expect(200);
        assert_eq!((saved["name"].as_str(), saved["content_type"].as_str()), (Some("crest.png"), Some("image/png")));
        let auditor = t.token(Role::Auditor, None).await;
        let logo = t.send(Method::GET, path, Some(&auditor), None).await;
        assert_eq!(logo.status, 200);
        assert_eq!(logo.headers[header::CONTENT_TYPE], "image/png");
        assert_eq!(logo.bytes, RED_PNG);

        // Bad files are refused and the logo stays; only an admin changes it.
        assert_eq!(put_logo(t, &t.admin, "logo.png", b"just some text").await.invalid_fields(), ["file"]);
        assert_eq!(put_logo(t, &t.admin, "logo.png", b"").await.invalid_fields(), ["file"]);
        assert_eq!(put_logo(t, &t.admin, "logo.pdf", b"%PDF-1.7\n").await.invalid_fields(), ["file"]);
        let broken = [&RED_PNG[..16], b"not the rest of a PNG"].concat();
        assert_eq!(put_logo(t, &t.admin, "broken.png", &broken).await.invalid_fields(), ["file"], "undecodable");
        let mut big = RED_PNG.to_vec();
        big.resize(1024 * 1024 + 1, 0);
        assert_eq!(put_logo(t, &t.admin, "big.png", &big).await.invalid_fields(), ["file"]);
        assert_eq!(put_logo(t, &t.admin, "huge.png", &vec![0; 9 * 1024 * 1024]).await.status, 413);
        let officer = t.token(Role::Officer, None).await;
        put_logo(t, &officer, "crest.png", &BLUE_PNG).await.problem(403);
        t.send(Method::DELETE, path, Some(&officer), None).await.problem(403);
        let other = t.other_agency_admin().await;
        t.send(Method::GET, path, Some(&other), None).await.problem(404);
        assert_eq!(t.get(path).await.bytes, RED_PNG, "nothing half-written");

        // Certificates show it: generated now, and one requested to render later.
        let generated = t.post("/api/v1/certificates", json!({"credential_ids": [creds[0]]})).await.expect(201);
        let cert = id(&generated["items"][0]);
        assert!(has_image(&t.get(&format!("/api/v1/certificates/{cert}/pdf")).await.bytes));
        let requested = t.post("/api/v1/certificates", json!({"credential_ids": [creds[1]], "generate": false})).await.expect(201);
        let later = id(&requested["items"][0]);
        let before = t.get(&format!("/api/v1/certificates/{later}/pdf")).await.bytes;
        assert!(has_image(&before));

        // A new logo: what was made with the old one re-renders identically.
        let replaced = put_logo(t, &t.admin, "crest-2026.png", &BLUE_PNG).await.expect(200);
        assert_ne!(replaced["id"], saved["id"]);
        assert_eq!(t.get(path).await.bytes, BLUE_PNG);
        assert_eq!(t.get(&format!("/api/v1/certificates/{later}/pdf")).await.bytes, before);
        let merged = t.post("/api/v1/certificates/merge", json!({"certificate_ids": [cert, later]})).await;
        assert_eq!((merged.status.as_u16(), pages(&merged.bytes)), (200, 2));
        // Regenerating takes current data, the new logo included.
        t.post(&format!("/api/v1/certificates/{later}/regenerate"), json!({})).await.expect(200);
        let regenerated = t.get(&format!("/api/v1/certificates/{later}/pdf")).await.bytes;
        assert!(has_image(&regenerated) && regenerated != before);
        t.post(&format!("/api/v1/certificates/{cert}/regenerate"), json!({})).await.expect(200);

        // Removed: new certificates are plain again; the old files stay readable.
        assert_eq!(t.delete(path).await.status, 204);
        t.get(path).await.problem(404);
        t.delete(path).await.problem(404);
        let plain = t.post("/api/v1/certificates", json!({"credential_ids": [creds[1]]})).await.expect(201);
        assert!(!has_image(&t.get(&format!("/api/v1/certificates/{}/pdf", id(&plain["items"][0]))).await.bytes));
        assert_eq!(t.get(&format!("/api/v1/files/{}", id(&saved))).await.bytes, RED_PNG);
        let agency = t.agency_id.to_string();
        let events = t.get(&format!("/api/v1/audit-events?subject_id={agency}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(["set_logo", "remove_logo"].iter().all(|a| actions.contains(a)), "{events}");
    }
}
