//! Open Badges 3.0 (#21): a credential's badge as a VC-JWT, the issuer's profile and keys,
//! the status list, verification, key rotation, roles and agencies — on both databases.

use axum::http::Method;
use credence_app::documents::badges::jose::{b64, unb64};
use credence_app::documents::badges::status_list::decode;
use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::{Resp, TestApp};
use crate::web_pages::{page, sign_in};

/// The header and payload of a compact JWS (not checked).
fn parts(jwt: &str) -> (Value, Value) {
    let p: Vec<&str> = jwt.split('.').collect();
    assert_eq!(p.len(), 3, "{jwt}");
    let header = serde_json::from_slice(&unb64(p[0]).unwrap()).unwrap();
    let payload = serde_json::from_slice(&unb64(p[1]).unwrap()).unwrap();
    (header, payload)
}

/// `jwt` with its payload replaced, the header and signature kept.
fn with_payload(jwt: &str, payload: &Value) -> String {
    let p: Vec<&str> = jwt.split('.').collect();
    format!("{}.{}.{}", p[0], b64(payload.to_string().as_bytes()), p[2])
}

async fn badge_as(t: &TestApp, credential: &str, token: &str) -> Resp {
    t.send(
        Method::GET,
        &format!("/api/v1/credentials/{credential}/badge"),
        Some(token),
        None,
    )
    .await
}

async fn badge(t: &TestApp, credential: &str) -> String {
    let r = badge_as(t, credential, &t.admin).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/vc+jwt");
    r.text
}

async fn verify(t: &TestApp, jwt: &str) -> Value {
    t.send(
        Method::POST,
        "/api/v1/verify",
        None,
        Some(json!({ "jwt": jwt })),
    )
    .await
    .expect(200)
}

async fn status_of(t: &TestApp, jwt: &str) -> String {
    verify(t, jwt).await["status"].as_str().unwrap().to_string()
}

/// The bit of the badge's status entry, read from the published list as a verifier would:
/// the list's signature checked against jwks.json, its `encodedList` decoded.
async fn published_bit(t: &TestApp, jwt: &str) -> bool {
    let (_, badge) = parts(jwt);
    let url = badge["credentialStatus"]["statusListCredential"]
        .as_str()
        .unwrap();
    let path = url.strip_prefix("https://credence.test").unwrap();
    let r = t.send(Method::GET, path, None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["content-type"], "application/vc+jwt");
    let (header, list) = parts(&r.text);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(
        list["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(list["id"], url);
    assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
    // The list is signed by the issuer: our own verifier says so of the list too.
    assert_eq!(verify(t, &r.text).await["checks"][2]["outcome"], "passed");
    let bits = decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap();
    let index: u64 = badge["credentialStatus"]["statusListIndex"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    bits.get(index).unwrap()
}

async fn held(t: &TestApp, code: &str, issue_date: &str) -> (String, String) {
    let ty = CredentialTypeBuilder::new(code).publish(t).await;
    Track::of(&ty).active(issue_date).build(t).await
}

both_databases! {
    async fn a_badge_is_an_open_badge_credential_the_agency_signed(t) {
        let (_, cred) = held(t, "EMT", "2026-01-15").await;
        let jwt = badge(t, &cred).await;
        let (header, b) = parts(&jwt);
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["typ"], "vc+jwt");
        let kid = header["kid"].as_str().unwrap();

        // What the OB 3.0 schema requires of an OpenBadgeCredential (VC 2.0 form), field by field.
        assert_eq!(b["@context"][0], "https://www.w3.org/ns/credentials/v2");
        assert_eq!(b["@context"][1], "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json");
        assert_eq!(b["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert!(b["id"].as_str().unwrap().starts_with("urn:uuid:"), "{}", b["id"]);
        assert_eq!(b["name"], "EMT card");
        assert_eq!(b["issuer"]["id"], "https://credence.test/issuers/test");
        assert_eq!(b["issuer"]["type"], json!(["Profile"]));
        assert_eq!(b["issuer"]["name"], "Test Fire District");
        // The agency is in Chicago: the issue day starts at 06:00 UTC in winter.
        assert_eq!(b["validFrom"], "2026-01-15T06:00:00Z");
        assert_eq!(b["validUntil"], "2028-01-16T05:59:59Z");
        assert!(b.get("vc").is_none(), "the payload is the credential itself");
        let s = &b["credentialSubject"];
        assert_eq!(s["type"], json!(["AchievementSubject"]));
        assert_eq!(s["identifier"][0], json!({"type": "IdentityObject", "identityType": "name", "hashed": false, "identityHash": "Ava Fixture"}));
        let a = &s["achievement"];
        assert!(a["id"].as_str().unwrap().starts_with("urn:uuid:"));
        assert_eq!(a["type"], json!(["Achievement"]));
        assert_eq!(a["name"], "EMT card");
        assert!(!a["description"].as_str().unwrap().is_empty());
        assert!(!a["criteria"]["narrative"].as_str().unwrap().is_empty());
        let status = &b["credentialStatus"];
        assert_eq!(status["type"], "BitstringStatusListEntry");
        assert_eq!(status["statusPurpose"], "revocation");
        assert_eq!(status["statusListCredential"], "https://credence.test/status-lists/test/1");
        let index: u64 = status["statusListIndex"].as_str().unwrap().parse().unwrap();
        assert!(index < 131_072);

        // The same badge again: same id and status entry (a download does not use up entries).
        let (_, again) = parts(&badge(t, &cred).await);
        assert_eq!(again["id"], b["id"]);
        assert_eq!(again["credentialStatus"], b["credentialStatus"]);

        // The issuer's profile and keys are public.
        let profile = t.send(Method::GET, "/issuers/test", None, None).await.expect(200);
        assert_eq!(profile["id"], b["issuer"]["id"]);
        assert_eq!(profile["type"], json!(["Profile"]));
        let jwks = t.send(Method::GET, "/issuers/test/jwks.json", None, None).await;
        assert_eq!(jwks.headers["content-type"], "application/jwk-set+json");
        let jwks = jwks.expect(200);
        assert_eq!(jwks["keys"][0]["kid"], kid);
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
        assert_eq!(unb64(jwks["keys"][0]["x"].as_str().unwrap()).unwrap().len(), 32);
        assert!(jwks["keys"][0].get("d").is_none(), "no private part");

        let v = verify(t, &jwt).await;
        assert_eq!(v["status"], "valid", "{v}");
        let checks: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c["check"].as_str().unwrap()).collect();
        assert_eq!(checks, ["issuer", "key", "signature", "dates", "status"]);
        assert!(!published_bit(t, &jwt).await);
    }

    async fn revoking_sets_the_bit_and_undo_clears_it(t) {
        let (_, cred) = held(t, "EMT", "2026-01-15").await;
        let (_, other) = held(t, "CPR", "2026-01-15").await;
        let jwt = badge(t, &cred).await;
        let other_jwt = badge(t, &other).await;
        assert_ne!(parts(&jwt).1["credentialStatus"]["statusListIndex"], parts(&other_jwt).1["credentialStatus"]["statusListIndex"]);

        let done = t.post("/api/v1/credentials/bulk-revoke", json!({"credential_ids": [cred], "reason": "Audit"})).await.expect(200);
        assert_eq!(status_of(t, &jwt).await, "revoked");
        assert!(published_bit(t, &jwt).await, "the published list says revoked");
        assert_eq!(status_of(t, &other_jwt).await, "valid", "only its own bit");
        assert!(!published_bit(t, &other_jwt).await);
        // A revoked credential has no badge to give.
        badge_as(t, &cred, &t.admin).await.problem(409);

        let op = done["operation_id"].as_str().unwrap();
        t.post(&format!("/api/v1/operations/{op}/undo"), json!({})).await.expect(200);
        assert_eq!(status_of(t, &jwt).await, "valid");
        assert!(!published_bit(t, &jwt).await);

        // The single revoke too, in the same transaction as the revocation.
        t.post(&format!("/api/v1/credentials/{other}/revoke"), json!({"reason": "Lapsed license"})).await.expect(200);
        assert_eq!(status_of(t, &other_jwt).await, "revoked");
        assert!(published_bit(t, &other_jwt).await);
    }

    async fn tampered_foreign_and_unknown_badges_are_refused(t) {
        let (_, cred) = held(t, "EMT", "2026-01-15").await;
        let jwt = badge(t, &cred).await;
        let (header, payload) = parts(&jwt);

        let mut changed = payload.clone();
        changed["validUntil"] = json!("2099-12-31T23:59:59Z");
        let v = verify(t, &with_payload(&jwt, &changed)).await;
        assert_eq!(v["status"], "invalid_signature", "{v}");
        assert_eq!(v["checks"][2]["check"], "signature");
        assert_eq!(v["checks"][2]["outcome"], "failed");

        // Another agency of this server signs its own badges with its own key.
        let other = t.other_agency_admin().await;
        let ty = t.send(Method::POST, "/api/v1/credential-types", Some(&other), Some(json!({"code": "EMT", "name": "EMT", "validity_months": 24, "renewal": "manual"}))).await.expect(201);
        let ty = ty["id"].as_str().unwrap();
        t.send(Method::POST, &format!("/api/v1/credential-types/{ty}/publish"), Some(&other), Some(json!({}))).await.expect(200);
        let member = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Zoe", "last_name": "Other"}))).await.expect(201);
        let created = t.send(Method::POST, "/api/v1/assignments", Some(&other), Some(json!({
            "credential_type_id": ty, "member_ids": [member["id"]], "mode": "active_with_period", "issue_date": "2026-01-15"}))).await.expect(200);
        let their_cred = created["created"][0].as_str().unwrap();
        let r = badge_as(t, their_cred, &other).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let theirs = r.text;
        let (their_header, their_payload) = parts(&theirs);
        assert_ne!(their_header["kid"], header["kid"]);
        assert_ne!(their_payload["issuer"]["id"], payload["issuer"]["id"]);
        assert_eq!(status_of(t, &theirs).await, "valid");
        // Their badge cannot be read across agencies, nor ours by them.
        badge_as(t, their_cred, &t.admin).await.problem(404);
        badge_as(t, &cred, &other).await.problem(404);

        // Our claims under their key and signature: another agency's key is not ours.
        let t_parts: Vec<&str> = theirs.split('.').collect();
        let o_parts: Vec<&str> = jwt.split('.').collect();
        let foreign = format!("{}.{}.{}", t_parts[0], o_parts[1], t_parts[2]);
        let v = verify(t, &foreign).await;
        assert_eq!(v["status"], "invalid_signature", "{v}");
        assert_eq!(v["checks"][1]["outcome"], "failed");
        // Our header (our key) with their signature.
        let mixed = format!("{}.{}.{}", o_parts[0], o_parts[1], t_parts[2]);
        assert_eq!(status_of(t, &mixed).await, "invalid_signature");

        // An issuer this server does not know, or a key nobody here has: unknown, not valid.
        let mut elsewhere = payload.clone();
        elsewhere["issuer"]["id"] = json!("https://elsewhere.example/issuers/test");
        let v = verify(t, &with_payload(&jwt, &elsewhere)).await;
        assert_eq!(v["status"], "unknown", "{v}");
        assert_eq!(v["checks"][0]["outcome"], "unknown");
        let mut strange = header.clone();
        strange["kid"] = json!("no-such-key");
        let unknown_key = format!("{}.{}.{}", b64(strange.to_string().as_bytes()), o_parts[1], o_parts[2]);
        assert_eq!(status_of(t, &unknown_key).await, "unknown");
        let mut none = header.clone();
        none["alg"] = json!("none");
        let unsigned = format!("{}.{}.", b64(none.to_string().as_bytes()), o_parts[1]);
        assert_eq!(status_of(t, &unsigned).await, "invalid_signature");

        // Not a JWT at all: 422 naming the field.
        for bad in ["", "not a jwt", "a.b", "a.b.c.d", "e30.W10.AA"] {
            let r = t.send(Method::POST, "/api/v1/verify", None, Some(json!({ "jwt": bad }))).await;
            assert_eq!(r.invalid_fields(), ["jwt"], "{bad:?}");
        }
        let r = t.send(Method::POST, "/api/v1/verify", None, Some(json!({ "jwt": 5 }))).await;
        assert_eq!(r.status, 422, "{}", r.text);
    }

    async fn an_expired_badge_verifies_as_expired(t) {
        // Issued 2023-01-01 for 24 months: expired 2025-01-01, before today (2026-03-01).
        let (_, cred) = held(t, "EMT", "2023-01-01").await;
        let jwt = badge(t, &cred).await;
        let v = verify(t, &jwt).await;
        assert_eq!(v["status"], "expired", "{v}");
        assert_eq!(v["checks"][3]["outcome"], "failed");
        // Revocation is the stronger statement.
        t.post(&format!("/api/v1/credentials/{cred}/revoke"), json!({"reason": "Fraud"})).await.expect(200);
        assert_eq!(status_of(t, &jwt).await, "revoked");
    }

    async fn status_claims_of_a_changed_badge_are_not_read_and_unknown_lists_are_404(t) {
        let (_, cred) = held(t, "EMT", "2026-01-15").await;
        let jwt = badge(t, &cred).await;
        let (_, payload) = parts(&jwt);
        // A badge pointing at a status list elsewhere: its signature no longer matches, and
        // the status is never read from claims that are not signed. (A signed badge whose
        // list cannot be read answers `unknown`: the domain's verdict tests cover that rule.)
        let mut moved = payload.clone();
        moved["credentialStatus"]["statusListCredential"] = json!("https://elsewhere.example/list/1");
        assert_eq!(status_of(t, &with_payload(&jwt, &moved)).await, "invalid_signature");

        // Lists beyond those in use, and lists of unknown agencies, are 404.
        t.send(Method::GET, "/status-lists/test/2", None, None).await.problem(404);
        t.send(Method::GET, "/status-lists/test/0", None, None).await.problem(404);
        t.send(Method::GET, "/status-lists/test/first", None, None).await.problem(404);
        t.send(Method::GET, "/status-lists/nobody/1", None, None).await.problem(404);
        t.send(Method::GET, "/issuers/nobody", None, None).await.problem(404);
        t.send(Method::GET, "/issuers/nobody/jwks.json", None, None).await.problem(404);
    }

    async fn rotation_keeps_old_badges_verifiable(t) {
        let (_, cred) = held(t, "EMT", "2026-01-15").await;
        let before = badge(t, &cred).await;
        let old_kid = parts(&before).0["kid"].clone();
        let officer = t.token(Role::Officer, None).await;
        t.send(Method::POST, "/api/v1/issuer/keys/rotate", Some(&officer), None).await.problem(403);
        let rotated = t.send(Method::POST, "/api/v1/issuer/keys/rotate", Some(&t.admin), None).await.expect(200);
        assert_eq!(rotated["retired_kid"], old_kid);
        assert_ne!(rotated["kid"], old_kid);
        let after = badge(t, &cred).await;
        assert_eq!(parts(&after).0["kid"], rotated["kid"]);
        assert_eq!(status_of(t, &before).await, "valid", "signed with the retired key");
        assert_eq!(status_of(t, &after).await, "valid");
        let jwks = t.send(Method::GET, "/issuers/test/jwks.json", None, None).await.expect(200);
        let kids: Vec<&Value> = jwks["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
        assert_eq!(kids, [&rotated["kid"], &old_kid], "the signing key first, the retired one kept");
        // Status lists are signed with the new key.
        let list = t.send(Method::GET, "/status-lists/test/1", None, None).await;
        assert_eq!(parts(&list.text).0["kid"], rotated["kid"]);
        let events = t.get("/api/v1/audit-events").await.expect(200);
        assert!(events["items"].as_array().unwrap().iter().any(|e| e["action"] == "rotate_signing_key"), "{events}");
        // The first key, made by the first badge, is audited too: once, naming its kid.
        let created: Vec<&Value> = events["items"].as_array().unwrap().iter().filter(|e| e["action"] == "create_signing_key").collect();
        assert_eq!(created.len(), 1, "{events}");
        assert!(created[0]["after"].to_string().contains(old_kid.as_str().unwrap()), "{}", created[0]);
        assert_eq!(created[0]["actor"], "credence");
    }

    async fn members_fetch_their_own_badge_in_the_api_and_on_their_pages(t) {
        let (member, cred) = held(t, "EMT", "2026-01-15").await;
        let (_, someone_else) = Track::of(&CredentialTypeBuilder::new("CPR").publish(t).await).active("2026-01-15").for_member("Liam").build(t).await;
        let token = t.token(Role::Member, Some(&member)).await;
        let r = badge_as(t, &cred, &token).await;
        assert_eq!(r.status, 200, "{}", r.text);
        badge_as(t, &someone_else, &token).await.problem(404);
        let auditor = t.token(Role::Auditor, None).await;
        assert_eq!(badge_as(t, &cred, &auditor).await.status, 200);
        // Never issued: nothing to prove yet.
        let ty = CredentialTypeBuilder::new("HAZ").publish(t).await;
        let (_, assigned) = Track::of(&ty).build(t).await;
        badge_as(t, &assigned, &t.admin).await.problem(409);
        t.send(Method::GET, "/api/v1/credentials/crd_999999/badge", Some(&t.admin), None).await.problem(404);

        t.app.create_user(t.agency_id, "ava@test.example", Role::Member, "a long enough password", Some(member.parse().unwrap())).await.unwrap();
        let session = sign_in(t, "ava@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let me = page(t, "/me", &session).await;
        assert_eq!(me.status, 200);
        assert!(me.text.contains(&format!("/credentials/{cred}/badge")), "a download on /me");
        let file = page(t, &format!("/credentials/{cred}/badge"), &session).await;
        assert_eq!(file.status, 200);
        assert_eq!(file.headers["content-type"], "application/vc+jwt");
        assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        assert_eq!(status_of(t, &file.text).await, "valid");
        assert_eq!(page(t, &format!("/credentials/{someone_else}/badge"), &session).await.status, 404);

        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let chief = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let detail = page(t, &format!("/credentials/{cred}"), &chief).await;
        assert!(detail.text.contains(&format!("/credentials/{cred}/badge")), "a download on the credential page");
    }
}
