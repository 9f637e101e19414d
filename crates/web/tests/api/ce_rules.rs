//! Continuing-education rules of hours requirements (#20): caps per category and by source
//! kind, components, a course counting once per period unless repeatable, the explanation of
//! the count, and starter templates copied into the agency.

use credence_app::Role;
use serde_json::{json, Value};

use crate::both_databases;
use crate::fixtures::Track;
use crate::harness::TestApp;
use crate::people_pages::{body, csrf_of, session};
use crate::web_pages::{follow, form, page};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn course(t: &TestApp, code: &str, category: &str, online: bool) -> String {
    let c = t
        .post(
            "/api/v1/courses",
            json!({"code": code, "name": format!("{code} course"), "hours": 12, "category": category, "online": online}),
        )
        .await
        .expect(201);
    assert_eq!(c["online"], online);
    id(&c)
}

/// An NREMT-like type: 40 hours as national 20 / local 10 / individual 10, 10 online at most.
fn nccp_requirement(repeatable: bool) -> Value {
    json!({
        "kind": "hours", "hours": 40, "title": "40 hours of CE",
        "max_hours_by_source": {"online": 10},
        "components": [
            {"name": "National", "hours": 20, "categories": ["NCCR"]},
            {"name": "Local", "hours": 10, "categories": ["LCCR"]},
            {"name": "Individual", "hours": 10, "categories": ["ICCR"]}
        ],
        "repeatable": repeatable
    })
}

async fn record(t: &TestApp, member: &str, course: &str, on: &str, hours: f64) {
    t.post(
        "/api/v1/training-records",
        json!({"member_id": member, "course_id": course, "completed_on": on, "hours": hours}),
    )
    .await
    .expect(201);
}

/// A published NCCP type and a member's credential with: 12 online national hours, 12
/// national hours in class, and one local course completed twice.
async fn counted_track(t: &TestApp) -> (Value, String) {
    let online = course(t, "NAT-WEB", "NCCR", true).await;
    let class = course(t, "NAT-CLASS", "NCCR", false).await;
    let local = course(t, "LOCAL", "LCCR", false).await;
    let ty = t
        .post(
            "/api/v1/credential-types",
            json!({"code": "NCCP-EMT", "name": "EMT recert", "validity_months": 24,
                   "requirements": [nccp_requirement(false)]}),
        )
        .await
        .expect(201);
    let type_id = id(&ty);
    t.post(
        &format!("/api/v1/credential-types/{type_id}/publish"),
        json!({}),
    )
    .await
    .expect(200);
    let (member, cred) = Track::of(&type_id).build(t).await;
    record(t, &member, &online, "2026-01-10", 12.0).await;
    record(t, &member, &class, "2026-01-20", 12.0).await;
    record(t, &member, &local, "2026-02-01", 4.0).await;
    record(t, &member, &local, "2026-02-15", 4.0).await;
    (ty, cred)
}

both_databases! {
    async fn caps_components_and_repeats_count_and_explain_the_hours(t) {
        let (ty, cred) = counted_track(t).await;
        let req = &ty["requirements"][0];
        assert_eq!((req["max_hours_by_source"].clone(), req["components"].as_array().unwrap().len(), req["repeatable"].clone()),
            (json!({"online": 10.0}), 3, json!(false)));
        let c = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!(c["progress"], 60, "24 of 40 hours");
        let r = &c["requirements"][0];
        assert_eq!(r["fraction"], 0.6);
        let h = &r["evidence"]["hours"];
        assert_eq!((h["required"].as_f64(), h["counted"].as_f64(), h["left"].as_f64()), (Some(40.0), Some(24.0), Some(16.0)));
        let parts: Vec<(String, f64, f64)> = h["components"].as_array().unwrap().iter()
            .map(|p| (p["name"].as_str().unwrap().to_string(), p["counted"].as_f64().unwrap(), p["left"].as_f64().unwrap()))
            .collect();
        assert_eq!(parts, [("National".to_string(), 20.0, 0.0), ("Local".to_string(), 4.0, 6.0), ("Individual".to_string(), 0.0, 10.0)]);
        assert_eq!(h["caps"], json!([{"kind": "source", "key": "online", "cap": 10.0, "offered": 12.0, "over": 2.0,
            "text": "12 hours from online training, capped at 10: 2 hours not counted"}]));
        let records = h["records"].as_array().unwrap();
        let summary: Vec<(String, f64, Option<&str>)> = records.iter()
            .map(|x| (x["course_name"].as_str().unwrap().to_string(), x["counted"].as_f64().unwrap(), x["not_counted"].as_str()))
            .collect();
        assert_eq!(summary, [
            ("NAT-WEB course".to_string(), 10.0, Some("source_cap")),
            ("NAT-CLASS course".to_string(), 10.0, Some("full")),
            ("LOCAL course".to_string(), 4.0, None),
            ("LOCAL course".to_string(), 0.0, Some("repeat")),
        ]);
        assert_eq!(records[0]["source_kind"], "online");
        assert_eq!(records[1]["source_kind"], "api");
        assert_eq!(records[2]["toward"], json!([{"component": "Local", "hours": 4.0}]));
        assert_eq!(records[3]["note"], "its course already counts this period (completed 2026-02-01)");
        // Records that count (some hours) are the requirement's evidence.
        assert_eq!(r["evidence"]["records"].as_array().unwrap().len(), 3);

        // Repeatable: the second completion of the local course counts too.
        let type_id = id(&ty);
        let mut again = nccp_requirement(true);
        again["id"] = req["id"].clone();
        t.patch(&format!("/api/v1/credential-types/{type_id}"), json!({"version": ty["version"].as_i64().unwrap() + 1, "requirements": [again]}))
            .await.expect(200);
        let c = t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200);
        assert_eq!(c["requirements"][0]["evidence"]["hours"]["counted"], 28.0);
    }

    async fn a_category_cap_and_the_rest_of_the_total(t) {
        let fire = course(t, "FIRE", "Fire", false).await;
        let ems = course(t, "EMS", "EMS", false).await;
        let ty = t.post("/api/v1/credential-types", json!({"code": "MIX", "name": "Mixed CE", "requirements": [
            {"kind": "hours", "hours": 20, "category": "EMS", "max_hours_per_category": 8,
             "components": [{"name": "Fire ground", "hours": 5, "categories": ["Fire"]}]}
        ]})).await.expect(201);
        t.post(&format!("/api/v1/credential-types/{}/publish", id(&ty)), json!({})).await.expect(200);
        let (member, cred) = Track::of(&id(&ty)).build(t).await;
        record(t, &member, &fire, "2026-01-10", 12.0).await;
        record(t, &member, &ems, "2026-01-11", 12.0).await;
        let h = &t.get(&format!("/api/v1/credentials/{cred}")).await.expect(200)["requirements"][0]["evidence"]["hours"];
        // Fire: 8 of 12 (capped), 5 to its component, 3 to the rest; EMS: 8 of 12 to the rest.
        assert_eq!(h["counted"], 16.0);
        assert_eq!(h["components"], json!([
            {"name": "Fire ground", "hours": 5.0, "counted": 5.0, "left": 0.0},
            {"name": "Other hours", "hours": 15.0, "counted": 11.0, "left": 4.0}
        ]));
        let caps: Vec<&str> = h["caps"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
        assert_eq!(caps, ["EMS", "Fire"], "in the order the requirement names its categories");
        assert_eq!(h["records"][0]["toward"], json!([{"component": "Fire ground", "hours": 5.0}, {"component": "Other hours", "hours": 3.0}]));
        assert_eq!(h["records"][0]["note"], "over the cap of 8 hours of Fire");
    }

    async fn bad_hours_rules_are_422_naming_each_field_and_write_nothing(t) {
        let r = t.post("/api/v1/credential-types", json!({"code": "BAD", "name": "Bad", "requirements": [
            {"kind": "hours", "hours": 40, "max_hours_per_category": 50,
             "max_hours_by_source": {"online": -1, "television": 2},
             "components": [{"name": "National", "hours": 30, "categories": ["NCCR"]},
                            {"name": "Local", "hours": 20, "categories": ["LCCR"]}]},
            {"kind": "hours", "hours": -4, "category": "CE"},
            {"kind": "checklist", "title": "Skills", "repeatable": true}
        ]})).await.problem(422);
        let errors: Vec<(String, String)> = r["errors"].as_array().unwrap().iter()
            .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string()))
            .collect();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, [
            "requirements[0].max_hours_per_category",
            "requirements[0].max_hours_by_source.online",
            "requirements[0].max_hours_by_source.television",
            "requirements[0].components",
            "requirements[1].hours",
            "requirements[2].repeatable",
        ]);
        assert_eq!(errors[2].1, "\"television\" is not a source kind; use one of manual, import, class, api, external, online");
        assert_eq!(errors[3].1, "the components' hours add up to 50, more than the requirement's 40 hours");
        assert!(errors[0].1.contains("at most") || errors[0].1.contains("from 0 to the requirement's 40 hours"), "{}", errors[0].1);
        // A component without categories, or a malformed one, is refused as well.
        let fields = t.post("/api/v1/credential-types", json!({"code": "BAD", "name": "Bad", "requirements": [
            {"kind": "hours", "hours": 10, "components": [{"name": "A", "hours": 5, "categories": []}]}
        ]})).await.invalid_fields();
        assert_eq!(fields, ["requirements[0].components[0].categories"]);
        t.post("/api/v1/credential-types", json!({"code": "BAD", "name": "Bad", "requirements": [
            {"kind": "hours", "hours": 10, "category": "CE", "components": [{"name": "A", "hours": 5}]}
        ]})).await.problem(422);
        assert_eq!(t.get("/api/v1/credential-types").await.expect(200)["items"], json!([]), "nothing written");
        // An update with bad rules leaves the type as it was.
        let ty = t.post("/api/v1/credential-types", json!({"code": "OK", "name": "Ok", "requirements": [nccp_requirement(false)]})).await.expect(201);
        let mut bad = nccp_requirement(false);
        bad["max_hours_by_source"] = json!({"online": 41});
        let fields = t.patch(&format!("/api/v1/credential-types/{}", id(&ty)), json!({"version": 1, "requirements": [bad]})).await.invalid_fields();
        assert_eq!(fields, ["requirements[0].max_hours_by_source.online"]);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{}", id(&ty))).await.expect(200), ty);
    }

    async fn starter_templates_are_listed_and_copied_into_the_agency(t) {
        let list = t.get("/api/v1/credential-type-templates").await.expect(200);
        let keys: Vec<&str> = list["items"].as_array().unwrap().iter().map(|x| x["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["nremt-emt", "nremt-aemt", "nremt-paramedic", "iso-fire-training"]);
        assert!(list["items"][0]["caution"].as_str().unwrap().contains("check the current"));
        let copy = t.post("/api/v1/credential-type-templates/nremt-emt/copy", json!({})).await.expect(201);
        assert_eq!((copy["code"].as_str(), copy["state"].as_str(), copy["validity_months"].as_i64()), (Some("NREMT-EMT"), Some("draft"), Some(24)));
        let req = &copy["requirements"][0];
        assert_eq!((req["hours"].as_f64(), req["max_hours_by_source"]["online"].as_f64()), (Some(40.0), Some(10.0)));
        let parts: Vec<f64> = req["components"].as_array().unwrap().iter().map(|c| c["hours"].as_f64().unwrap()).collect();
        assert_eq!(parts, [20.0, 10.0, 10.0]);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{}", id(&copy))).await.expect(200), copy);
        // The copy is the agency's own: editable like any type.
        let edited = t.patch(&format!("/api/v1/credential-types/{}", id(&copy)), json!({"version": 1, "name": "EMT (our county)"})).await.expect(200);
        assert_eq!(edited["requirements"][0]["components"], req["components"]);
        // A second copy needs a code of its own.
        assert_eq!(t.post("/api/v1/credential-type-templates/nremt-emt/copy", json!({})).await.invalid_fields(), ["code"]);
        let second = t.post("/api/v1/credential-type-templates/iso-fire-training/copy", json!({"code": "ISO-2026", "name": "ISO hours 2026"})).await.expect(201);
        assert_eq!((second["code"].as_str(), second["requirements"][0]["repeatable"].as_bool()), (Some("ISO-2026"), Some(true)));
        t.post("/api/v1/credential-type-templates/nope/copy", json!({})).await.problem(404);
        t.post("/api/v1/credential-type-templates/nremt-aemt/copy", json!({"colour": "red"})).await.problem(422);
        assert_eq!(t.get("/api/v1/credential-types").await.expect(200)["items"].as_array().unwrap().len(), 2);
    }

    async fn the_credential_page_explains_what_counted_and_what_was_capped(t) {
        let (_, cred) = counted_track(t).await;
        let (cookie, _) = session(t, "chief@test.example", Role::Admin, None).await;
        let p = page(t, &format!("/credentials/{cred}"), &cookie).await;
        assert_eq!(p.status.as_u16(), 200);
        for text in [
            "24 of 40 hours count",
            "16 left",
            "National: 20 of 20 h",
            "Local: 4 of 10 h",
            "12 hours from online training, capped at 10: 2 hours not counted",
            "10 of 12 h count",
            "over the cap of 10 hours from online training",
            "its course already counts this period (completed 2026-02-01)",
        ] {
            assert!(p.text.contains(text), "the page should say {text:?}");
        }
    }

    async fn the_types_page_copies_a_template_with_csrf(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let list = page(t, "/credential-types", &cookie).await;
        assert!(list.text.contains("Starter templates") && list.text.contains("NREMT Paramedic recertification"));
        // Without the session's CSRF token, or with a wrong one, nothing is copied.
        let without = form(t, "/credential-type-templates/nremt-paramedic/copy", &cookie, "code=").await;
        assert_eq!(without.status.as_u16(), 400);
        let forged = form(t, "/credential-type-templates/nremt-paramedic/copy", &cookie, "csrf=guess&code=").await;
        assert_eq!(forged.status.as_u16(), 400);
        assert_eq!(t.get("/api/v1/credential-types").await.expect(200)["items"], json!([]));
        let r = form(t, "/credential-type-templates/nremt-paramedic/copy", &cookie, &body(&csrf, &[("code", "")])).await;
        assert_eq!(r.status.as_u16(), 303);
        let edit = follow(t, &r, &cookie).await;
        assert!(edit.text.contains("Copied NREMT Paramedic recertification as a draft"), "{}", edit.text);
        assert!(edit.text.contains("National (NCCR)"), "the rules are in the form to adapt");
        // Saving the form unchanged keeps the rules.
        let ty = &t.get("/api/v1/credential-types").await.expect(200)["items"][0];
        let r = form(t, &format!("/credential-types/{}", id(ty)), &cookie, &body(&csrf_of(&edit), &[
            ("version", "1"), ("code", "NREMT-P"), ("name", "Paramedic"), ("grace_period_days", "0"), ("validity_months", "24"),
            ("req_id", ty["requirements"][0]["id"].as_str().unwrap()), ("req_kind", "hours"), ("req_course", ""), ("req_min_grade", ""),
            ("req_hours", "60"), ("req_category", ""), ("req_title", "60 hours"),
            ("req_rules", &serde_json::to_string(&json!({"max_hours_by_source": {"online": 15}, "components": ty["requirements"][0]["components"]})).unwrap()),
        ])).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text);
        let after = t.get(&format!("/api/v1/credential-types/{}", id(ty))).await.expect(200);
        assert_eq!((after["name"].as_str(), &after["requirements"][0]["components"]), (Some("Paramedic"), &ty["requirements"][0]["components"]));
        // Bad rules typed in the form are refused with the reason, nothing changes.
        let edit = page(t, &format!("/credential-types/{}", id(ty)), &cookie).await;
        let r = form(t, &format!("/credential-types/{}", id(ty)), &cookie, &body(&csrf_of(&edit), &[
            ("version", "2"), ("code", "NREMT-P"), ("name", "Paramedic"),
            ("req_id", ty["requirements"][0]["id"].as_str().unwrap()), ("req_kind", "hours"),
            ("req_hours", "60"), ("req_rules", "{\"max_hours_by_source\": {\"tv\": 3}}"),
        ])).await;
        let back = follow(t, &r, &cookie).await;
        assert!(back.text.contains("is not a source kind"), "{}", back.text);
        assert_eq!(t.get(&format!("/api/v1/credential-types/{}", id(ty))).await.expect(200)["version"], 2);
    }

    async fn a_course_is_marked_online_from_its_page(t) {
        let (cookie, csrf) = session(t, "chief@test.example", Role::Admin, None).await;
        let r = form(t, "/courses", &cookie, &body(&csrf, &[
            ("code", "WEB-1"), ("name", "Airway online"), ("hours", "2"), ("category", "NCCR"), ("passing_grade", ""), ("online", "on"),
        ])).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text);
        let c = &t.get("/api/v1/courses").await.expect(200)["items"][0];
        assert_eq!((c["code"].as_str(), c["online"].as_bool()), (Some("WEB-1"), Some(true)));
        let edit = page(t, &format!("/courses/{}", id(c)), &cookie).await;
        assert!(edit.text.contains("name=\"online\" checked"), "the form shows the flag");
        // Unticked, it is no longer online.
        let r = form(t, &format!("/courses/{}", id(c)), &cookie, &body(&csrf_of(&edit), &[
            ("version", "1"), ("code", "WEB-1"), ("name", "Airway online"), ("hours", "2"), ("category", "NCCR"), ("passing_grade", ""),
        ])).await;
        assert_eq!(r.status.as_u16(), 303, "{}", r.text);
        assert_eq!(t.get(&format!("/api/v1/courses/{}", id(c))).await.expect(200)["online"], false);
    }
}
