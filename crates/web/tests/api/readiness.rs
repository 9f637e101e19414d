//! Qualifications and readiness (#20): `/qualifications` (a rule over credential types),
//! `/readiness` (who in a group met it on a day, and what each lacked), the PDF roster, the
//! scheduler's check `/members/{id}/qualified`, and the pages. "Held on D" means what
//! `/reports/qualified` means: checked against it below.

use axum::http::Method;
use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::{CredentialTypeBuilder, Track};
use crate::harness::TestApp;

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

/// Assigns `ty` to `member` as held since `issue_date` (expires 24 months later).
async fn hold(t: &TestApp, ty: &str, member: &str, issue_date: &str) -> String {
    let created = t
        .post(
            "/api/v1/assignments",
            json!({"credential_type_id": ty, "mode": "active_with_period", "issue_date": issue_date, "member_ids": [member]}),
        )
        .await
        .expect(200);
    s(&created["created"][0]).to_string()
}

async fn qualification(t: &TestApp, name: &str, types: &[&str], rule: &str) -> Value {
    t.post(
        "/api/v1/qualifications",
        json!({"name": name, "credential_type_ids": types, "rule": rule}),
    )
    .await
    .expect(201)
}

async fn group_of(t: &TestApp, name: &str, members: &[&str], from: &str) -> String {
    let g = t
        .post("/api/v1/groups", json!({"name": name, "kind": "station"}))
        .await
        .expect(201);
    let id = s(&g["id"]).to_string();
    t.on(from)
        .put(
            &format!("/api/v1/groups/{id}/members"),
            json!({"member_ids": members}),
        )
        .await
        .expect(200);
    id
}

/// `(name, qualified, missing)` of each item.
fn answers(report: &Value) -> Vec<(String, bool, Vec<String>)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(&i["name"]).to_string(),
                i["qualified"].as_bool().unwrap(),
                i["missing"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| s(m).to_string())
                    .collect(),
            )
        })
        .collect()
}

fn row(name: &str, qualified: bool, missing: &[&str]) -> (String, bool, Vec<String>) {
    (
        name.to_string(),
        qualified,
        missing.iter().map(|m| m.to_string()).collect(),
    )
}

both_databases! {
    async fn a_qualification_is_created_read_changed_and_deleted_with_an_audit_trail(t) {
        let driver = CredentialTypeBuilder::new("DO").publish(t).await;
        let evoc = CredentialTypeBuilder::new("EVOC").publish(t).await;
        let cpr = CredentialTypeBuilder::new("CPR").publish(t).await;
        let created = t.post("/api/v1/qualifications", json!({"name": "  Engine driver ", "credential_type_ids": [driver, evoc, cpr], "rule": "all"})).await;
        assert_eq!(created.status.as_u16(), 201, "{}", created.text);
        let id = s(&created.body["id"]).to_string();
        assert!(id.starts_with("qual_"));
        assert_eq!(created.headers["location"], format!("/api/v1/qualifications/{id}"));
        let q = created.body;
        assert_eq!((q["name"].as_str(), q["rule"].as_str(), q["version"].as_i64()), (Some("Engine driver"), Some("all"), Some(1)));
        assert_eq!(q["credential_type_ids"], json!([driver, evoc, cpr]), "in the order given");
        assert_eq!(t.get(&format!("/api/v1/qualifications/{id}")).await.expect(200), q);
        assert_eq!(t.get("/api/v1/qualifications").await.expect(200), json!({"items": [q], "next_cursor": null}));

        let changed = t.patch(&format!("/api/v1/qualifications/{id}"), json!({"version": 1, "rule": "any", "credential_type_ids": [cpr, driver]})).await.expect(200);
        assert_eq!((changed["rule"].as_str(), changed["version"].as_i64()), (Some("any"), Some(2)));
        assert_eq!(changed["credential_type_ids"], json!([cpr, driver]));
        assert_eq!(changed["name"], "Engine driver");
        // A stale version is refused, and nothing changes.
        t.patch(&format!("/api/v1/qualifications/{id}"), json!({"version": 1, "name": "Other"})).await.problem(409);
        assert_eq!(t.get(&format!("/api/v1/qualifications/{id}")).await.expect(200), changed);

        // A type retired since stays in the rule when it is edited; adding a retired one is refused.
        t.post(&format!("/api/v1/credential-types/{driver}/retire"), json!({})).await.expect(200);
        let renamed = t.patch(&format!("/api/v1/qualifications/{id}"), json!({"version": 2, "name": "Engineer"})).await.expect(200);
        assert_eq!(renamed["credential_type_ids"], json!([cpr, driver]));
        let refused = t.patch(&format!("/api/v1/qualifications/{id}"), json!({"version": 3, "credential_type_ids": [cpr, evoc]})).await.expect(200);
        assert_eq!(refused["credential_type_ids"], json!([cpr, evoc]));
        let fields = t.patch(&format!("/api/v1/qualifications/{id}"), json!({"version": 4, "credential_type_ids": [cpr, evoc, driver]})).await.invalid_fields();
        assert_eq!(fields, ["credential_type_ids[2]"]);

        t.delete(&format!("/api/v1/qualifications/{id}")).await.expect(204);
        t.get(&format!("/api/v1/qualifications/{id}")).await.problem(404);
        t.delete(&format!("/api/v1/qualifications/{id}")).await.problem(404);
        let events = t.get(&format!("/api/v1/audit-events?subject_id={id}")).await.expect(200);
        let actions: Vec<&str> = events["items"].as_array().unwrap().iter().map(|e| s(&e["action"])).collect();
        assert_eq!(actions, ["delete", "update", "update", "update", "create"]);
        assert_eq!(events["items"][0]["before"]["name"], "Engineer", "the deletion keeps what it was");
    }

    async fn bad_input_is_a_problem_naming_the_field_and_nothing_is_written(t) {
        let cpr = CredentialTypeBuilder::new("CPR").publish(t).await;
        let old = CredentialTypeBuilder::new("OLD").publish(t).await;
        t.post(&format!("/api/v1/credential-types/{old}/retire"), json!({})).await.expect(200);
        let draft = t.post("/api/v1/credential-types", json!({"code": "DR", "name": "Draft", "validity_months": 12})).await.expect(201);
        let draft = s(&draft["id"]).to_string();
        let base = "/api/v1/qualifications";
        let fields = |body: Value| async move { t.post(base, body).await.invalid_fields() };

        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [], "rule": "all"})).await, ["credential_type_ids"]);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [cpr], "rule": "most"})).await, ["rule"]);
        assert_eq!(fields(json!({"name": " ", "credential_type_ids": [cpr], "rule": "all"})).await, ["name"]);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [cpr, "ctp_999999", old, draft], "rule": "any"})).await,
            ["credential_type_ids[1]", "credential_type_ids[2]", "credential_type_ids[3]"]);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [old], "rule": "some"})).await, ["credential_type_ids[0]", "rule"]);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [cpr, cpr], "rule": "all"})).await, ["credential_type_ids"]);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": ["grp_1"], "rule": "all"})).await, ["credential_type_ids[0]"]);
        let missing = t.post(base, json!({"name": "X", "credential_type_ids": [cpr]})).await.problem(422);
        assert!(missing["errors"][0]["message"].as_str().unwrap().contains("rule"), "{missing}");
        let extra = t.post(base, json!({"name": "X", "credential_type_ids": [cpr], "rule": "all", "extra": 1})).await.problem(422);
        assert!(extra["errors"][0]["message"].as_str().unwrap().contains("extra"), "{extra}");
        let problem = t.post(base, json!({"name": "X", "credential_type_ids": [old], "rule": "all"})).await.problem(422);
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("OLD card is retired"), "{problem}");
        assert_eq!(t.get(base).await.expect(200)["items"], json!([]), "nothing was written");

        // Another agency's type is unknown here; the name is unique in the agency.
        let other = t.other_agency_admin().await;
        let theirs = t.send(Method::POST, "/api/v1/credential-types", Some(&other), Some(json!({"code": "X", "name": "Theirs", "validity_months": 12}))).await.expect(201);
        assert_eq!(fields(json!({"name": "X", "credential_type_ids": [theirs["id"]], "rule": "all"})).await, ["credential_type_ids[0]"]);
        let q = qualification(t, "Engine driver", &[&cpr], "all").await;
        assert_eq!(fields(json!({"name": "Engine driver", "credential_type_ids": [cpr], "rule": "any"})).await, ["name"]);
        let qid = s(&q["id"]).to_string();
        assert_eq!(t.patch(&format!("{base}/{qid}"), json!({"version": 1, "rule": "either"})).await.invalid_fields(), ["rule"]);
        assert_eq!(t.patch(&format!("{base}/{qid}"), json!({"version": 1, "credential_type_ids": []})).await.invalid_fields(), ["credential_type_ids"]);
        assert_eq!(t.get(&format!("{base}/{qid}")).await.expect(200)["version"], 1, "nothing changed");

        // Unknown and another agency's qualifications are 404 everywhere.
        for (path, token) in [(format!("{base}/qual_999999"), t.admin.clone()), (format!("{base}/{qid}"), other.clone())] {
            t.send(Method::GET, &path, Some(&token), None).await.problem(404);
            t.send(Method::PATCH, &path, Some(&token), Some(json!({"version": 1, "name": "Y"}))).await.problem(404);
            t.send(Method::DELETE, &path, Some(&token), None).await.problem(404);
        }
        let (m, _) = Track::of(&cpr).for_member("Ava").build(t).await;
        for query in ["qualification_id=qual_999999".to_string(), format!("qualification_id={qid}")] {
            let token = if query.ends_with("999999") { t.admin.clone() } else { other.clone() };
            t.send(Method::GET, &format!("/api/v1/readiness?{query}"), Some(&token), None).await.problem(404);
            t.send(Method::GET, &format!("/api/v1/members/{m}/qualified?{query}"), Some(&token), None).await.problem(404);
        }
        // A member of another agency is 404 to the scheduler check.
        let their_member = t.send(Method::POST, "/api/v1/members", Some(&other), Some(json!({"first_name": "Zed", "last_name": "Other"}))).await.expect(201);
        t.get(&format!("/api/v1/members/{}/qualified?qualification_id={qid}", s(&their_member["id"]))).await.problem(404);
        t.get(&format!("/api/v1/members/mem_999999/qualified?qualification_id={qid}")).await.problem(404);

        // The questions' own fields.
        let r = "/api/v1/readiness";
        assert_eq!(t.get(r).await.invalid_fields(), ["qualification_id"]);
        assert_eq!(t.get(&format!("{r}?qualification_id=ctp_1")).await.invalid_fields(), ["qualification_id"]);
        assert_eq!(t.get(&format!("{r}?qualification_id={qid}&on=2026-02-30")).await.invalid_fields(), ["on"]);
        assert_eq!(t.get(&format!("{r}?qualification_id={qid}&group_id=mem_1")).await.invalid_fields(), ["group_id"]);
        assert_eq!(t.get(&format!("{r}?qualification_id={qid}&limit=501")).await.invalid_fields(), ["limit"]);
        assert_eq!(t.get(&format!("{r}?qualification_id={qid}&cursor=nope")).await.invalid_fields(), ["cursor"]);
        t.get(&format!("{r}?qualification_id={qid}&group_id=grp_999999")).await.problem(404);
        assert_eq!(t.get(&format!("/api/v1/members/{m}/qualified")).await.invalid_fields(), ["qualification_id"]);
        assert_eq!(t.get(&format!("/api/v1/members/{m}/qualified?qualification_id={qid}&on=soon")).await.invalid_fields(), ["on"]);
    }

    async fn readiness_counts_only_valid_unrevoked_issuances_on_the_day_in_the_group_of_that_day(t) {
        let driver = CredentialTypeBuilder::new("DO").publish(t).await;
        let evoc = CredentialTypeBuilder::new("EVOC").publish(t).await;
        let cpr = CredentialTypeBuilder::new("CPR").publish(t).await;
        // Ava holds all three; Ben lacks EVOC; Cal's CPR lapsed on 2026-01-01; Dee's CPR is
        // revoked today; Eve left the station on 2026-02-01.
        let (ava, _) = Track::of(&driver).active("2025-06-01").for_member("Ava").build(t).await;
        let (ben, _) = Track::of(&driver).active("2025-06-01").for_member("Ben").build(t).await;
        let (cal, _) = Track::of(&driver).active("2025-06-01").for_member("Cal").build(t).await;
        let (dee, _) = Track::of(&driver).active("2025-06-01").for_member("Dee").build(t).await;
        let (eve, _) = Track::of(&driver).active("2025-06-01").for_member("Eve").build(t).await;
        for m in [&ava, &cal, &dee, &eve] {
            hold(t, &evoc, m, "2025-06-01").await;
        }
        for m in [&ava, &ben, &dee, &eve] {
            hold(t, &cpr, m, "2025-06-01").await;
        }
        hold(t, &cpr, &cal, "2024-01-01").await;
        let dee_cpr = t.get(&format!("/api/v1/credentials?member_id={dee}&credential_type_id={cpr}")).await.expect(200);
        t.post(&format!("/api/v1/credentials/{}/revoke", s(&dee_cpr["items"][0]["id"])), json!({"reason": "card withdrawn"})).await.expect(200);
        let station = group_of(t, "Station 3", &[&ava, &ben, &cal, &dee, &eve], "2025-01-01").await;
        t.on("2026-02-01").post(&format!("/api/v1/groups/{station}/members/remove"), json!({"member_ids": [eve]})).await.expect(200);

        let q = qualification(t, "Engine driver", &[&driver, &evoc, &cpr], "all").await;
        let qid = s(&q["id"]);
        let today = t.get(&format!("/api/v1/readiness?qualification_id={qid}&group_id={station}")).await.expect(200);
        assert_eq!(today["on"], crate::harness::TODAY);
        assert_eq!(today["next_cursor"], Value::Null);
        assert_eq!(answers(&today), [
            row("Fixture, Ava", true, &[]),
            row("Fixture, Ben", false, &[&evoc]),
            row("Fixture, Cal", false, &[&cpr]),
            row("Fixture, Dee", false, &[&cpr]),
        ]);
        assert_eq!(today["items"][0], json!({"member_id": ava, "name": "Fixture, Ava", "qualified": true, "missing": []}));
        // On 2025-12-15 Cal's card had not lapsed, Dee's not been revoked, and Eve was in the station.
        let december = t.get(&format!("/api/v1/readiness?qualification_id={qid}&group_id={station}&on=2025-12-15")).await.expect(200);
        assert_eq!(answers(&december), [
            row("Fixture, Ava", true, &[]),
            row("Fixture, Ben", false, &[&evoc]),
            row("Fixture, Cal", true, &[]),
            row("Fixture, Dee", true, &[]),
            row("Fixture, Eve", true, &[]),
        ]);
        // Before the driver cards were issued nobody qualified (Cal's older CPR card counts).
        let before = t.get(&format!("/api/v1/readiness?qualification_id={qid}&group_id={station}&on=2025-05-31")).await.expect(200);
        assert_eq!(answers(&before)[2], row("Fixture, Cal", false, &[&driver, &evoc]));
        assert!(answers(&before).iter().all(|(_, q, missing)| !q && missing.len() >= 2));

        // "Held on D" is exactly what /reports/qualified says, type by type.
        for day in ["2025-12-15", crate::harness::TODAY, "2025-05-31"] {
            let ready = t.get(&format!("/api/v1/readiness?qualification_id={qid}&group_id={station}&on={day}")).await.expect(200);
            for ty in [&driver, &evoc, &cpr] {
                let report = t.get(&format!("/api/v1/reports/qualified?credential_type_id={ty}&group_id={station}&on={day}")).await.expect(200);
                for (i, item) in report["items"].as_array().unwrap().iter().enumerate() {
                    let r = &ready["items"][i];
                    assert_eq!(r["member_id"], item["member_id"]);
                    let missing = r["missing"].as_array().unwrap().contains(&json!(ty));
                    assert_eq!(item["holds"].as_bool().unwrap(), !missing, "{day} {ty} {}", item["name"]);
                }
            }
        }

        // Any one of: Cal (only CPR lapsed) qualifies; nobody on the day before issuance.
        let any = qualification(t, "Driver or CPR", &[&evoc, &cpr], "any").await;
        let any_today = t.get(&format!("/api/v1/readiness?qualification_id={}&group_id={station}", s(&any["id"]))).await.expect(200);
        assert_eq!(answers(&any_today).iter().map(|(_, q, _)| *q).collect::<Vec<_>>(), [true, true, true, true]);
        let any_before = t.get(&format!("/api/v1/readiness?qualification_id={}&group_id={station}&on=2025-05-31", s(&any["id"]))).await.expect(200);
        assert_eq!(any_before["items"][0]["missing"], json!([evoc, cpr]));

        // Without a group: the agency's active members.
        t.delete(&format!("/api/v1/members/{ben}")).await.expect(200);
        let everyone = t.get(&format!("/api/v1/readiness?qualification_id={qid}")).await.expect(200);
        let names: Vec<String> = answers(&everyone).into_iter().map(|(n, ..)| n).collect();
        assert_eq!(names, ["Fixture, Ava", "Fixture, Cal", "Fixture, Dee", "Fixture, Eve"]);

        // The scheduler's check gives the same answer for one member.
        let check = |m: &str, day: &str| format!("/api/v1/members/{m}/qualified?qualification_id={qid}&on={day}");
        assert_eq!(t.get(&check(&ava, crate::harness::TODAY)).await.expect(200), json!({"on": crate::harness::TODAY, "qualified": true, "missing": []}));
        assert_eq!(t.get(&check(&dee, crate::harness::TODAY)).await.expect(200), json!({"on": crate::harness::TODAY, "qualified": false, "missing": [cpr]}));
        assert_eq!(t.get(&check(&dee, "2026-02-28")).await.expect(200)["qualified"], true);
        assert_eq!(t.get(&check(&cal, "2026-01-02")).await.expect(200)["missing"], json!([cpr]));
        let default_day = t.get(&format!("/api/v1/members/{ben}/qualified?qualification_id={qid}")).await.expect(200);
        assert_eq!(default_day, json!({"on": crate::harness::TODAY, "qualified": false, "missing": [evoc]}));

        // A member may check themselves, not others (403 whether the other exists or not).
        let token = t.token(Role::Member, Some(&ava)).await;
        let own = t.send(Method::GET, &check(&ava, crate::harness::TODAY), Some(&token), None).await.expect(200);
        assert_eq!(own["qualified"], true);
        t.send(Method::GET, &check(&ben, crate::harness::TODAY), Some(&token), None).await.problem(403);
        t.send(Method::GET, &check("mem_999999", crate::harness::TODAY), Some(&token), None).await.problem(403);
        t.send(Method::GET, &format!("/api/v1/readiness?qualification_id={qid}"), Some(&token), None).await.problem(403);
        let auditor = t.token(Role::Auditor, None).await;
        t.send(Method::GET, &format!("/api/v1/readiness?qualification_id={qid}"), Some(&auditor), None).await.expect(200);
        t.send(Method::POST, "/api/v1/qualifications", Some(&auditor), Some(json!({"name": "X", "credential_type_ids": [cpr], "rule": "all"}))).await.problem(403);
    }

    async fn readiness_pages_by_member_name_and_the_pdf_lists_everyone(t) {
        let cpr = CredentialTypeBuilder::new("CPR").publish(t).await;
        let mut members = Vec::new();
        for name in ["Ava", "Ben", "Cal", "Dee", "Eve"] {
            let track = Track::of(&cpr).for_member(name);
            let track = if matches!(name, "Ben" | "Dee") { track.active("2025-06-01") } else { track };
            members.push(track.build(t).await.0);
        }
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        let crew = group_of(t, "B Shift", &refs, "2026-01-01").await;
        let q = qualification(t, "Medic", &[&cpr], "all").await;
        let base = format!("/api/v1/readiness?qualification_id={}&group_id={crew}&limit=2", s(&q["id"]));
        let mut seen = Vec::new();
        let mut url = base.clone();
        loop {
            let page = t.get(&url).await.expect(200);
            assert!(page["items"].as_array().unwrap().len() <= 2);
            seen.extend(answers(&page).into_iter().map(|(n, q, _)| (n, q)));
            match page["next_cursor"].as_str() {
                Some(c) => url = format!("{base}&cursor={c}"),
                None => break,
            }
        }
        let expected: Vec<(String, bool)> = ["Ava", "Ben", "Cal", "Dee", "Eve"].iter()
            .map(|n| (format!("Fixture, {n}"), matches!(*n, "Ben" | "Dee"))).collect();
        assert_eq!(seen, expected);

        let pdf = t.get(&format!("/api/v1/readiness.pdf?qualification_id={}&group_id={crew}", s(&q["id"]))).await;
        assert_eq!(pdf.status.as_u16(), 200, "{}", pdf.text);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        assert!(pdf.bytes.starts_with(b"%PDF-"));
    }
}

both_databases! {
    async fn the_pages_pick_show_print_and_manage_qualifications(t) {
        use crate::web_pages::{follow, form, page, sign_in};
        let cpr = t.post("/api/v1/credential-types", json!({"code": "CPR", "name": "CPR <b>card</b>", "validity_months": 24})).await.expect(201);
        let cpr = s(&cpr["id"]).to_string();
        t.post(&format!("/api/v1/credential-types/{cpr}/publish"), json!({})).await.expect(200);
        let evoc = CredentialTypeBuilder::new("EVOC").publish(t).await;
        let (ava, _) = Track::of(&cpr).active("2025-06-01").for_member("Ava").build(t).await;
        hold(t, &evoc, &ava, "2025-06-01").await;
        let (ben, _) = Track::of(&cpr).active("2025-06-01").for_member("<script>x</script>").build(t).await;
        let station = group_of(t, "Station 3", &[&ava, &ben], "2026-01-01").await;

        t.app.create_user(t.agency_id, "chief@test.example", Role::Admin, "a long enough password", None).await.unwrap();
        let cookie = sign_in(t, "chief@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        let reports = page(t, "/reports", &cookie).await;
        assert!(reports.text.contains("href=\"/readiness\""));
        let empty = page(t, "/readiness", &cookie).await;
        assert_eq!(empty.status, 200);
        assert!(empty.text.contains("No qualifications yet"));

        // Add one through the form: the CSRF token is required, a bad form keeps what was typed.
        let list = page(t, "/qualifications", &cookie).await;
        assert_eq!(list.status, 200);
        assert!(list.text.contains(&format!("value=\"{cpr}\"")), "published types are offered");
        let csrf = list.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let forged = form(t, "/qualifications", &cookie, &format!("name=X&rule=all&credential_type_ids={cpr}")).await;
        assert_eq!(forged.status, 400);
        let refused = form(t, "/qualifications", &cookie, &format!("csrf={csrf}&name=Engine+driver&rule=all")).await;
        assert_eq!(refused.status, 422);
        assert!(refused.text.contains("Credentials: must name at least one credential type."), "{}", refused.text);
        assert!(refused.text.contains("value=\"Engine driver\""));
        assert_eq!(t.get("/api/v1/qualifications").await.expect(200)["items"], json!([]), "nothing was written");
        let added = form(t, "/qualifications", &cookie, &format!("csrf={csrf}&name=Engine+driver&rule=all&credential_type_ids={cpr}&credential_type_ids={evoc}")).await;
        assert_eq!(added.status, 303, "{}", added.text);
        let shown = follow(t, &added, &cookie).await;
        assert!(shown.text.contains("Engine driver was added."));
        let q = t.get("/api/v1/qualifications").await.expect(200)["items"][0].clone();
        let qid = s(&q["id"]).to_string();
        assert_eq!(q["credential_type_ids"], json!([cpr, evoc]));

        // Readiness: the summary, what each is missing by name (escaped), print and PDF.
        let ready = page(t, &format!("/readiness?qualification_id={qid}&group_id={station}&on=2026-03-01"), &cookie).await;
        assert_eq!(ready.status, 200);
        assert!(ready.text.contains("<b>1 of 2 qualified</b>"), "{}", ready.text);
        assert!(ready.text.contains("EVOC card"), "missing by name");
        assert!(ready.text.contains("&#60;script&#62;x&#60;/script&#62;") && !ready.text.contains("<script>x"));
        assert!(ready.text.contains("CPR &#60;b&#62;card&#60;/b&#62;"));
        assert!(ready.text.contains("data-print"));
        assert!(ready.text.contains(&format!("href=\"/readiness.pdf?qualification_id={qid}&#38;on=2026-03-01&#38;group_id={station}\"")), "{}", ready.text);
        let typo = page(t, &format!("/readiness?qualification_id={qid}&on=2026-02-30"), &cookie).await;
        assert!(typo.text.contains("on: must be a date"));
        let unknown = page(t, "/readiness?qualification_id=qual_999999", &cookie).await;
        assert!(unknown.text.contains("does not exist in this agency"));
        let pdf = page(t, &format!("/readiness.pdf?qualification_id={qid}&group_id={station}"), &cookie).await;
        assert_eq!(pdf.status, 200);
        assert!(pdf.bytes.starts_with(b"%PDF-"));

        // Edit: a stale version is a conflict; then change the rule; then delete.
        let edit = page(t, &format!("/qualifications/{qid}"), &cookie).await;
        assert_eq!(edit.status, 200);
        assert!(edit.text.contains(&format!("value=\"{evoc}\" checked")));
        let stale = form(t, &format!("/qualifications/{qid}"), &cookie, &format!("csrf={csrf}&version=9&name=Engine+driver&rule=any&credential_type_ids={cpr}")).await;
        assert_eq!(stale.status, 409);
        let saved = form(t, &format!("/qualifications/{qid}"), &cookie, &format!("csrf={csrf}&version=1&name=Engine+driver&rule=any&credential_type_ids={cpr}&credential_type_ids={evoc}")).await;
        assert_eq!(saved.status, 303, "{}", saved.text);
        assert_eq!(t.get(&format!("/api/v1/qualifications/{qid}")).await.expect(200)["rule"], "any");
        let any = page(t, &format!("/readiness?qualification_id={qid}&group_id={station}"), &cookie).await;
        assert!(any.text.contains("<b>2 of 2 qualified</b>"));
        let deleted = form(t, &format!("/qualifications/{qid}/delete"), &cookie, &format!("csrf={csrf}")).await;
        assert_eq!(deleted.status, 303);
        t.get(&format!("/api/v1/qualifications/{qid}")).await.problem(404);

        // An auditor reads readiness but does not manage qualifications; a member sees neither.
        let q2 = qualification(t, "Medic", &[&cpr], "all").await;
        t.app.create_user(t.agency_id, "audit@test.example", Role::Auditor, "a long enough password", None).await.unwrap();
        let auditor = sign_in(t, "audit@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, &format!("/readiness?qualification_id={}", s(&q2["id"])), &auditor).await.status, 200);
        let listed = page(t, "/qualifications", &auditor).await;
        assert_eq!(listed.status, 200);
        assert!(!listed.text.contains("Add qualification"));
        assert_eq!(page(t, &format!("/qualifications/{}", s(&q2["id"])), &auditor).await.status, 403);
        let acsrf = listed.text.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let refused = form(t, "/qualifications", &auditor, &format!("csrf={acsrf}&name=Y&rule=all&credential_type_ids={cpr}")).await;
        assert_eq!(refused.status, 403);
        t.app.create_user(t.agency_id, "ava@test.example", Role::Member, "a long enough password", Some(ava.parse().unwrap())).await.unwrap();
        let member = sign_in(t, "ava@test.example", "a long enough password").await.map_err(|r| r.text).unwrap();
        assert_eq!(page(t, "/readiness", &member).await.status, 403);
        assert_eq!(page(t, "/qualifications", &member).await.status, 403);
    }
}
